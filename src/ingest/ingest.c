/*
 * One instance in: parse → validate → claim its UID → write the file durably → add its row to
 * the open transaction → wait until the committer thread has committed that transaction.
 *
 * The committer commits whatever rows are pending, letting a batch grow for up to
 * BATCH_WAIT_NS while other threads are still writing their files, so that many instances
 * share one fsync of the index.
 */
#define _GNU_SOURCE
#include "hepatrack/ingest.h"

#include "hepatrack/dicom.h"
#include "hepatrack/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_WAIT_NS 2000000L

struct ht_ingest {
    ht_archive *archive;
    ht_store *store;
    pthread_t committer;
    int committer_started;

    pthread_mutex_t lock; /* guards everything below and every use of store */
    pthread_cond_t work;  /* rows are pending, or a writer finished */
    pthread_cond_t done;  /* a commit finished, or a UID claim was released */
    int stopping;
    int txn_open;
    int writers;        /* threads writing a file, about to insert */
    uint64_t inserted;  /* sequence number of the last row in the open transaction */
    uint64_t committed; /* rows up to here are resolved (committed, or failed below) */
    uint64_t failed_from, failed_to;
    int failed_code;
    int doomed; /* error that dooms the open transaction, 0 if none */
    char failed_message[512];
    char **batch; /* archive paths written in the open transaction, removed if it fails */
    size_t nbatch, capbatch;
    char (*claims)[65]; /* SOP Instance UIDs whose files are being written */
    size_t nclaims, capclaims;
};

char *ht_ingest_index_path(const char *data_dir)
{
    return ht_strprintf("%s/index.sqlite", data_dir);
}

ht_store *ht_ingest_store(ht_ingest *ingest)
{
    return ingest->store;
}

