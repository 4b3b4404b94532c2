/*
 * hepatrack — reports: a subject's response timeline and the cohort's endpoints, as JSON
 * (spec 13.2, 13.3), CSV (13.4) and a table for people. Shared by the CLI and the HTTP API.
 *
 * Ownership: json_t results are new references (json_decref them); strings are malloc'ed
 * (ht_free).
 */
#ifndef HEPATRACK_REPORT_H
#define HEPATRACK_REPORT_H

#include <jansson.h>

#include "hepatrack/error.h"
#include "hepatrack/ledger.h"
#include "hepatrack/response.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Overrides of the stored trial parameters for one request (-1: keep the stored value). */
typedef struct ht_report_options {
    int confirmation_required; /* -1: the trial's parameter */
    int include_drafts;        /* 0: results from signed reads only; 1: drafts too, flagged */
} ht_report_options;

#define HT_REPORT_OPTIONS_INIT                                                                     \
    {                                                                                              \
        -1, 0                                                                                      \
    }

/**
 * The timeline of one subject under one criterion (spec 13.2).
 * @return HT_OK; HT_ENOTFOUND for an unknown subject; HT_EINVALID when its records cannot be
 *         evaluated (no baseline); HT_EDB, HT_ENOMEM.
 */
int ht_report_timeline(ht_store *store,
                       const char *subject_id,
                       ht_criterion criterion,
                       const ht_report_options *options,
                       json_t **out);

/** The timeline as CSV (spec 13.4), one row per time point. */
char *ht_report_timeline_csv(const json_t *timeline);

/** The timeline as a table for a terminal: a row per time point, the BOR and warnings under. */
char *ht_report_timeline_table(const json_t *timeline);

/**
 * The cohort's endpoints under one criterion (spec 9, 13.3): per subject BOR, best change,
 * PFS and OS; ORR and DCR with Clopper-Pearson intervals; Kaplan-Meier medians.
 */
int ht_report_cohort(ht_store *store,
                     ht_criterion criterion,
                     const ht_report_options *options,
                     json_t **out);

/**
 * What the cohort's pictures draw (src/plot): ht_report_cohort's object, with each subject's
 * row also giving, in days from its PFS start (treatment_start, else the baseline date),
 * "on_study_days" (to the last time point, last contact or death), "onsets" ([{"response": "CR"
 * or "PR", "days", "label"}], where each run of CR or PR begins), "progression_days",
 * "death_days" (null when none), "ongoing" (neither progression nor death), and "spider" (spec
 * 9: [{"label", "weeks", "change_from_baseline_pct", "overall"}], the baseline at 0 % then
 * each follow-up with a complete sum); and "pfs_curve", "os_curve" (null as "pfs", "os" are):
 * the survival object with "steps" ([{"days", "survival", "lower", "upper" (the 95 % band, null
 * where there is none), "at_risk", "events"}], one per event time), "censored_days" and
 * "observations" ([{"days", "event"}] in time order). Ownership and errors as ht_report_cohort.
 */
int ht_report_cohort_series(ht_store *store,
                            ht_criterion criterion,
                            const ht_report_options *options,
                            json_t **out);

/** The number at risk at `days` of a curve of ht_report_cohort_series (observations that last
 * at least that long). */
int ht_report_at_risk(const json_t *curve, double days);

/** What ended a subject's time to event (spec 9). */
typedef enum ht_survival_end {
    HT_END_PROGRESSION,          /* an event */
    HT_END_DEATH,                /* an event */
    HT_END_BEFORE_MISSED_VISITS, /* censored: an event after two or more missed visits */
    HT_END_LAST_ASSESSMENT,      /* censored: no event, the last assessment */
    HT_END_START,                /* censored: no assessment after baseline, day 0 */
    HT_END_LAST_KNOWN_ALIVE,     /* OS censored at the last known alive date */
    HT_END_LAST_TIMEPOINT        /* OS censored at the last time point */
} ht_survival_end;

