/*
 * The response engine (spec sections 2-4 and 7-8). One pass per criterion over the subject's
 * time points in date order: contributions and sums, nadirs, target / non-target / new-lesion
 * responses, the prospective overall response, re-dating, then the per-subject results.
 * Every decision is integer arithmetic on stored tenths.
 */
#include "hepatrack/response.h"
#include "hepatrack/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names --------------------------------------------------------------------------------- */

const char *ht_response_name(ht_response r)
{
    static const char *const names[] = {NULL, "CR", "PR", "SD", "PD", "NE", "NA", "non-CR/non-PD"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

const char *ht_new_lesions_name(ht_new_lesions n)
{
    static const char *const names[] = {NULL, "none", "equivocal", "unequivocal"};
    return (unsigned)n < 4 ? names[n] : NULL;
}

const char *ht_criterion_name(ht_criterion c)
{
    static const char *const names[] = {"recist1.1", "mrecist", "choi"};
    return (unsigned)c < 3 ? names[c] : "recist1.1";
}

int ht_criterion_parse(const char *text, ht_criterion *out)
{
    for (int c = HT_RECIST11; c <= HT_CHOI; c++) {
        if (strcasecmp(text, ht_criterion_name((ht_criterion)c)) == 0) {
            *out = (ht_criterion)c;
            return HT_OK;
        }
    }
    if (strcasecmp(text, "recist") == 0) {
        *out = HT_RECIST11;
        return HT_OK;
    }
    return ht_error_set(HT_EINVALID, "criteria must be recist1.1, mrecist or choi (got '%s')",
                        text);
}

/* ---- arithmetic ---------------------------------------------------------------------------- */

ht_opt ht_response_pct10(int64_t value, int64_t reference)
{
    ht_opt out = {0, 0};
    if (reference == 0)
        return out;
    int64_t num = 1000 * (value - reference);
    int64_t mag = num < 0 ? -num : num;
    int64_t ref = reference < 0 ? -reference : reference;
    int64_t q = (2 * mag + ref) / (2 * ref);
    out.has = 1;
    out.v = ((num < 0) != (reference < 0) && q != 0) ? -q : q;
    return out;
}

static ht_opt some(int64_t v)
{
    ht_opt o = {1, v};
    return o;
}

/* ---- evaluation context -------------------------------------------------------------------- */

typedef struct run {
    /* per ordered position */
    int64_t *sum;
    unsigned char *complete, *has_sum;
    int64_t *nadir;
    unsigned char *has_nadir;
    ht_rs_responses *resp;
    /* per subject */
    int has_targets, has_non_targets, has_new;
    ht_rs_bor bor;
} run;

typedef struct ctx {
    const ht_rs_subject *s;
    ht_criterion crit;
    ht_rs_params p;
    ht_rs_result *out;
    int n;                         /* time points */
    int *order;                    /* ordered position -> input index */
    int32_t *day;                  /* ordered position -> days from baseline */
    const ht_rs_assessment **grid; /* lesion * n + position */
    int *first_pos;                /* lesion -> first position with an assessment, or -1 */
    const unsigned char *mask;     /* lesions in this run (NULL: all) */
    int warn;                      /* emit warnings in this run */
} ctx;

static int in_run(const ctx *c, int k)
{
    return !c->mask || c->mask[k];
}

static const ht_rs_assessment *at(const ctx *c, int k, int pos)
{
    return c->grid[(size_t)k * (size_t)c->n + (size_t)pos];
}

static int imaging(const ctx *c, int pos)
{
    return c->s->timepoints[c->order[pos]].imaging_performed;
}

static void warn(ctx *c, const char *rule, int lesion, int pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void warn(ctx *c, const char *rule, int lesion, int pos, const char *fmt, ...)
{
    ht_rs_result *o = c->out;
    va_list ap;
    if (!c->warn)
        return;
    int tp = pos >= 0 ? c->order[pos] : -1;
    for (int i = 0; i < o->nwarnings; i++) /* the same warning once */
        if (!strcmp(o->warnings[i].rule, rule) && o->warnings[i].lesion == lesion &&
            o->warnings[i].timepoint == tp)
            return;
    if (HT_GROW(o->warnings, o->capwarnings, (size_t)o->nwarnings + 1) < 0)
        return;
    ht_rs_warning *w = &o->warnings[o->nwarnings++];
    snprintf(w->rule, sizeof(w->rule), "%s", rule);
    w->lesion = lesion;
    w->timepoint = tp;
    va_start(ap, fmt);
    vsnprintf(w->message, sizeof(w->message), fmt, ap);
    va_end(ap);
}

/* ---- contributions (spec 2.2, 3.1) --------------------------------------------------------- */

static const ht_rs_lesion *lesion(const ctx *c, int k)
{
    return &c->s->lesions[k];
}

/* The diameter this criterion reads for a measured target (spec 1.7). */
static int32_t measured_value(ctx *c, int k, int pos, const ht_rs_assessment *a)
{
    const ht_rs_lesion *l = lesion(c, k);
    if (l->nodal)
        return a->short_axis;
    if (c->crit == HT_MRECIST && l->liver) {
        if (a->viable_axis != HT_NO_VALUE)
            return a->viable_axis;
        warn(c, "M-FALLBACK-1", k, pos, "no viable axis for %s at %s: its long axis is used",
             l->label, c->s->timepoints[c->order[pos]].label);
    }
    return a->long_axis;
}

/* L_k(pos): returns 1 with *v when target k contributes at pos, 0 when it does not. */
static int contribution(ctx *c, int k, int pos, int64_t *v)
{
    const ht_rs_assessment *a = at(c, k, pos);
    if (!a)
        return 0;
    switch (a->state) {
    case HT_STATE_MEASURED:
        if (a->nfragments > 0) {
            *v = 0;
            for (int f = 0; f < a->nfragments; f++)
                *v += a->fragments[f];
            return 1;
        } else {
            int32_t m = measured_value(c, k, pos, a);
            if (m == HT_NO_VALUE)
                return 0;
            *v = m;
            return 1;
        }
    case HT_STATE_TOO_SMALL:
        *v = 50;
        return 1;
    case HT_STATE_ABSENT:
    case HT_STATE_MERGED:
        *v = 0;
        return 1;
    default:
        return 0;
    }
}

/* The CR condition of one target (spec 2.4 rule 6, 1.4): a merged target meets it exactly when
 * the lesion it is merged into does. */
static int meets_cr(ctx *c, int k, int pos, int depth)
{
    const ht_rs_assessment *a = at(c, k, pos);
    int64_t v;
    if (!a || depth > c->s->nlesions)
        return 0;
    if (a->state == HT_STATE_MERGED)
        return a->merged_into >= 0 && meets_cr(c, a->merged_into, pos, depth + 1);
    if (!contribution(c, k, pos, &v))
        return 0;
    return lesion(c, k)->nodal ? v < 100 : v == 0;
}

/* Absent at pos, itself or through the lesion it was merged into. */
static int absent_at(const ctx *c, int k, int pos, int depth)
{
    const ht_rs_assessment *a = at(c, k, pos);
    if (!a || depth > c->s->nlesions)
        return 0;
    if (a->state == HT_STATE_ABSENT)
        return 1;
    return a->state == HT_STATE_MERGED && a->merged_into >= 0 &&
           absent_at(c, a->merged_into, pos, depth + 1);
}

static int seen_at(const ctx *c, int k, int pos)
{
    const ht_rs_assessment *a = at(c, k, pos);
    return a && (a->state == HT_STATE_MEASURED || a->state == HT_STATE_TOO_SMALL);
}

/* The previous follow-up with imaging before pos, or -1. */
static int previous_follow_up(const ctx *c, int pos)
{
    for (int p = pos - 1; p >= 1; p--)
        if (imaging(c, p))
            return p;
    return -1;
}

/* Reappearance after an overall CR (spec 2.4 rule 4, 2.5 rule 3; A7). */
static int reappears_after_cr(ctx *c, run *r, int pos, ht_role role)
{
    int prev = previous_follow_up(c, pos);
    if (prev < 0 || r->resp[prev].overall_prospective != HT_RESP_CR)
        return 0;
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_lesion *l = lesion(c, k);
        if (!in_run(c, k) || l->role != role)
            continue;
        if (role == HT_ROLE_TARGET && !l->nodal && absent_at(c, k, prev, 0) && seen_at(c, k, pos))
            return 1;
        if (role == HT_ROLE_NON_TARGET && absent_at(c, k, prev, 0)) {
            const ht_rs_assessment *a = at(c, k, pos);
            if (a && (a->state == HT_STATE_PRESENT || a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION))
                return 1;
        }
    }
    return 0;
}

/* ---- sums and nadirs (spec 2.3) ------------------------------------------------------------ */

static void sums(ctx *c, run *r)
{
    for (int pos = 0; pos < c->n; pos++) {
        if (!r->has_targets || (pos > 0 && !imaging(c, pos)))
            continue;
        int64_t s = 0, v;
        int complete = 1;
        for (int k = 0; k < c->s->nlesions; k++) {
            if (!in_run(c, k) || lesion(c, k)->role != HT_ROLE_TARGET)
                continue;
            if (contribution(c, k, pos, &v)) {
                s += v;
            } else {
                complete = 0;
                if (!at(c, k, pos))
                    warn(c, "W-MISSING", k, pos, "no assessment of target %s at %s",
                         lesion(c, k)->label, c->s->timepoints[c->order[pos]].label);
            }
        }
        r->sum[pos] = s;
        r->has_sum[pos] = 1;
        r->complete[pos] = (unsigned char)complete;
    }
    /* N(i): the smallest complete sum among the baseline and earlier follow-ups with imaging. */
    for (int pos = 1; pos < c->n; pos++) {
        if (!r->has_sum[pos])
            continue;
        int64_t nadir = r->sum[0];
        for (int j = 1; j < pos; j++)
            if (r->has_sum[j] && r->complete[j] && r->sum[j] < nadir)
                nadir = r->sum[j];
        r->nadir[pos] = nadir;
        r->has_nadir[pos] = 1;
    }
}

/* ---- density (spec 4.2) -------------------------------------------------------------------- */

typedef struct density {
    int paired;
    int64_t h, hb;
    int pr;
} density;

static density density_at(ctx *c, int pos)
{
    density d = {0, 0, 0, 0};
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_assessment *a = at(c, k, pos), *b = at(c, k, 0);
        int64_t v;
        if (!in_run(c, k) || lesion(c, k)->role != HT_ROLE_TARGET || !a || !b ||
            !contribution(c, k, pos, &v) || v <= 0 || a->mean_hu == HT_NO_VALUE ||
            b->mean_hu == HT_NO_VALUE)
            continue;
        d.paired++;
        d.h += a->mean_hu;
        d.hb += b->mean_hu;
    }
    d.pr = d.paired > 0 && d.hb > 0 && 100 * d.h <= 85 * d.hb;
    return d;
}

/* ---- responses at one follow-up ------------------------------------------------------------ */

static ht_response target_response(ctx *c, run *r, int pos, const density *dens)
{
    if (!r->has_targets)
        return HT_RESP_NA;
    if (!imaging(c, pos))
        return HT_RESP_NE;
    int64_t s = r->sum[pos], n = r->nadir[pos], b = r->sum[0];
    int pd;
    switch (c->crit) {
    case HT_MRECIST:
        pd = s > n && 10 * s >= 12 * n; /* A11: no 5 mm rule */
        break;
    case HT_CHOI:
        pd = s > n && 10 * s >= 11 * n && !dens->pr;
        break;
    default:
        pd = s - n >= 50 && 10 * s >= 12 * n;
        break;
    }
    if (pd || reappears_after_cr(c, r, pos, HT_ROLE_TARGET))
        return HT_RESP_PD;
    if (!r->complete[pos])
        return HT_RESP_NE;
    int cr = 1;
    for (int k = 0; k < c->s->nlesions && cr; k++)
        if (in_run(c, k) && lesion(c, k)->role == HT_ROLE_TARGET)
            cr = meets_cr(c, k, pos, 0);
    if (cr)
        return HT_RESP_CR;
    if (c->crit == HT_CHOI ? (10 * s <= 9 * b || dens->pr) : 10 * s <= 7 * b)
        return HT_RESP_PR;
    return HT_RESP_SD;
}

static ht_response non_target_response(ctx *c, run *r, int pos)
{
    int not_evaluated = 0, all_absent = 1;
    if (!r->has_non_targets)
        return HT_RESP_NA;
    if (!imaging(c, pos))
        return HT_RESP_NE;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!in_run(c, k) || lesion(c, k)->role != HT_ROLE_NON_TARGET)
            continue;
        const ht_rs_assessment *a = at(c, k, pos);
        if (a && a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION)
            return HT_RESP_PD;
        if (!a) {
            warn(c, "W-MISSING", k, pos, "no assessment of non-target %s at %s",
                 lesion(c, k)->label, c->s->timepoints[c->order[pos]].label);
            not_evaluated = 1;
        } else if (a->state == HT_STATE_NOT_EVALUATED) {
            not_evaluated = 1;
        }
        if (!a || a->state != HT_STATE_ABSENT)
            all_absent = 0;
    }
    if (reappears_after_cr(c, r, pos, HT_ROLE_NON_TARGET))
        return HT_RESP_PD;
    if (not_evaluated)
        return HT_RESP_NE;
    return all_absent ? HT_RESP_CR : HT_RESP_NON_CR_NON_PD;
}

