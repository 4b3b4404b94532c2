/*
 * Unit tests of the response engine, one or more per rule of ../shared/spec/response-criteria.md,
 * named after the rule (section number or ambiguity id). Subjects are built in code with a
 * small builder; lengths are in mm here and stored as tenths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/ledger.h"
#include "hepatrack/response.h"
#include "hepatrack/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct builder {
    ht_rs_timepoint tp[24];
    ht_rs_lesion les[24];
    ht_rs_assessment as[256];
    int32_t frags[32];
    int ntp, nl, na, nf;
    ht_rs_subject s;
    ht_rs_params p;
    ht_rs_result r;
} builder;

static builder *new_subject(void)
{
    static const ht_rs_params defaults = HT_RS_PARAMS_INIT;
    builder *b = calloc(1, sizeof(*b));
    b->p = defaults;
    return b;
}

/* A time point `days` after 2024-01-01; the first one made is the baseline. */
static int tp(builder *b, const char *label, int days)
{
    int32_t base;
    ht_date_parse("2024-01-01", &base);
    ht_rs_timepoint *t = &b->tp[b->ntp];
    t->label = label;
    t->day = base + days;
    t->baseline = b->ntp == 0;
    t->imaging_performed = 1;
    t->liver_volume_ml10 = HT_NO_VALUE;
    t->slice_thickness_mm10 = HT_NO_VALUE;
    return b->ntp++;
}

static int lesion(builder *b, const char *label, ht_role role, const char *site, int nodal)
{
    ht_rs_lesion *l = &b->les[b->nl];
    l->label = label;
    l->role = role;
    l->site = site;
    l->nodal = nodal;
    l->liver = !strcasecmp(site, "liver");
    l->lymph_node = !strcasecmp(site, "lymph node");
    return b->nl++;
}

static int target(builder *b, const char *label, const char *site)
{
    return lesion(b, label, HT_ROLE_TARGET, site, 0);
}

static ht_rs_assessment *record(builder *b, int l, int t, ht_state st)
{
    ht_rs_assessment *a = &b->as[b->na++];
    a->lesion = l;
    a->timepoint = t;
    a->state = st;
    a->long_axis = a->short_axis = a->perpendicular = a->craniocaudal = a->viable_axis =
        a->mean_hu = HT_NO_VALUE;
    a->merged_into = -1;
    return a;
}

/* A measured target: its long axis (or short axis for a node), in mm. */
static ht_rs_assessment *mm(builder *b, int l, int t, double value)
{
    ht_rs_assessment *a = record(b, l, t, HT_STATE_MEASURED);
    int32_t tenths = (int32_t)lround(value * 10);
    if (b->les[l].nodal)
        a->short_axis = tenths;
    else
        a->long_axis = tenths;
    return a;
}

static ht_rs_result *eval(builder *b, ht_criterion c)
{
    b->s.id = "T";
    b->s.timepoints = b->tp;
    b->s.ntimepoints = b->ntp;
    b->s.lesions = b->les;
    b->s.nlesions = b->nl;
    b->s.assessments = b->as;
    b->s.nassessments = b->na;
    ht_response_result_free(&b->r);
    assert_int_equal(ht_response_evaluate(&b->s, c, &b->p, &b->r), HT_OK);
    return &b->r;
}

static void done(builder *b)
{
    ht_response_result_free(&b->r);
    free(b);
}

static ht_response overall(const ht_rs_result *r, int pos)
{
    return r->timepoints[pos].r.overall;
}

static ht_response target_of(const ht_rs_result *r, int pos)
{
    return r->timepoints[pos].r.target;
}

static int has_warning(const ht_rs_result *r, const char *rule)
{
    for (int i = 0; i < r->nwarnings; i++)
        if (!strcmp(r->warnings[i].rule, rule))
            return 1;
    return 0;
}

/* One target: baseline `base` mm then follow-ups every 56 days with the given sizes. */
static builder *one_target(double base, int n, const double *sizes)
{
    builder *b = new_subject();
    static const char *const labels[] = {"BL", "F1", "F2", "F3", "F4", "F5", "F6", "F7"};
    int l = target(b, "T1", "liver");
    mm(b, l, tp(b, labels[0], 0), base);
    for (int i = 0; i < n; i++)
        mm(b, l, tp(b, labels[i + 1], 56 * (i + 1)), sizes[i]);
    return b;
}

/* ---- 0.4 arithmetic ------------------------------------------------------------------------ */

static void arithmetic_percent_rounds_half_away_from_zero(void **state)
{
    (void)state;
    ht_opt p = ht_response_pct10(1999, 2000); /* -0.05 % -> -0.1 */
    assert_true(p.has);
    assert_int_equal(p.v, -1);
    assert_int_equal(ht_response_pct10(2001, 2000).v, 1);
    assert_int_equal(ht_response_pct10(1751, 2500).v, -300); /* -29.96 shows as -30.0 */
    assert_int_equal(ht_response_pct10(2000, 2000).v, 0);    /* 0.0, never -0.0 */
    assert_int_equal(ht_response_pct10(1, 3000).v, -1000);   /* -99.97 -> -100.0 */
    assert_false(ht_response_pct10(5, 0).has);               /* A18: reference 0 is null */
}

static void arithmetic_pr_uses_exact_values_not_the_rounded_percent(void **state)
{
    (void)state;
    const double s[] = {175.1};
    builder *b = one_target(250.0, 1, s); /* -29.96 %, displayed -30.0 */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].change_from_baseline_pct10.v, -300);
    assert_int_equal(target_of(r, 1), HT_RESP_SD);
    done(b);
}

