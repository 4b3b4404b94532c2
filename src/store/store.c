/* Opening the index, transactions, and the writes of ingest. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "  name = CASE WHEN patients.name = '' THEN excluded.name ELSE patients.name END, "
    "  birth_date = CASE WHEN patients.birth_date = '' THEN excluded.birth_date "
    "               ELSE patients.birth_date END, "
    "  sex = CASE WHEN patients.sex = '' THEN excluded.sex ELSE patients.sex END "
    "RETURNING id";
static const char *const SQL_UPSERT_STUDY =
    "INSERT INTO studies (patient, study_uid, study_date, study_time, "
    "  accession, description, last_received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (study_uid) DO UPDATE SET last_received_at = "
    /* the latest receipt, whichever process commits last (several receivers share a study) */
    "  CASE WHEN studies.last_received_at > excluded.last_received_at"
    "  THEN studies.last_received_at ELSE excluded.last_received_at END, "
    "  stable_at = NULL "
    "RETURNING id";
static const char *const SQL_UPSERT_SERIES =
    "INSERT INTO series (study, series_uid, modality, series_number, "
    "  description, body_part, contrast_agent, slice_thickness, "
    "  pixel_spacing, rows, columns, frame_of_reference) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT (series_uid) DO UPDATE SET frame_of_reference = CASE "
    "  WHEN series.frame_of_reference = '' THEN excluded.frame_of_reference"
    "  ELSE series.frame_of_reference END "
    "RETURNING id";
static const char *const SQL_INSERT_INSTANCE =
    "INSERT INTO instances (series, sop_uid, sop_class, transfer_syntax, "
    "  instance_number, image_position, image_orientation, rows, columns, "
    "  frames, archive_path, size, dataset_offset, sha256, received_at, "
    "  source, batch, pixel_offset, frame_bytes, pixels_as_decoded, node) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "  ?15, ?16, ?17, ?18, ?19, ?20, ?21)";
static const char *const SQL_INSERT_CONFLICT =
    "INSERT INTO conflicts (sop_uid, stored_sha256, received_sha256, "
    "  received_size, source, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (sop_uid, received_sha256) DO NOTHING";

int ht_store__cached(
    ht_store *s, ht_db_stmt **slot, const char *sql, const char *what, ht_db_stmt **out)
{
    if (!*slot) {
        int err = ht_db_prepare(s->db, sql, 1, what, slot);
        if (err < 0)
            return err;
    }
    ht_db_reset(*slot);
    *out = *slot;
    return HT_OK;
}

int ht_store__prepare(ht_store *s, const char *sql, const char *what, ht_db_stmt **out)
{
    return ht_db_prepare(s->db, sql, 0, what, out);
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
    if ((err = ht_db_open(path, &s->db)) < 0 ||
        (err = ht_store__migrate(s->db, HT_STORE_SCHEMA_VERSION)) < 0) {
        ht_store_free(s);
        return err;
    }
    *out = s;
    return HT_OK;
}

typedef struct index_settings {
    char backend[16];
    char *url;
    char problem[160];
} index_settings;

static int index_setting(void *user, const char *section, const char *name, const char *value)
{
    index_settings *is = user;
    if (strcmp(section, "index") != 0 || is->problem[0])
        return 1;
    if (!strcmp(name, "backend") && (!strcmp(value, "sqlite") || !strcmp(value, "postgresql")))
        snprintf(is->backend, sizeof(is->backend), "%s", value);
    else if (!strcmp(name, "url") && !is->url)
        is->url = ht_strdup(value);
    else
        snprintf(is->problem, sizeof(is->problem), "[index] %s = %.64s: %s", name, value,
                 !strcmp(name, "backend") ? "backend is sqlite or postgresql"
                                          : "unknown or repeated setting");
    return 1;
}