/* The state of new lesion k at pos as this criterion counts it (spec 2.6, 3.5). */
static ht_state new_lesion_state(ctx *c, int k, int pos)
{
    const ht_rs_assessment *a = at(c, k, pos);
    const ht_rs_lesion *l = lesion(c, k);
    if (!a) {
        if (c->first_pos[k] >= 0 && c->first_pos[k] < pos)
            warn(c, "W-MISSING", k, pos, "no assessment of new lesion %s at %s (taken as not seen)",
                 l->label, c->s->timepoints[c->order[pos]].label);
        return HT_STATE_ABSENT;
    }
    if (a->state == HT_STATE_UNEQUIVOCAL && c->crit == HT_MRECIST && l->liver) {
        if (a->long_axis == HT_NO_VALUE) {
            warn(c, "M-NEW-2", k, pos,
                 "new liver lesion %s is unequivocal without a long axis: "
                 "counted as equivocal",
                 l->label);
            return HT_STATE_EQUIVOCAL;
        }
        if (a->long_axis < 100) {
            warn(c, "M-NEW-1", k, pos, "new liver lesion %s is under 10 mm: counted as equivocal",
                 l->label);
            return HT_STATE_EQUIVOCAL;
        }
    }
    return a->state;
}

static ht_new_lesions new_lesions(ctx *c, int pos)
{
    ht_new_lesions nl = HT_NL_NONE;
    if (!imaging(c, pos))
        return HT_NL_NULL;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!in_run(c, k) || lesion(c, k)->role != HT_ROLE_NEW || c->first_pos[k] < 0 ||
            c->first_pos[k] > pos)
            continue;
        ht_state st = new_lesion_state(c, k, pos);
        if (st == HT_STATE_UNEQUIVOCAL)
            nl = HT_NL_UNEQUIVOCAL;
        else if (st == HT_STATE_EQUIVOCAL && nl == HT_NL_NONE)
            nl = HT_NL_EQUIVOCAL;
    }
    return nl;
}

