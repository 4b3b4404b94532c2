/*
 * WADO-RS frames and bulk data (PS3.18 10.4.1.1.5, 8.7.3): frames as stored ("transfer-syntax=*"
 * or the stored syntax asked for), or decoded to little-endian samples (Explicit VR Little
 * Endian, the default); an attribute's bulk data, Pixel Data as its frames when encapsulated.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicom.h"
#include "hepatrack/dicomweb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLICIT_LE "1.2.840.10008.1.2.1"
#define MAX_FRAMES_ASKED 4096

/* The media type of a frame in a transfer syntax (PS3.18 Table 8.7.3-2). */
static const char *frame_media_type(const char *ts)
{
    static const struct {
        const char *ts, *type;
    } types[] = {
        {"1.2.840.10008.1.2.4.50", "image/jpeg"},  {"1.2.840.10008.1.2.4.51", "image/jpeg"},
        {"1.2.840.10008.1.2.4.57", "image/jpeg"},  {"1.2.840.10008.1.2.4.70", "image/jpeg"},
        {"1.2.840.10008.1.2.4.80", "image/jls"},   {"1.2.840.10008.1.2.4.81", "image/jls"},
        {"1.2.840.10008.1.2.4.90", "image/jp2"},   {"1.2.840.10008.1.2.4.91", "image/jp2"},
        {"1.2.840.10008.1.2.4.92", "image/jpx"},   {"1.2.840.10008.1.2.4.93", "image/jpx"},
        {"1.2.840.10008.1.2.4.201", "image/jphc"}, {"1.2.840.10008.1.2.4.202", "image/jphc"},
        {"1.2.840.10008.1.2.4.203", "image/jphc"},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(ts, types[i].ts))
            return types[i].type;
    return "application/octet-stream";
}

/* Native syntaxes: their frames, as this server gives them, are little-endian samples. */
static int is_native(const char *ts)
{
    return !strcmp(ts, "1.2.840.10008.1.2") || !strcmp(ts, EXPLICIT_LE) ||
           !strcmp(ts, "1.2.840.10008.1.2.2") || !strcmp(ts, "1.2.840.10008.1.2.1.99");
}

/* The instance's frames as stored (1), decoded (0), or neither acceptable (-1). */
static int choose_encoding(const request *r, const char *stored_ts)
{
    ht_media_range ranges[16];
    size_t n = ht_accept_parse(ht_http__header(r, "Accept"), ranges, 16);
    const char *stored_type = frame_media_type(stored_ts);
    int decoded = 0;
    for (size_t i = 0; i < n; i++) {
        const ht_media_range *m = &ranges[i];
        const char *type = !strcmp(m->type, "multipart/related") ? m->part_type : m->type;
        if (m->q <= 0)
            continue;
        if (!strcmp(m->type, "*/*") || !strcmp(m->type, "multipart/*"))
            decoded = 1;
        if (!strcmp(m->transfer_syntax, "*") ||
            (m->transfer_syntax[0] && !strcmp(m->transfer_syntax, stored_ts)) ||
            (!m->transfer_syntax[0] && *type && strcmp(type, "application/octet-stream") &&
             !strcmp(type, stored_type)))
            return 1;
        if ((!*type || !strcmp(type, "application/octet-stream")) &&
            (!m->transfer_syntax[0] || !strcmp(m->transfer_syntax, EXPLICIT_LE)))
            decoded = 1;
    }
    return decoded ? 0 : -1;
}

typedef struct frames {
    ht_archive *archive;
    ht_instance_location loc;
    int direct; /* frames read from the file as they are (loc.frame_bytes), nothing parsed */
    uint8_t *file;
    ht_dicom *dcm;
    uint32_t *numbers; /* from 1 */
    size_t n;
    int stored;
    char base[280]; /* Content-Location of the parts: base/N */
} frames;

/* What a frames answer holds, freed; the struct itself stays. */
static void frames_clear(frames *f)
{
    ht_dicom_free(f->dcm);
    free(f->file);
    free(f->numbers);
}

static void frames_free(void *cls)
{
    frames_clear(cls);
    free(cls);
}

