/*
 * The store's database on PostgreSQL (libpq). Statements are sent with their parameters as text
 * and the server infers their types from the SQL; a kept statement is prepared once on the
 * server, any other is parsed and run in one round trip. A statement's rows are read whole when
 * it is first stepped, so that a caller may run other statements while it walks them (listings
 * that could be unbounded are read in pages by their callers).
 */
#include "db_impl.h"

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key of the advisory lock every write transaction holds: the index's one write lock. */
#define WRITE_LOCK_KEY 0x68657061 /* "hepa" */

typedef struct pg_db {
    ht_db base;
    PGconn *conn;
    unsigned next_name;
    unsigned generation; /* of the connection: reset after the server went away */
    int in_transaction;  /* as begun by ht_db_begin: never silently reconnected */
} pg_db;

typedef struct pg_stmt {
    ht_db_stmt base;
    pg_db *db;
    const char *what;
    char *sql;           /* with $N parameters */
    char name[24];       /* "" for a one-use statement */
    unsigned generation; /* the connection's a kept statement was prepared on */
    int nparams;
    char **values; /* nparams texts, NULL for SQL NULL */
    Oid *types;    /* 0 (the server infers it) or text, for a number the SQL skips */
    PGresult *res;
    int row, rows;
    int64_t changes;
} pg_stmt;

/* The error a failed result (or, without one, the connection) reports. */
static int pg_error(pg_db *d, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *message = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char buf[512];
    int code = HT_EDB;

    if (!message) {
        snprintf(buf, sizeof(buf), "%s", d && d->conn ? PQerrorMessage(d->conn) : "no connection");
        size_t n = strlen(buf);
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
            buf[--n] = '\0';
        message = buf;
    }
    if (state && !strncmp(state, "23", 2))
        code = HT_EEXISTS; /* a constraint: UNIQUE, NOT NULL, CHECK, a reference */
    else if (state && !strcmp(state, "53100"))
        code = HT_ENOSPC;
    else if (state && !strcmp(state, "53200"))
        code = HT_ENOMEM;
    else if (state && !strcmp(state, "42501"))
        code = HT_EPERM;
    else if ((state && (!strncmp(state, "08", 2) || !strcmp(state, "58030"))) ||
             (d && d->conn && PQstatus(d->conn) != CONNECTION_OK))
        code = HT_EIO;
    return ht_error_set(code, "index database: %s: %s", what,
                        code == HT_ENOSPC ? "no space left on the database server's device"
                                          : message);
}

/* libpq prints the server's notices on stderr by default ("relation exists, skipping"). */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_close(ht_db *db)
{
    pg_db *d = (pg_db *)db;
    PQfinish(d->conn);
    free(d);
}

static int reconnected(pg_db *d);

static int pg_exec(ht_db *db, const char *sql, const char *what)
{
    pg_db *d = (pg_db *)db;
    PGresult *res = PQexec(d->conn, sql);
    if (PQresultStatus(res) == PGRES_FATAL_ERROR && reconnected(d)) {
        PQclear(res);
        res = PQexec(d->conn, sql);
    }
    ExecStatusType status = PQresultStatus(res);
    int err =
        status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? HT_OK : pg_error(d, res, what);
    PQclear(res);
    return err;
}

static int pg_open(const char *locator, ht_db **out)
{
    pg_db *d = calloc(1, sizeof(*d));
    if (!d)
        return ht_error_set(HT_ENOMEM, "out of memory opening the index");
    d->base.ops = &ht_db_pg_ops;
    d->conn = PQconnectdb(locator);
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
        int err = pg_error(d, NULL, "connecting");
        pg_close(&d->base);
        return err == HT_EDB ? HT_EIO : err;
    }
    PQsetNoticeProcessor(d->conn, ignore_notice, NULL);
    /* UTC, and text exactly as the store wrote it */
    int err = pg_exec(&d->base, "SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8'", locator);
    if (err < 0) {
        pg_close(&d->base);
        return err;
    }
    *out = &d->base;
    return HT_OK;
}

static int pg_begin(ht_db *db, int write)
{
    pg_db *d = (pg_db *)db;
    char sql[96];
    if (write)
        snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d)", WRITE_LOCK_KEY);
    int err = pg_exec(db, write ? sql : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                      write ? "starting a transaction" : "starting a read");
    d->in_transaction = err == HT_OK;
    if (err < 0 && PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        PQclear(PQexec(d->conn, "ROLLBACK")); /* BEGIN ran, the lock did not */
    return err;
}

static int pg_commit(ht_db *db)
{
    pg_db *d = (pg_db *)db;
    int err = pg_exec(db, "COMMIT", "committing");
    d->in_transaction = 0;
    return err;
}

static int pg_rollback(ht_db *db)
{
    pg_db *d = (pg_db *)db;
    d->in_transaction = 0;
    if (PQstatus(d->conn) == CONNECTION_BAD) {
        reconnected(d); /* the transaction went with the connection */
        return HT_OK;
    }
    if (PQtransactionStatus(d->conn) == PQTRANS_IDLE)
        return HT_OK;
    return pg_exec(db, "ROLLBACK", "rolling back");
}