/* Tables 1 and 2 (spec 2.7). */
static ht_response overall_response(const run *r, const ht_rs_responses *x, int imaged)
{
    if (!r->has_targets && !r->has_non_targets) {
        /* No baseline disease in this run: only a new lesion can say anything (a subset). */
        return x->new_lesions == HT_NL_UNEQUIVOCAL && r->has_new ? HT_RESP_PD : HT_RESP_NA;
    }
    if (!imaged)
        return HT_RESP_NE;
    int nl = x->new_lesions == HT_NL_UNEQUIVOCAL;
    if (r->has_targets) {
        if (nl || x->target == HT_RESP_PD || x->non_target == HT_RESP_PD)
            return HT_RESP_PD;
        if (x->target == HT_RESP_NE)
            return HT_RESP_NE;
        if (x->target == HT_RESP_CR)
            return x->non_target == HT_RESP_CR || x->non_target == HT_RESP_NA ? HT_RESP_CR
                                                                              : HT_RESP_PR;
        return x->target; /* PR or SD */
    }
    if (nl || x->non_target == HT_RESP_PD)
        return HT_RESP_PD;
    if (x->non_target == HT_RESP_NE)
        return HT_RESP_NE;
    return x->non_target == HT_RESP_CR ? HT_RESP_CR : HT_RESP_NON_CR_NON_PD;
}

