/*
 * hepatrack — ingest: one instance in. Validate, archive, index; shared by `hepatrack import`,
 * the DICOM receiver and (later) STOW.
 *
 * ht_ingest_buffer returns only once the instance's file is durable and its index row is
 * committed, so a caller may acknowledge it. Calls from many threads are grouped into one index
 * transaction (group commit), so that durability costs one commit per batch, not per instance.
 *
 * Ownership: ht_ingest_open returns an object freed with ht_ingest_free, which waits for the
 * last commit. The data buffer passed to ht_ingest_buffer is borrowed for the call only.
 */
#ifndef HEPATRACK_INGEST_H
#define HEPATRACK_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/archive.h"
#include "hepatrack/error.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_ingest ht_ingest;

typedef enum ht_ingest_outcome {
    HT_INGEST_NEW = 0,   /* stored and indexed */
    HT_INGEST_DUPLICATE, /* the same instance (same SOP Instance UID and dataset) was there */
    HT_INGEST_CONFLICT   /* the UID was there with other content: first copy kept, recorded */
} ht_ingest_outcome;

typedef struct ht_ingest_result {
    ht_ingest_outcome outcome;
    char sop_instance_uid[65];
    char sop_class_uid[65];
    char study_instance_uid[65];
    char series_instance_uid[65];
    char warnings[512]; /* from the file layer ("" when none), truncated */
    /* HT_INGEST_CONFLICT only: the dataset SHA-256 of the copy kept and of the one refused */
    char stored_sha256[HT_SHA256_HEX_SIZE];
    char received_sha256[HT_SHA256_HEX_SIZE];
} ht_ingest_result;

/**
 * Open the archive and index under `data_dir` (creating them) and start the committer.
 * @return HT_OK or the archive's / store's error (HT_EPERM, HT_ENOSPC, HT_EDB...).
 */
int ht_ingest_open(ht_ingest **out, const char *data_dir);

/** Wait for pending commits, stop the committer, close everything. Accepts NULL. */
void ht_ingest_free(ht_ingest *ingest);

/**
 * Ingest one Part 10 object held in memory. Thread-safe.
 *
 * @param source  where it came from ("import:/path/file.dcm", "dicom:AE@host"), recorded.
 * @param[out] result  the outcome and the instance's UIDs (filled as far as known on error).
 * @return HT_OK (see result->outcome); HT_EPARSE for an unreadable object; HT_EINVALID for a
 *         missing or malformed required UID; HT_EUNSUPPORTED for a SOP Class that is not a
 *         storage class or a transfer syntax the file layer cannot read; HT_ENOSPC, HT_EPERM,
 *         HT_EIO, HT_EDB when storing failed — in every error case nothing of the object is
 *         left in the archive or the index.
 */
int ht_ingest_buffer(ht_ingest *ingest,
                     const uint8_t *data,
                     size_t len,
                     const char *source,
                     ht_ingest_result *result);

/**
 * Where a receiver lets an arriving instance be written (by DCMTK, as it arrives) before
 * handing it to ht_ingest_received: a fresh temporary path in the archive beside the instance's
 * final place, relative (tmp_rel, HT_ARCHIVE_TMP_PATH_MAX bytes) and absolute (tmp_abs,
 * abs_size bytes). Nothing is created. Thread-safe.
 */
void ht_ingest_staging_path(
    ht_ingest *ingest, const char *sop_instance_uid, char *tmp_rel, char *tmp_abs, size_t abs_size);

/** An instance a receiver wrote to its staging path as it arrived, and kept in memory too. */
typedef struct ht_received_instance {
    const char *tmp_rel; /* the staging file (ht_ingest_staging_path) */
    const uint8_t *data; /* the file's bytes, File Meta included (borrowed) */
    size_t len;
    size_t dataset_offset;      /* where the data set begins in data */
    const char *dataset_sha256; /* hex SHA-256 of data[dataset_offset..len), hashed as the bytes
                                   arrived; NULL: ingest hashes them */
} ht_received_instance;

/**
 * Ingest an instance that a receiver has written, as it arrived, to the archive temporary path
 * `r->tmp_rel` (from ht_ingest_staging_path for `sop_instance_uid`), handing over the same
 * bytes, so that nothing is read back. The file is adopted, not copied; it is gone on every
 * outcome but HT_INGEST_NEW (where it is published). The dataset must carry the SOP Class and
 * Instance UIDs the request named (HT_EINVALID if not). A hash given for another data set
 * offset than the parser finds is not used. Errors as ht_ingest_buffer.
 */
int ht_ingest_received(ht_ingest *ingest,
                       const ht_received_instance *r,
                       const char *sop_class_uid,
                       const char *sop_instance_uid,
                       const char *source,
                       ht_ingest_result *result);

/**
 * A fresh temporary path in the archive for an upload whose UIDs are not known before it is
 * read (STOW-RS): write the object there whole, then hand it to ht_ingest_uploaded. Nothing is
 * created. Thread-safe.
 */
void ht_ingest_upload_path(ht_ingest *ingest, char *tmp_rel, char *tmp_abs, size_t abs_size);

/**
 * Ingest an object an upload wrote whole to `tmp_rel` (from ht_ingest_upload_path). It is
 * adopted as ht_ingest_received adopts a file, and gone on every outcome but HT_INGEST_NEW.
 * With `study_uid`, an object of another study is refused (HT_ECONFLICT) and not stored.
 * Errors as ht_ingest_buffer.
 */
int ht_ingest_uploaded(ht_ingest *ingest,
                       const char *tmp_rel,
                       const char *study_uid,
                       const char *source,
                       ht_ingest_result *result);

/**
 * Mark stable the studies that received no new instance for `seconds` (spec of the receiver:
 * later stages wait for this); cb hears each one. Thread-safe.
 */
int ht_ingest_mark_stable(ht_ingest *ingest,
                          int seconds,
                          int (*cb)(void *payload, const char *study_uid),
                          void *payload);

/**
 * Whether an indexed file is there, of its recorded size and dataset checksum.
 * @return HT_OK; HT_ENOTFOUND or HT_EIO (missing, unreadable); HT_ECONFLICT (altered), with
 *         a message saying what differs.
 */
int ht_ingest_verify(ht_ingest *ingest, const ht_file_entry *entry);

/**
 * Verify the rows of the batches that the index does not record as durable (the newest batch
 * of each process that stopped without its sync returning, or before it could say so, and
 * those of ingests that never ran this), remove under the index's write lock each whose file
 * is missing or not what the row says, with its file (none of them was acknowledged), then
 * sync and record them all as durable; from then on this ingest records its own batches as it
 * goes. A file unreadable for another reason stops it, removing nothing. report (may be NULL)
 * is told each removal. Call before ingesting, as recovery does.
 * @return the number removed (>= 0), or HT_EDB, HT_EIO, HT_ENOMEM.
 */
int ht_ingest_confirm_batches(ht_ingest *ingest,
                              int (*report)(void *payload, const char *sop_uid, const char *why),
                              void *payload);

#ifdef __cplusplus
}
#endif

#endif
