/*
 * hepatrack index: where a data directory's index is (show), and moving a SQLite index to
 * PostgreSQL (migrate --to URL): copied, compared row by row, and only then named in the data
 * directory's index.ini, so that every command on that directory uses it from then on.
 */
#include "cli.h"

#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cmd_index_help(void)
{
    printf("usage: hepatrack index show\n"
           "       hepatrack index migrate --to postgresql://...\n\n"
           "show prints where the data directory's index is (its index.ini, else\n"
           "index.sqlite) and its schema version. migrate copies a SQLite index into an\n"
           "empty PostgreSQL database, compares every table row by row, and then writes\n"
           "index.ini so that serve, import, ls, check and the rest use PostgreSQL. Stop\n"
           "serve and imports first: writers wait while the copy runs. The SQLite file\n"
           "stays as it was (a backup of the moment).\n");
}

static int show(const cli_context *ctx)
{
    ht_store *store = NULL;
    char *locator = ht_store_index_path(ctx->data_dir);
    if (!locator) {
        cli_error("index", "%s", ht_error_last());
        return CLI_FATAL;
    }
    int err = ht_store_open(&store, locator);
    printf("index: %s\nbackend: %s\n", locator,
           ht_store_index_is_file(locator) ? "sqlite" : "postgresql");
    if (err == HT_OK)
        printf("schema version: %d\n", ht_store_schema_version(store));
    else
        cli_error("index", "cannot open it: %s", ht_error_last());
    ht_store_free(store);
    free(locator);
    return err == HT_OK ? CLI_OK : CLI_FATAL;
}

static int report_table(void *payload, const char *table, int64_t rows, int verified)
{
    (void)payload;
    printf("%-17s %10lld rows %s\n", table, (long long)rows, verified ? "identical" : "copied");
    fflush(stdout);
    return 0;
}

/* index.ini naming the PostgreSQL index, replacing any before, its folder synced. */
static int name_index(const char *data_dir, const char *url)
{
    char *path = ht_strprintf("%s/%s", data_dir, HT_STORE_INDEX_SETTINGS);
    char *text = ht_strprintf("# Written by hepatrack index migrate: this data directory's index.\n"
                              "[index]\nbackend = postgresql\nurl = %s\n",
                              url);
    int err = path && text ? ht_file_replace(path, text, strlen(text)) : HT_ENOMEM;
    if (err == HT_OK)
        err = ht_fsync_dir(data_dir);
    free(path);
    free(text);
    return err;
}

static int migrate(const cli_context *ctx, const char *url)
{
    ht_store *store = NULL;
    char *locator = ht_store_index_path(ctx->data_dir);
    int err = locator ? HT_OK : ht_error_code();
    if (err == HT_OK && !ht_store_index_is_file(locator))
        err = ht_error_set(HT_EINVALID, "the index is already on PostgreSQL (%s)", locator);
    if (err == HT_OK && access(locator, F_OK) != 0)
        err = ht_error_set(HT_ENOTFOUND, "no index at '%s'", locator);
    if (err == HT_OK)
        err = ht_store_open(&store, locator);
    if (err == HT_OK)
        err = ht_store_copy_to(store, url, report_table, NULL);
    ht_store_free(store);
    if (err == HT_OK && (err = name_index(ctx->data_dir, url)) == HT_OK)
        printf("the data directory '%s' now uses %s (the SQLite file stays as it was)\n",
               ctx->data_dir, url);
    else if (err == HT_ECONFLICT)
        cli_error("index",
                  "the copy differs: %s; the data directory still uses %s; empty the "
                  "PostgreSQL database before trying again",
                  ht_error_last(), locator);
    else
        cli_error("index", "%s", ht_error_last());
    free(locator);
    return err == HT_OK ? CLI_OK : CLI_FATAL;
}

int cmd_index(const cli_context *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"to", required_argument, NULL, 't'}, {0, 0, 0, 0}};
    const char *to = NULL;
    int opt;

    if (argc < 2) {
        cmd_index_help();
        return CLI_FATAL;
    }
    optind = 2;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 't') {
            cmd_index_help();
            return CLI_FATAL;
        }
        to = optarg;
    }
    if (optind != argc) {
        cli_error("index", "unexpected argument '%s'", argv[optind]);
        return CLI_FATAL;
    }
    if (!strcmp(argv[1], "show") && !to)
        return show(ctx);
    if (!strcmp(argv[1], "migrate") && to)
        return migrate(ctx, to);
    cli_error("index", "%s",
              !strcmp(argv[1], "migrate") ? "migrate needs --to postgresql://..."
                                          : "unknown action (show, migrate)");
    return CLI_FATAL;
}