/* Re-dating (spec 2.8): an equivocal new lesion later unequivocal dates PD at its first
 * appearance. */
static void redate(ctx *c, run *r)
{
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!in_run(c, k) || lesion(c, k)->role != HT_ROLE_NEW || c->first_pos[k] < 0)
            continue;
        int equivocal_seen = 0;
        for (int pos = c->first_pos[k]; pos < c->n; pos++) {
            if (!imaging(c, pos) || !at(c, k, pos))
                continue;
            int saved = c->warn;
            c->warn = 0; /* the warnings were given on the first pass */
            ht_state st = new_lesion_state(c, k, pos);
            c->warn = saved;
            if (st == HT_STATE_EQUIVOCAL)
                equivocal_seen = 1;
            else if (st == HT_STATE_UNEQUIVOCAL && equivocal_seen) {
                r->resp[c->first_pos[k]].overall = HT_RESP_PD;
                break;
            }
        }
    }
}

static void responses(ctx *c, run *r)
{
    for (int pos = 1; pos < c->n; pos++) {
        ht_rs_responses *x = &r->resp[pos];
        density d = {0, 0, 0, 0};
        if (c->crit == HT_CHOI && r->has_targets && imaging(c, pos))
            d = density_at(c, pos);
        x->target = target_response(c, r, pos, &d);
        x->non_target = non_target_response(c, r, pos);
        x->new_lesions = new_lesions(c, pos);
        x->overall_prospective = overall_response(r, x, imaging(c, pos));
        x->overall = x->overall_prospective;
        if (!r->has_targets && !r->has_non_targets && !c->mask) {
            x->target = x->non_target = HT_RESP_NA; /* no evaluable disease (spec 2.1) */
            x->overall = x->overall_prospective = HT_RESP_NA;
        }
    }
    redate(c, r);
}

/* ---- per-subject results (spec 2.9 - 2.12) ------------------------------------------------- */

/* The time point confirming a CR or PR at i (spec 2.10), or -1. */
static int confirmer(const ctx *c, const run *r, int i, int end, int cr)
{
    for (int j = i + 1; j <= end; j++) {
        ht_response o = r->resp[j].overall;
        int ok_between = cr ? (o == HT_RESP_CR || o == HT_RESP_NE)
                            : (o == HT_RESP_PR || o == HT_RESP_CR || o == HT_RESP_NE);
        if (!ok_between)
            return -1;
        int confirms = cr ? o == HT_RESP_CR : (o == HT_RESP_PR || o == HT_RESP_CR);
        if (confirms && c->day[j] - c->day[i] >= c->p.confirmation_min_days)
            return j;
    }
    return -1;
}

/* The first time point with `want` that is confirmed (or, without confirmation, any). */
static int best_of(const ctx *c, const run *r, int end, ht_response want, int *confirming)
{
    int cr = want == HT_RESP_CR;
    for (int i = 1; i <= end; i++) {
        if (r->resp[i].overall != want)
            continue;
        int j = confirmer(c, r, i, end, cr);
        if (j >= 0 || !c->p.confirmation_required) {
            *confirming = j;
            return i;
        }
    }
    return -1;
}

static void best_response(const ctx *c, run *r)
{
    ht_rs_bor *b = &r->bor;
    int end = c->n - 1, confirming = -1, i;

    b->bor = HT_RESP_NE;
    b->bor_confirmed = -1;
    b->bor_tp = b->confirming_tp = b->progression_tp = -1;
    for (int pos = 1; pos < c->n; pos++) {
        if (r->resp[pos].overall == HT_RESP_PD) {
            b->progression_tp = pos;
            end = pos;
            break;
        }
    }
    if (!r->has_targets && !r->has_non_targets) {
        /* A subset with no lesions is not applicable; a subject without disease is NE. */
        b->bor = c->mask ? (b->progression_tp >= 0 ? HT_RESP_PD : HT_RESP_NA) : HT_RESP_NE;
        b->bor_tp = c->mask ? b->progression_tp : -1;
        return;
    }
    static const ht_response order[] = {HT_RESP_CR, HT_RESP_PR};
    for (int k = 0; k < 2; k++) {
        if ((i = best_of(c, r, end, order[k], &confirming)) >= 0) {
            b->bor = order[k];
            b->bor_tp = i;
            b->confirming_tp = confirming;
            b->bor_confirmed = confirming >= 0;
            return;
        }
    }
    for (i = 1; i <= end; i++) {
        ht_response o = r->resp[i].overall;
        int stable = r->has_targets ? (o == HT_RESP_CR || o == HT_RESP_PR || o == HT_RESP_SD)
                                    : (o == HT_RESP_CR || o == HT_RESP_NON_CR_NON_PD);
        if (stable && c->day[i] >= c->p.sd_min_days) {
            b->bor = r->has_targets ? HT_RESP_SD : HT_RESP_NON_CR_NON_PD;
            b->bor_tp = i;
            return;
        }
    }
    if (b->progression_tp >= 0) {
        b->bor = HT_RESP_PD;
        b->bor_tp = b->progression_tp;
    }
}

/* ---- hepatic tumour load (spec 7) ---------------------------------------------------------- */

