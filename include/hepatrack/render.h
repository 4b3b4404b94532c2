/*
 * hepatrack — rendering of one decoded frame to an 8-bit PNG (libpng + zlib, used directly) or
 * JPEG (libjpeg-turbo),
 * and the deflate coding of what the HTTP server sends (the one user of zlib beside dicom's
 * decoders).
 *
 * Greyscale frames go through the modality rescale and a linear VOI window (PS3.3 C.11.2.1.2.1),
 * MONOCHROME1 is inverted so that the PNG always shows higher values brighter; RGB frames are
 * kept as they are. Windows come from an explicit centre/width, a named preset, the file's own
 * Window Center/Width, or else the frame's full range.
 *
 * Ownership: the PNG buffer returned is malloc'ed and belongs to the caller (free()).
 */
#ifndef HEPATRACK_RENDER_H
#define HEPATRACK_RENDER_H

#include "hepatrack/dicom.h"
#include "hepatrack/error.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A VOI window in rescaled units (HU for CT). width >= 1. */
typedef struct ht_window {
    double center;
    double width;
} ht_window;

/**
 * The preset radiologists know by name (as in OHIF): soft-tissue W400/L40, lung W1500/L-600,
 * liver W150/L90, bone W2500/L480, brain W80/L40.
 * @return HT_OK; HT_EINVALID for an unknown name (the message lists the known ones).
 */
int ht_render_preset(const char *name, ht_window *out);

/** The names of the presets, NULL-terminated; static. */
const char *const *ht_render_preset_names(void);

/**
 * The frame's full range as a window: min to max of its rescaled values. RGB frames and
 * constant frames get a window of width 1 around their value.
 */
ht_window ht_render_full_range(const ht_frame *frame);

/**
 * Encode a frame as PNG.
 * @param frame   decoded samples (borrowed).
 * @param window  VOI window for greyscale frames; NULL for the full range. Ignored for RGB.
 * @param size    longest side of the picture in pixels, 0 for the frame's own size; the frame
 *                is scaled keeping its aspect ratio (area average when shrinking, nearest
 *                sample when enlarging). At most 4096.
 * @param png,len the PNG, malloc'ed, owned by the caller.
 * @return HT_OK; HT_EINVALID (size out of range, window width < 1); HT_ENOMEM; HT_EIO when
 *         libpng reports an error.
 */
int ht_render_png(
    const ht_frame *frame, const ht_window *window, uint32_t size, uint8_t **png, size_t *len);

/** The VOI LUT Function (PS3.3 C.11.2.1.3): LINEAR, LINEAR_EXACT, SIGMOID. */
typedef enum ht_voi_function {
    HT_VOI_LINEAR = 0,
    HT_VOI_LINEAR_EXACT,
    HT_VOI_SIGMOID
} ht_voi_function;

typedef enum ht_image_format { HT_IMAGE_PNG = 0, HT_IMAGE_JPEG } ht_image_format;

/** How to render a frame (DICOMweb's window, viewport and quality). */
typedef struct ht_render_options {
    const ht_window *window; /* NULL: the frame's full range; ignored for RGB */
    ht_voi_function function;
    uint32_t width, height; /* fit inside, keeping the aspect ratio (0: unbounded that way; both
                               0: the frame's own size); at most 4096 */
    ht_image_format format;
    int quality; /* JPEG 1-100 (0: 90); ignored for PNG */
} ht_render_options;

/**
 * Render a frame as PNG or JPEG (ownership and errors as ht_render_png; HT_EINVALID also for a
 * quality beyond 100).
 */
int ht_render_image(const ht_frame *frame,
                    const ht_render_options *options,
                    uint8_t **out,
                    size_t *len);

/**
 * A frame windowed to 8-bit pixels at its own size, for a caller that draws them itself (the
 * plot module's key images): greyscale through the rescale and window (NULL: the full range),
 * MONOCHROME1 inverted; RGB copied.
 * @param out       rows x columns x channels bytes, row-major, malloc'ed, owned by the caller.
 * @param channels  1 (grey) or 3 (RGB).
 * @return HT_OK; HT_EINVALID (window width < 1, a frame without pixels); HT_ENOMEM.
 */
int ht_render_pixels(const ht_frame *frame,
                     const ht_window *window,
                     ht_voi_function function,
                     uint8_t **out,
                     int *channels);

/**
 * The file's own first Window Center/Width (0028,1050-1051).
 * @return 1 with *w set; 0 when the file has none usable (no error is left set).
 */
int ht_render_file_window(const ht_dicom *dcm, ht_window *w);

/**
 * Compress bytes for HTTP's "deflate" content coding (zlib format; libdeflate, level 1).
 * @param[out] out  malloc'ed (free with ht_free); NULL on error.
 * @return HT_OK, HT_ENOMEM, HT_EINTERNAL.
 */
int ht_render_deflate(const void *data, size_t len, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
