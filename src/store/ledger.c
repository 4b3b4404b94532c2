/* The lesion ledger's SQL: subjects, versioned records, the audit log, trial parameters. */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prepare(ht_store *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? HT_OK : ht_store__db_error(s->db, rc, "preparing a ledger query");
}

static const char *text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int step_done(ht_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, what);
}

/* Step a cached statement (which is reset, not finalized). */
static int step_cached(ht_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? HT_OK : ht_store__db_error(s->db, rc, what);
}

int ht_store_subject_find(ht_store *s, const char *subject_id, int64_t *id)
{
    sqlite3_stmt *st;
    int err =
        ht_store__cached(s, &s->subject_find, "SELECT id FROM subjects WHERE subject_id = ?1", &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, subject_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return HT_OK;
    if (rc == SQLITE_DONE)
        return ht_error_set(HT_ENOTFOUND, "no trial subject '%s'", subject_id);
    return ht_store__db_error(s->db, rc, "finding a subject");
}

int ht_store_subject_ensure(
    ht_store *s, const char *subject_id, const char *now, int64_t *id, int *created)
{
    sqlite3_stmt *st;
    int err = ht_store_subject_find(s, subject_id, id);
    *created = 0;
    if (err != HT_ENOTFOUND)
        return err;
    if ((err = prepare(s, "INSERT INTO subjects (subject_id, created_at) VALUES (?1, ?2)", &st)) <
        0)
        return err;
    sqlite3_bind_text(st, 1, subject_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    if ((err = step_done(s, st, "adding a subject")) < 0)
        return err;
    *id = sqlite3_last_insert_rowid(s->db);
    *created = 1;
    return HT_OK;
}

int ht_store_subject_each(ht_store *s,
                          int (*cb)(void *payload, const char *subject_id),
                          void *payload)
{
    sqlite3_stmt *st;
    int err = prepare(s, "SELECT subject_id FROM subjects ORDER BY subject_id", &st), rc;
    if (err < 0)
        return err;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((err = cb(payload, text(st, 0))) != 0)
            break;
    if (err == HT_OK && rc != SQLITE_DONE)
        err = ht_store__db_error(s->db, rc, "listing subjects");
    sqlite3_finalize(st);
    return err;
}

static int each_row(ht_store *s, sqlite3_stmt *st, ht_ledger_cb cb, void *payload)
{
    int rc, err = HT_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_ledger_row row = {sqlite3_column_int64(st, 0),
                             text(st, 1),
                             text(st, 2),
                             sqlite3_column_int(st, 3),
                             text(st, 4),
                             sqlite3_column_int(st, 5),
                             text(st, 6),
                             text(st, 7),
                             text(st, 8),
                             sqlite3_column_int64(st, 9),
                             NULL};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc != SQLITE_DONE)
        err = ht_store__db_error(s->db, rc, "reading the ledger");
    sqlite3_finalize(st);
    return err;
}

int ht_store_ledger_current(ht_store *s, int64_t subject, ht_ledger_cb cb, void *payload)
{
    sqlite3_stmt *st;
    /* Versions are appended in order, so a record's latest version has its largest id. */
    int err = prepare(s,
                      "SELECT r.id, r.kind, r.key, r.version, r.body, r.retracted, r.reader,"
                      " r.reason, r.recorded_at, h.first"
                      " FROM (SELECT max(id) AS cur, min(id) AS first FROM ledger_records"
                      "       WHERE subject = ?1 GROUP BY kind, key) h"
                      " JOIN ledger_records r ON r.id = h.cur ORDER BY r.kind, r.key",
                      &st);
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, subject);
    return each_row(s, st, cb, payload);
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
        } else if (*value) {   /* text, or a real as its text (as sqlite3_column_text gives it) */
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
    sqlite3_stmt *st;
    int rc, err;
    char *buf = NULL;
    size_t cap = 0;

    /* The current versions (migration 10) in their primary key's order: one seek per subject,
     * then a scan of its narrow rows. */
    if ((err = prepare(s,
                       subject_id ? "SELECT sj.subject_id, r.kind, r.key, r.fields"
                                    " FROM subjects sj CROSS JOIN ledger_current r"
                                    " ON r.subject = sj.id WHERE sj.subject_id = ?1"
                                    " ORDER BY r.kind, r.key"
                                  : "SELECT sj.subject_id, r.kind, r.key, r.fields"
                                    " FROM subjects sj CROSS JOIN ledger_current r"
                                    " ON r.subject = sj.id ORDER BY sj.id, r.kind, r.key",
                       &st)) < 0)
        return err;
    if (subject_id)
        sqlite3_bind_text(st, 1, subject_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_ledger_fields row;
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        if (HT_GROW(buf, cap, len + 1) < 0) {
            err = ht_error_set(HT_ENOMEM, "out of memory reading the ledger");
            break;
        }
        memcpy(buf, sqlite3_column_text(st, 3), len + 1);
        row.subject_id = text(st, 0);
        row.kind = text(st, 1);
        row.key = text(st, 2);
        if ((err = unpack_fields(buf, &row)) < 0 || (err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = ht_store__db_error(s->db, rc, "reading the ledger");
    sqlite3_finalize(st);
    free(buf);
    return err;
}

int ht_store_ledger_history(ht_store *s, int64_t subject, ht_ledger_cb cb, void *payload)
{
    sqlite3_stmt *st;
    int err = prepare(s,
                      "SELECT r.id, r.kind, r.key, r.version, r.body, r.retracted, r.reader,"
                      " r.reason, r.recorded_at, (SELECT min(f.id) FROM ledger_records f"
                      "  WHERE f.subject = r.subject AND f.kind = r.kind AND f.key = r.key)"
                      " FROM ledger_records r WHERE r.subject = ?1 ORDER BY r.id",
                      &st);
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, subject);
    return each_row(s, st, cb, payload);
}

/* The new version is its record's current one (versions are appended in order): replace the
 * record's row of ledger_current, or remove it for a retraction. */
static int keep_current(ht_store *s, int64_t subject, const ht_ledger_row *row, int64_t id)
{
    sqlite3_stmt *st;
    int err;
    if (row->retracted)
        err = ht_store__cached(s, &s->ledger_uncurrent,
                               "DELETE FROM ledger_current WHERE subject = ?1 AND kind = ?2"
                               " AND key = ?3",
                               &st);
    else if (row->fields)
        err = ht_store__cached(s, &s->ledger_current,
                               "INSERT OR REPLACE INTO ledger_current (subject, kind, key, record,"
                               " fields) VALUES (?1, ?2, ?3, ?4, ?5)",
                               &st);
    else
        err = ht_store__cached(s, &s->ledger_current_packed,
                               "INSERT OR REPLACE INTO ledger_current (subject, kind, key, record,"
                               " fields) SELECT ?1, ?2, ?3, ?4, fields FROM ledger_packed"
                               " WHERE id = ?4",
                               &st);
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, subject);
    sqlite3_bind_text(st, 2, row->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->key, -1, SQLITE_STATIC);
    if (!row->retracted)
        sqlite3_bind_int64(st, 4, id);
    if (!row->retracted && row->fields)
        sqlite3_bind_text(st, 5, row->fields, -1, SQLITE_STATIC);
    return step_cached(s, st, "recording a ledger version");
}

int ht_store_ledger_append(ht_store *s, int64_t subject, const ht_ledger_row *row)
{
    sqlite3_stmt *st;
    int err = ht_store__cached(s, &s->ledger_append,
                               "INSERT INTO ledger_records (subject, kind, key, version, body,"
                               " retracted, reader, reason, recorded_at)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                               &st);
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, subject);
    sqlite3_bind_text(st, 2, row->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, row->version);
    sqlite3_bind_text(st, 5, row->body ? row->body : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, row->retracted);
    sqlite3_bind_text(st, 7, row->reader ? row->reader : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, row->reason ? row->reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, row->recorded_at, -1, SQLITE_STATIC);
    if ((err = step_cached(s, st, "recording a ledger version")) < 0)
        return err;
    return keep_current(s, subject, row, sqlite3_last_insert_rowid(s->db));
}

int ht_store_audit_add(ht_store *s,
                       const char *at,
                       const char *user,
                       const char *action,
                       const char *subject_id,
                       const char *detail)
{
    sqlite3_stmt *st;
    int err = ht_store__cached(s, &s->audit_add,
                               "INSERT INTO audit (at, user, action, subject, detail)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user ? user : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subject_id ? subject_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
    return step_cached(s, st, "writing the audit log");
}

int ht_store_audit_each(ht_store *s,
                        const char *subject_id,
                        int (*cb)(void *payload, const ht_audit_row *row),
                        void *payload)
{
    sqlite3_stmt *st;
    int err = prepare(s,
                      "SELECT at, user, action, subject, detail FROM audit"
                      " WHERE ?1 IS NULL OR subject = ?1 ORDER BY id",
                      &st),
        rc;
    if (err < 0)
        return err;
    if (subject_id)
        sqlite3_bind_text(st, 1, subject_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_audit_row row = {text(st, 0), text(st, 1), text(st, 2), text(st, 3), text(st, 4)};
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc != SQLITE_DONE)
        err = ht_store__db_error(s->db, rc, "reading the audit log");
    sqlite3_finalize(st);
    return err;
}

int ht_store_param_set(ht_store *s, const char *key, const char *value)
{
    sqlite3_stmt *st;
    int err = prepare(s,
                      "INSERT INTO trial_parameters (key, value) VALUES (?1, ?2)"
                      " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                      &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return step_done(s, st, "setting a trial parameter");
}

int ht_store_param_get(ht_store *s, const char *key, char *value, size_t size)
{
    sqlite3_stmt *st;
    int err = prepare(s, "SELECT value FROM trial_parameters WHERE key = ?1", &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(value, size, "%s", text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return HT_OK;
    return rc == SQLITE_DONE ? HT_ENOTFOUND : ht_store__db_error(s->db, rc, "reading a parameter");
}

int ht_store_param_each(ht_store *s,
                        int (*cb)(void *payload, const char *key, const char *value),
                        void *payload)
{
    sqlite3_stmt *st;
    int err = prepare(s, "SELECT key, value FROM trial_parameters ORDER BY key", &st), rc;
    if (err < 0)
        return err;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((err = cb(payload, text(st, 0), text(st, 1))) != 0)
            break;
    if (err == HT_OK && rc != SQLITE_DONE)
        err = ht_store__db_error(s->db, rc, "listing parameters");
    sqlite3_finalize(st);
    return err;
}
