/* Datasets in memory: rows of cells addressed by variable name, and the checks XPT needs. */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cdisc_table_init(cdisc_table *t, const cdisc_domain *domain)
{
    memset(t, 0, sizeof(*t));
    t->domain = domain;
}

void cdisc_table_free(cdisc_table *t)
{
    size_t n = t->nrows * (size_t)t->domain->nvars;
    for (size_t i = 0; i < n; i++)
        free(t->cells[i].text);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

void cdisc_row(cdisc_table *t)
{
    size_t nvars = (size_t)t->domain->nvars, need = (t->nrows + 1) * nvars;
    if (t->err)
        return;
    if (HT_GROW(t->cells, t->cap, need) < 0) {
        t->err = ht_error_set(HT_ENOMEM, "out of memory building %s", t->domain->name);
        return;
    }
    memset(&t->cells[t->nrows * nvars], 0, nvars * sizeof(cdisc_cell));
    t->nrows++;
}

int cdisc_variable_index(const cdisc_domain *d, const char *name)
{
    for (int v = 0; v < d->nvars; v++)
        if (!strcmp(d->vars[v].name, name))
            return v;
    return -1;
}

static cdisc_cell *cell(cdisc_table *t, const char *var)
{
    if (t->err || t->nrows == 0)
        return NULL;
    int v = cdisc_variable_index(t->domain, var);
    if (v >= 0)
        return &t->cells[(t->nrows - 1) * (size_t)t->domain->nvars + (size_t)v];
    t->err = ht_error_set(HT_EINTERNAL, "%s has no variable %s", t->domain->name, var);
    return NULL;
}

void cdisc_text(cdisc_table *t, const char *var, const char *value)
{
    cdisc_cell *c = cell(t, var);
    if (!c || !value || !*value)
        return;
    free(c->text);
    if (!(c->text = strdup(value)))
        t->err = ht_error_set(HT_ENOMEM, "out of memory building %s", t->domain->name);
}

void cdisc_clear(cdisc_table *t, const char *var)
{
    cdisc_cell *c = cell(t, var);
    if (c) {
        free(c->text);
        memset(c, 0, sizeof(*c));
    }
}

void cdisc_number(cdisc_table *t, const char *var, double value)
{
    cdisc_cell *c = cell(t, var);
    if (c) {
        c->number = value;
        c->has_number = 1;
    }
}

void cdisc_date(cdisc_table *t, const char *var, int32_t day)
{
    if (day != HT_NO_VALUE)
        cdisc_number(t, var, day);
}

const cdisc_cell *cdisc_cell_at(const cdisc_table *t, size_t row, int var)
{
    return &t->cells[row * (size_t)t->domain->nvars + (size_t)var];
}

size_t cdisc_width(const cdisc_table *t, int var)
{
    size_t width = 1;
    for (size_t r = 0; r < t->nrows; r++) {
        const cdisc_cell *c = cdisc_cell_at(t, r, var);
        if (c->text && strlen(c->text) > width)
            width = strlen(c->text);
    }
    return width;
}

static const char *subject_of(const cdisc_table *t, size_t row)
{
    int v = cdisc_variable_index(t->domain, "USUBJID");
    return v < 0 ? NULL : cdisc_cell_at(t, row, v)->text;
}

static const char *non_ascii(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        if (*p >= 0x80)
            return (const char *)p;
    return NULL;
}

int cdisc_check_values(const cdisc_table *t)
{
    for (size_t r = 0; r < t->nrows; r++)
        for (int v = 0; v < t->domain->nvars; v++) {
            const cdisc_cell *c = cdisc_cell_at(t, r, v);
            size_t n = c->text ? strlen(c->text) : 0;
            const char *who = subject_of(t, r);
            if (n > CDISC_TEXT_MAX)
                return ht_error_set(HT_ECONFLICT,
                                    "%s.%s of %s is %zu bytes long; XPT version 5 allows %d: "
                                    "shorten it in the records (nothing was written)",
                                    t->domain->name, t->domain->vars[v].name, who ? who : "a row",
                                    n, CDISC_TEXT_MAX);
            if (non_ascii(c->text))
                return ht_error_set(HT_ECONFLICT,
                                    "%s.%s of %s is '%s', which is not ASCII; XPT version 5 "
                                    "holds ASCII only: correct it in the records (nothing was "
                                    "written)",
                                    t->domain->name, t->domain->vars[v].name, who ? who : "a row",
                                    c->text);
        }
    return HT_OK;
}