/* ---- 2.4 target response ------------------------------------------------------------------- */

static void recist_pr_at_exactly_minus_30_percent(void **state)
{
    (void)state;
    const double s[] = {35.0, 35.1};
    builder *b = one_target(50.0, 2, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_PR);
    assert_int_equal(target_of(r, 2), HT_RESP_SD); /* 35.1 vs baseline 50: -29.8 % is not PR */
    done(b);
}

static void recist_pr_reference_is_baseline_not_nadir_A1(void **state)
{
    (void)state;
    const double s[] = {30.0, 36.0}; /* from nadir 30: +20 % and +6 mm: PD (not PR vs nadir) */
    builder *b = one_target(100.0, 2, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_PR);
    assert_int_equal(target_of(r, 2), HT_RESP_PD);
    assert_int_equal(r->timepoints[2].nadir_mm10.v, 300);
    done(b);
}

static void recist_pd_needs_the_5mm_absolute_increase(void **state)
{
    (void)state;
    const double s[] = {10.0, 14.9, 15.0}; /* +49 %, +4.9 mm: not PD; then +5.0 mm: PD */
    builder *b = one_target(10.0, 3, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 2), HT_RESP_SD);
    assert_int_equal(target_of(r, 3), HT_RESP_PD);
    done(b);
}

static void recist_pd_needs_the_20_percent_relative_increase(void **state)
{
    (void)state;
    const double s[] = {50.0, 59.9, 60.0}; /* +9.9 mm but +19.8 %: not PD; +20.0 %: PD */
    builder *b = one_target(50.0, 3, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 2), HT_RESP_SD);
    assert_int_equal(target_of(r, 3), HT_RESP_PD);
    done(b);
}

static void recist_nadir_includes_baseline_A2(void **state)
{
    (void)state;
    const double s[] = {60.0, 66.0}; /* never below baseline 50: nadir stays 50 */
    builder *b = one_target(50.0, 2, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].nadir_mm10.v, 500);
    assert_int_equal(target_of(r, 1), HT_RESP_PD); /* +20 %, +10 mm over the baseline */
    done(b);
}

static void recist_measured_small_value_is_used_as_measured_A3(void **state)
{
    (void)state;
    builder *b = new_subject();
    int l = target(b, "T1", "lung");
    mm(b, l, tp(b, "BL", 0), 12.0);
    mm(b, l, tp(b, "F1", 56), 3.0);
    record(b, l, tp(b, "F2", 112), HT_STATE_TOO_SMALL);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].sum_mm10.v, 30);
    assert_int_equal(r->timepoints[2].sum_mm10.v, 50); /* too small counts 5 mm */
    assert_int_equal(target_of(r, 1), HT_RESP_PR);
    done(b);
}

static void recist_incomplete_sum_is_never_a_nadir_A4(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "lung");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t1, bl, 40);
    mm(b, t2, bl, 20);
    mm(b, t1, f1, 10);
    record(b, t2, f1, HT_STATE_NOT_EVALUABLE);
    mm(b, t1, f2, 30);
    mm(b, t2, f2, 20);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_NE);
    assert_false(r->timepoints[1].sum_complete);
    assert_int_equal(r->timepoints[2].nadir_mm10.v, 600); /* the baseline, not the partial 10 */
    done(b);
}

static void recist_partial_sum_that_is_not_pd_is_ne_A5(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "lung");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, t1, bl, 40);
    mm(b, t2, bl, 20);
    mm(b, t1, f1, 5); /* -92 % on what is evaluable: still NE */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_NE);
    assert_true(has_warning(r, "W-MISSING"));
    done(b);
}

static void recist_partial_sum_can_be_pd(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "lung");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, t1, bl, 40);
    mm(b, t2, bl, 20);
    mm(b, t1, f1, 72); /* alone +12 mm and +20 % over the nadir 60 */
    record(b, t2, f1, HT_STATE_NOT_EVALUABLE);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_PD);
    assert_int_equal(overall(r, 1), HT_RESP_PD);
    done(b);
}

static void recist_cr_with_a_node_under_10mm(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), n1 = lesion(b, "N1", HT_ROLE_TARGET, "lymph node", 1);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t1, bl, 30);
    mm(b, n1, bl, 18);
    record(b, t1, f1, HT_STATE_ABSENT);
    mm(b, n1, f1, 9.9);
    record(b, t1, f2, HT_STATE_ABSENT);
    mm(b, n1, f2, 10.0); /* exactly 10 mm is not normal */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_CR);
    assert_int_equal(r->timepoints[1].sum_mm10.v, 99); /* CR with a non-zero sum */
    assert_int_equal(target_of(r, 2), HT_RESP_PR);
    done(b);
}

static void recist_target_response_is_not_sticky_A6(void **state)
{
    (void)state;
    const double s[] = {30.0, 30.0, 35.5}; /* PR, PR (confirmed), then -29 %: SD */
    builder *b = one_target(50.0, 3, s);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 3), HT_RESP_SD);
    assert_int_equal(r->bor.bor, HT_RESP_PR);
    done(b);
}

