/* A dataset as CSV (spec 10): UTF-8, a header row of variable names, ISO 8601 dates, RFC 4180
 * quoting, empty cells for missing values. */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quoted(FILE *f, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* One cell as the CSV and the readers' check spell it. */
static void value(FILE *f, const cdisc_variable *var, const cdisc_cell *c)
{
    if (c->text) {
        quoted(f, c->text);
    } else if (c->has_number && var->type == CDISC_DATE) {
        char date[11];
        ht_date_format((int32_t)c->number, date);
        fputs(date, f);
    } else if (c->has_number) {
        fprintf(f, var->type == CDISC_INTEGER ? "%.0f" : "%.15g", c->number);
    }
}

int cdisc_csv(const cdisc_table *t, unsigned char **data, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return ht_error_set(HT_ENOMEM, "out of memory writing %s.csv", t->domain->name);
    for (int v = 0; v < t->domain->nvars; v++)
        fprintf(f, "%s%s", v ? "," : "", t->domain->vars[v].name);
    fputs("\r\n", f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (int v = 0; v < t->domain->nvars; v++) {
            if (v)
                fputc(',', f);
            value(f, &t->domain->vars[v], cdisc_cell_at(t, r, v));
        }
        fputs("\r\n", f);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return ht_error_set(HT_ENOMEM, "out of memory writing %s.csv", t->domain->name);
    }
    *data = (unsigned char *)buf;
    return HT_OK;
}