int ht_response_segment(const char *location, char *out)
{
    static const char *const numerals[] = {"VIII", "VII", "VI", "IV", "V", "III", "II", "I"};
    char buf[32];
    size_t n = 0;
    const char *p = location;

    if (!p)
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "segment", 7) == 0) {
        p += 7;
        while (isspace((unsigned char)*p))
            p++;
    }
    while (*p && !isspace((unsigned char)*p) && n + 1 < sizeof(buf))
        buf[n++] = *p++;
    buf[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p || n == 0)
        return 0;
    for (size_t k = 0; k < sizeof(numerals) / sizeof(numerals[0]); k++) {
        size_t len = strlen(numerals[k]);
        if (strncasecmp(buf, numerals[k], len) != 0)
            continue;
        const char *rest = buf + len;
        if (*rest && !((*rest == 'a' || *rest == 'A' || *rest == 'b' || *rest == 'B') && !rest[1]))
            return 0;
        snprintf(out, 16, "%s", numerals[k]);
        if (*rest) {
            out[len] = (char)tolower((unsigned char)*rest);
            out[len + 1] = '\0';
        }
        return 1;
    }
    return 0;
}

/* Is liver lesion k visible at pos (spec 7, liver_lesion_count)? */
static int visible(const ctx *c, int k, int pos)
{
    const ht_rs_assessment *a = at(c, k, pos);
    if (!a)
        return 0;
    switch (lesion(c, k)->role) {
    case HT_ROLE_TARGET: {
        if (a->state == HT_STATE_TOO_SMALL)
            return 1;
        if (a->state != HT_STATE_MEASURED)
            return 0;
        if (a->nfragments > 0)
            return 1;
        int32_t v = lesion(c, k)->nodal ? a->short_axis : a->long_axis;
        return v != HT_NO_VALUE && v > 0;
    }
    case HT_ROLE_NON_TARGET:
        return a->state == HT_STATE_PRESENT || a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION;
    default:
        return a->state == HT_STATE_EQUIVOCAL || a->state == HT_STATE_UNEQUIVOCAL;
    }
}

static int32_t long_axis_of(const ht_rs_assessment *a)
{
    if (a->long_axis != HT_NO_VALUE)
        return a->long_axis;
    if (a->nfragments > 0) {
        int32_t s = 0;
        for (int f = 0; f < a->nfragments; f++)
            s += a->fragments[f];
        return s;
    }
    return HT_NO_VALUE;
}

static void hepatic(const ctx *c, int pos, ht_rs_hepatic *h)
{
    const ht_rs_timepoint *tp = &c->s->timepoints[c->order[pos]];
    memset(h, 0, sizeof(*h));
    if (pos > 0 && !tp->imaging_performed)
        return;
    h->present = 1;
    h->sum_complete = 1;
    h->volume_complete = 1;
    double volume_mm3 = 0;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!lesion(c, k)->liver || !visible(c, k, pos))
            continue;
        const ht_rs_assessment *a = at(c, k, pos);
        int32_t la = long_axis_of(a);
        h->lesion_count++;
        if (la == HT_NO_VALUE) {
            h->sum_complete = 0;
            h->volume_complete = 0;
        } else {
            h->sum_mm10 += la;
            if (!h->largest_mm10.has || la > h->largest_mm10.v)
                h->largest_mm10 = some(la);
            if (a->perpendicular == HT_NO_VALUE) {
                h->volume_complete = 0;
            } else {
                double b = a->perpendicular / 10.0;
                double cc = a->craniocaudal != HT_NO_VALUE ? a->craniocaudal / 10.0 : b; /* A13 */
                volume_mm3 += M_PI / 6.0 * (la / 10.0) * b * cc;
            }
        }
        char seg[16];
        if (ht_response_segment(lesion(c, k)->segment, seg)) {
            int s = 0;
            while (s < h->nsegments && strcmp(h->segments[s].name, seg) != 0)
                s++;
            if (s == h->nsegments && h->nsegments < 12)
                snprintf(h->segments[h->nsegments++].name, 16, "%s", seg);
            if (s < h->nsegments) {
                h->segments[s].count++;
                if (la != HT_NO_VALUE)
                    h->segments[s].sum_mm10 += la;
            }
        }
    }
    double largest_cm = h->largest_mm10.has ? h->largest_mm10.v / 100.0 : 0.0;
    h->tumour_burden_score =
        sqrt(largest_cm * largest_cm + (double)h->lesion_count * h->lesion_count);
    h->volume_ml = volume_mm3 / 1000.0;
    if (tp->liver_volume_ml10 != HT_NO_VALUE && tp->liver_volume_ml10 > 0) {
        h->has_replacement = 1;
        h->replacement_pct = 100.0 * h->volume_ml / (tp->liver_volume_ml10 / 10.0);
    }
}

/* ---- baseline: selection warnings (spec 2.1, 3.2, 1.8) and eligibility (spec 8) ------------ */

static const char *organ_of(const ht_rs_lesion *l)
{
    return (l->nodal || l->lymph_node) ? "lymph node" : (l->site ? l->site : "");
}

static int measurable(const ctx *c, int k, int32_t slice)
{
    const ht_rs_assessment *a = at(c, k, 0);
    if (!a)
        return 0;
    if (lesion(c, k)->nodal)
        return a->short_axis != HT_NO_VALUE && a->short_axis >= 150;
    int32_t min = slice != HT_NO_VALUE && slice > 50 ? 2 * slice : 100;
    return a->long_axis != HT_NO_VALUE && a->long_axis >= min;
}

