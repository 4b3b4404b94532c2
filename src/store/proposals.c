/* Proposals (schema 11) and the lookups that match an outside report to the ledger. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Step a kept write to its end and reset it: HT_OK, with the rows it changed in *changed (when
 * not NULL), or the error (set). */
static int run_write(ht_db_stmt *st, int64_t *changed)
{
    int rc = ht_db_step(st);
    if (changed)
        *changed = rc == HT_DB_DONE ? ht_db_changes(st) : 0;
    ht_db_reset(st);
    return rc < 0 ? rc : HT_OK;
}

int ht_store_proposal_add(ht_store *s, const ht_proposal_row *row)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "INSERT INTO proposals (source, item, subject, timepoint, lesion,"
                              " new_lesion, fields, status, reason, received_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                              " ON CONFLICT (source, item) DO NOTHING",
                              "recording a proposal", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, row->source);
    ht_db_bind_int64(st, 2, row->item);
    ht_db_bind_text(st, 3, row->subject);
    ht_db_bind_text(st, 4, row->timepoint);
    ht_db_bind_text(st, 5, row->lesion);
    ht_db_bind_int64(st, 6, row->new_lesion);
    ht_db_bind_text(st, 7, row->fields ? row->fields : "{}");
    ht_db_bind_text(st, 8, row->status);
    ht_db_bind_text(st, 9, row->reason ? row->reason : "");
    ht_db_bind_text(st, 10, row->received_at);
    int64_t changed;
    if ((err = run_write(st, &changed)) < 0)
        return err;
    return changed ? HT_OK : HT_EEXISTS;
}

int ht_store_proposals_each(ht_store *s,
                            const char *subject,
                            const char *status,
                            const char *source,
                            int (*cb)(void *payload, const ht_proposal_row *row),
                            void *payload)
{
    ht_db_stmt *st;
    int rc, err = ht_store__query(
                s,
                "SELECT id, source, item, subject, timepoint, lesion, new_lesion, fields, status,"
                " reason, received_at, decided_by, decided_at FROM proposals"
                " WHERE (CAST(?1 AS TEXT) IS NULL OR subject = ?1)"
                " AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)"
                " AND (CAST(?3 AS TEXT) IS NULL OR source = ?3) ORDER BY id",
                "reading proposals", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, subject);
    ht_db_bind_text(st, 2, status);
    ht_db_bind_text(st, 3, source);
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_proposal_row row = {ht_db_int64(st, 0),      ht_db_text(st, 1),  (int)ht_db_int64(st, 2),
                               ht_db_text(st, 3),       ht_db_text(st, 4),  ht_db_text(st, 5),
                               (int)ht_db_int64(st, 6), ht_db_text(st, 7),  ht_db_text(st, 8),
                               ht_db_text(st, 9),       ht_db_text(st, 10), ht_db_text(st, 11),
                               ht_db_text(st, 12)};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    ht_db_reset(st);
    if (err == HT_OK && rc < 0)
        err = rc;
    return err;
}

int ht_store_proposal_decide(
    ht_store *s, int64_t id, const char *status, const char *by, const char *at, const char *reason)
{
    ht_db_stmt *st;
    int err =
        ht_store__query(s,
                        "UPDATE proposals SET status = ?2, decided_by = ?3, decided_at = ?4,"
                        " reason = ?5 WHERE id = ?1"
                        " AND (status = 'proposed' OR (status = 'unmatched' AND ?2 = 'rejected'))",
                        "deciding a proposal", &st);
    if (err < 0)
        return err;
    ht_db_bind_int64(st, 1, id);
    ht_db_bind_text(st, 2, status);
    ht_db_bind_text(st, 3, by);
    ht_db_bind_text(st, 4, at);
    ht_db_bind_text(st, 5, reason ? reason : "");
    int64_t changed;
    if ((err = run_write(st, &changed)) < 0)
        return err;
    if (changed)
        return HT_OK;
    int exists = 0;
    if (ht_store__query(s, "SELECT count(*) FROM proposals WHERE id = ?1", "deciding a proposal",
                        &st) == HT_OK) {
        ht_db_bind_int64(st, 1, id);
        exists = ht_db_step(st) == HT_DB_ROW && ht_db_int64(st, 0) > 0;
        ht_db_reset(st);
    }
    return exists ? ht_error_set(HT_ECONFLICT, "proposal %lld was decided already", (long long)id)
                  : ht_error_set(HT_ENOTFOUND, "no proposal %lld", (long long)id);
}

