/*
 * Internals of the dicom module shared between its C++ shim (DCMTK) and its C files
 * (sample conversion, OpenJPEG, zlib). Not a public header.
 */
#ifndef HEPATRACK_DICOM_INTERNAL_H
#define HEPATRACK_DICOM_INTERNAL_H

#include "hepatrack/dicom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the Image Pixel module says about one frame's layout. */
typedef struct ht_dicom__pixel_desc {
    uint32_t rows;
    uint32_t columns;
    uint16_t samples_per_pixel;
    uint16_t bits_allocated;
    uint16_t bits_stored;
    uint16_t pixel_representation;
    uint16_t planar_configuration;
    const char *photometric; /* as decoded: "RGB", "YBR_FULL", "MONOCHROME2"... */
    double rescale_slope;
    double rescale_intercept;
} ht_dicom__pixel_desc;

/* Bytes one uncompressed frame occupies (bit-packed for bits_allocated 1, rounded up). */
size_t ht_dicom__frame_bytes(const ht_dicom__pixel_desc *desc);

/*
 * Turn one uncompressed frame into an ht_frame: `raw` holds samples in the layout of
 * bits_allocated (host byte order for 16 and 32 bits), starting `bit_offset` bits in (only
 * non-zero for 1-bit data, whose frames need not start on a byte).
 */
int ht_dicom__frame_from_raw(const ht_dicom__pixel_desc *desc,
                             const uint8_t *raw,
                             size_t raw_len,
                             uint64_t bit_offset,
                             ht_frame **out);

/* Decode one JPEG 2000 codestream (or JP2 file) with OpenJPEG into an ht_frame. */
int ht_dicom__frame_from_j2k(const ht_dicom__pixel_desc *desc,
                             const uint8_t *data,
                             size_t len,
                             ht_frame **out);

/*
 * Inflate one frame of Deflated Image Frame Compression (raw DEFLATE, RFC 1951) into exactly
 * `expected` bytes. *out is malloc'ed.
 */
int ht_dicom__inflate_frame(const uint8_t *data, size_t len, size_t expected, uint8_t **out);

/*
 * Check that no element, item or fragment of the dataset at data+offset claims more bytes than
 * remain (DCMTK would allocate the claim). `ts` is the File Meta's transfer syntax UID ("" if
 * none). *inflated_len is the size of a deflated dataset once inflated (0 otherwise). HT_OK, or
 * HT_EPARSE naming the element.
 */
int ht_dicom__check_lengths(
    const uint8_t *data, size_t len, size_t offset, const char *ts, size_t *inflated_len);

/* 1 for VRs whose explicit encoding has a 2-byte length (CS, UI, US...); others have 4. */
int ht_dicom__is_short_vr(const char *vr);

/* Replace bytes that are not valid UTF-8 with U+FFFD; returns a malloc'ed string. */
char *ht_dicom__utf8_sanitize(const char *text, size_t len, int *replaced);

#ifdef __cplusplus
}
#endif

#endif
