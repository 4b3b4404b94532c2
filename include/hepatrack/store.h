/*
 * hepatrack — the index of patients, studies, series and instances, the ledger, users: a SQLite
 * database (WAL mode) beside the archive, or a PostgreSQL database shared by several nodes.
 *
 * All SQL of hepatrack lives in src/store/, over one small database interface (src/store/db.h)
 * with a SQLite and a PostgreSQL side. The schema is versioned and migrated forward when the
 * store is opened.
 *
 * Threads: one ht_store is used by one thread at a time; callers serialize (ingest holds its own
 * lock). Several processes may open the same index: WAL (or PostgreSQL) lets readers run beside
 * a writer, and writers take the index's one write lock in turn (ht_store_begin).
 *
 * Ownership: ht_store_open returns an object freed with ht_store_free. Rows passed to callbacks
 * are borrowed and valid only during the call.
 */
#ifndef HEPATRACK_STORE_H
#define HEPATRACK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_store ht_store;

/** The schema version this build writes; ht_store_open migrates older databases up to it. */
#define HT_STORE_SCHEMA_VERSION 13

/**
 * Open (creating when needed) the index a locator names (ht_store_index_path: a SQLite file, or
 * a PostgreSQL URL, postgresql://…) and migrate it.
 * @return HT_OK; HT_EDB when the file is not a database or is newer than this build; HT_EPERM,
 *         HT_ENOSPC, HT_EIO for file-system failures.
 */
int ht_store_open(ht_store **out, const char *path);

/** The file under a data directory that says where its index is (INI, section [index]:
 * backend = sqlite|postgresql, url = postgresql://…). Without it the index is DATA/index.sqlite.
 * It belongs to the data directory, so that every command on it (serve, import, ls, check…)
 * opens the same index. */
#define HT_STORE_INDEX_SETTINGS "index.ini"

/** The locator of a data directory's index for ht_store_open: the path of its SQLite file, or
 * the PostgreSQL URL its index.ini names. Malloc'ed (free with ht_free); NULL with the error set
 * (HT_EINVALID naming the bad setting of index.ini, HT_ENOMEM). */
char *ht_store_index_path(const char *data_dir);

/** Whether a locator names a SQLite file (which may not exist yet) rather than a server. */
int ht_store_index_is_file(const char *locator);

/**
 * Copy this SQLite index into the empty PostgreSQL database at url (its schema made first), in
 * one transaction there while this index is held under its write lock (writers wait), then
 * compare every table's rows on both sides. progress (may be NULL) hears each table's rows as
 * copied (verified 0) and as compared (verified 1).
 * @return HT_OK; HT_EINVALID (this index is not SQLite, url not PostgreSQL, the database not
 *         empty, a table this build does not know); HT_ECONFLICT naming the first difference
 *         (the copy is committed but must not be used); HT_EIO, HT_EDB.
 */
int ht_store_copy_to(ht_store *store,
                     const char *url,
                     int (*progress)(void *payload, const char *table, int64_t rows, int verified),
                     void *payload);

/** Close the database. Accepts NULL. */
void ht_store_free(ht_store *store);

/** The index's schema version. */
int ht_store_schema_version(ht_store *store);

/** Start, commit or roll back a transaction. A write transaction holds the index's one write
 * lock from its start; commit makes it durable (SQLite synchronous=FULL, PostgreSQL's own).
 * A commit that fails with HT_EIO may have landed (the connection to a server lost before its
 * answer; an I/O error on a file); any other failure left nothing. */
int ht_store_begin(ht_store *store);
/* A read transaction: every query until ht_store_commit (or rollback) sees one snapshot. */
int ht_store_begin_read(ht_store *store);
int ht_store_commit(ht_store *store);
int ht_store_rollback(ht_store *store);

