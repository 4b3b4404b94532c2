/*
 * From an uncompressed frame in DICOM's layout to hepatrack's plain samples: unpack 1-bit data,
 * keep only the stored bits and sign-extend them, interleave colour planes and convert YBR to
 * RGB. Everything is bounds-checked against what the caller really has.
 */
#include "dicom_internal.h"

#include <stdlib.h>
#include <string.h>

/* Decoded DICOM native data and inflated frames are little endian, as is every host we build for.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hepatrack's sample conversion assumes a little-endian host"
#endif

size_t ht_sample_size(ht_sample_format format)
{
    switch (format) {
    case HT_SAMPLE_U8:
    case HT_SAMPLE_S8:
        return 1;
    case HT_SAMPLE_U16:
    case HT_SAMPLE_S16:
        return 2;
    case HT_SAMPLE_U32:
    case HT_SAMPLE_S32:
        return 4;
    case HT_SAMPLE_RGB8:
        return 3;
    }
    return 1;
}

int64_t ht_frame_sample(const ht_frame *f, size_t i)
{
    switch (f->format) {
    case HT_SAMPLE_U8:
        return ((const uint8_t *)f->samples)[i];
    case HT_SAMPLE_S8:
        return ((const int8_t *)f->samples)[i];
    case HT_SAMPLE_U16:
        return ((const uint16_t *)f->samples)[i];
    case HT_SAMPLE_S16:
        return ((const int16_t *)f->samples)[i];
    case HT_SAMPLE_U32:
        return ((const uint32_t *)f->samples)[i];
    case HT_SAMPLE_S32:
        return ((const int32_t *)f->samples)[i];
    case HT_SAMPLE_RGB8:
        break;
    }
    return 0;
}

size_t ht_dicom__frame_bytes(const ht_dicom__pixel_desc *desc)
{
    uint64_t bits =
        (uint64_t)desc->rows * desc->columns * desc->samples_per_pixel * desc->bits_allocated;
    return (size_t)((bits + 7) / 8);
}

void ht_frame_free(ht_frame *frame)
{
    if (!frame)
        return;
    free(frame->samples);
    free(frame);
}

static int frame_new(const ht_dicom__pixel_desc *desc, ht_sample_format format, ht_frame **out)
{
    ht_frame *f = calloc(1, sizeof(*f));
    size_t pixels = (size_t)desc->rows * desc->columns;

    if (!f)
        return ht_error_set(HT_ENOMEM, "out of memory for a frame");
    f->rows = desc->rows;
    f->columns = desc->columns;
    f->format = format;
    f->bits_stored = desc->bits_stored;
    f->monochrome1 = desc->photometric && strcmp(desc->photometric, "MONOCHROME1") == 0;
    f->rescale_slope = desc->rescale_slope;
    f->rescale_intercept = desc->rescale_intercept;
    f->size = pixels * ht_sample_size(format);
    f->samples = malloc(f->size ? f->size : 1);
    if (!f->samples) {
        free(f);
        return ht_error_set(HT_ENOMEM, "out of memory for a %ux%u frame", desc->rows,
                            desc->columns);
    }
    *out = f;
    return HT_OK;
}

/* Keep the low `bits` bits of v and, when signed, extend bit bits-1 upwards. */
static int64_t stored_value(uint32_t v, unsigned bits, int is_signed)
{
    uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1u);
    v &= mask;
    if (is_signed && bits < 32 && (v & (1u << (bits - 1))))
        return (int64_t)v - ((int64_t)1 << bits);
    if (is_signed && bits == 32)
        return (int32_t)v;
    return v;
}

static uint8_t clamp_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

/* PS3.3 C.7.6.3.1.2: YBR_FULL to RGB (ITU-R BT.601 full range), in integer arithmetic. */
static void ybr_to_rgb(uint8_t *px, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++) {
        int y = px[3 * i], cb = px[3 * i + 1] - 128, cr = px[3 * i + 2] - 128;
        px[3 * i] = clamp_u8(y + ((91881 * cr + 32768) >> 16));
        px[3 * i + 1] = clamp_u8(y - ((22554 * cb + 46802 * cr + 32768) >> 16));
        px[3 * i + 2] = clamp_u8(y + ((116130 * cb + 32768) >> 16));
    }
}

static int
colour_frame(const ht_dicom__pixel_desc *desc, const uint8_t *raw, size_t raw_len, ht_frame **out)
{
    size_t pixels = (size_t)desc->rows * desc->columns;
    ht_frame *f;
    uint8_t *px;
    int err;

    if (desc->bits_allocated != 8)
        return ht_error_set(HT_EUNSUPPORTED,
                            "colour images with %u bits allocated are not supported",
                            desc->bits_allocated);
    if (raw_len < pixels * 3)
        return ht_error_set(HT_EPARSE, "colour frame has %zu bytes, %zu expected", raw_len,
                            pixels * 3);
    if ((err = frame_new(desc, HT_SAMPLE_RGB8, &f)) < 0)
        return err;
    px = f->samples;
    if (desc->planar_configuration == 1) {
        for (size_t i = 0; i < pixels; i++) {
            px[3 * i] = raw[i];
            px[3 * i + 1] = raw[pixels + i];
            px[3 * i + 2] = raw[2 * pixels + i];
        }
    } else {
        memcpy(px, raw, pixels * 3);
    }
    if (desc->photometric && strncmp(desc->photometric, "YBR_FULL", 8) == 0)
        ybr_to_rgb(px, pixels);
    f->bits_stored = 8;
    *out = f;
    return HT_OK;
}

