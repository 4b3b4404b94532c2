/*
 * STOW-RS (PS3.18 10.5): instances POSTed as multipart/related; type="application/dicom",
 * each part written to the archive's staging as it arrives and stored through ingest, the path
 * every C-STORE takes (durable before the answer, the same duplicate and conflict rules). The
 * answer is PS3.18's response dataset: what was stored (ReferencedSOPSequence), what was not
 * and why (FailedSOPSequence); 200 when all were, 202 when some were not, 409 when none was.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicomweb.h"
#include "hepatrack/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PS3.18 Table 10.5.3-2 and PS3.4 Annex B failure reasons. */
#define FAILURE_PROCESSING 0x0110        /* processing failure */
#define FAILURE_DUPLICATE 0x0111         /* the UID was stored with other content */
#define FAILURE_CLASS 0x0122             /* SOP Class not supported */
#define FAILURE_RESOURCES 0xA700         /* out of resources */
#define FAILURE_STUDY 0xA900             /* not of the study the request named */
#define FAILURE_CANNOT_UNDERSTAND 0xC000 /* not a DICOM object hepatrack can read */

#define STORERS 4       /* parts stored at once: their durability is shared (group commit) */
#define MAX_WAITING 32  /* parts read but not stored yet before reading waits */
#define MAX_PARTS 20000 /* in one request (a 300-slice series is 300) */

/* One part: staged as it arrives, then stored by one of the request's storers. */
typedef struct outcome {
    char tmp_rel[HT_ARCHIVE_TMP_PATH_MAX];
    unsigned refused; /* a failure reason decided while reading (not application/dicom...) */
    char error[300];
    int err;
    ht_ingest_result result;
} outcome;

typedef struct stow {
    ht_sink sink; /* first: the server holds the stow through it */
    ht_ingest *ingest;
    ht_multipart_reader *reader;
    char study[72]; /* the study the path names, "" for POST /studies */
    char source[160];
    char origin[300];
    int fd; /* the part being written, -1 between parts */
    char tmp_abs[4096];
    outcome current;
    int body_error; /* the multipart body itself is broken */
    char body_message[300];
    /* parts read whole [0, ready), handed out [0, next), stored [0..] done of them */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    outcome *parts;
    size_t ready, next, done, cap;
    pthread_t storers[STORERS];
    int nstorers, closing;
} stow;

static unsigned failure_reason(int err)
{
    switch (err) {
    case HT_ECONFLICT:
        return FAILURE_STUDY;
    case HT_EUNSUPPORTED:
        return FAILURE_CLASS;
    case HT_EPARSE:
    case HT_EINVALID:
        return FAILURE_CANNOT_UNDERSTAND;
    case HT_ENOSPC:
    case HT_ENOMEM:
        return FAILURE_RESOURCES;
    default:
        return FAILURE_PROCESSING;
    }
}

/* ---- storing: a few threads per request, so that parts share their commits ---------------- */

static void store_part(stow *s, outcome *o)
{
    if (o->refused)
        return;
    o->err = ht_ingest_uploaded(s->ingest, o->tmp_rel, s->study[0] ? s->study : NULL, s->source,
                                &o->result);
    if (o->err < 0) {
        o->refused = failure_reason(o->err);
        snprintf(o->error, sizeof(o->error), "%s", ht_error_last());
    } else if (o->result.outcome == HT_INGEST_CONFLICT) {
        o->refused = FAILURE_DUPLICATE;
        snprintf(o->error, sizeof(o->error),
                 "stored before with other content: the first copy is kept, the conflict "
                 "recorded");
    }
    ht_error_clear();
}

static void *storer_main(void *arg)
{
    stow *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->next == s->ready && !s->closing)
            pthread_cond_wait(&s->changed, &s->lock);
        if (s->next == s->ready)
            break;                       /* closing, and nothing left */
        outcome o = s->parts[s->next++]; /* a copy: parts may move as it grows */
        size_t i = s->next - 1;
        pthread_mutex_unlock(&s->lock);
        store_part(s, &o);
        pthread_mutex_lock(&s->lock);
        s->parts[i] = o;
        s->done++;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Hand a part read whole to the storers; wait while too many are waiting. */
