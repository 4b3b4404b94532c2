/*
 * The ledger's import hook: each assessment of a subject with a "tool" or a "roi" gets its
 * lengths and mean density from the instance it was drawn on.
 */
#define _GNU_SOURCE
#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where in the document an error is, for its message. */
typedef struct where {
    const char *subject, *lesion, *timepoint;
} where;

static int fail(const where *w, int code, const char *fmt, ...) HT_PRINTF_(3, 4);

static int fail(const where *w, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return ht_error_set(code, "subject %s, lesion %s, time point %s: %s", w->subject, w->lesion,
                        w->timepoint, text);
}

/* The instance a caliper was drawn on, opened. */
typedef struct drawn_on {
    uint8_t *file;
    ht_dicom *dcm;
    double spacing[2];
    uint32_t rows, columns;
} drawn_on;

static void drawn_on_close(drawn_on *d)
{
    ht_dicom_free(d->dcm);
    ht_free(d->file);
}

/* A stored instance by SOP Instance UID, read and opened (*file backs *dcm). HT_ENOTFOUND
 * (no message) when the index has no such instance. */
static int
read_instance(ht_store *store, ht_archive *archive, const char *sop, uint8_t **file, ht_dicom **dcm)
{
    ht_instance_location loc;
    size_t len;
    int err = ht_store_locate(store, sop, &loc);
    *file = NULL;
    *dcm = NULL;
    if (err < 0 || (err = ht_archive_read(archive, loc.archive_path, file, &len)) < 0 ||
        (err = ht_dicom_open_memory(dcm, *file, len)) < 0) {
        ht_free(*file);
        *file = NULL;
        return err;
    }
    return HT_OK;
}

int ht_measure_open_image(const ht_measure_source *source,
                          const char *sop_uid,
                          uint32_t frame,
                          ht_measure_image *out)
{
    int err;
    memset(out, 0, sizeof(*out));
    err = read_instance(source->store, source->archive, sop_uid, &out->file, &out->dcm);
    if (err == HT_ENOTFOUND)
        return ht_error_set(HT_ENOTFOUND, "sop_uid '%s' is no stored instance", sop_uid);
    if (err == HT_OK &&
        (err = ht_dicom_frame_decode(out->dcm, frame ? frame - 1 : 0, &out->frame)) < 0)
        err = ht_error_set(err, "instance %s, frame %u: %s", sop_uid, frame, ht_error_last());
    if (err < 0) {
        ht_measure_image_close(out);
        return err;
    }
    const ht_dicom_info *info = ht_dicom_get_info(out->dcm);
    if (info->has_pixel_spacing) {
        out->spacing[0] = info->pixel_spacing[0];
        out->spacing[1] = info->pixel_spacing[1];
    }
    return HT_OK;
}

void ht_measure_image_close(ht_measure_image *image)
{
    ht_frame_free(image->frame);
    ht_dicom_free(image->dcm);
    ht_free(image->file);
    memset(image, 0, sizeof(*image));
}

static int
open_instance(ht_store *store, ht_archive *archive, const where *w, const char *sop, drawn_on *d)
{
    int err;
    memset(d, 0, sizeof(*d));
    err = read_instance(store, archive, sop, &d->file, &d->dcm);
    if (err == HT_ENOTFOUND)
        return fail(w, HT_ENOTFOUND, "sop_uid '%s' is no stored instance", sop);
    if (err < 0)
        return err;
    const ht_dicom_info *info = ht_dicom_get_info(d->dcm);
    if (!info->has_pixel_spacing || info->pixel_spacing[0] <= 0 || info->pixel_spacing[1] <= 0) {
        drawn_on_close(d);
        return fail(w, HT_EINVALID,
                    "instance %s has no Pixel Spacing (0028,0030): lengths in mm cannot be "
                    "computed from its pixels",
                    sop);
    }
    if (info->rows == 0 || info->columns == 0) {
        drawn_on_close(d);
        return fail(w, HT_EINVALID,
                    "instance %s has no Rows and Columns (0028,0010-0011): nothing can be drawn "
                    "on it",
                    sop);
    }
    d->rows = info->rows;
    d->columns = info->columns;
    d->spacing[0] = info->pixel_spacing[0];
    d->spacing[1] = info->pixel_spacing[1];
    return HT_OK;
}

