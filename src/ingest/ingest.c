/*
 * One instance in: parse → validate → claim its SOP Instance UID → stage its file → queue its
 * index row → wait for the committer.
 *
 * Each caller stages its file (written out to the device under a temporary name, in parallel
 * with the others; a file the receiver wrote as it arrived is only set writing out, and the
 * batch's sync waits for it). The committer thread takes the queued rows as one batch and, in
 * one transaction, claims the rows, renames the staged files into place and commits, then makes
 * files, renames and rows durable with one sync of the file system (a single journal commit and
 * device flush for the batch). Only then are the waiting callers told, so an acknowledgement
 * always follows durability of both file and row.
 * A batch grows for up to BATCH_WAIT_NS while other threads are still staging files.
 *
 * Lookups (is this UID indexed?) use their own connection, under the lock; the committer has
 * its own, used outside the lock, so that a commit never stalls callers parsing or staging.
 * A UID is claimed from lookup until its batch is resolved, so that twins arriving together
 * are told apart (the second waits, then finds the first: a duplicate or a conflict). Another
 * process sharing the index cannot see those claims: the committer looks each UID up again
 * under the index's write lock (claim_row).
 */
#define _GNU_SOURCE
#include "hepatrack/ingest.h"

#include "hepatrack/dicom.h"
#include "hepatrack/log.h"
#include "hepatrack/util.h"
#include "ingest_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define BATCH_WAIT_NS 2000000L
#define BATCH_MAX 512

void ht_ingest_staging_path(
    ht_ingest *ingest, const char *sop_instance_uid, char *tmp_rel, char *tmp_abs, size_t abs_size)
{
    char rel[HT_ARCHIVE_PATH_MAX];
    ht_archive_path_for(sop_instance_uid, rel);
    ht_archive_temp_path(ingest->archive, rel, tmp_rel, tmp_abs, abs_size);
}

/* ---- claims (lock held) -------------------------------------------------------------------- */

static int claimed(const ht_ingest *in, const char *uid)
{
    for (size_t i = 0; i < in->nclaims; i++)
        if (strcmp(in->claims[i], uid) == 0)
            return 1;
    return 0;
}

static int claim(ht_ingest *in, const char *uid)
{
    int err = HT_GROW(in->claims, in->capclaims, in->nclaims + 1);
    if (err < 0)
        return err;
    snprintf(in->claims[in->nclaims++], 65, "%s", uid);
    return HT_OK;
}

static void unclaim(ht_ingest *in, const char *uid)
{
    for (size_t i = 0; i < in->nclaims; i++) {
        if (strcmp(in->claims[i], uid) == 0) {
            memcpy(in->claims[i], in->claims[--in->nclaims], 65);
            break;
        }
    }
}

/* ---- the committer ------------------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, long ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ns;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Remove what a failed batch left: staged files, and the files it published (called with the
 * index's write lock held, so that no other ingest can have published over those paths). */
static void discard_files(ht_ingest *in, pending *batch)
{
    for (pending *p = batch; p; p = p->next) {
        if (p->is_conflict)
            continue;
        if (p->tmp_path[0])
            ht_archive_remove(in->archive, p->tmp_path);
        else if (!p->raced)
            ht_archive_remove(in->archive, p->rec.archive_path);
    }
}

/* Take back a committed batch whose sync failed: the rows it added and their files go, under
 * one write lock (they were never acknowledged). When the lock cannot be had, rows and files
 * stay together, unacknowledged: a sender's retry finds them as a duplicate. */
static void uncommit(ht_ingest *in, pending *batch, int64_t number)
{
    if (ht_store_begin(in->writer) < 0)
        return;
    for (pending *p = batch; p; p = p->next)
        if (!p->is_conflict && !p->raced &&
            ht_store_delete_instance(in->writer, p->uid, number) < 0) {
            ht_store_rollback(in->writer);
            return;
        }
    discard_files(in, batch);
    if (ht_store_commit(in->writer) < 0)
        ht_store_rollback(in->writer);
}