static void baseline_warnings(ctx *c)
{
    const ht_rs_timepoint *bl = &c->s->timepoints[c->order[0]];
    int targets = 0;
    for (int pos = 0; pos < c->n; pos++) {
        const ht_rs_timepoint *tp = &c->s->timepoints[c->order[pos]];
        if (tp->slice_thickness_mm10 != HT_NO_VALUE && tp->slice_thickness_mm10 > 50)
            warn(c, "W-SLICE", -1, pos, "slice thickness %.1f mm at %s is above 5 mm",
                 tp->slice_thickness_mm10 / 10.0, tp->label);
    }
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_lesion *l = lesion(c, k);
        if (l->role != HT_ROLE_TARGET)
            continue;
        targets++;
        int same_organ = 0;
        for (int m = 0; m <= k; m++)
            if (lesion(c, m)->role == HT_ROLE_TARGET &&
                strcasecmp(organ_of(lesion(c, m)), organ_of(l)) == 0)
                same_organ++;
        if (same_organ == 3)
            warn(c, "R-SEL-2", k, 0, "more than 2 targets in one organ (%s)", organ_of(l));
        if (!measurable(c, k, bl->slice_thickness_mm10))
            warn(c, l->nodal ? "R-MEAS-2" : "R-MEAS-1", k, 0,
                 l->nodal ? "nodal target %s under 15 mm short axis at baseline"
                          : "non-nodal target %s under 10 mm (or twice the slice thickness) at "
                            "baseline",
                 l->label);
        const ht_rs_assessment *a = at(c, k, 0);
        if (c->crit == HT_MRECIST && l->liver && !l->nodal && a && a->viable_axis != HT_NO_VALUE &&
            a->viable_axis < 100)
            warn(c, "M-MEAS-1", k, 0, "liver target %s has a viable axis under 10 mm at baseline",
                 l->label);
    }
    if (targets > 5)
        warn(c, "R-SEL-1", -1, 0, "%d targets: RECIST allows at most 5", targets);
    /* A lesion measured in another phase than at baseline. */
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_assessment *b = at(c, k, 0);
        for (int pos = 1; b && b->phase && pos < c->n; pos++) {
            const ht_rs_assessment *a = at(c, k, pos);
            if (a && a->phase && strcasecmp(a->phase, b->phase) != 0)
                warn(c, "W-PHASE", k, pos,
                     "%s measured in the %s phase, at baseline in the %s phase",
                     lesion(c, k)->label, a->phase, b->phase);
        }
    }
}

static void check(ht_rs_result *o, const char *rule, ht_check_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void check(ht_rs_result *o, const char *rule, ht_check_status st, const char *fmt, ...)
{
    va_list ap;
    ht_rs_check *ch = &o->checks[o->nchecks++];
    ch->rule = rule;
    ch->status = st;
    va_start(ap, fmt);
    vsnprintf(ch->detail, sizeof(ch->detail), fmt, ap);
    va_end(ap);
    if (st != HT_CHECK_PASS)
        o->eligible = 0;
}

static void eligibility(ctx *c)
{
    ht_rs_result *o = c->out;
    const ht_rs_timepoint *bl = &c->s->timepoints[c->order[0]];
    int liver = 0, too_big = 0, measurable_targets = 0, unsized = 0;
    char outside[120] = "", big[120] = "";
    int32_t largest = HT_NO_VALUE;

    o->eligible = 1;
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_lesion *l = lesion(c, k);
        const ht_rs_assessment *a = at(c, k, 0);
        if (l->role == HT_ROLE_NEW)
            continue;
        if (l->role == HT_ROLE_TARGET && measurable(c, k, bl->slice_thickness_mm10))
            measurable_targets++;
        if (!l->liver) {
            size_t n = strlen(outside);
            snprintf(outside + n, sizeof(outside) - n, "%s%s %s", n ? ", " : "", l->label,
                     l->site ? l->site : "");
            continue;
        }
        liver++;
        int32_t la = a ? long_axis_of(a) : HT_NO_VALUE;
        if (la == HT_NO_VALUE) {
            unsized++;
        } else {
            if (largest == HT_NO_VALUE || la > largest)
                largest = la;
            if (la > 1000) {
                size_t n = strlen(big);
                snprintf(big + n, sizeof(big) - n, "%s%s %.1f mm", n ? ", " : "", l->label,
                         la / 10.0);
                too_big++;
            }
        }
    }
    check(o, "E-LIVER-COUNT", liver <= 5 ? HT_CHECK_PASS : HT_CHECK_FAIL, "%d liver lesion%s",
          liver, liver == 1 ? "" : "s");
    if (too_big)
        check(o, "E-LIVER-SIZE", HT_CHECK_FAIL, "above 100 mm: %s", big);
    else if (largest != HT_NO_VALUE)
        check(o, "E-LIVER-SIZE", HT_CHECK_PASS, "largest %.1f mm%s", largest / 10.0,
              unsized ? " (some lesions without a size)" : "");
    else
        check(o, "E-LIVER-SIZE", liver ? HT_CHECK_UNKNOWN : HT_CHECK_PASS,
              liver ? "no liver lesion size recorded" : "no liver lesion");
    check(o, "E-EXTRAHEPATIC", outside[0] ? HT_CHECK_FAIL : HT_CHECK_PASS, "%s",
          outside[0] ? outside : "none");
    check(o, "E-PVTT",
          bl->portal_vein == HT_PORTAL_UNKNOWN ? HT_CHECK_UNKNOWN
          : bl->portal_vein == HT_PORTAL_MAIN  ? HT_CHECK_FAIL
                                               : HT_CHECK_PASS,
          "%s",
          bl->portal_vein == HT_PORTAL_UNKNOWN  ? "portal vein status not recorded"
          : bl->portal_vein == HT_PORTAL_MAIN   ? "tumour thrombus in the main portal vein"
          : bl->portal_vein == HT_PORTAL_BRANCH ? "branch thrombus"
                                                : "none");
    check(o, "E-MEASURABLE", measurable_targets ? HT_CHECK_PASS : HT_CHECK_FAIL,
          "%d measurable target%s", measurable_targets, measurable_targets == 1 ? "" : "s");
    check(o, "E-LIVER-PRESENT", liver ? HT_CHECK_PASS : HT_CHECK_FAIL, "%d liver lesion%s", liver,
          liver == 1 ? "" : "s");
}

