/*
 * The response engine (spec sections 2-4 and 7-8). One pass per criterion over the subject's
 * time points in date order: contributions and sums, nadirs, target / non-target / new-lesion
 * responses, the prospective overall response, re-dating, then the per-subject results.
 * Every decision is integer arithmetic on stored tenths.
 *
 * This file holds the evaluation context (its helpers and warnings) and puts a subject's
 * evaluation together: set-up, the runs, the subsets and the results.
 */
#include "response_internal.h"
#include "hepatrack/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation context -------------------------------------------------------------------- */

int ht_rs__in_run(const ctx *c, int k)
{
    return !c->mask || c->mask[k];
}

const ht_rs_assessment *ht_rs__at(const ctx *c, int k, int pos)
{
    return c->grid[(size_t)k * (size_t)c->n + (size_t)pos];
}

int ht_rs__imaging(const ctx *c, int pos)
{
    return c->s->timepoints[c->order[pos]].imaging_performed;
}

void ht_rs__warn(ctx *c, const char *rule, int lesion, int pos, const char *fmt, ...)
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

const ht_rs_lesion *ht_rs__lesion(const ctx *c, int k)
{
    return &c->s->lesions[k];
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
    memset(r, 0, sizeof(*r)); /* a failed run_alloc is freed again by its caller */
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
        if (!ht_rs__in_run(c, k))
            continue;
        r->has_targets |= ht_rs__lesion(c, k)->role == HT_ROLE_TARGET;
        r->has_non_targets |= ht_rs__lesion(c, k)->role == HT_ROLE_NON_TARGET;
        r->has_new |= ht_rs__lesion(c, k)->role == HT_ROLE_NEW;
    }
    ht_rs__sums(c, r);
    ht_rs__responses(c, r);
    ht_rs__best_response(c, r);
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
        t->sum_mm10 = ht_rs__some(r->sum[p]);
        t->sum_complete = r->complete[p];
        if (p == 0)
            continue;
        t->nadir_mm10 = ht_rs__some(r->nadir[p]);
        t->change_from_baseline_pct10 = ht_response_pct10(r->sum[p], r->sum[0]);
        t->change_from_nadir_pct10 = ht_response_pct10(r->sum[p], r->nadir[p]);
        t->change_from_nadir_mm10 = ht_rs__some(r->sum[p] - r->nadir[p]);
    }
}

static void choi_density(ctx *c, const run *r, ht_rs_result *o)
{
    for (int p = 1; p < c->n; p++) {
        if (!r->has_targets || !ht_rs__imaging(c, p))
            continue;
        density d = ht_rs__density_at(c, p);
        ht_rs_tp_result *t = &o->timepoints[p];
        if (!d.paired) {
            ht_rs__warn(c, "C-HU-1", -1, p,
                        "no target has mean HU both at baseline and at %s: density "
                        "not assessed",
                        c->s->timepoints[c->order[p]].label);
            continue;
        }
        int64_t mag = d.h < 0 ? -d.h : d.h;
        int64_t mean = (2 * mag + d.paired) / (2 * d.paired);
        t->mean_hu10 = ht_rs__some(d.h < 0 ? -mean : mean);
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
            o->duration_of_response_days = ht_rs__some(c->day[r->bor.progression_tp] - start);
            o->duration_of_response_censored = 0;
        } else {
            int last = -1;
            for (int p = 1; p < c->n; p++)
                if (ht_rs__imaging(c, p))
                    last = p;
            o->duration_of_response_days = ht_rs__some(c->day[last] - start);
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
        ht_rs__warn(c, "R-NODISEASE", -1, -1,
                    "no target and no non-target lesion: no evaluable disease");
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
            mask[k] = (unsigned char)(ht_rs__lesion(c, k)->liver == liver);
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
    ht_rs__baseline_warnings(&c);
    if ((err = evaluate_run(&c, &r)) < 0)
        goto done;
    copy_run(&c, &r, out);
    if (criterion == HT_CHOI)
        choi_density(&c, &r, out);
    for (int p = 0; p < c.n; p++)
        ht_rs__hepatic(&c, p, &out->timepoints[p].hepatic);
    subject_results(&c, &r, out);
    ht_rs__eligibility(&c);
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
