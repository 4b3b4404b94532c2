/* Proposals (schema 11) and the lookups that match an outside report to the ledger. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text_or_null(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void bind_optional(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int ht_store_proposal_add(ht_store *s, const ht_proposal_row *row)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "INSERT INTO proposals (source, item, subject, timepoint, lesion,"
                              " new_lesion, fields, status, reason, received_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                              " ON CONFLICT (source, item) DO NOTHING",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, row->source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, row->item);
    bind_optional(st, 3, row->subject);
    bind_optional(st, 4, row->timepoint);
    bind_optional(st, 5, row->lesion);
    sqlite3_bind_int(st, 6, row->new_lesion);
    sqlite3_bind_text(st, 7, row->fields ? row->fields : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, row->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, row->reason ? row->reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, row->received_at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "recording a proposal");
    return changed ? HT_OK : HT_EEXISTS;
}

int ht_store_proposals_each(ht_store *s,
                            const char *subject,
                            const char *status,
                            const char *source,
                            int (*cb)(void *payload, const ht_proposal_row *row),
                            void *payload)
{
    sqlite3_stmt *st;
    int rc, err = ht_store__query(
                s,
                "SELECT id, source, item, subject, timepoint, lesion, new_lesion, fields, status,"
                " reason, received_at, decided_by, decided_at FROM proposals"
                " WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR status = ?2)"
                " AND (?3 IS NULL OR source = ?3) ORDER BY id",
                &st);
    if (err < 0)
        return err;
    bind_optional(st, 1, subject);
    bind_optional(st, 2, status);
    bind_optional(st, 3, source);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_proposal_row row = {
            sqlite3_column_int64(st, 0), text_or_null(st, 1),  sqlite3_column_int(st, 2),
            text_or_null(st, 3),         text_or_null(st, 4),  text_or_null(st, 5),
            sqlite3_column_int(st, 6),   text_or_null(st, 7),  text_or_null(st, 8),
            text_or_null(st, 9),         text_or_null(st, 10), text_or_null(st, 11),
            text_or_null(st, 12)};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    sqlite3_reset(st);
    if (err == HT_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = ht_store__db_error(s->db, rc, "reading proposals");
    return err;
}

int ht_store_proposal_decide(
    ht_store *s, int64_t id, const char *status, const char *by, const char *at, const char *reason)
{
    sqlite3_stmt *st;
    int err =
        ht_store__query(s,
                        "UPDATE proposals SET status = ?2, decided_by = ?3, decided_at = ?4,"
                        " reason = ?5 WHERE id = ?1"
                        " AND (status = 'proposed' OR (status = 'unmatched' AND ?2 = 'rejected'))",
                        &st);
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "deciding a proposal");
    if (changed)
        return HT_OK;
    int exists = 0;
    if (ht_store__query(s, "SELECT count(*) FROM proposals WHERE id = ?1", &st) == HT_OK) {
        sqlite3_bind_int64(st, 1, id);
        exists = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
        sqlite3_reset(st);
    }
    return exists ? ht_error_set(HT_ECONFLICT, "proposal %lld was decided already", (long long)id)
                  : ht_error_set(HT_ENOTFOUND, "no proposal %lld", (long long)id);
}

/* The first column of the first row as text into out (65 bytes); HT_ENOTFOUND when there are
 * no rows, or more than one when unique is asked. */
static int one_text(ht_store *s, sqlite3_stmt *st, int unique, char *out, const char *what)
{
    int rc = sqlite3_step(st), err = HT_OK;
    if (rc == SQLITE_ROW) {
        snprintf(out, 65, "%s", (const char *)sqlite3_column_text(st, 0));
        if (unique && sqlite3_step(st) == SQLITE_ROW)
            err = HT_ENOTFOUND; /* two candidates: no match rather than a guess */
    } else if (rc == SQLITE_DONE) {
        err = HT_ENOTFOUND;
    } else {
        err = ht_store__db_error(s->db, rc, what);
    }
    sqlite3_reset(st);
    return err;
}

int ht_store_subject_of_patient(ht_store *s, const char *patient_id, const char *issuer, char *out)
{
    sqlite3_stmt *st;
    char key[300];
    snprintf(key, sizeof(key), "%s\t%s", patient_id, issuer ? issuer : "");
    int err = ht_store__query(s,
                              "SELECT DISTINCT sj.subject_id FROM ledger_current c JOIN subjects sj"
                              " ON sj.id = c.subject WHERE c.kind = 'patient' AND c.key = ?1",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if ((err = one_text(s, st, 1, out, "matching a patient")) != HT_ENOTFOUND ||
        (issuer && *issuer))
        return err;
    /* A report without an issuer: the Patient ID alone, when one subject has it. */
    if ((err =
             ht_store__query(s,
                             "SELECT DISTINCT sj.subject_id FROM ledger_current c JOIN subjects sj"
                             " ON sj.id = c.subject WHERE c.kind = 'patient'"
                             " AND substr(c.key, 1, length(?1) + 1) = ?1 || char(9)",
                             &st)) < 0)
        return err;
    sqlite3_bind_text(st, 1, patient_id, -1, SQLITE_STATIC);
    return one_text(s, st, 1, out, "matching a patient");
}

int ht_store_timepoint_of_study(ht_store *s,
                                const char *subject_id,
                                const char *study_uid,
                                char *out)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "SELECT r.key FROM subjects sj JOIN ledger_current c"
                              " ON c.subject = sj.id AND c.kind = 'timepoint'"
                              " JOIN ledger_records r ON r.id = c.record,"
                              " json_each(r.f_study_uids) j"
                              " WHERE sj.subject_id = ?1 AND j.value = ?2",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, subject_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, study_uid, -1, SQLITE_STATIC);
    return one_text(s, st, 0, out, "matching a study to a time point");
}