/* The first column of the first row as text into out (65 bytes), resetting st; HT_ENOTFOUND
 * when there are no rows, or more than one when unique is asked. */
static int one_text(ht_db_stmt *st, int unique, char *out)
{
    int rc = ht_db_step(st), err = HT_OK;
    if (rc == HT_DB_ROW) {
        snprintf(out, 65, "%s", ht_db_text(st, 0));
        if (unique && ht_db_step(st) == HT_DB_ROW)
            err = HT_ENOTFOUND; /* two candidates: no match rather than a guess */
    } else if (rc == HT_DB_DONE) {
        err = HT_ENOTFOUND;
    } else {
        err = rc;
    }
    ht_db_reset(st);
    return err;
}

int ht_store_subject_of_patient(ht_store *s, const char *patient_id, const char *issuer, char *out)
{
    ht_db_stmt *st;
    char key[300];
    snprintf(key, sizeof(key), "%s\t%s", patient_id, issuer ? issuer : "");
    int err = ht_store__query(s,
                              "SELECT DISTINCT sj.subject_id FROM ledger_current c JOIN subjects"
                              " sj ON sj.id = c.subject WHERE c.kind = 'patient' AND c.key = ?1",
                              "matching a patient", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, key);
    if ((err = one_text(st, 1, out)) != HT_ENOTFOUND || (issuer && *issuer))
        return err;
    /* A report without an issuer: the Patient ID alone, when one subject has it. */
    if ((err = ht_store__query(s,
                               "SELECT DISTINCT sj.subject_id FROM ledger_current c JOIN subjects"
                               " sj ON sj.id = c.subject WHERE c.kind = 'patient'"
                               " AND substr(c.key, 1, length(?1) + 1) = ?1 || '\t'",
                               "matching a patient", &st)) < 0)
        return err;
    ht_db_bind_text(st, 1, patient_id);
    return one_text(st, 1, out);
}

int ht_store_timepoint_of_study(ht_store *s,
                                const char *subject_id,
                                const char *study_uid,
                                char *out)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "SELECT r.key FROM subjects sj JOIN ledger_current c"
                              " ON c.subject = sj.id AND c.kind = 'timepoint'"
                              " JOIN ledger_records r ON r.id = c.record,"
                              " json_each(r.f_study_uids) j"
                              " WHERE sj.subject_id = ?1 AND j.value = ?2",
                              "matching a study to a time point", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, subject_id);
    ht_db_bind_text(st, 2, study_uid);
    return one_text(st, 0, out);
}

int ht_store_reports_unread(
    ht_store *s,
    int (*cb)(void *payload, const char *sop_uid, const char *sop_class, const char *path),
    void *payload)
{
    ht_db_stmt *st;
    int rc,
        err = ht_store__query(
            s,
            "SELECT i.sop_uid, i.sop_class, i.archive_path FROM instances i WHERE i.sop_class IN"
            " ('1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.22',"
            " '1.2.840.10008.5.1.4.1.1.88.33', '1.2.840.10008.5.1.4.1.1.88.34',"
            " '1.2.840.10008.5.1.4.1.1.66.4')"
            " AND NOT EXISTS (SELECT 1 FROM report_imports r WHERE r.source = i.sop_uid)"
            " ORDER BY i.id LIMIT 1000",
            "listing reports", &st);
    if (err < 0)
        return err;
    /* Collected first: the callback writes proposals on this connection. At most 1,000 a
     * call: a serve loop's tick stays bounded, the rest come on the next. */
    struct unread {
        char uid[65], cls[65], path[300];
    } *rows = NULL;
    size_t n = 0, cap = 0;
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        if (HT_GROW(rows, cap, n + 1) < 0) {
            err = ht_error_set(HT_ENOMEM, "out of memory listing reports");
            break;
        }
        snprintf(rows[n].uid, sizeof(rows[n].uid), "%s", ht_db_text(st, 0));
        snprintf(rows[n].cls, sizeof(rows[n].cls), "%s", ht_db_text(st, 1));
        snprintf(rows[n].path, sizeof(rows[n].path), "%s", ht_db_text(st, 2));
        n++;
    }
    ht_db_reset(st);
    if (err == HT_OK && rc < 0)
        err = rc;
    for (size_t i = 0; i < n && err == HT_OK; i++)
        err = cb(payload, rows[i].uid, rows[i].cls, rows[i].path);
    free(rows);
    return err;
}

