/* Internals of the store module: the connection, cached statements, error helpers. */
#ifndef HEPATRACK_STORE_INTERNAL_H
#define HEPATRACK_STORE_INTERNAL_H

#include <sqlite3.h>

#include "hepatrack/store.h"

struct ht_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *find_instance;
    sqlite3_stmt *find_path;
    sqlite3_stmt *upsert_patient;
    sqlite3_stmt *upsert_study;
    sqlite3_stmt *upsert_series;
    sqlite3_stmt *insert_instance;
    sqlite3_stmt *insert_conflict;
    /* the ledger's hot statements, prepared on first use */
    sqlite3_stmt *ledger_append;
    sqlite3_stmt *ledger_current, *ledger_current_packed, *ledger_uncurrent;
    sqlite3_stmt *audit_add;
    sqlite3_stmt *subject_find;
    /* statements made from query text (ht_store_find), the latest kept for the next request */
    struct {
        char *sql;
        sqlite3_stmt *st;
    } queries[16];
    unsigned next_query;
};

/* A statement for sql: prepared once per connection, the last 16 kept. ht_store__rows resets a
 * kept one (and finalizes others) when done. */
int ht_store__query(ht_store *store, const char *sql, sqlite3_stmt **out);

/* A cached statement, prepared on first use and reset for the caller. */
int ht_store__cached(ht_store *store, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out);

/* Step a prepared query, handing each row to cb (columns named as the query names them) and
 * counting them in *rows (when not NULL). Finalizes st, or resets it when ht_store__query keeps
 * it. Returns HT_OK, cb's non-zero, HT_EDB. */
int ht_store__rows(ht_store *store, sqlite3_stmt *st, ht_row_cb cb, void *payload, int *rows);

/* Record an SQLite failure as an hepatrack error (HT_ENOSPC for SQLITE_FULL...). */
int ht_store__db_error(sqlite3 *db, int rc, const char *what);

/* Apply the migrations after the database's current version, up to `target`. */
int ht_store__migrate(sqlite3 *db, int target);

/* Open a raw connection with hepatrack's pragmas, without migrating (tests use this). */
int ht_store__connect(const char *path, sqlite3 **out);

#endif