/** Everything the index records about one stored instance. Strings may be "" but not NULL. */
typedef struct ht_instance_record {
    const char *patient_id, *issuer_of_patient_id, *patient_name, *patient_birth_date, *patient_sex;
    const char *study_instance_uid, *study_date, *study_time, *accession_number, *study_description;
    const char *series_instance_uid, *modality, *series_description, *body_part_examined,
        *contrast_bolus_agent, *frame_of_reference_uid;
    int has_series_number;
    int32_t series_number;
    int has_slice_thickness;
    double slice_thickness;
    int has_pixel_spacing;
    double pixel_spacing[2];
    const char *sop_class_uid, *sop_instance_uid, *transfer_syntax_uid;
    int has_instance_number;
    int32_t instance_number;
    int has_image_position;
    double image_position[3];
    int has_image_orientation;
    double image_orientation[6];
    uint32_t rows, columns, number_of_frames;
    const char *archive_path;
    uint64_t size;                      /* bytes of the whole file */
    uint64_t dataset_offset;            /* where the dataset begins in the file */
    const char *sha256;                 /* of the dataset bytes (after the File Meta) */
    int64_t batch;                      /* the ingest batch that commits it (0: none) */
    const char *received_at;            /* ISO 8601 UTC */
    const char *source;                 /* "import:<path>" or "dicom:<AE>@<host>" */
    uint64_t pixel_offset, frame_bytes; /* ht_native_pixels; frame_bytes 0 when unknown */
    int pixels_as_decoded;
} ht_instance_record;

/**
 * Add an instance, creating its patient, study and series rows when they are new.
 * @return HT_OK; HT_EEXISTS if the SOP Instance UID is already indexed; HT_EDB, HT_ENOSPC.
 */
int ht_store_add_instance(ht_store *store, const ht_instance_record *rec);

/** Where an instance's file is and what it must hold: all that opening it from a row needs. */
typedef struct ht_instance_location {
    char archive_path[128]; /* relative to the archive's root */
    char sha256[65];        /* of the dataset, hex */
    uint64_t size, dataset_offset;
    /* uncompressed frames readable from the file as they are (frame_bytes 0: parse it) */
    uint64_t pixel_offset, frame_bytes;
    int pixels_as_decoded; /* decoding gives those bytes unchanged */
    uint32_t frames;       /* 0 without Pixel Data */
    char transfer_syntax[65];
    int64_t batch; /* the ingest batch that committed it (0: none) */
} ht_instance_location;

/** The patient and study an instance belongs to: what a measurement's provenance is checked
 * against. */
typedef struct ht_instance_origin {
    char patient_id[72], issuer[72], study_uid[72];
} ht_instance_origin;

/** @return HT_OK; HT_ENOTFOUND (not indexed); HT_EDB. */
int ht_store_instance_origin(ht_store *store,
                             const char *sop_instance_uid,
                             ht_instance_origin *out);

/**
 * Whether an index row names the archive file `archive_path` (one lookup in the path's unique
 * index, so that a walk of the whole archive needs no set of every path in memory).
 * @return 1 (indexed), 0 (not), HT_EDB.
 */
int ht_store_path_indexed(ht_store *store, const char *archive_path);

/**
 * Locate an instance by SOP Instance UID.
 * @return HT_OK; HT_ENOTFOUND ("no instance has SOP Instance UID ..."); HT_EDB.
 */
int ht_store_locate(ht_store *store, const char *sop_instance_uid, ht_instance_location *out);

/** The picture that stands for a series: its middle image, and that image's middle frame. */
typedef struct ht_series_keyframe {
    char sop_instance_uid[72];
    uint32_t frame; /* from 1 */
    ht_instance_location location;
} ht_series_keyframe;

/**
 * The middle image of a series (by instance number), for a thumbnail. Instances without pixel
 * data (reports, key objects) are passed over.
 * @return HT_OK; HT_ENOTFOUND (no such series, or it holds no image); HT_EDB.
 */
int ht_store_series_keyframe(ht_store *store, const char *series_uid, ht_series_keyframe *out);

/**
 * Remove the row of `sop_instance_uid` that ingest batch `batch` added (and its series, study,
 * patient when they become empty); a row of another batch stays (another ingest stored the
 * instance again since). @return 1 (removed), 0 (no such row), HT_EDB.
 */
int ht_store_delete_instance(ht_store *store, const char *sop_instance_uid, int64_t batch);

