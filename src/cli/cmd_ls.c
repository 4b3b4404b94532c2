/* hepatrack ls and hepatrack show: read the index. */
#include "cli.h"

#include "hepatrack/report.h"

#include "hepatrack/ingest.h"
#include "hepatrack/seg_volume.h"
#include "hepatrack/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kind_names[] = {"patients", "studies", "series", "instances", "conflicts"};

/* The columns a terminal table shows; --json gives every column. */
static const char *const table_columns[][9] = {
    {"PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex",
     "NumberOfPatientRelatedStudies", "NumberOfInstances", NULL},
    {"PatientID", "StudyDate", "StudyInstanceUID", "ModalitiesInStudy", "StudyDescription",
     "NumberOfStudyRelatedSeries", "NumberOfInstances", NULL},
    {"SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription", "Rows", "Columns",
     "NumberOfInstances", NULL},
    {"SOPInstanceUID", "SOPClassUID", "TransferSyntaxUID", "InstanceNumber", "Rows", "Columns",
     "NumberOfFrames", NULL},
    {"SOPInstanceUID", "StoredSHA256", "ReceivedSHA256", "Source", "ReceivedTime", NULL},
};
static const char *const table_headers[][9] = {
    {"PATIENT ID", "ISSUER", "NAME", "BIRTH DATE", "SEX", "STUDIES", "INSTANCES", NULL},
    {"PATIENT ID", "DATE", "STUDY UID", "MODALITIES", "DESCRIPTION", "SERIES", "INSTANCES", NULL},
    {"SERIES UID", "MODALITY", "NUMBER", "DESCRIPTION", "ROWS", "COLUMNS", "INSTANCES", NULL},
    {"SOP INSTANCE UID", "SOP CLASS", "TRANSFER SYNTAX", "NUMBER", "ROWS", "COLUMNS", "FRAMES",
     NULL},
    {"SOP INSTANCE UID", "STORED SHA-256", "RECEIVED SHA-256", "SOURCE", "RECEIVED", NULL},
};

static int collect_row(void *payload, const ht_row *row)
{
    json_t *rows = payload;
    return json_array_append_new(rows, ht_report_row_json(row)) == 0 ? 0 : HT_ENOMEM;
}

/* Open the index for reading; a data directory that does not exist yet is an empty index. */
static int open_index(const cli_context *ctx, const char *cmd, ht_store **store)
{
    char *path = ht_store_index_path(ctx->data_dir);
    int err;
    if (!path) {
        cli_error(cmd, "cannot open the index in '%s': %s", ctx->data_dir, ht_error_last());
        return ht_error_code();
    }
    if (access(ctx->data_dir, F_OK) != 0 ||
        (ht_store_index_is_file(path) && access(path, F_OK) != 0)) {
        free(path);
        *store = NULL;
        return HT_ENOTFOUND;
    }
    err = ht_store_open(store, path);
    if (err < 0)
        cli_error(cmd, "cannot open the index in '%s': %s", ctx->data_dir, ht_error_last());
    free(path);
    return err;
}

void cmd_ls_help(void)
{
    printf(
        "usage: hepatrack ls patients|studies|series|instances|conflicts\n"
        "                    [--patient ID [--issuer ISSUER]] [--study UID] [--series UID]\n"
        "                    [--unassigned] [--json]\n\n"
        "List what the index holds. --unassigned (studies): only the studies that no\n"
        "subject's time point lists yet. --json prints an array of objects whose keys are DICOM\n"
        "keywords (PatientID, StudyInstanceUID, SOPClassUID...) plus NumberOfInstances.\n");
}