/* ---- putting it together ------------------------------------------------------------------- */

static void run_free(run *r)
{
    free(r->sum);
    free(r->complete);
    free(r->has_sum);
    free(r->nadir);
    free(r->has_nadir);
    free(r->resp);
}

static int run_alloc(run *r, int n)
{
    memset(r, 0, sizeof(*r));
    r->sum = calloc((size_t)n, sizeof(*r->sum));
    r->complete = calloc((size_t)n, 1);
    r->has_sum = calloc((size_t)n, 1);
    r->nadir = calloc((size_t)n, sizeof(*r->nadir));
    r->has_nadir = calloc((size_t)n, 1);
    r->resp = calloc((size_t)n, sizeof(*r->resp));
    if (!r->sum || !r->complete || !r->has_sum || !r->nadir || !r->has_nadir || !r->resp) {
        run_free(r);
        return ht_error_set(HT_ENOMEM, "out of memory evaluating responses");
    }
    return HT_OK;
}

/* Evaluate one run (the whole subject, or the lesions in c->mask). */
static int evaluate_run(ctx *c, run *r)
{
    int err = run_alloc(r, c->n);
    if (err < 0)
        return err;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!in_run(c, k))
            continue;
        r->has_targets |= lesion(c, k)->role == HT_ROLE_TARGET;
        r->has_non_targets |= lesion(c, k)->role == HT_ROLE_NON_TARGET;
        r->has_new |= lesion(c, k)->role == HT_ROLE_NEW;
    }
    sums(c, r);
    responses(c, r);
    best_response(c, r);
    return HT_OK;
}

static int compare_days(const ctx *c, int a, int b)
{
    const ht_rs_timepoint *x = &c->s->timepoints[a], *y = &c->s->timepoints[b];
    if (x->baseline != y->baseline)
        return x->baseline ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return strcmp(x->label, y->label); /* same day: a stable order, whatever the input order */
}

static int setup(ctx *c)
{
    const ht_rs_subject *s = c->s;
    int baselines = 0;

    c->n = s->ntimepoints;
    for (int i = 0; i < s->ntimepoints; i++)
        baselines += s->timepoints[i].baseline != 0;
    if (baselines != 1)
        return ht_error_set(HT_EINVALID, "subject %s has %d baselines, exactly one is needed",
                            s->id ? s->id : "?", baselines);
    c->order = malloc((size_t)c->n * sizeof(int));
    c->day = malloc((size_t)c->n * sizeof(int32_t));
    c->grid = calloc((size_t)c->n * (size_t)(s->nlesions ? s->nlesions : 1), sizeof(*c->grid));
    c->first_pos = malloc((size_t)(s->nlesions ? s->nlesions : 1) * sizeof(int));
    if (!c->order || !c->day || !c->grid || !c->first_pos)
        return ht_error_set(HT_ENOMEM, "out of memory evaluating responses");
    for (int i = 0; i < c->n; i++)
        c->order[i] = i;
    for (int i = 1; i < c->n; i++) /* insertion sort: few time points per subject */
        for (int j = i; j > 0 && compare_days(c, c->order[j - 1], c->order[j]) > 0; j--) {
            int t = c->order[j];
            c->order[j] = c->order[j - 1];
            c->order[j - 1] = t;
        }
    int *pos_of = malloc((size_t)c->n * sizeof(int));
    if (!pos_of)
        return ht_error_set(HT_ENOMEM, "out of memory evaluating responses");
    for (int p = 0; p < c->n; p++) {
        pos_of[c->order[p]] = p;
        c->day[p] = s->timepoints[c->order[p]].day - s->timepoints[c->order[0]].day;
    }
    for (int k = 0; k < s->nlesions; k++)
        c->first_pos[k] = -1;
    for (int i = 0; i < s->nassessments; i++) {
        const ht_rs_assessment *a = &s->assessments[i];
        if (a->lesion < 0 || a->lesion >= s->nlesions || a->timepoint < 0 || a->timepoint >= c->n ||
            a->merged_into >= s->nlesions) {
            free(pos_of);
            return ht_error_set(HT_EINVALID,
                                "subject %s: an assessment refers to no lesion or "
                                "time point",
                                s->id ? s->id : "?");
        }
        int p = pos_of[a->timepoint];
        c->grid[(size_t)a->lesion * (size_t)c->n + (size_t)p] = a;
        if (c->first_pos[a->lesion] < 0 || p < c->first_pos[a->lesion])
            c->first_pos[a->lesion] = p;
    }
    free(pos_of);
    return HT_OK;
}

static void copy_run(const ctx *c, const run *r, ht_rs_result *o)
{
    for (int p = 0; p < c->n; p++) {
        ht_rs_tp_result *t = &o->timepoints[p];
        t->index = c->order[p];
        t->days_from_baseline = c->day[p];
        t->r = r->resp[p];
        t->density_pr = -1;
        if (!r->has_sum[p])
            continue;
        t->sum_mm10 = some(r->sum[p]);
        t->sum_complete = r->complete[p];
        if (p == 0)
            continue;
        t->nadir_mm10 = some(r->nadir[p]);
        t->change_from_baseline_pct10 = ht_response_pct10(r->sum[p], r->sum[0]);
        t->change_from_nadir_pct10 = ht_response_pct10(r->sum[p], r->nadir[p]);
        t->change_from_nadir_mm10 = some(r->sum[p] - r->nadir[p]);
    }
}