/** Record that `sop_instance_uid` arrived again with other content; the stored copy is kept. */
int ht_store_add_conflict(ht_store *store,
                          const char *sop_instance_uid,
                          const char *stored_sha256,
                          const char *received_sha256,
                          uint64_t received_size,
                          const char *source,
                          const char *received_at);

/** A value's type in a row handed to a callback. */
typedef enum ht_value_type {
    HT_VALUE_NULL = 0,
    HT_VALUE_INT,
    HT_VALUE_REAL,
    HT_VALUE_TEXT,
    HT_VALUE_NUMBERS /* text of backslash-separated numbers, a DICOM multi-valued DS */
} ht_value_type;

/** One row: column names (DICOM keywords where one exists), types and values as text. */
typedef struct ht_row {
    int ncols;
    const char *const *names;
    const ht_value_type *types;
    const char *const *values; /* NULL for HT_VALUE_NULL */
} ht_row;

/** The value of the column `name` of a row, or NULL when absent or NULL (borrowed). */
const char *ht_row_value(const ht_row *row, const char *name);

/** Called once per row; a non-zero return stops the listing and is returned by it. */
typedef int (*ht_row_cb)(void *payload, const ht_row *row);

typedef enum ht_list_kind {
    HT_LIST_PATIENTS = 0,
    HT_LIST_STUDIES,
    HT_LIST_SERIES,
    HT_LIST_INSTANCES,
    HT_LIST_CONFLICTS
} ht_list_kind;

/** Filters for listings; NULL members do not filter. */
typedef struct ht_list_filter {
    const char *patient_id;
    const char *issuer; /* only with patient_id; "" matches patients without an issuer */
    const char *study_instance_uid;
    const char *series_instance_uid;
    int unassigned; /* studies only: those no time point of any subject lists yet */
} ht_list_filter;

/**
 * List rows of one kind, in a stable order (patients by ID, studies by date, series by number,
 * instances by number).
 * @return HT_OK, the callback's non-zero return, or HT_EDB.
 */
int ht_store_list(
    ht_store *store, ht_list_kind kind, const ht_list_filter *filter, ht_row_cb cb, void *payload);

/* ---- queries by DICOM attributes: QIDO-RS and C-FIND ----------------------------------------- */

/** The level of a query, as C-FIND's Query/Retrieve Level and QIDO-RS's resources name them. */
typedef enum ht_find_level {
    HT_FIND_PATIENT = 0,
    HT_FIND_STUDY,
    HT_FIND_SERIES,
    HT_FIND_INSTANCE
} ht_find_level;

/**
 * One matching key: a DICOM keyword and its value as PS3.4 C.2.2.2 reads it: "" universal
 * matching (the attribute is returned, nothing filtered); `*` and `?` wildcards; for dates and
 * times a range "A-B", "-B" or "A-"; for UIDs a list separated by backslashes; else single
 * value matching.
 */
typedef struct ht_find_key {
    const char *keyword;
    const char *value;
} ht_find_key;

typedef struct ht_find_query {
    ht_find_level level;
    const ht_find_key *keys;
    size_t nkeys;
    int names_ignore_case; /* person names matched case-insensitively (QIDO-RS does) */
    size_t limit;          /* 0: no limit */
    size_t offset;
} ht_find_query;

/**
 * Whether the index can match `keyword` in a query at `level`: attributes of that level and the
 * levels above it (a series query may name the patient). Counts and other computed
 * attributes are returned but not matched, except ModalitiesInStudy.
 */
int ht_store_find_matchable(ht_find_level level, const char *keyword);

/**
 * The entities of one level that match every key, from the index alone (no file is read), in a
 * stable order (studies by date and time, series and instances by number). Each row's columns
 * are DICOM keywords: the attributes of the level and those above, the level's counts
 * (NumberOfStudyRelatedSeries, NumberOfStudyRelatedInstances, ModalitiesInStudy,
 * NumberOfSeriesRelatedInstances, ...) and, for instances, AvailableTransferSyntaxUID.
 * @return HT_OK; the callback's non-zero return; HT_EINVALID naming a key that cannot be matched
 *         at that level (ht_store_find_matchable) or a value of the wrong form (a date that is
 *         not YYYYMMDD, a number that is not one, a wildcard in a UID); HT_EDB.
 */