/*
 * Claim a new instance's row, under the index's write lock: when another ingest on the same
 * index committed the UID since this one looked it up, this copy is a duplicate (nothing to
 * add) or a conflict (recorded), and its file is not published, so that a stored copy is
 * never replaced.
 */
static int claim_row(ht_ingest *in, pending *p)
{
    ht_instance_location loc;
    int err = ht_store_locate(in->writer, p->uid, &loc);
    if (err == HT_ENOTFOUND) {
        ht_error_clear();
        return ht_store_add_instance(in->writer, &p->rec);
    }
    if (err < 0)
        return err;
    snprintf(p->raced_sha, sizeof(p->raced_sha), "%s", loc.sha256);
    if (strcmp(loc.sha256, p->rec.sha256) == 0) {
        p->raced = HT_INGEST_DUPLICATE;
        return HT_OK;
    }
    p->raced = HT_INGEST_CONFLICT;
    return ht_store_add_conflict(in->writer, p->uid, loc.sha256, p->rec.sha256, p->rec.size,
                                 p->rec.source, p->rec.received_at);
}

/* Index the batch's rows and publish their files in one transaction, then make both durable
 * with one sync of the file system; on any error nothing of the batch stays. Rows are claimed
 * before files move (under the index's write lock), so that of two ingests sharing an index
 * only the one whose row stands publishes a file. The batch's number, from the index, goes with
 * its rows, and the transaction also records the previous batch as durable: after a power loss
 * only the batches beyond that mark can be short (ht_ingest_confirm_batches). No lock held. */
static int commit_batch(ht_ingest *in, pending *batch, int64_t *synced)
{
    int64_t number = 0;
    int err, committed = 0;
    pending *p;
    char message[512];

    if ((err = ht_store_begin(in->writer)) < 0)
        goto fail;
    /* recorded only by an ingest that verified what the last stop left (its sync then covers
     * every batch before) */
    int64_t mark = in->confirmed && in->synced > in->recorded ? in->synced : 0;
    if ((err = ht_store_batch_open(in->writer, mark, &number)) < 0)
        goto rollback;
    for (p = batch; p; p = p->next) {
        p->rec.batch = number;
        err = p->is_conflict
                  ? ht_store_add_conflict(in->writer, p->uid, p->stored_sha, p->received_sha,
                                          p->received_size, p->rec.source, p->rec.received_at)
                  : claim_row(in, p);
        if (err < 0)
            goto rollback;
    }
    for (p = batch; p; p = p->next) {
        if (p->is_conflict || p->raced) /* a raced copy goes after the sync: the other stands */
            continue;
        /* never over a stored copy: this row's claim stands, so a file already there is one a
         * stopped process left between publishing and committing (never acknowledged) */
        if ((err = ht_archive_publish(in->archive, p->tmp_path, p->rec.archive_path)) < 0)
            goto rollback;
        if (err == 1)
            ht_log(HT_LOG_WARN,
                   "event=leftover path=%s detail=\"a file without an index row "
                   "(an interrupted ingest's, never acknowledged) replaced by this copy\"",
                   p->rec.archive_path);
        p->tmp_path[0] = '\0'; /* published: on failure remove the final file instead */
    }
    if ((err = ht_store_commit(in->writer)) < 0) {
        if (err == HT_EIO)
            goto unknown;
        goto rollback;
    }
    committed = 1;
    in->recorded = mark > in->recorded ? mark : in->recorded;
    /* also makes durable what another ingest committed before a raced twin was answered */
    if ((err = ht_archive_sync(in->archive)) < 0)
        goto fail;
    *synced = number;
    for (p = batch; p; p = p->next)
        if (p->raced) { /* never published: no folder sync needed, and none under the lock */
            ht_archive_discard(in->archive, p->tmp_path);
            p->tmp_path[0] = '\0';
        }
    return HT_OK;
rollback:
    snprintf(message, sizeof(message), "%s", ht_error_last());
    discard_files(in, batch); /* the write lock still held: no other ingest's file is touched */
    ht_store_rollback(in->writer);
    return ht_error_set(err, "%s", message);
unknown:
    /* A commit that failed may still have landed (a server's answer lost with its connection):
     * the published files stay, so that a row that did commit has its file; one whose row did
     * not is a leftover, replaced by the sender's next copy or indexed by check --repair. */
    snprintf(message, sizeof(message), "%s", ht_error_last());
    for (p = batch; p; p = p->next)
        if (p->tmp_path[0] && !p->is_conflict) {
            ht_archive_discard(in->archive, p->tmp_path);
            p->tmp_path[0] = '\0';
        }
    ht_store_rollback(in->writer);
    return ht_error_set(err, "%s", message);
fail:
    snprintf(message, sizeof(message), "%s", ht_error_last());
    if (committed)
        uncommit(in, batch, number);
    else
        discard_files(in, batch); /* nothing was published before the transaction began */
    return ht_error_set(err, "%s", message);
}

