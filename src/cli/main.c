/*
 * hepatrack: a DICOM ingestion server and tumour-burden tracker.
 * `main` finds the data directory and hands the rest to one subcommand.
 */
#include "cli.h"

#include "hepatrack/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HT_VERSION
#define HT_VERSION "0.0.0"
#endif

static const cli_command commands[] = {
    {"serve", "receive DICOM instances from a PACS (C-STORE SCP)", cmd_serve, cmd_serve_help},
    {"import", "import DICOM files, folders and DICOMDIR file-sets", cmd_import, cmd_import_help},
    {"ls", "list patients, studies, series, instances or conflicts", cmd_ls, cmd_ls_help},
    {"show", "describe the study, series or instance with a UID", cmd_show, cmd_show_help},
    {"check", "verify the archive against the index (and repair)", cmd_check, cmd_check_help},
    {"index", "where the index is; migrate a SQLite index to PostgreSQL", cmd_index,
     cmd_index_help},
    {"measurements", "import lesion measurements (JSON)", cmd_measurements, cmd_measurements_help},
    {"timeline", "a subject's responses (RECIST 1.1, mRECIST, Choi)", cmd_timeline,
     cmd_timeline_help},
    {"cohort", "ORR, DCR, PFS and OS of all subjects (--plots: its pictures)", cmd_cohort,
     cmd_cohort_help},
    {"report", "a subject's report as a PDF, with key images", cmd_report, cmd_report_help},
    {"history", "every version of a subject's records, and its audit log", cmd_history,
     cmd_history_help},
    {"proposals", "measurements proposed by DICOM SR reports: list, accept, reject", cmd_proposals,
     cmd_proposals_help},
    {"export", "CDISC SDTM and ADaM datasets; a read as a DICOM SR report (export sr)", cmd_export,
     cmd_export_help},
    {"trial", "show or set the trial parameters", cmd_trial, cmd_trial_help},
    {"subject", "enrol a subject, link DICOM patients, withdraw, set dates", cmd_subject,
     cmd_subject_help},
    {"user", "users of the HTTP API: add, passwd, token, revoke, disable, enable, list", cmd_user,
     cmd_user_help},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: hepatrack [--data DIR] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\noptions:\n"
            "  --data DIR   data directory (default: $HEPATRACK_DATA, else ./hepatrack-data);\n"
            "               accepted before or after the command\n"
            "  --help       this help; `hepatrack <command> --help` for a command's\n"
            "  --version    print the version\n");
}

int main(int argc, char **argv)
{
    cli_context ctx = {NULL, argv[0]};
    char **args = calloc((size_t)argc + 1, sizeof(char *));
    int nargs = 0;

    if (!args)
        return CLI_FATAL;
    /* --data may come before or after the subcommand: take it out wherever it is. */
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--data") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hepatrack: --data needs a directory\n");
                free(args);
                return CLI_FATAL;
            }
            ctx.data_dir = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--data=", 7) == 0) {
            ctx.data_dir = argv[i] + 7;
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (!ctx.data_dir)
        ctx.data_dir = getenv("HEPATRACK_DATA");
    if (!ctx.data_dir || !*ctx.data_dir)
        ctx.data_dir = "./hepatrack-data";

    int rc = CLI_FATAL;
    if (nargs < 2 || strcmp(args[1], "--help") == 0 || strcmp(args[1], "-h") == 0 ||
        strcmp(args[1], "help") == 0) {
        usage(nargs < 2 ? stderr : stdout);
        rc = nargs < 2 ? CLI_FATAL : CLI_OK;
    } else if (strcmp(args[1], "--version") == 0) {
        printf("hepatrack %s\n", HT_VERSION);
        rc = CLI_OK;
    } else {
        const cli_command *cmd = NULL;
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            if (strcmp(args[1], commands[i].name) == 0)
                cmd = &commands[i];
        if (!cmd) {
            fprintf(stderr, "hepatrack: unknown command '%s'\n\n", args[1]);
            usage(stderr);
        } else if (cli_wants_help(nargs - 1, args + 1)) {
            cmd->help();
            rc = CLI_OK;
        } else {
            rc = cmd->run(&ctx, nargs - 1, args + 1);
        }
    }
    free(args);
    return rc;
}
