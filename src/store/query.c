/* Read queries: listings, show, file enumeration. Column names are DICOM keywords. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

static const char *const list_sql[] = {
    [HT_LIST_PATIENTS] =
        "SELECT p.patient_id AS \"PatientID\", p.issuer AS \"IssuerOfPatientID\", p.name AS "
        "\"PatientName\","
        " p.birth_date AS \"PatientBirthDate\", p.sex AS \"PatientSex\","
        " (SELECT count(*) FROM studies s WHERE s.patient = p.id)"
        "   AS \"NumberOfPatientRelatedStudies\","
        " (SELECT count(*) FROM instances i JOIN series se ON i.series = se.id"
        "   JOIN studies s ON se.study = s.id WHERE s.patient = p.id) AS \"NumberOfInstances\""
        " FROM patients p"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        " ORDER BY p.patient_id, p.issuer",
    [HT_LIST_STUDIES] =
        "SELECT p.patient_id AS \"PatientID\", p.issuer AS \"IssuerOfPatientID\","
        " p.name AS \"PatientName\", s.study_uid AS \"StudyInstanceUID\", s.study_date AS "
        "\"StudyDate\","
        " s.study_time AS \"StudyTime\", s.accession AS \"AccessionNumber\","
        " s.description AS \"StudyDescription\","
        " (SELECT string_agg(m, '\\') FROM (SELECT DISTINCT se.modality AS m FROM series se"
        "   WHERE se.study = s.id ORDER BY 1) AS x) AS \"ModalitiesInStudy\","
        " (SELECT count(*) FROM series se WHERE se.study = s.id) AS \"NumberOfStudyRelatedSeries\","
        " (SELECT count(*) FROM instances i JOIN series se ON i.series = se.id"
        "   WHERE se.study = s.id) AS \"NumberOfInstances\","
        " s.last_received_at AS \"LastReceivedTime\", s.stable_at AS \"StableTime\""
        " FROM studies s JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3)"
        /* ?5: only studies that no time point's current version lists in its study_uids */
        "   AND (CAST(?5 AS TEXT) IS NULL OR s.study_uid NOT IN (SELECT j.value FROM "
        "ledger_records r,"
        "     json_each(r.f_study_uids) j WHERE r.kind = 'timepoint' AND r.version ="
        "     (SELECT max(r2.version) FROM ledger_records r2 WHERE r2.subject = r.subject"
        "      AND r2.kind = r.kind AND r2.key = r.key)))"
        " ORDER BY p.patient_id, s.study_date, s.study_time, s.study_uid",
    [HT_LIST_SERIES] =
        "SELECT s.study_uid AS \"StudyInstanceUID\", se.series_uid AS \"SeriesInstanceUID\","
        " se.modality AS \"Modality\", se.series_number AS \"SeriesNumber\","
        " se.description AS \"SeriesDescription\", se.body_part AS \"BodyPartExamined\","
        " se.contrast_agent AS \"ContrastBolusAgent\", se.slice_thickness AS \"SliceThickness\","
        " se.pixel_spacing AS \"PixelSpacing\", se.rows AS \"Rows\", se.columns AS \"Columns\","
        " nullif(se.frame_of_reference, '') AS \"FrameOfReferenceUID\","
        " (SELECT count(*) FROM instances i WHERE i.series = se.id) AS \"NumberOfInstances\""
        " FROM series se JOIN studies s ON se.study = s.id JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY s.study_uid, se.series_number NULLS FIRST, se.series_uid",
    [HT_LIST_INSTANCES] =
        "SELECT se.series_uid AS \"SeriesInstanceUID\", i.sop_uid AS \"SOPInstanceUID\","
        " i.sop_class AS \"SOPClassUID\", i.transfer_syntax AS \"TransferSyntaxUID\","
        " i.instance_number AS \"InstanceNumber\", i.image_position AS \"ImagePositionPatient\","
        " i.image_orientation AS \"ImageOrientationPatient\", i.rows AS \"Rows\", i.columns AS "
        "\"Columns\","
        " i.frames AS \"NumberOfFrames\", i.size AS \"FileSize\", i.sha256 AS \"SHA256\","
        " i.archive_path AS \"ArchivePath\", i.received_at AS \"ReceivedTime\", i.source AS "
        "\"Source\""
        " FROM instances i JOIN series se ON i.series = se.id JOIN studies s ON se.study = s.id"
        " JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY se.series_uid, i.instance_number NULLS FIRST, i.sop_uid",
    [HT_LIST_CONFLICTS] =
        "SELECT c.sop_uid AS \"SOPInstanceUID\", c.stored_sha256 AS \"StoredSHA256\","
        " c.received_sha256 AS \"ReceivedSHA256\", c.received_size AS \"ReceivedSize\","
        " c.source AS \"Source\", c.received_at AS \"ReceivedTime\""
        " FROM conflicts c LEFT JOIN instances i ON i.sop_uid = c.sop_uid"
        " LEFT JOIN series se ON i.series = se.id LEFT JOIN studies s ON se.study = s.id"
        " LEFT JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY c.received_at, c.id",
};

