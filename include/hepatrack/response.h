/*
 * hepatrack — the response engine: RECIST 1.1, mRECIST and Choi per time point and per subject,
 * hepatic tumour load, intra/extrahepatic responses and baseline eligibility, exactly as
 * ../shared/spec/response-criteria.md (docs/criteria.md records every interpretive choice).
 *
 * Pure: no I/O, no database, no globals, and no floating point in any decision. Every length
 * is an integer number of tenths of a millimetre, every density tenths of a Hounsfield unit,
 * every date a day number. Input order never matters: the engine orders time points by date.
 *
 * Ownership: ht_response_evaluate fills a result the caller frees with ht_response_result_free;
 * the result borrows nothing from the input except label strings, which must outlive it.
 */
#ifndef HEPATRACK_RESPONSE_H
#define HEPATRACK_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An absent measurement. */
#define HT_NO_VALUE INT32_MIN

typedef enum ht_role { HT_ROLE_TARGET = 0, HT_ROLE_NON_TARGET, HT_ROLE_NEW } ht_role;

/* Assessment states (spec 1.3); HT_STATE_MEASURED means "a size, no state". */
typedef enum ht_state {
    HT_STATE_MEASURED = 0,
    HT_STATE_TOO_SMALL,
    HT_STATE_ABSENT,
    HT_STATE_NOT_EVALUABLE,
    HT_STATE_MERGED,
    HT_STATE_PRESENT,
    HT_STATE_UNEQUIVOCAL_PROGRESSION,
    HT_STATE_NOT_EVALUATED,
    HT_STATE_EQUIVOCAL,
    HT_STATE_UNEQUIVOCAL
} ht_state;

typedef enum ht_portal_vein {
    HT_PORTAL_UNKNOWN = 0,
    HT_PORTAL_NONE,
    HT_PORTAL_BRANCH,
    HT_PORTAL_MAIN
} ht_portal_vein;

typedef struct ht_rs_timepoint {
    const char *label;
    int32_t day; /* days since 1970-01-01 */
    int baseline;
    int imaging_performed;
    ht_portal_vein portal_vein;
    int32_t liver_volume_ml10;    /* liver volume in tenths of mL, or HT_NO_VALUE */
    int32_t slice_thickness_mm10; /* or HT_NO_VALUE */
} ht_rs_timepoint;

typedef struct ht_rs_lesion {
    const char *label;
    ht_role role;
    int nodal;
    int liver;           /* site is "liver" */
    int lymph_node;      /* site is "lymph node" */
    const char *site;    /* as entered, for the one-organ rule (compared case-insensitively) */
    const char *segment; /* Couinaud segment ("IVa"), or NULL */
} ht_rs_lesion;

typedef struct ht_rs_assessment {
    int lesion;    /* index into lesions */
    int timepoint; /* index into timepoints */
    ht_state state;
    int32_t long_axis, short_axis, perpendicular, craniocaudal, viable_axis; /* tenths of mm */
    int32_t mean_hu;                                                         /* tenths of HU */
    const int32_t *fragments; /* long axes of a split lesion, tenths of mm */
    int nfragments;
    int merged_into;   /* lesion index, or -1 */
    const char *phase; /* or NULL */
} ht_rs_assessment;

/* One subject's records (the latest version of each). */
typedef struct ht_rs_subject {
    const char *id;
    const ht_rs_timepoint *timepoints;
    int ntimepoints;
    const ht_rs_lesion *lesions;
    int nlesions;
    const ht_rs_assessment *assessments;
    int nassessments;
} ht_rs_subject;

typedef enum ht_criterion { HT_RECIST11 = 0, HT_MRECIST, HT_CHOI } ht_criterion;

typedef struct ht_rs_params {
    int confirmation_required; /* default 1 */
    int confirmation_min_days; /* default 28 */
    int sd_min_days;           /* default 42 */
} ht_rs_params;

#define HT_RS_PARAMS_INIT                                                                          \
    {                                                                                              \
        1, 28, 42                                                                                  \
    }

typedef enum ht_response {
    HT_RESP_NULL = 0, /* not applicable at this row (baseline) */
    HT_RESP_CR,
    HT_RESP_PR,
    HT_RESP_SD,
    HT_RESP_PD,
    HT_RESP_NE,
    HT_RESP_NA,
    HT_RESP_NON_CR_NON_PD
} ht_response;

typedef enum ht_new_lesions {
    HT_NL_NULL = 0,
    HT_NL_NONE,
    HT_NL_EQUIVOCAL,
    HT_NL_UNEQUIVOCAL
} ht_new_lesions;

/** "CR", "PR", "SD", "PD", "NE", "NA", "non-CR/non-PD"; NULL for HT_RESP_NULL. */
const char *ht_response_name(ht_response r);

