/*
 * An instance and its frames: the dataset as DICOM JSON, the Part 10 file, a frame's samples
 * (/pixels) and a frame rendered as PNG. An instance never changes, so each representation has
 * a strong ETag (the dataset's SHA-256 and the parameters) and is cached for a year; a client
 * that has it gets a 304 before anything is read or decoded.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicom.h"
#include "hepatrack/log.h"
#include "hepatrack/render.h"
#include "hepatrack/seg_volume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Locate the instance the path names and give the answer its ETag. */
static int locate(request *r, answer *a, ht_instance_location *loc)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    if ((err = ht_store_locate(s, r->parts[1], loc)) < 0)
        return ht_http__fail_last(a, err);
    snprintf(a->etag, sizeof(a->etag), "\"%s\"", loc->sha256);
    a->caching = HT_CACHE_IMMUTABLE;
    return HT_OK;
}

/* A decoded frame with what its headers need; everything owned, freed by frame_release. */
typedef struct loaded_frame {
    uint8_t *file;
    ht_dicom *dcm;
    ht_frame *frame;
    int has_window;
    ht_window window; /* the file's own first Window Center/Width */
} loaded_frame;

static void frame_release(loaded_frame *lf)
{
    ht_frame_free(lf->frame);
    ht_dicom_free(lf->dcm);
    free(lf->file);
}

/* The frame number the path names (parts[3], from 1), or a 400. */
static int frame_number(const request *r, answer *a, uint32_t *n)
{
    long v;
    int err = ht_http__uint_arg(a, "frame", r->parts[3], 1L << 30, &v);
    *n = (uint32_t)v;
    return err < 0  ? err
           : v == 0 ? ht_http__fail(a, HT_EINVALID, "frame", "frames count from 1")
                    : HT_OK;
}

/* Read frame n (from 1) of the located instance. */
static int
load_frame(request *r, answer *a, const ht_instance_location *loc, uint32_t n, loaded_frame *lf)
{
    size_t len;
    int err;
    memset(lf, 0, sizeof(*lf));
    if ((err = ht_archive_read(r->http->archive, loc->archive_path, &lf->file, &len)) < 0 ||
        (err = ht_dicom_open_memory(&lf->dcm, lf->file, len)) < 0 ||
        (err = ht_dicom_frame_decode(lf->dcm, n - 1, &lf->frame)) < 0) {
        frame_release(lf);
        return ht_http__fail_last(a, err);
    }
    lf->has_window = ht_render_file_window(lf->dcm, &lf->window);
    return HT_OK;
}

/* A segmentation's answer also lists its segments, read with dcmseg (the index does not keep
 * them): "Segments" or "SegmentsNotRead", keys that are not tags, which DICOM JSON readers
 * pass over. */
static int add_segments(const uint8_t *file, size_t len, char **text)
{
    ht_seg *seg = NULL;
    json_t *obj = NULL, *more = NULL;
    int err = ht_seg_read(file, len, &seg);
    if (err == HT_OK && (!(obj = json_loads(*text, 0, NULL)) || !(more = ht_seg_volume_json(seg)) ||
                         json_object_update(obj, more) != 0))
        err = ht_error_set(HT_ENOMEM, "out of memory describing a segmentation");
    char *out = err == HT_OK ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (err == HT_OK && !out)
        err = ht_error_set(HT_ENOMEM, "out of memory describing a segmentation");
    if (out) {
        free(*text);
        *text = out;
    }
    json_decref(more);
    json_decref(obj);
    ht_seg_free(seg);
    return err;
}

/* GET /api/instances/{uid}: the dataset as DICOM JSON (PS3.18 F.2). */
int ht_http__instance_json(request *r, answer *a)
{
    ht_instance_location loc;
    uint8_t *file;
    size_t len;
    ht_dicom *dcm = NULL;
    char uri[256], *text = NULL;
    int err;
    if ((err = locate(r, a, &loc)) < 0)
        return err;
    a->compressible = 1;
    ht_http__etag_extend(a, "/json+segments"); /* not "/json": SEG answers gained Segments */
    if (ht_http__unchanged(r, a))
        return HT_OK;
    if ((err = ht_archive_read(r->http->archive, loc.archive_path, &file, &len)) < 0)
        return ht_http__fail_last(a, err);
    snprintf(uri, sizeof(uri), "/api/instances/%s/bulkdata", r->parts[1]);
    if ((err = ht_dicom_open_memory(&dcm, file, len)) == HT_OK)
        err = ht_dicom_to_json(dcm, uri, HT_BULK_THRESHOLD, &text);
    if (err == HT_OK && ht_seg_is_segmentation(ht_dicom_get_info(dcm)->sop_class_uid))
        err = add_segments(file, len, &text);
    ht_dicom_free(dcm);
    free(file);
    if (err < 0) {
        ht_free(text);
        return ht_http__fail_last(a, err);
    }
    a->body = text;
    a->len = strlen(text);
    a->type = "application/dicom+json";
    return HT_OK;
}