/* points: exactly n [x, y] pairs of finite numbers. */
static int get_points(const where *w,
                      const json_t *list,
                      const char *name,
                      size_t n,
                      const drawn_on *d,
                      ht_point *out)
{
    if (!json_is_array(list) || json_array_size(list) != n)
        return fail(w, HT_EINVALID, "%s must be %zu [x, y] pairs here", name, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(list, i);
        const json_t *x = json_array_get(p, 0), *y = json_array_get(p, 1);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_number(x) ||
            !json_is_number(y) || !isfinite(json_number_value(x)) ||
            !isfinite(json_number_value(y)))
            return fail(w, HT_EINVALID, "%s[%zu] must be [x, y] in pixels", name, i);
        out[i] = (ht_point){json_number_value(x), json_number_value(y)};
        if (out[i].x < 0 || out[i].y < 0 || out[i].x > d->columns || out[i].y > d->rows)
            return fail(w, HT_EINVALID, "%s[%zu] (%g, %g) lies outside the %u x %u frame", name, i,
                        out[i].x, out[i].y, d->columns, d->rows);
    }
    return HT_OK;
}

/* Computed values are kept to 0.1, as the ledger stores them. */
static double to_tenth(double value)
{
    return round(value * 10.0) / 10.0;
}

/* Whether a value sent is the computed one (12 and 12.0 alike: a record read back and sent
 * again). */
static int same_tenth(const json_t *given, double tenth)
{
    return json_is_number(given) && fabs(json_number_value(given) - tenth) < 0.05;
}

/* Set a computed field. A value sent for it must be that one; any other is refused rather than
 * silently replaced. */
static int
set_computed(const where *w, json_t *a, const char *field, double value, const char *from)
{
    const json_t *given = json_object_get(a, field);
    double tenth = to_tenth(value);
    if (given && !json_is_null(given) && !same_tenth(given, tenth))
        return fail(w, HT_EINVALID, "%s is computed from the %s (%.1f); leave it out", field, from,
                    tenth);
    json_object_set_new(a, field, json_real(tenth));
    return HT_OK;
}

/* Whether an array sent holds the computed lengths, each as same_tenth takes it. */
static int same_tenths(const json_t *given, const json_t *lengths)
{
    size_t n = json_array_size(lengths);
    if (!json_is_array(given) || json_array_size(given) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!same_tenth(json_array_get(given, i), json_real_value(json_array_get(lengths, i))))
            return 0;
    return 1;
}

/* A split target: a length per fragment, from consecutive pairs of points. */
static int apply_fragments(const where *w, json_t *a, const drawn_on *d)
{
    const json_t *points = json_object_get(a, "points"),
                 *given = json_object_get(a, "fragments_mm");
    size_t n = json_array_size(points);
    ht_point p[64];
    int err;
    if (!json_is_array(points) || n < 4 || n > 64 || n % 2)
        return fail(w, HT_EINVALID,
                    "points of a split target must be 2 to 32 fragments, a pair of "
                    "[x, y] each");
    if ((err = get_points(w, points, "points", n, d, p)) < 0)
        return err;
    json_t *lengths = json_array();
    for (size_t i = 0; i < n; i += 2)
        json_array_append_new(
            lengths, json_real(to_tenth(ht_measure_distance_mm(d->spacing, p[i], p[i + 1]))));
    if (given && !json_is_null(given) && !same_tenths(given, lengths)) {
        json_decref(lengths);
        return fail(w, HT_EINVALID, "fragments_mm is computed from the points; leave it out");
    }
    json_object_set_new(a, "fragments_mm", lengths);
    return HT_OK;
}

static int apply_tool(const where *w, json_t *a, const char *tool, const drawn_on *d, int nodal)
{
    ht_point p[4];
    int err;
    if (!strcmp(tool, "length")) {
        if ((err = get_points(w, json_object_get(a, "points"), "points", 2, d, p)) < 0)
            return err;
        return set_computed(w, a, nodal ? "short_axis_mm" : "long_axis_mm",
                            ht_measure_distance_mm(d->spacing, p[0], p[1]), "points");
    }
    if (!strcmp(tool, "bidirectional")) {
        double l, s;
        if ((err = get_points(w, json_object_get(a, "points"), "points", 4, d, p)) < 0)
            return err;
        if (ht_measure_bidirectional(d->spacing, p, &l, &s) < 0)
            return fail(w, HT_EINVALID, "%s", ht_error_last());
        if ((err = set_computed(w, a, "long_axis_mm", l, "points")) < 0)
            return err;
        return set_computed(w, a, nodal ? "short_axis_mm" : "perpendicular_mm", s, "points");
    }
    if (!strcmp(tool, "fragments"))
        return apply_fragments(w, a, d);
    return fail(w, HT_EINVALID, "tool must be length, bidirectional or fragments (got '%s')", tool);
}