ht_archive *ht_ingest_archive(ht_ingest *ingest)
{
    return ingest->archive;
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

static void discard_batch(ht_ingest *in, int remove_files)
{
    for (size_t i = 0; i < in->nbatch; i++) {
        if (remove_files)
            ht_archive_remove(in->archive, in->batch[i]);
        free(in->batch[i]);
    }
    in->nbatch = 0;
}

/*
 * A write into the open transaction failed with a database or disk error, after which SQLite
 * may already have rolled the whole transaction back: fail the batch with that error rather
 * than commit what is left of it.
 */
static void doom_batch(ht_ingest *in, int err)
{
    if (err == HT_EEXISTS || in->doomed)
        return;
    if (in->inserted == in->committed) { /* nothing else rides on it: start afresh */
        ht_store_rollback(in->store);
        in->txn_open = 0;
        return;
    }
    in->doomed = err;
    snprintf(in->failed_message, sizeof(in->failed_message), "%s", ht_error_last());
}

/* Commit the open transaction; on failure roll it back and remove its files. Holds lock. */
static void commit_batch(ht_ingest *in)
{
    uint64_t upto = in->inserted;
    int err = in->doomed ? in->doomed : ht_store_commit(in->store);

    if (err < 0) {
        in->failed_code = err;
        if (!in->doomed)
            snprintf(in->failed_message, sizeof(in->failed_message), "%s", ht_error_last());
        in->doomed = 0;
        ht_store_rollback(in->store);
        discard_batch(in, 1);
        in->failed_from = in->committed + 1;
        in->failed_to = upto;
    } else {
        discard_batch(in, 0);
    }
    in->txn_open = 0;
    in->committed = upto;
    pthread_cond_broadcast(&in->done);
}

static void *committer_main(void *arg)
{
    ht_ingest *in = arg;
    struct timespec deadline;

    pthread_mutex_lock(&in->lock);
    for (;;) {
        while (in->inserted == in->committed && !in->stopping)
            pthread_cond_wait(&in->work, &in->lock);
        if (in->inserted == in->committed)
            break; /* stopping, nothing pending */
        deadline_after(&deadline, BATCH_WAIT_NS);
        while (in->writers > 0 && !in->stopping)
            if (pthread_cond_timedwait(&in->work, &in->lock, &deadline) == ETIMEDOUT)
                break;
        commit_batch(in);
    }
    pthread_mutex_unlock(&in->lock);
    return NULL;
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
    pthread_mutex_init(&in->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&in->work, &attr);
    pthread_cond_init(&in->done, &attr);
    pthread_condattr_destroy(&attr);
    if ((err = ht_archive_open(&in->archive, data_dir)) < 0)
        goto fail;
    if (!(index_path = ht_ingest_index_path(data_dir))) {
        err = HT_ENOMEM;
        goto fail;
    }
    if ((err = ht_store_open(&in->store, index_path)) < 0)
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
    }
    discard_batch(in, 0);
    free(in->batch);
    free(in->claims);
    ht_store_free(in->store);
    ht_archive_free(in->archive);
    pthread_cond_destroy(&in->work);
    pthread_cond_destroy(&in->done);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

/* ---- validation ---------------------------------------------------------------------------- */

/* PS3.5 9.1: at most 64 characters, digits in components separated by dots. */
static int is_uid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int check_uid(const char *value, const char *name, const char *tag)
{
    if (!*value)
        return ht_error_set(HT_EINVALID, "%s %s is missing", name, tag);
    if (!is_uid(value))
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
    if (!ht_dicom_transfer_syntax_supported(i->transfer_syntax_uid))
        return ht_error_set(HT_EUNSUPPORTED, "transfer syntax %s is not supported",
                            i->transfer_syntax_uid);
    return HT_OK;
}

/* ---- claims: one writer per SOP Instance UID at a time ------------------------------------- */

static int claimed(const ht_ingest *in, const char *uid)
{
    for (size_t i = 0; i < in->nclaims; i++)
        if (strcmp(in->claims[i], uid) == 0)
            return 1;
    return 0;
}

static int claim(ht_ingest *in, const char *uid)
{
    if (in->nclaims == in->capclaims) {
        size_t cap = in->capclaims ? in->capclaims * 2 : 16;
        void *p = realloc(in->claims, cap * sizeof(*in->claims));
        if (!p)
            return ht_error_set(HT_ENOMEM, "out of memory");
        in->claims = p;
        in->capclaims = cap;
    }
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
    pthread_cond_broadcast(&in->done);
}

static int remember_file(ht_ingest *in, const char *path)
{
    if (in->nbatch == in->capbatch) {
        size_t cap = in->capbatch ? in->capbatch * 2 : 64;
        void *p = realloc(in->batch, cap * sizeof(*in->batch));
        if (!p)
            return ht_error_set(HT_ENOMEM, "out of memory");
        in->batch = p;
        in->capbatch = cap;
    }
    if (!(in->batch[in->nbatch] = ht_strdup(path)))
        return HT_ENOMEM;
    in->nbatch++;
    return HT_OK;
}

/* ---- one instance -------------------------------------------------------------------------- */

static int open_txn(ht_ingest *in)
{
    int err;
    if (in->txn_open)
        return HT_OK;
    if ((err = ht_store_begin(in->store)) < 0)
        return err;
    in->txn_open = 1;
    return HT_OK;
}

/* Wait (holding lock) until the row numbered seq is committed or has failed. */
static int wait_commit(ht_ingest *in, uint64_t seq)
{
    pthread_cond_signal(&in->work);
    while (in->committed < seq)
        pthread_cond_wait(&in->done, &in->lock);
    if (seq >= in->failed_from && seq <= in->failed_to)
        return ht_error_set(in->failed_code, "%s", in->failed_message);
    return HT_OK;
}

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

/* The UID is known already: a duplicate, or a conflict to record. Holds lock. */
static int settle_known(ht_ingest *in, const char *stored_sha, const char *sha, size_t len,
                        const char *uid, const char *source, ht_ingest_result *result)
{
    char now[32];
    int err;

    if (strcmp(stored_sha, sha) == 0) {
        result->outcome = HT_INGEST_DUPLICATE;
        /* The first copy may still be in the open transaction: answer once it is durable. */
        return wait_commit(in, in->inserted);
    }
    result->outcome = HT_INGEST_CONFLICT;
    ht_time_now_iso(now, sizeof(now));
    if ((err = open_txn(in)) < 0)
        return err;
    if ((err = ht_store_add_conflict(in->store, uid, stored_sha, sha, len, source, now)) < 0) {
        doom_batch(in, err);
        return err;
    }
    return wait_commit(in, ++in->inserted);
}

int ht_ingest_buffer(ht_ingest *in,
                     const uint8_t *data,
                     size_t len,
                     const char *source,
                     ht_ingest_result *result)
{
    char sha[HT_SHA256_HEX_SIZE], stored_sha[HT_SHA256_HEX_SIZE], path[HT_ARCHIVE_PATH_MAX];
    char now[32];
    ht_dicom *dcm = NULL;
    ht_instance_record rec;
    const ht_dicom_info *info;
    int err;

    memset(result, 0, sizeof(*result));
    if ((err = ht_dicom_open_memory(&dcm, data, len)) < 0)
        return err;
    info = ht_dicom_get_info(dcm);
    snprintf(result->sop_instance_uid, sizeof(result->sop_instance_uid), "%s",
             info->sop_instance_uid);
    snprintf(result->sop_class_uid, sizeof(result->sop_class_uid), "%s", info->sop_class_uid);
    snprintf(result->study_instance_uid, sizeof(result->study_instance_uid), "%s",
             info->study_instance_uid);
    snprintf(result->warnings, sizeof(result->warnings), "%s", info->warnings);
    if ((err = validate(dcm)) < 0)
        goto done;
    /* The File Meta differs between an imported and a received copy; the dataset does not. */
    ht_sha256_hex(data + info->dataset_offset, len - info->dataset_offset, sha);
    ht_archive_path_for(info->sop_instance_uid, path);

    pthread_mutex_lock(&in->lock);
    for (;;) {
        err = ht_store_find_instance(in->store, info->sop_instance_uid, stored_sha);
        if (err == HT_OK) {
            err = settle_known(in, stored_sha, sha, len, info->sop_instance_uid, source, result);
            pthread_mutex_unlock(&in->lock);
            goto done;
        }
        if (err != HT_ENOTFOUND) {
            pthread_mutex_unlock(&in->lock);
            goto done;
        }
        if (!claimed(in, info->sop_instance_uid))
            break;
        pthread_cond_wait(&in->done, &in->lock); /* a twin is being written: then look again */
    }
    if ((err = claim(in, info->sop_instance_uid)) < 0) {
        pthread_mutex_unlock(&in->lock);
        goto done;
    }
    in->writers++;
    pthread_mutex_unlock(&in->lock);

    err = ht_archive_write(in->archive, path, data, len);

    pthread_mutex_lock(&in->lock);
    in->writers--;
    pthread_cond_signal(&in->work);
    if (err == HT_OK) {
        record_of(info, &rec);
        ht_time_now_iso(now, sizeof(now));
        rec.archive_path = path;
        rec.size = len;
        rec.sha256 = sha;
        rec.received_at = now;
        rec.source = source ? source : "";
        if ((err = open_txn(in)) == HT_OK && (err = remember_file(in, path)) == HT_OK) {
            if ((err = ht_store_add_instance(in->store, &rec)) == HT_OK) {
                uint64_t seq = ++in->inserted;
                unclaim(in, info->sop_instance_uid);
                result->outcome = HT_INGEST_NEW;
                err = wait_commit(in, seq);
                pthread_mutex_unlock(&in->lock);
                goto done;
            }
            free(in->batch[--in->nbatch]);
            doom_batch(in, err);
        }
        ht_archive_remove(in->archive, path);
    }
    unclaim(in, info->sop_instance_uid);
    pthread_mutex_unlock(&in->lock);
done:
    ht_dicom_free(dcm);
    return err;
}
