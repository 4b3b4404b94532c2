/* The command-line front end: one file per subcommand, shared helpers in cli_util.c. */
#ifndef HEPATRACK_CLI_H
#define HEPATRACK_CLI_H

#include <jansson.h>

#include "hepatrack/store.h"

/* Exit codes shared by every subcommand. */
enum { CLI_OK = 0, CLI_PARTIAL = 1, CLI_FATAL = 2 };

typedef struct cli_context {
    const char *data_dir; /* --data, else $HEPATRACK_DATA, else ./hepatrack-data */
    const char *argv0;
} cli_context;

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(const cli_context *ctx, int argc, char **argv);
    void (*help)(void);
} cli_command;

int cmd_import(const cli_context *ctx, int argc, char **argv);
void cmd_import_help(void);
int cmd_ls(const cli_context *ctx, int argc, char **argv);
void cmd_ls_help(void);
int cmd_show(const cli_context *ctx, int argc, char **argv);
void cmd_show_help(void);
int cmd_check(const cli_context *ctx, int argc, char **argv);
void cmd_check_help(void);
int cmd_index(const cli_context *ctx, int argc, char **argv);
void cmd_index_help(void);
int cmd_serve(const cli_context *ctx, int argc, char **argv);
void cmd_serve_help(void);
int cmd_measurements(const cli_context *ctx, int argc, char **argv);
void cmd_measurements_help(void);
int cmd_timeline(const cli_context *ctx, int argc, char **argv);
void cmd_timeline_help(void);
int cmd_cohort(const cli_context *ctx, int argc, char **argv);
void cmd_cohort_help(void);
int cmd_report(const cli_context *ctx, int argc, char **argv);
void cmd_report_help(void);
int cmd_history(const cli_context *ctx, int argc, char **argv);
void cmd_history_help(void);
int cmd_trial(const cli_context *ctx, int argc, char **argv);
void cmd_trial_help(void);
int cmd_user(const cli_context *ctx, int argc, char **argv);
int cmd_subject(const cli_context *ctx, int argc, char **argv);
void cmd_subject_help(void);
void cmd_user_help(void);
int cmd_proposals(const cli_context *ctx, int argc, char **argv);
void cmd_proposals_help(void);
int cmd_export(const cli_context *ctx, int argc, char **argv);
void cmd_export_help(void);
/* export sr (cmd_sr.c), reached through cmd_export; argv[0] is "sr". */
int cmd_export_sr(const cli_context *ctx, int argc, char **argv);
void cmd_export_sr_help(void);
/* After `measurements sign`: write the time point's SR report and ingest it (cmd_sr.c). Prints
 * what it stored, or why none was stored (the signing stands either way). */
int cli_sr_after_sign(const cli_context *ctx,
                      ht_store *store,
                      const char *subject,
                      const char *timepoint);

struct ht_ingest;
/* Start-up recovery: remove temporary files, re-index files without a row (check --repair
 * without re-reading every file). Logs what it did; returns problems left or an error. */
int cli_recover(struct ht_ingest *ingest, const char *data_dir);

/* Print an error for the user: "hepatrack <cmd>: <message>". */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a JSON value on stdout with a newline. Steals nothing. */
void cli_print_json(const json_t *value);

/* Who makes a change from the shell, for the audit log: "operator:<login>". */
void cli_operator(char *out, size_t size);

/* Text as a terminal may show it: control characters written as \xNN (a PatientID or a path
 * must not move the cursor or start a line). One of 8 static buffers, reused in turn:
 * single-threaded printing only; at most 4 KiB. */
const char *cli_shown(const char *text);

/* Print rows (JSON objects) as an aligned table with the given columns. */
void cli_print_table(const json_t *rows, const char *const *columns, const char *const *headers);

/* Open the index of ctx's data directory (created if missing); errors are printed. */
int cli_open_store(const cli_context *ctx, const char *cmd, ht_store **store);

/* Read the reports and segmentations waiting (new, or reopened by an enrolment or a link: spec
 * 11's proposals) and say what came of them; errors are reported, never fatal. */
void cli_read_reports(const cli_context *ctx, ht_store *store);

/* Is this argument "--help" or "-h"? */
int cli_wants_help(int argc, char **argv);

#endif