static void recist_reappearance_after_cr_is_pd_A7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int l = target(b, "T1", "liver");
    mm(b, l, tp(b, "BL", 0), 22);
    record(b, l, tp(b, "F1", 56), HT_STATE_ABSENT);
    record(b, l, tp(b, "F2", 112), HT_STATE_TOO_SMALL);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 2), HT_RESP_PD); /* 5 mm over a nadir of 0: also the 5 mm rule */
    done(b);
}

static void recist_reappearance_after_pr_enters_the_sum_A7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "liver");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t1, bl, 40);
    mm(b, t2, bl, 10);
    mm(b, t1, f1, 30);
    record(b, t2, f1, HT_STATE_ABSENT); /* PR at F1 */
    mm(b, t1, f2, 28);
    mm(b, t2, f2, 4); /* back, but after PR: 32 vs nadir 30, not PD */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(overall(r, 1), HT_RESP_PR);
    assert_int_equal(target_of(r, 2), HT_RESP_PR);
    done(b);
}

static void recist_merged_target_counts_zero_1_4(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "liver");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t1, bl, 25);
    mm(b, t2, bl, 20);
    mm(b, t1, f1, 41);
    record(b, t2, f1, HT_STATE_MERGED)->merged_into = t1;
    record(b, t1, f2, HT_STATE_ABSENT);
    record(b, t2, f2, HT_STATE_MERGED)->merged_into = t1;
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].sum_mm10.v, 410);
    assert_int_equal(target_of(r, 2), HT_RESP_CR); /* merged into an absent mass: CR */
    done(b);
}

static void recist_split_lesion_sums_its_fragments_1_4(void **state)
{
    (void)state;
    builder *b = new_subject();
    int l = target(b, "T1", "liver");
    mm(b, l, tp(b, "BL", 0), 40);
    ht_rs_assessment *a = record(b, l, tp(b, "F1", 56), HT_STATE_MEASURED);
    b->frags[0] = 200;
    b->frags[1] = 140;
    a->fragments = b->frags;
    a->nfragments = 2;
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].sum_mm10.v, 340);
    done(b);
}

/* ---- 2.5 non-targets, 2.6 new lesions, 2.7 overall ----------------------------------------- */

static void nontarget_one_not_evaluated_gives_ne_A9(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver");
    int n1 = lesion(b, "NT1", HT_ROLE_NON_TARGET, "bone", 0);
    int n2 = lesion(b, "NT2", HT_ROLE_NON_TARGET, "lung", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, t, bl, 40);
    record(b, n1, bl, HT_STATE_PRESENT);
    record(b, n2, bl, HT_STATE_PRESENT);
    mm(b, t, f1, 36);
    record(b, n1, f1, HT_STATE_PRESENT);
    record(b, n2, f1, HT_STATE_NOT_EVALUATED);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[1].r.non_target, HT_RESP_NE);
    assert_int_equal(overall(r, 1), HT_RESP_SD); /* Table 1: SD with NT not PD */
    done(b);
}

static void overall_target_cr_with_nontarget_present_is_pr_2_7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver"), n = lesion(b, "NT1", HT_ROLE_NON_TARGET, "bone", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, t, bl, 40);
    record(b, n, bl, HT_STATE_PRESENT);
    record(b, t, f1, HT_STATE_ABSENT);
    record(b, n, f1, HT_STATE_PRESENT);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_CR);
    assert_int_equal(r->timepoints[1].r.non_target, HT_RESP_NON_CR_NON_PD);
    assert_int_equal(overall(r, 1), HT_RESP_PR);
    done(b);
}

static void nontarget_reappearance_after_cr_is_pd_A7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver"), n = lesion(b, "NT1", HT_ROLE_NON_TARGET, "bone", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t, bl, 40);
    record(b, n, bl, HT_STATE_PRESENT);
    record(b, t, f1, HT_STATE_ABSENT);
    record(b, n, f1, HT_STATE_ABSENT);
    record(b, t, f2, HT_STATE_ABSENT);
    record(b, n, f2, HT_STATE_PRESENT);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(overall(r, 1), HT_RESP_CR);
    assert_int_equal(r->timepoints[2].r.non_target, HT_RESP_PD);
    assert_int_equal(overall(r, 2), HT_RESP_PD);
    done(b);
}

static void new_unequivocal_lesion_is_pd_whatever_the_targets_2_7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver"), nl = lesion(b, "NL1", HT_ROLE_NEW, "lung", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, t, bl, 40);
    mm(b, t, f1, 20);
    record(b, nl, f1, HT_STATE_UNEQUIVOCAL);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_PR);
    assert_int_equal(r->timepoints[1].r.new_lesions, HT_NL_UNEQUIVOCAL);
    assert_int_equal(overall(r, 1), HT_RESP_PD);
    done(b);
}

static void equivocal_then_unequivocal_redates_pd_A14(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver"), nl = lesion(b, "NL1", HT_ROLE_NEW, "liver", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112), f3 = tp(b, "F3", 168);
    mm(b, t, bl, 40);
    mm(b, t, f1, 38);
    mm(b, t, f2, 38);
    record(b, nl, f2, HT_STATE_EQUIVOCAL);
    mm(b, t, f3, 38);
    record(b, nl, f3, HT_STATE_UNEQUIVOCAL);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->timepoints[2].r.overall_prospective, HT_RESP_SD);
    assert_int_equal(overall(r, 2), HT_RESP_PD);
    assert_int_equal(r->bor.progression_tp, 2);
    assert_int_equal(r->bor.bor, HT_RESP_SD); /* F1 at day 56 met the SD minimum */
    (void)f1;
    done(b);
}

