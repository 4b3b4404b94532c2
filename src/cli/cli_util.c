#include "cli.h"

#include "hepatrack/exchange.h"

#include "hepatrack/ingest.h"
#include "hepatrack/util.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    fprintf(stderr, "hepatrack %s: %s\n", cmd, cli_shown(message));
}

const char *cli_shown(const char *text)
{
    static char ring[8][4096];
    static unsigned next;
    char *out = ring[next++ % 8];
    ht_escape_controls(text ? text : "", out, sizeof(ring[0]));
    return out;
}

void cli_read_reports(const cli_context *ctx, ht_store *store)
{
    ht_archive *archive = NULL;
    ht_exchange_import_summary sum = {0};
    if (ht_archive_open(&archive, ctx->data_dir) < 0 ||
        ht_exchange_sr_pending(store, archive, &sum) < 0)
        fprintf(stderr, "hepatrack: reading measurement reports: %s\n", ht_error_last());
    else if (sum.reports || sum.proposed || sum.unmatched)
        printf("measurement reports read: %d, %d groups proposed, %d unmatched\n", sum.reports,
               sum.proposed, sum.unmatched);
    ht_archive_free(archive);
}

void cli_operator(char *out, size_t size)
{
    const struct passwd *pw = getpwuid(getuid());
    snprintf(out, size, "operator:%s", pw ? pw->pw_name : "unknown");
}

void cli_print_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
}

static char *cell_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(cli_shown(json_string_value(v)));
    if (json_is_array(v)) {
        size_t n = 0, i;
        json_t *x;
        char buf[512];
        buf[0] = '\0';
        json_array_foreach(v, i, x)
        {
            n += (size_t)snprintf(buf + n, sizeof(buf) > n ? sizeof(buf) - n : 0, "%s%g",
                                  i ? "\\" : "", json_number_value(x));
            if (n >= sizeof(buf))
                break;
        }
        return strdup(buf);
    }
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%g", json_real_value(v));
        return strdup(buf);
    }
    return json_dumps(v, JSON_ENCODE_ANY);
}

void cli_print_table(const json_t *rows, const char *const *columns, const char *const *headers)
{
    size_t ncols = 0, nrows = json_array_size(rows);
    size_t widths[32] = {0};

    while (columns[ncols] && ncols < 32)
        ncols++;
    for (size_t c = 0; c < ncols; c++)
        widths[c] = strlen(headers[c]);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *t = cell_text(json_object_get(json_array_get(rows, r), columns[c]));
            if (t && strlen(t) > widths[c])
                widths[c] = strlen(t);
            free(t);
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", (int)widths[c], headers[c], c + 1 < ncols ? "  " : "\n");
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *t = cell_text(json_object_get(json_array_get(rows, r), columns[c]));
            printf("%-*s%s", (int)widths[c], t ? t : "", c + 1 < ncols ? "  " : "\n");
            free(t);
        }
    }
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_open_store(const cli_context *ctx, const char *cmd, ht_store **store)
{
    char *path = ht_store_index_path(ctx->data_dir);
    int err = path ? ht_mkdir_p(ctx->data_dir) : ht_error_code();
    if (err == HT_OK)
        err = ht_store_open(store, path);
    if (err < 0)
        cli_error(cmd, "cannot open the index in '%s': %s", ctx->data_dir, ht_error_last());
    free(path);
    return err;
}
