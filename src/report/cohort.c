/* The cohort's endpoints (spec 9, 13.3): per subject BOR, PFS and OS; ORR, DCR; KM medians. */
#define _GNU_SOURCE
#include "report_internal.h"
#include "stats.h"

#include "hepatrack/util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cohort {
    ht_store *store;
    ht_criterion criterion;
    ht_rs_params params;
    int32_t interval;
    json_t *subjects;
    int n, orr, dcr, any_death;
    ht_stats_obs *pfs, *os;
    size_t cap;
    int err;
    int include_drafts, unsigned_left_out; /* time points left out as unsigned */
    int series;                            /* 1: each row also carries what the pictures draw */
} cohort;

static json_t *days_or_null(int32_t day, int32_t start)
{
    return day == HT_NO_VALUE ? json_null() : json_integer(day - start);
}

/* Spider values (spec 9): the change from baseline at each follow-up with a complete sum,
 * against weeks from baseline, after the baseline itself at 0 %. */
static json_t *spider(const ht_rs_subject *s, const ht_rs_result *res)
{
    json_t *points = json_array();
    for (int p = 0; p < res->ntimepoints; p++) {
        const ht_rs_tp_result *t = &res->timepoints[p];
        if (p > 0 && !(t->change_from_baseline_pct10.has && t->sum_complete))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "label", json_string(s->timepoints[t->index].label));
        json_object_set_new(o, "weeks", json_real(t->days_from_baseline / 7.0));
        json_object_set_new(o, "change_from_baseline_pct",
                            p == 0 ? json_real(0.0) : ht_report__mm(t->change_from_baseline_pct10));
        json_object_set_new(o, "overall", p == 0 ? json_null() : ht_report__response(t->r.overall));
        json_array_append_new(points, o);
    }
    return points;
}

/* The swimmer's lane: time on study, the onset of each CR or PR run, progression, death and
 * whether the subject is still followed (no death, no progression), in days from `start`. */
static void swimmer(const ht_rs_subject *s,
                    const ht_rs_result *res,
                    const ht_ledger_dates *dates,
                    int32_t start,
                    json_t *row)
{
    json_t *onsets = json_array();
    int32_t last = s->timepoints[res->timepoints[0].index].day;
    ht_response before = HT_RESP_NULL;
    for (int p = 1; p < res->ntimepoints; p++) {
        const ht_rs_timepoint *tp = &s->timepoints[res->timepoints[p].index];
        ht_response r = res->timepoints[p].r.overall;
        last = tp->day > last ? tp->day : last;
        if ((r == HT_RESP_CR || r == HT_RESP_PR) && r != before)
            json_array_append_new(
                onsets, json_pack("{s:s, s:I, s:s}", "response", ht_response_name(r), "days",
                                  (json_int_t)(tp->day - start), "label", tp->label));
        before = r;
    }
    if (dates->last_known_alive != HT_NO_VALUE && dates->last_known_alive > last)
        last = dates->last_known_alive;
    if (dates->death_date != HT_NO_VALUE && dates->death_date > last)
        last = dates->death_date;
    int32_t progression = res->bor.progression_tp >= 0
                              ? s->timepoints[res->timepoints[res->bor.progression_tp].index].day
                              : HT_NO_VALUE;
    json_object_set_new(row, "on_study_days", json_integer(last > start ? last - start : 0));
    json_object_set_new(row, "onsets", onsets);
    json_object_set_new(row, "progression_days", days_or_null(progression, start));
    json_object_set_new(row, "death_days", days_or_null(dates->death_date, start));
    json_object_set_new(
        row, "ongoing",
        json_boolean(dates->death_date == HT_NO_VALUE && progression == HT_NO_VALUE));
    json_object_set_new(row, "spider", spider(s, res));
}

