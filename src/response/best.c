/*
 * One run's best overall response: the time points that count, confirmation, the minimum
 * duration of SD and the first progression (spec 2.9 - 2.12). The duration of response and the
 * best change from baseline are taken from it in evaluate.c.
 */
#include "response_internal.h"

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

void ht_rs__best_response(const ctx *c, run *r)
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