static void equivocal_lesion_that_disappears_is_never_pd_2_8(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver"), nl = lesion(b, "NL1", HT_ROLE_NEW, "liver", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t, bl, 40);
    mm(b, t, f1, 38);
    record(b, nl, f1, HT_STATE_EQUIVOCAL);
    mm(b, t, f2, 38);
    record(b, nl, f2, HT_STATE_ABSENT);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(overall(r, 1), HT_RESP_SD);
    assert_int_equal(r->timepoints[2].r.new_lesions, HT_NL_NONE);
    assert_int_equal(r->bor.progression_tp, -1);
    done(b);
}

static void follow_up_without_imaging_is_ne_with_null_sums_2_3(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "liver");
    mm(b, t, tp(b, "BL", 0), 40);
    int f1 = tp(b, "F1", 56);
    b->tp[f1].imaging_performed = 0;
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_false(r->timepoints[1].sum_mm10.has);
    assert_false(r->timepoints[1].nadir_mm10.has);
    assert_int_equal(target_of(r, 1), HT_RESP_NE);
    assert_int_equal(r->timepoints[1].r.new_lesions, HT_NL_NULL);
    assert_int_equal(overall(r, 1), HT_RESP_NE);
    assert_false(r->timepoints[1].hepatic.present);
    done(b);
}

static void no_target_and_no_nontarget_is_na_and_bor_ne_2_1(void **state)
{
    (void)state;
    builder *b = new_subject();
    tp(b, "BL", 0);
    tp(b, "F1", 56);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(overall(r, 1), HT_RESP_NA);
    assert_int_equal(r->bor.bor, HT_RESP_NE);
    assert_true(has_warning(r, "R-NODISEASE"));
    done(b);
}

static void nontarget_only_subject_uses_table_2(void **state)
{
    (void)state;
    builder *b = new_subject();
    int n = lesion(b, "NT1", HT_ROLE_NON_TARGET, "peritoneum", 0);
    record(b, n, tp(b, "BL", 0), HT_STATE_PRESENT);
    record(b, n, tp(b, "F1", 41), HT_STATE_PRESENT);
    record(b, n, tp(b, "F2", 70), HT_STATE_ABSENT);
    record(b, n, tp(b, "F3", 98), HT_STATE_ABSENT);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(target_of(r, 1), HT_RESP_NA);
    assert_int_equal(overall(r, 1), HT_RESP_NON_CR_NON_PD);
    assert_int_equal(overall(r, 2), HT_RESP_CR);
    assert_int_equal(r->bor.bor, HT_RESP_CR); /* CR confirmed 28 days later */
    assert_int_equal(r->bor.confirming_tp, 3);
    done(b);
}

/* ---- 2.10 confirmation, 2.11 best overall response, 2.12 ----------------------------------- */

static builder *pr_pattern(const int *days, const double *sizes, int n)
{
    builder *b = new_subject();
    static const char *const labels[] = {"BL", "F1", "F2", "F3", "F4", "F5"};
    int l = target(b, "T1", "liver");
    mm(b, l, tp(b, "BL", 0), 50);
    for (int i = 0; i < n; i++) {
        int t = tp(b, labels[i + 1], days[i]);
        if (sizes[i] < 0)
            b->tp[t].imaging_performed = 0;
        else
            mm(b, l, t, sizes[i]);
    }
    return b;
}

static void confirmation_needs_28_days_2_10(void **state)
{
    (void)state;
    const int d27[] = {56, 83}, d28[] = {56, 84};
    const double s[] = {30, 30};
    builder *b = pr_pattern(d27, s, 2);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_SD); /* 27 days: unconfirmed */
    assert_int_equal(r->bor.bor_confirmed, -1);
    done(b);
    b = pr_pattern(d28, s, 2);
    r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PR);
    assert_int_equal(r->bor.bor_confirmed, 1);
    assert_int_equal(r->bor.bor_tp, 1);
    assert_int_equal(r->bor.confirming_tp, 2);
    done(b);
}

static void confirmation_across_a_missed_visit_A10(void **state)
{
    (void)state;
    const int days[] = {56, 84, 112};
    const double ne[] = {30, -1, 30}, sd[] = {30, 45, 30};
    builder *b = pr_pattern(days, ne, 3);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PR); /* PR-NE-PR */
    assert_int_equal(r->bor.confirming_tp, 3);
    done(b);
    b = pr_pattern(days, sd, 3);
    r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_SD); /* PR-SD-PR: the SD breaks the chain */
    done(b);
}

static void early_pr_neither_confirms_nor_breaks_A10(void **state)
{
    (void)state;
    const int days[] = {56, 70, 90};
    const double s[] = {30, 31, 32}; /* PR at 56, PR at 70 (14 d), PR at 90 (34 d): confirmed */
    builder *b = pr_pattern(days, s, 3);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PR);
    assert_int_equal(r->bor.confirming_tp, 3);
    done(b);
}

static void sd_minimum_is_42_days_from_baseline_A8(void **state)
{
    (void)state;
    const int d41[] = {41, 84}, d42[] = {42, 84};
    const double s[] = {45, 70};
    builder *b = pr_pattern(d41, s, 2);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PD);
    assert_int_equal(r->bor.bor_tp, 2);
    done(b);
    b = pr_pattern(d42, s, 2);
    r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_SD);
    assert_int_equal(r->bor.bor_tp, 1); /* A17: the first time point meeting the minimum */
    done(b);
}

