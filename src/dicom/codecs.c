/*
 * The two codecs DCMTK 3.6.7 lacks: JPEG 2000 (through OpenJPEG) and Deflated Image Frame
 * Compression, 1.2.840.10008.1.2.8.1 (through zlib).
 */
#include "dicom_internal.h"

#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- JPEG 2000 ---------------------------------------------------------------------------- */

typedef struct memory_stream {
    const uint8_t *data;
    size_t len;
    size_t pos;
} memory_stream;

static OPJ_SIZE_T mem_read(void *buffer, OPJ_SIZE_T n, void *user)
{
    memory_stream *m = user;
    size_t left = m->len - m->pos;
    if (left == 0)
        return (OPJ_SIZE_T)-1;
    if (n > left)
        n = left;
    memcpy(buffer, m->data + m->pos, n);
    m->pos += n;
    return n;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *user)
{
    memory_stream *m = user;
    if (n < 0 && (size_t)(-n) > m->pos)
        n = -(OPJ_OFF_T)m->pos;
    if (n > 0 && (size_t)n > m->len - m->pos)
        n = (OPJ_OFF_T)(m->len - m->pos);
    m->pos = (size_t)((OPJ_OFF_T)m->pos + n);
    return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T n, void *user)
{
    memory_stream *m = user;
    if (n < 0 || (size_t)n > m->len)
        return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}

/* OpenJPEG reports through callbacks; keep the first error for our own message. */
static void opj_error_cb(const char *msg, void *user)
{
    char *buf = user;
    if (buf[0] == '\0') {
        strncpy(buf, msg, 255);
        buf[255] = '\0';
        size_t n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
    }
}

