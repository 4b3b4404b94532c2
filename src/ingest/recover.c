/*
 * Recovery: verify what a stop of the machine may have left short. Batches are numbered by the
 * index in commit order, and the index records the newest known durable; the instances of the
 * batches beyond it are checked against their files, and a row whose file is missing or
 * altered (never acknowledged) goes with its file, under the index's write lock.
 */
#include "hepatrack/ingest.h"

#include "hepatrack/util.h"
#include "ingest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ht_ingest_verify(ht_ingest *in, const ht_file_entry *e)
{
    char sha[HT_SHA256_HEX_SIZE];
    uint8_t *data = NULL;
    size_t len = 0;
    int err;

    if ((err = ht_archive_read(in->archive, e->archive_path, &data, &len)) < 0)
        return err;
    if (len != e->size || e->dataset_offset > len) {
        ht_free(data);
        return ht_error_set(HT_ECONFLICT, "file has %zu bytes, the index says %llu", len,
                            (unsigned long long)e->size);
    }
    ht_sha256_hex(data + e->dataset_offset, len - e->dataset_offset, sha);
    ht_free(data);
    if (strcmp(sha, e->sha256) != 0)
        return ht_error_set(HT_ECONFLICT, "dataset checksum differs from the index");
    return HT_OK;
}

/* A row of an unconfirmed batch whose file is missing or not what the row says. */
typedef struct short_row {
    char uid[65]; /* SOP Instance UIDs: at most 64 characters, as ingest validates */
    char path[HT_ARCHIVE_PATH_MAX];
    int64_t batch;
    char why[256];
    int removed;
} short_row;

typedef struct unconfirmed {
    ht_ingest *in;
    short_row *rows;
    size_t n, cap;
} unconfirmed;

static int check_unconfirmed(void *payload, const ht_file_entry *e)
{
    unconfirmed *u = payload;
    int err = ht_ingest_verify(u->in, e);
    if (err == HT_OK)
        return 0;
    if (err != HT_ENOTFOUND && err != HT_ECONFLICT)
        return err; /* unreadable for another reason: nothing is removed on a doubt */
    const char *why = ht_error_last();
    if ((err = HT_GROW(u->rows, u->cap, u->n + 1)) < 0)
        return err;
    short_row *r = &u->rows[u->n++];
    snprintf(r->uid, sizeof(r->uid), "%s", e->sop_instance_uid);
    snprintf(r->path, sizeof(r->path), "%s", e->archive_path);
    snprintf(r->why, sizeof(r->why), "%s", why);
    r->batch = e->batch;
    return 0;
}

/* Remove the short rows and their files under one write lock: a row another ingest stored again
 * since (another batch) stays, and so does its file. Returns the number removed. */
static int remove_short(ht_ingest *in,
                        unconfirmed *u,
                        int (*report)(void *payload, const char *sop_uid, const char *why),
                        void *payload)
{
    int err = ht_store_begin(in->writer), removed = 0;
    for (size_t i = 0; i < u->n && err >= 0; i++) {
        short_row *r = &u->rows[i];
        if ((err = ht_store_delete_instance(in->writer, r->uid, r->batch)) == 1) {
            ht_archive_remove(in->archive, r->path); /* gone already when missing */
            ht_error_clear();
            r->removed = 1;
            removed++;
        }
    }
    if (err >= 0 && (err = ht_store_commit(in->writer)) == HT_OK) {
        for (size_t i = 0; i < u->n && report; i++)
            if (u->rows[i].removed)
                report(payload, u->rows[i].uid, u->rows[i].why);
        return removed;
    }
    ht_store_rollback(in->writer);
    return err;
}

int ht_ingest_confirm_batches(ht_ingest *in,
                              int (*report)(void *payload, const char *sop_uid, const char *why),
                              void *payload)
{
    unconfirmed u = {in, NULL, 0, 0};
    int64_t newest = 0;
    int removed = 0;
    int err = ht_store_each_unconfirmed_file(in->writer, check_unconfirmed, &u, &newest);
    if (err == HT_OK && u.n > 0)
        err = removed = remove_short(in, &u, report, payload);
    /* What was verified may sit in memory only (another process's batch, committed, its sync
     * not yet returned): a sync before the index says it is durable. */
    if (err >= 0 && newest > 0 && (err = ht_archive_sync(in->archive)) == HT_OK)
        err = ht_store_batch_verified(in->writer, newest);
    free(u.rows);
    if (err < 0)
        return err;
    in->confirmed = 1;
    return removed;
}