static int hand_over(stow *s, const outcome *o)
{
    pthread_mutex_lock(&s->lock);
    while (s->ready - s->done >= MAX_WAITING)
        pthread_cond_wait(&s->changed, &s->lock);
    if (HT_GROW(s->parts, s->cap, s->ready + 1) < 0) {
        pthread_mutex_unlock(&s->lock);
        return ht_error_set(HT_ENOMEM, "out of memory");
    }
    s->parts[s->ready++] = *o;
    if (s->nstorers < STORERS && s->nstorers < (int)(s->ready - s->done) &&
        pthread_create(&s->storers[s->nstorers], NULL, storer_main, s) == 0)
        s->nstorers++;
    pthread_cond_broadcast(&s->changed);
    if (s->nstorers == 0) { /* no thread could be made: store it here */
        size_t i = s->next++;
        outcome copy = s->parts[i];
        pthread_mutex_unlock(&s->lock);
        store_part(s, &copy);
        pthread_mutex_lock(&s->lock);
        s->parts[i] = copy;
        s->done++;
    }
    pthread_mutex_unlock(&s->lock);
    return HT_OK;
}

/* Every part handed over is stored (or failed): the storers are gone. */
static void finish_storing(stow *s)
{
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->nstorers; i++)
        pthread_join(s->storers[i], NULL);
    s->nstorers = 0;
}

/* ---- reading --------------------------------------------------------------------------------- */

static int part_begin(void *payload, const char *content_type)
{
    stow *s = payload;
    outcome *o = &s->current;
    memset(o, 0, sizeof(*o));
    if (s->ready >= MAX_PARTS)
        return ht_error_set(HT_EINVALID, "more than %d parts in one request", MAX_PARTS);
    if (!content_type || !ht_media_is(content_type, "application/dicom")) {
        o->refused = FAILURE_CLASS;
        snprintf(o->error, sizeof(o->error), "part %zu is %.100s, not application/dicom",
                 s->ready + 1, content_type ? content_type : "untyped");
        return 0;
    }
    ht_ingest_upload_path(s->ingest, o->tmp_rel, s->tmp_abs, sizeof(s->tmp_abs));
    s->fd = open(s->tmp_abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        o->refused = FAILURE_RESOURCES;
        snprintf(o->error, sizeof(o->error), "cannot stage part %zu: %s", s->ready + 1,
                 strerror(errno));
    }
    return 0;
}

static void drop_staged(stow *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        unlink(s->tmp_abs);
        s->fd = -1;
    }
}

static int part_data(void *payload, const uint8_t *data, size_t len)
{
    stow *s = payload;
    while (s->fd >= 0 && len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->current.refused = FAILURE_RESOURCES;
            snprintf(s->current.error, sizeof(s->current.error), "cannot stage part %zu: %s",
                     s->ready + 1, n < 0 ? strerror(errno) : "no space");
            drop_staged(s);
            return 0;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The part is whole: it goes to the storers. */
static int part_end(void *payload)
{
    stow *s = payload;
    outcome *o = &s->current;
    if (o->refused) {
        drop_staged(s);
    } else if (close(s->fd) != 0) {
        o->refused = FAILURE_RESOURCES;
        snprintf(o->error, sizeof(o->error), "cannot write the staged part: %s", strerror(errno));
        unlink(s->tmp_abs);
    }
    s->fd = -1;
    int err = hand_over(s, o);
    if (err < 0 && !o->refused)
        unlink(s->tmp_abs);
    return err < 0 ? err : 0;
}

static void feed(ht_sink *sink, const char *data, size_t len)
{
    stow *s = (stow *)sink;
    if (s->body_error)
        return;
    if (ht_multipart_feed(s->reader, (const uint8_t *)data, len) < 0) {
        s->body_error = 1;
        snprintf(s->body_message, sizeof(s->body_message), "%s", ht_error_last());
    }
}

static void release(ht_sink *sink)
{
    stow *s = (stow *)sink;
    drop_staged(s); /* the body ended inside a part: nothing of it is kept */
    finish_storing(s);
    ht_multipart_reader_free(s->reader);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s->parts);
    free(s);
}

/* ---- the answer ---------------------------------------------------------------------------- */

static json_t *failed_item(const stow *s, size_t i, const outcome *o)
{
    json_t *item = json_object();
    const ht_ingest_result *res = &o->result;
    if (res->sop_class_uid[0])
        json_object_set_new(item, "00081150",
                            json_pack("{s:s,s:[s]}", "vr", "UI", "Value", res->sop_class_uid));
    if (res->sop_instance_uid[0])
        json_object_set_new(item, "00081155",
                            json_pack("{s:s,s:[s]}", "vr", "UI", "Value", res->sop_instance_uid));
    json_object_set_new(item, "00081197",
                        json_pack("{s:s,s:[i]}", "vr", "US", "Value", (int)o->refused));
    ht_log(HT_LOG_WARN,
           "event=stow-failed source=\"%s\" part=%zu sop=%s reason=0x%04X detail=\"%s\"", s->source,
           i + 1, res->sop_instance_uid[0] ? res->sop_instance_uid : "-", o->refused, o->error);
    return item;
}

static json_t *referenced_item(const stow *s, const ht_ingest_result *res)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/dicom-web/studies/%s/series/%s/instances/%s", s->origin,
             res->study_instance_uid, res->series_instance_uid, res->sop_instance_uid);
    return json_pack("{s:{s:s,s:[s]},s:{s:s,s:[s]},s:{s:s,s:[s]}}", "00081150", "vr", "UI", "Value",
                     res->sop_class_uid, "00081155", "vr", "UI", "Value", res->sop_instance_uid,
                     "00081190", "vr", "UR", "Value", url);
}

