/* hepatrack measurements import, timeline, history, trial: the lesion ledger from the shell. */
#include "cli.h"

#include "hepatrack/ingest.h"
#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"
#include "hepatrack/plot.h"
#include "hepatrack/report.h"
#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The index, for ledger commands (created when missing: the ledger may come before images). */
void cmd_measurements_help(void)
{
    printf("usage: hepatrack measurements import [--enrol] FILE.json\n"
           "       hepatrack measurements sign SUBJECT TIMEPOINT --reader NAME\n\n"
           "Import lesion measurements: one subject (an object) or several (an array), all or\n"
           "nothing; see docs/measurements.md. Subjects must be enrolled ('hepatrack subject\n"
           "add'), or --enrol enrols those the file names and says which. Re-importing merges:\n"
           "a changed record becomes a\n"
           "new version and needs a \"reason\"; \"retract\": true withdraws an assessment.\n"
           "sign marks a time point's read as signed; a later change returns it to draft.\n");
}

/* Lengths and densities of drawn measurements are computed from the pixels before import. */
static int import_completed(const cli_context *ctx,
                            ht_store *store,
                            const char *text,
                            size_t len,
                            const char *source,
                            int enrol,
                            ht_ledger_import_summary *sum)
{
    ht_measure_source drawn_on = {store, NULL};
    ht_ledger_import_options all = {ht_measure_complete, &drawn_on, enrol, HT_LEDGER_ALL, 0};
    json_t *doc = NULL;
    int err;
    if ((err = ht_ledger_parse_document(text, len, source, &doc)) == HT_OK &&
        (err = ht_archive_open(&drawn_on.archive, ctx->data_dir)) == HT_OK)
        err = ht_ledger_import_document(store, doc, source, &all, sum);
    json_decref(doc);
    ht_archive_free(drawn_on.archive);
    return err;
}

int cmd_measurements(const cli_context *ctx, int argc, char **argv)
{
    uint8_t *text = NULL;
    size_t len = 0;
    ht_store *store = NULL;
    ht_ledger_import_summary sum;
    int err;

    if (argc == 6 && !strcmp(argv[1], "sign") && !strcmp(argv[4], "--reader")) {
        if ((err = cli_open_store(ctx, "measurements", &store)) < 0)
            return CLI_FATAL;
        if ((err = ht_ledger_sign(store, argv[2], argv[3], argv[5])) < 0)
            cli_error("measurements", "%s", ht_error_last());
        else
            printf("%s %s: signed by %s\n", argv[2], argv[3], argv[5]);
        if (err == HT_OK) /* the signed read as a DICOM SR report; never undoes the signing */
            cli_sr_after_sign(ctx, store, argv[2], argv[3]);
        ht_store_free(store);
        return err == HT_OK ? CLI_OK : CLI_PARTIAL;
    }
    int enrol = argc == 4 && !strcmp(argv[2], "--enrol");
    if (argc != 3 + enrol || strcmp(argv[1], "import") != 0) {
        cli_error("measurements", "usage: hepatrack measurements import [--enrol] FILE.json, or "
                                  "measurements sign SUBJECT TIMEPOINT --reader NAME");
        return CLI_FATAL;
    }
    const char *file = argv[2 + enrol];
    if (ht_file_read(file, (size_t)64 << 20, &text, &len) < 0) {
        cli_error("measurements", "%s", ht_error_last());
        return CLI_FATAL;
    }
    if ((err = cli_open_store(ctx, "measurements", &store)) == HT_OK &&
        (err = import_completed(ctx, store, (const char *)text, len, file, enrol, &sum)) < 0)
        cli_error("measurements", "nothing imported: %s", ht_error_last());
    if (err == HT_OK) {
        printf("%d subject%s: %d new records, %d corrections, %d retractions, %d unchanged\n",
               sum.subjects, sum.subjects == 1 ? "" : "s", sum.new_records, sum.corrections,
               sum.retractions, sum.unchanged);
        if (sum.enrolled[0])
            printf("enrolled: %s\n", sum.enrolled);
        if (sum.notes[0])
            fprintf(stderr, "hepatrack measurements: note: %s\n", sum.notes);
        cli_read_reports(ctx, store);
    }
    ht_store_free(store);
    free(text);
    return err == HT_OK
               ? CLI_OK
               : (err == HT_EINVALID || err == HT_EPARSE || err == HT_ENOTFOUND || err == HT_EPERM
                      ? CLI_PARTIAL
                      : CLI_FATAL);
}

