/* Opening the index, transactions, and the writes of ingest. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ht_store__db_error(sqlite3 *db, int rc, const char *what)
{
    int code;
    switch (rc & 0xFF) {
    case SQLITE_FULL:
        code = HT_ENOSPC;
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
        code = HT_EPERM;
        break;
    case SQLITE_NOMEM:
        code = HT_ENOMEM;
        break;
    case SQLITE_IOERR:
        code = HT_EIO;
        break;
    case SQLITE_CONSTRAINT:
        code = HT_EEXISTS;
        break;
    default:
        code = HT_EDB;
    }
    /* SQLite's "database or disk is full" does not say which: the file system is, for a
     * database grows without a size cap here */
    return ht_error_set(code, "index database: %s: %s", what,
                        code == HT_ENOSPC ? "no space left on the device"
                        : db              ? sqlite3_errmsg(db)
                                          : sqlite3_errstr(rc));
}

int ht_store__connect(const char *path, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    *out = NULL;
    if (rc != SQLITE_OK) {
        int err = ht_store__db_error(db, rc, path);
        sqlite3_close(db);
        return err;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 10000);
    /* WAL: readers beside the writer; synchronous=FULL: a commit is durable when it returns. */
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                      " PRAGMA mmap_size=268435456;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int err = ht_store__db_error(db, rc, path);
        sqlite3_close(db);
        return err;
    }
    *out = db;
    return HT_OK;
}

/* The index's hot statements, prepared on first use (a read-only command never needs them). */
static const char *const SQL_FIND_INSTANCE =
    "SELECT archive_path, sha256, size, dataset_offset, pixel_offset, frame_bytes,"
    " pixels_as_decoded, coalesce(frames, 0), transfer_syntax, coalesce(batch, 0)"
    " FROM instances WHERE sop_uid = ?1";
static const char *const SQL_FIND_PATH = "SELECT 1 FROM instances WHERE archive_path = ?1";
static const char *const SQL_UPSERT_PATIENT =
    "INSERT INTO patients (patient_id, issuer, name, birth_date, sex) "
    "VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (patient_id, issuer) DO UPDATE SET "
    "  name = CASE WHEN name = '' THEN excluded.name ELSE name END, "
    "  birth_date = CASE WHEN birth_date = '' THEN excluded.birth_date "
    "               ELSE birth_date END, "
    "  sex = CASE WHEN sex = '' THEN excluded.sex ELSE sex END "
    "RETURNING id";
static const char *const SQL_UPSERT_STUDY =
    "INSERT INTO studies (patient, study_uid, study_date, study_time, "
    "  accession, description, last_received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (study_uid) DO UPDATE SET last_received_at = "
    /* the latest receipt, whichever process commits last (several receivers share a study) */
    "  max(coalesce(last_received_at, ''), excluded.last_received_at), "
    "  stable_at = NULL "
    "RETURNING id";
static const char *const SQL_UPSERT_SERIES =
    "INSERT INTO series (study, series_uid, modality, series_number, "
    "  description, body_part, contrast_agent, slice_thickness, "
    "  pixel_spacing, rows, columns, frame_of_reference) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT (series_uid) DO UPDATE SET frame_of_reference = CASE "
    "  WHEN frame_of_reference = '' THEN excluded.frame_of_reference ELSE frame_of_reference END "
    "RETURNING id";
static const char *const SQL_INSERT_INSTANCE =
    "INSERT INTO instances (series, sop_uid, sop_class, transfer_syntax, "
    "  instance_number, image_position, image_orientation, rows, columns, "
    "  frames, archive_path, size, dataset_offset, sha256, received_at, "
    "  source, batch, pixel_offset, frame_bytes, pixels_as_decoded) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "  ?15, ?16, ?17, ?18, ?19, ?20)";
static const char *const SQL_INSERT_CONFLICT =
    "INSERT INTO conflicts (sop_uid, stored_sha256, received_sha256, "
    "  received_size, source, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (sop_uid, received_sha256) DO NOTHING";

int ht_store__cached(ht_store *s, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out)
{
    if (!*slot) {
        int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (rc != SQLITE_OK)
            return ht_store__db_error(s->db, rc, "preparing a statement");
    }
    sqlite3_reset(*slot);
    sqlite3_clear_bindings(*slot);
    *out = *slot;
    return HT_OK;
}

