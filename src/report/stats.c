/*
 * Cohort statistics for display (spec 9): exact Clopper-Pearson intervals and Kaplan-Meier
 * estimates with Greenwood variance, the median and its Brookmeyer-Crowley interval on the
 * log(-log) scale (R: survfit(..., conf.type = "log-log")). Floating point is fine here: these
 * figures describe the cohort and decide nothing.
 */
#include "report_internal.h"
#include "stats.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* Continued fraction for the incomplete beta function (Lentz's method). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

/* The p-quantile of Beta(a, b), by bisection (I_x is monotone in x). */
static double beta_quantile(double p, double a, double b)
{
    double lo = 0, hi = 1;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (beta_inc(a, b, mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

void ht_stats_clopper_pearson(int x, int n, double *lower, double *upper)
{
    if (n <= 0) {
        *lower = *upper = NAN;
        return;
    }
    *lower = x == 0 ? 0.0 : beta_quantile(0.025, x, n - x + 1);
    *upper = x == n ? 1.0 : beta_quantile(0.975, x + 1, n - x);
}

static int by_time(const void *a, const void *b)
{
    const ht_stats_obs *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return y->event - x->event; /* events before censorings at the same time */
}

/* The first step at which the value field(step) falls to 0.5 or below, with R's rule that a
 * curve resting exactly at 0.5 gives the midpoint to the next drop. */
static int first_at_half(const ht_stats_step *steps, int n, size_t field, double *out)
{
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&steps[i] + field);
        if (fabs(v - 0.5) < 1e-10) {
            *out = i + 1 < n ? (steps[i].time + steps[i + 1].time) / 2 : steps[i].time;
            return 1;
        }
        if (v < 0.5) {
            *out = steps[i].time;
            return 1;
        }
    }
    return 0;
}

int ht_stats_km_steps(ht_stats_obs *obs, int n, ht_stats_step *steps)
{
    int k = 0;
    double s = 1, greenwood = 0;
    qsort(obs, (size_t)n, sizeof(*obs), by_time);
    for (int i = 0; i < n;) {
        double t = obs[i].time;
        int at_risk = n - i, d = 0, j = i;
        while (j < n && obs[j].time == t) {
            d += obs[j].event;
            j++;
        }
        if (d > 0) {
            s *= 1.0 - (double)d / at_risk;
            if (at_risk > d)
                greenwood += (double)d / ((double)at_risk * (at_risk - d));
            ht_stats_step *st = &steps[k++];
            st->time = t;
            st->surv = s;
            st->at_risk = at_risk;
            st->events = d;
            if (s > 0 && s < 1) {
                double se = sqrt(greenwood) / fabs(log(s)); /* of log(-log S) */
                st->lower = pow(s, exp(1.959963984540054 * se));
                st->upper = pow(s, exp(-1.959963984540054 * se));
            } else { /* no band where the curve is 0 (R gives NA there) */
                st->lower = st->upper = NAN;
            }
        }
        i = j;
    }
    return k;
}

void ht_stats_kaplan_meier(ht_stats_obs *obs, int n, ht_stats_km *out)
{
    ht_stats_step *steps = malloc(sizeof(*steps) * (size_t)(n + 1));
    out->events = out->censored = 0;
    out->has_median = out->has_lower = out->has_upper = 0;
    if (!steps)
        return;
    int k = ht_stats_km_steps(obs, n, steps);
    for (int i = 0; i < n; i++) {
        if (obs[i].event)
            out->events++;
        else
            out->censored++;
    }
    out->has_median = first_at_half(steps, k, offsetof(ht_stats_step, surv), &out->median);
    /* The interval runs from where the lower band reaches one half to where the upper does. */
    out->has_lower = first_at_half(steps, k, offsetof(ht_stats_step, lower), &out->lower);
    out->has_upper = first_at_half(steps, k, offsetof(ht_stats_step, upper), &out->upper);
    free(steps);
}
