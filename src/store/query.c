/* Read queries: listings, show, file enumeration. Column names are DICOM keywords. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

static const char *const list_sql[] = {
    [HT_LIST_PATIENTS] =
        "SELECT p.patient_id AS PatientID, p.issuer AS IssuerOfPatientID, p.name AS PatientName,"
        " p.birth_date AS PatientBirthDate, p.sex AS PatientSex,"
        " (SELECT count(*) FROM studies s WHERE s.patient = p.id)"
        "   AS NumberOfPatientRelatedStudies,"
        " (SELECT count(*) FROM instances i JOIN series se ON i.series = se.id"
        "   JOIN studies s ON se.study = s.id WHERE s.patient = p.id) AS NumberOfInstances"
        " FROM patients p"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        " ORDER BY p.patient_id, p.issuer",
    [HT_LIST_STUDIES] =
        "SELECT p.patient_id AS PatientID, p.issuer AS IssuerOfPatientID,"
        " p.name AS PatientName, s.study_uid AS StudyInstanceUID, s.study_date AS StudyDate,"
        " s.study_time AS StudyTime, s.accession AS AccessionNumber,"
        " s.description AS StudyDescription,"
        " (SELECT group_concat(m, '\\') FROM (SELECT DISTINCT se.modality AS m FROM series se"
        "   WHERE se.study = s.id ORDER BY 1)) AS ModalitiesInStudy,"
        " (SELECT count(*) FROM series se WHERE se.study = s.id) AS NumberOfStudyRelatedSeries,"
        " (SELECT count(*) FROM instances i JOIN series se ON i.series = se.id"
        "   WHERE se.study = s.id) AS NumberOfInstances,"
        " s.last_received_at AS LastReceivedTime, s.stable_at AS StableTime"
        " FROM studies s JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3)"
        /* ?5: only studies that no time point's current version lists in its study_uids */
        "   AND (?5 IS NULL OR s.study_uid NOT IN (SELECT j.value FROM ledger_records r,"
        "     json_each(r.f_study_uids) j WHERE r.kind = 'timepoint' AND r.version ="
        "     (SELECT max(r2.version) FROM ledger_records r2 WHERE r2.subject = r.subject"
        "      AND r2.kind = r.kind AND r2.key = r.key)))"
        " ORDER BY p.patient_id, s.study_date, s.study_time, s.study_uid",
    [HT_LIST_SERIES] =
        "SELECT s.study_uid AS StudyInstanceUID, se.series_uid AS SeriesInstanceUID,"
        " se.modality AS Modality, se.series_number AS SeriesNumber,"
        " se.description AS SeriesDescription, se.body_part AS BodyPartExamined,"
        " se.contrast_agent AS ContrastBolusAgent, se.slice_thickness AS SliceThickness,"
        " se.pixel_spacing AS PixelSpacing, se.rows AS Rows, se.columns AS Columns,"
        " nullif(se.frame_of_reference, '') AS FrameOfReferenceUID,"
        " (SELECT count(*) FROM instances i WHERE i.series = se.id) AS NumberOfInstances"
        " FROM series se JOIN studies s ON se.study = s.id JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY s.study_uid, se.series_number, se.series_uid",
    [HT_LIST_INSTANCES] =
        "SELECT se.series_uid AS SeriesInstanceUID, i.sop_uid AS SOPInstanceUID,"
        " i.sop_class AS SOPClassUID, i.transfer_syntax AS TransferSyntaxUID,"
        " i.instance_number AS InstanceNumber, i.image_position AS ImagePositionPatient,"
        " i.image_orientation AS ImageOrientationPatient, i.rows AS Rows, i.columns AS Columns,"
        " i.frames AS NumberOfFrames, i.size AS FileSize, i.sha256 AS SHA256,"
        " i.archive_path AS ArchivePath, i.received_at AS ReceivedTime, i.source AS Source"
        " FROM instances i JOIN series se ON i.series = se.id JOIN studies s ON se.study = s.id"
        " JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY se.series_uid, i.instance_number, i.sop_uid",
    [HT_LIST_CONFLICTS] =
        "SELECT c.sop_uid AS SOPInstanceUID, c.stored_sha256 AS StoredSHA256,"
        " c.received_sha256 AS ReceivedSHA256, c.received_size AS ReceivedSize,"
        " c.source AS Source, c.received_at AS ReceivedTime"
        " FROM conflicts c LEFT JOIN instances i ON i.sop_uid = c.sop_uid"
        " LEFT JOIN series se ON i.series = se.id LEFT JOIN studies s ON se.study = s.id"
        " LEFT JOIN patients p ON s.patient = p.id"
        " WHERE (?1 IS NULL OR p.patient_id = ?1) AND (?2 IS NULL OR p.issuer = ?2)"
        "   AND (?3 IS NULL OR s.study_uid = ?3) AND (?4 IS NULL OR se.series_uid = ?4)"
        " ORDER BY c.received_at, c.id",
};