char *ht_store_index_path(const char *data_dir)
{
    char *ini = ht_strprintf("%s/" HT_STORE_INDEX_SETTINGS, data_dir);
    index_settings is = {"sqlite", NULL, ""};
    if (!ini) {
        ht_error_set(HT_ENOMEM, "out of memory locating the index");
        return NULL;
    }
    int line = access(ini, F_OK) == 0 ? ini_parse(ini, index_setting, &is) : 0;
    char *locator = NULL;
    if (line != 0 || is.problem[0])
        ht_error_set(HT_EINVALID, "%s: %s", ini,
                     is.problem[0] ? is.problem
                     : line < 0    ? "cannot be read"
                                   : "not an INI file");
    else if (!strcmp(is.backend, "postgresql") &&
             (!is.url ||
              (strncmp(is.url, "postgresql://", 13) && strncmp(is.url, "postgres://", 11))))
        ht_error_set(HT_EINVALID, "%s: backend = postgresql needs url = postgresql://...", ini);
    else if (!strcmp(is.backend, "postgresql"))
        locator = ht_strdup(is.url);
    else
        locator = ht_strprintf("%s/index.sqlite", data_dir);
    if (!locator && ht_error_code() == HT_OK)
        ht_error_set(HT_ENOMEM, "out of memory locating the index");
    free(is.url);
    free(ini);
    return locator;
}

int ht_store_index_is_file(const char *locator)
{
    return strncmp(locator, "postgresql://", 13) != 0 && strncmp(locator, "postgres://", 11) != 0;
}

void ht_store_free(ht_store *s)
{
    if (!s)
        return;
    ht_db_stmt *cached[] = {s->find_instance,         s->find_path,        s->upsert_patient,
                            s->upsert_study,          s->upsert_series,    s->insert_instance,
                            s->insert_conflict,       s->ledger_append,    s->ledger_current,
                            s->ledger_current_packed, s->ledger_uncurrent, s->audit_add,
                            s->subject_find};
    for (size_t i = 0; i < sizeof(cached) / sizeof(cached[0]); i++)
        ht_db_finalize(cached[i]);
    for (size_t i = 0; i < sizeof(s->queries) / sizeof(s->queries[0]); i++) {
        ht_db_finalize(s->queries[i].st);
        free(s->queries[i].sql);
    }
    ht_db_close(s->db);
    free(s->path);
    free(s);
}

int ht_store_schema_version(ht_store *s)
{
    int v;
    return ht_db_schema_version(s->db, &v) == HT_OK ? v : -1;
}

int ht_store_begin(ht_store *s)
{
    return ht_db_begin(s->db, 1);
}

int ht_store_begin_read(ht_store *s)
{
    return ht_db_begin(s->db, 0);
}

int ht_store_commit(ht_store *s)
{
    return ht_db_commit(s->db);
}

int ht_store_rollback(ht_store *s)
{
    return ht_db_rollback(s->db);
}

int ht_store__step_id(ht_db_stmt *st, int64_t *id)
{
    int rc = ht_db_step(st);
    if (rc == HT_DB_ROW) {
        *id = ht_db_int64(st, 0);
        rc = ht_db_step(st);
    }
    ht_db_reset(st);
    return rc < 0 ? rc : HT_OK;
}

/* DICOM multi-valued DS text ("0.7\0.7"), or NULL when absent. */
static void bind_numbers(ht_db_stmt *st, int i, int has, const double *v, int n)
{
    char buf[256];
    size_t len = 0;
    if (!has) {
        ht_db_bind_null(st, i);
        return;
    }
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.10g", k ? "\\" : "", v[k]);
    ht_db_bind_text(st, i, buf);
}

/* Strings of a record may be "" but not NULL; NULL binds "". */
static void bind_text(ht_db_stmt *st, int i, const char *v)
{
    ht_db_bind_text(st, i, v ? v : "");
}