int ht_store_find(ht_store *store, const ht_find_query *query, ht_row_cb cb, void *payload);

/**
 * Describe whatever `uid` names: an instance, a series or a study (in that order of search).
 * @param[out] kind  which one it was.
 * @return HT_OK, HT_ENOTFOUND, HT_EDB.
 */
int ht_store_show(
    ht_store *store, const char *uid, ht_list_kind *kind, ht_row_cb cb, void *payload);

/** One indexed file, as ht_store_each_file reports it. */
typedef struct ht_file_entry {
    const char *sop_instance_uid;
    const char *archive_path;
    const char *sha256;
    uint64_t size;
    uint64_t dataset_offset;
    int64_t batch; /* the ingest batch that committed it (0: none) */
} ht_file_entry;

typedef int (*ht_file_cb)(void *payload, const ht_file_entry *entry);

/** Visit every indexed instance's file entry, ordered by archive path. */
int ht_store_each_file(ht_store *store, ht_file_cb cb, void *payload);

/** The node this process writes as, for recovery per node: $HEPATRACK_NODE, else the host's
 * name. Processes of one machine share a node (a power loss takes them together). */
const char *ht_store_node_name(void);

/**
 * Open an ingest batch inside the caller's write transaction: its number comes from the index,
 * in commit order across every process sharing it; the instances it adds name this node. With
 * durable > 0, this node's batches up to `durable` are recorded as durable and whole in the same
 * transaction (the caller verified what the node's last stop left, and its syncfs returned after
 * batch `durable` committed: a sync flushes every batch the node committed before).
 * @return HT_OK; HT_EDB.
 */
int ht_store_batch_open(ht_store *store, int64_t durable, int64_t *batch);

/**
 * Record, in a transaction of its own, that the batches up to `batch` are durable and whole
 * (recovery verified them, or a verified ingest's sync returned after it).
 * @return HT_OK; HT_EDB.
 */
int ht_store_batch_verified(ht_store *store, int64_t batch);

/**
 * The files of this node's batches beyond its durable mark (and of rows from before nodes,
 * beyond the index's old mark), as ht_store_each_file reports them (in batch order); another
 * node's rows are never among them. *newest is the newest such batch (0: none).
 * @return HT_OK; HT_EDB; or the callback's non-zero value.
 */
int ht_store_each_unconfirmed_file(ht_store *store, ht_file_cb cb, void *payload, int64_t *newest);

/**
 * Commits on this connection stop waiting for their own fsync (SQLite synchronous=NORMAL in
 * WAL mode: never corrupt, but the last commits may be lost with the machine). For a caller
 * that makes them durable itself, with ht_archive_sync after each commit, as ingest does. On
 * PostgreSQL a commit stays durable when it returns (the archive's sync cannot flush the
 * server's log), and this does nothing.
 * @return HT_OK, HT_EDB.
 */
int ht_store_defer_sync(ht_store *store);

/**
 * Mark stable every study whose last instance arrived before `before` (ISO 8601 UTC) and that
 * is not stable yet, recording `now`; cb is told each study's UID. A study receiving a new
 * instance later is unstable again (stable time cleared) until the next marking.
 * @return HT_OK, the callback's non-zero return, HT_EDB.
 */
int ht_store_mark_stable(ht_store *store,
                         const char *before,
                         const char *now,
                         int (*cb)(void *payload, const char *study_uid),
                         void *payload);

/** Number of rows of one kind (for summaries and tests). */
int ht_store_count(ht_store *store, ht_list_kind kind, int64_t *count);

/**
 * The Study Date of an indexed study as "YYYY-MM-DD" (11 bytes), "" when it has no valid date.
 * @return HT_OK (indexed), HT_ENOTFOUND (not indexed), HT_EDB.
 */
int ht_store_study_date(ht_store *store, const char *study_instance_uid, char *out);

/**
 * The modalities of a study's series, "CT" or "CT\\SR", in code order, in out (size bytes, cut
 * at a whole modality). Empty for an unknown study.
 * @return HT_OK; HT_EDB.
 */
