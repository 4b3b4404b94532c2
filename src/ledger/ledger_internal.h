/*
 * Internals of the ledger, shared by its files; not a public header.
 *
 * Records are canonical JSON bodies (integer tenths) kept by the store under (kind, key):
 * "subject" "" / "patient" "ID\tISSUER" / "timepoint" LABEL / "lesion" ID /
 * "assessment" "LESION\tTIMEPOINT" / "read" LABEL. An import parses a subject into records
 * (parse.c), overlays them on the stored ones and validates the whole subject as it would be
 * (validate.c), and only then writes the versions that changed (write.c), in one transaction
 * (import.c).
 */
#ifndef HEPATRACK_LEDGER_INTERNAL_H
#define HEPATRACK_LEDGER_INTERNAL_H

#include "hepatrack/ledger.h"
#include "hepatrack/util.h"

#include <jansson.h>

#define MAX_MM10 5000 /* 500 mm, in tenths */

/* Where in a subject something is wrong, for the message. */
typedef struct where {
    const char *subject, *lesion, *timepoint;
} where;

/* Set HT_EINVALID with "subject S, lesion L, time point T: message"; returns HT_EINVALID. */
int ht_ledger__fail(const where *w, const char *fmt, ...) HT_PRINTF_(2, 3);

/* Record kinds, in the order they are written and shown. */
enum { K_SUBJECT, K_PATIENT, K_TIMEPOINT, K_LESION, K_ASSESSMENT, K_READ, NKINDS };

/* The kind's name in the store ("subject", ..., "read"). */
const char *ht_ledger__kind_name(int kind);

/* The kind of a stored name, or -1. */
int ht_ledger__kind_of(const char *name);

/* Whether a state name is one the role's list holds (role NULL: any role's). */
int ht_ledger__state_allowed(const char *role, const char *state);

/*
 * A subject's stored records: per kind, key -> {"body", "version", "retracted", "first_id",
 * "reader", "recorded_at"}; a retracted record's body is null.
 */
struct ht_ledger_stored {
    json_t *kinds[NKINDS];
};
typedef struct ht_ledger_stored state;

void ht_ledger__state_init(state *st);
void ht_ledger__state_free(state *st);

/* Load the subject's current records (an unknown subject: none). HT_OK or HT_EDB. */
int ht_ledger__state_load(ht_store *store, int64_t subject, state *st);

/* The current body of (kind, key), or NULL (absent or retracted). Borrowed. */
static inline json_t *body_of(const state *st, int kind, const char *key)
{
    json_t *e = json_object_get(st->kinds[kind], key);
    json_t *b = e ? json_object_get(e, "body") : NULL;
    return b && !json_is_null(b) ? b : NULL;
}

