/* hepatrack report: a subject's PDF report (the plot module's), written to a file. */
#include "cli.h"

#include "hepatrack/archive.h"
#include "hepatrack/plot.h"
#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_report_help(void)
{
    printf("usage: hepatrack report SUBJECT --out FILE.pdf [--criteria recist1.1|mrecist|choi]\n"
           "                        [--include-drafts]\n\n"
           "A subject's report as a PDF: subject, trial and readers, each read's status, the\n"
           "best overall response, eligibility and hepatic tumour load; the timeline table and\n"
           "target-sum chart per criterion (all three, or the one --criteria names); and the\n"
           "key images: every target at every time point on the slice it was measured, with\n"
           "its caliper. Every page is numbered, dated and carries the read status. From\n"
           "signed reads only, unless --include-drafts.\n");
}

typedef struct report_args {
    const char *subject, *out;
    ht_plot_report_options options;
} report_args;

static int parse(int argc, char **argv, report_args *a)
{
    static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                            {"criteria", required_argument, NULL, 'c'},
                                            {"include-drafts", no_argument, NULL, 'd'},
                                            {0, 0, 0, 0}};
    int opt;
    memset(a, 0, sizeof(*a));
    a->options.all_criteria = 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'o') {
            a->out = optarg;
        } else if (opt == 'c') {
            if (ht_criterion_parse(optarg, &a->options.criterion) < 0) {
                cli_error("report", "%s", ht_error_last());
                return -1;
            }
            a->options.all_criteria = 0;
        } else if (opt == 'd') {
            a->options.include_drafts = 1;
        } else {
            return -1;
        }
    }
    if (optind + 1 != argc || !a->out) {
        cli_error("report", "usage: hepatrack report SUBJECT --out FILE.pdf [--criteria ...] "
                            "[--include-drafts]");
        return -1;
    }
    a->subject = argv[optind];
    return 0;
}

int cmd_report(const cli_context *ctx, int argc, char **argv)
{
    report_args a;
    ht_store *store = NULL;
    ht_archive *archive = NULL;
    uint8_t *pdf = NULL;
    size_t len = 0;
    int err;
    if (parse(argc, argv, &a) < 0)
        return CLI_FATAL;
    if (cli_open_store(ctx, "report", &store) < 0)
        return CLI_FATAL;
    double t0 = ht_time_monotonic();
    if ((err = ht_archive_open(&archive, ctx->data_dir)) == HT_OK &&
        (err = ht_plot_subject_report(store, archive, a.subject, &a.options, &pdf, &len)) == HT_OK)
        err = ht_file_replace(a.out, pdf, len);
    if (err == HT_OK)
        printf("%s (%zu bytes, made in %.0f ms)\n", cli_shown(a.out), len,
               (ht_time_monotonic() - t0) * 1000);
    else
        cli_error("report", "%s", ht_error_last());
    free(pdf);
    ht_archive_free(archive);
    ht_store_free(store);
    /* An unknown subject or one without a signed read is the input's fault. */
    return err == HT_OK ? CLI_OK
                        : (err == HT_ENOTFOUND || err == HT_EINVALID ? CLI_PARTIAL : CLI_FATAL);
}
