/*
 * Segmentations in the archive (include/hepatrack/seg_volume.h): a stored SEG described as JSON
 * for `show` and the HTTP API, and the liver volume it gives for the proposals of a time point's
 * liver_volume_ml. Here rather than in the file layer because it locates instances in the index
 * and reads them from the archive, as the caliper hook does, and speaks JSON, which the file
 * layer does not; here rather than in the ledger because the ledger's proposals only need a
 * number and the studies it belongs to.
 */
#include "hepatrack/seg_volume.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *code_json(const ht_seg_code *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "scheme", c->scheme, "value", c->value, "meaning",
                     c->meaning, "original_scheme", c->original_scheme, "original_value",
                     c->original_value);
}

/* The voxel centres' bounds, or null when the SEG gave no geometry or the segment is empty. */
static json_t *bounds_json(const ht_seg_segment *s)
{
    int any = 0;
    for (int k = 0; k < 6; k++)
        any |= s->bounds_lps[k] != 0;
    if (!any)
        return json_null();
    return json_pack("[f, f, f, f, f, f]", s->bounds_lps[0], s->bounds_lps[1], s->bounds_lps[2],
                     s->bounds_lps[3], s->bounds_lps[4], s->bounds_lps[5]);
}

static json_t *segment_json(const ht_seg *seg, const ht_seg_segment *s)
{
    return json_pack(
        "{s:i, s:s, s:s, s:o, s:o, s:i, s:f, s:o, s:f, s:s, s:o}", "number", (int)s->number,
        "label", s->label, "algorithm_type", s->algorithm_type, "category", code_json(&s->category),
        "type", code_json(&s->type), "frames", (int)s->frames, "voxels", s->voxels, "volume_ml",
        s->has_volume ? json_real(s->volume_ml) : json_null(), "slice_spacing_mm",
        seg->slice_spacing, "slice_spacing_source",
        ht_seg_spacing_source_name(seg->slice_spacing_source), "bounds_lps", bounds_json(s));
}

json_t *ht_seg_volume_json(const ht_seg *seg)
{
    if (!seg->read)
        return json_pack("{s:s}", "SegmentsNotRead", seg->not_read_reason);
    json_t *list = json_array();
    for (size_t i = 0; list && i < seg->n_segments; i++)
        if (json_array_append_new(list, segment_json(seg, &seg->segments[i])) != 0) {
            json_decref(list);
            return NULL;
        }
    return list ? json_pack("{s:o}", "Segments", list) : NULL;
}

/* A stored file's bytes. */
static int read_instance(const ht_measure_source *src, const char *uid, uint8_t **data, size_t *len)
{
    ht_instance_location loc;
    int err = ht_store_locate(src->store, uid, &loc);
    return err < 0 ? err : ht_archive_read(src->archive, loc.archive_path, data, len);
}

/* Read the stored instance and decode it as a SEG. */
static int read_stored(const ht_measure_source *src, const char *uid, ht_seg **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    int err = read_instance(src, uid, &data, &len);
    if (err == HT_OK)
        err = ht_seg_read(data, len, out);
    free(data);
    return err;
}

int ht_seg_volume_describe(const ht_measure_source *src, const char *sop_instance_uid, json_t *obj)
{
    ht_seg *seg = NULL;
    int err = read_stored(src, sop_instance_uid, &seg);
    if (err == HT_EINVALID) { /* not a segmentation: nothing to add */
        ht_error_clear();
        return HT_OK;
    }
    if (err < 0)
        return err;
    json_t *more = ht_seg_volume_json(seg);
    ht_seg_free(seg);
    if (!more || json_object_update(obj, more) != 0) {
        json_decref(more);
        return ht_error_set(HT_ENOMEM, "out of memory describing a segmentation");
    }
    json_decref(more);
    return HT_OK;
}

static char **copy_strings(char *const *from, size_t n)
{
    char **to = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; to && i < n; i++)
        if (!(to[i] = ht_strdup(from[i]))) {
            for (size_t j = 0; j < i; j++)
                free(to[j]);
            free(to);
            return NULL;
        }
    return to;
}

/* The one liver segment of a read SEG, or an error saying why there is none to use. */
static int find_liver(const ht_seg *seg, const char *uid, const ht_seg_segment **out)
{
    *out = NULL;
    for (size_t i = 0; i < seg->n_segments; i++) {
        if (!ht_seg_code_is_liver(&seg->segments[i].type))
            continue;
        if (*out)
            return ht_error_set(HT_EINVALID,
                                "segmentation %s has two liver segments (%u and %u): which one "
                                "is the liver's volume is not clear",
                                uid, (*out)->number, seg->segments[i].number);
        *out = &seg->segments[i];
    }
    if (!*out)
        return ht_error_set(HT_ENOTFOUND, "segmentation %s has no liver segment (SCT 10200004)",
                            uid);
    if (!(*out)->has_volume)
        return ht_error_set(
            HT_EINVALID, "segmentation %s gives no pixel or slice spacing: no liver volume", uid);
    return HT_OK;
}