/** "none", "equivocal", "unequivocal"; NULL for HT_NL_NULL. */
const char *ht_new_lesions_name(ht_new_lesions n);

/** "recist1.1", "mrecist", "choi". */
const char *ht_criterion_name(ht_criterion c);

/** Parse a criterion name. @return HT_OK or HT_EINVALID naming it. */
int ht_criterion_parse(const char *text, ht_criterion *out);

/* An optional integer: has = 0 means null. */
typedef struct ht_opt {
    int has;
    int64_t v;
} ht_opt;

typedef struct ht_rs_responses {
    ht_response target, non_target, overall, overall_prospective;
    ht_new_lesions new_lesions;
} ht_rs_responses;

typedef struct ht_rs_segment {
    char name[16];
    int count;
    int64_t sum_mm10;
} ht_rs_segment;

typedef struct ht_rs_hepatic {
    int present; /* 0 for a time point without imaging */
    int lesion_count;
    int64_t sum_mm10;
    int sum_complete;
    ht_opt largest_mm10;
    double tumour_burden_score; /* display only */
    double volume_ml;           /* display only */
    int volume_complete;
    int has_replacement;
    double replacement_pct; /* display only */
    ht_rs_segment segments[12];
    int nsegments;
} ht_rs_hepatic;

typedef struct ht_rs_tp_result {
    int index; /* into the input's timepoints */
    int32_t days_from_baseline;
    ht_opt sum_mm10;
    int sum_complete; /* meaningful when sum_mm10.has */
    ht_opt nadir_mm10;
    ht_opt change_from_baseline_pct10; /* tenths of a percent */
    ht_opt change_from_nadir_pct10;
    ht_opt change_from_nadir_mm10;
    ht_rs_responses r;
    /* Choi */
    ht_opt mean_hu10;
    ht_opt change_in_hu_pct10;
    int density_pr; /* -1 null */
    ht_rs_hepatic hepatic;
    int has_subsets;
    ht_rs_responses intrahepatic, extrahepatic;
} ht_rs_tp_result;

typedef struct ht_rs_bor {
    ht_response bor;
    int bor_confirmed; /* -1 null, 0 false, 1 true */
    int bor_tp;        /* ordered index, -1 null */
    int confirming_tp;
    int progression_tp;
} ht_rs_bor;

typedef struct ht_rs_warning {
    char rule[16];
    int lesion;    /* -1 none */
    int timepoint; /* input index, -1 none */
    char message[160];
} ht_rs_warning;

typedef enum ht_check_status { HT_CHECK_PASS = 0, HT_CHECK_FAIL, HT_CHECK_UNKNOWN } ht_check_status;

typedef struct ht_rs_check {
    const char *rule;
    ht_check_status status;
    char detail[160];
} ht_rs_check;

typedef struct ht_rs_result {
    ht_criterion criterion;
    ht_rs_params params;
    int ntimepoints;
    ht_rs_tp_result *timepoints; /* in date order, baseline first */
    ht_rs_bor bor;               /* indices are into timepoints (ordered) */
    ht_opt duration_of_response_days;
    int duration_of_response_censored;
    ht_opt best_change_from_baseline_pct10;
    ht_rs_bor intrahepatic, extrahepatic; /* subset BORs */
    int eligible;
    ht_rs_check checks[6];
    int nchecks;
    ht_rs_warning *warnings;
    int nwarnings;
    size_t capwarnings;
} ht_rs_result;

/**
 * Evaluate one subject under one criterion.
 * @param[out] out  filled in; free with ht_response_result_free (also after an error).
 * @return HT_OK; HT_EINVALID when the records break a rule the ledger should have enforced
 *         (no baseline, an index out of range); HT_ENOMEM.
 */
int ht_response_evaluate(const ht_rs_subject *subject,
                         ht_criterion criterion,
                         const ht_rs_params *params,
                         ht_rs_result *out);

/** Free what ht_response_evaluate allocated in *result (not result itself). */
void ht_response_result_free(ht_rs_result *result);

/**
 * A percentage change 100 × (value − reference) / reference, in tenths of a percent, rounded
 * half away from zero in integers (spec 0.4). has = 0 when reference is 0.
 */
ht_opt ht_response_pct10(int64_t value, int64_t reference);

/**
 * Read a Couinaud segment from a liver lesion's location (spec 1.1): a Roman numeral I-VIII,
 * optionally with a or b, optionally after the word "segment" ("segment IVa", "vii").
 * @return 1 with the normalised name in out ("IVa", "VII"; 16 bytes), or 0.
 */
int ht_response_segment(const char *location, char *out);

#ifdef __cplusplus
}
#endif

#endif
