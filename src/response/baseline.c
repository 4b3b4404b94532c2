/*
 * The baseline: selection and measurability warnings (spec 2.1, 3.2, 1.8) and the eligibility
 * checks of this protocol (spec 8).
 */
#include "response_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- baseline: selection warnings (spec 2.1, 3.2, 1.8) and eligibility (spec 8) ------------ */

static const char *organ_of(const ht_rs_lesion *l)
{
    return (l->nodal || l->lymph_node) ? "lymph node" : (l->site ? l->site : "");
}

static int measurable(const ctx *c, int k, int32_t slice)
{
    const ht_rs_assessment *a = ht_rs__at(c, k, 0);
    if (!a)
        return 0;
    if (ht_rs__lesion(c, k)->nodal)
        return a->short_axis != HT_NO_VALUE && a->short_axis >= 150;
    int32_t min = slice != HT_NO_VALUE && slice > 50 ? 2 * slice : 100;
    return a->long_axis != HT_NO_VALUE && a->long_axis >= min;
}

void ht_rs__baseline_warnings(ctx *c)
{
    const ht_rs_timepoint *bl = &c->s->timepoints[c->order[0]];
    int targets = 0;
    for (int pos = 0; pos < c->n; pos++) {
        const ht_rs_timepoint *tp = &c->s->timepoints[c->order[pos]];
        if (tp->slice_thickness_mm10 != HT_NO_VALUE && tp->slice_thickness_mm10 > 50)
            ht_rs__warn(c, "W-SLICE", -1, pos, "slice thickness %.1f mm at %s is above 5 mm",
                        tp->slice_thickness_mm10 / 10.0, tp->label);
    }
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_lesion *l = ht_rs__lesion(c, k);
        if (l->role != HT_ROLE_TARGET)
            continue;
        targets++;
        int same_organ = 0;
        for (int m = 0; m <= k; m++)
            if (ht_rs__lesion(c, m)->role == HT_ROLE_TARGET &&
                strcasecmp(organ_of(ht_rs__lesion(c, m)), organ_of(l)) == 0)
                same_organ++;
        if (same_organ == 3)
            ht_rs__warn(c, "R-SEL-2", k, 0, "more than 2 targets in one organ (%s)", organ_of(l));
        if (!measurable(c, k, bl->slice_thickness_mm10))
            ht_rs__warn(c, l->nodal ? "R-MEAS-2" : "R-MEAS-1", k, 0,
                        l->nodal
                            ? "nodal target %s under 15 mm short axis at baseline"
                            : "non-nodal target %s under 10 mm (or twice the slice thickness) at "
                              "baseline",
                        l->label);
        const ht_rs_assessment *a = ht_rs__at(c, k, 0);
        if (c->crit == HT_MRECIST && l->liver && !l->nodal && a && a->viable_axis != HT_NO_VALUE &&
            a->viable_axis < 100)
            ht_rs__warn(c, "M-MEAS-1", k, 0,
                        "liver target %s has a viable axis under 10 mm at baseline", l->label);
    }
    if (targets > 5)
        ht_rs__warn(c, "R-SEL-1", -1, 0, "%d targets: RECIST allows at most 5", targets);
    /* A lesion measured in another phase than at baseline. */
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_assessment *b = ht_rs__at(c, k, 0);
        for (int pos = 1; b && b->phase && pos < c->n; pos++) {
            const ht_rs_assessment *a = ht_rs__at(c, k, pos);
            if (a && a->phase && strcasecmp(a->phase, b->phase) != 0)
                ht_rs__warn(c, "W-PHASE", k, pos,
                            "%s measured in the %s phase, at baseline in the %s phase",
                            ht_rs__lesion(c, k)->label, a->phase, b->phase);
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

void ht_rs__eligibility(ctx *c)
{
    ht_rs_result *o = c->out;
    const ht_rs_timepoint *bl = &c->s->timepoints[c->order[0]];
    int liver = 0, too_big = 0, measurable_targets = 0, unsized = 0;
    char outside[120] = "", big[120] = "";
    int32_t largest = HT_NO_VALUE;

    o->eligible = 1;
    for (int k = 0; k < c->s->nlesions; k++) {
        const ht_rs_lesion *l = ht_rs__lesion(c, k);
        const ht_rs_assessment *a = ht_rs__at(c, k, 0);
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
        int32_t la = a ? ht_rs__long_axis_of(a) : HT_NO_VALUE;
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