static void choi_density(ctx *c, const run *r, ht_rs_result *o)
{
    for (int p = 1; p < c->n; p++) {
        if (!r->has_targets || !imaging(c, p))
            continue;
        density d = density_at(c, p);
        ht_rs_tp_result *t = &o->timepoints[p];
        if (!d.paired) {
            warn(c, "C-HU-1", -1, p,
                 "no target has mean HU both at baseline and at %s: density "
                 "not assessed",
                 c->s->timepoints[c->order[p]].label);
            continue;
        }
        int64_t mag = d.h < 0 ? -d.h : d.h;
        int64_t mean = (2 * mag + d.paired) / (2 * d.paired);
        t->mean_hu10 = some(d.h < 0 ? -mean : mean);
        t->change_in_hu_pct10 = ht_response_pct10(d.h, d.hb);
        t->density_pr = d.pr;
    }
}

static void subject_results(ctx *c, const run *r, ht_rs_result *o)
{
    o->bor = r->bor;
    int end = r->bor.progression_tp >= 0 ? r->bor.progression_tp : c->n - 1;
    if (r->bor.bor == HT_RESP_CR || r->bor.bor == HT_RESP_PR) {
        int start = c->day[r->bor.bor_tp];
        if (r->bor.progression_tp >= 0) {
            o->duration_of_response_days = some(c->day[r->bor.progression_tp] - start);
            o->duration_of_response_censored = 0;
        } else {
            int last = -1;
            for (int p = 1; p < c->n; p++)
                if (imaging(c, p))
                    last = p;
            o->duration_of_response_days = some(c->day[last] - start);
            o->duration_of_response_censored = 1;
        }
    }
    for (int p = 1; p <= end; p++) {
        const ht_rs_tp_result *t = &o->timepoints[p];
        if (t->sum_mm10.has && t->sum_complete && t->change_from_baseline_pct10.has &&
            (!o->best_change_from_baseline_pct10.has ||
             t->change_from_baseline_pct10.v < o->best_change_from_baseline_pct10.v))
            o->best_change_from_baseline_pct10 = t->change_from_baseline_pct10;
    }
    if (!r->has_targets && !r->has_non_targets)
        warn(c, "R-NODISEASE", -1, -1, "no target and no non-target lesion: no evaluable disease");
}

/* The intrahepatic and extrahepatic runs (spec 7), RECIST 1.1 on each subset. */
static int subsets(ctx *c, ht_rs_result *o)
{
    unsigned char *mask = malloc((size_t)(c->s->nlesions ? c->s->nlesions : 1));
    ht_criterion crit = c->crit;
    int err = HT_OK;
    if (!mask)
        return ht_error_set(HT_ENOMEM, "out of memory evaluating responses");
    c->crit = HT_RECIST11;
    c->warn = 0;
    c->mask = mask;
    for (int liver = 1; liver >= 0 && err == HT_OK; liver--) {
        run r;
        for (int k = 0; k < c->s->nlesions; k++)
            mask[k] = (unsigned char)(lesion(c, k)->liver == liver);
        if ((err = evaluate_run(c, &r)) < 0)
            break;
        for (int p = 1; p < c->n; p++) {
            o->timepoints[p].has_subsets = 1;
            if (liver)
                o->timepoints[p].intrahepatic = r.resp[p];
            else
                o->timepoints[p].extrahepatic = r.resp[p];
        }
        if (liver)
            o->intrahepatic = r.bor;
        else
            o->extrahepatic = r.bor;
        run_free(&r);
    }
    c->mask = NULL;
    c->crit = crit;
    c->warn = 1;
    free(mask);
    return err;
}

int ht_response_evaluate(const ht_rs_subject *subject,
                         ht_criterion criterion,
                         const ht_rs_params *params,
                         ht_rs_result *out)
{
    static const ht_rs_params defaults = HT_RS_PARAMS_INIT;
    ctx c;
    run r;
    int err;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    c.s = subject;
    c.crit = criterion;
    c.p = params ? *params : defaults;
    c.out = out;
    c.warn = 1;
    out->criterion = criterion;
    out->params = c.p;
    if ((err = setup(&c)) < 0)
        goto done;
    out->ntimepoints = c.n;
    out->timepoints = calloc((size_t)c.n, sizeof(*out->timepoints));
    if (!out->timepoints) {
        err = ht_error_set(HT_ENOMEM, "out of memory evaluating responses");
        goto done;
    }
    baseline_warnings(&c);
    if ((err = evaluate_run(&c, &r)) < 0)
        goto done;
    copy_run(&c, &r, out);
    if (criterion == HT_CHOI)
        choi_density(&c, &r, out);
    for (int p = 0; p < c.n; p++)
        hepatic(&c, p, &out->timepoints[p].hepatic);
    subject_results(&c, &r, out);
    eligibility(&c);
    err = subsets(&c, out);
done:
    run_free(&r);
    free(c.order);
    free(c.day);
    free(c.grid);
    free(c.first_pos);
    return err;
}

void ht_response_result_free(ht_rs_result *result)
{
    if (!result)
        return;
    free(result->timepoints);
    free(result->warnings);
    result->timepoints = NULL;
    result->warnings = NULL;
}
