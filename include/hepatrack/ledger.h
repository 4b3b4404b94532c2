/*
 * hepatrack — the lesion ledger: trial subjects, time points, lesions and assessments, validated
 * as spec section 1.8 says and kept append-only (a correction is a new version with reader,
 * time and reason; every write goes to the audit log).
 *
 * The import format is documented in docs/measurements.md. Lengths are stored as integer tenths
 * of a millimetre, densities as tenths of HU.
 *
 * Ownership: ht_ledger_load returns a subject freed with ht_ledger_subject_free; everything it
 * hands out borrows from it.
 */
#ifndef HEPATRACK_LEDGER_H
#define HEPATRACK_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"
#include "hepatrack/response.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_ledger_import_summary {
    int subjects;
    int new_records; /* first versions */
    int corrections; /* new versions of changed records */
    int retractions;
    int unchanged;
    char notes[2048];   /* roundings and other remarks, "; "-separated */
    char enrolled[512]; /* subjects this import enrolled, ", "-separated */
} ht_ledger_import_summary;

/**
 * Import one subject (a JSON object) or several (an array) in the measurement-import format.
 * All or nothing: on any error nothing is stored. Re-importing merges: records absent from the
 * file stay as they are; a changed record becomes a new version and needs a reason (on the
 * record or at the top of the file); "retract": true withdraws an assessment; an unchanged file
 * changes nothing.
 * @param source  a name for the audit log (the file's path).
 * @return HT_OK; HT_EINVALID or HT_EPARSE with a message naming subject, lesion, time point,
 *         field and rule; HT_EDB.
 */
int ht_ledger_import(ht_store *store,
                     const char *json_text,
                     size_t len,
                     const char *source,
                     ht_ledger_import_summary *summary);

struct json_t; /* jansson's: documents are handed down parsed, never as text again */

/**
 * Parse an import document: JSON with every object's keys unique (a duplicate is refused, not
 * silently resolved), one subject object or an array of them.
 * @param[out] doc  the document (free with json_decref); NULL on error.
 * @return HT_OK; HT_EPARSE naming line, column and what is wrong; HT_EINVALID for another
 *         top-level type. Messages start with source.
 */
int ht_ledger_parse_document(const char *text, size_t len, const char *source, struct json_t **doc);

/** A subject's stored records, as an import's hook sees them (borrowed). */
typedef struct ht_ledger_stored ht_ledger_stored;

/** Whether a stored lesion is nodal: 1 or 0, or -1 when the subject has no such lesion. */
int ht_ledger_stored_nodal(const ht_ledger_stored *stored, const char *lesion);

/**
 * An import's hook, called for each subject object of a document after its stored records are
 * loaded and before it is parsed: it may complete the object in place (the measure module
 * computes lengths and densities from drawn points). A negative return aborts the import with
 * that error.
 */
typedef int (*ht_ledger_complete_fn)(void *payload,
                                     struct json_t *subject,
                                     const ht_ledger_stored *stored);

/** What a document may hold. */
typedef enum ht_ledger_scope {
    HT_LEDGER_ALL,      /* everything: the operator's bulk load */
    HT_LEDGER_READS,    /* a radiologist's read: time points, lesions, assessments */
    HT_LEDGER_ENROLMENT /* a coordinator's: dicom_patients and the subject's dates */
} ht_ledger_scope;

typedef struct ht_ledger_import_options {
    ht_ledger_complete_fn complete; /* may be NULL */
    void *payload;                  /* complete's */
    int enrol;                      /* 1: unknown subjects are enrolled; 0: HT_ENOTFOUND */
    ht_ledger_scope scope;
    int images_required; /* 1: images and studies named must be in the index; 0: noted */
} ht_ledger_import_options;

/**
 * ht_ledger_import for a parsed document (borrowed; the hook may change it), each subject
 * loaded once and handed to options->complete before it is parsed.
 * @return as ht_ledger_import; also HT_ENOTFOUND (an unknown subject without enrol) and
 *         HT_EPERM (a field outside the scope, named).
 */