static void without_confirmation_the_best_response_counts_2_11(void **state)
{
    (void)state;
    const int days[] = {56, 83};
    const double s[] = {30, 30};
    builder *b = pr_pattern(days, s, 2);
    b->p.confirmation_required = 0;
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PR);
    assert_int_equal(r->bor.bor_confirmed, 0);
    done(b);
}

static void time_points_after_progression_leave_the_bor_2_9(void **state)
{
    (void)state;
    const int days[] = {56, 112, 168, 224};
    const double s[] = {45, 70, 30, 30}; /* PD at F2; later PRs do not count */
    builder *b = pr_pattern(days, s, 4);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_SD);
    assert_int_equal(r->bor.progression_tp, 2);
    done(b);
}

static void duration_of_response_and_best_change_2_12(void **state)
{
    (void)state;
    const int days[] = {56, 112, 168};
    const double s[] = {30, 28, 40}; /* PR 56, PR 112 (confirmed), PD at 168 vs nadir 28 */
    builder *b = pr_pattern(days, s, 3);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(r->bor.bor, HT_RESP_PR);
    assert_int_equal(r->bor.progression_tp, 3);
    assert_int_equal(r->duration_of_response_days.v, 112);
    assert_false(r->duration_of_response_censored);
    assert_int_equal(r->best_change_from_baseline_pct10.v, -440);
    done(b);
    const double t[] = {30, 28, 29};
    b = pr_pattern(days, t, 3);
    r = eval(b, HT_RECIST11);
    assert_int_equal(r->duration_of_response_days.v, 112); /* censored at the last assessment */
    assert_true(r->duration_of_response_censored);
    done(b);
}

/* ---- 3 mRECIST ----------------------------------------------------------------------------- */

static void mrecist_has_no_5mm_rule_A11(void **state)
{
    (void)state;
    const double s[] = {10, 12}; /* +20 % over the nadir 10, +2 mm */
    builder *b = one_target(10, 2, s);
    assert_int_equal(target_of(eval(b, HT_RECIST11), 2), HT_RESP_SD);
    assert_int_equal(target_of(eval(b, HT_MRECIST), 2), HT_RESP_PD);
    done(b);
}

static void mrecist_reads_the_viable_axis_and_zero_is_cr_3_1(void **state)
{
    (void)state;
    builder *b = new_subject();
    int l = target(b, "T1", "liver");
    ht_rs_assessment *a = mm(b, l, tp(b, "BL", 0), 40);
    a->viable_axis = 300;
    a = mm(b, l, tp(b, "F1", 56), 40);
    a->viable_axis = 0; /* visible, nothing enhances */
    ht_rs_result *r = eval(b, HT_MRECIST);
    assert_int_equal(r->timepoints[0].sum_mm10.v, 300);
    assert_int_equal(target_of(r, 1), HT_RESP_CR);
    assert_int_equal(target_of(eval(b, HT_RECIST11), 1), HT_RESP_SD);
    done(b);
}

static void mrecist_falls_back_to_the_long_axis_3_7(void **state)
{
    (void)state;
    const double s[] = {20};
    builder *b = one_target(40, 1, s);
    ht_rs_result *r = eval(b, HT_MRECIST);
    assert_int_equal(r->timepoints[1].sum_mm10.v, 200);
    assert_true(has_warning(r, "M-FALLBACK-1"));
    done(b);
}

static void mrecist_new_liver_lesion_under_10mm_is_equivocal_3_5(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t = target(b, "T1", "lung"), nl = lesion(b, "NL1", HT_ROLE_NEW, "liver", 0);
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56), f2 = tp(b, "F2", 112);
    mm(b, t, bl, 40);
    mm(b, t, f1, 40);
    record(b, nl, f1, HT_STATE_UNEQUIVOCAL)->long_axis = 80;
    mm(b, t, f2, 40);
    record(b, nl, f2, HT_STATE_UNEQUIVOCAL)->long_axis = 120;
    ht_rs_result *r = eval(b, HT_MRECIST);
    assert_int_equal(r->timepoints[1].r.new_lesions, HT_NL_EQUIVOCAL);
    assert_true(has_warning(r, "M-NEW-1"));
    assert_int_equal(overall(r, 1), HT_RESP_PD); /* re-dated once it grew to 12 mm */
    assert_int_equal(r->timepoints[1].r.overall_prospective, HT_RESP_SD);
    assert_int_equal(overall(eval(b, HT_RECIST11), 1), HT_RESP_PD); /* RECIST: PD at once */
    done(b);
}

/* ---- 4 Choi -------------------------------------------------------------------------------- */

static builder *choi_subject(double size, double hu)
{
    builder *b = new_subject();
    int l = target(b, "T1", "liver");
    ht_rs_assessment *a = mm(b, l, tp(b, "BL", 0), 50);
    a->mean_hu = 800;
    a = mm(b, l, tp(b, "F1", 56), size);
    a->mean_hu = (int32_t)lround(hu * 10);
    return b;
}

static void choi_size_pr_at_10_percent_4_3(void **state)
{
    (void)state;
    builder *b = choi_subject(45, 80);
    assert_int_equal(target_of(eval(b, HT_CHOI), 1), HT_RESP_PR);
    done(b);
    b = choi_subject(45.1, 80);
    assert_int_equal(target_of(eval(b, HT_CHOI), 1), HT_RESP_SD);
    done(b);
}

