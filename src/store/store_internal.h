/* Internals of the store module: the connection, cached statements, row helpers. */
#ifndef HEPATRACK_STORE_INTERNAL_H
#define HEPATRACK_STORE_INTERNAL_H

#include "db.h"
#include "hepatrack/store.h"

struct ht_store {
    ht_db *db;
    char *path;      /* the locator it was opened with */
    int64_t node_id; /* this node's row of ingest_nodes (0: not looked up yet) */
    ht_db_stmt *find_instance;
    ht_db_stmt *find_path;
    ht_db_stmt *upsert_patient;
    ht_db_stmt *upsert_study;
    ht_db_stmt *upsert_series;
    ht_db_stmt *insert_instance;
    ht_db_stmt *insert_conflict;
    /* the ledger's hot statements, prepared on first use */
    ht_db_stmt *ledger_append;
    ht_db_stmt *ledger_current, *ledger_current_packed, *ledger_uncurrent;
    ht_db_stmt *audit_add;
    ht_db_stmt *subject_find;
    /* statements made from query text (ht_store_find...), the latest kept for the next request */
    struct {
        char *sql;
        ht_db_stmt *st;
    } queries[16];
    unsigned next_query;
};

/* A statement for sql, prepared once per connection, the last 16 kept (`what` names it in
 * errors): the caller resets it (ht_db_reset) when done, never finalizes it; ht_store__rows
 * does either as it should. */
int ht_store__query(ht_store *store, const char *sql, const char *what, ht_db_stmt **out);

/* A cached statement in *slot, prepared on first use and reset for the caller. */
int ht_store__cached(
    ht_store *store, ht_db_stmt **slot, const char *sql, const char *what, ht_db_stmt **out);

/* Prepare a statement for one use (finalize it, or let ht_store__rows). */
int ht_store__prepare(ht_store *store, const char *sql, const char *what, ht_db_stmt **out);

/* Step a prepared query, handing each row to cb (columns named as the query names them) and
 * counting them in *rows (when not NULL). Finalizes st, or resets it when ht_store__query keeps
 * it. Returns HT_OK, cb's non-zero, or an error. */
int ht_store__rows(ht_store *store, ht_db_stmt *st, ht_row_cb cb, void *payload, int *rows);

/* This node's id in ingest_nodes, made on first use. */
int ht_store__node(ht_store *store, int64_t *id);

/* Run a statement that returns one id (RETURNING id) to its end and reset it. */
int ht_store__step_id(ht_db_stmt *st, int64_t *id);

/* A text column into a fixed buffer ("" for NULL). */
void ht_store__copy_text(char *dst, size_t size, ht_db_stmt *st, int i);

/* Apply the migrations after the database's current version, up to `target`. */
int ht_store__migrate(ht_db *db, int target);

#endif