int ht_store_study_modalities(ht_store *store,
                              const char *study_instance_uid,
                              char *out,
                              size_t size);

/* ---- the lesion ledger ---------------------------------------------------------------------- */

/** A proposed measurement (schema 11): one group of an outside report. */
typedef struct ht_proposal_row {
    int64_t id;
    const char *source;                       /* the report's SOP Instance UID */
    int item;                                 /* the group's place in the report, from 1 */
    const char *subject, *timepoint, *lesion; /* NULL when not matched */
    int new_lesion;                           /* the lesion is not in the ledger yet */
    const char *fields;                       /* JSON: the assessment it would record */
    const char *status;                       /* proposed, accepted, rejected, unmatched */
    const char *reason;                       /* why unmatched, rejected or how matched */
    const char *received_at, *decided_by, *decided_at;
} ht_proposal_row;

/**
 * Record a proposal; one with the same source and item is left as it is (a report received
 * again proposes nothing new).
 * @return HT_OK; HT_EEXISTS when it was there already; HT_EDB.
 */
int ht_store_proposal_add(ht_store *store, const ht_proposal_row *row);

/** The proposals, oldest first, filtered by subject, status and source (each NULL: any). */
int ht_store_proposals_each(ht_store *store,
                            const char *subject,
                            const char *status,
                            const char *source,
                            int (*cb)(void *payload, const ht_proposal_row *row),
                            void *payload);

/** Record a decision on a proposal still proposed (a rejection also dismisses an unmatched one).
 * @return HT_OK; HT_ENOTFOUND; HT_ECONFLICT (decided already); HT_EDB. */
int ht_store_proposal_decide(ht_store *store,
                             int64_t id,
                             const char *status,
                             const char *by,
                             const char *at,
                             const char *reason);

/**
 * The SR instances (Basic Text, Enhanced, Comprehensive, Comprehensive 3D SR) and SEG instances
 * of the index not read for proposals yet, oldest first: cb(payload, sop_instance_uid,
 * sop_class_uid, archive_path).
 * @return HT_OK, cb's non-zero, HT_EDB.
 */
int ht_store_reports_unread(
    ht_store *store,
    int (*cb)(void *payload, const char *sop_uid, const char *sop_class, const char *path),
    void *payload);

/** A number that changes whenever anything a timeline or cohort depends on may have changed
 * (a ledger write, a trial parameter, a new study), and which index it is (its file, in where).
 * @return HT_OK; HT_EDB. */
int ht_store_ledger_stamp(ht_store *store, int64_t *stamp, char *where, size_t size);

/** A report superseded by another (its Predecessor Documents Sequence names it): its proposals
 * still pending are rejected, the reason naming the new report. @return HT_OK; HT_EDB. */
int ht_store_proposals_supersede(ht_store *store,
                                 const char *old_source,
                                 const char *new_source,
                                 const char *at);

/** Forget the reading of reports whose groups all stayed unmatched for want of a subject or
 * time point, so that they are read again (after an enrolment, a link, a listed study).
 * @return HT_OK; HT_EDB. */
int ht_store_reports_reopen(ht_store *store);

/** Record a report hepatrack wrote (its SOP Instance UID). @return HT_OK; HT_EDB. */
int ht_store_report_written(ht_store *store,
                            const char *sop_uid,
                            const char *subject,
                            const char *timepoint,
                            const char *at);

/** Whether hepatrack wrote the report with that SOP Instance UID: 1, 0, or HT_EDB. */
int ht_store_report_is_ours(ht_store *store, const char *sop_uid);

/** Record that a report was read, and its outcome ("3 proposed, 1 unmatched", "own report"). */
int ht_store_report_read(ht_store *store, const char *sop_uid, const char *at, const char *outcome);

/** The subject a DICOM patient is linked to (out: 65 bytes); an empty issuer matches the one
 * subject linked to that Patient ID under any issuer. @return HT_OK; HT_ENOTFOUND; HT_EDB. */
int ht_store_subject_of_patient(ht_store *store,
                                const char *patient_id,
                                const char *issuer,
                                char *out);