static void choi_density_pr_at_15_percent_4_2(void **state)
{
    (void)state;
    builder *b = choi_subject(50, 68); /* 80 -> 68 HU: exactly -15 % */
    ht_rs_result *r = eval(b, HT_CHOI);
    assert_int_equal(target_of(r, 1), HT_RESP_PR);
    assert_int_equal(r->timepoints[1].density_pr, 1);
    assert_int_equal(r->timepoints[1].mean_hu10.v, 680);
    assert_int_equal(r->timepoints[1].change_in_hu_pct10.v, -150);
    done(b);
    b = choi_subject(50, 68.1);
    assert_int_equal(target_of(eval(b, HT_CHOI), 1), HT_RESP_SD);
    done(b);
}

static void choi_pd_at_10_percent_growth_unless_density_falls_A21(void **state)
{
    (void)state;
    builder *b = choi_subject(55, 80); /* +10 % over the nadir (baseline 50), no 5 mm minimum */
    assert_int_equal(target_of(eval(b, HT_CHOI), 1), HT_RESP_PD);
    done(b);
    b = choi_subject(55, 60); /* bigger, but far less dense: density PR, not PD */
    assert_int_equal(target_of(eval(b, HT_CHOI), 1), HT_RESP_PR);
    done(b);
}

static void choi_without_paired_density_warns_4_2(void **state)
{
    (void)state;
    const double s[] = {48};
    builder *b = one_target(50, 1, s);
    ht_rs_result *r = eval(b, HT_CHOI);
    assert_true(has_warning(r, "C-HU-1"));
    assert_int_equal(r->timepoints[1].density_pr, -1);
    assert_int_equal(target_of(r, 1), HT_RESP_SD);
    done(b);
}

/* ---- 7 hepatic tumour load ----------------------------------------------------------------- */

static void hepatic_load_counts_sums_tbs_and_volume_7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "liver");
    int lung = target(b, "T3", "lung");
    int nt = lesion(b, "NT1", HT_ROLE_NON_TARGET, "liver", 0);
    b->les[t1].segment = "segment VII";
    b->les[t2].segment = "IVa";
    int bl = tp(b, "BL", 0);
    b->tp[bl].liver_volume_ml10 = 15000; /* 1500 mL */
    ht_rs_assessment *a = mm(b, t1, bl, 40);
    a->perpendicular = 300;
    a->craniocaudal = 200;
    a = mm(b, t2, bl, 12);
    a->perpendicular = 100; /* no craniocaudal axis: c = b (A13) */
    mm(b, lung, bl, 20);
    record(b, nt, bl, HT_STATE_PRESENT); /* visible, no size: sum incomplete */
    ht_rs_result *r = eval(b, HT_RECIST11);
    const ht_rs_hepatic *h = &r->timepoints[0].hepatic;
    assert_int_equal(h->lesion_count, 3);
    assert_int_equal(h->sum_mm10, 520);
    assert_false(h->sum_complete);
    assert_int_equal(h->largest_mm10.v, 400);
    /* sqrt(4.0^2 + 3^2) = 5 */
    assert_true(fabs(h->tumour_burden_score - 5.0) < 1e-9);
    /* pi/6 (40*30*20 + 12*10*10) mm^3 = 12566.4 + 628.3 = 13194.7 mm^3 = 13.19 mL */
    assert_true(fabs(h->volume_ml - M_PI / 6 * (40 * 30 * 20 + 12 * 10 * 10) / 1000) < 1e-9);
    assert_false(h->volume_complete); /* the non-target has no axes */
    assert_true(h->has_replacement);
    assert_true(fabs(h->replacement_pct - 100 * h->volume_ml / 1500) < 1e-9);
    assert_int_equal(h->nsegments, 2);
    assert_string_equal(h->segments[0].name, "VII");
    assert_int_equal(h->segments[0].sum_mm10, 400);
    assert_string_equal(h->segments[1].name, "IVa");
    done(b);
}

static void couinaud_segments_are_read_from_the_location_1_1(void **state)
{
    char out[16];
    (void)state;
    assert_true(ht_response_segment("segment IVa", out));
    assert_string_equal(out, "IVa");
    assert_true(ht_response_segment(" vii ", out));
    assert_string_equal(out, "VII");
    assert_true(ht_response_segment("VIII", out));
    assert_string_equal(out, "VIII");
    assert_false(ht_response_segment("IX", out));
    assert_false(ht_response_segment("dome", out));
    assert_false(ht_response_segment("IVc", out));
    assert_false(ht_response_segment(NULL, out));
}

static void intrahepatic_and_extrahepatic_responses_7(void **state)
{
    (void)state;
    builder *b = new_subject();
    int liver = target(b, "T1", "liver"), lung = target(b, "T2", "lung");
    int bl = tp(b, "BL", 0), f1 = tp(b, "F1", 56);
    mm(b, liver, bl, 50);
    mm(b, lung, bl, 10);
    mm(b, liver, f1, 20);
    mm(b, lung, f1, 16); /* +6 mm, +60 % */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(overall(r, 1), HT_RESP_PR); /* 36 vs 60: -40 % overall */
    assert_int_equal(r->timepoints[1].intrahepatic.overall, HT_RESP_PR);
    assert_int_equal(r->timepoints[1].extrahepatic.overall, HT_RESP_PD);
    assert_int_equal(r->extrahepatic.bor, HT_RESP_PD);
    done(b);
}

/* ---- 8 eligibility ------------------------------------------------------------------------- */