int ht_store_open(ht_store **out, const char *path)
{
    ht_store *s;
    int err;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ht_error_set(HT_ENOMEM, "out of memory opening the index");
    s->path = ht_strdup(path);
    if (!s->path) {
        free(s);
        return HT_ENOMEM;
    }
    if ((err = ht_store__connect(path, &s->db)) < 0 ||
        (err = ht_store__migrate(s->db, HT_STORE_SCHEMA_VERSION)) < 0) {
        ht_store_free(s);
        return err;
    }
    *out = s;
    return HT_OK;
}

char *ht_store_index_path(const char *data_dir)
{
    return ht_strprintf("%s/index.sqlite", data_dir);
}

void ht_store_free(ht_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->find_instance);
    sqlite3_finalize(s->find_path);
    sqlite3_finalize(s->upsert_patient);
    sqlite3_finalize(s->upsert_study);
    sqlite3_finalize(s->upsert_series);
    sqlite3_finalize(s->insert_instance);
    sqlite3_finalize(s->insert_conflict);
    sqlite3_finalize(s->ledger_append);
    sqlite3_finalize(s->ledger_current);
    sqlite3_finalize(s->ledger_current_packed);
    sqlite3_finalize(s->ledger_uncurrent);
    sqlite3_finalize(s->audit_add);
    sqlite3_finalize(s->subject_find);
    for (size_t i = 0; i < sizeof(s->queries) / sizeof(s->queries[0]); i++) {
        sqlite3_finalize(s->queries[i].st);
        free(s->queries[i].sql);
    }
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int ht_store_schema_version(ht_store *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int exec(ht_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HT_OK : ht_store__db_error(s->db, rc, what);
}

int ht_store_begin(ht_store *s)
{
    return exec(s, "BEGIN IMMEDIATE", "starting a transaction");
}

int ht_store_begin_read(ht_store *s)
{
    /* Deferred: the first read takes a snapshot (WAL) that every later read of the transaction
     * sees, however many commits others make meanwhile. */
    return exec(s, "BEGIN DEFERRED", "starting a read");
}

int ht_store_commit(ht_store *s)
{
    return exec(s, "COMMIT", "committing");
}

int ht_store_rollback(ht_store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return HT_OK; /* SQLite already rolled back (after SQLITE_FULL, for one) */
    return exec(s, "ROLLBACK", "rolling back");
}

/* Run a statement that returns one id (RETURNING id). */
static int step_id(ht_store *s, sqlite3_stmt *st, int64_t *id, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, what);
    return HT_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

/* DICOM multi-valued DS text ("0.7\0.7"), or NULL when absent. */
static void bind_numbers(sqlite3_stmt *st, int i, int has, const double *v, int n)
{
    char buf[256];
    size_t len = 0;
    if (!has) {
        sqlite3_bind_null(st, i);
        return;
    }
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.10g", k ? "\\" : "", v[k]);
    sqlite3_bind_text(st, i, buf, (int)len, SQLITE_TRANSIENT);
}

int ht_store_add_instance(ht_store *s, const ht_instance_record *r)
{
    int64_t patient = 0, study = 0, series = 0;
    sqlite3_stmt *st;
    int err, rc;

    if ((err = ht_store__cached(s, &s->upsert_patient, SQL_UPSERT_PATIENT, &st)) < 0)
        return err;
    bind_text(st, 1, r->patient_id);
    bind_text(st, 2, r->issuer_of_patient_id);
    bind_text(st, 3, r->patient_name);
    bind_text(st, 4, r->patient_birth_date);
    bind_text(st, 5, r->patient_sex);
    if ((err = step_id(s, st, &patient, "adding a patient")) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->upsert_study, SQL_UPSERT_STUDY, &st)) < 0)
        return err;
    sqlite3_bind_int64(st, 1, patient);
    bind_text(st, 2, r->study_instance_uid);
    bind_text(st, 3, r->study_date);
    bind_text(st, 4, r->study_time);
    bind_text(st, 5, r->accession_number);
    bind_text(st, 6, r->study_description);
    bind_text(st, 7, r->received_at);
    if ((err = step_id(s, st, &study, "adding a study")) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->upsert_series, SQL_UPSERT_SERIES, &st)) < 0)
        return err;
    sqlite3_bind_int64(st, 1, study);
    bind_text(st, 2, r->series_instance_uid);
    bind_text(st, 3, r->modality);
    if (r->has_series_number)
        sqlite3_bind_int(st, 4, r->series_number);
    bind_text(st, 5, r->series_description);
    bind_text(st, 6, r->body_part_examined);
    bind_text(st, 7, r->contrast_bolus_agent);
    if (r->has_slice_thickness)
        sqlite3_bind_double(st, 8, r->slice_thickness);
    bind_numbers(st, 9, r->has_pixel_spacing, r->pixel_spacing, 2);
    if (r->rows)
        sqlite3_bind_int64(st, 10, r->rows);
    if (r->columns)
        sqlite3_bind_int64(st, 11, r->columns);
    bind_text(st, 12, r->frame_of_reference_uid);
    if ((err = step_id(s, st, &series, "adding a series")) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->insert_instance, SQL_INSERT_INSTANCE, &st)) < 0)
        return err;
    sqlite3_bind_int64(st, 1, series);
    bind_text(st, 2, r->sop_instance_uid);
    bind_text(st, 3, r->sop_class_uid);
    bind_text(st, 4, r->transfer_syntax_uid);
    if (r->has_instance_number)
        sqlite3_bind_int(st, 5, r->instance_number);
    bind_numbers(st, 6, r->has_image_position, r->image_position, 3);
    bind_numbers(st, 7, r->has_image_orientation, r->image_orientation, 6);
    if (r->rows)
        sqlite3_bind_int64(st, 8, r->rows);
    if (r->columns)
        sqlite3_bind_int64(st, 9, r->columns);
    if (r->number_of_frames)
        sqlite3_bind_int64(st, 10, r->number_of_frames);
    bind_text(st, 11, r->archive_path);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)r->size);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)r->dataset_offset);
    bind_text(st, 14, r->sha256);
    bind_text(st, 15, r->received_at);
    bind_text(st, 16, r->source);
    if (r->batch > 0)
        sqlite3_bind_int64(st, 17, r->batch);
    if (r->frame_bytes) {
        sqlite3_bind_int64(st, 18, (sqlite3_int64)r->pixel_offset);
        sqlite3_bind_int64(st, 19, (sqlite3_int64)r->frame_bytes);
        sqlite3_bind_int(st, 20, r->pixels_as_decoded);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "adding an instance");
    return HT_OK;
}