int cmd_ls(const cli_context *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, 'j'},
                                            {"patient", required_argument, NULL, 'p'},
                                            {"issuer", required_argument, NULL, 'i'},
                                            {"study", required_argument, NULL, 's'},
                                            {"series", required_argument, NULL, 'e'},
                                            {"unassigned", no_argument, NULL, 'u'},
                                            {0, 0, 0, 0}};
    ht_list_filter filter = {0};
    ht_store *store = NULL;
    int as_json = 0, opt, kind = -1, err;

    if (argc >= 2 && !strcmp(argv[1], "proposals")) /* the ledger's, listed beside the index's */
        return cmd_proposals(ctx, argc - 1, argv + 1);

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'j':
            as_json = 1;
            break;
        case 'p':
            filter.patient_id = optarg;
            break;
        case 'i':
            filter.issuer = optarg;
            break;
        case 's':
            filter.study_instance_uid = optarg;
            break;
        case 'e':
            filter.series_instance_uid = optarg;
            break;
        case 'u':
            filter.unassigned = 1;
            break;
        default:
            cmd_ls_help();
            return CLI_FATAL;
        }
    }
    if (optind + 1 != argc) {
        cli_error("ls", "say what to list: patients, studies, series, instances or conflicts");
        return CLI_FATAL;
    }
    for (int k = 0; k < 5; k++)
        if (strcmp(argv[optind], kind_names[k]) == 0)
            kind = k;
    if (kind < 0) {
        cli_error("ls", "cannot list '%s': say patients, studies, series, instances or conflicts",
                  argv[optind]);
        return CLI_FATAL;
    }
    if (filter.issuer && !filter.patient_id) {
        cli_error("ls", "--issuer needs --patient");
        return CLI_FATAL;
    }
    if (filter.unassigned && kind != HT_LIST_STUDIES) {
        cli_error("ls", "--unassigned lists studies only");
        return CLI_FATAL;
    }
    json_t *rows = json_array();
    err = open_index(ctx, "ls", &store);
    if (err == HT_OK)
        err = ht_store_list(store, (ht_list_kind)kind, &filter, collect_row, rows);
    if (err < 0 && err != HT_ENOTFOUND) {
        cli_error("ls", "%s", ht_error_last());
        json_decref(rows);
        ht_store_free(store);
        return CLI_FATAL;
    }
    if (as_json)
        cli_print_json(rows);
    else
        cli_print_table(rows, table_columns[kind], table_headers[kind]);
    json_decref(rows);
    ht_store_free(store);
    return CLI_OK;
}

/* A segmentation's segments, read from its file on demand (the index does not keep them). */
static int add_segments(const cli_context *ctx, ht_store *store, const char *uid, json_t *obj)
{
    if (!ht_seg_is_segmentation(json_string_value(json_object_get(obj, "SOPClassUID"))))
        return HT_OK;
    ht_measure_source src = {store, NULL};
    int err = ht_archive_open(&src.archive, ctx->data_dir);
    if (err == HT_OK)
        err = ht_seg_volume_describe(&src, uid, obj);
    ht_archive_free(src.archive);
    return err;
}

void cmd_show_help(void)
{
    printf("usage: hepatrack show UID [--json]\n\n"
           "Describe the instance, series or study whose UID is given. --json prints one object\n"
           "with DICOM keywords, QueryRetrieveLevel saying which it is. A segmentation (SEG)\n"
           "also lists its Segments (number, label, codes, voxels, volume_ml), or says why\n"
           "they were not read (SegmentsNotRead).\n");
}

int cmd_show(const cli_context *ctx, int argc, char **argv)
{
    static const char *const levels[] = {"PATIENT", "STUDY", "SERIES", "IMAGE", "CONFLICT"};
    static const struct option options[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    ht_store *store = NULL;
    ht_list_kind kind = HT_LIST_STUDIES;
    int as_json = 0, opt, err;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 'j') {
            cmd_show_help();
            return CLI_FATAL;
        }
        as_json = 1;
    }
    if (optind + 1 != argc) {
        cli_error("show", "give one UID (see hepatrack show --help)");
        return CLI_FATAL;
    }
    const char *uid = argv[optind];
    json_t *rows = json_array();
    err = open_index(ctx, "show", &store);
    if (err == HT_ENOTFOUND)
        err = ht_error_set(HT_ENOTFOUND, "no study, series or instance has UID '%s'", uid);
    else if (err == HT_OK)
        err = ht_store_show(store, uid, &kind, collect_row, rows);
    if (err < 0) {
        cli_error("show", "%s", ht_error_last());
        json_decref(rows);
        ht_store_free(store);
        return err == HT_ENOTFOUND ? CLI_PARTIAL : CLI_FATAL;
    }
    json_t *obj = json_array_get(rows, 0);
    json_object_set_new(obj, "QueryRetrieveLevel", json_string(levels[kind]));
    if (kind == HT_LIST_INSTANCES && (err = add_segments(ctx, store, uid, obj)) < 0) {
        cli_error("show", "%s", ht_error_last());
        json_decref(rows);
        ht_store_free(store);
        return CLI_FATAL;
    }
    if (as_json) {
        cli_print_json(obj);
    } else {
        const char *key;
        json_t *value;
        json_object_foreach(obj, key, value)
        {
            char *text = json_is_string(value) ? strdup(json_string_value(value))
                                               : json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%-32s %s\n", key, cli_shown(text));
            free(text);
        }
    }
    json_decref(rows);
    ht_store_free(store);
    return CLI_OK;
}
