/*
 * hepatrack — the DICOM file layer.
 *
 * A C interface over DCMTK (implemented in C++ under src/dicom/; no C++ type or exception
 * crosses this header). It parses a Part 10 file held in memory, exposes the attributes the
 * index needs as UTF-8, and decodes any frame of an image to plain samples.
 *
 * Ownership: ht_dicom_open_* return an object the caller frees with ht_dicom_free. Pointers
 * returned by getters borrow from that object and stay valid until it is freed. The input
 * buffer must outlive the object (it is not copied).
 *
 * Errors: every function returns HT_OK or a negative code with a message (ht_error_last) that
 * includes DCMTK's own condition text where DCMTK failed. Nothing here aborts or throws on bad
 * input.
 */
#ifndef HEPATRACK_DICOM_H
#define HEPATRACK_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_dicom ht_dicom;

/** The attributes hepatrack indexes. Strings are UTF-8, never NULL ("" when absent). */
typedef struct ht_dicom_info {
    /* File Meta */
    const char *transfer_syntax_uid;
    size_t dataset_offset; /* bytes of preamble + File Meta before the dataset */

    /* Patient */
    const char *patient_id;
    const char *issuer_of_patient_id;
    const char *patient_name;
    const char *patient_birth_date;
    const char *patient_sex;

    /* Study */
    const char *study_instance_uid;
    const char *study_date;
    const char *study_time;
    const char *accession_number;
    const char *study_description;

    /* Series */
    const char *series_instance_uid;
    const char *modality;
    const char *series_description;
    const char *body_part_examined;
    const char *contrast_bolus_agent;
    const char *frame_of_reference_uid;
    int has_series_number;
    int32_t series_number;
    int has_slice_thickness;
    double slice_thickness;
    int has_pixel_spacing;
    double pixel_spacing[2]; /* row spacing, column spacing (mm) */

    /* Instance */
    const char *sop_class_uid;       /* (0008,0016) of the dataset; "" when absent */
    const char *media_sop_class_uid; /* (0002,0002) of the File Meta; "" when absent */
    const char *sop_instance_uid;
    const char *specific_character_set;
    int has_instance_number;
    int32_t instance_number;
    int has_image_position;
    double image_position[3];
    int has_image_orientation;
    double image_orientation[6];

    /* Image pixel module (all zero when the object has no Pixel Data) */
    int has_pixel_data;
    uint32_t rows;
    uint32_t columns;
    uint32_t number_of_frames; /* 1 for single-frame images, 0 without Pixel Data */
    uint16_t samples_per_pixel;
    uint16_t bits_allocated;
    uint16_t bits_stored;
    uint16_t pixel_representation;
    const char *photometric_interpretation;

    /* Problems that did not stop the parse, "; "-separated ("" when none). */
    const char *warnings;
} ht_dicom_info;

/**
 * Configure DCMTK once per process: register its decoders (JPEG, JPEG-LS, RLE) and silence its
 * logger so that it never writes to stderr unasked. Thread-safe and idempotent; the open
 * functions call it themselves.
 */
void ht_dicom_global_init(void);

/**
 * Parse a DICOM Part 10 object (128-byte preamble, "DICM", File Meta, dataset) from memory.
 *
 * @param[out] out  the parsed object, or NULL on error.
 * @param data      the file's bytes; borrowed, must outlive *out.
 * @return HT_OK; HT_EPARSE for input that is not a readable Part 10 object (the message says
 *         why: no "DICM" prefix, truncated element, lying length...); HT_EINVALID when a
 *         required attribute (SOP Class UID, SOP Instance UID, Study/Series Instance UID) is
 *         missing or not a UID; HT_ENOMEM.
 */
int ht_dicom_open_memory(ht_dicom **out, const uint8_t *data, size_t len);

/** Free an object from ht_dicom_open_memory. Accepts NULL. */
void ht_dicom_free(ht_dicom *dcm);

/** The indexed attributes; borrowed from dcm. */
const ht_dicom_info *ht_dicom_get_info(const ht_dicom *dcm);