int ht_store_defer_sync(ht_store *s)
{
    int rc = sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return rc == SQLITE_OK ? HT_OK : ht_store__db_error(s->db, rc, "deferring commits' fsync");
}

int ht_store_batch_open(ht_store *s, int64_t durable, int64_t *batch)
{
    static const char *const sql = "UPDATE ingest_state SET last_batch = last_batch + 1,"
                                   " durable_batch = max(durable_batch, ?1) RETURNING last_batch";
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "opening a batch");
    sqlite3_bind_int64(st, 1, durable);
    rc = sqlite3_step(st);
    *batch = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int err = rc == SQLITE_ROW ? HT_OK : ht_store__db_error(s->db, rc, "opening a batch");
    sqlite3_finalize(st);
    return err;
}

int ht_store_batch_verified(ht_store *s, int64_t batch)
{
    sqlite3_stmt *st;
    int err = ht_store_begin(s);
    if (err < 0)
        return err;
    int rc = sqlite3_prepare_v2(
        s->db, "UPDATE ingest_state SET durable_batch = max(durable_batch, ?1)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) {
        err = ht_store__db_error(s->db, rc, "recording verified batches");
        ht_store_rollback(s);
        return err;
    }
    if ((err = ht_store_commit(s)) < 0)
        ht_store_rollback(s);
    return err;
}