static int fill_liver(const ht_seg *seg, const ht_seg_segment *s, ht_seg_liver *out)
{
    out->segment_number = s->number;
    out->voxels = s->voxels;
    out->volume_ml = s->volume_ml;
    out->slice_spacing_source = ht_seg_spacing_source_name(seg->slice_spacing_source);
    out->seg_study_uid = ht_strdup(seg->study_instance_uid);
    out->study_uids = copy_strings(seg->referenced_studies, seg->n_referenced_studies);
    out->n_study_uids = seg->n_referenced_studies;
    out->series_uids = copy_strings(seg->referenced_series, seg->n_referenced_series);
    out->n_series_uids = seg->n_referenced_series;
    if (!out->seg_study_uid || !out->study_uids || !out->series_uids)
        return ht_error_set(HT_ENOMEM, "out of memory");
    return HT_OK;
}

int ht_seg_liver_volume(const ht_measure_source *src,
                        const char *sop_instance_uid,
                        ht_seg_liver *out)
{
    const ht_seg_segment *liver;
    ht_seg *seg = NULL;
    memset(out, 0, sizeof(*out));
    int err = read_stored(src, sop_instance_uid, &seg);
    if (err == HT_OK && !seg->read)
        err = ht_error_set(HT_EUNSUPPORTED, "segmentation %s was not read: %s", sop_instance_uid,
                           seg->not_read_reason);
    if (err == HT_OK && (err = find_liver(seg, sop_instance_uid, &liver)) == HT_OK)
        err = fill_liver(seg, liver, out);
    ht_seg_free(seg);
    if (err < 0)
        ht_seg_liver_release(out);
    return err;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void ht_seg_liver_release(ht_seg_liver *liver)
{
    free(liver->seg_study_uid);
    free_strings(liver->study_uids, liver->n_study_uids);
    free_strings(liver->series_uids, liver->n_series_uids);
    memset(liver, 0, sizeof(*liver));
}

/* Where point p of an image lies in patient coordinates, and the image's Frame of Reference.
 * (0, 0) is the top-left pixel's outer corner, so its centre is (0.5, 0.5). */
static int
image_point(const uint8_t *data, size_t len, ht_point p, double lps[3], char frame_uid[65])
{
    ht_dicom *dcm = NULL;
    int err = ht_dicom_open_memory(&dcm, data, len);
    if (err < 0)
        return err;
    const ht_dicom_info *in = ht_dicom_get_info(dcm);
    if (!in->has_image_position || !in->has_image_orientation || !in->has_pixel_spacing) {
        ht_dicom_free(dcm);
        return ht_error_set(HT_EUNSUPPORTED,
                            "image %s has no Image Position, Orientation and Pixel Spacing at its "
                            "top level: the point cannot be placed",
                            in->sop_instance_uid);
    }
    double c = p.x - 0.5, r = p.y - 0.5;
    for (int k = 0; k < 3; k++)
        lps[k] = in->image_position[k] + in->image_orientation[k] * in->pixel_spacing[1] * c +
                 in->image_orientation[3 + k] * in->pixel_spacing[0] * r;
    snprintf(frame_uid, 65, "%s", in->frame_of_reference_uid);
    ht_dicom_free(dcm);
    return HT_OK;
}

static void fill_hit(const ht_seg *seg, uint16_t number, ht_seg_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    hit->number = number;
    for (size_t i = 0; i < seg->n_segments; i++) {
        const ht_seg_segment *s = &seg->segments[i];
        if (s->number != number)
            continue;
        snprintf(hit->label, sizeof(hit->label), "%s", s->label);
        hit->is_liver = ht_seg_code_is_liver(&s->type);
        hit->voxels = s->voxels;
        hit->has_volume = s->has_volume;
        hit->volume_ml = s->volume_ml;
    }
}

/* Look the point up in the SEG's bytes. */
static int segments_at(const char *seg_uid,
                       const uint8_t *data,
                       size_t len,
                       const double lps[3],
                       const char *frame_uid,
                       ht_seg_hit *hits,
                       size_t max,
                       size_t *n)
{
    ht_seg *seg = NULL;
    uint16_t numbers[256];
    size_t found = 0;
    int err = ht_seg_segments_at(data, len, lps, &seg, numbers, 256, &found);
    if (err == HT_OK && !seg->read)
        err = ht_error_set(HT_EUNSUPPORTED, "segmentation %s was not read: %s", seg_uid,
                           seg->not_read_reason);
    else if (err == HT_OK && seg->frame_of_reference_uid[0] &&
             strcmp(seg->frame_of_reference_uid, frame_uid) != 0)
        err = ht_error_set(HT_EINVALID,
                           "segmentation %s and the image lie in different Frames of Reference",
                           seg_uid);
    for (size_t i = 0; err == HT_OK && i < found && *n < max; i++)
        fill_hit(seg, numbers[i], &hits[(*n)++]);
    ht_seg_free(seg);
    return err;
}

int ht_seg_segments_under(const ht_measure_source *src,
                          const char *seg_uid,
                          const char *image_uid,
                          ht_point p,
                          ht_seg_hit *hits,
                          size_t max,
                          size_t *n)
{
    uint8_t *image = NULL, *data = NULL;
    size_t image_len = 0, len = 0;
    double lps[3];
    char frame_uid[65];
    *n = 0;
    int err = read_instance(src, image_uid, &image, &image_len);
    if (err == HT_OK)
        err = image_point(image, image_len, p, lps, frame_uid);
    free(image);
    if (err == HT_OK && (err = read_instance(src, seg_uid, &data, &len)) == HT_OK)
        err = segments_at(seg_uid, data, len, lps, frame_uid, hits, max, n);
    free(data);
    return err;
}
