/*
 * hepatrack — measurements from points drawn on a frame: calipers in millimetres from Pixel
 * Spacing, and the mean density inside an ellipse from the stored pixels. The reading station
 * sends points; the lengths and densities stored in the ledger are computed here, never by the
 * browser.
 *
 * Points are [x, y] in the frame's pixel coordinates as DICOM SR SCOORD uses them (PS3.3
 * C.18.6.1.1): (0, 0) is the top-left corner of the top-left pixel, whose centre is (0.5, 0.5).
 * Pixel Spacing is (row spacing, column spacing): the distance in mm between the centres of
 * adjacent rows (y) and of adjacent columns (x).
 *
 * Ownership: nothing here hands out memory; ht_measure_complete changes the subject it is given.
 * Errors go through the error table with a message naming what was wrong.
 */
#ifndef HEPATRACK_MEASURE_H
#define HEPATRACK_MEASURE_H

#include "hepatrack/archive.h"
#include "hepatrack/dicom.h"
#include "hepatrack/error.h"
#include "hepatrack/ledger.h"
#include "hepatrack/store.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_point {
    double x, y;
} ht_point;

/** The length in mm of the segment a–b on a frame with the given Pixel Spacing. */
double ht_measure_distance_mm(const double spacing[2], ht_point a, ht_point b);

/**
 * A bidirectional caliper: p[0]–p[1] the long axis, p[2]–p[3] the perpendicular axis, which
 * must cross the long axis at right angles (within 3 degrees, in mm space) and be no longer.
 * @return HT_OK with both lengths; HT_EINVALID naming the broken rule.
 */
int ht_measure_bidirectional(const double spacing[2],
                             const ht_point p[4],
                             double *long_mm,
                             double *perpendicular_mm);

typedef struct ht_roi_stats {
    double mean;     /* modality units (HU for CT) */
    double sd;       /* population standard deviation */
    double area_mm2; /* pixels inside × pixel area */
    size_t pixels;   /* pixels whose centre lies inside */
} ht_roi_stats;

/**
 * The statistics of the pixels whose centres lie inside the ellipse inscribed in the
 * axis-aligned box with corners a and b, after the modality rescale.
 * @return HT_OK; HT_EINVALID for a colour frame, a box outside the frame or one that holds
 *         no pixel centre.
 */
int ht_measure_ellipse(
    const ht_frame *frame, const double spacing[2], ht_point a, ht_point b, ht_roi_stats *out);

/** Where drawn measurements' instances are found: the index and the archive (borrowed). */
typedef struct ht_measure_source {
    ht_store *store;
    ht_archive *archive;
} ht_measure_source;

/** The frame a measurement was drawn on, opened to be shown again (a report's key image). */
typedef struct ht_measure_image {
    uint8_t *file;     /* the Part 10 bytes dcm reads from */
    ht_dicom *dcm;     /* the instance (its window, its attributes) */
    ht_frame *frame;   /* the frame decoded */
    double spacing[2]; /* Pixel Spacing (row, column) in mm; 0, 0 when the file has none */
} ht_measure_image;

/**
 * Open the frame (from 1; 0 taken as 1) of a stored instance by SOP Instance UID: located in
 * the index, read from the archive, decoded.
 * @param out  filled on success; release with ht_measure_image_close.
 * @return HT_OK; HT_ENOTFOUND (no such instance or frame); HT_EIO, HT_EDB, HT_EPARSE,
 *         HT_EUNSUPPORTED (a frame the file layer cannot decode), HT_ENOMEM.
 */
int ht_measure_open_image(const ht_measure_source *source,
                          const char *sop_uid,
                          uint32_t frame,
                          ht_measure_image *out);

/** Release what ht_measure_open_image opened (a cleared image is fine). */
void ht_measure_image_close(ht_measure_image *image);

/**
 * The ledger's import hook (ht_ledger_complete_fn; source is an ht_measure_source): complete one
 * subject of a measurement-import document (docs/measurements.md) whose assessments carry a
 * "tool" ("length", "bidirectional" or "fragments") with "sop_uid", "frame" and "points", or a
 * "roi" (an ellipse's box). The lengths (long_axis_mm, perpendicular_mm, or short_axis_mm for a
 * nodal lesion; fragments_mm, a length per pair of points, for a split target) and mean_hu are
 * computed from the instance's Pixel Spacing and stored pixels and written into the subject.
 * Assessments without a tool or roi pass unchanged. Whether a lesion is nodal comes from the
 * document, else from the stored records.
 * @return HT_OK; HT_EINVALID naming subject, lesion, time point and field (a computed field
 *         also given, a bad caliper, an instance without Pixel Spacing); HT_ENOTFOUND (no such
 *         instance or frame); HT_EIO, HT_EDB, HT_ENOMEM.
 */
int ht_measure_complete(void *source, struct json_t *subject, const ht_ledger_stored *stored);

#ifdef __cplusplus
}
#endif

#endif