static ht_value_type column_type(sqlite3_stmt *st, int i)
{
    const char *decl = sqlite3_column_decltype(st, i);
    if (decl && strcmp(decl, "TEXT_NUMLIST") == 0 && sqlite3_column_type(st, i) != SQLITE_NULL)
        return HT_VALUE_NUMBERS;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return HT_VALUE_INT;
    case SQLITE_FLOAT:
        return HT_VALUE_REAL;
    case SQLITE_NULL:
        return HT_VALUE_NULL;
    default:
        return HT_VALUE_TEXT;
    }
}

int ht_store__rows(ht_store *s, sqlite3_stmt *st, ht_row_cb cb, void *payload, int *rows)
{
    const char *names[MAX_COLUMNS];
    const char *values[MAX_COLUMNS];
    ht_value_type types[MAX_COLUMNS];
    int n = sqlite3_column_count(st), rc, result = HT_OK;

    if (n > MAX_COLUMNS)
        n = MAX_COLUMNS;
    if (rows)
        *rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            names[i] = sqlite3_column_name(st, i);
            types[i] = column_type(st, i);
            values[i] = types[i] == HT_VALUE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
        }
        ht_row row = {n, names, types, values};
        if (rows)
            (*rows)++;
        if (cb && (result = cb(payload, &row)) != 0)
            break;
    }
    if (result == HT_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        result = ht_store__db_error(s->db, rc, "reading the index");
    for (size_t i = 0; i < sizeof(s->queries) / sizeof(s->queries[0]); i++)
        if (s->queries[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return result;
        }
    sqlite3_finalize(st);
    return result;
}

const char *ht_row_value(const ht_row *row, const char *name)
{
    for (int i = 0; i < row->ncols; i++)
        if (!strcmp(row->names[i], name))
            return row->values[i];
    return NULL;
}

int ht_store__query(ht_store *s, const char *sql, sqlite3_stmt **out)
{
    size_t n = sizeof(s->queries) / sizeof(s->queries[0]);
    for (size_t i = 0; i < n; i++)
        if (s->queries[i].sql && !strcmp(s->queries[i].sql, sql)) {
            *out = s->queries[i].st;
            return HT_OK;
        }
    char *copy = strdup(sql);
    int rc = copy ? sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL)
                  : SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
        free(copy);
        return ht_store__db_error(s->db, rc, "preparing a query");
    }
    unsigned k = s->next_query++ % (unsigned)n; /* the oldest goes */
    sqlite3_finalize(s->queries[k].st);
    free(s->queries[k].sql);
    s->queries[k].sql = copy;
    s->queries[k].st = *out;
    return HT_OK;
}

static void bind_optional(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/*
 * A listing's SQL with each "(?N IS NULL OR column = ?N)" narrowed to what the filter gives:
 * "(column = ?N)" when parameter N is given, "(?N IS NULL)" when it is not. SQLite's planner
 * cannot use a column's index through the OR, so a patient's studies were found by a scan of
 * every study. Other predicates stay as written. Malloc'ed; NULL when out of memory.
 */
static char *narrowed(const char *sql, const int given[6])
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1), *o = out;
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
            o += sprintf(o, "(?%d IS NULL)", k);
        p = end + 1;
    }
    *o = '\0';
    return out;
}