static ht_check_status check_of(const ht_rs_result *r, const char *rule)
{
    for (int i = 0; i < r->nchecks; i++)
        if (!strcmp(r->checks[i].rule, rule))
            return r->checks[i].status;
    fail_msg("no check %s", rule);
    return HT_CHECK_UNKNOWN;
}

static void eligibility_checks_8(void **state)
{
    (void)state;
    builder *b = new_subject();
    int bl = tp(b, "BL", 0);
    for (int i = 0; i < 5; i++) {
        static const char *const names[] = {"T1", "T2", "N1", "N2", "N3"};
        int l = i < 2 ? target(b, names[i], "liver")
                      : lesion(b, names[i], HT_ROLE_NON_TARGET, "liver", 0);
        if (i < 2)
            mm(b, l, bl, i == 0 ? 100.0 : 20.0);
        else
            record(b, l, bl, HT_STATE_PRESENT);
    }
    b->tp[bl].portal_vein = HT_PORTAL_BRANCH;
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_int_equal(check_of(r, "E-LIVER-COUNT"), HT_CHECK_PASS); /* 5 is allowed */
    assert_int_equal(check_of(r, "E-LIVER-SIZE"), HT_CHECK_PASS);  /* 100 mm is allowed */
    assert_int_equal(check_of(r, "E-EXTRAHEPATIC"), HT_CHECK_PASS);
    assert_int_equal(check_of(r, "E-PVTT"), HT_CHECK_PASS);
    assert_int_equal(check_of(r, "E-MEASURABLE"), HT_CHECK_PASS);
    assert_int_equal(check_of(r, "E-LIVER-PRESENT"), HT_CHECK_PASS);
    assert_true(r->eligible);

    b->as[0].long_axis = 1001; /* 100.1 mm */
    int extra = lesion(b, "N4", HT_ROLE_NON_TARGET, "liver", 0);
    record(b, extra, bl, HT_STATE_PRESENT);
    int lung = lesion(b, "L1", HT_ROLE_NON_TARGET, "lung", 0);
    record(b, lung, bl, HT_STATE_PRESENT);
    b->tp[bl].portal_vein = HT_PORTAL_MAIN;
    r = eval(b, HT_RECIST11);
    assert_int_equal(check_of(r, "E-LIVER-COUNT"), HT_CHECK_FAIL);
    assert_int_equal(check_of(r, "E-LIVER-SIZE"), HT_CHECK_FAIL);
    assert_int_equal(check_of(r, "E-EXTRAHEPATIC"), HT_CHECK_FAIL);
    assert_int_equal(check_of(r, "E-PVTT"), HT_CHECK_FAIL);
    assert_false(r->eligible);
    b->tp[bl].portal_vein = HT_PORTAL_UNKNOWN;
    assert_int_equal(check_of(eval(b, HT_RECIST11), "E-PVTT"), HT_CHECK_UNKNOWN);
    done(b);
}

/* ---- 2.1 selection and measurability warnings ---------------------------------------------- */

static void selection_and_measurability_warnings_2_1(void **state)
{
    (void)state;
    builder *b = new_subject();
    int bl = tp(b, "BL", 0);
    static const char *const names[] = {"T1", "T2", "T3", "T4", "T5", "T6"};
    for (int i = 0; i < 6; i++) /* 6 targets, 3 in the liver, one of them 8 mm */
        mm(b, target(b, names[i], i < 3 ? "liver" : (i == 3 ? "lung" : "bone")), bl,
           i == 0 ? 8 : 20);
    int n1 = lesion(b, "N1", HT_ROLE_TARGET, "lymph node", 1);
    mm(b, n1, bl, 12); /* node under 15 mm */
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_true(has_warning(r, "R-SEL-1"));
    assert_true(has_warning(r, "R-SEL-2"));
    assert_true(has_warning(r, "R-MEAS-1"));
    assert_true(has_warning(r, "R-MEAS-2"));
    done(b);
}

static void measurability_doubles_with_thick_slices_2_1(void **state)
{
    (void)state;
    builder *b = new_subject();
    int bl = tp(b, "BL", 0);
    b->tp[bl].slice_thickness_mm10 = 70; /* 7 mm slices: at least 14 mm */
    mm(b, target(b, "T1", "liver"), bl, 12);
    ht_rs_result *r = eval(b, HT_RECIST11);
    assert_true(has_warning(r, "R-MEAS-1"));
    assert_true(has_warning(r, "W-SLICE"));
    done(b);
}

/* ---- invariance ---------------------------------------------------------------------------- */