/** The label of the subject's time point whose current version lists a study (out: 65 bytes).
 * @return HT_OK; HT_ENOTFOUND; HT_EDB. */
int ht_store_timepoint_of_study(ht_store *store,
                                const char *subject_id,
                                const char *study_uid,
                                char *out);

/** Find a trial subject's row id. @return HT_OK, HT_ENOTFOUND, HT_EDB. */
int ht_store_subject_find(ht_store *store, const char *subject_id, int64_t *id);

/** Find or create a trial subject. *created says which. @return HT_OK or HT_EDB. */
int ht_store_subject_ensure(
    ht_store *store, const char *subject_id, const char *now, int64_t *id, int *created);

/** Visit every subject id in order. */
int ht_store_subject_each(ht_store *store,
                          int (*cb)(void *payload, const char *subject_id),
                          void *payload);

/** One version of one ledger record. */
typedef struct ht_ledger_row {
    int64_t id;
    const char *kind; /* "subject", "patient", "timepoint", "lesion", "assessment", "read" */
    const char *key;
    int version;
    const char *body; /* canonical JSON; "" when retracted */
    int retracted;
    const char *reader;
    const char *reason;
    const char *recorded_at;
    int64_t first_id; /* id of the record's first version (a stable internal id) */
    /* Appending: the body's engine fields packed as the schema's ledger_packed view packs
     * them (migration 10), for the current versions' table; NULL: computed by that view. */
    const char *fields;
} ht_ledger_row;

typedef int (*ht_ledger_cb)(void *payload, const ht_ledger_row *row);

/** The latest version of each record of a subject (retracted ones included), by kind and key. */
int ht_store_ledger_current(ht_store *store, int64_t subject, ht_ledger_cb cb, void *payload);

/*
 * The fields of current ledger records that the engine reads: X(NAME, json key). The database
 * stores each as a generated column of ledger_records (f_<json key>), derived from the record's
 * canonical JSON when it is written, so reading a cohort parses no JSON at all. A field added
 * here needs a schema migration that adds its column.
 */
#define HT_LEDGER_FIELD_TABLE(X)                                                                   \
    X(LABEL, label)                                                                                \
    X(DATE, date)                                                                                  \
    X(BASELINE, baseline)                                                                          \
    X(IMAGING, imaging_performed)                                                                  \
    X(PORTAL_VEIN, portal_vein_status)                                                             \
    X(LIVER_VOLUME, liver_volume_ml10)                                                             \
    X(SLICE_THICKNESS, slice_thickness_mm10)                                                       \
    X(STUDY_UIDS, study_uids)                                                                      \
    X(ID, id)                                                                                      \
    X(ROLE, role)                                                                                  \
    X(SITE, site)                                                                                  \
    X(LOCATION, location)                                                                          \
    X(NODAL, nodal)                                                                                \
    X(LESION, lesion)                                                                              \
    X(TIMEPOINT, timepoint)                                                                        \
    X(STATE, state)                                                                                \
    X(LONG_AXIS, long_axis)                                                                        \
    X(SHORT_AXIS, short_axis)                                                                      \
    X(PERPENDICULAR, perpendicular)                                                                \
    X(CRANIOCAUDAL, craniocaudal)                                                                  \
    X(VIABLE_AXIS, viable_axis)                                                                    \
    X(MEAN_HU, mean_hu)                                                                            \
    X(MERGED_INTO, merged_into)                                                                    \
    X(PHASE, phase)                                                                                \
    X(FRAGMENTS, fragments)                                                                        \
    X(TREATMENT_START, treatment_start)                                                            \
    X(DEATH_DATE, death_date)                                                                      \
    X(LAST_KNOWN_ALIVE, last_known_alive)                                                          \
    X(STATUS, status)                                                                              \
    X(BY, by)                                                                                      \
    X(AT, at)

typedef enum ht_ledger_field {
#define HT_LF_ENUM_(name, key) HT_LF_##name,
    HT_LEDGER_FIELD_TABLE(HT_LF_ENUM_)
#undef HT_LF_ENUM_
        HT_LF_COUNT
} ht_ledger_field;

