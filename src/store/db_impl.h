/* What a database backend of the store provides (db.h dispatches to it). Each backend's
 * connection and statement structs begin with their ops. */
#ifndef HEPATRACK_STORE_DB_IMPL_H
#define HEPATRACK_STORE_DB_IMPL_H

#include "db.h"

typedef struct ht_db_ops {
    ht_db_backend backend;
    int (*open)(const char *locator, ht_db **out);
    void (*close)(ht_db *db);
    int (*exec)(ht_db *db, const char *sql, const char *what);
    int (*begin)(ht_db *db, int write);
    int (*commit)(ht_db *db);
    int (*rollback)(ht_db *db);
    int (*defer_sync)(ht_db *db);
    int (*schema_version)(ht_db *db, int *version);
    int (*set_schema_version)(ht_db *db, int version);
    int (*prepare)(ht_db *db, const char *sql, int keep, const char *what, ht_db_stmt **out);
    void (*bind_text)(ht_db_stmt *st, int i, const char *value);
    void (*bind_int64)(ht_db_stmt *st, int i, int64_t value);
    void (*bind_double)(ht_db_stmt *st, int i, double value);
    void (*bind_null)(ht_db_stmt *st, int i);
    int (*param_count)(ht_db_stmt *st);
    int (*step)(ht_db_stmt *st);
    int (*column_count)(ht_db_stmt *st);
    const char *(*column_name)(ht_db_stmt *st, int i);
    ht_value_type (*column_type)(ht_db_stmt *st, int i);
    const char *(*text)(ht_db_stmt *st, int i);
    int64_t (*int64)(ht_db_stmt *st, int i);
    double (*dbl)(ht_db_stmt *st, int i);
    size_t (*bytes)(ht_db_stmt *st, int i);
    int64_t (*changes)(ht_db_stmt *st);
    void (*reset)(ht_db_stmt *st);
    void (*finalize)(ht_db_stmt *st);
} ht_db_ops;

struct ht_db {
    const ht_db_ops *ops;
};

struct ht_db_stmt {
    const ht_db_ops *ops;
};

extern const ht_db_ops ht_db_sqlite_ops;
extern const ht_db_ops ht_db_pg_ops;

#endif