int ht_store_add_instance(ht_store *s, const ht_instance_record *r)
{
    int64_t patient = 0, study = 0, series = 0;
    ht_db_stmt *st;
    int err;

    if ((err = ht_store__cached(s, &s->upsert_patient, SQL_UPSERT_PATIENT, "adding a patient",
                                &st)) < 0)
        return err;
    bind_text(st, 1, r->patient_id);
    bind_text(st, 2, r->issuer_of_patient_id);
    bind_text(st, 3, r->patient_name);
    bind_text(st, 4, r->patient_birth_date);
    bind_text(st, 5, r->patient_sex);
    if ((err = ht_store__step_id(st, &patient)) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->upsert_study, SQL_UPSERT_STUDY, "adding a study", &st)) < 0)
        return err;
    ht_db_bind_int64(st, 1, patient);
    bind_text(st, 2, r->study_instance_uid);
    bind_text(st, 3, r->study_date);
    bind_text(st, 4, r->study_time);
    bind_text(st, 5, r->accession_number);
    bind_text(st, 6, r->study_description);
    bind_text(st, 7, r->received_at);
    if ((err = ht_store__step_id(st, &study)) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->upsert_series, SQL_UPSERT_SERIES, "adding a series", &st)) <
        0)
        return err;
    ht_db_bind_int64(st, 1, study);
    bind_text(st, 2, r->series_instance_uid);
    bind_text(st, 3, r->modality);
    if (r->has_series_number)
        ht_db_bind_int64(st, 4, r->series_number);
    bind_text(st, 5, r->series_description);
    bind_text(st, 6, r->body_part_examined);
    bind_text(st, 7, r->contrast_bolus_agent);
    if (r->has_slice_thickness)
        ht_db_bind_double(st, 8, r->slice_thickness);
    bind_numbers(st, 9, r->has_pixel_spacing, r->pixel_spacing, 2);
    if (r->rows)
        ht_db_bind_int64(st, 10, r->rows);
    if (r->columns)
        ht_db_bind_int64(st, 11, r->columns);
    bind_text(st, 12, r->frame_of_reference_uid);
    if ((err = ht_store__step_id(st, &series)) < 0)
        return err;

    if ((err = ht_store__cached(s, &s->insert_instance, SQL_INSERT_INSTANCE, "adding an instance",
                                &st)) < 0)
        return err;
    ht_db_bind_int64(st, 1, series);
    bind_text(st, 2, r->sop_instance_uid);
    bind_text(st, 3, r->sop_class_uid);
    bind_text(st, 4, r->transfer_syntax_uid);
    if (r->has_instance_number)
        ht_db_bind_int64(st, 5, r->instance_number);
    bind_numbers(st, 6, r->has_image_position, r->image_position, 3);
    bind_numbers(st, 7, r->has_image_orientation, r->image_orientation, 6);
    if (r->rows)
        ht_db_bind_int64(st, 8, r->rows);
    if (r->columns)
        ht_db_bind_int64(st, 9, r->columns);
    if (r->number_of_frames)
        ht_db_bind_int64(st, 10, r->number_of_frames);
    bind_text(st, 11, r->archive_path);
    ht_db_bind_int64(st, 12, (int64_t)r->size);
    ht_db_bind_int64(st, 13, (int64_t)r->dataset_offset);
    bind_text(st, 14, r->sha256);
    bind_text(st, 15, r->received_at);
    bind_text(st, 16, r->source);
    if (r->batch > 0)
        ht_db_bind_int64(st, 17, r->batch);
    if (r->batch > 0 && s->node_id > 0)
        ht_db_bind_int64(st, 21, s->node_id);
    if (r->frame_bytes) {
        ht_db_bind_int64(st, 18, (int64_t)r->pixel_offset);
        ht_db_bind_int64(st, 19, (int64_t)r->frame_bytes);
        ht_db_bind_int64(st, 20, r->pixels_as_decoded);
    }
    err = ht_db_step(st);
    ht_db_reset(st);
    return err < 0 ? err : HT_OK;
}

int ht_store_defer_sync(ht_store *s)
{
    return ht_db_defer_sync(s->db);
}

/* Run a one-use statement binding int64 parameters, reading one int64 from its row (when out
 * is not NULL); finalized. */
static int
run_ints(ht_store *s, const char *sql, const char *what, const int64_t *params, int n, int64_t *out)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, what, &st);
    if (err < 0)
        return err;
    for (int i = 0; i < n; i++)
        ht_db_bind_int64(st, i + 1, params[i]);
    err = ht_db_step(st);
    if (err == HT_DB_ROW && out)
        *out = ht_db_int64(st, 0);
    else if (err == HT_DB_DONE && out)
        err = ht_error_set(HT_EDB, "index database: %s: no row", what);
    ht_db_finalize(st);
    return err < 0 ? err : HT_OK;
}

const char *ht_store_node_name(void)
{
    static char name[256];
    const char *env = getenv("HEPATRACK_NODE");
    if (env && *env)
        return env;
    if (!name[0] && gethostname(name, sizeof(name) - 1) != 0)
        snprintf(name, sizeof(name), "localhost");
    return name;
}

