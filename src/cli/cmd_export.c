/* hepatrack export cdisc: the CDISC datasets for the sponsor, into a folder or a zip. */
#include "cli.h"

#include "hepatrack/export.h"
#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_export_help(void)
{
    printf("usage: hepatrack export cdisc --out DIR [--criteria recist1.1,mrecist,choi]\n"
           "                              [--include-drafts] [--zip]\n\n"
           "Write SDTM TU, TR, RS (DIR/sdtm) and ADaM ADRS, ADTTE (DIR/adam) (spec 10) as CSV\n"
           "and as SAS transport files (XPT version 5), each folder with its define.xml\n"
           "(Define-XML 2.0) and define.md; or all of it as one zip file DIR with --zip. DIR\n"
           "is new, or an earlier export (replaced whole). From signed reads only, unless\n"
           "--include-drafts. STUDYID, the evaluator role and the standards' versions are\n"
           "trial parameters: 'hepatrack trial show'. A value XPT cannot hold (over 200\n"
           "bytes, or not ASCII) is refused, naming the dataset, variable and subject; nothing\n"
           "is written.\n\n");
    cmd_export_sr_help();
}

typedef struct export_args {
    const char *out;
    int zip;
    ht_export_options options;
} export_args;

static int parse(int argc, char **argv, export_args *a)
{
    static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                            {"criteria", required_argument, NULL, 'c'},
                                            {"include-drafts", no_argument, NULL, 'd'},
                                            {"zip", no_argument, NULL, 'z'},
                                            {0, 0, 0, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            a->out = optarg;
            break;
        case 'c':
            if (ht_export_criteria_parse(optarg, &a->options.criteria) < 0) {
                cli_error("export", "--criteria: %s", ht_error_last());
                return -1;
            }
            break;
        case 'd':
            a->options.include_drafts = 1;
            break;
        case 'z':
            a->zip = 1;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc) {
        cli_error("export", "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!a->out) {
        cli_error("export", "--out DIR is required");
        return -1;
    }
    return 0;
}

static int write_zip(const ht_export_files *files, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int err = ht_export_files_zip(files, &data, &len);
    if (err == HT_OK)
        err = ht_file_replace(path, data, len);
    free(data);
    return err;
}

int cmd_export(const cli_context *ctx, int argc, char **argv)
{
    export_args a = {NULL, 0, HT_EXPORT_OPTIONS_INIT};
    if (argc >= 2 && !strcmp(argv[1], "sr"))
        return cmd_export_sr(ctx, argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "cdisc") != 0) {
        cli_error("export", "usage: hepatrack export cdisc --out DIR, or export sr SUBJECT "
                            "TIMEPOINT --out FILE (see --help)");
        return CLI_FATAL;
    }
    if (parse(argc - 1, argv + 1, &a) < 0)
        return CLI_FATAL;
    ht_store *store = NULL;
    ht_export_files files = {0};
    int err;
    if (cli_open_store(ctx, "export", &store) < 0)
        return CLI_FATAL;
    if ((err = ht_export_cdisc(store, &a.options, &files)) == HT_OK)
        err = a.zip ? write_zip(&files, a.out) : ht_export_files_write(&files, a.out);
    if (err < 0) {
        cli_error("export", "%s", ht_error_last());
    } else {
        printf("%s: %d subjects", a.out, files.subjects);
        if (files.left_out)
            printf(", %d left out (no %sbaseline)", files.left_out,
                   a.options.include_drafts ? "" : "signed ");
        if (files.unsigned_)
            printf(", %d draft time points left out", files.unsigned_);
        printf("\n");
        for (size_t i = 0; i < files.n && !a.zip; i++)
            printf("  %-12s %zu bytes\n", files.items[i].name, files.items[i].len);
    }
    ht_export_files_free(&files);
    ht_store_free(store);
    return err == HT_OK ? CLI_OK
                        : (err == HT_ECONFLICT || err == HT_EEXISTS ? CLI_PARTIAL : CLI_FATAL);
}