/** One current record's fields: text (NULL when absent) and, for numbers and booleans, num. */
typedef struct ht_ledger_fields {
    const char *subject_id;
    const char *kind;
    const char *key;
    const char *text[HT_LF_COUNT];
    int64_t num[HT_LF_COUNT];
} ht_ledger_fields;

typedef int (*ht_ledger_fields_cb)(void *payload, const ht_ledger_fields *row);

/**
 * The current, not retracted, version of every record of one subject (subject_id) or of all
 * subjects (NULL), ordered by subject, with the fields the engine reads. One query for a whole
 * cohort, and no JSON parsing outside the database.
 */
int ht_store_ledger_fields(ht_store *store,
                           const char *subject_id,
                           ht_ledger_fields_cb cb,
                           void *payload);

/** Every version of every record of a subject, oldest first. */
int ht_store_ledger_history(ht_store *store, int64_t subject, ht_ledger_cb cb, void *payload);

/** Append a version. @return HT_OK, HT_EEXISTS (that version exists), HT_EDB. */
int ht_store_ledger_append(ht_store *store, int64_t subject, const ht_ledger_row *row);

/** Append to the audit log. */
int ht_store_audit_add(ht_store *store,
                       const char *at,
                       const char *user,
                       const char *action,
                       const char *subject_id,
                       const char *detail);

/** One audit entry. */
typedef struct ht_audit_row {
    const char *at, *user, *action, *subject, *detail;
} ht_audit_row;

/** A subject's audit entries, oldest first. */
int ht_store_audit_each(ht_store *store,
                        const char *subject_id,
                        int (*cb)(void *payload, const ht_audit_row *row),
                        void *payload);

/** Trial parameters (spec 13.1): set one, read one (HT_ENOTFOUND if unset), list all. */
int ht_store_param_set(ht_store *store, const char *key, const char *value);
int ht_store_param_get(ht_store *store, const char *key, char *value, size_t size);
int ht_store_param_each(ht_store *store,
                        int (*cb)(void *payload, const char *key, const char *value),
                        void *payload);

/* ---- users and credentials (the HTTP API's accounts; hashing lives in auth) ---- */

/** One user; fixed buffers, owned by the caller. */
typedef struct ht_user_row {
    char name[64];
    char role[16]; /* radiologist, coordinator, admin */
    char password_hash[256];
    int disabled;
    char created_at[32];
} ht_user_row;

/** Add a user. @return HT_OK; HT_EEXISTS when the name is taken; HT_EDB. */
int ht_store_user_add(ht_store *store, const char *name, const char *role, const char *hash);

/** Read a user. @return HT_OK; HT_ENOTFOUND; HT_EDB. */
int ht_store_user_get(ht_store *store, const char *name, ht_user_row *out);

/** Set the password hash, or the disabled flag. @return HT_OK; HT_ENOTFOUND; HT_EDB. */
int ht_store_user_set_hash(ht_store *store, const char *name, const char *hash);
int ht_store_user_set_disabled(ht_store *store, const char *name, int disabled);

/** Users by name. A non-zero callback return stops and is returned. */
int ht_store_user_each(ht_store *store,
                       int (*cb)(void *payload, const ht_user_row *row),
                       void *payload);

/** Record a credential (the SHA-256 hex of its secret), valid until expires_at (ISO 8601 UTC). */
int ht_store_credential_add(ht_store *store,
                            const char *digest,
                            const char *user,
                            const char *kind,
                            const char *expires_at);

/**
 * The user a credential belongs to, when it is neither revoked nor expired at `now` and its
 * user is not disabled.
 * @return HT_OK; HT_ENOTFOUND (no such live credential); HT_EDB.
 */
int ht_store_credential_user(ht_store *store,
                             const char *digest,
                             const char *now,
                             const char *kind, /* "session", "token", or NULL for either */
                             ht_user_row *out);

/**
 * Revoke at `now` one credential (digest given) or every credential of a user (digest NULL).
 * @return HT_OK; HT_ENOTFOUND when nothing live matched; HT_EDB.
 */
int ht_store_credential_revoke(ht_store *store,
                               const char *digest,
                               const char *user,
                               const char *now);

#ifdef __cplusplus
}
#endif

#endif
