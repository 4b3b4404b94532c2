/*
 * Reading a request and building its answer: parameters and bodies checked with a 400 naming
 * what is wrong, errors mapped through the single error table, and the answer sent with its
 * ETag (304 when the client has it), caching and deflate.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ht_http__fail(answer *a, int code, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e = json_object(), *o = json_object();
    json_object_set_new(e, "code", json_string(ht_error_name(code)));
    json_object_set_new(e, "message", json_string(msg));
    if (field)
        json_object_set_new(e, "field", json_string(field));
    json_object_set_new(o, "error", e);
    json_decref(a->json);
    a->json = o;
    a->status = (unsigned)ht_error_http_status(code);
    return code;
}

int ht_http__fail_last(answer *a, int code)
{
    return ht_http__fail(a, code, NULL, "%s", ht_error_last());
}

void ht_http__add_header(answer *a, const char *name, const char *fmt, ...)
{
    va_list ap;
    if (a->nheaders >= (int)(sizeof(a->headers) / sizeof(a->headers[0])))
        return;
    a->headers[a->nheaders].name = name;
    va_start(ap, fmt);
    vsnprintf(a->headers[a->nheaders].value, sizeof(a->headers[0].value), fmt, ap);
    va_end(ap);
    a->nheaders++;
}

void ht_http__items(answer *a, json_t *items, size_t total)
{
    a->json = json_object();
    json_object_set_new(a->json, "items", items);
    json_object_set_new(a->json, "total", json_integer((json_int_t)total));
}

void ht_http__etag_extend(answer *a, const char *fmt, ...)
{
    size_t l = strlen(a->etag);
    va_list ap;
    if (l < 2)
        return;
    l--; /* over the closing quote */
    va_start(ap, fmt);
    vsnprintf(a->etag + l, sizeof(a->etag) - l - 1, fmt, ap);
    va_end(ap);
    l = strlen(a->etag);
    a->etag[l] = '"';
    a->etag[l + 1] = '\0';
}

/* If-None-Match against an ETag, or against the one its deflated answer carried. */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    static const char suffix[] = ";deflate\"";
    return !strcmp(inm, etag) || (n > 1 && strlen(inm) == n - 1 + strlen(suffix) &&
                                  !strncmp(inm, etag, n - 1) && !strcmp(inm + n - 1, suffix));
}

int ht_http__unchanged(const request *r, const answer *a)
{
    const char *inm = ht_http__header(r, "If-None-Match");
    return a->etag[0] && inm && etag_matches(inm, a->etag);
}

const char *ht_http__arg(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct arg_visit {
    int (*cb)(void *payload, const char *name, const char *value);
    void *payload;
    int result;
} arg_visit;

static enum MHD_Result
visit_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    arg_visit *v = cls;
    (void)kind;
    v->result = v->cb(v->payload, key, value ? value : "");
    return v->result == 0 ? MHD_YES : MHD_NO;
}

int ht_http__each_arg(const request *r,
                      int (*cb)(void *payload, const char *name, const char *value),
                      void *payload)
{
    arg_visit v = {cb, payload, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, visit_arg, &v);
    return v.result;
}

const char *ht_http__header(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int ht_http__paging(const request *r, answer *a, size_t *limit, size_t *offset)
{
    const char *l = ht_http__arg(r, "limit"), *o = ht_http__arg(r, "offset");
    char *end;
    *limit = 100;
    *offset = 0;
    if (l) {
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 1000)
            return ht_http__fail(a, HT_EINVALID, "limit",
                                 "limit must be an integer from 1 to 1000 (got '%s')", l);
        *limit = (size_t)v;
    }
    if (o) {
        long v = strtol(o, &end, 10);
        if (!*o || *end || v < 0)
            return ht_http__fail(a, HT_EINVALID, "offset",
                                 "offset must be an integer >= 0 (got '%s')", o);
        *offset = (size_t)v;
    }
    return HT_OK;
}

int ht_http__uint_arg(answer *a, const char *name, const char *text, long max, long *out)
{
    char *end;
    *out = 0;
    if (!text)
        return HT_OK;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > max)
        return ht_http__fail(a, HT_EINVALID, name, "%s must be an integer from 1 to %ld (got '%s')",
                             name, max, text);
    *out = v;
    return HT_OK;
}

int ht_http__real_arg(answer *a, const char *name, const char *text, double *out)
{
    char *end;
    *out = text ? strtod(text, &end) : 0;
    if (text && (!*text || *end || !isfinite(*out)))
        return ht_http__fail(a, HT_EINVALID, name, "%s must be a number (got '%s')", name, text);
    return HT_OK;
}

