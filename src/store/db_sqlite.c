/* The store's database on SQLite: one file in WAL mode beside the archive. */
#include "db_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct lite_db {
    ht_db base;
    sqlite3 *db;
    char *path;
} lite_db;

typedef struct lite_stmt {
    ht_db_stmt base;
    lite_db *db;
    sqlite3_stmt *st;
    const char *what;
    int64_t changes;
} lite_stmt;

static int lite_error(lite_db *d, int rc, const char *what)
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
                        : d && d->db      ? sqlite3_errmsg(d->db)
                                          : sqlite3_errstr(rc));
}

static void lite_close(ht_db *db)
{
    lite_db *d = (lite_db *)db;
    sqlite3_close(d->db);
    free(d->path);
    free(d);
}

static int lite_exec(ht_db *db, const char *sql, const char *what)
{
    lite_db *d = (lite_db *)db;
    int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HT_OK : lite_error(d, rc, what);
}

/* string_agg(value, separator): PostgreSQL's name for what SQLite calls group_concat (SQLite
 * has it only from 3.44), so that a query is written once. NULLs are skipped. */
typedef struct agg {
    sqlite3_str *text;
    int values;
} agg;

static void string_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    agg *a = sqlite3_aggregate_context(ctx, sizeof(*a));
    if (!a || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (!a->text)
        a->text = sqlite3_str_new(sqlite3_context_db_handle(ctx));
    if (a->values++)
        sqlite3_str_appendall(a->text, (const char *)sqlite3_value_text(argv[1]));
    sqlite3_str_appendall(a->text, (const char *)sqlite3_value_text(argv[0]));
}

static void string_agg_final(sqlite3_context *ctx)
{
    agg *a = sqlite3_aggregate_context(ctx, 0);
    if (!a || !a->text) {
        sqlite3_result_null(ctx);
        return;
    }
    int n = sqlite3_str_length(a->text);
    char *text = sqlite3_str_finish(a->text);
    if (text)
        sqlite3_result_text(ctx, text, n, sqlite3_free);
    else
        sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
}

static int lite_open(const char *path, ht_db **out)
{
    lite_db *d = calloc(1, sizeof(*d));
    if (!d)
        return ht_error_set(HT_ENOMEM, "out of memory opening the index");
    d->base.ops = &ht_db_sqlite_ops;
    int rc = sqlite3_open_v2(
        path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int err = lite_error(d, rc, path);
        lite_close(&d->base);
        return err;
    }
    sqlite3_extended_result_codes(d->db, 1);
    sqlite3_create_function(d->db, "string_agg", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                            string_agg_step, string_agg_final);
    sqlite3_busy_timeout(d->db, 10000);
    /* WAL: readers beside the writer; synchronous=FULL: a commit is durable when it returns. */
    int err = lite_exec(&d->base,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                        " PRAGMA mmap_size=268435456;",
                        path);
    if (err < 0) {
        lite_close(&d->base);
        return err;
    }
    *out = &d->base;
    return HT_OK;
}

static int lite_begin(ht_db *db, int write)
{
    /* Deferred: the first read takes a snapshot (WAL) that every later read of the transaction
     * sees, however many commits others make meanwhile. */
    return write ? lite_exec(db, "BEGIN IMMEDIATE", "starting a transaction")
                 : lite_exec(db, "BEGIN DEFERRED", "starting a read");
}

static int lite_commit(ht_db *db)
{
    return lite_exec(db, "COMMIT", "committing");
}

static int lite_rollback(ht_db *db)
{
    if (sqlite3_get_autocommit(((lite_db *)db)->db))
        return HT_OK; /* SQLite already rolled back (after SQLITE_FULL, for one) */
    return lite_exec(db, "ROLLBACK", "rolling back");
}

static int lite_defer_sync(ht_db *db)
{
    return lite_exec(db, "PRAGMA synchronous=NORMAL", "deferring commits' fsync");
}

static int lite_schema_version(ht_db *db, int *version)
{
    lite_db *d = (lite_db *)db;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return lite_error(d, rc, "reading the schema version");
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? HT_OK : lite_error(d, rc, "reading the schema version");
}