int ht_store_path_indexed(ht_store *s, const char *archive_path)
{
    sqlite3_stmt *st;
    int rc, err = ht_store__cached(s, &s->find_path, SQL_FIND_PATH, &st);
    if (err < 0)
        return err;
    bind_text(st, 1, archive_path);
    rc = sqlite3_step(st);
    err = rc == SQLITE_ROW    ? 1
          : rc == SQLITE_DONE ? 0
                              : ht_store__db_error(s->db, rc, "looking up an archive path");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int ht_store_locate(ht_store *s, const char *sop_instance_uid, ht_instance_location *out)
{
    sqlite3_stmt *st;
    int rc, err = ht_store__cached(s, &s->find_instance, SQL_FIND_INSTANCE, &st);

    if (err < 0)
        return err;
    bind_text(st, 1, sop_instance_uid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *path = sqlite3_column_text(st, 0), *h = sqlite3_column_text(st, 1);
        snprintf(out->archive_path, sizeof(out->archive_path), "%s",
                 path ? (const char *)path : "");
        snprintf(out->sha256, sizeof(out->sha256), "%s", h ? (const char *)h : "");
        out->size = (uint64_t)sqlite3_column_int64(st, 2);
        out->dataset_offset = (uint64_t)sqlite3_column_int64(st, 3);
        out->pixel_offset = (uint64_t)sqlite3_column_int64(st, 4);
        out->frame_bytes = (uint64_t)sqlite3_column_int64(st, 5);
        out->pixels_as_decoded = sqlite3_column_int(st, 6);
        out->frames = (uint32_t)sqlite3_column_int64(st, 7);
        const unsigned char *ts = sqlite3_column_text(st, 8);
        snprintf(out->transfer_syntax, sizeof(out->transfer_syntax), "%s",
                 ts ? (const char *)ts : "");
        out->batch = sqlite3_column_int64(st, 9);
    } else if (rc == SQLITE_DONE) {
        err = ht_error_set(HT_ENOTFOUND, "no instance has SOP Instance UID '%s'", sop_instance_uid);
    } else {
        err = ht_store__db_error(s->db, rc, "looking up an instance");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int ht_store_delete_instance(ht_store *s, const char *sop_instance_uid, int64_t batch)
{
    static const char *const sql =
        "DELETE FROM instances WHERE sop_uid = ?1 AND batch IS ?2;"
        "DELETE FROM series WHERE id NOT IN (SELECT series FROM instances);"
        "DELETE FROM studies WHERE id NOT IN (SELECT study FROM series);"
        "DELETE FROM patients WHERE id NOT IN (SELECT patient FROM studies);";
    const char *tail = sql;
    int err = HT_OK, removed = -1;

    while (*tail && err == HT_OK) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, tail, -1, &st, &tail);
        if (rc != SQLITE_OK)
            return ht_store__db_error(s->db, rc, "removing an instance");
        if (!st)
            break;
        if (sqlite3_bind_parameter_count(st) > 0) {
            bind_text(st, 1, sop_instance_uid);
            if (batch > 0)
                sqlite3_bind_int64(st, 2, batch);
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = ht_store__db_error(s->db, rc, "removing an instance");
        if (removed < 0)
            removed = sqlite3_changes(s->db) > 0;
        sqlite3_finalize(st);
    }
    return err < 0 ? err : removed > 0;
}

int ht_store_add_conflict(ht_store *s,
                          const char *sop_instance_uid,
                          const char *stored_sha256,
                          const char *received_sha256,
                          uint64_t received_size,
                          const char *source,
                          const char *received_at)
{
    sqlite3_stmt *st;
    int rc, err = ht_store__cached(s, &s->insert_conflict, SQL_INSERT_CONFLICT, &st);

    if (err < 0)
        return err;
    bind_text(st, 1, sop_instance_uid);
    bind_text(st, 2, stored_sha256);
    bind_text(st, 3, received_sha256);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)received_size);
    bind_text(st, 5, source);
    bind_text(st, 6, received_at);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, "recording a conflict");
}

/* The middle image: OFFSET is half the series' images, counted by the same filter. */
static const char *const SQL_SERIES_KEYFRAME =
    "WITH images AS (SELECT i.* FROM instances i JOIN series se ON i.series = se.id"
    "  WHERE se.series_uid = ?1 AND i.rows IS NOT NULL)"
    " SELECT sop_uid, archive_path, sha256, size, dataset_offset, coalesce(frames, 1)"
    " FROM images ORDER BY instance_number, sop_uid"
    " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM images)";

int ht_store_series_keyframe(ht_store *s, const char *series_uid, ht_series_keyframe *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, SQL_SERIES_KEYFRAME, -1, &st, NULL), err = HT_OK;

    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "choosing a series' thumbnail");
    bind_text(st, 1, series_uid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *text[3];
        for (int i = 0; i < 3; i++) {
            text[i] = (const char *)sqlite3_column_text(st, i);
            text[i] = text[i] ? text[i] : "";
        }
        snprintf(out->sop_instance_uid, sizeof(out->sop_instance_uid), "%s", text[0]);
        snprintf(out->location.archive_path, sizeof(out->location.archive_path), "%s", text[1]);
        snprintf(out->location.sha256, sizeof(out->location.sha256), "%s", text[2]);
        out->location.size = (uint64_t)sqlite3_column_int64(st, 3);
        out->location.dataset_offset = (uint64_t)sqlite3_column_int64(st, 4);
        out->frame = (uint32_t)((sqlite3_column_int64(st, 5) + 1) / 2);
    } else if (rc == SQLITE_DONE) {
        err = ht_error_set(HT_ENOTFOUND, "no series with images has Series Instance UID '%s'",
                           series_uid);
    } else {
        err = ht_store__db_error(s->db, rc, "choosing a series' thumbnail");
    }
    sqlite3_finalize(st);
    return err;
}
