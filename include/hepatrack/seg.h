/*
 * hepatrack — DICOM Segmentations (SEG), read with DCMTK's dcmseg.
 *
 * A SEG (Segmentation Storage, 1.2.840.10008.5.1.4.1.1.66.4: BINARY or FRACTIONAL, as highdicom,
 * dcmqi and dcmseg write it) is read into its segments: number, label, algorithm type, category
 * and type codes (legacy SNOMED-RT "SRT" codes mapped to their SNOMED CT "SCT" equivalents), the
 * voxels each covers and its volume in mL. The volume needs only the SEG itself: Pixel Measures
 * give the pixel spacing, the Plane Positions of its frames give the spacing between slices,
 * because the images it was drawn on may not be in the archive.
 *
 * A Label Map SEG (1.2.840.10008.5.1.4.1.1.66.7), which dcmseg 3.6.7 cannot read, and any SEG
 * dcmseg refuses are not errors: the result says it was not read, and why.
 *
 * Ownership: ht_seg_read returns an object the caller frees with ht_seg_free; every string and
 * array in it belongs to it. Errors go through the error table (ht_error_last).
 */
#ifndef HEPATRACK_SEG_H
#define HEPATRACK_SEG_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HT_SEG_SOP_CLASS "1.2.840.10008.5.1.4.1.1.66.4"
#define HT_SEG_LABEL_MAP_SOP_CLASS "1.2.840.10008.5.1.4.1.1.66.7"

typedef enum ht_seg_type { HT_SEG_BINARY = 0, HT_SEG_FRACTIONAL } ht_seg_type;

typedef enum ht_seg_fractional_type {
    HT_SEG_FRACTIONAL_NONE = 0, /* a BINARY SEG */
    HT_SEG_FRACTIONAL_PROBABILITY,
    HT_SEG_FRACTIONAL_OCCUPANCY
} ht_seg_fractional_type;

/* Where the spacing between slices of a volume came from, best first. */
typedef enum ht_seg_spacing_source {
    HT_SEG_SPACING_NONE = 0,        /* none known: no volume */
    HT_SEG_SPACING_POSITIONS,       /* Plane Position of the frames, along the plane's normal */
    HT_SEG_SPACING_BETWEEN_SLICES,  /* Pixel Measures' Spacing Between Slices */
    HT_SEG_SPACING_SLICE_THICKNESS, /* Pixel Measures' Slice Thickness */
} ht_seg_spacing_source;

/** A coded concept; strings UTF-8, "" when absent. */
typedef struct ht_seg_code {
    char scheme[17]; /* "SCT" once mapped */
    char value[65];  /* Code Value (else Long Code Value, else URN Code Value) */
    char meaning[257];
    char original_scheme[17]; /* as the file has it ("SRT"); equal to scheme when not mapped */
    char original_value[65];
} ht_seg_code;

typedef struct ht_seg_segment {
    uint16_t number;
    char *label;             /* UTF-8, never NULL */
    char algorithm_type[16]; /* AUTOMATIC, SEMIAUTOMATIC, MANUAL, "" */
    ht_seg_code category;    /* Segmented Property Category */
    ht_seg_code type;        /* Segmented Property Type */
    uint32_t frames;         /* frames of this segment */
    double voxels;        /* BINARY: pixels set; FRACTIONAL: Σ value / Maximum Fractional Value */
    int has_volume;       /* 0 when the SEG gives no pixel or slice spacing */
    double volume_ml;     /* voxels × row × column × slice spacing (mm) / 1000 */
    double bounds_lps[6]; /* x min, y min, z min, x max, y max, z max of the voxel centres set,
                             patient coordinates (mm); all 0 when none is set or no geometry */
} ht_seg_segment;

typedef struct ht_seg {
    int read;              /* 1 when read; 0: not_read_reason says why, nothing else is set */
    char *not_read_reason; /* NULL when read */
    char *sop_class_uid;   /* never NULL */
    ht_seg_type type;
    ht_seg_fractional_type fractional_type;
    uint16_t max_fractional_value; /* FRACTIONAL only */
    uint32_t rows, columns, frames;
    int has_pixel_spacing;
    double pixel_spacing[2]; /* row, column spacing (mm) from Pixel Measures */
    ht_seg_spacing_source slice_spacing_source;
    double slice_spacing;         /* mm; 0 when the source is NONE */
    char *study_instance_uid;     /* the SEG's own study */
    char *series_instance_uid;    /* the SEG's own series */
    char *frame_of_reference_uid; /* "" when absent */
    char **referenced_series;     /* Referenced Series Sequence: the SEG's study's, then the
                                     other studies' */
    size_t n_referenced_series;
    char **referenced_studies; /* the SEG's own study, then Studies Containing Other
                                  Referenced Instances, without repeats */
    size_t n_referenced_studies;
    ht_seg_segment *segments;
    size_t n_segments;
} ht_seg;

/** True (1) for the SOP classes of segmentations (66.4 and the Label Map 66.7). */
int ht_seg_is_segmentation(const char *sop_class_uid);

/**
 * Read a SEG from its Part 10 bytes.
 * @param[out] out  the result (free with ht_seg_free), or NULL on error; (*out)->read is 0 with
 *                  a reason for a Label Map SEG, a transfer syntax dcmseg cannot decode, a SEG
 *                  dcmseg refuses, or one whose frames or segments cannot be read.
 * @return HT_OK; HT_EPARSE when the bytes are not a readable Part 10 object; HT_EINVALID when
 *         the object is not a segmentation; HT_ENOMEM.
 */
int ht_seg_read(const uint8_t *data, size_t len, ht_seg **out);

/**
 * ht_seg_read, and which segments cover a point in patient coordinates (mm, LPS): those with a
 * frame whose plane lies within half a slice of the point and whose pixel nearest it is set
 * (FRACTIONAL: above 0). For listing the segments a lesion's caliper lies in.
 * @param[out] out      as ht_seg_read (nothing found when it was not read).
 * @param[out] numbers  up to `max` segment numbers, ascending; *n how many were written.
 * @return as ht_seg_read.
 */
int ht_seg_segments_at(const uint8_t *data,
                       size_t len,
                       const double lps[3],
                       ht_seg **out,
                       uint16_t *numbers,
                       size_t max,
                       size_t *n);

/** Free a result of ht_seg_read. Accepts NULL. */
void ht_seg_free(ht_seg *seg);

/** "frame positions", "spacing between slices", "slice thickness", "none". */
const char *ht_seg_spacing_source_name(ht_seg_spacing_source source);

/**
 * A coding scheme and value mapped from legacy SNOMED-RT (SRT, also 99SDM and SNM3) to SNOMED
 * CT (SCT) as PS3.16 lists the equivalents for the codes segmentations and TID 1500 reports use
 * (T-62000 Liver = 10200004, ...). Unknown SRT codes and other schemes are left as they are.
 * @return 1 when mapped (scheme and value changed), 0 otherwise.
 */
int ht_seg_map_code(char scheme[17], char value[65]);

/** True (1) when the code is the liver (SCT 10200004, or SRT T-62000 before mapping). */
int ht_seg_code_is_liver(const ht_seg_code *code);

#ifdef __cplusplus
}
#endif

#endif