int ht_http__body_json(const request *r, answer *a, int any_type, json_t **out)
{
    json_error_t e;
    *out = NULL;
    if (r->upload->too_large)
        return ht_http__fail(a, HT_EINVALID, NULL, "request body larger than %d bytes",
                             HT_HTTP_MAX_BODY);
    *out = json_loadb(r->upload->body ? r->upload->body : "", r->upload->len,
                      JSON_REJECT_DUPLICATES, &e);
    if (!*out)
        return ht_http__fail(a, HT_EPARSE, NULL,
                             "request body is not JSON: %s (line %d, column %d)", e.text, e.line,
                             e.column);
    if (!json_is_object(*out) && !(any_type && json_is_array(*out))) {
        json_decref(*out);
        *out = NULL;
        return ht_http__fail(a, HT_EINVALID, NULL, "request body must be a JSON object");
    }
    return HT_OK;
}

int ht_http__store_and_body(const request *r, answer *a, int any_type, ht_store **s, json_t **body)
{
    *body = NULL;
    if (!(*s = ht_http__store(r, a)))
        return HT_EDB;
    return ht_http__body_json(r, a, any_type, body);
}

int ht_http__string_field(answer *a, json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) || !*json_string_value(v))
        return ht_http__fail(a, HT_EINVALID, name, "%s must be a non-empty string", name);
    *out = json_string_value(v);
    return HT_OK;
}

ht_store *ht_http__store(const request *r, answer *a)
{
    ht_http *h = r->http;
    ht_store *s = pthread_getspecific(h->store_key);
    if (!s && ht_store_open(&s, h->index_path) == HT_OK)
        pthread_setspecific(h->store_key, s);
    if (!s)
        ht_http__fail_last(a, HT_EDB);
    return s;
}

/* ---- sending ------------------------------------------------------------------------------- */

/* Whether the client takes "deflate" ("deflate;q=0" refuses it). */
static int accepts_deflate(const char *accept)
{
    const char *p = accept ? strstr(accept, "deflate") : NULL;
    if (!p)
        return 0;
    for (p += 7; *p == ' '; p++)
        ;
    const char *q = *p == ';' ? strstr(p, "q=") : NULL;
    const char *next = strchr(p, ',');
    return !q || (next && q > next) || strtod(q + 2, NULL) > 0;
}

static int deflate_body(struct MHD_Connection *conn, answer *a)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    uint8_t *out;
    size_t len;
    if (!a->compressible || !a->body || !accepts_deflate(accept) ||
        ht_render_deflate(a->body, a->len, &out, &len) < 0)
        return 0; /* answered uncompressed */
    free(a->body);
    a->body = (char *)out;
    a->len = len;
    return 1;
}

enum MHD_Result ht_http__send(struct MHD_Connection *conn, answer *a)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    int deflated = 0;
    if (a->etag[0] && inm && etag_matches(inm, a->etag) && a->status == 200) {
        a->status = 304;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (a->stream && a->stream_free)
            a->stream_free(a->stream_cls);
    } else if (a->stream) {
        /* libmicrohttpd's reader takes ssize_t and the same two negative codes */
        _Static_assert(HT_HTTP_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM &&
                           HT_HTTP_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR,
                       "stream codes are libmicrohttpd's");
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256 * 1024,
                                                 (MHD_ContentReaderCallback)a->stream,
                                                 a->stream_cls, a->stream_free);
    } else if (a->body) {
        if ((deflated = a->status == 200 && deflate_body(conn, a)))
            ht_http__etag_extend(a, ";deflate"); /* another byte sequence, another strong ETag */
        resp = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
        a->body = NULL;
    } else {
        char *text =
            json_dumps(a->json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        resp =
            MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
                                            text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    }
    json_decref(a->json);
    free(a->body);
    if (!resp)
        return MHD_NO;
    if (a->status >= 300 && a->status != 304) { /* an error is never kept, nor tied to an ETag */
        a->etag[0] = '\0';
        a->caching = HT_CACHE_NONE;
    }
    if (a->type)
        MHD_add_response_header(resp, "Content-Type", a->type);
    if (a->etag[0])
        MHD_add_response_header(resp, "ETag", a->etag);
    if (a->compressible)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (deflated)
        MHD_add_response_header(resp, "Content-Encoding", "deflate");
    for (int i = 0; i < a->nheaders; i++)
        MHD_add_response_header(resp, a->headers[i].name, a->headers[i].value);
    if (a->cookie[0]) {
        MHD_add_response_header(resp, "Set-Cookie", a->cookie);
        explicit_bzero(a->cookie, sizeof(a->cookie));
    }
    if (a->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"hepatrack\"");
    static const char *const caching[] = {[HT_CACHE_NONE] = "no-store",
                                          [HT_CACHE_REVALIDATE] = "private, no-cache",
                                          [HT_CACHE_IMMUTABLE] =
                                              "private, max-age=31536000, immutable"};
    MHD_add_response_header(resp, "Cache-Control", caching[a->caching]);
    enum MHD_Result ret = MHD_queue_response(conn, a->status, resp);
    MHD_destroy_response(resp);
    return ret;
}