/* --criteria, --no-confirmation, --include-drafts, --format shared by timeline and cohort. */
typedef struct report_args {
    ht_criterion criterion;
    ht_report_options options;
    const char *format;
    const char *subject;
    const char *plots; /* cohort --plots DIR */
} report_args;

static int
parse_report_args(const char *cmd, int argc, char **argv, int want_subject, report_args *a)
{
    static const struct option options[] = {{"criteria", required_argument, NULL, 'c'},
                                            {"no-confirmation", no_argument, NULL, 'n'},
                                            {"format", required_argument, NULL, 'f'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"include-drafts", no_argument, NULL, 'd'},
                                            {"plots", required_argument, NULL, 'p'},
                                            {0, 0, 0, 0}};
    ht_report_options init = HT_REPORT_OPTIONS_INIT;
    int opt;
    a->criterion = HT_RECIST11;
    a->options = init;
    a->format = "table";
    a->subject = NULL;
    a->plots = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            if (ht_criterion_parse(optarg, &a->criterion) < 0) {
                cli_error(cmd, "%s", ht_error_last());
                return -1;
            }
            break;
        case 'n':
            a->options.confirmation_required = 0;
            break;
        case 'f':
            if (strcmp(optarg, "table") && strcmp(optarg, "json") && strcmp(optarg, "csv")) {
                cli_error(cmd, "--format must be table, json or csv (got '%s')", optarg);
                return -1;
            }
            a->format = optarg;
            break;
        case 'j':
            a->format = "json";
            break;
        case 'd':
            a->options.include_drafts = 1;
            break;
        case 'p':
            if (want_subject) {
                cli_error(cmd, "--plots is the cohort's");
                return -1;
            }
            a->plots = optarg;
            break;
        default:
            return -1;
        }
    }
    if (want_subject) {
        if (optind + 1 != argc) {
            cli_error(cmd, "give one subject id");
            return -1;
        }
        a->subject = argv[optind];
    } else if (optind != argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

static void print_report(const json_t *report,
                         const char *format,
                         char *(*csv)(const json_t *),
                         char *(*table)(const json_t *))
{
    if (!strcmp(format, "json")) {
        cli_print_json(report);
        return;
    }
    char *text = !strcmp(format, "csv") ? csv(report) : table(report);
    if (text)
        fputs(text, stdout);
    free(text);
}

void cmd_timeline_help(void)
{
    printf("usage: hepatrack timeline SUBJECT [--criteria recist1.1|mrecist|choi]\n"
           "                          [--no-confirmation] [--include-drafts]\n"
           "                          [--format table|json|csv]\n\n"
           "A subject's responses per time point and its best overall response, with the\n"
           "hepatic tumour load, the intra/extrahepatic responses, eligibility and warnings.\n"
           "From signed reads only, unless --include-drafts (drafts are flagged).\n");
}

/* One report command: its arguments, the index, the report, printed in the chosen format. */
typedef struct report_command {
    const char *name;
    int with_subject;
    int (*make)(ht_store *store, const report_args *a, json_t **out);
    char *(*csv)(const json_t *);
    char *(*table)(const json_t *);
} report_command;

static int run_report(const cli_context *ctx, const report_command *c, int argc, char **argv)
{
    report_args a;
    ht_store *store = NULL;
    json_t *report = NULL;
    int err;
    if (parse_report_args(c->name, argc, argv, c->with_subject, &a) < 0)
        return CLI_FATAL;
    if ((err = cli_open_store(ctx, c->name, &store)) < 0)
        return CLI_FATAL;
    if ((err = c->make(store, &a, &report)) < 0)
        cli_error(c->name, "%s", ht_error_last());
    else
        print_report(report, a.format, c->csv, c->table);
    json_decref(report);
    ht_store_free(store);
    /* An unknown subject or one without a baseline is the input's fault, not the program's. */
    return err == HT_OK
               ? CLI_OK
               : (c->with_subject && (err == HT_ENOTFOUND || err == HT_EINVALID) ? CLI_PARTIAL
                                                                                 : CLI_FATAL);
}

static int make_timeline(ht_store *store, const report_args *a, json_t **out)
{
    return ht_report_timeline(store, a->subject, a->criterion, &a->options, out);
}

static int make_cohort(ht_store *store, const report_args *a, json_t **out)
{
    return ht_report_cohort(store, a->criterion, &a->options, out);
}

int cmd_timeline(const cli_context *ctx, int argc, char **argv)
{
    static const report_command c = {"timeline", 1, make_timeline, ht_report_timeline_csv,
                                     ht_report_timeline_table};
    return run_report(ctx, &c, argc, argv);
}

void cmd_cohort_help(void)
{
    printf("usage: hepatrack cohort [--criteria recist1.1|mrecist|choi] [--no-confirmation]\n"
           "                        [--include-drafts] [--format table|json|csv]\n"
           "                        [--plots DIR]\n\n"
           "Per subject the best overall response, best change, progression and PFS/OS; for the\n"
           "cohort ORR and DCR with exact 95 %% intervals and Kaplan-Meier medians. From signed\n"
           "reads only, unless --include-drafts; the cohort says how many it left out.\n"
           "--plots DIR draws the cohort instead (DIR is created when missing): waterfall,\n"
           "spider, swimmer, km-pfs and km-os, each as .png and .svg, and says what it wrote.\n");
}

/* One picture written into dir (atomically: a reader never sees half of it). */
static int
write_plot(const char *dir, const json_t *cohort, ht_plot_chart chart, ht_plot_format format)
{
    uint8_t *picture = NULL;
    size_t len = 0;
    double t0 = ht_time_monotonic();
    int err = ht_plot_draw(cohort, chart, format, &picture, &len);
    double ms = (ht_time_monotonic() - t0) * 1000;
    char *path =
        ht_strprintf("%s/%s.%s", dir, ht_plot_chart_name(chart), ht_plot_format_extension(format));
    if (err == HT_OK && !path)
        err = ht_error_set(HT_ENOMEM, "out of memory");
    if (err == HT_OK)
        err = ht_file_replace(path, picture, len);
    if (err == HT_OK)
        printf("%s (%zu bytes, drawn in %.0f ms)\n", cli_shown(path), len, ms);
    free(path);
    free(picture);
    return err;
}

/* cohort --plots DIR: every chart in every picture format the station and the README use. */
static int write_plots(ht_store *store, const report_args *a)
{
    static const ht_plot_format formats[] = {HT_PLOT_PNG, HT_PLOT_SVG};
    json_t *cohort = NULL;
    int err = ht_mkdir_p(a->plots);
    if (err == HT_OK)
        err = ht_report_cohort_series(store, a->criterion, &a->options, &cohort);
    for (int c = 0; err == HT_OK && c < HT_PLOT_NCHARTS; c++)
        for (size_t f = 0; err == HT_OK && f < sizeof(formats) / sizeof(formats[0]); f++)
            err = write_plot(a->plots, cohort, (ht_plot_chart)c, formats[f]);
    json_decref(cohort);
    return err;
}

int cmd_cohort(const cli_context *ctx, int argc, char **argv)
{
    static const report_command c = {"cohort", 0, make_cohort, ht_report_cohort_csv,
                                     ht_report_cohort_table};
    report_args a;
    ht_store *store = NULL;
    if (parse_report_args(c.name, argc, argv, 0, &a) < 0)
        return CLI_FATAL;
    if (!a.plots)
        return run_report(ctx, &c, argc, argv);
    if (cli_open_store(ctx, c.name, &store) < 0)
        return CLI_FATAL;
    int err = write_plots(store, &a);
    if (err < 0)
        cli_error(c.name, "%s", ht_error_last());
    ht_store_free(store);
    return err == HT_OK ? CLI_OK : CLI_FATAL;
}

void cmd_history_help(void)
{
    printf("usage: hepatrack history SUBJECT [--json]\n\n"
           "Every version of every record of a subject (who, when, why) and its audit log.\n");
}

int cmd_history(const cli_context *ctx, int argc, char **argv)
{
    ht_store *store = NULL;
    int as_json = 0, err;
    const char *sid = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!sid)
            sid = argv[i];
        else {
            cli_error("history", "unexpected argument '%s'", argv[i]);
            return CLI_FATAL;
        }
    }
    if (!sid) {
        cli_error("history", "give a subject id");
        return CLI_FATAL;
    }
    if (cli_open_store(ctx, "history", &store) < 0)
        return CLI_FATAL;
    json_t *o = NULL;
    if ((err = ht_report_history(store, sid, &o)) < 0) {
        cli_error("history", "%s", ht_error_last());
    } else if (as_json) {
        cli_print_json(o);
    } else {
        json_t *versions = json_object_get(o, "versions"), *audit = json_object_get(o, "audit");
        size_t i;
        json_t *v;
        printf("subject %s: %zu record versions\n", sid, json_array_size(versions));
        json_array_foreach(versions, i, v)
        {
            char *rec = json_dumps(json_object_get(v, "record"), JSON_COMPACT | JSON_SORT_KEYS);
            const char *key = json_string_value(json_object_get(v, "key"));
            char shown[300];
            snprintf(shown, sizeof(shown), "%s", key);
            for (char *p = shown; *p; p++)
                if (*p == '\t')
                    *p = '@';
            printf("%s  %-10s %-12s v%lld %s by %s%s%s\n    %s\n",
                   json_string_value(json_object_get(v, "recorded_at")),
                   json_string_value(json_object_get(v, "kind")), shown,
                   (long long)json_integer_value(json_object_get(v, "version")),
                   json_is_true(json_object_get(v, "retracted")) ? "retracted" : "recorded",
                   json_string_value(json_object_get(v, "reader")),
                   *json_string_value(json_object_get(v, "reason")) ? ": " : "",
                   json_string_value(json_object_get(v, "reason")), rec ? rec : "null");
            free(rec);
        }
        printf("audit log: %zu entries\n", json_array_size(audit));
        json_array_foreach(audit, i, v)
            printf("%s  %-8s %-8s %s\n", json_string_value(json_object_get(v, "at")),
                   cli_shown(json_string_value(json_object_get(v, "user"))),
                   json_string_value(json_object_get(v, "action")),
                   cli_shown(json_string_value(json_object_get(v, "detail"))));
    }
    json_decref(o);
    ht_store_free(store);
    return err == HT_OK ? CLI_OK : (err == HT_ENOTFOUND ? CLI_PARTIAL : CLI_FATAL);
}

