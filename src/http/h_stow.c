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

typedef struct stow {
    ht_sink sink; /* first: the server holds the stow through it */
    ht_ingest *ingest;
    ht_multipart_reader *reader;
    char study[72]; /* the study the path names, "" for POST /studies */
    char source[160];
    char origin[300];
    int fd; /* the part being written, -1 between parts */
    char tmp_rel[HT_ARCHIVE_TMP_PATH_MAX], tmp_abs[4096];
    int part_refused; /* not application/dicom, or its file could not be written */
    char part_error[300];
    json_t *referenced, *failed;
    size_t parts;
    int body_error; /* the multipart body itself is broken */
    char body_message[300];
} stow;

static void fail_item(stow *s, const ht_ingest_result *res, unsigned reason, const char *why)
{
    json_t *item = json_object();
    if (res && res->sop_class_uid[0])
        json_object_set_new(item, "00081150",
                            json_pack("{s:s,s:[s]}", "vr", "UI", "Value", res->sop_class_uid));
    if (res && res->sop_instance_uid[0])
        json_object_set_new(item, "00081155",
                            json_pack("{s:s,s:[s]}", "vr", "UI", "Value", res->sop_instance_uid));
    json_object_set_new(item, "00081197", json_pack("{s:s,s:[i]}", "vr", "US", "Value", reason));
    json_array_append_new(s->failed, item);
    ht_log(HT_LOG_WARN, "event=stow-failed source=\"%s\" sop=%s reason=0x%04X detail=\"%s\"",
           s->source, res && res->sop_instance_uid[0] ? res->sop_instance_uid : "-", reason, why);
}

static void referenced_item(stow *s, const ht_ingest_result *res)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/dicom-web/studies/%s/series/%s/instances/%s", s->origin,
             res->study_instance_uid, res->series_instance_uid, res->sop_instance_uid);
    json_array_append_new(
        s->referenced, json_pack("{s:{s:s,s:[s]},s:{s:s,s:[s]},s:{s:s,s:[s]}}", "00081150", "vr",
                                 "UI", "Value", res->sop_class_uid, "00081155", "vr", "UI", "Value",
                                 res->sop_instance_uid, "00081190", "vr", "UR", "Value", url));
}

static int part_begin(void *payload, const char *content_type)
{
    stow *s = payload;
    s->parts++;
    s->part_refused = 0;
    s->part_error[0] = '\0';
    if (!content_type || !ht_media_is(content_type, "application/dicom")) {
        s->part_refused = FAILURE_CLASS;
        snprintf(s->part_error, sizeof(s->part_error), "part %zu is %.100s, not application/dicom",
                 s->parts, content_type ? content_type : "untyped");
        return 0;
    }
    ht_ingest_upload_path(s->ingest, s->tmp_rel, s->tmp_abs, sizeof(s->tmp_abs));
    s->fd = open(s->tmp_abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        s->part_refused = FAILURE_RESOURCES;
        snprintf(s->part_error, sizeof(s->part_error), "cannot stage part %zu: %s", s->parts,
                 strerror(errno));
    }
    return 0;
}

static int part_data(void *payload, const uint8_t *data, size_t len)
{
    stow *s = payload;
    while (s->fd >= 0 && len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->part_refused = FAILURE_RESOURCES;
            snprintf(s->part_error, sizeof(s->part_error), "cannot stage part %zu: %s", s->parts,
                     n < 0 ? strerror(errno) : "no space");
            close(s->fd);
            unlink(s->tmp_abs);
            s->fd = -1;
            return 0;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

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

/* The part is whole: store it, and say what became of it. */
static int part_end(void *payload)
{
    stow *s = payload;
    ht_ingest_result res;
    memset(&res, 0, sizeof(res));
    if (s->part_refused) {
        if (s->fd >= 0) {
            close(s->fd);
            unlink(s->tmp_abs);
            s->fd = -1;
        }
        fail_item(s, NULL, (unsigned)s->part_refused, s->part_error);
        return 0;
    }
    int closed = close(s->fd);
    s->fd = -1;
    int err = closed == 0
                  ? ht_ingest_uploaded(s->ingest, s->tmp_rel, s->study[0] ? s->study : NULL,
                                       s->source, &res)
                  : ht_error_set(HT_EIO, "cannot write the staged part: %s", strerror(errno));
    if (closed != 0)
        unlink(s->tmp_abs);
    if (err < 0)
        fail_item(s, &res, failure_reason(err), ht_error_last());
    else if (res.outcome == HT_INGEST_CONFLICT)
        fail_item(s, &res, FAILURE_DUPLICATE,
                  "stored before with other content: the first copy is kept, the conflict "
                  "recorded");
    else
        referenced_item(s, &res);
    ht_error_clear();
    return 0;
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
    if (s->fd >= 0) { /* the body ended inside a part: nothing of it is kept */
        close(s->fd);
        unlink(s->tmp_abs);
    }
    ht_multipart_reader_free(s->reader);
    json_decref(s->referenced);
    json_decref(s->failed);
    free(s);
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
    s->referenced = json_array();
    s->failed = json_array();
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

/* The body is in: the response dataset. */
int ht_http__stow(request *r, answer *a)
{
    stow *s = (stow *)r->upload->sink;
    if (!s)
        return ht_http__fail(a, HT_EINTERNAL, NULL, "no STOW-RS upload under way");
    if (!s->body_error && ht_multipart_finish(s->reader) < 0) {
        s->body_error = 1;
        snprintf(s->body_message, sizeof(s->body_message), "%s", ht_error_last());
    }
    size_t stored = json_array_size(s->referenced), failed = json_array_size(s->failed);
    if (s->body_error && stored + failed == 0)
        return ht_http__fail(a, HT_EINVALID, NULL, "the body is not multipart/related: %s",
                             s->body_message);
    if (stored + failed == 0)
        return ht_http__fail(a, HT_EINVALID, NULL, "the body holds no instance");
    json_t *out = json_object();
    if (s->study[0]) {
        char url[400];
        snprintf(url, sizeof(url), "%s/dicom-web/studies/%s", s->origin, s->study);
        json_object_set_new(out, "00081190", json_pack("{s:s,s:[s]}", "vr", "UR", "Value", url));
    }
    if (failed)
        json_object_set_new(out, "00081198",
                            json_pack("{s:s,s:O}", "vr", "SQ", "Value", s->failed));
    if (stored)
        json_object_set_new(out, "00081199",
                            json_pack("{s:s,s:O}", "vr", "SQ", "Value", s->referenced));
    if (s->body_error) /* the parts before the break were stored and are reported */
        ht_http__add_header(a, "Warning", "299 hepatrack \"%.200s\"", s->body_message);
    a->status = failed == 0 ? 200 : stored == 0 ? 409 : 202;
    a->json = out;
    a->type = "application/dicom+json";
    ht_log(HT_LOG_INFO, "event=stow source=\"%s\" stored=%zu failed=%zu", s->source, stored,
           failed);
    return HT_OK;
}
