/* SQL of the users and credentials tables (schema version 5). */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <string.h>

/* Columns name, role, password_hash, disabled, created_at from column 0. */
static void read_user(ht_db_stmt *st, ht_user_row *out)
{
    ht_store__copy_text(out->name, sizeof(out->name), st, 0);
    ht_store__copy_text(out->role, sizeof(out->role), st, 1);
    ht_store__copy_text(out->password_hash, sizeof(out->password_hash), st, 2);
    out->disabled = (int)ht_db_int64(st, 3);
    ht_store__copy_text(out->created_at, sizeof(out->created_at), st, 4);
}

/* Step a write and finalize it; HT_ENOTFOUND when it changed no row and `must_change`. A
 * constraint it breaks comes back as HT_EEXISTS with the database's message. */
static int step_write(ht_db_stmt *st, int must_change, const char *what)
{
    int rc = ht_db_step(st);
    int64_t changed = rc == HT_DB_DONE ? ht_db_changes(st) : 0;
    ht_db_finalize(st);
    if (rc < 0)
        return rc;
    if (must_change && changed == 0)
        return ht_error_set(HT_ENOTFOUND, "%s: no such user or credential", what);
    return HT_OK;
}

static void bind_texts(ht_db_stmt *st, const char *const *texts, int n)
{
    for (int i = 0; i < n; i++)
        ht_db_bind_text(st, i + 1, texts[i]);
}

/* INSERT binding texts[0..n) to ?1..?n. */
static int
insert_texts(ht_store *s, const char *sql, const char *const *texts, int n, const char *what)
{
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, what, &st);
    if (err < 0)
        return err;
    bind_texts(st, texts, n);
    return step_write(st, 0, what);
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
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, what, &st);
    if (err < 0)
        return err;
    bind_texts(st, texts, n);
    int rc = ht_db_step(st);
    if (rc == HT_DB_ROW)
        read_user(st, out);
    ht_db_finalize(st);
    if (rc == HT_DB_ROW)
        return HT_OK;
    return rc == HT_DB_DONE ? HT_ENOTFOUND : rc;
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
    ht_db_stmt *st;
    int err = ht_store__prepare(s, sql, "updating a user", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, name);
    if (text)
        ht_db_bind_text(st, 2, text);
    else
        ht_db_bind_int64(st, 2, number);
    err = step_write(st, 1, "updating a user");
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
    ht_db_stmt *st;
    int err = ht_store__prepare(s,
                                "SELECT name, role, password_hash, disabled, created_at FROM users"
                                " ORDER BY name",
                                "listing users", &st),
        rc;
    if (err < 0)
        return err;
    while ((rc = ht_db_step(st)) == HT_DB_ROW) {
        ht_user_row row;
        read_user(st, &row);
        if ((err = cb(payload, &row)) != 0)
            break;
    }
    if (err == HT_OK && rc < 0)
        err = rc;
    ht_db_finalize(st);
    return err;
}

int ht_store_credential_add(
    ht_store *s, const char *digest, const char *user, const char *kind, const char *expires_at)
{
    char now[32];
    ht_time_now_iso(now, sizeof(now));
    const char *values[] = {digest, user, kind, now, expires_at};
    return insert_texts(s,
                        "INSERT INTO credentials (digest, \"user\", kind, created_at, expires_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
                        values, 5, "recording a credential");
}

int ht_store_credential_user(
    ht_store *s, const char *digest, const char *now, const char *kind, ht_user_row *out)
{
    const char *values[] = {digest, now, kind};
    int err = select_user(s,
                          "SELECT u.name, u.role, u.password_hash, u.disabled, u.created_at"
                          " FROM credentials c JOIN users u ON u.name = c.\"user\""
                          " WHERE c.digest = ?1 AND c.revoked_at IS NULL AND c.expires_at > ?2"
                          " AND u.disabled = 0 AND (CAST(?3 AS TEXT) IS NULL OR c.kind = ?3)",
                          values, 3, out, "checking a credential");
    return err == HT_ENOTFOUND ? ht_error_set(HT_ENOTFOUND, "no live credential") : err;
}

int ht_store_credential_revoke(ht_store *s, const char *digest, const char *user, const char *now)
{
    ht_db_stmt *st;
    int err =
        ht_store__prepare(s,
                          digest ? "UPDATE credentials SET revoked_at = ?2 WHERE digest = ?1"
                                   " AND revoked_at IS NULL"
                                 : "UPDATE credentials SET revoked_at = ?2 WHERE \"user\" = ?1"
                                   " AND revoked_at IS NULL",
                          "revoking a credential", &st);
    if (err < 0)
        return err;
    ht_db_bind_text(st, 1, digest ? digest : user);
    ht_db_bind_text(st, 2, now);
    return step_write(st, 1, "revoking a credential");
}
