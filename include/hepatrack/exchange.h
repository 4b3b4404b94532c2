/*
 * hepatrack — exchange: a subject's signed reads as DICOM SR Measurement Reports (TID 1500,
 * spec 11), built from the ledger and the measured images, written by the file layer (sr.h).
 *
 * One report per subject and signed time point: a TID 1501 group per lesion assessed there
 * (Tracking Identifier = the lesion's label, Tracking UID = its ledger UID), the calipers as
 * Long Axis / Short Axis / Length in mm inferred from SCOORD polylines on the measured images,
 * the ellipse's mean as a TID 1410 group. It belongs to the time point's study (the earliest it
 * lists), in a series of its own; a later signing of the same time point writes a new report in
 * that series that names the previous one in its Predecessor Documents Sequence.
 *
 * Ownership: out buffers are malloc'ed (ht_free). Store, archive and ingest are borrowed.
 * Errors: HT_OK or a negative code with a message naming subject and time point.
 */
#ifndef HEPATRACK_EXCHANGE_H
#define HEPATRACK_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/archive.h"
#include "hepatrack/error.h"
#include "hepatrack/ingest.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The Measurement Report of one subject's signed time point, as Part 10 bytes.
 * @param[out] out, len  the report (free with ht_free).
 * @return HT_OK; HT_ENOTFOUND (no such subject or time point, or no image of the time point is
 *         in the index to take the study from: nothing to write); HT_EINVALID (the read is not
 *         signed); HT_EDB, HT_EIO, HT_EPARSE (a measured image unreadable), HT_ENOMEM.
 */
int ht_exchange_sr_export(ht_store *store,
                          ht_archive *archive,
                          const char *subject_id,
                          const char *timepoint,
                          uint8_t **out,
                          size_t *len);

/**
 * After a signing: write the time point's report and ingest it into the archive and index (so
 * DICOMweb, C-FIND and C-MOVE serve it like any instance).
 * @param[out] result  the ingested report's UIDs (result->outcome HT_INGEST_NEW).
 * @return HT_OK; HT_ENOTFOUND when there is no image to reference (nothing written: the signing
 *         stands); as ht_exchange_sr_export and ht_ingest_buffer otherwise.
 */
int ht_exchange_sr_signed(ht_store *store,
                          ht_archive *archive,
                          ht_ingest *ingest,
                          const char *subject_id,
                          const char *timepoint,
                          ht_ingest_result *result);

/** What reading reports in came to. */
typedef struct ht_exchange_import_summary {
    int reports;   /* TID 1500 reports read */
    int own;       /* hepatrack's own, made from this ledger: not proposed again */
    int proposed;  /* groups kept as proposals */
    int unmatched; /* groups kept with the reason they cannot be matched or converted */
    int known;     /* groups proposed before (the same report received again) */
} ht_exchange_import_summary;

/**
 * Read one TID 1500 report leniently and propose each group (spec 11; ht_ledger_propose), at
 * most 500 (the rest listed as one unmatched item); a report this hepatrack wrote is counted
 * as its own and proposes nothing. Counts add to sum (zero it first).
 * @return HT_OK; HT_EPARSE / HT_EUNSUPPORTED for what is not a measurement report (named);
 *         HT_EDB; HT_ENOMEM.
 */
int ht_exchange_sr_import(ht_store *store,
                          const uint8_t *data,
                          size_t len,
                          ht_exchange_import_summary *sum);

/**
 * Read every SR instance of the index not read yet (each once, its outcome recorded), however
 * it arrived: the receiver and the server run this every few seconds, `import` at its end.
 * Each report's proposals and the record that it was read are written in one transaction;
 * one that fails for a reason that may pass (the archive, the index, memory) is left unread
 * and the others go on. At most 1,000 a call.
 * @return HT_OK; HT_EIO naming how many were left unread and the last reason; HT_EDB (a report
 *         that is not a measurement report is recorded as not read, with the reason: no error).
 */
int ht_exchange_sr_pending(ht_store *store, ht_archive *archive, ht_exchange_import_summary *sum);

#ifdef __cplusplus
}
#endif

#endif