int ht_store_reports_unread(
    ht_store *s,
    int (*cb)(void *payload, const char *sop_uid, const char *sop_class, const char *path),
    void *payload)
{
    sqlite3_stmt *st;
    int rc,
        err = ht_store__query(
            s,
            "SELECT i.sop_uid, i.sop_class, i.archive_path FROM instances i WHERE i.sop_class IN"
            " ('1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.22',"
            " '1.2.840.10008.5.1.4.1.1.88.33', '1.2.840.10008.5.1.4.1.1.88.34',"
            " '1.2.840.10008.5.1.4.1.1.66.4')"
            " AND NOT EXISTS (SELECT 1 FROM report_imports r WHERE r.source = i.sop_uid)"
            " ORDER BY i.id LIMIT 1000",
            &st);
    if (err < 0)
        return err;
    /* Collected first: the callback writes proposals on this connection. At most 1,000 a
     * call: a serve loop's tick stays bounded, the rest come on the next. */
    struct unread {
        char uid[65], cls[65], path[300];
    } *rows = NULL;
    size_t n = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (HT_GROW(rows, cap, n + 1) < 0) {
            err = ht_error_set(HT_ENOMEM, "out of memory listing reports");
            break;
        }
        snprintf(rows[n].uid, sizeof(rows[n].uid), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(rows[n].cls, sizeof(rows[n].cls), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(rows[n].path, sizeof(rows[n].path), "%s",
                 (const char *)sqlite3_column_text(st, 2));
        n++;
    }
    sqlite3_reset(st);
    if (err == HT_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = ht_store__db_error(s->db, rc, "listing reports");
    for (size_t i = 0; i < n && err == HT_OK; i++)
        err = cb(payload, rows[i].uid, rows[i].cls, rows[i].path);
    free(rows);
    return err;
}

int ht_store_report_read(ht_store *s, const char *sop_uid, const char *at, const char *outcome)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "INSERT OR REPLACE INTO report_imports (source, read_at, outcome)"
                              " VALUES (?1, ?2, ?3)",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, sop_uid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, "recording a report read");
}

int ht_store_report_written(
    ht_store *s, const char *sop_uid, const char *subject, const char *timepoint, const char *at)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "INSERT OR IGNORE INTO reports_written (sop_uid, subject, timepoint,"
                              " written_at) VALUES (?1, ?2, ?3, ?4)",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, sop_uid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, timepoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, "recording a report written");
}

int ht_store_report_is_ours(ht_store *s, const char *sop_uid)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s, "SELECT 1 FROM reports_written WHERE sop_uid = ?1", &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, sop_uid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, "looking up a report written");
    return rc == SQLITE_ROW;
}

int ht_store_reports_reopen(ht_store *s)
{
    /* Reports and segmentations whose groups all stayed unmatched, some of them for want of a
     * subject or time point (they carry what they would record), are read again: a subject
     * enrolled, a patient linked or a study listed since may match them now. */
    static const char *const sql =
        "CREATE TEMP TABLE IF NOT EXISTS reopen (source TEXT PRIMARY KEY);"
        "DELETE FROM temp.reopen;"
        "INSERT INTO temp.reopen SELECT source FROM proposals GROUP BY source"
        " HAVING sum(status <> 'unmatched') = 0 AND sum(fields <> '{}') > 0;"
        "DELETE FROM proposals WHERE source IN (SELECT source FROM temp.reopen);"
        "DELETE FROM report_imports WHERE source IN (SELECT source FROM temp.reopen);";
    char *message = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &message);
    sqlite3_free(message);
    return rc == SQLITE_OK ? HT_OK : ht_store__db_error(s->db, rc, "reopening unmatched reports");
}

int ht_store_ledger_stamp(ht_store *s, int64_t *stamp_out, char *where, size_t size)
{
    const char *file = sqlite3_db_filename(s->db, "main");
    snprintf(where, size, "%s", file ? file : "");
    sqlite3_stmt *st;
    /* Every ledger write and trial parameter change writes the audit log; a study arriving may
     * date a time point (A16): the two largest ids change whenever a result may. */
    int err = ht_store__query(s,
                              "SELECT (SELECT coalesce(max(id), 0) FROM audit) * 4294967296"
                              " + (SELECT coalesce(max(id), 0) FROM studies)",
                              &st);
    if (err < 0)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *stamp_out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? HT_OK : ht_store__db_error(s->db, rc, "reading the ledger's stamp");
}

int ht_store_proposals_supersede(ht_store *s,
                                 const char *old_source,
                                 const char *new_source,
                                 const char *at)
{
    sqlite3_stmt *st;
    int err = ht_store__query(s,
                              "UPDATE proposals SET status = 'rejected', decided_by = 'hepatrack',"
                              " decided_at = ?3, reason = 'superseded by report ' || ?2"
                              " WHERE source = ?1 AND status = 'proposed'",
                              &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, old_source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, new_source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, "superseding proposals");
}
