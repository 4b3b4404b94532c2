/*
 * Internals of the response engine, shared by its files; not a public header.
 *
 * An evaluation (evaluate.c) orders the subject's time points by date, baseline first, and
 * lays its assessments out as a grid (lesion, ordered position). A run evaluates every lesion,
 * or the subset in ctx.mask (spec 7: intrahepatic, extrahepatic), under one criterion: sums and
 * nadirs and the responses at each follow-up (timepoint.c), then the best overall response
 * (best.c). Hepatic tumour load is in hepatic.c, baseline warnings and eligibility in
 * baseline.c, names and percentages in names.c. Pure: no I/O, no globals.
 */
#ifndef HEPATRACK_RESPONSE_INTERNAL_H
#define HEPATRACK_RESPONSE_INTERNAL_H

#include "hepatrack/response.h"

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

/* Context helpers (evaluate.c). */
int ht_rs__in_run(const ctx *c, int k);                          /* lesion k is in this run */
const ht_rs_assessment *ht_rs__at(const ctx *c, int k, int pos); /* or NULL */
int ht_rs__imaging(const ctx *c, int pos);                       /* imaging performed at pos */
const ht_rs_lesion *ht_rs__lesion(const ctx *c, int k);

/* A warning on the result (once per rule, lesion and time point; none when !c->warn). lesion
 * and pos may be -1. */
void ht_rs__warn(ctx *c, const char *rule, int lesion, int pos, const char *fmt, ...)
    HT_PRINTF_(5, 6);

/* An ht_opt holding v (names.c). */
ht_opt ht_rs__some(int64_t v);

/* ---- one run (timepoint.c, best.c) --------------------------------------------------------- */

/* Target sums at the baseline and at follow-ups with imaging, and nadirs (spec 2.3). */
void ht_rs__sums(ctx *c, run *r);

/* Choi's density at one follow-up (spec 4.2): over the run's targets that contribute more
 * than zero there and have a mean HU there and at baseline, how many (paired), the sums of their
 * mean HU (h; hb at baseline), and the density PR (h at most 85 % of hb). */
typedef struct density {
    int paired;
    int64_t h, hb;
    int pr;
} density;

density ht_rs__density_at(ctx *c, int pos);

/* Target, non-target, new-lesion and overall responses at every follow-up, then re-dating. */
void ht_rs__responses(ctx *c, run *r);

/* The run's best overall response, confirmation and first progression (spec 2.9 - 2.12). */
void ht_rs__best_response(const ctx *c, run *r);

/* ---- hepatic tumour load (hepatic.c) and baseline (baseline.c) ----------------------------- */

/* The long axis, or the sum of fragments, or HT_NO_VALUE. */
int32_t ht_rs__long_axis_of(const ht_rs_assessment *a);

/* Hepatic tumour load at pos (spec 7). */
void ht_rs__hepatic(const ctx *c, int pos, ht_rs_hepatic *h);

/* Selection warnings at baseline (spec 2.1, 3.2, 1.8). */
void ht_rs__baseline_warnings(ctx *c);

/* Eligibility checks on the baseline (spec 8) into c->out. */
void ht_rs__eligibility(ctx *c);

#endif