int ht_ledger_import_document(ht_store *store,
                              struct json_t *doc,
                              const char *source,
                              const ht_ledger_import_options *options,
                              ht_ledger_import_summary *summary);

/**
 * Enrol a subject: {"subject", "dicom_patients"?, "treatment_start"?, ...}, by actor (a
 * coordinator or admin, or the operator). The subject gets its first record even with nothing
 * else.
 * @return HT_OK; HT_EEXISTS (already enrolled); HT_EINVALID naming what is wrong; HT_EDB.
 */
int ht_ledger_enrol(ht_store *store, struct json_t *subject, const char *actor);

/**
 * Change an enrolled subject: link DICOM patients, set treatment_start, death_date,
 * last_known_alive or withdrawn (the dates not named stay; changing a recorded one needs
 * "reason"). patch is borrowed and completed with subject and reader.
 * @return HT_OK; HT_ENOTFOUND; HT_EINVALID naming what is wrong; HT_EDB.
 */
int ht_ledger_subject_update(ht_store *store,
                             const char *subject_id,
                             struct json_t *patch,
                             const char *actor,
                             ht_ledger_import_summary *summary);

/**
 * Sign the read of one time point: every target and non-target must have its record there.
 * A later change to that time point's records returns it to draft until signed again.
 * @return HT_OK; HT_ENOTFOUND (no subject); HT_EINVALID naming what is missing; HT_EDB.
 */
int ht_ledger_sign(ht_store *store, const char *subject_id, const char *label, const char *reader);

/**
 * The states a lesion of a role ("target", "non-target" or "new") may be recorded in instead
 * of a measurement (spec 1.3), as a NULL-terminated list of names (static; never freed).
 * @return the list, or NULL for an unknown role.
 */
const char *const *ht_ledger_states(const char *role);

typedef struct ht_ledger_subject ht_ledger_subject;

/**
 * Load the current version of a subject's records, ready for the response engine.
 * @return HT_OK, HT_ENOTFOUND (no such subject), HT_EDB, HT_ENOMEM.
 */
int ht_ledger_load(ht_store *store, const char *subject_id, ht_ledger_subject **out);

void ht_ledger_subject_free(ht_ledger_subject *subject);

/**
 * Load every subject in turn (in one pass over the ledger) and hand each to cb, which takes
 * ownership. A non-zero return from cb stops the walk and is returned.
 */
int ht_ledger_each(ht_store *store,
                   int (*cb)(void *payload, ht_ledger_subject *subject),
                   void *payload);

/**
 * Leave out the time points whose read is not signed, and their assessments: results are
 * computed from signed reads unless drafts are asked for.
 * @return the number of time points left out (>= 0), or HT_ENOMEM.
 */
int ht_ledger_keep_signed(ht_ledger_subject *subject);

/** The subject's trial id (borrowed). */
const char *ht_ledger_subject_id(const ht_ledger_subject *subject);

/** The engine's view of the subject (borrowed). */
const ht_rs_subject *ht_ledger_engine_input(const ht_ledger_subject *subject);

/** A time point's date "YYYY-MM-DD" and its read status ("draft" or "signed"), by input index. */
const char *ht_ledger_timepoint_date(const ht_ledger_subject *subject, int index);
const char *ht_ledger_read_status(const ht_ledger_subject *subject, int index);

/**
 * Who last signed or reopened a time point's read, and when (borrowed; NULL when never
 * signed). @return 1 when the read is signed now.
 */
int ht_ledger_read_signature(const ht_ledger_subject *subject,
                             int index,
                             const char **by,
                             const char **at);

/** The study UIDs a time point lists, as a JSON array (borrowed), or NULL; by input index. */
const char *ht_ledger_timepoint_studies(const ht_ledger_subject *subject, int index);

/** How many studies a time point lists that are not (yet) in the index, by input index. */
int ht_ledger_unindexed_studies(const ht_ledger_subject *subject, int index);

