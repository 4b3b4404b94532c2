/*
 * hepatrack check: the archive against the index. Every row must have its file with the
 * recorded size and dataset checksum, every file its row, and no temporary file may be left.
 *
 * --repair fixes what is safe: temporary files are removed; a file without a row (a crash
 * between rename and commit) is indexed again if it reads as the instance its path says, and
 * removed otherwise; rows of batches the index does not record as durable whose file a power
 * loss took or cut short (never acknowledged) are removed. Other rows whose file is missing or
 * altered are reported, never dropped: that needs a person (restore from backup, or have the PACS
 * send the study again).
 */
#include "cli.h"

#include "hepatrack/archive.h"
#include "hepatrack/ingest.h"
#include "hepatrack/log.h"
#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check_state {
    ht_ingest *ingest;
    ht_archive *archive; /* the files, read and removed beside the ingest's own handle */
    ht_store *store;     /* a reading connection to the index */
    json_t *problems;
    int repair;
    int verify; /* read every indexed file and compare its checksum */
    size_t rows, files, unrepaired;
    int64_t conflicts; /* recorded: not an inconsistency, but a person should look */
} check_state;

void cmd_check_help(void)
{
    printf("usage: hepatrack check [--repair] [--json]\n\n"
           "Verify that every index row has its file and checksum, every file its row, and that\n"
           "no temporary file is left. --repair removes temporary files, re-indexes (or\n"
           "removes, when unreadable) files without a row, and removes the rows of\n"
           "unacknowledged batches whose files a power loss took. Exit status 0 only when\n"
           "everything is consistent. Conflicts (an instance received again with other\n"
           "content) are counted, not inconsistencies.\n");
}

static void
problem(check_state *st, const char *kind, const char *path, const char *detail, int repaired)
{
    json_t *p = json_object();
    json_object_set_new(p, "kind", json_string(kind));
    json_object_set_new(p, "path", json_string(path));
    json_object_set_new(p, "detail", json_string(detail));
    json_object_set_new(p, "repaired", json_boolean(repaired));
    json_array_append_new(st->problems, p);
    if (!repaired)
        st->unrepaired++;
}

static int check_row(void *payload, const ht_file_entry *e)
{
    check_state *st = payload;

    st->rows++;
    if (!st->verify)
        return 0;
    int err = ht_ingest_verify(st->ingest, e);
    if (err < 0)
        problem(st, err == HT_ECONFLICT ? "corrupt" : "missing", e->archive_path, ht_error_last(),
                0);
    return 0;
}

/* A file without a row: index it again when it is the instance its path says. */
static void repair_orphan(check_state *st, const char *rel)
{
    ht_archive *archive = st->archive;
    uint8_t *data = NULL;
    size_t len = 0;
    ht_ingest_result res;
    char expected[HT_ARCHIVE_PATH_MAX];
    int err;

    if (ht_archive_read(archive, rel, &data, &len) < 0) {
        problem(st, "orphan", rel, ht_error_last(), 0);
        return;
    }
    err = ht_ingest_buffer(st->ingest, data, len, "check --repair", &res);
    free(data);
    ht_archive_path_for(res.sop_instance_uid, expected);
    if (err == HT_OK && strcmp(expected, rel) == 0) {
        problem(st, "orphan", rel, "file without an index row: indexed again", 1);
        return;
    }
    char detail[700];
    snprintf(detail, sizeof(detail), "file without an index row: %s; removed",
             err < 0 ? ht_error_last() : "not the instance its name says");
    problem(st, "orphan", rel, detail, ht_archive_remove(archive, rel) == HT_OK);
}

/* Ask again under the index's write lock: a running ingest (serve, import, another node) moves a
 * file into place and commits its row under that lock, so a file seen between the two is indexed
 * once the lock is had, and only a true leftover is not. */
static int indexed_once_settled(check_state *st, const char *rel)
{
    int err = ht_store_begin(st->store);
    if (err < 0)
        return err;
    int indexed = ht_store_path_indexed(st->store, rel);
    ht_store_rollback(st->store);
    return indexed;
}

static int check_file(void *payload, const char *rel, int is_temporary)
{
    check_state *st = payload;

    if (is_temporary && ht_archive_temp_in_use(rel))
        return 0; /* a running import or receiver is writing it */
    if (is_temporary) {
        int repaired = st->repair && ht_archive_remove(st->archive, rel) == 0;
        problem(st, "temporary", rel, "left by an interrupted write", repaired);
        return 0;
    }
    st->files++;
    int indexed = ht_store_path_indexed(st->store, rel);
    if (indexed == 0)
        indexed = indexed_once_settled(st, rel);
    if (indexed < 0)
        return indexed;
    if (indexed)
        return 0;
    if (st->repair)
        repair_orphan(st, rel);
    else
        problem(st, "orphan", rel, "file without an index row", 0);
    return 0;
}

/* A row of a batch not known durable that a stop of the machine left without its whole file:
 * never acknowledged, so --repair removes it. */
static int report_unconfirmed(void *payload, const char *sop_uid, const char *why)
{
    char detail[700];
    snprintf(detail, sizeof(detail), "%s: never acknowledged (its batch was not durable); removed",
             why);
    problem(payload, "unconfirmed", sop_uid, detail, 1);
    return 0;
}