static void opj_quiet_cb(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

static int j2k_is_jp2(const uint8_t *data, size_t len)
{
    static const uint8_t jp2_signature[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10};
    return len >= 12 && memcmp(data, jp2_signature, 12) == 0;
}

static int j2k_copy_samples(const ht_dicom__pixel_desc *desc, opj_image_t *img, ht_frame **out)
{
    size_t pixels = (size_t)desc->rows * desc->columns;
    ht_dicom__pixel_desc d = *desc;
    uint8_t *raw = NULL;
    int err;

    if (img->numcomps != desc->samples_per_pixel)
        return ht_error_set(HT_EPARSE,
                            "JPEG 2000 codestream has %u components, the dataset says %u",
                            img->numcomps, desc->samples_per_pixel);
    for (unsigned c = 0; c < img->numcomps; c++) {
        opj_image_comp_t *comp = &img->comps[c];
        if (comp->w != desc->columns || comp->h != desc->rows || comp->dx != 1 || comp->dy != 1)
            return ht_error_set(HT_EPARSE,
                                "JPEG 2000 component %u is %ux%u (subsampling %ux%u), the dataset "
                                "says %ux%u",
                                c, comp->w, comp->h, comp->dx, comp->dy, desc->columns, desc->rows);
        if (!comp->data)
            return ht_error_set(HT_EPARSE, "JPEG 2000 component %u decoded no data", c);
    }
    /* Planes of bits_allocated-wide samples; the codestream's integers carry the stored bits. */
    raw = malloc(pixels * img->numcomps * (desc->bits_allocated / 8u) + 1);
    if (!raw)
        return ht_error_set(HT_ENOMEM, "out of memory decoding JPEG 2000");
    for (unsigned c = 0; c < img->numcomps; c++) {
        const OPJ_INT32 *src = img->comps[c].data;
        for (size_t i = 0; i < pixels; i++) {
            uint32_t v = (uint32_t)src[i];
            size_t at = c * pixels + i;
            if (desc->bits_allocated == 8) {
                raw[at] = (uint8_t)v;
            } else if (desc->bits_allocated == 16) {
                uint16_t w = (uint16_t)v;
                memcpy(raw + 2 * at, &w, 2);
            } else {
                memcpy(raw + 4 * at, &v, 4);
            }
        }
    }
    d.planar_configuration = 1;
    /* OpenJPEG has already undone the codestream's colour transform (YBR_RCT / YBR_ICT). */
    if (img->numcomps == 3)
        d.photometric = "RGB";
    err = ht_dicom__frame_from_raw(&d, raw, pixels * img->numcomps * (desc->bits_allocated / 8u), 0,
                                   out);
    free(raw);
    return err;
}

int ht_dicom__frame_from_j2k(const ht_dicom__pixel_desc *desc,
                             const uint8_t *data,
                             size_t len,
                             ht_frame **out)
{
    memory_stream mem = {data, len, 0};
    char opj_message[256] = "";
    opj_stream_t *stream = NULL;
    opj_codec_t *codec = NULL;
    opj_image_t *img = NULL;
    opj_dparameters_t params;
    int err = HT_OK;

    *out = NULL;
    if (desc->bits_allocated != 8 && desc->bits_allocated != 16 && desc->bits_allocated != 32)
        return ht_error_set(HT_EUNSUPPORTED, "JPEG 2000 with Bits Allocated %u",
                            desc->bits_allocated);
    stream = opj_stream_create(64 * 1024, OPJ_TRUE);
    codec = opj_create_decompress(j2k_is_jp2(data, len) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (!stream || !codec) {
        err = ht_error_set(HT_ENOMEM, "out of memory starting the JPEG 2000 decoder");
        goto done;
    }
    opj_stream_set_user_data(stream, &mem, NULL);
    opj_stream_set_user_data_length(stream, len);
    opj_stream_set_read_function(stream, mem_read);
    opj_stream_set_skip_function(stream, mem_skip);
    opj_stream_set_seek_function(stream, mem_seek);
    opj_set_error_handler(codec, opj_error_cb, opj_message);
    opj_set_warning_handler(codec, opj_quiet_cb, NULL);
    opj_set_info_handler(codec, opj_quiet_cb, NULL);
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(codec, &params) || !opj_read_header(stream, codec, &img) ||
        !opj_decode(codec, stream, img) || !opj_end_decompress(codec, stream)) {
        err = ht_error_set(HT_EPARSE, "JPEG 2000 data cannot be decoded: %s",
                           opj_message[0] ? opj_message : "OpenJPEG failed");
        goto done;
    }
    err = j2k_copy_samples(desc, img, out);
done:
    if (img)
        opj_image_destroy(img);
    if (codec)
        opj_destroy_codec(codec);
    if (stream)
        opj_stream_destroy(stream);
    return err;
}

/* ---- Deflated Image Frame Compression ------------------------------------------------------ */

static int
inflate_with(const uint8_t *data, size_t len, size_t expected, int window_bits, uint8_t *dst)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, window_bits) != Z_OK)
        return ht_error_set(HT_ENOMEM, "cannot start zlib");
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = dst;
    z.avail_out = (uInt)expected;
    rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if ((rc != Z_STREAM_END && rc != Z_BUF_ERROR) || z.total_out != expected)
        return ht_error_set(HT_EPARSE,
                            "deflated frame inflates to %lu bytes, %zu expected (zlib: %s)",
                            z.total_out, expected, z.msg ? z.msg : zError(rc));
    return HT_OK;
}

int ht_dicom__inflate_frame(const uint8_t *data, size_t len, size_t expected, uint8_t **out)
{
    uint8_t *dst;
    int err;

    *out = NULL;
    if (len > UINT32_MAX || expected > UINT32_MAX)
        return ht_error_set(HT_EUNSUPPORTED, "deflated frame larger than 4 GiB");
    dst = malloc(expected + 1);
    if (!dst)
        return ht_error_set(HT_ENOMEM, "out of memory inflating a frame of %zu bytes", expected);
    /* The standard says raw DEFLATE; accept a zlib wrapper too, as some writers add one. */
    err = inflate_with(data, len, expected, -15, dst);
    if (err < 0 && len >= 2 && (data[0] & 0x0F) == 8 && ((data[0] << 8) | data[1]) % 31 == 0)
        err = inflate_with(data, len, expected, 15, dst);
    if (err < 0) {
        free(dst);
        return err;
    }
    *out = dst;
    return HT_OK;
}
