/*
 * One run at each time point: the contribution of each target (spec 2.2, 3.1), sums and nadirs
 * (spec 2.3), Choi's density (spec 4.2), and the target, non-target, new-lesion and overall
 * responses at each follow-up with re-dating (spec 2.4 - 2.8, 3.3 - 3.5, 4.3).
 */
#include "response_internal.h"

/* ---- contributions (spec 2.2, 3.1) --------------------------------------------------------- */

/* The diameter this criterion reads for a measured target (spec 1.7). */
static int32_t measured_value(ctx *c, int k, int pos, const ht_rs_assessment *a)
{
    const ht_rs_lesion *l = ht_rs__lesion(c, k);
    if (l->nodal)
        return a->short_axis;
    if (c->crit == HT_MRECIST && l->liver) {
        if (a->viable_axis != HT_NO_VALUE)
            return a->viable_axis;
        ht_rs__warn(c, "M-FALLBACK-1", k, pos, "no viable axis for %s at %s: its long axis is used",
                    l->label, c->s->timepoints[c->order[pos]].label);
    }
    return a->long_axis;
}

/* L_k(pos): returns 1 with *v when target k contributes at pos, 0 when it does not. */
static int contribution(ctx *c, int k, int pos, int64_t *v)
{
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
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
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
    int64_t v;
    if (!a || depth > c->s->nlesions)
        return 0;
    if (a->state == HT_STATE_MERGED)
        return a->merged_into >= 0 && meets_cr(c, a->merged_into, pos, depth + 1);
    if (!contribution(c, k, pos, &v))
        return 0;
    return ht_rs__lesion(c, k)->nodal ? v < 100 : v == 0;
}

/* Absent at pos, itself or through the lesion it was merged into. */
static int absent_at(const ctx *c, int k, int pos, int depth)
{
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
    if (!a || depth > c->s->nlesions)
        return 0;
    if (a->state == HT_STATE_ABSENT)
        return 1;
    return a->state == HT_STATE_MERGED && a->merged_into >= 0 &&
           absent_at(c, a->merged_into, pos, depth + 1);
}

static int seen_at(const ctx *c, int k, int pos)
{
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
    return a && (a->state == HT_STATE_MEASURED || a->state == HT_STATE_TOO_SMALL);
}

/* The previous follow-up with imaging before pos, or -1. */
static int previous_follow_up(const ctx *c, int pos)
{
    for (int p = pos - 1; p >= 1; p--)
        if (ht_rs__imaging(c, p))
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
        const ht_rs_lesion *l = ht_rs__lesion(c, k);
        if (!ht_rs__in_run(c, k) || l->role != role)
            continue;
        if (role == HT_ROLE_TARGET && !l->nodal && absent_at(c, k, prev, 0) && seen_at(c, k, pos))
            return 1;
        if (role == HT_ROLE_NON_TARGET && absent_at(c, k, prev, 0)) {
            const ht_rs_assessment *a = ht_rs__at(c, k, pos);
            if (a && (a->state == HT_STATE_PRESENT || a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION))
                return 1;
        }
    }
    return 0;
}

/* ---- sums and nadirs (spec 2.3) ------------------------------------------------------------ */