static int unpack_bits(const ht_dicom__pixel_desc *desc,
                       const uint8_t *raw,
                       size_t raw_len,
                       uint64_t bit_offset,
                       ht_frame **out)
{
    size_t pixels = (size_t)desc->rows * desc->columns;
    ht_frame *f;
    uint8_t *px;
    int err;

    if (desc->samples_per_pixel != 1)
        return ht_error_set(HT_EUNSUPPORTED, "1-bit data with %u samples per pixel",
                            desc->samples_per_pixel);
    if ((bit_offset + pixels + 7) / 8 > raw_len)
        return ht_error_set(HT_EPARSE, "1-bit Pixel Data holds %zu bytes, the frame needs %llu",
                            raw_len, (unsigned long long)((bit_offset + pixels + 7) / 8));
    if ((err = frame_new(desc, HT_SAMPLE_U8, &f)) < 0)
        return err;
    px = f->samples;
    for (size_t i = 0; i < pixels; i++) {
        uint64_t bit = bit_offset + i;
        px[i] = (raw[bit / 8] >> (bit % 8)) & 1u; /* PS3.5 8.1.1: first pixel in the LSB */
    }
    f->bits_stored = 1;
    *out = f;
    return HT_OK;
}

static ht_sample_format grey_format(unsigned bits_allocated, int is_signed)
{
    switch (bits_allocated) {
    case 8:
        return is_signed ? HT_SAMPLE_S8 : HT_SAMPLE_U8;
    case 16:
        return is_signed ? HT_SAMPLE_S16 : HT_SAMPLE_U16;
    default:
        return is_signed ? HT_SAMPLE_S32 : HT_SAMPLE_U32;
    }
}

int ht_dicom__frame_from_raw(const ht_dicom__pixel_desc *desc,
                             const uint8_t *raw,
                             size_t raw_len,
                             uint64_t bit_offset,
                             ht_frame **out)
{
    size_t pixels = (size_t)desc->rows * desc->columns;
    unsigned bits = desc->bits_stored;
    int is_signed = desc->pixel_representation == 1;
    ht_frame *f;
    int err;

    *out = NULL;
    if (desc->bits_allocated == 1)
        return unpack_bits(desc, raw, raw_len, bit_offset, out);
    if (desc->samples_per_pixel == 3)
        return colour_frame(desc, raw, raw_len, out);
    if (desc->samples_per_pixel != 1)
        return ht_error_set(HT_EUNSUPPORTED, "%u samples per pixel are not supported",
                            desc->samples_per_pixel);
    if (desc->bits_allocated != 8 && desc->bits_allocated != 16 && desc->bits_allocated != 32)
        return ht_error_set(HT_EUNSUPPORTED, "Bits Allocated %u is not supported",
                            desc->bits_allocated);
    if (bits == 0 || bits > desc->bits_allocated)
        bits = desc->bits_allocated;
    if (raw_len < pixels * (desc->bits_allocated / 8u))
        return ht_error_set(HT_EPARSE, "frame has %zu bytes of pixel data, %zu expected", raw_len,
                            pixels * (desc->bits_allocated / 8u));
    if ((err = frame_new(desc, grey_format(desc->bits_allocated, is_signed), &f)) < 0)
        return err;
    f->bits_stored = (uint16_t)bits;
    if (bits == desc->bits_allocated) { /* nothing to mask or sign-extend: the common case */
        memcpy(f->samples, raw, pixels * (desc->bits_allocated / 8u));
        *out = f;
        return HT_OK;
    }
    for (size_t i = 0; i < pixels; i++) {
        uint32_t v;
        if (desc->bits_allocated == 8) {
            v = raw[i];
            ((uint8_t *)f->samples)[i] = (uint8_t)stored_value(v, bits, is_signed);
        } else if (desc->bits_allocated == 16) {
            uint16_t w;
            memcpy(&w, raw + 2 * i, 2);
            ((uint16_t *)f->samples)[i] = (uint16_t)stored_value(w, bits, is_signed);
        } else {
            memcpy(&v, raw + 4 * i, 4);
            ((uint32_t *)f->samples)[i] = (uint32_t)stored_value(v, bits, is_signed);
        }
    }
    *out = f;
    return HT_OK;
}

char *ht_dicom__utf8_sanitize(const char *text, size_t len, int *replaced)
{
    const unsigned char *s = (const unsigned char *)text;
    char *out = malloc(len * 3 + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t need = c < 0x80                   ? 0
                      : (c >= 0xC2 && c <= 0xDF) ? 1
                      : (c >= 0xE0 && c <= 0xEF) ? 2
                      : (c >= 0xF0 && c <= 0xF4) ? 3
                                                 : (size_t)-1;
        int ok = need != (size_t)-1 && i + need < len;
        for (size_t k = 1; ok && k <= need; k++)
            ok = i + k < len && (s[i + k] & 0xC0) == 0x80;
        if (ok && need == 2) /* no overlongs, no surrogates */
            ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);
        if (ok && need == 3)
            ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
        if (!ok) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            if (replaced)
                *replaced = 1;
            continue;
        }
        if (c == 0) /* an embedded NUL would end the C string early */
            break;
        memcpy(out + o, s + i, need + 1);
        o += need + 1;
        i += need + 1;
    }
    out[o] = '\0';
    return out;
}
