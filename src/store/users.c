/* SQL of the users and credentials tables (schema version 5). */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <string.h>

static int prepare(ht_store *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? HT_OK : ht_store__db_error(s->db, rc, "preparing a users query");
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* Columns name, role, password_hash, disabled, created_at from column 0. */
static void read_user(sqlite3_stmt *st, ht_user_row *out)
{
    copy_text(out->name, sizeof(out->name), st, 0);
    copy_text(out->role, sizeof(out->role), st, 1);
    copy_text(out->password_hash, sizeof(out->password_hash), st, 2);
    out->disabled = sqlite3_column_int(st, 3);
    copy_text(out->created_at, sizeof(out->created_at), st, 4);
}

/* Step a write; HT_ENOTFOUND when it changed no row and `must_change`. */
static int step_write(ht_store *s, sqlite3_stmt *st, int must_change, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return ht_error_set(HT_EEXISTS, "%s: already exists", what);
    if (rc != SQLITE_DONE)
        return ht_store__db_error(s->db, rc, what);
    if (must_change && sqlite3_changes(s->db) == 0)
        return ht_error_set(HT_ENOTFOUND, "%s: no such user or credential", what);
    return HT_OK;
}

static void bind_texts(sqlite3_stmt *st, const char *const *texts, int n)
{
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
}

/* INSERT binding texts[0..n) to ?1..?n. */
static int
insert_texts(ht_store *s, const char *sql, const char *const *texts, int n, const char *what)
{
    sqlite3_stmt *st;
    int err = prepare(s, sql, &st);
    if (err < 0)
        return err;
    bind_texts(st, texts, n);
    return step_write(s, st, 0, what);
}

int ht_store_user_add(ht_store *s, const char *name, const char *role, const char *hash)
{
    char now[32];
    ht_time_now_iso(now, sizeof(now));
    const char *values[] = {name, role, hash, now};
    int err = insert_texts(s,
                           "INSERT INTO users (name, role, password_hash, created_at)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           values, 4, "adding a user");
    if (err == HT_EEXISTS)
        return ht_error_set(HT_EEXISTS, "user '%s' already exists", name);
    return err;
}

/* The one user a SELECT of read_user's columns finds, binding texts[0..n) to ?1..?n;
 * HT_ENOTFOUND (message left to the caller) when it finds none. */
static int select_user(ht_store *s,
                       const char *sql,
                       const char *const *texts,
                       int n,
                       ht_user_row *out,
                       const char *what)
{
    sqlite3_stmt *st;
    int err = prepare(s, sql, &st);
    if (err < 0)
        return err;
    bind_texts(st, texts, n);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_user(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return HT_OK;
    return rc == SQLITE_DONE ? HT_ENOTFOUND : ht_store__db_error(s->db, rc, what);
}

int ht_store_user_get(ht_store *s, const char *name, ht_user_row *out)
{
    const char *values[] = {name};
    int err = select_user(s,
                          "SELECT name, role, password_hash, disabled, created_at FROM users"
                          " WHERE name = ?1",
                          values, 1, out, "reading a user");
    return err == HT_ENOTFOUND ? ht_error_set(HT_ENOTFOUND, "no user '%s'", name) : err;
}

static int
set_user_column(ht_store *s, const char *sql, const char *name, const char *text, int number)
{
    sqlite3_stmt *st;
    int err = prepare(s, sql, &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int(st, 2, number);
    err = step_write(s, st, 1, "updating a user");
    return err == HT_ENOTFOUND ? ht_error_set(HT_ENOTFOUND, "no user '%s'", name) : err;
}

int ht_store_user_set_hash(ht_store *s, const char *name, const char *hash)
{
    return set_user_column(s, "UPDATE users SET password_hash = ?2 WHERE name = ?1", name, hash, 0);
}

int ht_store_user_set_disabled(ht_store *s, const char *name, int disabled)
{
    return set_user_column(s, "UPDATE users SET disabled = ?2 WHERE name = ?1", name, NULL,
                           disabled != 0);
}

int ht_store_user_each(ht_store *s, int (*cb)(void *payload, const ht_user_row *row), void *payload)
{
    sqlite3_stmt *st;
    int err = prepare(s,
                      "SELECT name, role, password_hash, disabled, created_at FROM users"
                      " ORDER BY name",
                      &st),
        rc;
    if (err < 0)
        return err;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ht_user_row row;
        read_user(st, &row);
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc != SQLITE_DONE)
        err = ht_store__db_error(s->db, rc, "listing users");
    sqlite3_finalize(st);
    return err;
}

int ht_store_credential_add(
    ht_store *s, const char *digest, const char *user, const char *kind, const char *expires_at)
{
    char now[32];
    ht_time_now_iso(now, sizeof(now));
    const char *values[] = {digest, user, kind, now, expires_at};
    return insert_texts(s,
                        "INSERT INTO credentials (digest, user, kind, created_at, expires_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
                        values, 5, "recording a credential");
}

int ht_store_credential_user(
    ht_store *s, const char *digest, const char *now, const char *kind, ht_user_row *out)
{
    const char *values[] = {digest, now, kind};
    int err = select_user(s,
                          "SELECT u.name, u.role, u.password_hash, u.disabled, u.created_at"
                          " FROM credentials c JOIN users u ON u.name = c.user"
                          " WHERE c.digest = ?1 AND c.revoked_at IS NULL AND c.expires_at > ?2"
                          " AND u.disabled = 0 AND (?3 IS NULL OR c.kind = ?3)",
                          values, 3, out, "checking a credential");
    return err == HT_ENOTFOUND ? ht_error_set(HT_ENOTFOUND, "no live credential") : err;
}

int ht_store_credential_revoke(ht_store *s, const char *digest, const char *user, const char *now)
{
    sqlite3_stmt *st;
    int err = prepare(s,
                      digest ? "UPDATE credentials SET revoked_at = ?2 WHERE digest = ?1"
                               " AND revoked_at IS NULL"
                             : "UPDATE credentials SET revoked_at = ?2 WHERE user = ?1"
                               " AND revoked_at IS NULL",
                      &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, digest ? digest : user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    return step_write(s, st, 1, "revoking a credential");
}