void ht_rs__sums(ctx *c, run *r)
{
    for (int pos = 0; pos < c->n; pos++) {
        if (!r->has_targets || (pos > 0 && !ht_rs__imaging(c, pos)))
            continue;
        int64_t s = 0, v;
        int complete = 1;
        for (int k = 0; k < c->s->nlesions; k++) {
            if (!ht_rs__in_run(c, k) || ht_rs__lesion(c, k)->role != HT_ROLE_TARGET)
                continue;
            if (contribution(c, k, pos, &v)) {
                s += v;
            } else {
                complete = 0;
                if (!ht_rs__at(c, k, pos))
                    ht_rs__warn(c, "W-MISSING", k, pos, "no assessment of target %s at %s",
                                ht_rs__lesion(c, k)->label, c->s->timepoints[c->order[pos]].label);
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

density ht_rs__density_at(ctx *c, int pos)
{
    density d = {0, 0, 0, 0};
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_assessment *a = ht_rs__at(c, k, pos), *b = ht_rs__at(c, k, 0);
        int64_t v;
        if (!ht_rs__in_run(c, k) || ht_rs__lesion(c, k)->role != HT_ROLE_TARGET || !a || !b ||
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
    if (!ht_rs__imaging(c, pos))
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
        if (ht_rs__in_run(c, k) && ht_rs__lesion(c, k)->role == HT_ROLE_TARGET)
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
    if (!ht_rs__imaging(c, pos))
        return HT_RESP_NE;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!ht_rs__in_run(c, k) || ht_rs__lesion(c, k)->role != HT_ROLE_NON_TARGET)
            continue;
        const ht_rs_assessment *a = ht_rs__at(c, k, pos);
        if (a && a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION)
            return HT_RESP_PD;
        if (!a) {
            ht_rs__warn(c, "W-MISSING", k, pos, "no assessment of non-target %s at %s",
                        ht_rs__lesion(c, k)->label, c->s->timepoints[c->order[pos]].label);
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
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
    const ht_rs_lesion *l = ht_rs__lesion(c, k);
    if (!a) {
        if (c->first_pos[k] >= 0 && c->first_pos[k] < pos)
            ht_rs__warn(c, "W-MISSING", k, pos,
                        "no assessment of new lesion %s at %s (taken as not seen)", l->label,
                        c->s->timepoints[c->order[pos]].label);
        return HT_STATE_ABSENT;
    }
    if (a->state == HT_STATE_UNEQUIVOCAL && c->crit == HT_MRECIST && l->liver) {
        if (a->long_axis == HT_NO_VALUE) {
            ht_rs__warn(c, "M-NEW-2", k, pos,
                        "new liver lesion %s is unequivocal without a long axis: "
                        "counted as equivocal",
                        l->label);
            return HT_STATE_EQUIVOCAL;
        }
        if (a->long_axis < 100) {
            ht_rs__warn(c, "M-NEW-1", k, pos,
                        "new liver lesion %s is under 10 mm: counted as equivocal", l->label);
            return HT_STATE_EQUIVOCAL;
        }
    }
    return a->state;
}

static ht_new_lesions new_lesions(ctx *c, int pos)
{
    ht_new_lesions nl = HT_NL_NONE;
    if (!ht_rs__imaging(c, pos))
        return HT_NL_NULL;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!ht_rs__in_run(c, k) || ht_rs__lesion(c, k)->role != HT_ROLE_NEW ||
            c->first_pos[k] < 0 || c->first_pos[k] > pos)
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
        if (!ht_rs__in_run(c, k) || ht_rs__lesion(c, k)->role != HT_ROLE_NEW || c->first_pos[k] < 0)
            continue;
        int equivocal_seen = 0;
        for (int pos = c->first_pos[k]; pos < c->n; pos++) {
            if (!ht_rs__imaging(c, pos) || !ht_rs__at(c, k, pos))
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

void ht_rs__responses(ctx *c, run *r)
{
    for (int pos = 1; pos < c->n; pos++) {
        ht_rs_responses *x = &r->resp[pos];
        density d = {0, 0, 0, 0};
        if (c->crit == HT_CHOI && r->has_targets && ht_rs__imaging(c, pos))
            d = ht_rs__density_at(c, pos);
        x->target = target_response(c, r, pos, &d);
        x->non_target = non_target_response(c, r, pos);
        x->new_lesions = new_lesions(c, pos);
        x->overall_prospective = overall_response(r, x, ht_rs__imaging(c, pos));
        x->overall = x->overall_prospective;
        if (!r->has_targets && !r->has_non_targets && !c->mask) {
            x->target = x->non_target = HT_RESP_NA; /* no evaluable disease (spec 2.1) */
            x->overall = x->overall_prospective = HT_RESP_NA;
        }
    }
    redate(c, r);
}