static int log_unconfirmed(void *payload, const char *sop_uid, const char *why)
{
    (void)payload;
    ht_log(HT_LOG_WARN,
           "event=recovery kind=unconfirmed sop=%s detail=\"%s: never acknowledged, removed\"",
           sop_uid, why);
    return 0;
}

/* Open the archive and an index connection of data_dir beside the ingest. */
static int open_beside(check_state *st, const char *data_dir)
{
    char *path = ht_store_index_path(data_dir);
    int err = path ? ht_archive_open(&st->archive, data_dir) : ht_error_code();
    if (err == HT_OK)
        err = ht_store_open(&st->store, path);
    free(path);
    return err;
}

/* Every row against its file, then every file against the rows. */
static int scan(check_state *st)
{
    int err = st->problems ? HT_OK : HT_ENOMEM;
    if (err == HT_OK)
        err = ht_store_each_file(st->store, check_row, st);
    if (err == HT_OK)
        err = ht_archive_walk(st->archive, check_file, st);
    return err;
}

static void check_state_free(check_state *st)
{
    json_decref(st->problems);
    ht_store_free(st->store);
    ht_archive_free(st->archive);
}

int cli_recover(ht_ingest *ingest, const char *data_dir)
{
    check_state st = {0};
    size_t i;
    json_t *p;
    int err;

    st.ingest = ingest;
    st.repair = 1;
    st.problems = json_array();
    err = ht_ingest_confirm_batches(ingest, log_unconfirmed, NULL);
    if (err >= 0)
        err = open_beside(&st, data_dir);
    if (err == HT_OK)
        err = scan(&st);
    json_array_foreach(st.problems, i, p)
        ht_log(json_is_true(json_object_get(p, "repaired")) ? HT_LOG_INFO : HT_LOG_WARN,
               "event=recovery kind=%s path=%s detail=\"%s\" repaired=%s",
               json_string_value(json_object_get(p, "kind")),
               json_string_value(json_object_get(p, "path")),
               json_string_value(json_object_get(p, "detail")),
               json_is_true(json_object_get(p, "repaired")) ? "yes" : "no");
    ht_log(HT_LOG_INFO, "event=recovery rows=%zu files=%zu problems=%zu unrepaired=%zu", st.rows,
           st.files, json_array_size(st.problems), st.unrepaired);
    check_state_free(&st);
    return err < 0 ? err : (int)st.unrepaired;
}

int cmd_check(const cli_context *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'}, {"repair", no_argument, NULL, 'r'}, {0, 0, 0, 0}};
    check_state st = {0};
    int as_json = 0, opt, err;

    st.verify = 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j')
            as_json = 1;
        else if (opt == 'r')
            st.repair = 1;
        else {
            cmd_check_help();
            return CLI_FATAL;
        }
    }
    if (optind != argc) {
        cli_error("check", "unexpected argument '%s'", argv[optind]);
        return CLI_FATAL;
    }
    if ((err = ht_ingest_open(&st.ingest, ctx->data_dir)) < 0) {
        cli_error("check", "cannot open data directory '%s': %s", ctx->data_dir, ht_error_last());
        return CLI_FATAL;
    }
    st.problems = json_array();
    err = st.repair ? ht_ingest_confirm_batches(st.ingest, report_unconfirmed, &st) : HT_OK;
    if (err >= 0)
        err = open_beside(&st, ctx->data_dir);
    if (err == HT_OK)
        err = scan(&st);
    if (err == HT_OK)
        err = ht_store_count(st.store, HT_LIST_CONFLICTS, &st.conflicts);
    if (err < 0) {
        cli_error("check", "%s", ht_error_last());
    } else if (as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "rows", json_integer((json_int_t)st.rows));
        json_object_set_new(o, "files", json_integer((json_int_t)st.files));
        json_object_set_new(o, "problems", json_incref(st.problems));
        json_object_set_new(o, "conflicts", json_integer((json_int_t)st.conflicts));
        json_object_set_new(o, "consistent", json_boolean(st.unrepaired == 0));
        cli_print_json(o);
        json_decref(o);
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(st.problems, i, p)
        {
            printf("%s %s: %s%s\n", json_string_value(json_object_get(p, "kind")),
                   cli_shown(json_string_value(json_object_get(p, "path"))),
                   cli_shown(json_string_value(json_object_get(p, "detail"))),
                   json_is_true(json_object_get(p, "repaired")) ? " (repaired)" : "");
        }
        if (st.conflicts > 0)
            printf("%lld conflicts: instances received again with other content, the first "
                   "copy kept (hepatrack ls conflicts)\n",
                   (long long)st.conflicts);
        printf("%zu index rows, %zu files: %s\n", st.rows, st.files,
               st.unrepaired ? "INCONSISTENT" : "consistent");
    }
    check_state_free(&st);
    ht_ingest_free(st.ingest);
    if (err < 0)
        return CLI_FATAL;
    return st.unrepaired ? CLI_PARTIAL : CLI_OK;
}
