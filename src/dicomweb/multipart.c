/*
 * multipart/related (RFC 2387 over RFC 2046's multipart syntax), written for WADO-RS answers
 * and read as it streams for STOW-RS requests. The reader never holds more than a part's
 * headers and a delimiter's worth of bytes: part data goes to the caller as it arrives.
 */
#define _GNU_SOURCE
#include "hepatrack/dicomweb.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 70
#define MAX_HEADERS (16 * 1024)

void ht_multipart_boundary(char *out)
{
    uint8_t bytes[16] = {0};
    char hex[33];
    (void)ht_random_bytes(bytes, sizeof(bytes)); /* uniqueness, not secrecy: zeros would do */
    ht_error_clear();
    ht_hex_encode(bytes, sizeof(bytes), hex);
    snprintf(out, 48, "hepatrack-%s", hex);
}

int ht_multipart_part_head(char *out,
                           size_t size,
                           const char *boundary,
                           int first,
                           const char *content_type,
                           const char *content_location)
{
    return snprintf(out, size, "%s--%s\r\nContent-Type: %s\r\n%s%s%s\r\n", first ? "" : "\r\n",
                    boundary, content_type, content_location ? "Content-Location: " : "",
                    content_location ? content_location : "", content_location ? "\r\n" : "");
}

int ht_multipart_close(char *out, size_t size, const char *boundary, int empty)
{
    return snprintf(out, size, "%s--%s--\r\n", empty ? "" : "\r\n", boundary);
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef enum state {
    PREAMBLE,  /* before the first delimiter: discarded */
    DELIMITED, /* after a delimiter: "--" closes, CRLF opens a part (padding allowed between) */
    HEADERS,
    BODY,
    EPILOGUE, /* after the close: discarded */
    FAILED
} state;

struct ht_multipart_reader {
    ht_multipart_events events;
    void *payload;
    char delimiter[MAX_BOUNDARY + 5]; /* CRLF "--" boundary */
    size_t dlen;
    state state;
    char pending[MAX_BOUNDARY + 5]; /* a delimiter's beginning, seen at the end of a chunk */
    size_t npending;
    char after[2]; /* DELIMITED: the two bytes after the delimiter */
    size_t nafter;
    char *headers;
    size_t nheaders;
};

/* RFC 2046 5.1.1: bchars, and no space at the end. */
static int boundary_ok(const char *b)
{
    static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "'()+_,-./:=? ";
    size_t n = strlen(b);
    return n >= 1 && n <= MAX_BOUNDARY && strspn(b, bchars) == n && b[n - 1] != ' ';
}

int ht_multipart_reader_new(const char *boundary,
                            const ht_multipart_events *events,
                            void *payload,
                            ht_multipart_reader **out)
{
    *out = NULL;
    if (!boundary || !boundary_ok(boundary))
        return ht_error_set(HT_EINVALID,
                            "the multipart boundary '%.80s' is not 1 to 70 of the "
                            "characters RFC 2046 allows",
                            boundary ? boundary : "");
    ht_multipart_reader *r = calloc(1, sizeof(*r));
    if (!r || !(r->headers = malloc(MAX_HEADERS))) {
        free(r);
        return ht_error_set(HT_ENOMEM, "out of memory reading a multipart body");
    }
    r->events = *events;
    r->payload = payload;
    r->dlen = (size_t)snprintf(r->delimiter, sizeof(r->delimiter), "\r\n--%s", boundary);
    /* The first delimiter may open the body without the CRLF before it: as if one came. */
    memcpy(r->pending, "\r\n", 2);
    r->npending = 2;
    *out = r;
    return HT_OK;
}

void ht_multipart_reader_free(ht_multipart_reader *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r);
}

static int fail(ht_multipart_reader *r, int err)
{
    r->state = FAILED;
    return err;
}

/* Bytes of a part's body (or of the preamble, which nobody hears). */
static int emit(ht_multipart_reader *r, const char *data, size_t len)
{
    if (r->state != BODY || !len)
        return HT_OK;
    int stop = r->events.part_data(r->payload, (const uint8_t *)data, len);
    return stop ? fail(r, stop) : HT_OK;
}