static int pg_defer_sync(ht_db *db)
{
    (void)db; /* a commit stays durable when it returns: the archive's sync does not flush it */
    return HT_OK;
}

static int pg_schema_version(ht_db *db, int *version)
{
    pg_db *d = (pg_db *)db;
    PGresult *res = PQexec(d->conn, "SELECT CASE WHEN to_regclass('hepatrack_schema') IS NULL"
                                    " THEN NULL ELSE 1 END");
    int err = HT_OK;
    *version = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        err = pg_error(d, res, "reading the schema version");
    else if (!PQgetisnull(res, 0, 0)) {
        PQclear(res);
        res = PQexec(d->conn, "SELECT max(version) FROM hepatrack_schema");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            err = pg_error(d, res, "reading the schema version");
        else if (!PQgetisnull(res, 0, 0))
            *version = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return err;
}

static int pg_set_schema_version(ht_db *db, int version)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS hepatrack_schema (version integer NOT NULL);"
             " DELETE FROM hepatrack_schema; INSERT INTO hepatrack_schema VALUES (%d)",
             version);
    return pg_exec(db, sql, "recording the schema version");
}

/*
 * The store's "?N" parameters as PostgreSQL's "$N", outside quoted text and names; the largest
 * N in *nparams, and in *types (malloc'ed) 0 for each N the SQL uses, text for each it skips
 * (a listing binds every filter, used or not, and the server must know every type). The SQL
 * malloc'ed; NULL when out of memory.
 */
static char *dollar_parameters(const char *sql, int *nparams, Oid **types)
{
    enum { TEXT_OID = 25, MAX_PARAMS = 4096 };
    char *out = malloc(strlen(sql) + 1), *o = out;
    unsigned char *used = calloc(MAX_PARAMS + 1, 1);
    char quote = 0;
    *nparams = 0;
    *types = NULL;
    if (!out || !used) {
        free(out);
        free(used);
        return NULL;
    }
    for (const char *p = sql; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote; /* '' and "" reopen at once: the same */
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?' && isdigit((unsigned char)p[1])) {
            int n = atoi(p + 1);
            if (n >= 1 && n <= MAX_PARAMS) {
                used[n] = 1;
                *nparams = n > *nparams ? n : *nparams;
            }
            *o++ = '$';
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    *types = calloc((size_t)*nparams + 1, sizeof(Oid));
    for (int n = 1; *types && n <= *nparams; n++)
        (*types)[n - 1] = used[n] ? 0 : TEXT_OID;
    free(used);
    if (!*types) {
        free(out);
        return NULL;
    }
    return out;
}

static void clear_result(pg_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->rows = 0;
}

/* A kept statement prepared on the connection as it is now. */
static int prepare_on_server(pg_stmt *s)
{
    PGresult *res = PQprepare(s->db->conn, s->name, s->sql, s->nparams, s->types);
    int err = PQresultStatus(res) == PGRES_COMMAND_OK ? HT_OK : pg_error(s->db, res, s->what);
    PQclear(res);
    s->generation = s->db->generation;
    return err;
}

/*
 * When the server went away (restarted, failed over, a dropped socket) and no transaction was
 * open, connect again once: a statement outside a transaction can simply run again, and kept
 * statements are prepared again as they are next used. 1 when reconnected.
 */
static int reconnected(pg_db *d)
{
    if (d->in_transaction || PQstatus(d->conn) != CONNECTION_BAD)
        return 0;
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK)
        return 0;
    d->generation++;
    PGresult *res = PQexec(d->conn, "SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8'");
    PQclear(res);
    return 1;
}

static PGresult *run(pg_stmt *s)
{
    const char *const *values = (const char *const *)s->values;
    if (s->name[0] && s->generation != s->db->generation && prepare_on_server(s) < 0)
        return NULL;
    return s->name[0]
               ? PQexecPrepared(s->db->conn, s->name, s->nparams, values, NULL, NULL, 0)
               : PQexecParams(s->db->conn, s->sql, s->nparams, s->types, values, NULL, NULL, 0);
}

static int pg_prepare(ht_db *db, const char *sql, int keep, const char *what, ht_db_stmt **out)
{
    pg_db *d = (pg_db *)db;
    pg_stmt *s = calloc(1, sizeof(*s));
    if (!s)
        return ht_error_set(HT_ENOMEM, "out of memory preparing a statement");
    s->base.ops = &ht_db_pg_ops;
    s->db = d;
    s->what = what;
    s->row = -1;
    s->sql = dollar_parameters(sql, &s->nparams, &s->types);
    s->values = calloc((size_t)s->nparams + 1, sizeof(char *));
    if (!s->sql || !s->values) {
        free(s->sql);
        free(s->types);
        free(s->values);
        free(s);
        return ht_error_set(HT_ENOMEM, "out of memory preparing a statement");
    }
    if (keep) {
        snprintf(s->name, sizeof(s->name), "ht%u", d->next_name++);
        int err = prepare_on_server(s);
        if (err < 0) {
            free(s->sql);
            free(s->types);
            free(s->values);
            free(s);
            return err;
        }
    }
    *out = &s->base;
    return HT_OK;
}