static void *committer_main(void *arg)
{
    ht_ingest *in = arg;
    struct timespec deadline;

    pthread_mutex_lock(&in->lock);
    for (;;) {
        while (!in->head && !in->stopping)
            pthread_cond_wait(&in->work, &in->lock);
        if (!in->head)
            break; /* stopping, nothing queued */
        deadline_after(&deadline, BATCH_WAIT_NS);
        while (in->staging > 0 && in->queued < BATCH_MAX && !in->stopping)
            if (pthread_cond_timedwait(&in->work, &in->lock, &deadline) == ETIMEDOUT)
                break;
        pending *batch = in->head;
        in->head = NULL;
        in->tail = &in->head;
        in->queued = 0;
        pthread_mutex_unlock(&in->lock);

        int64_t synced = 0;
        int err = commit_batch(in, batch, &synced);
        const char *message = err < 0 ? ht_error_last() : "";

        pthread_mutex_lock(&in->lock);
        if (err == HT_OK)
            in->synced = synced;
        for (pending *p = batch; p; p = p->next) {
            p->status = err;
            snprintf(p->message, sizeof(p->message), "%s", message);
            p->resolved = 1;
            unclaim(in, p->uid);
        }
        pthread_cond_broadcast(&in->done);
    }
    pthread_mutex_unlock(&in->lock);
    return NULL;
}

/* Queue a row and wait (lock held) until its batch is resolved. */
static int queue_and_wait(ht_ingest *in, pending *p)
{
    p->next = NULL;
    *in->tail = p;
    in->tail = &p->next;
    in->queued++;
    pthread_cond_signal(&in->work);
    while (!p->resolved)
        pthread_cond_wait(&in->done, &in->lock);
    if (p->status < 0)
        return ht_error_set(p->status, "%s", p->message);
    return HT_OK;
}

/* ---- opening and closing ------------------------------------------------------------------- */

int ht_ingest_open(ht_ingest **out, const char *data_dir)
{
    ht_ingest *in;
    pthread_condattr_t attr;
    char *index_path = NULL;
    int err;

    *out = NULL;
    ht_dicom_global_init();
    in = calloc(1, sizeof(*in));
    if (!in)
        return ht_error_set(HT_ENOMEM, "out of memory opening ingest");
    in->tail = &in->head;
    pthread_mutex_init(&in->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&in->work, &attr);
    pthread_cond_init(&in->done, &attr);
    pthread_condattr_destroy(&attr);
    if ((err = ht_archive_open(&in->archive, data_dir)) < 0)
        goto fail;
    if (!(index_path = ht_store_index_path(data_dir))) {
        err = ht_error_code();
        goto fail;
    }
    if ((err = ht_store_open(&in->writer, index_path)) < 0 ||
        (err = ht_store_open(&in->reader, index_path)) < 0) {
        struct statvfs fs;
        if (statvfs(data_dir, &fs) == 0 && (fs.f_flag & ST_RDONLY))
            err = ht_error_wrap("data directory '%s' is on a read-only file system: ", data_dir);
        else if (access(data_dir, W_OK) != 0)
            err = ht_error_wrap("data directory '%s' is not writable: ", data_dir);
        goto fail;
    }
    if ((err = ht_store_defer_sync(in->writer)) < 0)
        goto fail;
    if (pthread_create(&in->committer, NULL, committer_main, in) != 0) {
        err = ht_error_set(HT_ENOMEM, "cannot start the committer thread");
        goto fail;
    }
    in->committer_started = 1;
    free(index_path);
    *out = in;
    return HT_OK;
fail:
    free(index_path);
    ht_ingest_free(in);
    return err;
}

