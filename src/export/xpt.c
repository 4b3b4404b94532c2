/*
 * A dataset as a SAS transport file, version 5 (the format FDA takes), written by ReadStat:
 * names of at most 8 characters, labels of at most 40, each character variable as long as its
 * longest value (checked against the 200-byte limit before anything is written), dates as SAS
 * dates (days since 1960-01-01) in DATE9. format.
 */
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <readstat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Days from SAS's epoch (1960-01-01) to the Unix epoch (1970-01-01). */
#define SAS_EPOCH_OFFSET 3653

typedef struct buffer {
    unsigned char *data;
    size_t len, cap;
} buffer;

static ssize_t append(const void *bytes, size_t len, void *ctx)
{
    buffer *b = ctx;
    if (HT_GROW(b->data, b->cap, b->len + len) < 0)
        return -1;
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return (ssize_t)len;
}

static int failed(readstat_error_t rc, const cdisc_table *t, const char *what)
{
    return ht_error_set(HT_EIO, "writing %s.xpt: %s: %s", t->domain->name, what,
                        readstat_error_message(rc));
}

static readstat_error_t add_variables(readstat_writer_t *w, const cdisc_table *t)
{
    for (int v = 0; v < t->domain->nvars; v++) {
        const cdisc_variable *var = &t->domain->vars[v];
        int text = var->type == CDISC_TEXT || var->type == CDISC_ISODATE;
        readstat_variable_t *rv =
            readstat_add_variable(w, var->name, text ? READSTAT_TYPE_STRING : READSTAT_TYPE_DOUBLE,
                                  text ? cdisc_width(t, v) : 8);
        if (!rv)
            return READSTAT_ERROR_MALLOC;
        readstat_variable_set_label(rv, var->label);
        if (var->type == CDISC_DATE)
            readstat_variable_set_format(rv, "DATE9.");
    }
    return READSTAT_OK;
}

static readstat_error_t insert(readstat_writer_t *w, const cdisc_table *t, size_t row, int v)
{
    const cdisc_variable *var = &t->domain->vars[v];
    const cdisc_cell *c = cdisc_cell_at(t, row, v);
    const readstat_variable_t *rv = readstat_get_variable(w, v);
    if (var->type == CDISC_TEXT || var->type == CDISC_ISODATE)
        return readstat_insert_string_value(w, rv, c->text ? c->text : "");
    if (!c->has_number)
        return readstat_insert_missing_value(w, rv);
    double value = var->type == CDISC_DATE ? c->number + SAS_EPOCH_OFFSET : c->number;
    return readstat_insert_double_value(w, rv, value);
}

int cdisc_xpt(const cdisc_table *t, unsigned char **data, size_t *len)
{
    buffer b = {0};
    readstat_error_t rc;
    int err = HT_OK;
    readstat_writer_t *w = readstat_writer_init();
    if (!w)
        return ht_error_set(HT_ENOMEM, "out of memory writing %s.xpt", t->domain->name);
    readstat_set_data_writer(w, append);
    if ((rc = readstat_writer_set_file_format_version(w, 5)) != READSTAT_OK ||
        (rc = readstat_writer_set_table_name(w, t->domain->name)) != READSTAT_OK ||
        (rc = readstat_writer_set_file_label(w, t->domain->label)) != READSTAT_OK ||
        (rc = readstat_writer_set_file_timestamp(w, time(NULL))) != READSTAT_OK ||
        (rc = add_variables(w, t)) != READSTAT_OK ||
        (rc = readstat_begin_writing_xport(w, &b, (long)t->nrows)) != READSTAT_OK) {
        err = failed(rc, t, "its variables");
        goto out;
    }
    for (size_t r = 0; r < t->nrows && err == HT_OK; r++) {
        if ((rc = readstat_begin_row(w)) != READSTAT_OK)
            err = failed(rc, t, "a row");
        for (int v = 0; v < t->domain->nvars && err == HT_OK; v++)
            if ((rc = insert(w, t, r, v)) != READSTAT_OK)
                err = failed(rc, t, t->domain->vars[v].name);
        if (err == HT_OK && (rc = readstat_end_row(w)) != READSTAT_OK)
            err = failed(rc, t, "a row");
    }
    if (err == HT_OK && (rc = readstat_end_writing(w)) != READSTAT_OK)
        err = failed(rc, t, "its end");
out:
    readstat_writer_free(w);
    if (err != HT_OK) {
        free(b.data);
        return err;
    }
    *data = b.data;
    *len = b.len;
    return HT_OK;
}
