/*
 * hepatrack export sr: a signed time point's DICOM SR Measurement Report (TID 1500, spec 11)
 * into a file; and the report written and ingested when a read is signed (measurements sign).
 */
#include "cli.h"

#include "hepatrack/exchange.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_export_sr_help(void)
{
    printf("usage: hepatrack export sr SUBJECT TIMEPOINT --out FILE\n\n"
           "Write the signed read of a subject's time point as a DICOM SR Measurement Report\n"
           "(TID 1500, Enhanced SR; docs/sr.md) to FILE: a measurement group per lesion (its\n"
           "label and Tracking UID, finding site, lengths in mm inferred from the calipers on\n"
           "the measured images, the ellipse's mean HU as a planar ROI). The report is not\n"
           "stored; signing a read stores one in the time point's study.\n");
}

int cmd_export_sr(const cli_context *ctx, int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[3], "--out") != 0) {
        cli_error("export", "usage: hepatrack export sr SUBJECT TIMEPOINT --out FILE");
        return CLI_FATAL;
    }
    ht_store *store = NULL;
    ht_archive *archive = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int err = cli_open_store(ctx, "export", &store);
    if (err < 0)
        return CLI_FATAL;
    if ((err = ht_archive_open(&archive, ctx->data_dir)) == HT_OK &&
        (err = ht_exchange_sr_export(store, archive, argv[1], argv[2], &bytes, &len)) == HT_OK)
        err = ht_file_replace(argv[4], bytes, len);
    if (err < 0)
        cli_error("export", "%s", ht_error_last());
    else
        printf("%s %s: measurement report written to %s (%zu bytes)\n", cli_shown(argv[1]),
               cli_shown(argv[2]), cli_shown(argv[4]), len);
    ht_free(bytes);
    ht_archive_free(archive);
    ht_store_free(store);
    return err < 0 ? CLI_FATAL : CLI_OK;
}

int cli_sr_after_sign(const cli_context *ctx,
                      ht_store *store,
                      const char *subject,
                      const char *timepoint)
{
    ht_ingest *ingest = NULL;
    ht_archive *archive = NULL;
    ht_ingest_result result;
    int err = ht_ingest_open(&ingest, ctx->data_dir);
    if (err == HT_OK && (err = ht_archive_open(&archive, ctx->data_dir)) == HT_OK)
        err = ht_exchange_sr_signed(store, archive, ingest, subject, timepoint, &result);
    if (err == HT_OK)
        printf("%s %s: measurement report %s stored (study %s, series %s)\n", cli_shown(subject),
               cli_shown(timepoint), result.sop_instance_uid, result.study_instance_uid,
               result.series_instance_uid);
    else
        fprintf(stderr, "hepatrack measurements: signed, but no measurement report stored: %s\n",
                ht_error_last());
    ht_archive_free(archive);
    ht_ingest_free(ingest);
    return err;
}
