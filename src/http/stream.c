/*
 * A multipart/related answer sent as it is made: each part's bytes are asked for only when the
 * one before has gone, so a study of any size costs one instance's memory. WADO-RS retrievals,
 * frames and bulk data use it.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicomweb.h"
#include "hepatrack/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct multipart_stream {
    ht_part_source source;
    void *cls;
    void (*cls_free)(void *cls);
    size_t nparts, next;
    char boundary[48];
    char head[700];
    size_t head_len, head_pos;
    uint8_t *data;
    size_t data_len, data_pos;
    int closed;
} multipart_stream;

static void stream_free(void *cls)
{
    multipart_stream *m = cls;
    if (m->cls_free)
        m->cls_free(m->cls);
    free(m->data);
    free(m);
}

/* The next part's head and bytes, or the close delimiter; 0 when everything was sent. */
static int advance(multipart_stream *m)
{
    free(m->data);
    m->data = NULL;
    m->data_len = m->data_pos = m->head_pos = m->head_len = 0;
    if (m->next < m->nparts) {
        ht_part part = {.type = "application/octet-stream"};
        part.location[0] = '\0';
        if (m->source(m->cls, m->next, &part) < 0) {
            ht_log(HT_LOG_ERROR, "event=stream part=%zu reason=\"%s\"", m->next + 1,
                   ht_error_last());
            return -1;
        }
        int n = ht_multipart_part_head(m->head, sizeof(m->head), m->boundary, m->next == 0,
                                       part.type, part.location[0] ? part.location : NULL);
        m->head_len = n > 0 && (size_t)n < sizeof(m->head) ? (size_t)n : 0;
        m->data = part.data;
        m->data_len = part.len;
        m->next++;
        return 1;
    }
    if (m->closed)
        return 0;
    int n = ht_multipart_close(m->head, sizeof(m->head), m->boundary, m->nparts == 0);
    m->head_len = n > 0 ? (size_t)n : 0;
    m->closed = 1;
    return 1;
}

static long stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    multipart_stream *m = cls;
    size_t out = 0;
    (void)pos; /* libmicrohttpd reads in order */
    while (out < max) {
        if (m->head_pos < m->head_len) {
            size_t n =
                m->head_len - m->head_pos < max - out ? m->head_len - m->head_pos : max - out;
            memcpy(buf + out, m->head + m->head_pos, n);
            m->head_pos += n;
            out += n;
        } else if (m->data_pos < m->data_len) {
            size_t n =
                m->data_len - m->data_pos < max - out ? m->data_len - m->data_pos : max - out;
            memcpy(buf + out, m->data + m->data_pos, n);
            m->data_pos += n;
            out += n;
        } else {
            int more = advance(m);
            if (more < 0)
                return out ? (long)out : HT_HTTP_STREAM_ERROR;
            if (more == 0)
                break;
        }
    }
    return out ? (long)out : HT_HTTP_STREAM_END;
}

/* Make the whole body now (for small answers: sent with its length, in one piece). */
static int gather(answer *a, multipart_stream *m, size_t expected)
{
    size_t cap = expected + 4096, len = 0;
    char *body = malloc(cap);
    long n = 0;
    while (body && (n = stream_read(m, len, body + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap && HT_GROW(body, cap, cap + 65536) < 0) {
            free(body);
            body = NULL;
        }
    }
    stream_free(m);
    if (!body || n == HT_HTTP_STREAM_ERROR) {
        free(body);
        a->type = "application/json";
        a->nheaders = 0;
        return body ? ht_http__fail_last(a, HT_EIO)
                    : ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    }
    a->body = body;
    a->len = len;
    return HT_OK;
}

int ht_http__multipart(answer *a,
                       const char *part_type,
                       size_t nparts,
                       ht_part_source source,
                       void *cls,
                       void (*cls_free)(void *cls))
{
    return ht_http__multipart_sized(a, part_type, nparts, source, cls, cls_free, 0);
}

int ht_http__multipart_sized(answer *a,
                             const char *part_type,
                             size_t nparts,
                             ht_part_source source,
                             void *cls,
                             void (*cls_free)(void *cls),
                             size_t known)
{
    multipart_stream *m = calloc(1, sizeof(*m));
    if (!m) {
        if (cls_free)
            cls_free(cls);
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    }
    m->source = source;
    m->cls = cls;
    m->cls_free = cls_free;
    m->nparts = nparts;
    ht_multipart_boundary(m->boundary);
    ht_http__add_header(a, "Content-Type", "multipart/related; type=\"%s\"; boundary=%s", part_type,
                        m->boundary);
    a->type = NULL; /* the header above says it */
    if (known && known <= HT_HTTP_GATHER_MAX)
        return gather(a, m, known);
    a->stream = stream_read;
    a->stream_cls = m;
    a->stream_free = stream_free;
    return HT_OK;
}
