/*
 * Frame → 8-bit picture → PNG. Samples of 16 bits or fewer go through a lookup table built
 * once per request (rescale, window and inversion folded together), so the per-pixel work is
 * one load. zlib runs at level 1 with the RLE strategy and the Average filter: on CT slices
 * that is about ten times faster than the default level with every filter, and smaller than
 * Orthanc's PNG of the same slice and window (the residuals of soft tissue are mostly runs of
 * small values, which RLE codes well and longer matches do not improve). Measured on
 * tests/bench/render.sh's slices and a clinical CT: Sub alone 1-3 % larger on the slices and
 * 4 % smaller on the clinical CT; libpng choosing Sub or Average row by row the smallest of all
 * by 1 % but 15 % slower; Paeth slower and larger; libdeflate's levels no smaller than RLE.
 */
#include "render_internal.h"

#include "hepatrack/util.h"

#include <png.h>
#include <zlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE 4096

static const struct {
    const char *name;
    ht_window window;
} presets[] = {
    {"soft-tissue", {40, 400}}, {"lung", {-600, 1500}}, {"liver", {90, 150}},
    {"bone", {480, 2500}},      {"brain", {40, 80}},
};
#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

const char *const *ht_render_preset_names(void)
{
    static const char *names[NPRESETS + 1];
    for (size_t i = 0; i < NPRESETS; i++) /* idempotent: the same pointers every time */
        names[i] = presets[i].name;
    return names;
}

int ht_render_preset(const char *name, ht_window *out)
{
    for (size_t i = 0; i < NPRESETS; i++)
        if (!strcmp(name, presets[i].name)) {
            *out = presets[i].window;
            return HT_OK;
        }
    return ht_error_set(HT_EINVALID,
                        "unknown window preset '%s' (known: soft-tissue, lung, liver, bone, "
                        "brain)",
                        name);
}

static size_t pixel_count(const ht_frame *f)
{
    return (size_t)f->rows * f->columns;
}

/* The least and greatest of n samples of one type, in a loop the compiler vectorises. */
#define SAMPLE_RANGE(type, samples, n, lo, hi)                                                     \
    do {                                                                                           \
        const type *s_ = (samples);                                                                \
        type a_ = s_[0], b_ = s_[0];                                                               \
        for (size_t i_ = 1; i_ < (n); i_++) {                                                      \
            a_ = s_[i_] < a_ ? s_[i_] : a_;                                                        \
            b_ = s_[i_] > b_ ? s_[i_] : b_;                                                        \
        }                                                                                          \
        *(lo) = a_;                                                                                \
        *(hi) = b_;                                                                                \
    } while (0)