/** Subject dates as day numbers (HT_NO_VALUE when not recorded). */
typedef struct ht_ledger_dates {
    int32_t treatment_start, death_date, last_known_alive;
} ht_ledger_dates;
ht_ledger_dates ht_ledger_subject_dates(const ht_ledger_subject *subject);

/** The trial parameters of spec 13.1 as the engine takes them (defaults where unset). */
int ht_ledger_params(ht_store *store, ht_rs_params *params, int32_t *assessment_interval_days);

/**
 * A text trial parameter (study_id, reader_role, sdtmig_version, adamig_version, ct_version):
 * the stored value, else its default, in out (size bytes).
 * @return HT_OK; HT_EINVALID for another key; HT_EDB.
 */
int ht_ledger_param_text(ht_store *store, const char *key, char *out, size_t size);

/** The text trial parameters' keys, NULL-terminated (static). */
const char *const *ht_ledger_text_params(void);

/** Set a trial parameter after checking its key and value. @return HT_OK or HT_EINVALID. */
int ht_ledger_param_set(ht_store *store, const char *key, const char *value, const char *user);

/* ---- proposed measurements (spec 11) ------------------------------------------------------- */

/** One group of an outside report (TID 1500), as the importer converted it. */
typedef struct ht_ledger_proposal {
    const char *source; /* the report's SOP Instance UID */
    int item;           /* the group's place in the report, from 1 */
    const char *patient_id, *issuer;
    const char *const *study_uids; /* the studies the report refers to */
    int nstudies;
    const char *timepoint_label; /* its Time Point Context, or NULL */
    const char *tracking_uid, *tracking_id;
    struct json_t *fields; /* borrowed: the assessment it would record, in the import format
                            * (long_axis_mm, short_axis_mm, mean_hu, sop_uid, frame, points),
                            * and "finding_site" for a new lesion's site */
    const char *unmatched; /* non-NULL: it cannot be converted, and why */
    int timepoint_only;    /* a time point's value (fields: liver_volume_ml), no lesion */
} ht_ledger_proposal;

/**
 * Match a report group to a subject, time point and lesion (spec 11) and keep it as a
 * proposal ("proposed"), or with the reason it cannot be matched ("unmatched"); a group
 * received before is left as it is ("known"). Nothing the engine counts changes.
 * @param outcome  where to put "proposed", "unmatched" or "known" (static), or NULL.
 * @return HT_OK; HT_EDB.
 */
int ht_ledger_propose(ht_store *store, const ht_ledger_proposal *proposal, const char **outcome);

/**
 * Proposals as a JSON array of {id, source, item, subject, timepoint, lesion, new_lesion,
 * fields, status, reason, received_at, decided_by, decided_at}, oldest first; subject, status
 * and source filter (NULL: any).
 * @param out  a new reference. @return HT_OK; HT_EDB.
 */
int ht_ledger_proposals(ht_store *store,
                        const char *subject,
                        const char *status,
                        const char *source,
                        struct json_t **out);

/**
 * Accept a proposal: its assessment becomes the next version (by actor, the reason naming the
 * report), through the import with options (scope, hook), in one transaction with the
 * decision. A lesion new to the ledger needs role; role NULL takes the one the report names
 * (hepatrack's own reports do: the operator's import --accept), "" none.
 * @return HT_OK; HT_ENOTFOUND; HT_ECONFLICT (decided already); HT_EINVALID (unmatched, no role,
 *         or what the import refuses, named); HT_EDB.
 */
int ht_ledger_proposal_accept(ht_store *store,
                              int64_t id,
                              const char *actor,
                              const char *role,
                              const ht_ledger_import_options *options,
                              ht_ledger_import_summary *summary);

/** Reject a proposal with a reason (audited). @return HT_OK; HT_ENOTFOUND; HT_ECONFLICT;
 * HT_EINVALID (no reason); HT_EDB. */
int ht_ledger_proposal_reject(ht_store *store, int64_t id, const char *actor, const char *reason);

#ifdef __cplusplus
}
#endif

#endif