static void set_value(ht_db_stmt *st, int i, char *value)
{
    pg_stmt *s = (pg_stmt *)st;
    if (i < 1 || i > s->nparams) {
        free(value);
        return; /* as SQLite: a parameter the statement lacks is ignored */
    }
    free(s->values[i - 1]);
    s->values[i - 1] = value;
}

static void pg_bind_text(ht_db_stmt *st, int i, const char *value)
{
    set_value(st, i, value ? strdup(value) : NULL);
}

static void pg_bind_int64(ht_db_stmt *st, int i, int64_t value)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, value);
    set_value(st, i, strdup(buf));
}

static void pg_bind_double(ht_db_stmt *st, int i, double value)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.17g", value);
    set_value(st, i, strdup(buf));
}

static void pg_bind_null(ht_db_stmt *st, int i)
{
    set_value(st, i, NULL);
}

static int pg_param_count(ht_db_stmt *st)
{
    return ((pg_stmt *)st)->nparams;
}

static int pg_step(ht_db_stmt *st)
{
    pg_stmt *s = (pg_stmt *)st;
    if (!s->res) {
        s->res = run(s);
        if (PQresultStatus(s->res) == PGRES_FATAL_ERROR && reconnected(s->db)) {
            PQclear(s->res);
            s->res = run(s);
        }
        ExecStatusType status = PQresultStatus(s->res);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            int err = pg_error(s->db, s->res, s->what);
            clear_result(s);
            return err;
        }
        s->rows = PQntuples(s->res);
        s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
        s->row = -1;
    }
    if (s->row + 1 < s->rows) {
        s->row++;
        return HT_DB_ROW;
    }
    s->row = s->rows;
    return HT_DB_DONE;
}

#define S(x) ((pg_stmt *)(x))

static int pg_column_count(ht_db_stmt *st)
{
    return S(st)->res ? PQnfields(S(st)->res) : 0;
}

static const char *pg_column_name(ht_db_stmt *st, int i)
{
    return PQfname(S(st)->res, i);
}

static int on_row(ht_db_stmt *st, int i)
{
    pg_stmt *s = S(st);
    return s->res && s->row >= 0 && s->row < s->rows && i >= 0 && i < PQnfields(s->res) &&
           !PQgetisnull(s->res, s->row, i);
}

static ht_value_type pg_column_type(ht_db_stmt *st, int i)
{
    if (!on_row(st, i))
        return HT_VALUE_NULL;
    switch (PQftype(S(st)->res, i)) {
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return HT_VALUE_INT;
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return HT_VALUE_REAL;
    default:
        return HT_VALUE_TEXT;
    }
}

static const char *pg_text(ht_db_stmt *st, int i)
{
    return on_row(st, i) ? PQgetvalue(S(st)->res, S(st)->row, i) : NULL;
}

static int64_t pg_column_int64(ht_db_stmt *st, int i)
{
    const char *t = pg_text(st, i);
    return t ? strtoll(t, NULL, 10) : 0;
}

static double pg_column_double(ht_db_stmt *st, int i)
{
    const char *t = pg_text(st, i);
    return t ? strtod(t, NULL) : 0;
}

static size_t pg_bytes(ht_db_stmt *st, int i)
{
    return on_row(st, i) ? (size_t)PQgetlength(S(st)->res, S(st)->row, i) : 0;
}

static int64_t pg_changes(ht_db_stmt *st)
{
    return S(st)->changes;
}

static void pg_reset(ht_db_stmt *st)
{
    pg_stmt *s = S(st);
    clear_result(s);
    for (int i = 0; i < s->nparams; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
    }
}

static void pg_finalize(ht_db_stmt *st)
{
    pg_stmt *s = S(st);
    pg_reset(st);
    if (s->name[0] && PQstatus(s->db->conn) == CONNECTION_OK) {
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
        PQclear(PQexec(s->db->conn, sql));
    }
    free(s->values);
    free(s->types);
    free(s->sql);
    free(s);
}

const ht_db_ops ht_db_pg_ops = {
    .backend = HT_DB_POSTGRESQL,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .defer_sync = pg_defer_sync,
    .schema_version = pg_schema_version,
    .set_schema_version = pg_set_schema_version,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .param_count = pg_param_count,
    .step = pg_step,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_type = pg_column_type,
    .text = pg_text,
    .int64 = pg_column_int64,
    .dbl = pg_column_double,
    .bytes = pg_bytes,
    .changes = pg_changes,
    .reset = pg_reset,
    .finalize = pg_finalize,
};
