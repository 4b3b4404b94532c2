/*
 * SDTM TU, TR and RS for one subject (spec 10): what the reader recorded and assessed. Derived
 * analysis values (confirmed best response, PFS) belong to ADaM (adam.c).
 */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A variable of the domain's prefix: name(buf, "TR", "SEQ") is "TRSEQ". */
static const char *name(char *buf, const char *prefix, const char *suffix)
{
    snprintf(buf, 16, "%s%s", prefix, suffix);
    return buf;
}

/* STUDYID, DOMAIN, USUBJID and --SEQ. */
static void identify(cdisc_context *c, cdisc_table *t, const cdisc_subject *s, int seq)
{
    char v[16];
    const char *prefix = t->domain->name;
    cdisc_row(t);
    cdisc_text(t, "STUDYID", c->study_id);
    cdisc_text(t, "DOMAIN", prefix);
    cdisc_text(t, "USUBJID", s->usubjid);
    cdisc_number(t, name(v, prefix, "SEQ"), seq);
}

/* VISITNUM, VISIT, --DTC, --DY, --EVAL and --EVALID of a time point (input index). */
static void at_visit(cdisc_context *c, cdisc_table *t, const cdisc_subject *s, int index)
{
    char v[16];
    const char *prefix = t->domain->name;
    int32_t day = s->rs->timepoints[index].day;
    cdisc_number(t, "VISITNUM", s->visit[index]);
    cdisc_text(t, "VISIT", s->rs->timepoints[index].label);
    cdisc_text(t, name(v, prefix, "DTC"), ht_ledger_timepoint_date(s->ledger, index));
    cdisc_number(t, name(v, prefix, "DY"), cdisc_study_day(day, s->baseline_day));
    cdisc_text(t, name(v, prefix, "EVAL"), c->reader_role);
    cdisc_text(t, name(v, prefix, "EVALID"), cdisc_evaluator(s, index));
}

static void not_done(cdisc_table *t, const char *reason)
{
    char v[16];
    const char *prefix = t->domain->name;
    cdisc_text(t, name(v, prefix, "STAT"), "NOT DONE");
    cdisc_text(t, name(v, prefix, "REASND"), reason);
}

/* The time point (date order) where a lesion was first recorded, as an input index; -1 never. */
static int first_recorded(const cdisc_subject *s, int lesion)
{
    int first = -1;
    for (int a = 0; a < s->rs->nassessments; a++) {
        const ht_rs_assessment *as = &s->rs->assessments[a];
        if (as->lesion == lesion && (first < 0 || s->visit[as->timepoint] < s->visit[first]))
            first = as->timepoint;
    }
    return first;
}

static const char *role_name(ht_role role)
{
    return role == HT_ROLE_TARGET ? "TARGET" : role == HT_ROLE_NON_TARGET ? "NON-TARGET" : "NEW";
}

static void tu_rows(cdisc_context *c, const cdisc_subject *s)
{
    cdisc_table *t = &c->tu;
    int seq = 0;
    for (int l = 0; l < s->rs->nlesions; l++) {
        const ht_rs_lesion *lesion = &s->rs->lesions[l];
        int first = first_recorded(s, l);
        if (first < 0)
            continue; /* recorded only in reads left out */
        char site[128];
        cdisc_upper(site, sizeof(site), lesion->site);
        identify(c, t, s, ++seq);
        cdisc_text(t, "TULNKID", lesion->label);
        cdisc_text(t, "TUTESTCD", "TUMIDENT");
        cdisc_text(t, "TUTEST", "Tumor Identification");
        cdisc_text(t, "TUORRES", role_name(lesion->role));
        cdisc_text(t, "TUSTRESC", role_name(lesion->role));
        cdisc_text(t, "TULOC", site);
        cdisc_text(t, "TUMETHOD", s->method[first]);
        at_visit(c, t, s, first);
    }
}

/* A length in tenths of a millimetre as a result: "34", "34.5". */
static void length_result(cdisc_table *t, int32_t mm10, const char *original)
{
    char text[32];
    snprintf(text, sizeof(text), mm10 % 10 ? "%.1f" : "%.0f", mm10 / 10.0);
    cdisc_text(t, "TRORRES", original ? original : text);
    cdisc_text(t, "TRSTRESC", text);
    cdisc_number(t, "TRSTRESN", mm10 / 10.0);
    cdisc_text(t, "TRORRESU", "mm");
    cdisc_text(t, "TRSTRESU", "mm");
}

static void state_result(cdisc_table *t, const char *value)
{
    cdisc_text(t, "TRORRES", value);
    cdisc_text(t, "TRSTRESC", value);
}

typedef struct tr_test {
    const char *code, *name;
} tr_test;

static const tr_test LDIAM = {"LDIAM", "Longest Diameter"},
                     LPERP = {"LPERP", "Longest Perpendicular"},
                     SUMDIAM = {"SUMDIAM", "Sum of Diameters"},
                     TUMSTATE = {"TUMSTATE", "Tumor State"},
                     LNSTATE = {"LNSTATE", "Lymph Node State"};