int ht_store_list(
    ht_store *s, ht_list_kind kind, const ht_list_filter *filter, ht_row_cb cb, void *payload)
{
    static const ht_list_filter none = {0};
    sqlite3_stmt *st;
    int rc;

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
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "preparing a listing");
    bind_optional(st, 1, filter->patient_id);
    bind_optional(st, 2, filter->patient_id ? filter->issuer : NULL);
    if (sqlite3_bind_parameter_count(st) >= 3)
        bind_optional(st, 3, filter->study_instance_uid);
    if (sqlite3_bind_parameter_count(st) >= 4)
        bind_optional(st, 4, filter->series_instance_uid);
    if (sqlite3_bind_parameter_count(st) >= 5 && filter->unassigned)
        sqlite3_bind_int(st, 5, 1);
    return ht_store__rows(s, st, cb, payload, NULL);
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
        sqlite3_stmt *st;
        int rows = 0, rc = sqlite3_prepare_v2(s->db, by_uid[k], -1, &st, NULL);
        if (rc != SQLITE_OK)
            return ht_store__db_error(s->db, rc, "looking up a UID");
        sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
        int err = ht_store__rows(s, st, NULL, NULL, &rows);
        if (err < 0)
            return err;
        if (rows == 0)
            continue;
        ht_list_filter f = {0};
        if (order[k] == HT_LIST_INSTANCES) {
            /* One instance, with the UIDs of everything above it. */
            const char *sql =
                "SELECT se.series_uid AS SeriesInstanceUID, s.study_uid AS StudyInstanceUID,"
                " p.patient_id AS PatientID, p.issuer AS IssuerOfPatientID,"
                " i.sop_uid AS SOPInstanceUID, i.sop_class AS SOPClassUID,"
                " i.transfer_syntax AS TransferSyntaxUID, i.instance_number AS InstanceNumber,"
                " i.image_position AS ImagePositionPatient,"
                " i.image_orientation AS ImageOrientationPatient, i.rows AS Rows,"
                " i.columns AS Columns, i.frames AS NumberOfFrames, i.size AS FileSize,"
                " i.sha256 AS SHA256, i.archive_path AS ArchivePath,"
                " i.received_at AS ReceivedTime, i.source AS Source"
                " FROM instances i JOIN series se ON i.series = se.id"
                " JOIN studies s ON se.study = s.id JOIN patients p ON s.patient = p.id"
                " WHERE i.sop_uid = ?1";
            rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
            if (rc != SQLITE_OK)
                return ht_store__db_error(s->db, rc, "looking up an instance");
            sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
            *kind = HT_LIST_INSTANCES;
            return ht_store__rows(s, st, cb, payload, NULL);
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

/* The file entries a query of (sop_uid, archive_path, sha256, size, dataset_offset, batch)
 * finds. */
static int each_file(ht_store *s, const char *sql, ht_file_cb cb, void *payload)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    int result = HT_OK;

    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "listing files");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_file_entry e = {
            (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
            (const char *)sqlite3_column_text(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
            (uint64_t)sqlite3_column_int64(st, 4),    sqlite3_column_int64(st, 5)};
        if ((result = cb(payload, &e)) != 0)
            break;
    }
    if (result == HT_OK && rc != SQLITE_DONE)
        result = ht_store__db_error(s->db, rc, "listing files");
    sqlite3_finalize(st);
    return result;
}

int ht_store_each_file(ht_store *s, ht_file_cb cb, void *payload)
{
    return each_file(s,
                     "SELECT sop_uid, archive_path, sha256, size, dataset_offset, batch"
                     " FROM instances ORDER BY archive_path",
                     cb, payload);
}