/* GET /api/instances/{uid}/file: the Part 10 file as stored. */
int ht_http__instance_file(request *r, answer *a)
{
    ht_instance_location loc;
    uint8_t *data;
    size_t len;
    int err;
    if ((err = locate(r, a, &loc)) < 0 || ht_http__unchanged(r, a))
        return err;
    if ((err = ht_archive_read(r->http->archive, loc.archive_path, &data, &len)) < 0)
        return ht_http__fail_last(a, err);
    a->body = (char *)data;
    a->len = len;
    a->type = "application/dicom";
    return HT_OK;
}

/* GET .../frames/{n}/rendered?window=|wc=&ww=&size= (window=full: the frame's whole range) */
int ht_http__frame_rendered(request *r, answer *a)
{
    const char *preset = ht_http__arg(r, "window"), *wc = ht_http__arg(r, "wc"),
               *ww = ht_http__arg(r, "ww");
    ht_instance_location loc;
    ht_window w = {0, 0};
    long size;
    uint32_t n;
    int err;
    if ((err = locate(r, a, &loc)) < 0 || (err = frame_number(r, a, &n)) < 0)
        return err;
    if ((wc || ww) && preset)
        return ht_http__fail(a, HT_EINVALID, "window", "give either window or wc and ww, not both");
    if (!wc != !ww)
        return ht_http__fail(a, HT_EINVALID, wc ? "ww" : "wc", "wc and ww go together");
    if ((err = ht_http__real_arg(a, "wc", wc, &w.center)) < 0 ||
        (err = ht_http__real_arg(a, "ww", ww, &w.width)) < 0 ||
        (err = ht_http__uint_arg(a, "size", ht_http__arg(r, "size"), 4096, &size)) < 0)
        return err;
    if (ww && w.width < 1)
        return ht_http__fail(a, HT_EINVALID, "ww", "ww must be at least 1 (got '%s')", ww);
    int full = preset && !strcmp(preset, "full");
    if (preset && !full && ht_render_preset(preset, &w) < 0)
        return ht_http__fail(a, HT_EINVALID, "window", "%s, or full for the frame's whole range",
                             ht_error_last());
    ht_http__etag_extend(a, "/%s/%s/%s/%s/%ld", r->parts[3], preset ? preset : "", wc ? wc : "",
                         ww ? ww : "", size); /* the picture depends on the parameters */
    if (ht_http__unchanged(r, a))
        return HT_OK;
    ht_render_options o = {(preset && !full) || wc ? &w : NULL,
                           HT_VOI_LINEAR,
                           (uint32_t)size,
                           (uint32_t)size,
                           HT_IMAGE_PNG,
                           0};
    uint8_t *png;
    if ((err = ht_http__render_frame(r->http->archive, &loc, n, &o,
                                     full ? HT_HTTP_FULL_RANGE : HT_HTTP_FILE_WINDOW, &png,
                                     &a->len)) < 0)
        return ht_http__fail_last(a, err);
    a->body = (char *)png;
    a->type = "image/png";
    return HT_OK;
}

/* The X- headers that describe /pixels samples. */
static void describe_samples(answer *a, const loaded_frame *lf)
{
    const ht_frame *f = lf->frame;
    const ht_dicom_info *info = ht_dicom_get_info(lf->dcm);
    static const char *const formats[] = {"uint8",  "int8",  "uint16", "int16",
                                          "uint32", "int32", "rgb8"};
    int rgb = f->format == HT_SAMPLE_RGB8;
    ht_http__add_header(a, "X-Rows", "%u", f->rows);
    ht_http__add_header(a, "X-Columns", "%u", f->columns);
    ht_http__add_header(a, "X-Sample-Format", "%s", formats[f->format]);
    ht_http__add_header(a, "X-Bits-Allocated", "%zu", rgb ? 8 : ht_sample_size(f->format) * 8);
    ht_http__add_header(a, "X-Bits-Stored", "%u", rgb ? 8u : f->bits_stored);
    ht_http__add_header(a, "X-Signed", "%d",
                        f->format == HT_SAMPLE_S8 || f->format == HT_SAMPLE_S16 ||
                            f->format == HT_SAMPLE_S32);
    ht_http__add_header(a, "X-Samples-Per-Pixel", "%d", rgb ? 3 : 1);
    ht_http__add_header(a, "X-Photometric-Interpretation", "%s",
                        rgb              ? "RGB"
                        : f->monochrome1 ? "MONOCHROME1"
                                         : "MONOCHROME2");
    ht_http__add_header(a, "X-Rescale-Slope", "%.10g", f->rescale_slope);
    ht_http__add_header(a, "X-Rescale-Intercept", "%.10g", f->rescale_intercept);
    if (info->has_pixel_spacing)
        ht_http__add_header(a, "X-Pixel-Spacing", "%.10g\\%.10g", info->pixel_spacing[0],
                            info->pixel_spacing[1]);
    if (lf->has_window) {
        ht_http__add_header(a, "X-Window-Center", "%.10g", lf->window.center);
        ht_http__add_header(a, "X-Window-Width", "%.10g", lf->window.width);
    }
}