int ht_store__node(ht_store *s, int64_t *id)
{
    ht_db_stmt *st;
    int err = HT_OK;
    if (!s->node_id) {
        err = ht_store__prepare(s,
                                "INSERT INTO ingest_nodes (name) VALUES (?1)"
                                " ON CONFLICT (name) DO UPDATE SET name = excluded.name"
                                " RETURNING id",
                                "naming this node", &st);
        if (err < 0)
            return err;
        ht_db_bind_text(st, 1, ht_store_node_name());
        err = ht_db_step(st);
        s->node_id = err == HT_DB_ROW ? ht_db_int64(st, 0) : 0;
        ht_db_finalize(st);
        err = err < 0 ? err : HT_OK;
    }
    *id = s->node_id;
    return err;
}

/* This node's mark (and the index's, which rows from before nodes keep) moved up to durable. */
static int mark_durable(ht_store *s, int64_t node, int64_t durable)
{
    int64_t params[] = {durable, node};
    int err = run_ints(s,
                       "UPDATE ingest_nodes SET durable_batch ="
                       " CASE WHEN durable_batch > ?1 THEN durable_batch ELSE ?1 END"
                       " WHERE id = ?2",
                       "recording durable batches", params, 2, NULL);
    if (err == HT_OK)
        err = run_ints(s,
                       "UPDATE ingest_state SET durable_batch ="
                       " CASE WHEN durable_batch > ?1 THEN durable_batch ELSE ?1 END",
                       "recording durable batches", params, 1, NULL);
    return err;
}

int ht_store_batch_open(ht_store *s, int64_t durable, int64_t *batch)
{
    int64_t node;
    int err = ht_store__node(s, &node);
    *batch = 0;
    if (err == HT_OK && durable > 0)
        err = mark_durable(s, node, durable);
    if (err == HT_OK)
        err =
            run_ints(s, "UPDATE ingest_state SET last_batch = last_batch + 1 RETURNING last_batch",
                     "opening a batch", NULL, 0, batch);
    return err;
}

int ht_store_batch_verified(ht_store *s, int64_t batch)
{
    int64_t node;
    int err = ht_store_begin(s);
    if (err < 0)
        return err;
    err = ht_store__node(s, &node);
    if (err == HT_OK)
        err = mark_durable(s, node, batch);
    if (err == HT_OK)
        err = ht_store_commit(s);
    if (err < 0)
        ht_store_rollback(s);
    return err;
}

int ht_store_path_indexed(ht_store *s, const char *archive_path)
{
    ht_db_stmt *st;
    int err = ht_store__cached(s, &s->find_path, SQL_FIND_PATH, "looking up an archive path", &st);
    if (err < 0)
        return err;
    bind_text(st, 1, archive_path);
    err = ht_db_step(st);
    ht_db_reset(st);
    return err; /* 1 (a row), 0 (none) or an error */
}

void ht_store__copy_text(char *dst, size_t size, ht_db_stmt *st, int i)
{
    const char *t = ht_db_text(st, i);
    snprintf(dst, size, "%s", t ? t : "");
}

int ht_store_locate(ht_store *s, const char *sop_instance_uid, ht_instance_location *out)
{
    ht_db_stmt *st;
    int err =
        ht_store__cached(s, &s->find_instance, SQL_FIND_INSTANCE, "looking up an instance", &st);
    if (err < 0)
        return err;
    bind_text(st, 1, sop_instance_uid);
    err = ht_db_step(st);
    if (err == HT_DB_ROW) {
        ht_store__copy_text(out->archive_path, sizeof(out->archive_path), st, 0);
        ht_store__copy_text(out->sha256, sizeof(out->sha256), st, 1);
        out->size = (uint64_t)ht_db_int64(st, 2);
        out->dataset_offset = (uint64_t)ht_db_int64(st, 3);
        out->pixel_offset = (uint64_t)ht_db_int64(st, 4);
        out->frame_bytes = (uint64_t)ht_db_int64(st, 5);
        out->pixels_as_decoded = (int)ht_db_int64(st, 6);
        out->frames = (uint32_t)ht_db_int64(st, 7);
        ht_store__copy_text(out->transfer_syntax, sizeof(out->transfer_syntax), st, 8);
        out->batch = ht_db_int64(st, 9);
        err = HT_OK;
    } else if (err == HT_DB_DONE) {
        err = ht_error_set(HT_ENOTFOUND, "no instance has SOP Instance UID '%s'", sop_instance_uid);
    }
    ht_db_reset(st);
    return err;
}

