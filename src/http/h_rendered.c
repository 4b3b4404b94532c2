/*
 * WADO-RS rendered and thumbnail resources (PS3.18 8.3.5, 10.4.1.1.3-4): pictures a consumer
 * shows as they are, JPEG (libjpeg-turbo) by default or PNG, with PS3.18's window (centre, width
 * and VOI LUT function), viewport and quality parameters. An instance renders its first frame; a
 * series or study renders each instance's, as multipart/related; a thumbnail is one picture (a
 * series' middle image, a study's first image series').
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicomweb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct rendering {
    ht_render_options options;
    ht_window window;
    int window_given;
    const char *type; /* "image/jpeg" or "image/png" */
    ht_archive *archive;
    ht_instance_refs refs; /* study and series rendering: one picture each */
} rendering;

/* window=center,width[,linear|linear-exact|sigmoid] */
static int parse_window(answer *a, const char *text, rendering *x)
{
    char fn[32] = "";
    int n = sscanf(text, "%lf,%lf,%31s", &x->window.center, &x->window.width, fn);
    static const char *const names[] = {"linear", "linear-exact", "sigmoid"};
    if (n < 2 || !(x->window.width >= 1))
        return ht_http__fail(a, HT_EINVALID, "window",
                             "window is center,width[,function] with width >= 1 (got '%s')", text);
    x->window_given = 1;
    x->options.window = &x->window;
    if (n < 3)
        return HT_OK;
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(fn, names[i])) {
            x->options.function = (ht_voi_function)i;
            return HT_OK;
        }
    return ht_http__fail(a, HT_EINVALID, "window",
                         "the VOI LUT function is linear, linear-exact or sigmoid (got '%s')", fn);
}

/* viewport=width,height (a source region is not supported) */
static int parse_viewport(answer *a, const char *text, rendering *x)
{
    unsigned w = 0, h = 0;
    char rest;
    if (sscanf(text, "%u,%u%c", &w, &h, &rest) != 2 || (!w && !h) || w > 4096 || h > 4096)
        return ht_http__fail(a, HT_EINVALID, "viewport",
                             "viewport is width,height in pixels, at most 4096 (got '%s'; a "
                             "source region is not supported)",
                             text);
    x->options.width = w;
    x->options.height = h;
    return HT_OK;
}

/* The picture's format from Accept: JPEG unless PNG is preferred; NULL when neither will do. */
static const char *picture_type(const request *r, int multipart)
{
    ht_media_range ranges[16];
    size_t n = ht_accept_parse(ht_http__header(r, "Accept"), ranges, 16);
    double best = 0;
    const char *chosen = NULL;
    for (size_t i = 0; i < n; i++) {
        const ht_media_range *m = &ranges[i];
        const char *type = m->type;
        if (!strcmp(type, "multipart/related") && multipart)
            type = m->part_type[0] ? m->part_type : "image/jpeg";
        const char *t = !strcmp(type, "image/png") ? "image/png"
                        : !strcmp(type, "image/jpeg") || !strcmp(type, "*/*") ||
                                !strcmp(type, "image/*") || !strcmp(type, "multipart/*")
                            ? "image/jpeg"
                            : NULL;
        if (t && m->q > best) {
            best = m->q;
            chosen = t;
        }
    }
    return chosen;
}

static int parse_params(request *r, answer *a, rendering *x, int thumbnail, int multipart)
{
    const char *window = ht_http__arg(r, "window"), *viewport = ht_http__arg(r, "viewport");
    const char *quality = ht_http__arg(r, "quality");
    long q = 0;
    int err;
    memset(x, 0, sizeof(*x));
    x->archive = r->http->archive;
    if (thumbnail)
        x->options.width = x->options.height = HT_HTTP_THUMBNAIL_SIDE;
    if ((window && (err = parse_window(a, window, x)) < 0) ||
        (viewport && (err = parse_viewport(a, viewport, x)) < 0) ||
        (err = ht_http__uint_arg(a, "quality", quality, 100, &q)) < 0)
        return err;
    if (quality && q == 0)
        return ht_http__fail(a, HT_EINVALID, "quality", "quality is 1 to 100 (got '%s')", quality);
    if (ht_http__arg(r, "annotation"))
        ht_http__add_header(a, "Warning", "299 hepatrack \"annotation is not supported: ignored\"");
    x->options.quality = (int)q;
    if (!(x->type = picture_type(r, multipart)))
        return ht_http__not_acceptable(r, a,
                                       multipart ? "multipart/related; type=\"image/jpeg\" or "
                                                   "\"image/png\""
                                                 : "image/jpeg or image/png");
    x->options.format = strcmp(x->type, "image/png") ? HT_IMAGE_JPEG : HT_IMAGE_PNG;
    return HT_OK;
}

int ht_http__render_frame(ht_archive *archive,
                          const ht_instance_location *loc,
                          uint32_t number,
                          const ht_render_options *options,
                          ht_http_window_default fallback,
                          uint8_t **out,
                          size_t *len)
{
    uint8_t *file = NULL;
    size_t flen;
    ht_dicom *dcm = NULL;
    ht_frame *frame = NULL;
    int err = ht_archive_read(archive, loc->archive_path, &file, &flen);
    if (err == HT_OK)
        err = ht_dicom_open_memory(&dcm, file, flen);
    if (err == HT_OK) {
        uint32_t frames = ht_dicom_get_info(dcm)->number_of_frames;
        uint32_t index = number ? number - 1 : (frames ? frames - 1 : 0) / 2;
        err = ht_dicom_frame_decode(dcm, index, &frame);
    }
    if (err == HT_OK) {
        ht_render_options o = *options;
        ht_window own;
        if (!o.window && fallback == HT_HTTP_FILE_WINDOW && ht_render_file_window(dcm, &own))
            o.window = &own;
        err = ht_render_image(frame, &o, out, len);
    }
    ht_frame_free(frame);
    ht_dicom_free(dcm);
    free(file);
    return err;
}