static void sample_range(const ht_frame *f, size_t n, int64_t *lo, int64_t *hi)
{
    switch (f->format) {
    case HT_SAMPLE_U8:
        SAMPLE_RANGE(uint8_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_S8:
        SAMPLE_RANGE(int8_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_U16:
        SAMPLE_RANGE(uint16_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_S16:
        SAMPLE_RANGE(int16_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_U32:
        SAMPLE_RANGE(uint32_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_S32:
        SAMPLE_RANGE(int32_t, f->samples, n, lo, hi);
        break;
    case HT_SAMPLE_RGB8:
        *lo = 0;
        *hi = 255;
        break;
    }
}

ht_window ht_render_full_range(const ht_frame *f)
{
    size_t n = pixel_count(f);
    if (f->format == HT_SAMPLE_RGB8 || n == 0)
        return (ht_window){128, 256}; /* 0..255 onto itself */
    int64_t lo = 0, hi = 0;
    sample_range(f, n, &lo, &hi);
    double a = (double)lo * f->rescale_slope + f->rescale_intercept;
    double b = (double)hi * f->rescale_slope + f->rescale_intercept;
    if (a > b) { /* a negative slope */
        double t = a;
        a = b;
        b = t;
    }
    /* PS3.3 C.11.2.1.2.1 maps [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2] onto the output range. */
    double w = b - a + 1;
    return (ht_window){a + 0.5 + (w - 1) / 2, w};
}

/*
 * The linear VOI function of PS3.3 C.11.2.1.2.1 applied to stored values v, folded with the
 * modality rescale: inside the window y = v * gain + offset, rounded half up (y >= 0 there).
 */
typedef struct voi_fn {
    double lo, hi; /* window edges in stored values' rescaled units */
    double slope, intercept;
    double gain, offset;
    double center, width; /* for LINEAR_EXACT and SIGMOID */
    ht_voi_function function;
    int invert;
} voi_fn;

static voi_fn voi_prepare(const ht_frame *f, const ht_window *w, ht_voi_function function)
{
    voi_fn fn;
    fn.center = w->center;
    fn.width = w->width;
    fn.function = function;
    double scale = w->width > 1 ? 255 / (w->width - 1) : 0;
    fn.lo = w->center - 0.5 - (w->width - 1) / 2;
    fn.hi = w->center - 0.5 + (w->width - 1) / 2;
    fn.slope = f->rescale_slope;
    fn.intercept = f->rescale_intercept;
    fn.gain = f->rescale_slope * scale;
    fn.offset = (f->rescale_intercept - (w->center - 0.5)) * scale + 127.5;
    fn.invert = f->monochrome1;
    return fn;
}

static uint8_t voi(const voi_fn *fn, int64_t v)
{
    double x = (double)v * fn->slope + fn->intercept;
    int y;
    if (fn->function == HT_VOI_SIGMOID) { /* PS3.3 C.11.2.1.3.1 */
        double g = 255.0 / (1.0 + exp(-4.0 * (x - fn->center) / fn->width));
        y = (int)(g + 0.5);
    } else if (fn->function == HT_VOI_LINEAR_EXACT) { /* PS3.3 C.11.2.1.3.2 */
        double g = ((x - fn->center) / fn->width + 0.5) * 255.0;
        y = g <= 0 ? 0 : g >= 255 ? 255 : (int)(g + 0.5);
    } else if (x <= fn->lo)
        y = 0;
    else if (x > fn->hi)
        y = 255;
    else {
        double g = (double)v * fn->gain + fn->offset + 0.5;
        y = g < 0 ? 0 : g >= 255 ? 255 : (int)g;
    }
    return (uint8_t)(fn->invert ? 255 - y : y);
}

/* Greyscale frame → 8-bit picture of the frame's size. */
static int
window_frame(const ht_frame *f, const ht_window *w, ht_voi_function function, uint8_t *out)
{
    size_t n = pixel_count(f);
    size_t bits = ht_sample_size(f->format) * 8;
    voi_fn fn = voi_prepare(f, w, function);
    if (bits <= 16) {
        size_t entries = (size_t)1 << bits;
        int is_signed = f->format == HT_SAMPLE_S8 || f->format == HT_SAMPLE_S16;
        uint8_t *lut = malloc(entries);
        if (!lut)
            return ht_error_set(HT_ENOMEM, "out of memory for a lookup table");
        for (size_t i = 0; i < entries; i++) {
            /* entry i holds the raw bit pattern; signed formats read it as two's complement */
            int64_t v = is_signed && i >= entries / 2 ? (int64_t)i - (int64_t)entries : (int64_t)i;
            lut[i] = voi(&fn, v);
        }
        if (bits == 8) {
            const uint8_t *s = f->samples;
            for (size_t i = 0; i < n; i++)
                out[i] = lut[s[i]];
        } else {
            const uint16_t *s = f->samples;
            for (size_t i = 0; i < n; i++)
                out[i] = lut[s[i]];
        }
        free(lut);
        return HT_OK;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = voi(&fn, ht_frame_sample(f, i));
    return HT_OK;
}

/*
 * Scale a picture of channels bytes per pixel to dw x dh: each output pixel is the average of
 * the source pixels its footprint covers, or the nearest one when enlarging.
 */
static void scale(const uint8_t *src,
                  uint32_t sw,
                  uint32_t sh,
                  int channels,
                  uint8_t *dst,
                  uint32_t dw,
                  uint32_t dh)
{
    for (uint32_t y = 0; y < dh; y++) {
        uint32_t y0 = (uint32_t)((uint64_t)y * sh / dh);
        uint32_t y1 = (uint32_t)((uint64_t)(y + 1) * sh / dh);
        y1 = y1 > y0 ? y1 : y0 + 1;
        for (uint32_t x = 0; x < dw; x++) {
            uint32_t x0 = (uint32_t)((uint64_t)x * sw / dw);
            uint32_t x1 = (uint32_t)((uint64_t)(x + 1) * sw / dw);
            x1 = x1 > x0 ? x1 : x0 + 1;
            for (int c = 0; c < channels; c++) {
                uint64_t sum = 0;
                for (uint32_t yy = y0; yy < y1; yy++)
                    for (uint32_t xx = x0; xx < x1; xx++)
                        sum += src[((size_t)yy * sw + xx) * (size_t)channels + (size_t)c];
                uint64_t count = (uint64_t)(y1 - y0) * (x1 - x0);
                dst[((size_t)y * dw + x) * (size_t)channels + (size_t)c] =
                    (uint8_t)((sum + count / 2) / count);
            }
        }
    }
}

typedef struct png_buffer {
    uint8_t *data;
    size_t len, cap;
    int oom;
} png_buffer;

static void png_append(png_structp png, png_bytep data, size_t len)
{
    png_buffer *b = png_get_io_ptr(png);
    if (b->oom)
        return;
    /* a slice's PNG is tens of kB: start there rather than doubling up from 16 bytes */
    size_t needed = b->len + len < 64 * 1024 ? 64 * 1024 : b->len + len;
    if (HT_GROW(b->data, b->cap, needed) < 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void png_flush_nothing(png_structp png)
{
    (void)png;
}

/*
 * Encode rows of width x height pixels of channels bytes (1 grey, 3 RGB). Everything libpng's
 * longjmp could leave indeterminate lives on the heap, set before setjmp and never reassigned.
 */
static int encode(const uint8_t *pixels,
                  uint32_t width,
                  uint32_t height,
                  int channels,
                  uint8_t **out,
                  size_t *out_len)
{
    png_buffer *buf = calloc(1, sizeof(*buf));
    png_bytep *rows = calloc(height ? height : 1, sizeof(*rows));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int err = HT_OK;
    if (!png || !info || !rows || !buf) {
        err = ht_error_set(HT_ENOMEM, "out of memory encoding a PNG");
        goto done;
    }
    for (uint32_t y = 0; y < height; y++)
        rows[y] = (png_bytep)(pixels + (size_t)y * width * (size_t)channels);
    if (setjmp(png_jmpbuf(png))) {
        err = ht_error_set(HT_EIO, "libpng failed to encode a %ux%u picture", width, height);
        goto done;
    }
    png_set_write_fn(png, buf, png_append, png_flush_nothing);
    png_set_IHDR(png, info, width, height, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, Z_RLE);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_AVG);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    if (buf->oom)
        err = ht_error_set(HT_ENOMEM, "out of memory encoding a PNG");
done:
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (err == HT_OK) {
        *out = buf->data;
        *out_len = buf->len;
    } else if (buf) {
        free(buf->data);
    }
    free(buf);
    return err;
}

/* Output dimensions fitting width x height with the frame's aspect (0: no bound that way). */
static void
target_size(const ht_frame *f, uint32_t width, uint32_t height, uint32_t *w, uint32_t *h)
{
    double sx = width ? (double)width / f->columns : 0, sy = height ? (double)height / f->rows : 0;
    double s = sx && sy ? (sx < sy ? sx : sy) : sx ? sx : sy ? sy : 1;
    double longest = f->columns > f->rows ? f->columns : f->rows;
    if (longest * s > MAX_SIZE) /* one bound given: the other side must not grow beyond it */
        s = MAX_SIZE / longest;
    *w = (uint32_t)(f->columns * s + 0.5);
    *h = (uint32_t)(f->rows * s + 0.5);
    *w = *w ? *w : 1;
    *h = *h ? *h : 1;
}

static int encode_as(const ht_render_options *o,
                     const uint8_t *pixels,
                     uint32_t w,
                     uint32_t h,
                     int channels,
                     uint8_t **out,
                     size_t *len)
{
    if (o->format == HT_IMAGE_JPEG)
        return ht_render__jpeg(pixels, w, h, channels, o->quality ? o->quality : 90, out, len);
    return encode(pixels, w, h, channels, out, len);
}

/* The checks every rendering makes of a frame and a window. */
static int check_frame(const ht_frame *f, const ht_window *window)
{
    size_t n = pixel_count(f);
    if (window && !(window->width >= 1))
        return ht_error_set(HT_EINVALID, "window width must be >= 1 (got %g)", window->width);
    if (!n || f->size < n * ht_sample_size(f->format))
        return ht_error_set(HT_EINVALID, "the frame holds no picture of %ux%u", f->columns,
                            f->rows);
    return HT_OK;
}

int ht_render_pixels(const ht_frame *f,
                     const ht_window *window,
                     ht_voi_function function,
                     uint8_t **out,
                     int *channels)
{
    size_t n = pixel_count(f);
    ht_window full;
    int err;
    *out = NULL;
    *channels = f->format == HT_SAMPLE_RGB8 ? 3 : 1;
    if ((err = check_frame(f, window)) < 0)
        return err;
    uint8_t *pixels = malloc(n * (size_t)*channels);
    if (!pixels)
        return ht_error_set(HT_ENOMEM, "out of memory rendering a frame");
    if (*channels == 3) {
        memcpy(pixels, f->samples, n * 3);
    } else {
        if (!window) {
            full = ht_render_full_range(f);
            window = &full;
        }
        if ((err = window_frame(f, window, function, pixels)) < 0) {
            free(pixels);
            return err;
        }
    }
    *out = pixels;
    return HT_OK;
}

int ht_render_image(const ht_frame *f, const ht_render_options *o, uint8_t **out, size_t *len)
{
    uint32_t w, h;
    int channels, err;
    *out = NULL;
    *len = 0;
    if (o->width > MAX_SIZE || o->height > MAX_SIZE)
        return ht_error_set(HT_EINVALID, "a picture is at most %d pixels a side (got %ux%u)",
                            MAX_SIZE, o->width, o->height);
    if (o->quality < 0 || o->quality > 100)
        return ht_error_set(HT_EINVALID, "quality is 1 to 100 (got %d)", o->quality);
    uint8_t *pixels = NULL, *scaled = NULL;
    if ((err = ht_render_pixels(f, o->window, o->function, &pixels, &channels)) < 0)
        return err;
    const uint8_t *picture = pixels;
    target_size(f, o->width, o->height, &w, &h);
    if (w != f->columns || h != f->rows) {
        if (!(scaled = malloc((size_t)w * h * (size_t)channels))) {
            err = ht_error_set(HT_ENOMEM, "out of memory scaling a frame");
            goto done;
        }
        scale(pixels, f->columns, f->rows, channels, scaled, w, h);
        picture = scaled;
    }
    err = encode_as(o, picture, w, h, channels, out, len);
done:
    free(pixels);
    free(scaled);
    return err;
}

int ht_render_file_window(const ht_dicom *dcm, ht_window *w)
{
    char *c = NULL, *wd = NULL;
    int ok = ht_dicom_get_string(dcm, 0x0028, 0x1050, &c) == HT_OK &&
             ht_dicom_get_string(dcm, 0x0028, 0x1051, &wd) == HT_OK && c && wd;
    if (ok) { /* the first of several values */
        char *end1, *end2;
        w->center = strtod(c, &end1);
        w->width = strtod(wd, &end2);
        ok = end1 != c && end2 != wd && w->width >= 1;
    }
    ht_free(c);
    ht_free(wd);
    ht_error_clear();
    return ok;
}

int ht_render_png(
    const ht_frame *f, const ht_window *window, uint32_t size, uint8_t **png, size_t *len)
{
    *png = NULL;
    *len = 0;
    if (size > MAX_SIZE)
        return ht_error_set(HT_EINVALID, "size must be at most %d (got %u)", MAX_SIZE, size);
    int wide = f->columns >= f->rows;
    ht_render_options o = {window,          HT_VOI_LINEAR, wide ? size : 0,
                           wide ? 0 : size, HT_IMAGE_PNG,  0};
    return ht_render_image(f, &o, png, len);
}