int ht_store_delete_instance(ht_store *s, const char *sop_instance_uid, int64_t batch)
{
    /* the instance (only the row that batch added), then whatever it leaves empty above it */
    static const char *const emptied[] = {
        "DELETE FROM series WHERE id NOT IN (SELECT series FROM instances)",
        "DELETE FROM studies WHERE id NOT IN (SELECT study FROM series)",
        "DELETE FROM patients WHERE id NOT IN (SELECT patient FROM studies)",
    };
    ht_db_stmt *st;
    int err = ht_store__prepare(s,
                                "DELETE FROM instances WHERE sop_uid = ?1"
                                " AND batch IS NOT DISTINCT FROM ?2",
                                "removing an instance", &st);
    if (err < 0)
        return err;
    bind_text(st, 1, sop_instance_uid);
    if (batch > 0)
        ht_db_bind_int64(st, 2, batch);
    err = ht_db_step(st);
    int removed = err == HT_DB_DONE && ht_db_changes(st) > 0;
    ht_db_finalize(st);
    for (size_t i = 0; i < sizeof(emptied) / sizeof(emptied[0]) && err >= 0; i++)
        err = ht_db_exec(s->db, emptied[i], "removing an instance");
    return err < 0 ? err : removed;
}

int ht_store_add_conflict(ht_store *s,
                          const char *sop_instance_uid,
                          const char *stored_sha256,
                          const char *received_sha256,
                          uint64_t received_size,
                          const char *source,
                          const char *received_at)
{
    ht_db_stmt *st;
    int err =
        ht_store__cached(s, &s->insert_conflict, SQL_INSERT_CONFLICT, "recording a conflict", &st);
    if (err < 0)
        return err;
    bind_text(st, 1, sop_instance_uid);
    bind_text(st, 2, stored_sha256);
    bind_text(st, 3, received_sha256);
    ht_db_bind_int64(st, 4, (int64_t)received_size);
    bind_text(st, 5, source);
    bind_text(st, 6, received_at);
    err = ht_db_step(st);
    ht_db_reset(st);
    return err < 0 ? err : HT_OK;
}

/* The middle image: OFFSET is half the series' images, counted by the same filter. */
static const char *const SQL_SERIES_KEYFRAME =
    "WITH images AS (SELECT i.* FROM instances i JOIN series se ON i.series = se.id"
    "  WHERE se.series_uid = ?1 AND i.rows IS NOT NULL)"
    " SELECT sop_uid, archive_path, sha256, size, dataset_offset, coalesce(frames, 1)"
    " FROM images ORDER BY instance_number NULLS FIRST, sop_uid"
    " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM images)";

int ht_store_series_keyframe(ht_store *s, const char *series_uid, ht_series_keyframe *out)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, SQL_SERIES_KEYFRAME, "choosing a series' thumbnail", &st);
    if (err < 0)
        return err;
    bind_text(st, 1, series_uid);
    err = ht_db_step(st);
    if (err == HT_DB_ROW) {
        ht_store__copy_text(out->sop_instance_uid, sizeof(out->sop_instance_uid), st, 0);
        ht_store__copy_text(out->location.archive_path, sizeof(out->location.archive_path), st, 1);
        ht_store__copy_text(out->location.sha256, sizeof(out->location.sha256), st, 2);
        out->location.size = (uint64_t)ht_db_int64(st, 3);
        out->location.dataset_offset = (uint64_t)ht_db_int64(st, 4);
        out->frame = (uint32_t)((ht_db_int64(st, 5) + 1) / 2);
        err = HT_OK;
    } else if (err == HT_DB_DONE) {
        err = ht_error_set(HT_ENOTFOUND, "no series with images has Series Instance UID '%s'",
                           series_uid);
    }
    ht_db_finalize(st);
    return err;
}
