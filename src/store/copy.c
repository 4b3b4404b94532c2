/*
 * Copying a SQLite index into an empty PostgreSQL database (hepatrack index migrate), then
 * comparing both, table by table and row by row. Every table is read in pages of its key's order
 * (a row-value comparison with the last key seen), so that neither side holds more than a page
 * however large the index.
 */
#include "store_internal.h"

#include "hepatrack/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 5000
#define MAX_KEY 3

/* Every table of the schema (HT_STORE_SCHEMA_VERSION 13) in an order that meets its references;
 * the key columns come first in `columns`. Generated columns are each database's own. */
typedef struct table {
    const char *name, *columns, *key;
    int nkey, identity; /* identity: an id column whose sequence follows the copied ids */
} table;

static const table TABLES[] = {
    {"patients", "id, patient_id, issuer, name, birth_date, sex", "id", 1, 1},
    {"studies",
     "id, patient, study_uid, study_date, study_time, accession, description, last_received_at,"
     " stable_at",
     "id", 1, 1},
    {"series",
     "id, study, series_uid, modality, series_number, description, body_part, contrast_agent,"
     " slice_thickness, pixel_spacing, rows, columns, frame_of_reference",
     "id", 1, 1},
    {"instances",
     "id, series, sop_uid, sop_class, transfer_syntax, instance_number, image_position,"
     " image_orientation, rows, columns, frames, archive_path, size, dataset_offset, sha256,"
     " received_at, source, batch, pixel_offset, frame_bytes, pixels_as_decoded, node",
     "id", 1, 1},
    {"conflicts", "id, sop_uid, stored_sha256, received_sha256, received_size, source, received_at",
     "id", 1, 1},
    {"subjects", "id, subject_id, created_at", "id", 1, 1},
    {"ledger_records",
     "id, subject, kind, key, version, body, retracted, reader, reason, recorded_at", "id", 1, 1},
    {"ledger_current", "subject, kind, key, record, fields", "subject, kind, key", 3, 0},
    {"audit", "id, at, \"user\", action, subject, detail", "id", 1, 1},
    {"trial_parameters", "key, value", "key", 1, 0},
    {"users", "name, role, password_hash, disabled, created_at", "name", 1, 0},
    {"credentials", "digest, \"user\", kind, created_at, expires_at, revoked_at", "digest", 1, 0},
    {"proposals",
     "id, source, item, subject, timepoint, lesion, new_lesion, fields, status, reason,"
     " received_at, decided_by, decided_at",
     "id", 1, 1},
    {"reports_written", "sop_uid, subject, timepoint, written_at", "sop_uid", 1, 0},
    {"report_imports", "source, read_at, outcome", "source", 1, 0},
    {"ingest_state", "id, last_batch, durable_batch", "id", 1, 0},
    {"ingest_nodes", "id, name, durable_batch", "id", 1, 1},
};

#define NTABLES (sizeof(TABLES) / sizeof(TABLES[0]))

static int count_columns(const char *columns)
{
    int n = 1;
    for (const char *p = columns; *p; p++)
        n += *p == ',';
    return n;
}

/* One column's value as read, kept to bind it elsewhere. */
typedef struct value {
    ht_value_type type;
    int64_t i;
    double r;
    char *text;
} value;

static void value_clear(value *v)
{
    free(v->text);
    memset(v, 0, sizeof(*v));
}

static int value_read(value *v, ht_db_stmt *st, int col)
{
    value_clear(v);
    v->type = ht_db_column_type(st, col);
    if (v->type == HT_VALUE_INT)
        v->i = ht_db_int64(st, col);
    else if (v->type == HT_VALUE_REAL)
        v->r = ht_db_double(st, col);
    else if (v->type != HT_VALUE_NULL && !(v->text = ht_strdup(ht_db_text(st, col))))
        return ht_error_set(HT_ENOMEM, "out of memory copying the index");
    return HT_OK;
}

static void value_bind(const value *v, ht_db_stmt *st, int i)
{
    if (v->type == HT_VALUE_INT)
        ht_db_bind_int64(st, i, v->i);
    else if (v->type == HT_VALUE_REAL)
        ht_db_bind_double(st, i, v->r);
    else
        ht_db_bind_text(st, i, v->type == HT_VALUE_NULL ? NULL : v->text);
}

/* A page of a table after the key in `last` (none: the first page). */
static int page_query(ht_db *db, const table *t, const value *last, int have_last, ht_db_stmt **out)
{
    char sql[1024], where[256] = "";
    if (have_last) {
        size_t n = (size_t)snprintf(where, sizeof(where), " WHERE (%s) > (", t->key);
        for (int k = 0; k < t->nkey; k++)
            n += (size_t)snprintf(where + n, sizeof(where) - n, "%s?%d", k ? ", " : "", k + 1);
        snprintf(where + n, sizeof(where) - n, ")");
    }
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s ORDER BY %s LIMIT %d", t->columns, t->name,
             where, t->key, PAGE);
    int err = ht_db_prepare(db, sql, 0, "reading a table to copy", out);
    for (int k = 0; err == HT_OK && have_last && k < t->nkey; k++)
        value_bind(&last[k], *out, k + 1);
    return err;
}

