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

static cdisc_cell *cell(cdisc_table *t, const char *var)
{
    if (t->err || t->nrows == 0)
        return NULL;
    for (int v = 0; v < t->domain->nvars; v++)
        if (!strcmp(t->domain->vars[v].name, var))
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
    for (int v = 0; v < t->domain->nvars; v++)
        if (!strcmp(t->domain->vars[v].name, "USUBJID"))
            return cdisc_cell_at(t, row, v)->text;
    return NULL;
}

int cdisc_check_lengths(const cdisc_table *t)
{
    for (size_t r = 0; r < t->nrows; r++)
        for (int v = 0; v < t->domain->nvars; v++) {
            const cdisc_cell *c = cdisc_cell_at(t, r, v);
            size_t n = c->text ? strlen(c->text) : 0;
            if (n > CDISC_TEXT_MAX) {
                const char *who = subject_of(t, r);
                return ht_error_set(HT_EINVALID,
                                    "%s.%s of %s is %zu bytes long; XPT version 5 allows %d: "
                                    "shorten it in the records (nothing was written)",
                                    t->domain->name, t->domain->vars[v].name, who ? who : "a row",
                                    n, CDISC_TEXT_MAX);
            }
        }
    return HT_OK;
}