/* Columns of DICOM multi-valued DS text (backslash-separated numbers). */
static ht_value_type column_type(ht_db_stmt *st, int i, const char *name)
{
    static const char *const numbers[] = {"ImagePositionPatient", "ImageOrientationPatient",
                                          "PixelSpacing"};
    ht_value_type type = ht_db_column_type(st, i);
    for (size_t k = 0; type == HT_VALUE_TEXT && k < sizeof(numbers) / sizeof(numbers[0]); k++)
        if (!strcmp(name, numbers[k]))
            return HT_VALUE_NUMBERS;
    return type;
}

int ht_store__rows(ht_store *s, ht_db_stmt *st, ht_row_cb cb, void *payload, int *rows)
{
    const char *names[MAX_COLUMNS];
    const char *values[MAX_COLUMNS];
    ht_value_type types[MAX_COLUMNS];
    int rc, result = HT_OK;

    if (rows)
        *rows = 0;
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        int n = ht_db_column_count(st); /* known once a row is there (PostgreSQL) */
        if (n > MAX_COLUMNS)
            n = MAX_COLUMNS;
        for (int i = 0; i < n; i++) {
            names[i] = ht_db_column_name(st, i);
            types[i] = column_type(st, i, names[i]);
            values[i] = types[i] == HT_VALUE_NULL ? NULL : ht_db_text(st, i);
        }
        ht_row row = {n, names, types, values};
        if (rows)
            (*rows)++;
        if (cb && (result = cb(payload, &row)) != 0)
            break;
    }
    if (result == HT_OK && rc < 0)
        result = rc;
    for (size_t i = 0; i < sizeof(s->queries) / sizeof(s->queries[0]); i++)
        if (s->queries[i].st == st) {
            ht_db_reset(st);
            return result;
        }
    ht_db_finalize(st);
    return result;
}

const char *ht_row_value(const ht_row *row, const char *name)
{
    for (int i = 0; i < row->ncols; i++)
        if (!strcmp(row->names[i], name))
            return row->values[i];
    return NULL;
}

int ht_store__query(ht_store *s, const char *sql, const char *what, ht_db_stmt **out)
{
    size_t n = sizeof(s->queries) / sizeof(s->queries[0]);
    for (size_t i = 0; i < n; i++)
        if (s->queries[i].sql && !strcmp(s->queries[i].sql, sql)) {
            *out = s->queries[i].st;
            return HT_OK;
        }
    char *copy = strdup(sql);
    if (!copy)
        return ht_error_set(HT_ENOMEM, "out of memory preparing a query");
    int err = ht_db_prepare(s->db, sql, 1, what, out);
    if (err < 0) {
        free(copy);
        return err;
    }
    unsigned k = s->next_query++ % (unsigned)n; /* the oldest goes */
    ht_db_finalize(s->queries[k].st);
    free(s->queries[k].sql);
    s->queries[k].sql = copy;
    s->queries[k].st = *out;
    return HT_OK;
}

/*
 * A listing's SQL with each "(?N IS NULL OR column = ?N)" narrowed to what the filter gives:
 * "(column = ?N)" when parameter N is given, "(CAST(?N AS TEXT) IS NULL)" when it is not. SQLite's
 * planner cannot use a column's index through the OR, so a patient's studies were found by a scan
 * of every study. Other predicates stay as written. Malloc'ed; NULL when out of memory.
 */
