/* Cohort statistics (display only): Clopper-Pearson and Kaplan-Meier. */
#ifndef HEPATRACK_REPORT_STATS_H
#define HEPATRACK_REPORT_STATS_H

/* Exact 95 % interval of a binomial proportion x/n, as fractions. */
void ht_stats_clopper_pearson(int x, int n, double *lower, double *upper);

typedef struct ht_stats_obs {
    double time;
    int event; /* 1 event, 0 censored */
} ht_stats_obs;

typedef struct ht_stats_km {
    int events, censored;
    int has_median, has_lower, has_upper;
    double median, lower, upper;
} ht_stats_km;

/* One step of a Kaplan-Meier curve: at `time` the curve falls to `surv` (its 95 % log(-log)
 * band lower..upper, NAN where the curve is 0 or 1), with `at_risk` subjects at risk just
 * before and `events` events at that time. */
typedef struct ht_stats_step {
    double time, surv, lower, upper;
    int at_risk, events;
} ht_stats_step;

/* The curve's steps, one per distinct event time, into steps (room for n). Sorts obs (events
 * before censorings at the same time). @return the number of steps. */
int ht_stats_km_steps(ht_stats_obs *obs, int n, ht_stats_step *steps);

/* Kaplan-Meier median and its 95 % log(-log) interval. Sorts obs. */
void ht_stats_kaplan_meier(ht_stats_obs *obs, int n, ht_stats_km *out);

#endif