static int answer_picture(request *r,
                          answer *a,
                          const rendering *x,
                          const ht_instance_location *loc,
                          uint32_t number,
                          int cache)
{
    if (cache) { /* named by what was parsed, so that it always fits and never holds a quote */
        if (x->window_given)
            snprintf(a->etag, sizeof(a->etag), "\"%s/%u/%s/%.6g,%.6g,%d/%u,%u/%d\"", loc->sha256,
                     number, x->type + 6, x->window.center, x->window.width,
                     (int)x->options.function, x->options.width, x->options.height,
                     x->options.quality);
        else
            snprintf(a->etag, sizeof(a->etag), "\"%s/%u/%s/file/%u,%u/%d\"", loc->sha256, number,
                     x->type + 6, x->options.width, x->options.height, x->options.quality);
        a->caching = cache;
        if (ht_http__unchanged(r, a))
            return HT_OK;
    }
    uint8_t *picture;
    int err = ht_http__render_frame(x->archive, loc, number, &x->options, HT_HTTP_FILE_WINDOW,
                                    &picture, &a->len);
    if (err < 0) {
        a->etag[0] = '\0';
        return ht_http__fail_last(a, err);
    }
    a->body = (char *)picture;
    a->type = x->type;
    return HT_OK;
}

/* ---- instance and frame ------------------------------------------------------------------- */

static int one_instance(request *r, answer *a, int thumbnail)
{
    rendering x;
    ht_instance_refs refs;
    int frame_level = r->nparts > 8;
    long number = 1;
    int err = parse_params(r, a, &x, thumbnail, 0);
    if (err < 0 || (err = ht_http__scope(r, a, &refs)) < 0)
        return err;
    ht_instance_location loc = refs.items[0].location;
    free(refs.items);
    if (frame_level && (err = ht_http__uint_arg(a, "frames", r->parts[7], 1L << 30, &number)) < 0)
        return err;
    if (frame_level && number == 0)
        return ht_http__fail(a, HT_EINVALID, "frames", "frames count from 1");
    return answer_picture(r, a, &x, &loc, thumbnail && !frame_level ? 0 : (uint32_t)number,
                          HT_CACHE_IMMUTABLE);
}

int ht_http__rendered_instance(request *r, answer *a)
{
    return one_instance(r, a, 0);
}

int ht_http__thumbnail_instance(request *r, answer *a)
{
    return one_instance(r, a, 1);
}

/* ---- study and series --------------------------------------------------------------------- */

static void rendering_free(void *cls)
{
    rendering *x = cls;
    free(x->refs.items);
    free(x);
}

static int picture_part(void *cls, size_t i, ht_part *out)
{
    rendering *x = cls;
    const ht_instance_ref *ref = &x->refs.items[i];
    snprintf(out->type, sizeof(out->type), "%s", x->type);
    snprintf(out->location, sizeof(out->location),
             "/dicom-web/studies/%s/series/%s/instances/%s/rendered", ref->study, ref->series,
             ref->sop);
    return ht_http__render_frame(x->archive, &ref->location, 1, &x->options, HT_HTTP_FILE_WINDOW,
                                 &out->data, &out->len);
}

/* GET .../rendered of a study or series: each instance's first frame, as they are made. */
int ht_http__rendered_many(request *r, answer *a)
{
    rendering *x = malloc(sizeof(*x));
    int err;
    if (!x)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    if ((err = parse_params(r, a, x, 0, 1)) < 0 || (err = ht_http__scope(r, a, &x->refs)) < 0) {
        free(x);
        return err;
    }
    size_t kept = 0; /* reports, key objects, presentation states: nothing to draw */
    for (size_t i = 0; i < x->refs.n; i++)
        if (x->refs.items[i].location.frames)
            x->refs.items[kept++] = x->refs.items[i];
    x->refs.n = kept;
    return ht_http__multipart(a, x->type, x->refs.n, picture_part, x, rendering_free);
}

/* GET .../thumbnail of a study or series: the middle image of the series (of the study's first
 * series with images, by number). A series may still grow: revalidated, not kept for good. */
int ht_http__thumbnail_many(request *r, answer *a)
{
    rendering x;
    ht_instance_refs refs;
    ht_series_keyframe k;
    int err = parse_params(r, a, &x, 1, 0);
    if (err < 0 || (err = ht_http__scope(r, a, &refs)) < 0)
        return err;
    ht_store *s = ht_http__store(r, a);
    err = HT_ENOTFOUND;
    for (size_t i = 0; s && i < refs.n && err == HT_ENOTFOUND; i++)
        if (i == 0 || strcmp(refs.items[i].series, refs.items[i - 1].series))
            err = ht_store_series_keyframe(s, refs.items[i].series, &k); /* reports, SEG: none */
    free(refs.items);
    if (!s)
        return HT_EDB;
    if (err < 0)
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "%s has no image to make a thumbnail of",
                             r->path);
    return answer_picture(r, a, &x, &k.location, k.frame, HT_CACHE_REVALIDATE);
}