static char *narrowed(const char *sql, const int given[6])
{
    size_t n = strlen(sql);
    char *out = malloc(2 * n + 1), *o = out; /* a CAST is longer than what it replaces */
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        int k = p[0] == '(' && p[1] == '?' && p[2] >= '1' && p[2] <= '5' ? p[2] - '0' : 0;
        const char *expr = k && !strncmp(p + 3, " IS NULL OR ", 12) ? p + 15 : NULL;
        const char *end = expr ? strchr(expr, ')') : NULL;
        char tail[8];
        snprintf(tail, sizeof(tail), "= ?%d", k);
        size_t tn = strlen(tail);
        if (!end || (size_t)(end - expr) < tn || strncmp(end - tn, tail, tn) ||
            memchr(expr, '(', (size_t)(end - expr))) {
            *o++ = *p++;
            continue;
        }
        if (given[k])
            o += sprintf(o, "(%.*s)", (int)(end - expr), expr);
        else
            o += sprintf(o, "(CAST(?%d AS TEXT) IS NULL)", k);
        p = end + 1;
    }
    *o = '\0';
    return out;
}

int ht_store_list(
    ht_store *s, ht_list_kind kind, const ht_list_filter *filter, ht_row_cb cb, void *payload)
{
    static const ht_list_filter none = {0};
    ht_db_stmt *st;

    if ((unsigned)kind > HT_LIST_CONFLICTS)
        return ht_error_set(HT_EINVALID, "unknown listing kind %d", (int)kind);
    if (!filter)
        filter = &none;
    const int given[6] = {0,
                          filter->patient_id != NULL,
                          filter->patient_id && filter->issuer,
                          filter->study_instance_uid != NULL,
                          filter->series_instance_uid != NULL,
                          filter->unassigned};
    char *sql = narrowed(list_sql[kind], given);
    if (!sql)
        return ht_error_set(HT_ENOMEM, "out of memory preparing a listing");
    int err = ht_store__prepare(s, sql, "listing the index", &st);
    free(sql);
    if (err < 0)
        return err;
    const char *params[] = {filter->patient_id, filter->patient_id ? filter->issuer : NULL,
                            filter->study_instance_uid, filter->series_instance_uid,
                            filter->unassigned ? "1" : NULL};
    int n = ht_db_param_count(st);
    for (int i = 0; i < n && i < 5; i++)
        ht_db_bind_text(st, i + 1, params[i]);
    return ht_store__rows(s, st, cb, payload, NULL);
}

/* Run a one-use query with one text parameter; its rows to cb. */
static int rows_for(ht_store *s,
                    const char *sql,
                    const char *what,
                    const char *param,
                    ht_row_cb cb,
                    void *payload,
                    int *rows)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, what, &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, param);
    return ht_store__rows(s, st, cb, payload, rows);
}

int ht_store_show(ht_store *s, const char *uid, ht_list_kind *kind, ht_row_cb cb, void *payload)
{
    static const ht_list_kind order[] = {HT_LIST_INSTANCES, HT_LIST_SERIES, HT_LIST_STUDIES};
    static const char *const by_uid[] = {
        "SELECT 1 FROM instances WHERE sop_uid = ?1",
        "SELECT 1 FROM series WHERE series_uid = ?1",
        "SELECT 1 FROM studies WHERE study_uid = ?1",
    };

    for (size_t k = 0; k < 3; k++) {
        int rows = 0, err = rows_for(s, by_uid[k], "looking up a UID", uid, NULL, NULL, &rows);
        if (err < 0)
            return err;
        if (rows == 0)
            continue;
        ht_list_filter f = {0};
        if (order[k] == HT_LIST_INSTANCES) {
            /* One instance, with the UIDs of everything above it. */
            const char *sql =
                "SELECT se.series_uid AS \"SeriesInstanceUID\","
                " s.study_uid AS \"StudyInstanceUID\", p.patient_id AS \"PatientID\","
                " p.issuer AS \"IssuerOfPatientID\", i.sop_uid AS \"SOPInstanceUID\","
                " i.sop_class AS \"SOPClassUID\", i.transfer_syntax AS \"TransferSyntaxUID\","
                " i.instance_number AS \"InstanceNumber\","
                " i.image_position AS \"ImagePositionPatient\","
                " i.image_orientation AS \"ImageOrientationPatient\", i.rows AS \"Rows\","
                " i.columns AS \"Columns\", i.frames AS \"NumberOfFrames\","
                " i.size AS \"FileSize\", i.sha256 AS \"SHA256\","
                " i.archive_path AS \"ArchivePath\", i.received_at AS \"ReceivedTime\","
                " i.source AS \"Source\""
                " FROM instances i JOIN series se ON i.series = se.id"
                " JOIN studies s ON se.study = s.id JOIN patients p ON s.patient = p.id"
                " WHERE i.sop_uid = ?1";
            *kind = HT_LIST_INSTANCES;
            return rows_for(s, sql, "looking up an instance", uid, cb, payload, NULL);
        }
        if (order[k] == HT_LIST_SERIES)
            f.series_instance_uid = uid;
        else
            f.study_instance_uid = uid;
        *kind = order[k];
        return ht_store_list(s, order[k], &f, cb, payload);
    }
    return ht_error_set(HT_ENOTFOUND, "no study, series or instance has UID '%s'", uid);
}