/* GET .../frames/{n}/pixels: the samples, little-endian, described in X- headers. */
int ht_http__frame_pixels(request *r, answer *a)
{
    ht_instance_location loc;
    uint32_t n;
    loaded_frame lf;
    int err;
    if ((err = locate(r, a, &loc)) < 0 || (err = frame_number(r, a, &n)) < 0)
        return err;
    a->compressible = 1;
    ht_http__etag_extend(a, "/%s/pixels", r->parts[3]);
    if (ht_http__unchanged(r, a))
        return HT_OK;
    if ((err = load_frame(r, a, &loc, n, &lf)) < 0)
        return err;
    describe_samples(a, &lf);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "/pixels answers host-order samples; add a byte swap for big-endian hosts"
#endif
    a->body = lf.frame->samples; /* the frame's buffer changes hands */
    a->len = lf.frame->size;
    lf.frame->samples = NULL;
    frame_release(&lf);
    a->type = "application/octet-stream";
    return HT_OK;
}

/* ---- a series' thumbnail ------------------------------------------------------------------ */

/* Where a rendered thumbnail is kept: named by what it shows, so it is never stale. */
static char *thumbnail_path(const request *r, const ht_series_keyframe *k, long size)
{
    return ht_strprintf("%s/cache/thumbnails/%s-%u-%ld.png", r->http->data_dir, k->location.sha256,
                        k->frame, size);
}

/* Render the key frame in the file's own window (else its full range) and keep it. A cache
 * that cannot be written costs only the next request's rendering. */
static int
render_thumbnail(request *r, answer *a, const ht_series_keyframe *k, long size, const char *path)
{
    ht_render_options o = {NULL, HT_VOI_LINEAR, (uint32_t)size, (uint32_t)size, HT_IMAGE_PNG, 0};
    uint8_t *png;
    int err = ht_http__render_frame(r->http->archive, &k->location, k->frame, &o,
                                    HT_HTTP_FILE_WINDOW, &png, &a->len);
    if (err < 0)
        return ht_http__fail_last(a, err);
    char *dir = ht_strprintf("%s/cache/thumbnails", r->http->data_dir);
    if (!dir || ht_mkdir_p(dir) < 0 || ht_file_replace(path, png, a->len) < 0)
        ht_log(HT_LOG_WARN, "thumbnail not cached: %s", ht_error_last());
    ht_error_clear();
    ht_free(dir);
    a->body = (char *)png;
    return HT_OK;
}

/* GET /api/series/{uid}/thumbnail?size=: the middle image, longest side `size` (16-512, 128
 * by default). A series may still grow, so its thumbnail is asked for again with its ETag. */
int ht_http__series_thumbnail(request *r, answer *a)
{
    ht_series_keyframe k;
    long size;
    int err;
    ht_store *s = ht_http__store(r, a);
    if (!s)
        return HT_EDB;
    if ((err = ht_http__uint_arg(a, "size", ht_http__arg(r, "size"), 512, &size)) < 0)
        return err;
    if (size == 0)
        size = HT_HTTP_THUMBNAIL_SIDE;
    if (size < 16)
        return ht_http__fail(a, HT_EINVALID, "size", "size is 16 to 512 pixels (got %ld)", size);
    if ((err = ht_store_series_keyframe(s, r->parts[1], &k)) < 0)
        return ht_http__fail_last(a, err);
    snprintf(a->etag, sizeof(a->etag), "\"%s/%u/thumbnail/%ld\"", k.location.sha256, k.frame, size);
    a->caching = HT_CACHE_REVALIDATE;
    a->type = "image/png";
    if (ht_http__unchanged(r, a))
        return HT_OK;
    char *path = thumbnail_path(r, &k, size);
    if (!path)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    uint8_t *cached;
    if (ht_file_read(path, 16u << 20, &cached, &a->len) == HT_OK)
        a->body = (char *)cached;
    else
        err = render_thumbnail(r, a, &k, size, path);
    ht_error_clear();
    ht_free(path);
    return err;
}