static int add_subject(void *payload, ht_ledger_subject *ls)
{
    cohort *c = payload;
    const char *subject_id = ht_ledger_subject_id(ls);
    ht_rs_result res;
    int err;

    memset(&res, 0, sizeof(res));
    if (!c->include_drafts) {
        int left_out = ht_ledger_keep_signed(ls);
        if (left_out < 0) {
            ht_ledger_subject_free(ls);
            return c->err = left_out;
        }
        c->unsigned_left_out += left_out;
    }
    const ht_rs_subject *s = ht_ledger_engine_input(ls);
    int has_baseline = 0;
    for (int i = 0; i < s->ntimepoints; i++)
        has_baseline |= s->timepoints[i].baseline;
    if (!has_baseline) { /* not in the denominator (spec 9: subjects with a baseline) */
        ht_ledger_subject_free(ls);
        return 0;
    }
    if ((err = ht_response_evaluate(s, c->criterion, &c->params, &res)) < 0) {
        ht_ledger_subject_free(ls);
        return c->err = err;
    }
    size_t cap_pfs = c->cap, needed = (size_t)c->n + 1;
    if (HT_GROW(c->pfs, cap_pfs, needed) < 0 || HT_GROW(c->os, c->cap, needed) < 0) {
        ht_response_result_free(&res);
        ht_ledger_subject_free(ls);
        return c->err = ht_error_set(HT_ENOMEM, "out of memory building the cohort");
    }
    ht_ledger_dates dates = ht_ledger_subject_dates(ls);
    ht_report_survival sv;
    ht_report_survival_of(ls, &res, c->interval, &sv);
    int32_t start = sv.start;
    ht_response bor = res.bor.bor;
    json_t *row = json_object();
    json_object_set_new(row, "subject", json_string(subject_id));
    json_object_set_new(row, "best_overall_response", ht_report__response(bor));
    json_object_set_new(row, "bor_confirmed",
                        res.bor.bor_confirmed < 0 ? json_null()
                                                  : json_boolean(res.bor.bor_confirmed));
    json_object_set_new(row, "best_change_from_baseline_pct",
                        ht_report__mm(res.best_change_from_baseline_pct10));
    char date[11];
    if (res.bor.progression_tp >= 0) {
        ht_date_format(s->timepoints[res.timepoints[res.bor.progression_tp].index].day, date);
        json_object_set_new(row, "progression_date", json_string(date));
    } else {
        json_object_set_new(row, "progression_date", json_null());
    }
    ht_date_format(start, date);
    json_object_set_new(row, "start_date", json_string(date)); /* day 0 of PFS and OS */
    json_object_set_new(row, "pfs_days", json_integer(sv.pfs_days));
    json_object_set_new(row, "pfs_censored", json_boolean(sv.pfs_censored));
    json_object_set_new(row, "pfs_censoring_rule",
                        json_string(ht_report_survival_rule(sv.pfs_end)));
    json_object_set_new(row, "os_days", json_integer(sv.os_days));
    json_object_set_new(row, "os_censored", json_boolean(sv.os_censored));
    json_object_set_new(row, "os_censoring_rule", json_string(ht_report_survival_rule(sv.os_end)));
    c->pfs[c->n] = (ht_stats_obs){sv.pfs_days, !sv.pfs_censored};
    c->os[c->n] = (ht_stats_obs){sv.os_days, !sv.os_censored};
    if (c->series)
        swimmer(s, &res, &dates, start, row);
    c->any_death |= dates.death_date != HT_NO_VALUE;
    c->orr += bor == HT_RESP_CR || bor == HT_RESP_PR;
    c->dcr +=
        bor == HT_RESP_CR || bor == HT_RESP_PR || bor == HT_RESP_SD || bor == HT_RESP_NON_CR_NON_PD;
    c->n++;
    json_array_append_new(c->subjects, row);
    ht_response_result_free(&res);
    ht_ledger_subject_free(ls);
    return 0;
}

static json_t *one_decimal(double v)
{
    double r = floor(v * 10 + 0.5) / 10;
    return json_real(r == 0 ? 0.0 : r);
}

static json_t *rate(int x, int n)
{
    json_t *o = json_object(), *ci = json_array();
    double lo, hi;
    json_object_set_new(o, "responders", json_integer(x));
    json_object_set_new(o, "rate_pct", n ? one_decimal(100.0 * x / n) : json_null());
    ht_stats_clopper_pearson(x, n, &lo, &hi);
    json_array_append_new(ci, n ? one_decimal(100 * lo) : json_null());
    json_array_append_new(ci, n ? one_decimal(100 * hi) : json_null());
    json_object_set_new(o, "ci95_pct", ci);
    return o;
}

