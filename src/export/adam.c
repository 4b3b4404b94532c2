/*
 * ADaM ADRS and ADTTE for one subject (spec 10), with admiralonco's parameter codes: OVR per
 * time point, BOR (without confirmation), CBOR (confirmed, spec 2.11) and PD in ADRS; PFS per
 * criterion and OS in ADTTE (spec 9), counted by the report module's ht_report_survival_of as the
 * cohort counts them, so that the datasets and the cohort can never disagree.
 */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/report.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <string.h>

/* admiralonco's aval_resp(): CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, NE 6, MISSING 7. */
static int response_code(ht_response r)
{
    switch (r) {
    case HT_RESP_CR:
        return 1;
    case HT_RESP_PR:
        return 2;
    case HT_RESP_SD:
        return 3;
    case HT_RESP_NON_CR_NON_PD:
        return 4;
    case HT_RESP_PD:
        return 5;
    case HT_RESP_NE:
        return 6;
    default:
        return 7;
    }
}

static void subject_row(cdisc_context *c, cdisc_table *t, const cdisc_subject *s)
{
    cdisc_row(t);
    cdisc_text(t, "STUDYID", c->study_id);
    cdisc_text(t, "USUBJID", s->usubjid);
    cdisc_text(t, "SUBJID", s->rs->id);
}

static void parameter(cdisc_table *t, const char *code, const char *name, const char *category)
{
    cdisc_text(t, "PARAMCD", code);
    cdisc_text(t, "PARAM", name);
    cdisc_text(t, "PARCAT1", category);
}

/* A response parameter named as admiralonco's templates name it, for the evaluator:
 * "Best Confirmed Overall Response by Investigator". */
static void response_parameter(cdisc_context *c,
                               cdisc_table *t,
                               const char *code,
                               const char *what,
                               const char *after,
                               const char *category)
{
    char name[160];
    int investigator = !strcmp(c->reader_role, "INVESTIGATOR");
    snprintf(name, sizeof(name), "%s by %s%s", what,
             investigator ? "Investigator" : "Independent Assessor", after);
    parameter(t, code, name, category);
    cdisc_text(t, "PARCAT2", c->reader_role);
}

/* ADT and ADY of a time point (input index); nothing when index < 0. */
static void dated(cdisc_table *t, const cdisc_subject *s, int index)
{
    if (index < 0)
        return;
    int32_t day = s->rs->timepoints[index].day;
    cdisc_date(t, "ADT", day);
    cdisc_number(t, "ADY", cdisc_study_day(day, s->baseline_day));
}

/* A response, or MISSING (admiralonco's value when there is no assessment to take it from). */
static void response_value(cdisc_table *t, ht_response r, int assessed)
{
    char buf[16];
    const char *term = cdisc_response(r, buf);
    if (!assessed || !term || r == HT_RESP_NA) {
        cdisc_text(t, "AVALC", "MISSING");
        cdisc_number(t, "AVAL", 7);
        return;
    }
    cdisc_text(t, "AVALC", term);
    cdisc_number(t, "AVAL", response_code(r));
}

static int input_index(const ht_rs_result *res, int pos)
{
    return pos >= 0 ? res->timepoints[pos].index : -1;
}

static void adrs_rows(cdisc_context *c, const cdisc_subject *s, ht_criterion k)
{
    cdisc_table *t = &c->adrs;
    const char *category = cdisc_category(k);
    const ht_rs_result *plain = &s->unconfirmed[k], *confirmed = &s->confirmed[k];
    for (int pos = 1; pos < plain->ntimepoints; pos++) {
        int index = plain->timepoints[pos].index;
        subject_row(c, t, s);
        response_parameter(c, t, "OVR", "Overall Response", "", category);
        response_value(t, plain->timepoints[pos].r.overall, 1);
        dated(t, s, index);
        cdisc_text(t, "AVISIT", s->rs->timepoints[index].label);
        cdisc_number(t, "AVISITN", s->visit[index]);
    }
    subject_row(c, t, s);
    response_parameter(c, t, "BOR", "Best Overall Response", " (confirmation not required)",
                       category);
    response_value(t, plain->bor.bor, plain->bor.bor_tp >= 0);
    dated(t, s, input_index(plain, plain->bor.bor_tp));
    subject_row(c, t, s);
    response_parameter(c, t, "CBOR", "Best Confirmed Overall Response", "", category);
    response_value(t, confirmed->bor.bor, confirmed->bor.bor_tp >= 0);
    dated(t, s, input_index(confirmed, confirmed->bor.bor_tp));
    subject_row(c, t, s);
    response_parameter(c, t, "PD", "Disease Progression", "", category);
    int progressed = plain->bor.progression_tp >= 0;
    cdisc_text(t, "AVALC", progressed ? "Y" : "N");
    cdisc_number(t, "AVAL", progressed);
    dated(t, s, input_index(plain, plain->bor.progression_tp));
}

/* EVNTDESC: what ended the time, as admiral's event and censoring sources name it. */
static const char *end_description(ht_survival_end end)
{
    switch (end) {
    case HT_END_PROGRESSION:
        return "DISEASE PROGRESSION";
    case HT_END_DEATH:
        return "DEATH";
    case HT_END_START:
        return "START DATE";
    case HT_END_LAST_KNOWN_ALIVE:
        return "LAST KNOWN ALIVE DATE";
    default: /* the last assessment, or the last one before missed visits */
        return "LAST TUMOR ASSESSMENT";
    }
}

/* One ADTTE row (category NULL: OS, which depends on no criterion). */
static void time_to_event(cdisc_context *c,
                          const cdisc_subject *s,
                          const ht_report_survival *sv,
                          int os,
                          const char *category)
{
    cdisc_table *t = &c->adtte;
    int32_t days = os ? sv->os_days : sv->pfs_days;
    int censored = os ? sv->os_censored : sv->pfs_censored;
    ht_survival_end end = os ? sv->os_end : sv->pfs_end;
    subject_row(c, t, s);
    parameter(t, os ? "OS" : "PFS", os ? "Overall Survival" : "Progression-Free Survival",
              category);
    cdisc_number(t, "AVAL", days);
    cdisc_text(t, "AVALU", "DAYS");
    cdisc_date(t, "STARTDT", sv->start);
    cdisc_date(t, "ADT", sv->start + days);
    cdisc_number(t, "CNSR", censored);
    cdisc_text(t, "EVNTDESC", end_description(end));
    if (censored)
        cdisc_text(t, "CNSDTDSC", ht_report_survival_rule(end));
}

void cdisc_adam_subject(cdisc_context *c, const cdisc_subject *s)
{
    ht_report_survival sv;
    for (int k = HT_RECIST11; k <= HT_CHOI; k++) {
        if (!(c->criteria & (1u << k)))
            continue;
        adrs_rows(c, s, (ht_criterion)k);
        ht_report_survival_of(s->ledger, &s->unconfirmed[k], c->interval, &sv);
        time_to_event(c, s, &sv, 0, cdisc_category((ht_criterion)k));
    }
    /* OS depends on no criterion: one row, censored until a death is recorded */
    ht_report_survival_of(s->ledger, &s->unconfirmed[HT_RECIST11], c->interval, &sv);
    time_to_event(c, s, &sv, 1, NULL);
}
