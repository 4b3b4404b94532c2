/*
 * Where an uncompressed object's Pixel Data lies in its Part 10 bytes. Found once at ingest and
 * kept in the index, it lets a frame be read from the archive without parsing the file: the
 * object's last element must be Pixel Data of exactly the length its Image Pixel module
 * implies, which its element header, checked byte for byte, confirms.
 */
#include "hepatrack/dicom.h"

#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ht_dicom_native_pixels(const ht_dicom *dcm,
                           const uint8_t *data,
                           size_t len,
                           ht_native_pixels *out)
{
    static const uint8_t tag[4] = {0xE0, 0x7F, 0x10, 0x00};
    const ht_dicom_info *in = ht_dicom_get_info(dcm);
    int explicit_le = !strcmp(in->transfer_syntax_uid, "1.2.840.10008.1.2.1");
    memset(out, 0, sizeof(*out));
    if (!in->has_pixel_data || !in->number_of_frames ||
        (!explicit_le && strcmp(in->transfer_syntax_uid, "1.2.840.10008.1.2")) ||
        (in->bits_allocated != 8 && in->bits_allocated != 16 && in->bits_allocated != 32))
        return 0;
    uint64_t frame =
        (uint64_t)in->rows * in->columns * in->samples_per_pixel * (in->bits_allocated / 8);
    uint64_t total = frame * in->number_of_frames, padded = total + (total & 1);
    size_t header = explicit_le ? 12 : 8;
    if (!frame || padded > UINT32_MAX || len < padded + header)
        return 0;
    const uint8_t *h = data + len - padded - header;
    if (memcmp(h, tag, 4) || le32(h + header - 4) != padded)
        return 0;
    if (explicit_le && (h[4] != 'O' || (h[5] != 'W' && h[5] != 'B') || h[6] || h[7]))
        return 0;
    out->offset = len - padded;
    out->frame_bytes = frame;
    out->as_decoded = in->samples_per_pixel == 1 && in->bits_stored == in->bits_allocated;
    return 1;
}
