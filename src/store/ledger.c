/* The lesion ledger's SQL: subjects, versioned records, the audit log, trial parameters. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text(ht_db_stmt *st, int i)
{
    const char *t = ht_db_text(st, i);
    return t ? t : "";
}

/* Step a statement that returns no row; a one-use one is finalized, a cached one reset. */
static int step_done(ht_db_stmt *st, int cached)
{
    int err = ht_db_step(st);
    if (cached)
        ht_db_reset(st);
    else
        ht_db_finalize(st);
    return err < 0 ? err : HT_OK;
}

int ht_store_subject_find(ht_store *s, const char *subject_id, int64_t *id)
{
    ht_db_stmt *st;
    int err = ht_store__cached(s, &s->subject_find, "SELECT id FROM subjects WHERE subject_id = ?1",
                               "finding a subject", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, subject_id);
    err = ht_db_step(st);
    if (err == HT_DB_ROW)
        *id = ht_db_int64(st, 0);
    ht_db_reset(st);
    if (err == HT_DB_ROW)
        return HT_OK;
    if (err == HT_DB_DONE)
        return ht_error_set(HT_ENOTFOUND, "no trial subject '%s'", subject_id);
    return err;
}

int ht_store_subject_ensure(
    ht_store *s, const char *subject_id, const char *now, int64_t *id, int *created)
{
    ht_db_stmt *st;
    int err = ht_store_subject_find(s, subject_id, id);
    *created = 0;
    if (err != HT_ENOTFOUND)
        return err;
    if ((err = ht_store__prepare(s,
                                 "INSERT INTO subjects (subject_id, created_at) VALUES (?1, ?2)"
                                 " RETURNING id",
                                 "adding a subject", &st)) < 0)
        return err;
    ht_db_bind_text(st, 1, subject_id);
    ht_db_bind_text(st, 2, now);
    err = ht_db_step(st);
    if (err == HT_DB_ROW)
        *id = ht_db_int64(st, 0);
    ht_db_finalize(st);
    if (err != HT_DB_ROW)
        return err < 0 ? err : ht_error_set(HT_EDB, "index database: adding a subject: no id");
    *created = 1;
    return HT_OK;
}

int ht_store_subject_each(ht_store *s,
                          int (*cb)(void *payload, const char *subject_id),
                          void *payload)
{
    ht_db_stmt *st;
    int rc, err = ht_store__prepare(s, "SELECT subject_id FROM subjects ORDER BY subject_id",
                                    "listing subjects", &st);
    if (err < 0)
        return err;
    while ((rc = ht_db_step(st)) == HT_DB_ROW)
        if ((err = cb(payload, text(st, 0))) != 0)
            break;
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    return err;
}

static int each_row(ht_db_stmt *st, ht_ledger_cb cb, void *payload)
{
    int rc, err = HT_OK;
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_ledger_row row = {ht_db_int64(st, 0),
                             text(st, 1),
                             text(st, 2),
                             (int)ht_db_int64(st, 3),
                             text(st, 4),
                             (int)ht_db_int64(st, 5),
                             text(st, 6),
                             text(st, 7),
                             text(st, 8),
                             ht_db_int64(st, 9),
                             NULL};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    return err;
}

/* Records of one subject (?1) by a query of the columns each_row reads. */
static int
subject_rows(ht_store *s, const char *sql, int64_t subject, ht_ledger_cb cb, void *payload)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, "reading the ledger", &st);
    if (err < 0)
        return err;
    ht_db_bind_int64(st, 1, subject);
    return each_row(st, cb, payload);
}

int ht_store_ledger_current(ht_store *s, int64_t subject, ht_ledger_cb cb, void *payload)
{
    /* Versions are appended in order, so a record's latest version has its largest id. */
    return subject_rows(s,
                        "SELECT r.id, r.kind, r.key, r.version, r.body, r.retracted, r.reader,"
                        " r.reason, r.recorded_at, h.first"
                        " FROM (SELECT max(id) AS cur, min(id) AS first FROM ledger_records"
                        "       WHERE subject = ?1 GROUP BY kind, key) h"
                        " JOIN ledger_records r ON r.id = h.cur ORDER BY r.kind, r.key",
                        subject, cb, payload);
}