/**
 * Any top-level text attribute, converted to UTF-8 (multiple values joined by '\\').
 * @param[out] out  malloc'ed string (free with ht_free), or NULL on error.
 * @return HT_OK, HT_ENOTFOUND when the attribute is absent, HT_ENOMEM.
 */
int ht_dicom_get_string(const ht_dicom *dcm, uint16_t group, uint16_t element, char **out);

/**
 * The dataset (without File Meta) as DICOM JSON, PS3.18 F.2: one object keyed by tag, text in
 * UTF-8 (converted from the Specific Character Set; bytes that cannot be converted are
 * replaced), binary values as InlineBinary, except that Pixel Data and the dataset's other
 * binary values (OB, OW, OF, OD, OL, OV, UN) longer than `threshold` bytes are
 * {"BulkDataURI": "bulk_base/GGGGEEEE"} (all inline when bulk_base is NULL). Only top-level
 * attributes are chosen, but by tag: a nested binary value with the tag of a chosen one is
 * written as a BulkDataURI too. Converts dcm's text to UTF-8 in place.
 * @param[out] out  malloc'ed JSON text (free with ht_free).
 * @return HT_OK; HT_EPARSE when DCMTK cannot write a value; HT_ENOMEM.
 */
int ht_dicom_to_json(ht_dicom *dcm, const char *bulk_base, size_t threshold, char **out);

/* What DICOMweb's metadata gives as bulk data rather than inline: values over 1 KiB. */
#define HT_BULK_THRESHOLD 1024

/**
 * A top-level attribute's value as stored (little endian), for a bulk data request. Pixel Data
 * that is encapsulated is refused here: its frames come from ht_dicom_frame_stored.
 * @param[out] out  malloc'ed (free with ht_free); len may be 0.
 * @return HT_OK; HT_ENOTFOUND (absent); HT_EUNSUPPORTED (encapsulated, or a sequence);
 *         HT_ENOMEM.
 */
int ht_dicom_element_bytes(
    const ht_dicom *dcm, uint16_t group, uint16_t element, uint8_t **out, size_t *len);

/**
 * True (1) when text is a UID as PS3.5 9.1 has it: 1 to 64 characters, components of digits
 * separated by single dots, no component empty and none but "0" starting with 0.
 */
int ht_dicom_uid_valid(const char *uid);

/**
 * True (1) when `uid` names a Storage SOP Class that DCMTK knows (images, SR, SEG, RT,
 * waveforms, presentation states…), 0 otherwise. Media Storage Directory (DICOMDIR) is not one.
 */
int ht_dicom_is_storage_sop_class(const char *uid);

/** True (1) when the transfer syntax UID is one that ht_dicom_frame_decode can decode. */
int ht_dicom_transfer_syntax_supported(const char *uid);

/** A short human name for a transfer syntax UID ("JPEG 2000 Lossless Only"), or the UID. */
const char *ht_dicom_transfer_syntax_name(const char *uid);

/** Layout of decoded samples. */
typedef enum ht_sample_format {
    HT_SAMPLE_U8 = 0,
    HT_SAMPLE_S8,
    HT_SAMPLE_U16,
    HT_SAMPLE_S16,
    HT_SAMPLE_U32,
    HT_SAMPLE_S32,
    HT_SAMPLE_RGB8 /* interleaved R, G, B bytes */
} ht_sample_format;

/** One decoded frame. */
typedef struct ht_frame {
    uint32_t rows;
    uint32_t columns;
    ht_sample_format format;
    uint16_t bits_stored; /* significant bits; values are sign-extended from them */
    int monochrome1;      /* 1 when higher values are darker */
    double rescale_slope; /* modality rescale (1 and 0 when the object has none) */
    double rescale_intercept;
    void *samples; /* rows*columns samples (or RGB triples), host byte order */
    size_t size;   /* bytes at samples */
} ht_frame;

/** Bytes per sample (RGB8: 3, per pixel). */
size_t ht_sample_size(ht_sample_format format);

