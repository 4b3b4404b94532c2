/*
 * hepatrack — segmentations in the archive: a stored SEG's segments described for `show` and
 * the HTTP API, and the liver volume a SEG gives, with the studies it references, for the
 * proposals that set a time point's liver_volume_ml (spec 7).
 *
 * Each call reads the SEG from the archive and decodes it with the file layer (seg.h): nothing
 * about segments is kept in the index, so a better reader later changes every answer at once.
 *
 * Ownership: JSON values returned are new references (json_decref); ht_seg_liver is released
 * with ht_seg_liver_release. Errors go through the error table with a message.
 */
#ifndef HEPATRACK_SEG_VOLUME_H
#define HEPATRACK_SEG_VOLUME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"
#include "hepatrack/measure.h"
#include "hepatrack/seg.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A read SEG as JSON: {"Segments": [{number, label, algorithm_type, category: {scheme, value,
 * meaning, original_scheme, original_value}, type: {...}, frames, voxels, volume_ml (null
 * without geometry), slice_spacing_mm, slice_spacing_source, bounds_lps}]}, or
 * {"SegmentsNotRead": reason}.
 * @return a new object, or NULL when out of memory.
 */
json_t *ht_seg_volume_json(const ht_seg *seg);

/**
 * Add "Segments" (or "SegmentsNotRead") to `obj` for the stored instance `sop_instance_uid`
 * when it is a segmentation; leave `obj` as it is for any other instance.
 * @return HT_OK (also when the SEG was not read: the reason is in obj); HT_ENOTFOUND (not
 *         indexed); HT_EIO (the file cannot be read); HT_EPARSE; HT_EDB; HT_ENOMEM.
 */
int ht_seg_volume_describe(const ht_measure_source *src, const char *sop_instance_uid, json_t *obj);

/** What a SEG says of the liver. */
typedef struct ht_seg_liver {
    uint16_t segment_number;
    double voxels;
    double volume_ml;
    const char *slice_spacing_source; /* static: ht_seg_spacing_source_name */
    char *seg_study_uid;              /* the SEG's own study */
    char **study_uids;                /* the studies it references: its own, then others */
    size_t n_study_uids;
    char **series_uids; /* the series it references (the images segmented) */
    size_t n_series_uids;
} ht_seg_liver;

/**
 * The liver's volume from a stored SEG (the one segment whose type is SCT 10200004, or SRT
 * T-62000), and the studies it references, so that the time point listing one of those studies
 * may be proposed that volume as its liver_volume_ml.
 * @param[out] out  filled on HT_OK (release with ht_seg_liver_release); zeroed otherwise.
 * @return HT_OK; HT_ENOTFOUND (no such instance, or no liver segment: the message says which);
 *         HT_EINVALID (not a segmentation; two liver segments; no volume because the SEG has no
 *         pixel or slice spacing); HT_EUNSUPPORTED (the SEG was not read: the reason);
 *         HT_EIO; HT_EPARSE; HT_EDB; HT_ENOMEM.
 */
int ht_seg_liver_volume(const ht_measure_source *src,
                        const char *sop_instance_uid,
                        ht_seg_liver *out);

/** Free what ht_seg_liver_volume filled. Accepts a zeroed struct. */
void ht_seg_liver_release(ht_seg_liver *liver);

/** A segment found under a point. */
typedef struct ht_seg_hit {
    uint16_t number;
    char label[65]; /* truncated */
    int is_liver;   /* its type is the liver */
    double voxels;
    int has_volume;
    double volume_ml;
} ht_seg_hit;

/**
 * The segments of a stored SEG that cover a point drawn on a stored image (the lesion a reader
 * measured): the point (pixel coordinates as ht_point has them, on frame 1 of a single-frame
 * image) is placed in patient coordinates from the image's Image Position, Orientation and
 * Pixel Spacing, and looked up in the SEG's frames (ht_seg_segments_at). The SEG and the image
 * must share a Frame of Reference; a SEG without one is compared as it is.
 * @param[out] hits  up to `max` segments, by number; *n how many.
 * @return HT_OK (also when none covers it); HT_ENOTFOUND (either instance not indexed);
 *         HT_EINVALID (seg_uid not a segmentation; another Frame of Reference);
 *         HT_EUNSUPPORTED (the SEG was not read; the image has no plane geometry at its top
 *         level, as multi-frame images do not); HT_EIO; HT_EPARSE; HT_EDB; HT_ENOMEM.
 */
int ht_seg_segments_under(const ht_measure_source *src,
                          const char *seg_uid,
                          const char *image_uid,
                          ht_point p,
                          ht_seg_hit *hits,
                          size_t max,
                          size_t *n);

#ifdef __cplusplus
}
#endif

#endif