/* Unpack ledger_current's fields (migration 10) into row, splitting buf in place. One pass
 * over the bytes: most fields are empty, so a call per field would cost more than the scan. */
static int unpack_fields(char *buf, ht_ledger_fields *row)
{
    char *p = buf;
    int f = 0, last = 0;
    for (;;) {
        char *value = p;
        while (*p && *p != '\x1f')
            p++;
        last = *p == '\0';
        *p = '\0';
        row->text[f] = NULL;
        row->num[f] = 0;
        if (*value == 'i') {
            row->num[f] = strtoll(value + 1, NULL, 10);
            row->text[f] = ""; /* present; numbers are read from num */
        } else if (*value) {   /* text, or a real as its text (as SQLite's text of it) */
            row->text[f] = value + 1;
        }
        if (++f == HT_LF_COUNT || last)
            break;
        p++;
    }
    if (f != HT_LF_COUNT || !last)
        return ht_error_set(HT_EDB, "a current ledger record does not have %d fields", HT_LF_COUNT);
    return HT_OK;
}

int ht_store_ledger_fields(ht_store *s,
                           const char *subject_id,
                           ht_ledger_fields_cb cb,
                           void *payload)
{
    ht_db_stmt *st;
    int rc, err;
    char *buf = NULL;
    size_t cap = 0;

    /* The current versions (migration 10) in their primary key's order: one seek per subject,
     * then a scan of its narrow rows (CROSS JOIN keeps SQLite's planner to that order). */
    if ((err = ht_store__prepare(s,
                                 subject_id ? "SELECT sj.subject_id, r.kind, r.key, r.fields"
                                              " FROM subjects sj CROSS JOIN ledger_current r"
                                              " WHERE r.subject = sj.id AND sj.subject_id = ?1"
                                              " ORDER BY r.kind, r.key"
                                            : "SELECT sj.subject_id, r.kind, r.key, r.fields"
                                              " FROM subjects sj CROSS JOIN ledger_current r"
                                              " WHERE r.subject = sj.id"
                                              " ORDER BY sj.id, r.kind, r.key",
                                 "reading the ledger", &st)) < 0)
        return err;
    if (subject_id)
        ht_db_bind_text(st, 1, subject_id);
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_ledger_fields row;
        size_t len = ht_db_bytes(st, 3);
        if (HT_GROW(buf, cap, len + 1) < 0) {
            err = ht_error_set(HT_ENOMEM, "out of memory reading the ledger");
            break;
        }
        memcpy(buf, text(st, 3), len + 1);
        row.subject_id = text(st, 0);
        row.kind = text(st, 1);
        row.key = text(st, 2);
        if ((err = unpack_fields(buf, &row)) < 0 || (err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    free(buf);
    return err;
}

int ht_store_ledger_history(ht_store *s, int64_t subject, ht_ledger_cb cb, void *payload)
{
    return subject_rows(s,
                        "SELECT r.id, r.kind, r.key, r.version, r.body, r.retracted, r.reader,"
                        " r.reason, r.recorded_at, (SELECT min(f.id) FROM ledger_records f"
                        "  WHERE f.subject = r.subject AND f.kind = r.kind AND f.key = r.key)"
                        " FROM ledger_records r WHERE r.subject = ?1 ORDER BY r.id",
                        subject, cb, payload);
}

/* The new version is its record's current one (versions are appended in order): replace the
 * record's row of ledger_current, or remove it for a retraction. */
static int keep_current(ht_store *s, int64_t subject, const ht_ledger_row *row, int64_t id)
{
    ht_db_stmt *st;
    int err;
    if (row->retracted)
        err = ht_store__cached(s, &s->ledger_uncurrent,
                               "DELETE FROM ledger_current WHERE subject = ?1 AND kind = ?2"
                               " AND key = ?3",
                               "recording a ledger version", &st);
    else if (row->fields)
        err = ht_store__cached(s, &s->ledger_current,
                               "INSERT INTO ledger_current (subject, kind, key, record, fields)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)"
                               " ON CONFLICT (subject, kind, key) DO UPDATE SET"
                               " record = excluded.record, fields = excluded.fields",
                               "recording a ledger version", &st);
    else
        err = ht_store__cached(s, &s->ledger_current_packed,
                               "INSERT INTO ledger_current (subject, kind, key, record, fields)"
                               " SELECT ?1, ?2, ?3, ?4, fields FROM ledger_packed"
                               " WHERE id = ?4"
                               " ON CONFLICT (subject, kind, key) DO UPDATE SET"
                               " record = excluded.record, fields = excluded.fields",
                               "recording a ledger version", &st);
    if (err < 0)
        return err;
    ht_db_bind_int64(st, 1, subject);
    ht_db_bind_text(st, 2, row->kind);
    ht_db_bind_text(st, 3, row->key);
    if (!row->retracted)
        ht_db_bind_int64(st, 4, id);
    if (!row->retracted && row->fields)
        ht_db_bind_text(st, 5, row->fields);
    return step_done(st, 1);
}

int ht_store_ledger_append(ht_store *s, int64_t subject, const ht_ledger_row *row)
{
    ht_db_stmt *st;
    int err = ht_store__cached(s, &s->ledger_append,
                               "INSERT INTO ledger_records (subject, kind, key, version, body,"
                               " retracted, reader, reason, recorded_at)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                               "recording a ledger version", &st);
    if (err < 0)
        return err;
    ht_db_bind_int64(st, 1, subject);
    ht_db_bind_text(st, 2, row->kind);
    ht_db_bind_text(st, 3, row->key);
    ht_db_bind_int64(st, 4, row->version);
    ht_db_bind_text(st, 5, row->body ? row->body : "");
    ht_db_bind_int64(st, 6, row->retracted);
    ht_db_bind_text(st, 7, row->reader ? row->reader : "");
    ht_db_bind_text(st, 8, row->reason ? row->reason : "");
    ht_db_bind_text(st, 9, row->recorded_at);
    int64_t id = 0;
    if ((err = ht_store__step_id(st, &id)) < 0)
        return err;
    return keep_current(s, subject, row, id);
}

int ht_store_audit_add(ht_store *s,
                       const char *at,
                       const char *user,
                       const char *action,
                       const char *subject_id,
                       const char *detail)
{
    ht_db_stmt *st;
    int err = ht_store__cached(s, &s->audit_add,
                               "INSERT INTO audit (at, \"user\", action, subject, detail)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               "writing the audit log", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, at);
    ht_db_bind_text(st, 2, user ? user : "");
    ht_db_bind_text(st, 3, action);
    ht_db_bind_text(st, 4, subject_id ? subject_id : "");
    ht_db_bind_text(st, 5, detail ? detail : "");
    return step_done(st, 1);
}

int ht_store_audit_each(ht_store *s,
                        const char *subject_id,
                        int (*cb)(void *payload, const ht_audit_row *row),
                        void *payload)
{
    ht_db_stmt *st;
    int rc, err = ht_store__prepare(s,
                                    "SELECT at, \"user\", action, subject, detail FROM audit"
                                    " WHERE CAST(?1 AS TEXT) IS NULL OR subject = ?1 ORDER BY id",
                                    "reading the audit log", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, subject_id);
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_audit_row row = {text(st, 0), text(st, 1), text(st, 2), text(st, 3), text(st, 4)};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    return err;
}

int ht_store_param_set(ht_store *s, const char *key, const char *value)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s,
                                "INSERT INTO trial_parameters (key, value) VALUES (?1, ?2)"
                                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                "setting a trial parameter", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, key);
    ht_db_bind_text(st, 2, value);
    return step_done(st, 0);
}

int ht_store_param_get(ht_store *s, const char *key, char *value, size_t size)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, "SELECT value FROM trial_parameters WHERE key = ?1",
                                "reading a parameter", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, key);
    err = ht_db_step(st);
    if (err == HT_DB_ROW)
        snprintf(value, size, "%s", text(st, 0));
    ht_db_finalize(st);
    return err < 0 ? err : err == HT_DB_ROW ? HT_OK : HT_ENOTFOUND;
}

int ht_store_param_each(ht_store *s,
                        int (*cb)(void *payload, const char *key, const char *value),
                        void *payload)
{
    ht_db_stmt *st;
    int rc, err = ht_store__prepare(s, "SELECT key, value FROM trial_parameters ORDER BY key",
                                    "listing parameters", &st);
    if (err < 0)
        return err;
    while ((rc = ht_db_step(st)) == HT_DB_ROW)
        if ((err = cb(payload, text(st, 0), text(st, 1))) != 0)
            break;
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    return err;
}