static int insert_statement(ht_db *db, const table *t, ht_db_stmt **out)
{
    char sql[1536];
    int n = count_columns(t->columns);
    size_t len =
        (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (", t->name, t->columns);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%d", i ? ", " : "", i + 1);
    snprintf(sql + len, sizeof(sql) - len, ")");
    return ht_db_prepare(db, sql, 1, "writing a copied row", out);
}

/* Copy one table's rows from src to dst; their number in *rows. */
static int copy_table(ht_db *src, ht_db *dst, const table *t, int64_t *rows)
{
    int ncol = count_columns(t->columns), err, have_last = 0, in_page;
    value *row = calloc((size_t)ncol, sizeof(value));
    ht_db_stmt *ins = NULL, *page = NULL;
    *rows = 0;
    if (!row)
        return ht_error_set(HT_ENOMEM, "out of memory copying the index");
    err = insert_statement(dst, t, &ins);
    do {
        in_page = 0;
        if (err == HT_OK)
            err = page_query(src, t, row, have_last, &page);
        while (err == HT_OK && (err = ht_db_step(page)) == HT_DB_ROW) {
            err = HT_OK;
            for (int c = 0; c < ncol && err == HT_OK; c++)
                err = value_read(&row[c], page, c);
            ht_db_reset(ins);
            for (int c = 0; c < ncol && err == HT_OK; c++)
                value_bind(&row[c], ins, c + 1);
            if (err == HT_OK && (err = ht_db_step(ins)) == HT_DB_DONE)
                err = HT_OK;
            in_page++;
            (*rows)++;
        }
        err = err == HT_DB_DONE ? HT_OK : err;
        ht_db_finalize(page);
        page = NULL;
        have_last = 1;
    } while (err == HT_OK && in_page == PAGE);
    ht_db_finalize(ins);
    for (int c = 0; c < ncol; c++)
        value_clear(&row[c]);
    free(row);
    return err;
}

/* Whether two columns hold the same value: numbers by value (SQLite writes 2.0 where
 * PostgreSQL writes 2), text by its bytes. */
static int same_value(ht_db_stmt *a, ht_db_stmt *b, int col)
{
    ht_value_type ta = ht_db_column_type(a, col), tb = ht_db_column_type(b, col);
    if (ta == HT_VALUE_NULL || tb == HT_VALUE_NULL)
        return ta == tb;
    if (ta == HT_VALUE_REAL || tb == HT_VALUE_REAL)
        return fabs(ht_db_double(a, col) - ht_db_double(b, col)) <=
               1e-12 * fabs(ht_db_double(a, col));
    return strcmp(ht_db_text(a, col), ht_db_text(b, col)) == 0;
}

/* Both sides' rows of one table, page by page in key order, compared. */
static int compare_table(ht_db *src, ht_db *dst, const table *t, int64_t *rows)
{
    int ncol = count_columns(t->columns), err = HT_OK, have_last = 0, in_page;
    value last[MAX_KEY] = {{0}};
    *rows = 0;
    do {
        ht_db_stmt *a = NULL, *b = NULL;
        int ra = HT_DB_DONE, rb = HT_DB_DONE;
        in_page = 0;
        if ((err = page_query(src, t, last, have_last, &a)) == HT_OK)
            err = page_query(dst, t, last, have_last, &b);
        while (err == HT_OK) {
            ra = ht_db_step(a);
            rb = ht_db_step(b);
            if (ra < 0 || rb < 0) {
                err = ra < 0 ? ra : rb;
                break;
            }
            if (ra != rb) {
                err = ht_error_set(HT_ECONFLICT, "table %s: %s has %s rows than the copy", t->name,
                                   "the SQLite index", ra == HT_DB_ROW ? "more" : "fewer");
                break;
            }
            if (ra == HT_DB_DONE)
                break;
            for (int c = 0; c < ncol && err == HT_OK; c++)
                if (!same_value(a, b, c))
                    err = ht_error_set(HT_ECONFLICT,
                                       "table %s, row %lld: column %d is '%.80s' in SQLite, "
                                       "'%.80s' in PostgreSQL",
                                       t->name, (long long)*rows + 1, c + 1,
                                       ht_db_text(a, c) ? ht_db_text(a, c) : "NULL",
                                       ht_db_text(b, c) ? ht_db_text(b, c) : "NULL");
            for (int k = 0; k < t->nkey && err == HT_OK; k++)
                err = value_read(&last[k], a, k);
            in_page++;
            (*rows)++;
        }
        ht_db_finalize(a);
        ht_db_finalize(b);
        have_last = 1;
    } while (err == HT_OK && in_page == PAGE);
    for (int k = 0; k < MAX_KEY; k++)
        value_clear(&last[k]);
    return err;
}

/* The destination must be an empty database: no table of ours, nor any other. */
static int check_empty(ht_db *dst, const char *url)
{
    ht_db_stmt *st;
    int version, err = ht_db_schema_version(dst, &version);
    if (err < 0)
        return err;
    if (version > 0)
        return ht_error_set(HT_EINVALID, "%s already holds a hepatrack index (schema version %d)",
                            url, version);
    err = ht_db_prepare(dst,
                        "SELECT count(*) FROM information_schema.tables"
                        " WHERE table_schema = current_schema()",
                        0, "looking at the destination", &st);
    if (err < 0)
        return err;
    err = ht_db_step(st);
    int64_t tables = err == HT_DB_ROW ? ht_db_int64(st, 0) : 0;
    ht_db_finalize(st);
    if (err < 0)
        return err;
    return tables ? ht_error_set(HT_EINVALID, "%s is not empty: it has %lld tables", url,
                                 (long long)tables)
                  : HT_OK;
}

/* This build's list of tables and columns against the SQLite index's own: a table or column the
 * list lacks would be lost without a word. */
static int check_tables(ht_db *src)
{
    ht_db_stmt *st;
    int err = ht_db_prepare(src,
                            "SELECT m.name, (SELECT count(*) FROM pragma_table_xinfo(m.name) x"
                            " WHERE x.hidden = 0) FROM sqlite_schema m WHERE m.type = 'table'"
                            " AND m.name NOT LIKE 'sqlite_%'",
                            0, "listing the index's tables", &st);
    int tables = 0;
    while (err >= 0 && (err = ht_db_step(st)) == HT_DB_ROW) {
        const char *name = ht_db_text(st, 0);
        const table *t = NULL;
        for (size_t i = 0; i < NTABLES; i++)
            if (!strcmp(TABLES[i].name, name))
                t = &TABLES[i];
        if (!t || count_columns(t->columns) != ht_db_int64(st, 1))
            err = ht_error_set(HT_EINVALID,
                               "the index's table %s is not the one this hepatrack "
                               "copies: upgrade hepatrack",
                               name);
        tables++;
    }
    ht_db_finalize(st);
    if (err >= 0 && tables != (int)NTABLES)
        err = ht_error_set(HT_EINVALID, "the index has %d tables, this hepatrack copies %d", tables,
                           (int)NTABLES);
    return err < 0 ? err : HT_OK;
}

/* The copied ids are the sequences' past: the next id follows the largest. */
static int follow_identities(ht_db *dst)
{
    char sql[256];
    int err = HT_OK;
    for (size_t i = 0; i < NTABLES && err == HT_OK; i++) {
        if (!TABLES[i].identity)
            continue;
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
                 " (SELECT coalesce(max(id), 0) + 1 FROM %s), false)",
                 TABLES[i].name, TABLES[i].name);
        err = ht_db_exec(dst, sql, "setting the next ids");
    }
    return err;
}