/* The headers are in: the part begins. */
static int begin_part(ht_multipart_reader *r)
{
    char type[256] = "";
    int has_type = 0;
    r->headers[r->nheaders] = '\0';
    for (char *save = NULL, *line = strtok_r(r->headers, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(line, ':');
        if (!colon)
            return fail(r, ht_error_set(HT_EINVALID, "a multipart header line has no colon"));
        *colon = '\0';
        if (!strcasecmp(line, "Content-Type")) {
            const char *v = colon + 1 + strspn(colon + 1, " \t");
            snprintf(type, sizeof(type), "%s", v);
            has_type = 1;
        }
    }
    r->state = BODY;
    int stop = r->events.part_begin(r->payload, has_type ? type : NULL);
    return stop ? fail(r, stop) : HT_OK;
}

/* A delimiter was found: the part before it ends (if any). */
static int delimiter_found(ht_multipart_reader *r)
{
    int was_body = r->state == BODY;
    r->state = DELIMITED;
    r->nafter = 0;
    if (was_body) {
        int stop = r->events.part_end(r->payload);
        if (stop)
            return fail(r, stop);
    }
    return HT_OK;
}

/*
 * Body (or preamble) bytes up to the next delimiter. A delimiter begins with CR and holds no
 * other CR (bchars have none), so bytes held back at a chunk's end are a delimiter's
 * beginning from their first byte, or not one at all. Returns the bytes used.
 */
static long scan_body(ht_multipart_reader *r, const char *d, size_t n)
{
    int err;
    if (r->npending) {
        size_t want = r->dlen - r->npending, have = n < want ? n : want;
        if (!memcmp(d, r->delimiter + r->npending, have)) {
            if (have < want) { /* still undecided */
                memcpy(r->pending + r->npending, d, have);
                r->npending += have;
                return (long)n;
            }
            r->npending = 0;
            return (err = delimiter_found(r)) < 0 ? err : (long)have;
        }
        size_t held = r->npending;
        r->npending = 0;
        if ((err = emit(r, r->pending, held)) < 0)
            return err;
    }
    const char *at = memmem(d, n, r->delimiter, r->dlen);
    if (at) {
        if ((err = emit(r, d, (size_t)(at - d))) < 0 || (err = delimiter_found(r)) < 0)
            return err;
        return (long)(at - d) + (long)r->dlen;
    }
    /* Hold back a tail that may begin a delimiter. */
    size_t keep = 0;
    for (size_t k = n > r->dlen - 1 ? n - (r->dlen - 1) : 0; k < n; k++)
        if (d[k] == '\r' && !memcmp(d + k, r->delimiter, n - k)) {
            keep = n - k;
            break;
        }
    if ((err = emit(r, d, n - keep)) < 0)
        return err;
    memcpy(r->pending, d + n - keep, keep);
    r->npending = keep;
    return (long)n;
}

/* After a delimiter: "--" closes the body; else transport padding, then CRLF. */
static long scan_delimited(ht_multipart_reader *r, const char *d, size_t n)
{
    size_t used = 0;
    while (used < n && r->nafter < 2) {
        char c = d[used++];
        if (r->nafter == 0 && (c == ' ' || c == '\t'))
            continue;
        r->after[r->nafter++] = c;
    }
    if (r->nafter < 2)
        return (long)used;
    if (!memcmp(r->after, "--", 2)) {
        r->state = EPILOGUE;
    } else if (!memcmp(r->after, "\r\n", 2)) {
        r->state = HEADERS;
        r->nheaders = 0;
    } else {
        return fail(r, ht_error_set(HT_EINVALID,
                                    "a multipart delimiter is followed by neither CRLF nor --"));
    }
    return (long)used;
}

/* Header lines up to the empty line; a part without headers starts with that line. */
static long scan_headers(ht_multipart_reader *r, const char *d, size_t n)
{
    for (size_t used = 0; used < n;) {
        if (r->nheaders + 1 >= MAX_HEADERS)
            return fail(r, ht_error_set(HT_EINVALID, "a multipart part's headers exceed %d KiB",
                                        MAX_HEADERS / 1024));
        r->headers[r->nheaders++] = d[used++];
        size_t h = r->nheaders;
        if ((h == 2 && !memcmp(r->headers, "\r\n", 2)) ||
            (h >= 4 && !memcmp(r->headers + h - 4, "\r\n\r\n", 4))) {
            int err = begin_part(r);
            return err < 0 ? err : (long)used;
        }
    }
    return (long)n;
}

int ht_multipart_feed(ht_multipart_reader *r, const uint8_t *data, size_t len)
{
    const char *d = (const char *)data;
    while (len > 0) {
        long used;
        switch (r->state) {
        case PREAMBLE:
        case BODY:
            used = scan_body(r, d, len);
            break;
        case DELIMITED:
            used = scan_delimited(r, d, len);
            break;
        case HEADERS:
            used = scan_headers(r, d, len);
            break;
        case EPILOGUE:
            return HT_OK;
        default:
            return ht_error_set(HT_EINVALID, "the multipart body was refused already");
        }
        if (used < 0)
            return (int)used;
        d += used;
        len -= (size_t)used;
    }
    return HT_OK;
}

int ht_multipart_finish(ht_multipart_reader *r)
{
    if (r->state == EPILOGUE)
        return HT_OK;
    if (r->state == FAILED)
        return ht_error_set(HT_EINVALID, "the multipart body was refused");
    return ht_error_set(HT_EINVALID, r->state == PREAMBLE
                                         ? "the body holds no multipart delimiter (--boundary)"
                                         : "the multipart body ends before its close delimiter");
}