int ht_store_each_unconfirmed_file(ht_store *s, ht_file_cb cb, void *payload, int64_t *newest)
{
    sqlite3_stmt *st;
    int rc =
        sqlite3_prepare_v2(s->db,
                           "SELECT CASE WHEN last_batch > durable_batch THEN last_batch ELSE 0 END"
                           " FROM ingest_state",
                           -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "finding unconfirmed batches");
    rc = sqlite3_step(st);
    *newest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return ht_store__db_error(s->db, rc, "finding unconfirmed batches");
    if (!*newest)
        return HT_OK;
    /* the batch index's range beyond the mark: a few batches however large the archive */
    return each_file(s,
                     "SELECT sop_uid, archive_path, sha256, size, dataset_offset, batch"
                     " FROM instances WHERE batch > (SELECT durable_batch FROM ingest_state)"
                     " ORDER BY batch, archive_path",
                     cb, payload);
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
    sqlite3_stmt *st;
    int rc;

    if ((unsigned)kind > HT_LIST_CONFLICTS)
        return ht_error_set(HT_EINVALID, "unknown listing kind %d", (int)kind);
    rc = sqlite3_prepare_v2(s->db, sql[kind], -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "counting");
    rc = sqlite3_step(st);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? HT_OK : ht_store__db_error(s->db, rc, "counting");
}

int ht_store_instance_origin(ht_store *s, const char *sop_instance_uid, ht_instance_origin *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT p.patient_id, p.issuer, st.study_uid FROM instances i"
                                " JOIN series se ON se.id = i.series"
                                " JOIN studies st ON st.id = se.study"
                                " JOIN patients p ON p.id = st.patient WHERE i.sop_uid = ?1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "looking up an instance's patient");
    sqlite3_bind_text(st, 1, sop_instance_uid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out->patient_id, sizeof(out->patient_id), "%s", sqlite3_column_text(st, 0));
        snprintf(out->issuer, sizeof(out->issuer), "%s", sqlite3_column_text(st, 1));
        snprintf(out->study_uid, sizeof(out->study_uid), "%s", sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return ht_error_set(HT_ENOTFOUND, "no instance has SOP Instance UID '%s'",
                            sop_instance_uid);
    return rc == SQLITE_ROW ? HT_OK : ht_store__db_error(s->db, rc, "looking up an instance");
}

int ht_store_study_date(ht_store *s, const char *study_instance_uid, char *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "SELECT study_date FROM studies WHERE study_uid = ?1", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "looking up a study date");
    sqlite3_bind_text(st, 1, study_instance_uid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    const unsigned char *d = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    out[0] = '\0';
    if (d && strlen((const char *)d) == 8) /* DICOM DA is YYYYMMDD */
        snprintf(out, 11, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "looking up a study date");
    return rc == SQLITE_ROW ? HT_OK : HT_ENOTFOUND;
}

int ht_store_study_modalities(ht_store *s, const char *study_instance_uid, char *out, size_t size)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "SELECT DISTINCT se.modality FROM series se"
                              " JOIN studies st ON st.id = se.study WHERE st.study_uid = ?1"
                              " AND se.modality <> '' ORDER BY se.modality",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, study_instance_uid, -1, SQLITE_STATIC);
    size_t used = 0;
    int rc;
    out[0] = '\0';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        int n = snprintf(out + used, size - used, "%s%s", used ? "\\" : "", m ? m : "");
        if (n < 0 || (size_t)n >= size - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)n;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "looking up a study's modalities");
    return HT_OK;
}

int ht_store_mark_stable(ht_store *s,
                         const char *before,
                         const char *now,
                         int (*cb)(void *payload, const char *study_uid),
                         void *payload)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db,
                                "UPDATE studies SET stable_at = ?2 WHERE stable_at IS NULL"
                                " AND last_received_at IS NOT NULL AND last_received_at < ?1"
                                " RETURNING study_uid",
                                -1, &st, NULL);
    int err = HT_OK;
    if (rc != SQLITE_OK)
        return ht_store__db_error(s->db, rc, "marking stable studies");
    sqlite3_bind_text(st, 1, before, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb && err == HT_OK)
            err = cb(payload, (const char *)sqlite3_column_text(st, 0));
    if (rc != SQLITE_DONE && err == HT_OK)
        err = ht_store__db_error(s->db, rc, "marking stable studies");
    sqlite3_finalize(st);
    return err;
}