/* The file entries a prepared query of (sop_uid, archive_path, sha256, size, dataset_offset,
 * batch) finds; finalizes it. */
static int each_rows(ht_db_stmt *st, ht_file_cb cb, void *payload)
{
    int rc, result = HT_OK;
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_file_entry e = {ht_db_text(st, 0),
                           ht_db_text(st, 1),
                           ht_db_text(st, 2),
                           (uint64_t)ht_db_int64(st, 3),
                           (uint64_t)ht_db_int64(st, 4),
                           ht_db_int64(st, 5)};
        if ((result = cb(payload, &e)) != 0)
            break;
    }
    if (result == HT_OK && rc < 0)
        result = rc;
    ht_db_finalize(st);
    return result;
}

/* The callback of ht_store_each_unconfirmed_file, and the newest batch it was given. */
typedef struct newest_batch {
    ht_file_cb cb;
    void *payload;
    int64_t newest;
} newest_batch;

static int note_newest(void *payload, const ht_file_entry *e)
{
    newest_batch *nb = payload;
    nb->newest = e->batch > nb->newest ? e->batch : nb->newest;
    return nb->cb(nb->payload, e);
}

/* A page of ht_store_each_file: the callback's walk, and the last path it saw. */
typedef struct file_page {
    ht_file_cb cb;
    void *payload;
    char last[256]; /* an archive path (under 100 bytes) */
    int rows;
} file_page;

static int page_file(void *payload, const ht_file_entry *e)
{
    file_page *p = payload;
    snprintf(p->last, sizeof(p->last), "%s", e->archive_path);
    p->rows++;
    return p->cb(p->payload, e);
}

int ht_store_each_file(ht_store *s, ht_file_cb cb, void *payload)
{
    /* in pages of the path index's order, so that a server's client (PostgreSQL's reads a
     * statement's rows whole) holds one page however large the archive */
    enum { PAGE = 10000 };
    file_page p = {cb, payload, "", 0};
    int err;
    do {
        ht_db_stmt *st;
        p.rows = 0;
        err = ht_store__prepare(s,
                                "SELECT sop_uid, archive_path, sha256, size, dataset_offset, batch"
                                " FROM instances WHERE archive_path > ?1 ORDER BY archive_path"
                                " LIMIT 10000",
                                "listing files", &st);
        if (err < 0)
            return err;
        ht_db_bind_text(st, 1, p.last);
        err = each_rows(st, page_file, &p);
    } while (err == HT_OK && p.rows == PAGE);
    return err;
}

/* A one-use query's first column of its one row as an integer (0 when it has no row). */
static int one_int(ht_store *s, const char *sql, const char *what, int64_t *out)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, what, &st);
    if (err < 0)
        return err;
    err = ht_db_step(st);
    *out = err == HT_DB_ROW ? ht_db_int64(st, 0) : 0;
    ht_db_finalize(st);
    return err < 0 ? err : HT_OK;
}

int ht_store_each_unconfirmed_file(ht_store *s, ht_file_cb cb, void *payload, int64_t *newest)
{
    /* each a range of the batch index beyond a mark: a few batches however large the archive */
    static const char *const mine =
        "SELECT sop_uid, archive_path, sha256, size, dataset_offset, batch FROM instances"
        " WHERE batch > (SELECT durable_batch FROM ingest_nodes WHERE id = ?1) AND node = ?1"
        " UNION ALL"
        " SELECT sop_uid, archive_path, sha256, size, dataset_offset, batch FROM instances"
        " WHERE batch > (SELECT durable_batch FROM ingest_state) AND node IS NULL"
        " ORDER BY 6, 2";
    ht_db_stmt *st;
    int64_t node;
    newest_batch nb = {cb, payload, 0};
    int err = ht_store__node(s, &node);
    *newest = 0;
    if (err == HT_OK)
        err = ht_store__prepare(s, mine, "finding unconfirmed batches", &st);
    if (err < 0)
        return err;
    ht_db_bind_int64(st, 1, node);
    err = each_rows(st, note_newest, &nb);
    *newest = nb.newest;
    return err;
}