/** A subject's PFS and OS in days from its start (spec 9). */
typedef struct ht_report_survival {
    int32_t start; /* day number: the treatment start when recorded, else the baseline date */
    int32_t pfs_days, os_days;
    int pfs_censored, os_censored;
    ht_survival_end pfs_end, os_end;
} ht_report_survival;

/**
 * A subject's PFS and OS from its records and its engine result (which must have a baseline);
 * assessment_interval_days is the trial's (HT_NO_VALUE when unset). The cohort, its pictures
 * and the CDISC export all count with this.
 */
void ht_report_survival_of(const ht_ledger_subject *subject,
                           const ht_rs_result *result,
                           int32_t assessment_interval_days,
                           ht_report_survival *out);

/** The censoring rule of spec 9 that ended it, as the cohort's JSON says it (static). */
const char *ht_report_survival_rule(ht_survival_end end);

/**
 * ht_report_cohort as compact JSON text (malloc'ed), as the HTTP API sends it. Cohorts are kept
 * by criterion and options until the ledger changes (ht_store_ledger_stamp): asked again, they
 * are copied, not computed; one is computed at a time.
 */
int ht_report_cohort_text(ht_store *store,
                          ht_criterion criterion,
                          const ht_report_options *options,
                          char **out);

/** The cohort as CSV (one row per subject) and as a table. */
char *ht_report_cohort_csv(const json_t *cohort);
char *ht_report_cohort_table(const json_t *cohort);

/**
 * The trial's parameters (spec 13.1) with their defaults where unset: the text ones
 * (ht_ledger_text_params: "study_id", "reader_role", the CDISC versions), then
 * "confirmation_required", "confirmation_min_days", "sd_min_days",
 * "assessment_interval_days".
 * @param out          a new reference, owned by the caller.
 * @param stored_keys  NULL, or a new object whose keys are the parameters set (not defaults).
 * @return HT_OK; HT_EDB.
 */
int ht_report_trial(ht_store *store, json_t **out, json_t **stored_keys);

/**
 * A row of an index listing (ht_store_list) as a JSON object keyed by its DICOM keywords:
 * integers and reals as numbers, multi-valued decimals ("1.5\\2.5") as arrays, NULL as null.
 * @return a new reference, owned by the caller; NULL when out of memory.
 */
json_t *ht_report_row_json(const ht_row *row);

/**
 * A subject's history: {"subject", "versions": [{kind, key, version, retracted, reader,
 * recorded_at, reason, record}], "audit": [{at, user, action, detail}]}, oldest first.
 * @param out  a new reference, owned by the caller.
 * @return HT_OK; HT_ENOTFOUND for an unknown subject; HT_EDB.
 */
int ht_report_history(ht_store *store, const char *subject_id, json_t **out);

/**
 * A subject's current records in the measurement-import format (docs/measurements.md):
 * {"subject", dates, "dicom_patients", "timepoints", "lesions", "assessments"}, retracted
 * records left out. Each listed record also carries "version", "recorded_by" and
 * "recorded_at", and each time point its "read_status"; these are not import fields.
 * @param out  a new reference, owned by the caller.
 * @return HT_OK; HT_ENOTFOUND for an unknown subject; HT_EDB.
 */
int ht_report_records(ht_store *store, const char *subject_id, json_t **out);

/**
 * Proposed time points for the studies of the subject's linked DICOM patients that no time
 * point lists yet, oldest first: {"subject", "items": [{"study_uid", "study_date", "study"
 * (its index row), "timepoint" (a label), "new_timepoint", "baseline"}]}. A study dated within
 * 7 days of a time point, stored or proposed for an earlier study, joins it; otherwise it
 * proposes a new one: the baseline when there is none yet, else the first free "FU<n>". A study
 * dated before the baseline gets "timepoint": null and a "note".
 * @param out  a new reference, owned by the caller.
 * @return HT_OK; HT_ENOTFOUND for an unknown subject; HT_EDB; HT_ENOMEM.
 */
int ht_report_proposals(ht_store *store, const char *subject_id, json_t **out);

#ifdef __cplusplus
}
#endif

#endif