/* The test a lesion's record answers (spec 10, TR). */
static tr_test test_of(const ht_rs_lesion *lesion, const ht_rs_assessment *a)
{
    if (lesion->role == HT_ROLE_TARGET)
        return lesion->nodal ? LPERP : LDIAM;
    if (lesion->role == HT_ROLE_NON_TARGET && lesion->nodal &&
        (!a || a->state != HT_STATE_UNEQUIVOCAL_PROGRESSION))
        return LNSTATE;
    return TUMSTATE;
}

static void target_result(cdisc_table *t, const ht_rs_lesion *lesion, const ht_rs_assessment *a)
{
    switch (a->state) {
    case HT_STATE_TOO_SMALL:
        length_result(t, 50, "TOO SMALL TO MEASURE");
        break;
    case HT_STATE_ABSENT:
        length_result(t, 0, NULL);
        break;
    case HT_STATE_MERGED: /* counts 0; the receiving target carries the mass (spec 1.4) */
        length_result(t, 0, "MERGED");
        break;
    case HT_STATE_NOT_EVALUABLE:
        not_done(t, "NOT EVALUABLE");
        break;
    default: {
        int32_t mm10 = lesion->nodal ? a->short_axis : a->long_axis;
        if (!lesion->nodal && a->nfragments > 0) { /* a split lesion: the fragments' sum */
            mm10 = 0;
            for (int f = 0; f < a->nfragments; f++)
                mm10 += a->fragments[f];
        }
        if (mm10 == HT_NO_VALUE)
            not_done(t, "NOT ASSESSED");
        else
            length_result(t, mm10, NULL);
    }
    }
}

static void state_of(cdisc_table *t, const ht_rs_lesion *lesion, const ht_rs_assessment *a)
{
    switch (a->state) {
    case HT_STATE_ABSENT:
        state_result(t, lesion->role == HT_ROLE_NON_TARGET && lesion->nodal ? "NON-PATHOLOGICAL"
                                                                            : "ABSENT");
        break;
    case HT_STATE_NOT_EVALUATED:
        not_done(t, "NOT EVALUATED");
        break;
    case HT_STATE_UNEQUIVOCAL_PROGRESSION:
    case HT_STATE_UNEQUIVOCAL:
        state_result(t, "UNEQUIVOCAL");
        break;
    case HT_STATE_EQUIVOCAL:
        state_result(t, "EQUIVOCAL");
        break;
    default: /* present, or a new lesion recorded by its size */
        if (lesion->role == HT_ROLE_NEW)
            state_result(t, "UNEQUIVOCAL");
        else
            state_result(t, lesion->nodal ? "PATHOLOGICAL" : "PRESENT");
    }
}

static void tr_row(
    cdisc_context *c, const cdisc_subject *s, int *seq, int index, const char *link, tr_test test)
{
    cdisc_table *t = &c->tr;
    identify(c, t, s, ++*seq);
    cdisc_text(t, "TRLNKID", link);
    cdisc_text(t, "TRTESTCD", test.code);
    cdisc_text(t, "TRTEST", test.name);
    cdisc_text(t, "TRMETHOD", s->method[index]);
    at_visit(c, t, s, index);
}

/* The per-time-point sum of diameters (RECIST 1.1's, as the reader's assessment shows it). */
static void sum_row(cdisc_context *c, const cdisc_subject *s, int *seq, int pos)
{
    const ht_rs_tp_result *r = &s->unconfirmed[HT_RECIST11].timepoints[pos];
    int index = r->index;
    tr_row(c, s, seq, index, NULL, SUMDIAM);
    if (!s->rs->timepoints[index].imaging_performed && pos > 0)
        not_done(&c->tr, "SCAN NOT PERFORMED");
    else if (!r->sum_mm10.has)
        not_done(&c->tr, "NO TARGET LESIONS");
    else if (!r->sum_complete)
        not_done(&c->tr, "NOT EVALUABLE");
    else
        length_result(&c->tr, (int32_t)r->sum_mm10.v, NULL);
}

static void tr_rows(cdisc_context *c, const cdisc_subject *s)
{
    const ht_rs_subject *rs = s->rs;
    const ht_rs_result *order = &s->unconfirmed[HT_RECIST11];
    int seq = 0;
    for (int pos = 0; pos < order->ntimepoints; pos++) {
        int index = order->timepoints[pos].index;
        int imaged = pos == 0 || rs->timepoints[index].imaging_performed;
        for (int l = 0; l < rs->nlesions; l++) {
            const ht_rs_lesion *lesion = &rs->lesions[l];
            int first = first_recorded(s, l);
            if (first < 0 || s->visit[first] > s->visit[index])
                continue;
            const ht_rs_assessment *a = NULL;
            for (int k = 0; k < rs->nassessments && !a; k++)
                if (rs->assessments[k].lesion == l && rs->assessments[k].timepoint == index)
                    a = &rs->assessments[k];
            if (!a && imaged && lesion->role == HT_ROLE_NEW)
                continue; /* a new lesion not recorded again: not seen (spec 1.3) */
            tr_row(c, s, &seq, index, lesion->label, test_of(lesion, a));
            if (!imaged)
                not_done(&c->tr, "SCAN NOT PERFORMED");
            else if (!a)
                not_done(&c->tr, lesion->role == HT_ROLE_TARGET ? "NOT ASSESSED" : "NOT EVALUATED");
            else if (lesion->role == HT_ROLE_TARGET)
                target_result(&c->tr, lesion, a);
            else
                state_of(&c->tr, lesion, a);
        }
        sum_row(c, s, &seq, pos);
    }
}