int ht_store_count(ht_store *s, ht_list_kind kind, int64_t *count)
{
    static const char *const sql[] = {
        [HT_LIST_PATIENTS] = "SELECT count(*) FROM patients",
        [HT_LIST_STUDIES] = "SELECT count(*) FROM studies",
        [HT_LIST_SERIES] = "SELECT count(*) FROM series",
        [HT_LIST_INSTANCES] = "SELECT count(*) FROM instances",
        [HT_LIST_CONFLICTS] = "SELECT count(*) FROM conflicts",
    };
    if ((unsigned)kind > HT_LIST_CONFLICTS)
        return ht_error_set(HT_EINVALID, "unknown listing kind %d", (int)kind);
    return one_int(s, sql[kind], "counting", count);
}

int ht_store_instance_origin(ht_store *s, const char *sop_instance_uid, ht_instance_origin *out)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s,
                                "SELECT p.patient_id, p.issuer, st.study_uid FROM instances i"
                                " JOIN series se ON se.id = i.series"
                                " JOIN studies st ON st.id = se.study"
                                " JOIN patients p ON p.id = st.patient WHERE i.sop_uid = ?1",
                                "looking up an instance's patient", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, sop_instance_uid);
    err = ht_db_step(st);
    if (err == HT_DB_ROW) {
        ht_store__copy_text(out->patient_id, sizeof(out->patient_id), st, 0);
        ht_store__copy_text(out->issuer, sizeof(out->issuer), st, 1);
        ht_store__copy_text(out->study_uid, sizeof(out->study_uid), st, 2);
        err = HT_OK;
    } else if (err == HT_DB_DONE) {
        err = ht_error_set(HT_ENOTFOUND, "no instance has SOP Instance UID '%s'", sop_instance_uid);
    }
    ht_db_finalize(st);
    return err;
}

int ht_store_study_date(ht_store *s, const char *study_instance_uid, char *out)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, "SELECT study_date FROM studies WHERE study_uid = ?1",
                                "looking up a study date", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, study_instance_uid);
    err = ht_db_step(st);
    const char *d = err == HT_DB_ROW ? ht_db_text(st, 0) : NULL;
    out[0] = '\0';
    if (d && strlen(d) == 8) /* DICOM DA is YYYYMMDD */
        snprintf(out, 11, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    ht_db_finalize(st);
    return err < 0 ? err : err == HT_DB_ROW ? HT_OK : HT_ENOTFOUND;
}

int ht_store_study_modalities(ht_store *s, const char *study_instance_uid, char *out, size_t size)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "SELECT DISTINCT se.modality FROM series se"
                              " JOIN studies st ON st.id = se.study WHERE st.study_uid = ?1"
                              " AND se.modality <> '' ORDER BY se.modality",
                              "looking up a study's modalities", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, study_instance_uid);
    size_t used = 0;
    int rc;
    out[0] = '\0';
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        const char *m = ht_db_text(st, 0);
        int n = snprintf(out + used, size - used, "%s%s", used ? "\\" : "", m ? m : "");
        if (n < 0 || (size_t)n >= size - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)n;
    }
    ht_db_reset(st);
    return rc < 0 ? rc : HT_OK;
}

int ht_store_mark_stable(ht_store *s,
                         const char *before,
                         const char *now,
                         int (*cb)(void *payload, const char *study_uid),
                         void *payload)
{
    ht_db_stmt *st;
    int rc, err = ht_store__prepare(s,
                                    "UPDATE studies SET stable_at = ?2 WHERE stable_at IS NULL"
                                    " AND last_received_at IS NOT NULL AND last_received_at < ?1"
                                    " RETURNING study_uid",
                                    "marking stable studies", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, before);
    ht_db_bind_text(st, 2, now);
    while ((rc = ht_db_step(st)) == HT_DB_ROW)
        if (cb && err == HT_OK)
            err = cb(payload, ht_db_text(st, 0));
    if (rc < 0 && err == HT_OK)
        err = rc;
    ht_db_finalize(st);
    return err;
}