static json_t *days(int has, double v)
{
    return has ? (v == floor(v) ? json_integer((json_int_t)v) : json_real(v)) : json_null();
}

static json_t *survival(ht_stats_obs *obs, int n)
{
    ht_stats_km km;
    ht_stats_kaplan_meier(obs, n, &km);
    json_t *o = json_object(), *ci = json_array();
    json_object_set_new(o, "events", json_integer(km.events));
    json_object_set_new(o, "censored", json_integer(km.censored));
    json_object_set_new(o, "median_days", days(km.has_median, km.median));
    json_array_append_new(ci, days(km.has_lower, km.lower));
    json_array_append_new(ci, days(km.has_upper, km.upper));
    json_object_set_new(o, "ci95_days", ci);
    json_object_set_new(o, "median_months",
                        km.has_median ? one_decimal(km.median / 30.4375) : json_null());
    return o;
}

/* The estimator's curve for drawing: the survival object with its steps, the censoring times
 * (the ticks) and every observation in time order (for the numbers at risk). */
static json_t *curve(ht_stats_obs *obs, int n)
{
    json_t *o = survival(obs, n), *steps = json_array(), *ticks = json_array(), *all = json_array();
    ht_stats_step *st = malloc(sizeof(*st) * (size_t)(n + 1));
    int k = st ? ht_stats_km_steps(obs, n, st) : 0;
    for (int i = 0; i < k; i++) {
        json_t *step = json_pack("{s:f, s:f, s:i, s:i}", "days", st[i].time, "survival", st[i].surv,
                                 "at_risk", st[i].at_risk, "events", st[i].events);
        /* the band, where there is one (none where the curve is 0 or 1: JSON has no NaN) */
        json_object_set_new(step, "lower",
                            isnan(st[i].lower) ? json_null() : json_real(st[i].lower));
        json_object_set_new(step, "upper",
                            isnan(st[i].upper) ? json_null() : json_real(st[i].upper));
        json_array_append_new(steps, step);
    }
    for (int i = 0; i < n; i++) {
        if (!obs[i].event)
            json_array_append_new(ticks, json_real(obs[i].time));
        json_array_append_new(all,
                              json_pack("{s:f, s:b}", "days", obs[i].time, "event", obs[i].event));
    }
    free(st);
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "censored_days", ticks);
    json_object_set_new(o, "observations", all);
    return o;
}

int ht_report_at_risk(const json_t *curve_json, double days)
{
    size_t i;
    json_t *obs;
    int n = 0;
    json_array_foreach(json_object_get(curve_json, "observations"), i, obs) n +=
        json_number_value(json_object_get(obs, "days")) >= days;
    return n;
}

static int by_subject(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "subject")),
                  json_string_value(json_object_get(*(json_t *const *)b, "subject")));
}

/* The ledger is read in creation order; people read cohorts by subject id. */
static void sort_by_subject(json_t *rows)
{
    size_t n = json_array_size(rows);
    json_t **items = malloc((n + 1) * sizeof(*items));
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(rows, i));
    qsort(items, n, sizeof(*items), by_subject);
    json_array_clear(rows);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rows, items[i]);
    free(items);
}

