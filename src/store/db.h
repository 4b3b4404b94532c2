/*
 * The store's database connection: one small interface over SQLite (db_sqlite.c) and PostgreSQL
 * (db_pg.c), so that every statement of the store is written once.
 *
 * SQL is written in the subset both accept: parameters are ?1, ?2… (the PostgreSQL side numbers
 * them $1, $2…), identifiers that PostgreSQL folds or reserves are double-quoted ("user",
 * "PatientID"), upserts are INSERT … ON CONFLICT, new ids come back by RETURNING, a parameter
 * whose type nothing else fixes is CAST. What only one of them has asks the backend (find.c's
 * wildcards) or lives in the backend's own schema (schema.c).
 *
 * A connection is used by one thread at a time. Errors are set (ht_error_set) as
 * "index database: WHAT: the database's message", WHAT given when the statement was prepared.
 */
#ifndef HEPATRACK_STORE_DB_H
#define HEPATRACK_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/store.h"

typedef enum ht_db_backend { HT_DB_SQLITE, HT_DB_POSTGRESQL } ht_db_backend;

typedef struct ht_db ht_db;
typedef struct ht_db_stmt ht_db_stmt;

/* What ht_db_step returns besides an error (< 0). */
enum { HT_DB_DONE = 0, HT_DB_ROW = 1 };

/** Connect to the index a locator names: "postgresql://…" or "postgres://…" (a libpq URI), else
 * the path of a SQLite file (created when missing). No schema is touched.
 * @return HT_OK; HT_EDB, HT_EPERM, HT_EIO, HT_ENOSPC with the reason set. */
int ht_db_open(const char *locator, ht_db **out);

/** Close. Accepts NULL. Statements must be finalized first. */
void ht_db_close(ht_db *db);

ht_db_backend ht_db_backend_of(const ht_db *db);

/** Run SQL without parameters or rows (several statements separated by ';' allowed). */
int ht_db_exec(ht_db *db, const char *sql, const char *what);

/** Transactions. A write transaction holds the index's one write lock from its start (SQLite
 * BEGIN IMMEDIATE; PostgreSQL a transaction-scoped advisory lock), so that what it reads stays
 * true until it commits, as every writer of the store assumes. A read transaction sees one
 * snapshot. */
int ht_db_begin(ht_db *db, int write);
int ht_db_commit(ht_db *db);
/** Roll back; HT_OK when no transaction is open (the database may have ended it already). */
int ht_db_rollback(ht_db *db);

/** Make commits of this connection durable only at the next sync of the file system (SQLite
 * synchronous=NORMAL); PostgreSQL keeps its own durable commit, a no-op. */
int ht_db_defer_sync(ht_db *db);

/** The schema version recorded in the database (0 when none) and setting it (inside the
 * migration's transaction). */
int ht_db_schema_version(ht_db *db, int *version);
int ht_db_set_schema_version(ht_db *db, int version);

/** Prepare sql; `what` (static) names it in errors. `keep`: prepared once on the server and
 * kept for reuse (a cached statement); otherwise for one use. Free with ht_db_finalize. */
int ht_db_prepare(ht_db *db, const char *sql, int keep, const char *what, ht_db_stmt **out);

/** Bind parameter i (from 1). Values are copied. Unbound parameters are NULL. */
void ht_db_bind_text(ht_db_stmt *st, int i, const char *value); /* NULL binds NULL */
void ht_db_bind_int64(ht_db_stmt *st, int i, int64_t value);
void ht_db_bind_double(ht_db_stmt *st, int i, double value);
void ht_db_bind_null(ht_db_stmt *st, int i);
int ht_db_param_count(ht_db_stmt *st);

/** The next row: HT_DB_ROW, HT_DB_DONE, or an error (< 0). */
int ht_db_step(ht_db_stmt *st);

/** The current row's columns, valid until the next step, reset or finalize. */
int ht_db_column_count(ht_db_stmt *st);
const char *ht_db_column_name(ht_db_stmt *st, int i);
ht_value_type ht_db_column_type(ht_db_stmt *st, int i); /* INT, REAL, TEXT or NULL */
const char *ht_db_text(ht_db_stmt *st, int i);          /* NULL for SQL NULL */
int64_t ht_db_int64(ht_db_stmt *st, int i);             /* 0 for NULL */
double ht_db_double(ht_db_stmt *st, int i);
size_t ht_db_bytes(ht_db_stmt *st, int i); /* the text's length */

/** Rows the last completed INSERT, UPDATE or DELETE of this statement changed. */
int64_t ht_db_changes(ht_db_stmt *st);

/** Ready a statement to run again: rows dropped, parameters cleared. */
void ht_db_reset(ht_db_stmt *st);

/** Accepts NULL. */
void ht_db_finalize(ht_db_stmt *st);

#endif
