/* The store's database interface: the backend a locator names, and calls passed to it. */
#include "db_impl.h"

#include <string.h>

static int is_postgresql(const char *locator)
{
    return strncmp(locator, "postgresql://", 13) == 0 || strncmp(locator, "postgres://", 11) == 0;
}

int ht_db_open(const char *locator, ht_db **out)
{
    *out = NULL;
    return (is_postgresql(locator) ? &ht_db_pg_ops : &ht_db_sqlite_ops)->open(locator, out);
}

void ht_db_close(ht_db *db)
{
    if (db)
        db->ops->close(db);
}

ht_db_backend ht_db_backend_of(const ht_db *db)
{
    return db->ops->backend;
}

int ht_db_exec(ht_db *db, const char *sql, const char *what)
{
    return db->ops->exec(db, sql, what);
}

int ht_db_begin(ht_db *db, int write)
{
    return db->ops->begin(db, write);
}

int ht_db_commit(ht_db *db)
{
    return db->ops->commit(db);
}

int ht_db_rollback(ht_db *db)
{
    return db->ops->rollback(db);
}

int ht_db_defer_sync(ht_db *db)
{
    return db->ops->defer_sync(db);
}

int ht_db_schema_version(ht_db *db, int *version)
{
    return db->ops->schema_version(db, version);
}

int ht_db_set_schema_version(ht_db *db, int version)
{
    return db->ops->set_schema_version(db, version);
}

int ht_db_prepare(ht_db *db, const char *sql, int keep, const char *what, ht_db_stmt **out)
{
    *out = NULL;
    return db->ops->prepare(db, sql, keep, what, out);
}

void ht_db_bind_text(ht_db_stmt *st, int i, const char *value)
{
    st->ops->bind_text(st, i, value);
}

void ht_db_bind_int64(ht_db_stmt *st, int i, int64_t value)
{
    st->ops->bind_int64(st, i, value);
}

void ht_db_bind_double(ht_db_stmt *st, int i, double value)
{
    st->ops->bind_double(st, i, value);
}

void ht_db_bind_null(ht_db_stmt *st, int i)
{
    st->ops->bind_null(st, i);
}

int ht_db_param_count(ht_db_stmt *st)
{
    return st->ops->param_count(st);
}

int ht_db_step(ht_db_stmt *st)
{
    return st->ops->step(st);
}

int ht_db_column_count(ht_db_stmt *st)
{
    return st->ops->column_count(st);
}

const char *ht_db_column_name(ht_db_stmt *st, int i)
{
    return st->ops->column_name(st, i);
}

ht_value_type ht_db_column_type(ht_db_stmt *st, int i)
{
    return st->ops->column_type(st, i);
}

const char *ht_db_text(ht_db_stmt *st, int i)
{
    return st->ops->text(st, i);
}

int64_t ht_db_int64(ht_db_stmt *st, int i)
{
    return st->ops->int64(st, i);
}

double ht_db_double(ht_db_stmt *st, int i)
{
    return st->ops->dbl(st, i);
}

size_t ht_db_bytes(ht_db_stmt *st, int i)
{
    return st->ops->bytes(st, i);
}

int64_t ht_db_changes(ht_db_stmt *st)
{
    return st->ops->changes(st);
}

void ht_db_reset(ht_db_stmt *st)
{
    st->ops->reset(st);
}

void ht_db_finalize(ht_db_stmt *st)
{
    if (st)
        st->ops->finalize(st);
}