static void rs_row(cdisc_context *c,
                   const cdisc_subject *s,
                   int *seq,
                   ht_criterion k,
                   const char *code,
                   const char *test)
{
    cdisc_table *t = &c->rs;
    identify(c, t, s, ++*seq);
    cdisc_text(t, "RSTESTCD", code);
    cdisc_text(t, "RSTEST", test);
    cdisc_text(t, "RSCAT", cdisc_category(k));
}

static void rs_result(cdisc_table *t, ht_response r, const char *not_applicable)
{
    char buf[16];
    if (r == HT_RESP_NA || r == HT_RESP_NULL) {
        not_done(t, not_applicable);
        return;
    }
    cdisc_text(t, "RSORRES", cdisc_response(r, buf));
    cdisc_text(t, "RSSTRESC", cdisc_response(r, buf));
}

static void rs_text(cdisc_table *t, const char *value)
{
    cdisc_text(t, "RSORRES", value);
    cdisc_text(t, "RSSTRESC", value);
}

static void
rs_timepoint(cdisc_context *c, const cdisc_subject *s, int *seq, ht_criterion k, int pos)
{
    const ht_rs_tp_result *r = &s->unconfirmed[k].timepoints[pos];
    int index = r->index, imaged = s->rs->timepoints[index].imaging_performed;
    cdisc_table *t = &c->rs;
    rs_row(c, s, seq, k, "TRGRESP", "Target Response");
    at_visit(c, t, s, index);
    imaged ? rs_result(t, r->r.target, "NO TARGET LESIONS") : not_done(t, "SCAN NOT PERFORMED");
    rs_row(c, s, seq, k, "NTRGRESP", "Non-target Response");
    at_visit(c, t, s, index);
    imaged ? rs_result(t, r->r.non_target, "NO NON-TARGET LESIONS")
           : not_done(t, "SCAN NOT PERFORMED");
    rs_row(c, s, seq, k, "NEWLIND", "New Lesion Indicator");
    at_visit(c, t, s, index);
    int any_new = r->r.new_lesions == HT_NL_EQUIVOCAL || r->r.new_lesions == HT_NL_UNEQUIVOCAL;
    imaged ? rs_text(t, any_new ? "Y" : "N") : not_done(t, "SCAN NOT PERFORMED");
    if (imaged && any_new) {
        rs_row(c, s, seq, k, "NEWLPROG", "New Lesion Progression");
        at_visit(c, t, s, index);
        rs_text(t, r->r.new_lesions == HT_NL_EQUIVOCAL ? "EQUIVOCAL" : "UNEQUIVOCAL");
    }
    rs_row(c, s, seq, k, "OVRLRESP", "Overall Response");
    at_visit(c, t, s, index);
    rs_result(t, r->r.overall, "NOT EVALUABLE");
}

/* The best response as read, without confirmation (confirmed BOR is ADaM's CBOR). */
static void rs_best(cdisc_context *c, const cdisc_subject *s, int *seq, ht_criterion k)
{
    const ht_rs_result *res = &s->unconfirmed[k];
    cdisc_table *t = &c->rs;
    rs_row(c, s, seq, k, "BESTRESP", "Best Response");
    if (res->bor.bor_tp >= 0) {
        int index = res->timepoints[res->bor.bor_tp].index;
        cdisc_text(t, "RSDTC", ht_ledger_timepoint_date(s->ledger, index));
        cdisc_number(t, "RSDY", cdisc_study_day(s->rs->timepoints[index].day, s->baseline_day));
        cdisc_text(t, "RSEVALID", cdisc_evaluator(s, index));
    }
    cdisc_text(t, "RSEVAL", c->reader_role);
    rs_result(t, res->bor.bor, "NO FOLLOW-UP ASSESSMENT");
}

void cdisc_sdtm_subject(cdisc_context *c, const cdisc_subject *s)
{
    tu_rows(c, s);
    tr_rows(c, s);
    int seq = 0;
    for (int k = HT_RECIST11; k <= HT_CHOI; k++) {
        if (!(c->criteria & (1u << k)))
            continue;
        for (int pos = 1; pos < s->unconfirmed[k].ntimepoints; pos++)
            rs_timepoint(c, s, &seq, (ht_criterion)k, pos);
        rs_best(c, s, &seq, (ht_criterion)k);
    }
}