int ht_store_copy_to(ht_store *s,
                     const char *url,
                     int (*progress)(void *payload, const char *table, int64_t rows, int verified),
                     void *payload)
{
    ht_db *dst = NULL;
    int64_t rows;
    int err;

    if (ht_db_backend_of(s->db) != HT_DB_SQLITE)
        return ht_error_set(HT_EINVALID, "the index to copy is not a SQLite index");
    if (ht_store_index_is_file(url))
        return ht_error_set(HT_EINVALID, "'%s' is not a PostgreSQL URL (postgresql://...)", url);
    if ((err = ht_db_open(url, &dst)) < 0)
        return err;
    /* the source under its write lock throughout: nothing changes between copy and check */
    if ((err = check_tables(s->db)) < 0 || (err = check_empty(dst, url)) < 0 ||
        (err = ht_store__migrate(dst, HT_STORE_SCHEMA_VERSION)) < 0 ||
        (err = ht_db_begin(s->db, 1)) < 0) {
        ht_db_close(dst);
        return err;
    }
    if ((err = ht_db_begin(dst, 1)) == HT_OK)
        err = ht_db_exec(dst, "DELETE FROM ingest_state", "emptying the destination");
    for (size_t i = 0; i < NTABLES && err == HT_OK; i++)
        if ((err = copy_table(s->db, dst, &TABLES[i], &rows)) == HT_OK && progress)
            progress(payload, TABLES[i].name, rows, 0);
    if (err == HT_OK)
        err = follow_identities(dst);
    if (err == HT_OK)
        err = ht_db_commit(dst);
    else
        ht_db_rollback(dst);
    for (size_t i = 0; i < NTABLES && err == HT_OK; i++)
        if ((err = compare_table(s->db, dst, &TABLES[i], &rows)) == HT_OK && progress)
            progress(payload, TABLES[i].name, rows, 1);
    ht_db_rollback(s->db);
    ht_db_close(dst);
    return err;
}