void ht_ingest_free(ht_ingest *in)
{
    if (!in)
        return;
    if (in->committer_started) {
        pthread_mutex_lock(&in->lock);
        in->stopping = 1;
        pthread_cond_broadcast(&in->work);
        pthread_mutex_unlock(&in->lock);
        pthread_join(in->committer, NULL);
        /* the last batch's sync returned: say so, or the next start verifies it again */
        if (in->confirmed && in->synced > in->recorded &&
            ht_store_batch_verified(in->writer, in->synced) < 0)
            ht_error_clear();
    }
    free(in->claims);
    ht_store_free(in->reader);
    ht_store_free(in->writer);
    ht_archive_free(in->archive);
    pthread_cond_destroy(&in->work);
    pthread_cond_destroy(&in->done);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

/* ---- validation ---------------------------------------------------------------------------- */

static int check_uid(const char *value, const char *name, const char *tag)
{
    if (!*value)
        return ht_error_set(HT_EINVALID, "%s %s is missing", name, tag);
    if (!ht_dicom_uid_valid(value))
        return ht_error_set(HT_EINVALID, "%s %s '%.80s' is not a valid UID", name, tag, value);
    return HT_OK;
}

static int validate(const ht_dicom *dcm)
{
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    int err;

    if (ht_dicom_is_dicomdir(dcm))
        return ht_error_set(HT_EUNSUPPORTED,
                            "a DICOMDIR is a directory of files, not an instance to store");
    if ((err = check_uid(i->sop_class_uid, "SOP Class UID", "(0008,0016)")) < 0)
        return err;
    if (!ht_dicom_is_storage_sop_class(i->sop_class_uid))
        return ht_error_set(HT_EUNSUPPORTED, "SOP Class %s is not a storage SOP class",
                            i->sop_class_uid);
    if ((err = check_uid(i->sop_instance_uid, "SOP Instance UID", "(0008,0018)")) < 0 ||
        (err = check_uid(i->study_instance_uid, "Study Instance UID", "(0020,000D)")) < 0 ||
        (err = check_uid(i->series_instance_uid, "Series Instance UID", "(0020,000E)")) < 0)
        return err;
    if (!*i->transfer_syntax_uid)
        return ht_error_set(HT_EINVALID,
                            "File Meta Information has no Transfer Syntax UID (0002,0010)");
    /* A transfer syntax the file layer cannot decode is no reason to refuse: an archive keeps
     * what its PACS sends, and such an instance is stored, listed, and answers 415 for its
     * frames. The file layer has read the data set already. */
    if (!ht_dicom_uid_valid(i->transfer_syntax_uid))
        return ht_error_set(HT_EINVALID, "Transfer Syntax UID (0002,0010) '%s' is not a UID",
                            i->transfer_syntax_uid);
    return HT_OK;
}

/* ---- one instance -------------------------------------------------------------------------- */

static void record_of(const ht_dicom_info *i, ht_instance_record *r)
{
    memset(r, 0, sizeof(*r));
    r->patient_id = i->patient_id;
    r->issuer_of_patient_id = i->issuer_of_patient_id;
    r->patient_name = i->patient_name;
    r->patient_birth_date = i->patient_birth_date;
    r->patient_sex = i->patient_sex;
    r->study_instance_uid = i->study_instance_uid;
    r->study_date = i->study_date;
    r->study_time = i->study_time;
    r->accession_number = i->accession_number;
    r->study_description = i->study_description;
    r->series_instance_uid = i->series_instance_uid;
    r->modality = i->modality;
    r->series_description = i->series_description;
    r->body_part_examined = i->body_part_examined;
    r->contrast_bolus_agent = i->contrast_bolus_agent;
    r->frame_of_reference_uid = i->frame_of_reference_uid;
    r->has_series_number = i->has_series_number;
    r->series_number = i->series_number;
    r->has_slice_thickness = i->has_slice_thickness;
    r->slice_thickness = i->slice_thickness;
    r->has_pixel_spacing = i->has_pixel_spacing;
    memcpy(r->pixel_spacing, i->pixel_spacing, sizeof(r->pixel_spacing));
    r->sop_class_uid = i->sop_class_uid;
    r->sop_instance_uid = i->sop_instance_uid;
    r->transfer_syntax_uid = i->transfer_syntax_uid;
    r->has_instance_number = i->has_instance_number;
    r->instance_number = i->instance_number;
    r->has_image_position = i->has_image_position;
    memcpy(r->image_position, i->image_position, sizeof(r->image_position));
    r->has_image_orientation = i->has_image_orientation;
    memcpy(r->image_orientation, i->image_orientation, sizeof(r->image_orientation));
    r->rows = i->rows;
    r->columns = i->columns;
    r->number_of_frames = i->number_of_frames;
    r->dataset_offset = i->dataset_offset;
}

static void fill_result(const ht_dicom_info *info, ht_ingest_result *result)
{
    snprintf(result->sop_instance_uid, sizeof(result->sop_instance_uid), "%s",
             info->sop_instance_uid);
    /* what the file says it is, for a caller that skips a DICOMDIR (named in the File Meta) */
    snprintf(result->sop_class_uid, sizeof(result->sop_class_uid), "%s",
             *info->sop_class_uid ? info->sop_class_uid : info->media_sop_class_uid);
    snprintf(result->study_instance_uid, sizeof(result->study_instance_uid), "%s",
             info->study_instance_uid);
    snprintf(result->series_instance_uid, sizeof(result->series_instance_uid), "%s",
             info->series_instance_uid);
    snprintf(result->warnings, sizeof(result->warnings), "%s", info->warnings);
}

/*
 * Claim the UID (waiting while a twin is in flight) and look it up. Lock held. Returns HT_OK
 * with *known set when the UID is indexed (stored_sha filled), HT_OK with the UID claimed when
 * it is new, or an error.
 */
static int
claim_or_find(ht_ingest *in, const char *uid, char *stored_sha, int64_t *stored_batch, int *known)
{
    for (;;) {
        if (claimed(in, uid)) {
            pthread_cond_wait(&in->done, &in->lock);
            continue;
        }
        ht_instance_location loc;
        int err = ht_store_locate(in->reader, uid, &loc);
        if (err == HT_OK) {
            memcpy(stored_sha, loc.sha256, sizeof(loc.sha256));
            *stored_batch = loc.batch;
            *known = 1;
            return HT_OK;
        }
        if (err != HT_ENOTFOUND)
            return err;
        *known = 0;
        return claim(in, uid);
    }
}

/* What the DICOM receiver's C-STORE request said the instance is, or the study a STOW-RS
 * request named (NULL members are not checked). */
typedef struct expected {
    const char *sop_class_uid, *sop_instance_uid, *study_instance_uid;
} expected;

static int check_expected(const ht_dicom_info *info, const expected *ex)
{
    if (!ex)
        return HT_OK;
    if (ex->study_instance_uid && strcmp(info->study_instance_uid, ex->study_instance_uid) != 0)
        return ht_error_set(HT_ECONFLICT,
                            "the instance belongs to study %.64s, not to study %.64s the request "
                            "named",
                            info->study_instance_uid, ex->study_instance_uid);
    if (ex->sop_instance_uid && strcmp(info->sop_instance_uid, ex->sop_instance_uid) != 0)
        return ht_error_set(HT_EINVALID,
                            "the dataset's SOP Instance UID %.64s differs from the request's %.64s",
                            info->sop_instance_uid, ex->sop_instance_uid);
    if (ex->sop_class_uid && strcmp(info->sop_class_uid, ex->sop_class_uid) != 0)
        return ht_error_set(HT_EINVALID,
                            "the dataset's SOP Class UID %.64s differs from the request's %.64s",
                            info->sop_class_uid, ex->sop_class_uid);
    return HT_OK;
}

/* What a caller already did with an instance's bytes. */
typedef struct prepared {
    const char *adopt; /* a temporary file that holds the bytes (written as they arrived): it is
                          made durable and published instead of staging a copy, and removed on
                          every outcome but a new instance */
    const char *dataset_sha256; /* the data set's hash from dataset_offset on, or NULL */
    size_t dataset_offset;
} prepared;

/* The one path of every instance. */
static int ingest(ht_ingest *in,
                  const uint8_t *data,
                  size_t len,
                  const char *source,
                  const prepared *pre,
                  const expected *ex,
                  ht_ingest_result *result)
{
    const char *adopt = pre ? pre->adopt : NULL;
    char sha[HT_SHA256_HEX_SIZE], stored_sha[HT_SHA256_HEX_SIZE], path[HT_ARCHIVE_PATH_MAX];
    char now[32];
    ht_dicom *dcm = NULL;
    const ht_dicom_info *info;
    pending p;
    int err, known = 0, adopted = 0;

    memset(result, 0, sizeof(*result));
    memset(&p, 0, sizeof(p));
    if ((err = ht_dicom_open_memory(&dcm, data, len)) < 0)
        goto done;
    info = ht_dicom_get_info(dcm);
    fill_result(info, result);
    if ((err = validate(dcm)) < 0 || (err = check_expected(info, ex)) < 0)
        goto done;
    /* The File Meta differs between an imported and a received copy; the dataset does not. */
    if (pre && pre->dataset_sha256 && pre->dataset_offset == info->dataset_offset)
        snprintf(sha, sizeof(sha), "%s", pre->dataset_sha256);
    else
        ht_sha256_hex(data + info->dataset_offset, len - info->dataset_offset, sha);
    ht_archive_path_for(info->sop_instance_uid, path);
    ht_time_now_iso(now, sizeof(now));
    record_of(info, &p.rec);
    ht_native_pixels native;
    if (ht_dicom_native_pixels(dcm, data, len, &native)) {
        p.rec.pixel_offset = native.offset;
        p.rec.frame_bytes = native.frame_bytes;
        p.rec.pixels_as_decoded = native.as_decoded;
    }
    p.rec.archive_path = path;
    p.rec.size = len;
    p.rec.sha256 = sha;
    p.rec.received_at = now;
    p.rec.source = source ? source : "";
    p.uid = info->sop_instance_uid;

    pthread_mutex_lock(&in->lock);
    int64_t stored_batch = 0;
    err = claim_or_find(in, p.uid, stored_sha, &stored_batch, &known);
    if (err < 0) {
        pthread_mutex_unlock(&in->lock);
        goto done;
    }
    if (known && strcmp(stored_sha, sha) == 0) {
        result->outcome = HT_INGEST_DUPLICATE;
        /* A batch up to this ingest's last synced one is durable (batches are numbered in
         * commit order); a later one is another process's, maybe not yet: a sync first, so
         * that "stored" is true. */
        int durable = stored_batch > 0 && stored_batch <= in->synced;
        pthread_mutex_unlock(&in->lock);
        if (!durable)
            err = ht_archive_sync(in->archive);
        goto done;
    }
    if (known) {
        /* Same UID, other content: keep the first copy, record the conflict. */
        result->outcome = HT_INGEST_CONFLICT;
        p.is_conflict = 1;
        p.stored_sha = stored_sha;
        p.received_sha = sha;
        p.received_size = len;
        snprintf(result->stored_sha256, sizeof(result->stored_sha256), "%s", stored_sha);
        snprintf(result->received_sha256, sizeof(result->received_sha256), "%s", sha);
        claim(in, p.uid); /* released with its batch; a failed claim only loses ordering */
        err = queue_and_wait(in, &p);
        pthread_mutex_unlock(&in->lock);
        goto done;
    }
    in->staging++;
    pthread_mutex_unlock(&in->lock);

    if (adopt) {
        snprintf(p.tmp_path, sizeof(p.tmp_path), "%s", adopt);
        err = ht_archive_adopt(in->archive, adopt);
    } else {
        err = ht_archive_stage(in->archive, path, data, len, p.tmp_path);
    }

    pthread_mutex_lock(&in->lock);
    in->staging--;
    pthread_cond_signal(&in->work);
    if (err < 0) {
        unclaim(in, p.uid);
        pthread_cond_broadcast(&in->done);
    } else {
        result->outcome = HT_INGEST_NEW;
        adopted = 1; /* the batch owns the file now: published, or removed if it fails */
        err = queue_and_wait(in, &p);
        if (err == HT_OK && p.raced) {
            result->outcome = p.raced;
            if (p.raced == HT_INGEST_CONFLICT) {
                snprintf(result->stored_sha256, sizeof(result->stored_sha256), "%s", p.raced_sha);
                snprintf(result->received_sha256, sizeof(result->received_sha256), "%s", sha);
            }
        }
    }
    pthread_mutex_unlock(&in->lock);
done:
    if (adopt && !adopted)
        ht_archive_remove(in->archive, adopt);
    ht_dicom_free(dcm);
    return err;
}

int ht_ingest_mark_stable(ht_ingest *in,
                          int seconds,
                          int (*cb)(void *payload, const char *study_uid),
                          void *payload)
{
    char before[32], now[32];
    ht_time_ago_iso(seconds, before, sizeof(before));
    ht_time_now_iso(now, sizeof(now));
    pthread_mutex_lock(&in->lock);
    int err = ht_store_mark_stable(in->reader, before, now, cb, payload);
    pthread_mutex_unlock(&in->lock);
    return err;
}

int ht_ingest_buffer(
    ht_ingest *in, const uint8_t *data, size_t len, const char *source, ht_ingest_result *result)
{
    return ingest(in, data, len, source, NULL, NULL, result);
}

/* An object an upload wrote to the archive's temporary path: read, then adopted. */
static int ingest_staged(ht_ingest *in,
                         const char *tmp_rel,
                         const expected *ex,
                         const char *source,
                         ht_ingest_result *result)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int err = ht_archive_read_received(in->archive, tmp_rel, &data, &len);
    if (err < 0) {
        memset(result, 0, sizeof(*result));
        ht_archive_remove(in->archive, tmp_rel);
        return err;
    }
    prepared pre = {tmp_rel, NULL, 0};
    err = ingest(in, data, len, source, &pre, ex, result);
    free(data);
    return err;
}

int ht_ingest_received(ht_ingest *in,
                       const ht_received_instance *r,
                       const char *sop_class_uid,
                       const char *sop_instance_uid,
                       const char *source,
                       ht_ingest_result *result)
{
    expected ex = {sop_class_uid, sop_instance_uid, NULL};
    prepared pre = {r->tmp_rel, r->dataset_sha256, r->dataset_offset};
    return ingest(in, r->data, r->len, source, &pre, &ex, result);
}

void ht_ingest_upload_path(ht_ingest *in, char *tmp_rel, char *tmp_abs, size_t abs_size)
{
    uint8_t token[16] = {0};
    char name[40];
    (void)ht_random_bytes(token, sizeof(token)); /* a name nobody else picks, not a secret */
    ht_error_clear();
    ht_hex_encode(token, sizeof(token), name);
    ht_ingest_staging_path(in, name, tmp_rel, tmp_abs, abs_size);
}

int ht_ingest_uploaded(ht_ingest *in,
                       const char *tmp_rel,
                       const char *study_uid,
                       const char *source,
                       ht_ingest_result *result)
{
    expected ex = {NULL, NULL, study_uid};
    return ingest_staged(in, tmp_rel, &ex, source, result);
}