static void input_order_never_changes_a_result(void **state)
{
    (void)state;
    builder *b = new_subject();
    int t1 = target(b, "T1", "liver"), t2 = target(b, "T2", "lung");
    int nl = lesion(b, "NL1", HT_ROLE_NEW, "liver", 0);
    int d[] = {0, 56, 112, 168};
    const char *labels[] = {"BL", "F1", "F2", "F3"};
    int tps[4];
    for (int i = 0; i < 4; i++)
        tps[i] = tp(b, labels[i], d[i]);
    double s1[] = {40, 25, 24, 30}, s2[] = {20, 12, 12, 14};
    for (int i = 0; i < 4; i++) {
        mm(b, t1, tps[i], s1[i]);
        mm(b, t2, tps[i], s2[i]);
    }
    record(b, nl, tps[2], HT_STATE_EQUIVOCAL);
    record(b, nl, tps[3], HT_STATE_UNEQUIVOCAL);
    ht_rs_result *r = eval(b, HT_RECIST11);
    ht_rs_bor expected = r->bor;
    ht_response expected_or[4];
    for (int i = 0; i < 4; i++)
        expected_or[i] = overall(r, i);

    /* Reverse the time points, the lesions and the assessments. */
    builder *c = new_subject();
    for (int i = 3; i >= 0; i--)
        c->tp[3 - i] = b->tp[i];
    c->ntp = 4;
    for (int i = 2; i >= 0; i--)
        c->les[2 - i] = b->les[i];
    c->nl = 3;
    for (int i = b->na - 1; i >= 0; i--) {
        ht_rs_assessment a = b->as[i];
        a.timepoint = 3 - a.timepoint;
        a.lesion = 2 - a.lesion;
        c->as[c->na++] = a;
    }
    ht_rs_result *q = eval(c, HT_RECIST11);
    assert_int_equal(q->bor.bor, expected.bor);
    assert_int_equal(q->bor.bor_tp, expected.bor_tp);
    assert_int_equal(q->bor.confirming_tp, expected.confirming_tp);
    assert_int_equal(q->bor.progression_tp, expected.progression_tp);
    for (int i = 0; i < 4; i++)
        assert_int_equal(overall(q, i), expected_or[i]);
    assert_int_equal(expected.progression_tp, 2); /* re-dated to F2 */
    done(b);
    done(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arithmetic_percent_rounds_half_away_from_zero),
        cmocka_unit_test(arithmetic_pr_uses_exact_values_not_the_rounded_percent),
        cmocka_unit_test(recist_pr_at_exactly_minus_30_percent),
        cmocka_unit_test(recist_pr_reference_is_baseline_not_nadir_A1),
        cmocka_unit_test(recist_pd_needs_the_5mm_absolute_increase),
        cmocka_unit_test(recist_pd_needs_the_20_percent_relative_increase),
        cmocka_unit_test(recist_nadir_includes_baseline_A2),
        cmocka_unit_test(recist_measured_small_value_is_used_as_measured_A3),
        cmocka_unit_test(recist_incomplete_sum_is_never_a_nadir_A4),
        cmocka_unit_test(recist_partial_sum_that_is_not_pd_is_ne_A5),
        cmocka_unit_test(recist_partial_sum_can_be_pd),
        cmocka_unit_test(recist_cr_with_a_node_under_10mm),
        cmocka_unit_test(recist_target_response_is_not_sticky_A6),
        cmocka_unit_test(recist_reappearance_after_cr_is_pd_A7),
        cmocka_unit_test(recist_reappearance_after_pr_enters_the_sum_A7),
        cmocka_unit_test(recist_merged_target_counts_zero_1_4),
        cmocka_unit_test(recist_split_lesion_sums_its_fragments_1_4),
        cmocka_unit_test(nontarget_one_not_evaluated_gives_ne_A9),
        cmocka_unit_test(overall_target_cr_with_nontarget_present_is_pr_2_7),
        cmocka_unit_test(nontarget_reappearance_after_cr_is_pd_A7),
        cmocka_unit_test(new_unequivocal_lesion_is_pd_whatever_the_targets_2_7),
        cmocka_unit_test(equivocal_then_unequivocal_redates_pd_A14),
        cmocka_unit_test(equivocal_lesion_that_disappears_is_never_pd_2_8),
        cmocka_unit_test(follow_up_without_imaging_is_ne_with_null_sums_2_3),
        cmocka_unit_test(no_target_and_no_nontarget_is_na_and_bor_ne_2_1),
        cmocka_unit_test(nontarget_only_subject_uses_table_2),
        cmocka_unit_test(confirmation_needs_28_days_2_10),
        cmocka_unit_test(confirmation_across_a_missed_visit_A10),
        cmocka_unit_test(early_pr_neither_confirms_nor_breaks_A10),
        cmocka_unit_test(sd_minimum_is_42_days_from_baseline_A8),
        cmocka_unit_test(without_confirmation_the_best_response_counts_2_11),
        cmocka_unit_test(time_points_after_progression_leave_the_bor_2_9),
        cmocka_unit_test(duration_of_response_and_best_change_2_12),
        cmocka_unit_test(mrecist_has_no_5mm_rule_A11),
        cmocka_unit_test(mrecist_reads_the_viable_axis_and_zero_is_cr_3_1),
        cmocka_unit_test(mrecist_falls_back_to_the_long_axis_3_7),
        cmocka_unit_test(mrecist_new_liver_lesion_under_10mm_is_equivocal_3_5),
        cmocka_unit_test(choi_size_pr_at_10_percent_4_3),
        cmocka_unit_test(choi_density_pr_at_15_percent_4_2),
        cmocka_unit_test(choi_pd_at_10_percent_growth_unless_density_falls_A21),
        cmocka_unit_test(choi_without_paired_density_warns_4_2),
        cmocka_unit_test(hepatic_load_counts_sums_tbs_and_volume_7),
        cmocka_unit_test(couinaud_segments_are_read_from_the_location_1_1),
        cmocka_unit_test(intrahepatic_and_extrahepatic_responses_7),
        cmocka_unit_test(eligibility_checks_8),
        cmocka_unit_test(selection_and_measurability_warnings_2_1),
        cmocka_unit_test(measurability_doubles_with_thick_slices_2_1),
        cmocka_unit_test(input_order_never_changes_a_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