int ht_store_report_read(ht_store *s, const char *sop_uid, const char *at, const char *outcome)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "INSERT INTO report_imports (source, read_at, outcome)"
                              " VALUES (?1, ?2, ?3) ON CONFLICT (source) DO UPDATE SET"
                              " read_at = excluded.read_at, outcome = excluded.outcome",
                              "recording a report read", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, sop_uid);
    ht_db_bind_text(st, 2, at);
    ht_db_bind_text(st, 3, outcome);
    return run_write(st, NULL);
}

int ht_store_report_written(
    ht_store *s, const char *sop_uid, const char *subject, const char *timepoint, const char *at)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "INSERT INTO reports_written (sop_uid, subject, timepoint,"
                              " written_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                              "recording a report written", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, sop_uid);
    ht_db_bind_text(st, 2, subject);
    ht_db_bind_text(st, 3, timepoint);
    ht_db_bind_text(st, 4, at);
    return run_write(st, NULL);
}

int ht_store_report_is_ours(ht_store *s, const char *sop_uid)
{
    ht_db_stmt *st;
    int err = ht_store__query(s, "SELECT 1 FROM reports_written WHERE sop_uid = ?1",
                              "looking up a report written", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, sop_uid);
    int rc = ht_db_step(st);
    ht_db_reset(st);
    if (rc < 0)
        return rc;
    return rc == HT_DB_ROW;
}

/* The sources whose proposals all stayed unmatched, some carrying fields. */
#define REOPENED_SOURCES                                                                           \
    "(SELECT source FROM proposals GROUP BY source"                                                \
    " HAVING sum(CASE WHEN status <> 'unmatched' THEN 1 ELSE 0 END) = 0"                           \
    " AND sum(CASE WHEN fields <> '{}' THEN 1 ELSE 0 END) > 0)"

int ht_store_reports_reopen(ht_store *s)
{
    /* Reports and segmentations whose groups all stayed unmatched, some of them for want of a
     * subject or time point (they carry what they would record), are read again: a subject
     * enrolled, a patient linked or a study listed since may match them now. Their reads go
     * first: the proposals name them. */
    static const char *const sql =
        "DELETE FROM report_imports WHERE source IN " REOPENED_SOURCES ";"
        "DELETE FROM proposals WHERE source IN " REOPENED_SOURCES ";";
    return ht_db_exec(s->db, sql, "reopening unmatched reports");
}

int ht_store_ledger_stamp(ht_store *s, int64_t *stamp_out, char *where, size_t size)
{
    snprintf(where, size, "%s", s->path ? s->path : "");
    ht_db_stmt *st;
    /* Every ledger write and trial parameter change writes the audit log; a study arriving may
     * date a time point (A16): the two largest ids change whenever a result may. */
    int err = ht_store__query(s,
                              "SELECT (SELECT coalesce(max(id), 0) FROM audit) * 4294967296"
                              " + (SELECT coalesce(max(id), 0) FROM studies)",
                              "reading the ledger's stamp", &st);
    if (err < 0)
        return err;
    int rc = ht_db_step(st);
    if (rc == HT_DB_ROW)
        *stamp_out = ht_db_int64(st, 0);
    ht_db_reset(st);
    if (rc == HT_DB_DONE) /* a SELECT without FROM has its row */
        return ht_error_set(HT_EDB, "index database: reading the ledger's stamp: no row");
    return rc < 0 ? rc : HT_OK;
}

int ht_store_proposals_supersede(ht_store *s,
                                 const char *old_source,
                                 const char *new_source,
                                 const char *at)
{
    ht_db_stmt *st;
    int err = ht_store__query(s,
                              "UPDATE proposals SET status = 'rejected', decided_by = 'hepatrack',"
                              " decided_at = ?3, reason = 'superseded by report ' || ?2"
                              " WHERE source = ?1 AND status = 'proposed'",
                              "superseding proposals", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, old_source);
    ht_db_bind_text(st, 2, new_source);
    ht_db_bind_text(st, 3, at);
    return run_write(st, NULL);
}