/* 1-bit samples, one per byte after decoding, packed again as DICOM keeps them (PS3.5 8.1.1). */
static void pack_bits(const uint8_t *in, size_t n, uint8_t *out)
{
    memset(out, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++)
        if (in[i])
            out[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int decoded_frame(const frames *f, uint32_t index, ht_part *out)
{
    ht_frame *frame;
    int err = ht_dicom_frame_decode(f->dcm, index, &frame);
    if (err < 0)
        return err;
    if (ht_dicom_get_info(f->dcm)->bits_allocated == 1) {
        size_t n = (size_t)frame->rows * frame->columns;
        if (!(out->data = malloc((n + 7) / 8 + 1))) {
            ht_frame_free(frame);
            return ht_error_set(HT_ENOMEM, "out of memory");
        }
        pack_bits(frame->samples, n, out->data);
        out->len = (n + 7) / 8;
    } else {
        out->data = frame->samples; /* the frame's buffer changes hands */
        out->len = frame->size;
        frame->samples = NULL;
    }
    ht_frame_free(frame);
    snprintf(out->type, sizeof(out->type), "application/octet-stream; transfer-syntax=%s",
             EXPLICIT_LE);
    return HT_OK;
}

static int frame_part(void *cls, size_t i, ht_part *out)
{
    frames *f = cls;
    uint32_t index = f->numbers[i] - 1;
    snprintf(out->location, sizeof(out->location), "%s/%u", f->base, f->numbers[i]);
    if (f->direct) {
        snprintf(out->type, sizeof(out->type), "application/octet-stream; transfer-syntax=%s",
                 EXPLICIT_LE);
        out->len = (size_t)f->loc.frame_bytes;
        if (!(out->data = malloc(out->len ? out->len : 1)))
            return ht_error_set(HT_ENOMEM, "out of memory");
        return ht_archive_read_range(f->archive, f->loc.archive_path,
                                     f->loc.pixel_offset + (uint64_t)index * f->loc.frame_bytes,
                                     out->len, out->data);
    }
    const char *ts = ht_dicom_get_info(f->dcm)->transfer_syntax_uid;
    if (!f->stored)
        return decoded_frame(f, index, out);
    snprintf(out->type, sizeof(out->type), "%s; transfer-syntax=%s", frame_media_type(ts),
             is_native(ts) ? EXPLICIT_LE : ts);
    return ht_dicom_frame_stored(f->dcm, index, &out->data, &out->len);
}

/* "1,3,5": the frame numbers, each within the instance's frames. */
static int parse_frame_list(answer *a, const char *text, uint32_t count, frames *f)
{
    if (!(f->numbers = calloc(MAX_FRAMES_ASKED, sizeof(uint32_t))))
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    for (const char *p = text;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 1 || f->n == MAX_FRAMES_ASKED)
            return ht_http__fail(a, HT_EINVALID, "frames",
                                 "frames are numbers from 1, separated by commas, at most %d "
                                 "(got '%s')",
                                 MAX_FRAMES_ASKED, text);
        if ((uint64_t)v > count)
            return ht_http__fail(a, HT_ENOTFOUND, "frames",
                                 "frame %ld asked for: the instance has %u", v, count);
        f->numbers[f->n++] = (uint32_t)v;
        if (!*end)
            return HT_OK;
        p = end + 1;
    }
}

/* The one instance a path names: located, and its ETag. */
static int locate_instance(request *r, answer *a, frames *f)
{
    ht_instance_refs refs;
    int err = ht_http__scope(r, a, &refs);
    if (err < 0)
        return err;
    snprintf(f->base, sizeof(f->base), "/dicom-web/studies/%s/series/%s/instances/%s/frames",
             refs.items[0].study, refs.items[0].series, refs.items[0].sop);
    f->loc = refs.items[0].location;
    f->archive = r->http->archive;
    snprintf(a->etag, sizeof(a->etag), "\"%s\"", f->loc.sha256);
    free(refs.items);
    return HT_OK;
}

/* Read and parse the located instance's file. */
static int open_file(answer *a, frames *f)
{
    size_t len;
    int err = ht_archive_read(f->archive, f->loc.archive_path, &f->file, &len);
    if (err == HT_OK)
        err = ht_dicom_open_memory(&f->dcm, f->file, len);
    return err < 0 ? ht_http__fail_last(a, err) : HT_OK;
}

static int open_instance(request *r, answer *a, frames *f)
{
    int err = locate_instance(r, a, f);
    return err < 0 ? err : open_file(a, f);
}

/* One frame read from the file straight into the multipart body around it. */
static int one_direct_frame(answer *a, frames *f)
{
    char boundary[48], head[600], close[80], type[100];
    ht_multipart_boundary(boundary);
    snprintf(type, sizeof(type), "application/octet-stream; transfer-syntax=%s", EXPLICIT_LE);
    char location[300];
    snprintf(location, sizeof(location), "%s/%u", f->base, f->numbers[0]);
    size_t nhead = (size_t)ht_multipart_part_head(head, sizeof(head), boundary, 1, type, location);
    size_t nclose = (size_t)ht_multipart_close(close, sizeof(close), boundary, 0);
    size_t frame = (size_t)f->loc.frame_bytes;
    char *body = malloc(nhead + frame + nclose);
    if (!body) {
        frames_free(f);
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    }
    memcpy(body, head, nhead);
    memcpy(body + nhead + frame, close, nclose);
    int err = ht_archive_read_range(f->archive, f->loc.archive_path,
                                    f->loc.pixel_offset + (uint64_t)(f->numbers[0] - 1) * frame,
                                    frame, (uint8_t *)body + nhead);
    frames_free(f);
    if (err < 0) {
        free(body);
        return ht_http__fail_last(a, err);
    }
    ht_http__add_header(a, "Content-Type",
                        "multipart/related; type=\"application/octet-stream\"; boundary=%s",
                        boundary);
    a->type = NULL;
    a->body = body;
    a->len = nhead + frame + nclose;
    return HT_OK;
}

/* GET /dicom-web/studies/{s}/series/{se}/instances/{i}/frames/{list}. Uncompressed frames
 * whose place in the file the index knows are read from it as they are; others are parsed. */
int ht_http__wado_frames(request *r, answer *a)
{
    frames *f = calloc(1, sizeof(*f));
    int err;
    if (!f)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    if ((err = locate_instance(r, a, f)) < 0)
        goto fail;
    if (!f->loc.frames) {
        err = ht_http__fail(a, HT_ENOTFOUND, NULL, "instance %s has no Pixel Data", r->parts[5]);
        goto fail;
    }
    if ((err = parse_frame_list(a, r->parts[7], f->loc.frames, f)) < 0)
        goto fail;
    f->stored = choose_encoding(r, f->loc.transfer_syntax);
    f->direct = f->loc.frame_bytes && (f->stored == 1 || (!f->stored && f->loc.pixels_as_decoded));
    if (f->stored >= 0 && !f->direct && (err = open_file(a, f)) < 0)
        goto fail;
    if (f->stored < 0) {
        err = ht_http__not_acceptable(r, a,
                                      "multipart/related; type=\"application/octet-stream\" "
                                      "with transfer-syntax=* (as stored) or 1.2.840.10008.1.2.1 "
                                      "(decoded)");
        goto fail;
    }
    if (strlen(r->parts[7]) < 64) { /* a longer list would not fit the ETag whole */
        a->caching = HT_CACHE_IMMUTABLE;
        ht_http__etag_extend(a, "/frames/%s/%s", r->parts[7], f->stored ? "stored" : "decoded");
    } else {
        a->etag[0] = '\0';
    }
    if (ht_http__unchanged(r, a)) {
        frames_free(f);
        return HT_OK;
    }
    if (f->direct && f->n == 1) /* the viewer's usual request: one frame, read into its answer */
        return one_direct_frame(a, f);
    size_t known = f->direct ? f->n * (size_t)f->loc.frame_bytes : 0;
    return ht_http__multipart_sized(
        a, f->stored ? frame_media_type(f->loc.transfer_syntax) : "application/octet-stream", f->n,
        frame_part, f, frames_free, known);
fail:
    a->etag[0] = '\0';
    frames_free(f);
    return err;
}

/* ---- bulk data ------------------------------------------------------------------------------ */

typedef struct bulk {
    frames frames; /* Pixel Data of an encapsulated syntax: its frames */
    ht_dicom_attribute attr;
} bulk;

static int bulk_part(void *cls, size_t i, ht_part *out)
{
    bulk *b = cls;
    if (b->frames.n)
        return frame_part(&b->frames, i, out);
    snprintf(out->type, sizeof(out->type), "application/octet-stream");
    return ht_dicom_element_bytes(b->frames.dcm, b->attr.group, b->attr.element, &out->data,
                                  &out->len);
}

static void bulk_free(void *cls)
{
    bulk *b = cls;
    frames_clear(&b->frames);
    free(b);
}

/* Bulk data of the attribute `tag` of the opened instance b->frames. */
static int answer_bulk(request *r, answer *a, bulk *b, const char *tag)
{
    const ht_dicom_info *info = ht_dicom_get_info(b->frames.dcm);
    int known = ht_dicom_attribute_lookup(tag, &b->attr);
    ht_error_clear();
    if (known == HT_ENOMEM || strlen(tag) != 8 || !b->attr.keyword[0])
        return ht_http__fail(a, HT_EINVALID, "tag", "'%s' is not a tag (8 hex digits)", tag);
    uint8_t *probe = NULL;
    size_t len = 0;
    int pixels = b->attr.group == 0x7FE0 && b->attr.element == 0x0010;
    if (pixels && info->has_pixel_data && !is_native(info->transfer_syntax_uid)) {
        b->frames.stored = 1;
        b->frames.numbers = malloc(sizeof(uint32_t) * (info->number_of_frames + 1));
        if (!b->frames.numbers)
            return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
        for (uint32_t k = 0; k < info->number_of_frames; k++)
            b->frames.numbers[b->frames.n++] = k + 1;
    } else {
        int err =
            ht_dicom_element_bytes(b->frames.dcm, b->attr.group, b->attr.element, &probe, &len);
        ht_free(probe);
        if (err < 0)
            return ht_http__fail_last(a, err);
    }
    (void)r;
    a->caching = HT_CACHE_IMMUTABLE;
    return HT_OK;
}

static int bulk_answer(request *r, answer *a, bulk *b, const char *tag)
{
    int err = answer_bulk(r, a, b, tag);
    if (err < 0) {
        a->etag[0] = '\0';
        bulk_free(b);
        return err;
    }
    ht_http__etag_extend(a, "/bulk/%s", tag);
    if (ht_http__unchanged(r, a)) {
        bulk_free(b);
        return HT_OK;
    }
    return ht_http__multipart(
        a,
        b->frames.n ? frame_media_type(ht_dicom_get_info(b->frames.dcm)->transfer_syntax_uid)
                    : "application/octet-stream",
        b->frames.n ? b->frames.n : 1, bulk_part, b, bulk_free);
}

/* GET /dicom-web/studies/{s}/series/{se}/instances/{i}/bulkdata/{tag} */
int ht_http__wado_bulkdata(request *r, answer *a)
{
    bulk *b = calloc(1, sizeof(*b));
    if (!b)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    int err = open_instance(r, a, &b->frames);
    if (err < 0) {
        bulk_free(b);
        return err;
    }
    return bulk_answer(r, a, b, r->parts[7]);
}

/* GET /api/instances/{uid}/bulkdata/{tag}: the same, named by SOP Instance UID alone. */
int ht_http__instance_bulkdata(request *r, answer *a)
{
    bulk *b = calloc(1, sizeof(*b));
    ht_instance_location loc;
    size_t len;
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!b || !s) {
        free(b);
        return b ? HT_EDB : ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    }
    snprintf(b->frames.base, sizeof(b->frames.base), "/api/instances/%s/frames", r->parts[1]);
    if ((err = ht_store_locate(s, r->parts[1], &loc)) < 0 ||
        (err = ht_archive_read(r->http->archive, loc.archive_path, &b->frames.file, &len)) < 0 ||
        (err = ht_dicom_open_memory(&b->frames.dcm, b->frames.file, len)) < 0) {
        bulk_free(b);
        return ht_http__fail_last(a, err);
    }
    snprintf(a->etag, sizeof(a->etag), "\"%s\"", loc.sha256);
    return bulk_answer(r, a, b, r->parts[3]);
}