static int build(ht_store *store,
                 ht_criterion criterion,
                 const ht_report_options *options,
                 int series,
                 json_t **out)
{
    cohort c;
    int err;
    memset(&c, 0, sizeof(c));
    *out = NULL;
    c.series = series;
    c.store = store;
    c.criterion = criterion;
    c.subjects = json_array();
    c.include_drafts = options && options->include_drafts;
    if ((err = ht_report__params_of(store, options, &c.params, &c.interval)) < 0 ||
        (err = ht_ledger_each(store, add_subject, &c)) < 0 || (err = c.err) < 0) {
        json_decref(c.subjects);
        free(c.pfs);
        free(c.os);
        return err;
    }
    sort_by_subject(c.subjects);
    if (!c.any_death) { /* OS only where death dates exist */
        size_t i;
        json_t *row;
        json_array_foreach(c.subjects, i, row)
        {
            json_object_set_new(row, "os_days", json_null());
            json_object_set_new(row, "os_censored", json_null());
            json_object_set_new(row, "os_censoring_rule", json_null());
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "criteria", json_string(ht_criterion_name(criterion)));
    json_object_set_new(o, "parameters", ht_report__params(&c.params));
    json_object_set_new(o, "n", json_integer(c.n));
    json_object_set_new(o, "drafts_included", json_boolean(c.include_drafts));
    json_object_set_new(o, "unsigned_left_out", json_integer(c.unsigned_left_out));
    json_object_set_new(o, "subjects", c.subjects);
    json_object_set_new(o, "orr", rate(c.orr, c.n));
    json_object_set_new(o, "dcr", rate(c.dcr, c.n));
    json_object_set_new(o, "pfs", c.n ? survival(c.pfs, c.n) : json_null());
    json_object_set_new(o, "os", c.n && c.any_death ? survival(c.os, c.n) : json_null());
    if (series) {
        json_object_set_new(o, "pfs_curve", c.n ? curve(c.pfs, c.n) : json_null());
        json_object_set_new(o, "os_curve", c.n && c.any_death ? curve(c.os, c.n) : json_null());
    }
    free(c.pfs);
    free(c.os);
    *out = o;
    return HT_OK;
}

/* The cohorts last computed, by criterion, options and the ledger's stamp: coordinators and the
 * station ask for the same cohort again and again, and it changes only when the ledger does.
 * One computation at a time (a second asker waits and gets the first one's), so fifty clients
 * asking at once cost one computation, not fifty. */
#define CACHED 6
static struct {
    pthread_mutex_t lock;
    struct {
        char key[1100];
        int64_t stamp;
        json_t *cohort;
        char *text; /* as the HTTP API sends it */
    } entries[CACHED];
    unsigned next;
} cache = {PTHREAD_MUTEX_INITIALIZER, {{"", 0, NULL, NULL}}, 0};

/* The cohort's entry in the cache (*entry), computed into it when missing; with cache.lock
 * held. */
static int
cached(ht_store *store, ht_criterion criterion, const ht_report_options *options, unsigned *entry)
{
    char key[1100], where[1024];
    int64_t stamp;
    int err = ht_store_ledger_stamp(store, &stamp, where, sizeof(where));
    if (err < 0)
        return err;
    snprintf(key, sizeof(key), "%d/%d/%d %s", (int)criterion,
             options ? options->confirmation_required : -1, options ? options->include_drafts : 0,
             where);
    for (unsigned i = 0; i < CACHED; i++)
        if (cache.entries[i].cohort && cache.entries[i].stamp == stamp &&
            !strcmp(cache.entries[i].key, key)) {
            *entry = i;
            return HT_OK;
        }
    json_t *built = NULL;
    if ((err = build(store, criterion, options, 0, &built)) < 0)
        return err;
    char *text = json_dumps(built, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!text) {
        json_decref(built);
        return ht_error_set(HT_ENOMEM, "out of memory writing the cohort");
    }
    unsigned slot = cache.next++ % CACHED;
    json_decref(cache.entries[slot].cohort);
    free(cache.entries[slot].text);
    snprintf(cache.entries[slot].key, sizeof(cache.entries[slot].key), "%s", key);
    cache.entries[slot].stamp = stamp;
    cache.entries[slot].cohort = built;
    cache.entries[slot].text = text;
    *entry = slot;
    return HT_OK;
}

int ht_report_cohort(ht_store *store,
                     ht_criterion criterion,
                     const ht_report_options *options,
                     json_t **out)
{
    unsigned entry;
    pthread_mutex_lock(&cache.lock);
    int err = cached(store, criterion, options, &entry);
    if (err == HT_OK && !(*out = json_deep_copy(cache.entries[entry].cohort)))
        err = ht_error_set(HT_ENOMEM, "out of memory copying the cohort");
    pthread_mutex_unlock(&cache.lock);
    return err;
}

int ht_report_cohort_text(ht_store *store,
                          ht_criterion criterion,
                          const ht_report_options *options,
                          char **out)
{
    unsigned entry;
    pthread_mutex_lock(&cache.lock);
    int err = cached(store, criterion, options, &entry);
    if (err == HT_OK && !(*out = strdup(cache.entries[entry].text)))
        err = ht_error_set(HT_ENOMEM, "out of memory copying the cohort");
    pthread_mutex_unlock(&cache.lock);
    return err;
}

int ht_report_cohort_series(ht_store *store,
                            ht_criterion criterion,
                            const ht_report_options *options,
                            json_t **out)
{
    return build(store, criterion, options, 1, out);
}

char *ht_report_cohort_csv(const json_t *cohort_json)
{
    char *buf = NULL;
    size_t len = 0, i;
    json_t *row;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    json_array_foreach(json_object_get(cohort_json, "subjects"), i, row)
    {
        const char *key;
        json_t *v;
        int first = 1;
        if (i == 0) {
            json_object_foreach(row, key, v)
            {
                fprintf(f, "%s%s", first ? "" : ",", key);
                first = 0;
            }
            fputc('\n', f);
            first = 1;
        }
        json_object_foreach(row, key, v)
        {
            if (!first)
                fputc(',', f);
            first = 0;
            ht_report__cell(f, v);
        }
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

static void interval_text(FILE *f, const json_t *ci, const char *unit)
{
    json_t *a = json_array_get(ci, 0), *b = json_array_get(ci, 1);
    if (json_is_number(a))
        fprintf(f, "%g", json_number_value(a));
    else
        fputs("NR", f);
    fputs(" to ", f);
    if (json_is_number(b))
        fprintf(f, "%g", json_number_value(b));
    else
        fputs("NR", f);
    fputs(unit, f);
}

char *ht_report_cohort_table(const json_t *c)
{
    char *buf = NULL;
    size_t len = 0, i;
    json_t *row;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    char note[96];
    fprintf(f, "cohort, %s: %lld subjects; %s\n\n",
            json_string_value(json_object_get(c, "criteria")),
            (long long)json_integer_value(json_object_get(c, "n")),
            ht_report__reads_note(c, note, sizeof(note)));
    fprintf(f, "%-12s %-14s %10s %-12s %8s %-9s %s\n", "SUBJECT", "BOR", "BEST %", "PROGRESSION",
            "PFS d", "CENSORED", "RULE");
    json_array_foreach(json_object_get(c, "subjects"), i, row)
    {
        json_t *best = json_object_get(row, "best_change_from_baseline_pct");
        char b[16];
        if (json_is_number(best))
            snprintf(b, sizeof(b), "%+.1f", json_number_value(best));
        else
            snprintf(b, sizeof(b), "-");
        json_t *prog = json_object_get(row, "progression_date");
        fprintf(f, "%-12s %-14s %10s %-12s %8lld %-9s %s\n",
                json_string_value(json_object_get(row, "subject")),
                json_string_value(json_object_get(row, "best_overall_response")), b,
                json_is_string(prog) ? json_string_value(prog) : "-",
                (long long)json_integer_value(json_object_get(row, "pfs_days")),
                json_is_true(json_object_get(row, "pfs_censored")) ? "yes" : "no",
                json_string_value(json_object_get(row, "pfs_censoring_rule")));
    }
    static const char *const rates[] = {"orr", "dcr"};
    for (int k = 0; k < 2; k++) {
        json_t *r = json_object_get(c, rates[k]);
        json_t *pct = json_object_get(r, "rate_pct");
        fprintf(f, "\n%s: %lld responders, ", k ? "DCR" : "ORR",
                (long long)json_integer_value(json_object_get(r, "responders")));
        if (json_is_number(pct))
            fprintf(f, "%.1f %%, 95%% CI ", json_number_value(pct));
        else
            fputs("-, 95% CI ", f);
        interval_text(f, json_object_get(r, "ci95_pct"), " %");
    }
    static const char *const surv[] = {"pfs", "os"};
    for (int k = 0; k < 2; k++) {
        json_t *s = json_object_get(c, surv[k]);
        if (!json_is_object(s))
            continue;
        json_t *m = json_object_get(s, "median_days");
        fprintf(f, "\n%s: %lld events, %lld censored, median ", k ? "OS" : "PFS",
                (long long)json_integer_value(json_object_get(s, "events")),
                (long long)json_integer_value(json_object_get(s, "censored")));
        if (json_is_number(m))
            fprintf(f, "%g days (%.1f months)", json_number_value(m),
                    json_number_value(json_object_get(s, "median_months")));
        else
            fputs("not reached", f);
        fputs(", 95% CI ", f);
        interval_text(f, json_object_get(s, "ci95_days"), " days");
    }
    fputc('\n', f);
    fclose(f);
    return buf;
}
