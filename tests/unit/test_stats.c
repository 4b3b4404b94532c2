/*
 * Cohort statistics against reference values computed once with R 4.2 (Debian r-base-core,
 * r-cran-survival): binom.test(x, n)$conf.int and
 * summary(survfit(Surv(t, e) ~ 1, conf.type = "log-log"))$table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stats.h"

#include <math.h>

static void clopper_pearson_matches_r_binom_test(void **state)
{
    static const struct {
        int x, n;
        double lo, hi;
    } ref[] = {{0, 10, 0.000000, 0.308497},  {3, 10, 0.066740, 0.652453},
               {14, 40, 0.206282, 0.516844}, {30, 40, 0.588038, 0.873085},
               {10, 10, 0.691503, 1.000000}, {1, 3, 0.008404, 0.905701}};
    (void)state;
    for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
        double lo, hi;
        ht_stats_clopper_pearson(ref[i].x, ref[i].n, &lo, &hi);
        assert_true(fabs(lo - ref[i].lo) < 1e-6);
        assert_true(fabs(hi - ref[i].hi) < 1e-6);
    }
}

static void km(const double *t, const int *e, int n, ht_stats_km *out)
{
    ht_stats_obs obs[32];
    for (int i = 0; i < n; i++) {
        obs[i].time = t[i];
        obs[i].event = e[i];
    }
    ht_stats_kaplan_meier(obs, n, out);
}

static void kaplan_meier_median_and_loglog_interval_match_r(void **state)
{
    static const double t[] = {35,  56,  56,  70,  84,  98,  112, 126, 140, 154,
                               168, 182, 196, 210, 224, 238, 252, 266, 280, 294};
    static const int e[] = {1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1};
    ht_stats_km r;
    (void)state;
    km(t, e, 20, &r);
    assert_int_equal(r.events, 16);
    assert_int_equal(r.censored, 4);
    assert_true(r.has_median && r.median == 182);
    assert_true(r.has_lower && r.lower == 98);
    assert_true(r.has_upper && r.upper == 238);
}

static void kaplan_meier_upper_limit_not_reached(void **state)
{
    static const double t[] = {56, 84, 112, 112, 140, 168, 196, 224, 252, 300};
    static const int e[] = {1, 1, 0, 1, 1, 0, 1, 1, 0, 1};
    ht_stats_km r;
    (void)state;
    km(t, e, 10, &r);
    assert_true(r.has_median && r.median == 196);
    assert_true(r.has_lower && r.lower == 56);
    assert_false(r.has_upper); /* R: NA */
}

static void kaplan_meier_curve_resting_at_half_takes_the_midpoint(void **state)
{
    static const double t2[] = {30, 60, 60, 90, 120, 150};
    static const int e2[] = {1, 1, 1, 0, 1, 0};
    static const double t3[] = {10, 20, 30, 40};
    static const int e3[] = {1, 1, 1, 1};
    ht_stats_km r;
    (void)state;
    km(t2, e2, 6, &r);
    assert_true(r.has_median && r.median == 90); /* S = 0.5 from 60 to the next event at 120 */
    assert_true(r.has_lower && r.lower == 30);
    assert_false(r.has_upper);
    km(t3, e3, 4, &r);
    assert_true(r.has_median && r.median == 25);
    assert_true(r.has_lower && r.lower == 10);
    assert_false(r.has_upper);
}

/* The steps the pictures draw: one per event time, with the numbers at risk (R's
 * summary(survfit(...))$surv and $n.risk). */
static void kaplan_meier_steps_match_r(void **state)
{
    static const double t[] = {35, 56, 56, 70, 84, 98};
    static const int e[] = {1, 1, 1, 0, 1, 0};
    ht_stats_obs obs[6];
    ht_stats_step steps[6];
    (void)state;
    for (int i = 0; i < 6; i++) {
        obs[i].time = t[5 - i]; /* given out of order: the function sorts */
        obs[i].event = e[5 - i];
    }
    assert_int_equal(ht_stats_km_steps(obs, 6, steps), 3);
    assert_true(steps[0].time == 35 && steps[0].at_risk == 6 && steps[0].events == 1);
    assert_true(fabs(steps[0].surv - 5.0 / 6) < 1e-12);
    assert_true(steps[1].time == 56 && steps[1].at_risk == 5 && steps[1].events == 2);
    assert_true(fabs(steps[1].surv - 5.0 / 6 * 3 / 5) < 1e-12);
    assert_true(steps[2].time == 84 && steps[2].at_risk == 2 && steps[2].events == 1);
    assert_true(fabs(steps[2].surv - 0.25) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clopper_pearson_matches_r_binom_test),
        cmocka_unit_test(kaplan_meier_median_and_loglog_interval_match_r),
        cmocka_unit_test(kaplan_meier_upper_limit_not_reached),
        cmocka_unit_test(kaplan_meier_steps_match_r),
        cmocka_unit_test(kaplan_meier_curve_resting_at_half_takes_the_midpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