void cmd_trial_help(void)
{
    printf("usage: hepatrack trial show [--json]\n"
           "       hepatrack trial set KEY VALUE\n\n"
           "Trial parameters (spec 13.1): study_id, reader_role (INVESTIGATOR or INDEPENDENT\n"
           "ASSESSOR), confirmation_required, confirmation_min_days, sd_min_days,\n"
           "assessment_interval_days; and the versions the CDISC export names: sdtmig_version,\n"
           "adamig_version, ct_version.\n");
}

int cmd_trial(const cli_context *ctx, int argc, char **argv)
{
    ht_store *store = NULL;
    int err = HT_OK;
    if (argc >= 2 && !strcmp(argv[1], "set") && argc == 4) {
        if (cli_open_store(ctx, "trial", &store) < 0)
            return CLI_FATAL;
        const char *user = getenv("USER");
        if ((err = ht_ledger_param_set(store, argv[2], argv[3], user ? user : "cli")) < 0)
            cli_error("trial", "%s", ht_error_last());
        ht_store_free(store);
        return err == HT_OK ? CLI_OK : CLI_PARTIAL;
    }
    if (argc >= 2 && !strcmp(argv[1], "show") && argc <= 3) {
        json_t *o = NULL, *stored = NULL;
        if (cli_open_store(ctx, "trial", &store) < 0)
            return CLI_FATAL;
        if ((err = ht_report_trial(store, &o, &stored)) == HT_OK) {
            if (argc == 3 && !strcmp(argv[2], "--json")) {
                cli_print_json(o);
            } else {
                const char *key;
                json_t *v;
                json_object_foreach(o, key, v)
                {
                    char *t = json_dumps(v, JSON_ENCODE_ANY);
                    printf("%-26s %s%s\n", key, t ? t : "",
                           json_object_get(stored, key) ? "" : "  (default)");
                    free(t);
                }
            }
        } else {
            cli_error("trial", "%s", ht_error_last());
        }
        json_decref(o);
        json_decref(stored);
        ht_store_free(store);
        return err == HT_OK ? CLI_OK : CLI_FATAL;
    }
    cmd_trial_help();
    return CLI_FATAL;
}