/** Sample i (row-major) of a greyscale frame, sign-extended, before the rescale; 0 for RGB. */
int64_t ht_frame_sample(const ht_frame *frame, size_t i);

/**
 * Decode one frame (index from 0) of the object's Pixel Data, whatever its transfer syntax.
 * 1-bit data (segmentations) is unpacked to HT_SAMPLE_U8 values 0 and 1; YBR colour is
 * converted to RGB.
 *
 * @param[out] out  the frame (free with ht_frame_free), or NULL on error.
 * @return HT_OK; HT_ENOTFOUND when there is no Pixel Data or index >= number_of_frames;
 *         HT_EUNSUPPORTED for a transfer syntax or pixel layout hepatrack cannot decode;
 *         HT_EPARSE when the compressed data is corrupt or shorter than declared; HT_ENOMEM.
 */
int ht_dicom_frame_decode(const ht_dicom *dcm, uint32_t index, ht_frame **out);

/** Free a frame. Accepts NULL. */
void ht_frame_free(ht_frame *frame);

/**
 * Read a DICOMDIR (Media Storage Directory) and list the files it references.
 *
 * @param path        the DICOMDIR file.
 * @param[out] files  malloc'ed array of malloc'ed absolute-or-relative paths, resolved against
 *                    the DICOMDIR's folder (free each and the array with ht_free).
 * @return HT_OK, HT_EPARSE if it is not a readable DICOMDIR, HT_ENOMEM.
 */
int ht_dicom_dicomdir_files(const char *path, char ***files, size_t *count);

/** True (1) when the buffer holds a Part 10 object whose SOP Class is Media Storage Directory. */
int ht_dicom_is_dicomdir(const ht_dicom *dcm);

/**
 * One frame (index from 0) as stored, for DICOMweb's "transfer-syntax=*": for native Pixel Data
 * its bytes (little endian), for encapsulated Pixel Data its fragments joined (the compressed
 * bitstream of that frame).
 * @param[out] out  malloc'ed (free with ht_free).
 * @return HT_OK; HT_ENOTFOUND (no Pixel Data, no such frame); HT_EUNSUPPORTED (an unknown
 *         transfer syntax, a 1-bit frame that does not start on a byte); HT_EPARSE; HT_ENOMEM.
 */
int ht_dicom_frame_stored(const ht_dicom *dcm, uint32_t index, uint8_t **out, size_t *len);

/** Where an uncompressed object's frames lie in its Part 10 bytes. */
typedef struct ht_native_pixels {
    uint64_t offset;      /* of frame 1's first byte; frame n follows at (n-1) * frame_bytes */
    uint64_t frame_bytes; /* 0 when not known */
    int as_decoded;       /* ht_dicom_frame_decode gives these bytes unchanged (one sample per
                             pixel, every allocated bit stored) */
} ht_native_pixels;

/**
 * Find the frames of the object opened from data (its Part 10 bytes), when they can be read
 * from the file as they are: little endian, 8, 16 or 32 bits allocated, Pixel Data the last
 * element of the exact length Rows, Columns, Samples per Pixel and Number of Frames imply.
 * @return 1 (out filled), or 0 (out zero: the file must be parsed to read a frame).
 */
int ht_dicom_native_pixels(const ht_dicom *dcm,
                           const uint8_t *data,
                           size_t len,
                           ht_native_pixels *out);

/** An attribute of the data dictionary. */
typedef struct ht_dicom_attribute {
    uint16_t group, element;
    char keyword[64]; /* "PatientName"; for a tag the dictionary lacks, its 8 hex digits */
    char vr[3];       /* "PN"; "UN" when unknown */
} ht_dicom_attribute;

/**
 * Look an attribute up by keyword ("StudyDate") or by tag ("00080020", as DICOMweb writes it).
 * @return HT_OK; HT_ENOTFOUND for a keyword the dictionary lacks (with a message), or for a tag
 *         it lacks (out still holds the tag, VR "UN", without a message); HT_ENOMEM.
 */
int ht_dicom_attribute_lookup(const char *name, ht_dicom_attribute *out);

#ifdef __cplusplus
}
#endif

#endif