static int lite_set_schema_version(ht_db *db, int version)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    return lite_exec(db, sql, "recording the schema version");
}

static int lite_prepare(ht_db *db, const char *sql, int keep, const char *what, ht_db_stmt **out)
{
    lite_db *d = (lite_db *)db;
    lite_stmt *s = calloc(1, sizeof(*s));
    if (!s)
        return ht_error_set(HT_ENOMEM, "out of memory preparing a statement");
    s->base.ops = &ht_db_sqlite_ops;
    s->db = d;
    s->what = what;
    int rc = sqlite3_prepare_v3(d->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &s->st, NULL);
    if (rc != SQLITE_OK) {
        free(s);
        return lite_error(d, rc, what);
    }
    *out = &s->base;
    return HT_OK;
}

#define ST(x) (((lite_stmt *)(x))->st)

static void lite_bind_text(ht_db_stmt *st, int i, const char *value)
{
    if (value)
        sqlite3_bind_text(ST(st), i, value, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(ST(st), i);
}

static void lite_bind_int64(ht_db_stmt *st, int i, int64_t value)
{
    sqlite3_bind_int64(ST(st), i, value);
}

static void lite_bind_double(ht_db_stmt *st, int i, double value)
{
    sqlite3_bind_double(ST(st), i, value);
}

static void lite_bind_null(ht_db_stmt *st, int i)
{
    sqlite3_bind_null(ST(st), i);
}

static int lite_param_count(ht_db_stmt *st)
{
    return sqlite3_bind_parameter_count(ST(st));
}

static int lite_step(ht_db_stmt *st)
{
    lite_stmt *s = (lite_stmt *)st;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return HT_DB_ROW;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes64(s->db->db);
        return HT_DB_DONE;
    }
    return lite_error(s->db, rc, s->what);
}

static int lite_column_count(ht_db_stmt *st)
{
    return sqlite3_column_count(ST(st));
}

static const char *lite_column_name(ht_db_stmt *st, int i)
{
    return sqlite3_column_name(ST(st), i);
}

static ht_value_type lite_column_type(ht_db_stmt *st, int i)
{
    switch (sqlite3_column_type(ST(st), i)) {
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

static const char *lite_text(ht_db_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(ST(st), i);
}

static int64_t lite_int64(ht_db_stmt *st, int i)
{
    return sqlite3_column_int64(ST(st), i);
}

static double lite_double(ht_db_stmt *st, int i)
{
    return sqlite3_column_double(ST(st), i);
}

static size_t lite_bytes(ht_db_stmt *st, int i)
{
    return (size_t)sqlite3_column_bytes(ST(st), i);
}

static int64_t lite_changes(ht_db_stmt *st)
{
    return ((lite_stmt *)st)->changes;
}

static void lite_reset(ht_db_stmt *st)
{
    sqlite3_reset(ST(st));
    sqlite3_clear_bindings(ST(st));
}

static void lite_finalize(ht_db_stmt *st)
{
    sqlite3_finalize(ST(st));
    free(st);
}

const ht_db_ops ht_db_sqlite_ops = {
    .backend = HT_DB_SQLITE,
    .open = lite_open,
    .close = lite_close,
    .exec = lite_exec,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .defer_sync = lite_defer_sync,
    .schema_version = lite_schema_version,
    .set_schema_version = lite_set_schema_version,
    .prepare = lite_prepare,
    .bind_text = lite_bind_text,
    .bind_int64 = lite_bind_int64,
    .bind_double = lite_bind_double,
    .bind_null = lite_bind_null,
    .param_count = lite_param_count,
    .step = lite_step,
    .column_count = lite_column_count,
    .column_name = lite_column_name,
    .column_type = lite_column_type,
    .text = lite_text,
    .int64 = lite_int64,
    .dbl = lite_double,
    .bytes = lite_bytes,
    .changes = lite_changes,
    .reset = lite_reset,
    .finalize = lite_finalize,
};
