/* Internals of the ingest module shared by its files: a queued row and the ingest itself. */
#ifndef HEPATRACK_INGEST_INTERNAL_H
#define HEPATRACK_INGEST_INTERNAL_H

#include "hepatrack/archive.h"
#include "hepatrack/ingest.h"
#include "hepatrack/store.h"

#include <pthread.h>
#include <stdint.h>

typedef struct pending {
    struct pending *next;
    int is_conflict;
    ht_instance_record rec; /* strings borrowed from the waiting caller */
    char tmp_path[HT_ARCHIVE_TMP_PATH_MAX];
    const char *uid;
    const char *stored_sha, *received_sha;
    uint64_t received_size;
    /* a new instance another ingest on the same index (another process or node) committed
     * first: the committer found its row, and this copy became a duplicate or a conflict */
    ht_ingest_outcome raced;
    char raced_sha[HT_SHA256_HEX_SIZE];
    int resolved;
    int status;
    char message[512];
} pending;

struct ht_ingest {
    ht_archive *archive;
    ht_store *reader; /* lookups, under lock */
    ht_store *writer; /* the committer's */
    pthread_t committer;
    int committer_started;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t work;  /* something was queued, or a writer finished staging */
    pthread_cond_t done;  /* a batch was resolved (claims released) */
    int stopping;
    int staging;      /* callers between claim and queue */
    int64_t recorded; /* the committer's: the newest durable batch the index records */
    int confirmed;    /* ht_ingest_confirm_batches verified what the last stop left */
    int64_t synced;   /* every batch up to this one is durable (this ingest's sync returned
                         after it committed); written by the committer under the lock */
    pending *head, **tail;
    size_t queued;
    char (*claims)[65];
    size_t nclaims, capclaims;
};

#endif