/* POST /dicom-web/studies[/{study}]: checked and begun when its headers are in. */
int ht_http__stow_begin(request *r, answer *a, ht_sink **out)
{
    const char *type = ht_http__header(r, "Content-Type");
    char boundary[100], part_type[100];
    static const ht_multipart_events events = {part_begin, part_data, part_end};
    if (!r->http->ingest)
        return ht_http__fail(a, HT_ENOMEM, NULL, "this server does not store instances");
    if (!ht_media_is(type, "multipart/related") ||
        (ht_media_param(type, "type", part_type, sizeof(part_type)) &&
         !ht_media_is(part_type, "application/dicom")) ||
        !ht_media_param(type, "boundary", boundary, sizeof(boundary)))
        return ht_http__fail(a, HT_EUNSUPPORTED, NULL,
                             "STOW-RS takes multipart/related; type=\"application/dicom\" with a "
                             "boundary (got '%.200s')",
                             type ? type : "no Content-Type");
    stow *s = calloc(1, sizeof(*s));
    if (!s)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    s->sink = (ht_sink){feed, release};
    s->ingest = r->http->ingest;
    s->fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    snprintf(s->study, sizeof(s->study), "%s", r->nparts > 1 ? r->parts[1] : "");
    snprintf(s->source, sizeof(s->source), "dicomweb:%s", ht_http__actor(r));
    snprintf(s->origin, sizeof(s->origin), "%s", r->http->origins[0]);
    if (ht_multipart_reader_new(boundary, &events, s, &s->reader) < 0) {
        release(&s->sink);
        return ht_http__fail_last(a, HT_EINVALID);
    }
    *out = &s->sink;
    return HT_OK;
}

/* The body is in: when every part is stored, the response dataset, parts in their order. */
int ht_http__stow(request *r, answer *a)
{
    stow *s = (stow *)r->upload->sink;
    if (!s)
        return ht_http__fail(a, HT_EINTERNAL, NULL, "no STOW-RS upload under way");
    if (!s->body_error && ht_multipart_finish(s->reader) < 0) {
        s->body_error = 1;
        snprintf(s->body_message, sizeof(s->body_message), "%s", ht_error_last());
    }
    finish_storing(s);
    if (s->body_error && s->ready == 0)
        return ht_http__fail(a, HT_EINVALID, NULL, "the body is not multipart/related: %s",
                             s->body_message);
    if (s->ready == 0)
        return ht_http__fail(a, HT_EINVALID, NULL, "the body holds no instance");
    json_t *out = json_object(), *referenced = json_array(), *failed = json_array();
    for (size_t i = 0; i < s->ready; i++)
        json_array_append_new(s->parts[i].refused ? failed : referenced,
                              s->parts[i].refused ? failed_item(s, i, &s->parts[i])
                                                  : referenced_item(s, &s->parts[i].result));
    size_t nstored = json_array_size(referenced), nfailed = json_array_size(failed);
    if (s->study[0]) {
        char url[400];
        snprintf(url, sizeof(url), "%s/dicom-web/studies/%s", s->origin, s->study);
        json_object_set_new(out, "00081190", json_pack("{s:s,s:[s]}", "vr", "UR", "Value", url));
    }
    json_object_set_new(out, "00081198", json_pack("{s:s,s:o}", "vr", "SQ", "Value", failed));
    json_object_set_new(out, "00081199", json_pack("{s:s,s:o}", "vr", "SQ", "Value", referenced));
    if (!nfailed)
        json_object_del(out, "00081198");
    if (!nstored)
        json_object_del(out, "00081199");
    if (s->body_error) /* the parts before the break were stored and are reported */
        ht_http__add_header(a, "Warning", "299 hepatrack \"%.200s\"", s->body_message);
    a->status = nfailed == 0 ? 200 : nstored == 0 ? 409 : 202;
    a->json = out;
    a->type = "application/dicom+json";
    ht_log(HT_LOG_INFO, "event=stow source=\"%s\" stored=%zu failed=%zu", s->source, nstored,
           nfailed);
    return HT_OK;
}