static inline const char *str(const json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static inline int64_t num(const json_t *body, const char *key, int64_t absent)
{
    json_t *v = json_object_get(body, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static inline int flag(const json_t *body, const char *key)
{
    return json_is_true(json_object_get(body, key));
}

/* ---- fields of the import format (fields.c); each fails with a message naming the field ---- */

/* Add a remark to the import's notes ("; "-separated, truncated when full). */
void ht_ledger__note(ht_ledger_import_summary *s, const char *fmt, ...) HT_PRINTF_(2, 3);

/* A JSON number to integer tenths, half away from zero on its shortest decimal form; *rounded
 * when a digit was dropped. HT_OK or HT_EINVALID (not a number, beyond 1e8). */
int ht_ledger__to_tenths(const json_t *v, int64_t *out, int *rounded);

/* Refuse a key of obj that keys (NULL-terminated) does not list. */
int ht_ledger__only_keys(const where *w,
                         const json_t *obj,
                         const char *what,
                         const char *const *keys);

/* A string of 1 to 128 characters without control characters; *out NULL when absent (and not
 * required). Borrowed from obj. */
int ht_ledger__get_string(
    const where *w, const json_t *obj, const char *key, int required, const char **out);

/* A label (subject id, lesion id, time point label): 1 to 64 of A-Z a-z 0-9 . _ -. */
int ht_ledger__get_label(const where *w,
                         const json_t *obj,
                         const char *key,
                         int required,
                         const char *what,
                         const char **out);

/* A correction's reason: something visible, stored trimmed (obj's value is replaced). */
int ht_ledger__get_reason(const where *w, json_t *obj, const char **out);

/* true or false; fallback when absent, required when fallback < 0. */
int ht_ledger__get_bool(const where *w, const json_t *obj, const char *key, int fallback, int *out);

/* A date YYYY-MM-DD. */
int ht_ledger__get_date(
    const where *w, const json_t *obj, const char *key, int required, const char **out);

/* A length in mm (> 0, or >= 0 with allow_zero; at most 500) into body_key as tenths, or null. */
int ht_ledger__get_length(const where *w,
                          const json_t *in,
                          const char *key,
                          json_t *body,
                          const char *body_key,
                          int allow_zero,
                          ht_ledger_import_summary *sum);

/* One record of an import: a new body for (kind, key), or a retraction (body NULL). */
typedef struct record {
    int kind;
    char key[300];
    json_t *body; /* owned */
    const char *reason;
    unsigned named; /* which parts the file names (SUBJECT_* or GROUP_*); the rest carry over */
} record;

/* The groups of an assessment (groups.c): a correction replaces those it names. */
enum { GROUP_SIZE = 1, GROUP_DENSITY = 2, GROUP_STATE = 4 };

/* The groups an input assessment names. */
unsigned ht_ledger__groups_named(const json_t *in);

/* Carry the groups a correction does not name from the recorded body into the new one. */
void ht_ledger__carry_groups(const json_t *old, json_t *body, unsigned named);

/* The parts of a subject record: a correction replaces those it names, keeps the others. */
enum { SUBJECT_TREATMENT_START = 1, SUBJECT_DEATH = 2, SUBJECT_ALIVE = 4, SUBJECT_WITHDRAWN = 8 };

/* A subject as an import file gives it. Strings borrow from the document. */
typedef struct parsed {
    const char *sid, *reader, *reason; /* reason: the file's, for records without their own */
    int enrolling;                     /* the subject is being enrolled: it gets its record */
    record *items;
    size_t n, cap;
} parsed;

void ht_ledger__parsed_free(parsed *p);

/* Parse one subject of the import format into records (spec 1.8's per-record rules; roundings
 * noted in sum). HT_OK or HT_EINVALID naming what is wrong. */
int ht_ledger__parse_subject(json_t *in, parsed *out, ht_ledger_import_summary *sum);

/*
 * The subject as it would be after the file: the stored records overlaid with the file's,
 * checking what may change (roles never change, corrections and restorations need a reason)
 * and giving each new lesion its Tracking UID. HT_OK, HT_EINVALID, HT_EINTERNAL.
 */
int ht_ledger__overlay(const state *current, state *merged, parsed *p);

/*
 * The images and studies the file's records name: an image must belong to a linked patient and
 * a study its time point lists; one not in the index is refused (strict) or noted in sum.
 * HT_OK, HT_EINVALID naming instance, patient, study and time point, HT_EDB.
 */
int ht_ledger__check_provenance(ht_store *store,
                                const state *merged,
                                const parsed *p,
                                int strict,
                                ht_ledger_import_summary *sum);

/* Validate a whole subject as spec 1.8 says. HT_OK or HT_EINVALID naming the rule. */
int ht_ledger__validate_subject(const char *sid, const state *st);

/* Who writes, when, and what was there before: what every version written carries. */
typedef struct writer {
    ht_store *store;
    int64_t subject;      /* the subject's row */
    const char *sid;      /* its trial id */
    const state *current; /* the records before this write */
    const char *reader;
    const char *source; /* where the change came from, for the audit log; may be NULL */
    char now[32];
} writer;

/* Start a writer at the current time. */
void ht_ledger__writer_init(writer *w,
                            ht_store *store,
                            int64_t subject,
                            const char *sid,
                            const state *current,
                            const char *reader,
                            const char *source);

/* Append the next version of (kind, key) (body NULL: a retraction; borrowed), stored as
 * canonical JSON with its engine fields packed for the store's current versions, and its audit
 * entry. */
int ht_ledger__append(const writer *w,
                      int kind,
                      const char *key,
                      const json_t *body,
                      const char *reason,
                      const char *action);

/* The body of a read record, {"at", "by", "status"} (a new reference), or NULL. */
json_t *ht_ledger__read_body(const char *status, const char *reader, const char *now);

/* ht_ledger_import_document inside the caller's transaction (neither begun nor ended). */
int ht_ledger__import_in_transaction(ht_store *store,
                                     json_t *doc,
                                     const char *source,
                                     const ht_ledger_import_options *options,
                                     ht_ledger_import_summary *summary);

/* Write the versions of p's records that change something, returning signed reads they touch
 * to draft. */
int ht_ledger__write_records(const writer *w, const parsed *p, ht_ledger_import_summary *sum);

#endif
