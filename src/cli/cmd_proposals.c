/* hepatrack proposals: measurements proposed by outside reports (spec 11), listed, accepted
 * into the ledger or rejected; `hepatrack ls proposals` lists them too. */
#include "cli.h"

#include "hepatrack/archive.h"
#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_proposals_help(void)
{
    printf("usage: hepatrack proposals [list] [--subject ID] [--status STATUS] [--json]\n"
           "       hepatrack proposals accept ID --reader NAME [--role target|non-target|new]\n"
           "       hepatrack proposals reject ID --reader NAME --reason TEXT\n\n"
           "Measurements proposed by DICOM SR TID 1500 reports received or imported (spec 11):\n"
           "each group of a report matched to a subject, time point and lesion, or kept with\n"
           "the reason it could not be (status unmatched). The engine counts none until it is\n"
           "accepted: then it is the next version of its assessment, by the reader, the reason\n"
           "naming the report. A lesion the ledger does not have needs --role.\n");
}

typedef struct args {
    const char *subject, *status, *reader, *role, *reason;
    int json;
} args;

static int parse(int argc, char **argv, args *a)
{
    static const struct option options[] = {{"subject", required_argument, NULL, 's'},
                                            {"status", required_argument, NULL, 't'},
                                            {"reader", required_argument, NULL, 'r'},
                                            {"role", required_argument, NULL, 'o'},
                                            {"reason", required_argument, NULL, 'e'},
                                            {"json", no_argument, NULL, 'j'},
                                            {0, 0, 0, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            a->subject = optarg;
            break;
        case 't':
            a->status = optarg;
            break;
        case 'r':
            a->reader = optarg;
            break;
        case 'o':
            a->role = optarg;
            break;
        case 'e':
            a->reason = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

static int list(ht_store *store, const args *a)
{
    if (a->status && strcmp(a->status, "proposed") && strcmp(a->status, "accepted") &&
        strcmp(a->status, "rejected") && strcmp(a->status, "unmatched")) {
        cli_error("proposals", "--status is proposed, accepted, rejected or unmatched (got '%s')",
                  a->status);
        return CLI_FATAL;
    }
    json_t *items = NULL;
    int err = ht_ledger_proposals(store, a->subject, a->status, NULL, &items);
    if (err < 0) {
        cli_error("proposals", "%s", ht_error_last());
        return CLI_FATAL;
    }
    if (a->json) {
        cli_print_json(items);
    } else {
        size_t i;
        json_t *p;
        printf("%-5s %-9s %-10s %-10s %-10s %s\n", "id", "status", "subject", "timepoint", "lesion",
               "from report: why");
        json_array_foreach(items, i, p)
        {
            const char *subject = json_string_value(json_object_get(p, "subject"));
            const char *tp = json_string_value(json_object_get(p, "timepoint"));
            const char *lesion = json_string_value(json_object_get(p, "lesion"));
            /* a report's text, shown with its control characters escaped */
            printf("%-5lld %-9s %-10s %-10s %-10s %s #%lld: %s\n",
                   (long long)json_integer_value(json_object_get(p, "id")),
                   json_string_value(json_object_get(p, "status")), subject ? subject : "-",
                   tp ? tp : "-", lesion ? lesion : "-",
                   cli_shown(json_string_value(json_object_get(p, "source"))),
                   (long long)json_integer_value(json_object_get(p, "item")),
                   cli_shown(json_string_value(json_object_get(p, "reason"))));
        }
    }
    json_decref(items);
    return CLI_OK;
}

static int
decide(const cli_context *ctx, ht_store *store, const char *verb, int64_t id, const args *a)
{
    int err;
    if (!a->reader) {
        cli_error("proposals", "%s needs --reader NAME", verb);
        return CLI_FATAL;
    }
    if (!strcmp(verb, "reject")) {
        err = ht_ledger_proposal_reject(store, id, a->reader, a->reason);
    } else {
        ht_archive *archive = NULL;
        ht_ledger_import_summary sum;
        if ((err = ht_archive_open(&archive, ctx->data_dir)) == HT_OK) {
            ht_measure_source drawn_on = {store, archive};
            ht_ledger_import_options read = {ht_measure_complete, &drawn_on, 0, HT_LEDGER_READS, 0};
            err = ht_ledger_proposal_accept(store, id, a->reader, a->role ? a->role : "", &read,
                                            &sum);
        }
        ht_archive_free(archive);
    }
    if (err < 0) {
        cli_error("proposals", "%s", ht_error_last());
        return err == HT_EDB || err == HT_ENOMEM ? CLI_FATAL : CLI_PARTIAL;
    }
    printf("proposal %lld %sed by %s\n", (long long)id,
           strcmp(verb, "reject") ? "accept" : "reject", a->reader);
    return CLI_OK;
}

int cmd_proposals(const cli_context *ctx, int argc, char **argv)
{
    args a = {0};
    const char *verb = argc >= 2 && argv[1][0] != '-' ? argv[1] : "list";
    int shift = argc >= 2 && argv[1][0] != '-';
    if (parse(argc - shift, argv + shift, &a) < 0) {
        cmd_proposals_help();
        return CLI_FATAL;
    }
    int rest = argc - shift - optind;
    char **operands = argv + shift + optind;
    ht_store *store = NULL;
    if (strcmp(verb, "list") && strcmp(verb, "accept") && strcmp(verb, "reject")) {
        cli_error("proposals", "say list, accept or reject (got '%s')", verb);
        return CLI_FATAL;
    }
    if (strcmp(verb, "list") ? rest != 1 : rest != 0) {
        cli_error("proposals",
                  strcmp(verb, "list") ? "%s takes one proposal id" : "%s takes no operand", verb);
        return CLI_FATAL;
    }
    if (cli_open_store(ctx, "proposals", &store) < 0)
        return CLI_FATAL;
    int rc;
    if (!strcmp(verb, "list")) {
        rc = list(store, &a);
    } else {
        char *end;
        long long id = strtoll(operands[0], &end, 10);
        if (*end || id <= 0) {
            cli_error("proposals", "'%s' is not a proposal id", operands[0]);
            rc = CLI_FATAL;
        } else {
            rc = decide(ctx, store, verb, id, &a);
        }
    }
    ht_store_free(store);
    return rc;
}