static int apply_roi(const where *w, json_t *a, const drawn_on *d, long frame)
{
    ht_point box[2];
    ht_frame *f = NULL;
    ht_roi_stats st;
    int err;
    if ((err = get_points(w, json_object_get(a, "roi"), "roi", 2, d, box)) < 0)
        return err;
    if ((err = ht_dicom_frame_decode(d->dcm, (uint32_t)(frame - 1), &f)) < 0)
        return fail(w, err, "frame %ld: %s", frame, ht_error_last());
    err = ht_measure_ellipse(f, d->spacing, box[0], box[1], &st);
    ht_frame_free(f);
    if (err < 0)
        return fail(w, err, "roi: %s", ht_error_last());
    return set_computed(w, a, "mean_hu", st.mean, "roi");
}

/* Whether a lesion is nodal: from the document's lesions, else from the stored subject (an
 * unknown lesion is the ledger's to report). */
static int is_nodal(const json_t *listed, const ht_ledger_stored *stored, const char *lesion)
{
    size_t i;
    const json_t *l;
    json_array_foreach(listed, i, l)
    {
        if (json_is_string(json_object_get(l, "id")) &&
            !strcmp(json_string_value(json_object_get(l, "id")), lesion))
            return json_is_true(json_object_get(l, "nodal"));
    }
    return ht_ledger_stored_nodal(stored, lesion) == 1;
}

/* Open the image a drawing names (sop_key, frame_key: "sop_uid" and "frame", or the roi's). */
static int open_drawn(const ht_measure_source *src,
                      const where *w,
                      const json_t *a,
                      const char *sop_key,
                      const char *frame_key,
                      const char *what,
                      drawn_on *d,
                      long *number)
{
    const char *sop = json_string_value(json_object_get(a, sop_key));
    const json_t *frame = json_object_get(a, frame_key);
    int err;
    if (!sop)
        return fail(w, HT_EINVALID, "%s (the instance drawn on) is needed with %s", sop_key, what);
    if (!json_is_integer(frame) || json_integer_value(frame) < 1)
        return fail(w, HT_EINVALID, "%s must be an integer >= 1 with a drawn measurement",
                    frame_key);
    if ((err = open_instance(src->store, src->archive, w, sop, d)) < 0)
        return err;
    *number = (long)json_integer_value(frame);
    if ((uint64_t)*number > ht_dicom_get_info(d->dcm)->number_of_frames) {
        drawn_on_close(d);
        return fail(w, HT_ENOTFOUND, "instance %s has no frame %ld", sop, *number);
    }
    return HT_OK;
}

static int resolve_assessment(const ht_measure_source *src,
                              const char *subject,
                              const json_t *listed,
                              const ht_ledger_stored *stored,
                              json_t *a)
{
    const json_t *tool = json_object_get(a, "tool"), *roi = json_object_get(a, "roi");
    const char *lesion = json_string_value(json_object_get(a, "lesion"));
    where w = {subject, lesion ? lesion : "?",
               json_is_string(json_object_get(a, "timepoint"))
                   ? json_string_value(json_object_get(a, "timepoint"))
                   : "?"};
    drawn_on d;
    long number;
    int err = HT_OK;
    if (tool && !json_is_null(tool)) {
        if (!json_is_string(tool))
            return fail(&w, HT_EINVALID, "tool must be length, bidirectional or fragments");
        if ((err = open_drawn(src, &w, a, "sop_uid", "frame", "a tool", &d, &number)) < 0)
            return err;
        err = apply_tool(&w, a, json_string_value(tool), &d,
                         lesion && is_nodal(listed, stored, lesion));
        drawn_on_close(&d);
    }
    if (err == HT_OK && roi && !json_is_null(roi)) {
        /* the ellipse's own image when given, else the assessment's */
        int own = json_object_get(a, "roi_sop_uid") != NULL;
        if ((err = open_drawn(src, &w, a, own ? "roi_sop_uid" : "sop_uid",
                              own ? "roi_frame" : "frame", "a roi", &d, &number)) < 0)
            return err;
        err = apply_roi(&w, a, &d, number);
        drawn_on_close(&d);
    }
    return err;
}

int ht_measure_complete(void *source, json_t *s, const ht_ledger_stored *stored)
{
    const char *subject = json_string_value(json_object_get(s, "subject"));
    const json_t *listed = json_object_get(s, "lesions");
    size_t i;
    json_t *a;
    int err = HT_OK;
    if (!json_is_object(s) || !subject)
        return HT_OK; /* the ledger names what is missing */
    json_array_foreach(json_object_get(s, "assessments"), i, a)
    {
        if (json_is_object(a) && (err = resolve_assessment(source, subject, listed, stored, a)) < 0)
            break;
    }
    return err;
}
