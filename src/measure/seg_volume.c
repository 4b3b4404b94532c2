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

/* Read the stored instance and decode it as a SEG. */
static int read_stored(const ht_measure_source *src, const char *uid, ht_seg **out)
{
    ht_instance_location loc;
    uint8_t *data = NULL;
    size_t len = 0;
    int err;
    *out = NULL;
    if ((err = ht_store_locate(src->store, uid, &loc)) < 0 ||
        (err = ht_archive_read(src->archive, loc.archive_path, &data, &len)) < 0)
        return err;
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
