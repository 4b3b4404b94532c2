/*
 * Frame decoding: one frame of Pixel Data as plain samples, whatever the transfer syntax. Native
 * data and DCMTK's codecs (RLE, JPEG, JPEG-LS) through DCMTK; JPEG 2000 and Deflated Image Frame
 * Compression from the frame's fragments through codecs.c. Every extern "C" function catches
 * every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "dcmtk_internal.hh"
#include "dicom_internal.h"

using namespace ht_dcmtk;

namespace
{

void pixel_desc(const ht_dicom *dcm,
                uint32_t frame,
                ht_dicom__pixel_desc *d,
                std::string &photometric)
{
    DcmDataset *ds = dataset_of(dcm);
    const ht_dicom_info &in = dcm->info;
    std::memset(d, 0, sizeof(*d));
    d->rows = in.rows;
    d->columns = in.columns;
    d->samples_per_pixel = in.samples_per_pixel;
    d->bits_allocated = in.bits_allocated;
    d->bits_stored = in.bits_stored;
    d->pixel_representation = in.pixel_representation;
    d->planar_configuration = get_u16(ds, DCM_PlanarConfiguration, 0);
    photometric = in.photometric_interpretation;
    d->photometric = photometric.c_str();
    d->rescale_slope = 1.0;
    d->rescale_intercept = 0.0;
    double v;
    if (get_double_fg(ds, DCM_PixelValueTransformationSequence, DCM_RescaleSlope, frame, &v, 1))
        d->rescale_slope = v;
    if (get_double_fg(ds, DCM_PixelValueTransformationSequence, DCM_RescaleIntercept, frame, &v, 1))
        d->rescale_intercept = v;
}

struct fragment {
    const uint8_t *data;
    size_t len;
};

bool starts_codestream(const fragment &f)
{
    /* JPEG, JPEG-LS: SOI; JPEG 2000: SOC + SIZ; or a JP2 signature box. */
    if (f.len >= 2 && f.data[0] == 0xFF && f.data[1] == 0xD8)
        return true;
    if (f.len >= 4 && f.data[0] == 0xFF && f.data[1] == 0x4F && f.data[2] == 0xFF &&
        f.data[3] == 0x51)
        return true;
    return f.len >= 8 && std::memcmp(f.data + 4, "jP  ", 4) == 0;
}

/* The fragments of the encapsulated Pixel Data, and the Basic Offset Table. */
int fragments_of(const ht_dicom *dcm,
                 std::vector<fragment> &frags,
                 std::vector<uint32_t> &bot,
                 DcmPixelSequence **seq_out)
{
    DcmDataset *ds = dataset_of(dcm);
    DcmElement *el = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el)
        return ht_error_set(HT_ENOTFOUND, "no Pixel Data");
    if (el->ident() != EVR_PixelData)
        return ht_error_set(HT_EPARSE, "Pixel Data (7FE0,0010) is not encapsulated as the "
                                       "transfer syntax requires");
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    E_TransferSyntax repType = EXS_Unknown;
    const DcmRepresentationParameter *param = nullptr;
    pd->getOriginalRepresentationKey(repType, param);
    DcmPixelSequence *seq = nullptr;
    if (pd->getEncapsulatedRepresentation(repType, param, seq).bad() || !seq)
        return ht_error_set(HT_EPARSE, "Pixel Data is not encapsulated as the transfer syntax "
                                       "requires");
    unsigned long n = seq->card();
    for (unsigned long i = 0; i < n; i++) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (seq->getItem(item, i).bad() || !item)
            return ht_error_set(HT_EPARSE, "cannot read Pixel Data fragment %lu", i);
        Uint32 len = item->getLength();
        if (len > 0 && (item->getUint8Array(bytes).bad() || !bytes))
            return ht_error_set(HT_EPARSE, "cannot read Pixel Data fragment %lu", i);
        if (i == 0) {
            for (Uint32 k = 0; k + 4 <= len; k += 4) {
                uint32_t off;
                std::memcpy(&off, bytes + k, 4); /* DCMTK keeps item bytes as in the file (LE) */
                bot.push_back(off);
            }
        } else {
            frags.push_back({bytes, len});
        }
    }
    if (seq_out)
        *seq_out = seq;
    return HT_OK;
}

/* The fragments [first, last) that hold frame `frame` (PS3.5 A.4). */
int frame_fragments(const std::vector<fragment> &frags,
                    const std::vector<uint32_t> &bot,
                    uint32_t frame,
                    uint32_t frames,
                    size_t *first,
                    size_t *last)
{
    if (frags.empty())
        return ht_error_set(HT_EPARSE, "encapsulated Pixel Data has no fragments");
    if (bot.size() == frames && frames > 0) {
        uint64_t pos = 0;
        size_t begin = frags.size(), end = frags.size();
        for (size_t i = 0; i < frags.size(); i++) {
            if (pos == bot[frame] && begin == frags.size())
                begin = i;
            if (frame + 1 < frames && pos == bot[frame + 1]) {
                end = i;
                break;
            }
            pos += 8 + frags[i].len;
        }
        if (begin < end) {
            *first = begin;
            *last = end;
            return HT_OK;
        }
        /* A Basic Offset Table that does not match the fragments: fall through and infer. */
    }
    if (frames == 1) {
        *first = 0;
        *last = frags.size();
        return HT_OK;
    }
    if (frags.size() == frames) {
        *first = frame;
        *last = frame + 1;
        return HT_OK;
    }
    std::vector<size_t> starts;
    for (size_t i = 0; i < frags.size(); i++)
        if (starts_codestream(frags[i]))
            starts.push_back(i);
    if (starts.size() != frames || starts[0] != 0)
        return ht_error_set(HT_EPARSE,
                            "cannot tell which of %zu fragments hold each of %u frames (no usable "
                            "Basic Offset Table)",
                            frags.size(), frames);
    *first = starts[frame];
    *last = frame + 1 < frames ? starts[frame + 1] : frags.size();
    return HT_OK;
}

std::vector<uint8_t> join(const std::vector<fragment> &frags, size_t first, size_t last)
{
    std::vector<uint8_t> out;
    for (size_t i = first; i < last; i++)
        out.insert(out.end(), frags[i].data, frags[i].data + frags[i].len);
    return out;
}

int decode_native(const ht_dicom *dcm,
                  const ht_dicom__pixel_desc &d,
                  uint32_t frame,
                  ht_frame **out)
{
    DcmDataset *ds = dataset_of(dcm);
    DcmElement *el = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el)
        return ht_error_set(HT_EUNSUPPORTED, "only integer Pixel Data (7FE0,0010) is decoded");
    size_t frame_bytes = ht_dicom__frame_bytes(&d);
    Uint32 total = el->getLength();
    if (d.bits_allocated == 1) {
        Uint8 *bytes = nullptr;
        if (total > 0 && (el->getUint8Array(bytes).bad() || !bytes))
            return ht_error_set(HT_EPARSE, "cannot read 1-bit Pixel Data");
        uint64_t bit_offset = (uint64_t)frame * d.rows * d.columns;
        return ht_dicom__frame_from_raw(&d, bytes, total, bit_offset, out);
    }
    if ((uint64_t)(frame + 1) * frame_bytes > total)
        return ht_error_set(HT_EPARSE, "Pixel Data holds %u bytes; frame %u needs bytes up to %llu",
                            total, frame + 1,
                            (unsigned long long)((uint64_t)(frame + 1) * frame_bytes));
    if (el->ident() != EVR_PixelData) /* a broken file: Pixel Data with another VR */
        return ht_error_set(HT_EPARSE, "Pixel Data (7FE0,0010) has an unexpected VR");
    std::vector<uint8_t> buf(frame_bytes + (frame_bytes & 1));
    Uint32 start = 0;
    OFString colour;
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    OFCondition c =
        pd->getUncompressedFrame(ds, frame, start, buf.data(), (Uint32)buf.size(), colour);
    if (c.bad())
        return ht_error_set(HT_EPARSE, "cannot read frame %u: %s", frame + 1, c.text());
    return ht_dicom__frame_from_raw(&d, buf.data(), frame_bytes, 0, out);
}

/*
 * No codec expands data by more than this (a blank 16-bit slice in RLE is about 1:128): a
 * frame claiming more is refused before its buffer is allocated, as a lying length would be.
 */
constexpr size_t max_expansion = 1024;
constexpr size_t min_frame_allowance = 64u << 20; /* frames up to 64 MiB are never refused */

/* The fragments of the encapsulated Pixel Data and which of them, [first, last), hold frame;
 * HT_EPARSE when the frame's declared size is not credible for its compressed bytes. */
int frame_range(const ht_dicom *dcm,
                const ht_dicom__pixel_desc &d,
                uint32_t frame,
                std::vector<fragment> &frags,
                size_t *first,
                size_t *last)
{
    std::vector<uint32_t> bot;
    int err = fragments_of(dcm, frags, bot, nullptr);
    if (err < 0)
        return err;
    if ((err = frame_fragments(frags, bot, frame, dcm->info.number_of_frames, first, last)) < 0)
        return err;
    size_t compressed = 0;
    for (size_t k = *first; k < *last; k++)
        compressed += frags[k].len;
    size_t declared = ht_dicom__frame_bytes(&d);
    if (declared > min_frame_allowance && declared / max_expansion > compressed)
        return ht_error_set(HT_EPARSE,
                            "frame %u declares %zu decoded bytes (%ux%u, %u bits, %u samples) "
                            "from %zu compressed bytes: not credible",
                            frame + 1, declared, d.columns, d.rows, d.bits_allocated,
                            d.samples_per_pixel, compressed);
    return HT_OK;
}

int decode_dcmtk(const ht_dicom *dcm, ht_dicom__pixel_desc &d, uint32_t frame, ht_frame **out)
{
    DcmDataset *ds = dataset_of(dcm);
    std::vector<fragment> frags;
    size_t first = 0, last = 0;
    int err = frame_range(dcm, d, frame, frags, &first, &last);
    if (err < 0)
        return err;
    DcmElement *el = nullptr;
    ds->findAndGetElement(DCM_PixelData, el);
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    size_t frame_bytes = ht_dicom__frame_bytes(&d);
    std::vector<uint8_t> buf(frame_bytes + (frame_bytes & 1));
    /* DCMTK counts pixel items with the offset table as item 0, so fragment k is item k+1. */
    Uint32 start = (Uint32)first + 1;
    OFString colour;
    OFCondition c =
        pd->getUncompressedFrame(ds, frame, start, buf.data(), (Uint32)buf.size(), colour);
    if (c.bad())
        return ht_error_set(HT_EPARSE, "cannot decode frame %u (%s): %s", frame + 1,
                            ht_dicom_transfer_syntax_name(dcm->info.transfer_syntax_uid), c.text());
    std::string model(colour.c_str());
    if (!model.empty())
        d.photometric = model.c_str();
    return ht_dicom__frame_from_raw(&d, buf.data(), frame_bytes, 0, out);
}

int decode_j2k_or_deflate(
    const ht_dicom *dcm, const ht_dicom__pixel_desc &d, uint32_t frame, bool j2k, ht_frame **out)
{
    std::vector<fragment> frags;
    size_t first = 0, last = 0;
    int err = frame_range(dcm, d, frame, frags, &first, &last);
    if (err < 0)
        return err;
    std::vector<uint8_t> bytes = join(frags, first, last);
    if (j2k)
        return ht_dicom__frame_from_j2k(&d, bytes.data(), bytes.size(), out);
    uint8_t *raw = nullptr;
    size_t expected = ht_dicom__frame_bytes(&d);
    if ((err = ht_dicom__inflate_frame(bytes.data(), bytes.size(), expected, &raw)) < 0)
        return err;
    err = ht_dicom__frame_from_raw(&d, raw, expected, 0, out);
    std::free(raw);
    return err;
}

} // namespace

/* HT_OK when the object has a frame `index` (from 0). */
static int frame_exists(const ht_dicom_info &in, uint32_t index)
{
    if (!in.has_pixel_data)
        return ht_error_set(HT_ENOTFOUND, "the object has no Pixel Data");
    if (index >= in.number_of_frames)
        return ht_error_set(HT_ENOTFOUND, "frame %u requested, the object has %u", index + 1,
                            in.number_of_frames);
    return HT_OK;
}

extern "C" int ht_dicom_frame_decode(const ht_dicom *dcm, uint32_t index, ht_frame **out)
{
    *out = nullptr;
    const ht_dicom_info &in = dcm->info;
    if (int err = frame_exists(in, index))
        return err;
    if (in.rows == 0 || in.columns == 0)
        return ht_error_set(HT_EPARSE, "Rows or Columns is missing or zero");
    if (in.bits_allocated == 0 || in.bits_allocated > 32)
        return ht_error_set(HT_EUNSUPPORTED, "Bits Allocated %u is not supported",
                            in.bits_allocated);
    const ts_entry *ts = find_ts(in.transfer_syntax_uid);
    if (!ts)
        return ht_error_set(HT_EUNSUPPORTED, "transfer syntax %s is not supported",
                            *in.transfer_syntax_uid ? in.transfer_syntax_uid : "(none)");
    try {
        ht_dicom__pixel_desc d;
        std::string photometric;
        pixel_desc(dcm, index, &d, photometric);
        switch (ts->codec) {
        case CODEC_NATIVE:
            return decode_native(dcm, d, index, out);
        case CODEC_DCMTK:
            return decode_dcmtk(dcm, d, index, out);
        case CODEC_J2K:
            return decode_j2k_or_deflate(dcm, d, index, true, out);
        case CODEC_DEFLATE_FRAME:
            return decode_j2k_or_deflate(dcm, d, index, false, out);
        case CODEC_NONE:
            break;
        }
        return ht_error_set(HT_EUNSUPPORTED, "transfer syntax %s is not supported",
                            in.transfer_syntax_uid);
    } catch (const std::bad_alloc &) {
        return ht_error_set(HT_ENOMEM, "out of memory decoding frame %u", index + 1);
    } catch (...) {
        return ht_error_set(HT_EINTERNAL, "unexpected failure decoding frame %u", index + 1);
    }
}

extern "C" int
ht_dicom_frame_stored(const ht_dicom *dcm, uint32_t index, uint8_t **out, size_t *len)
{
    *out = nullptr;
    *len = 0;
    const ht_dicom_info &in = dcm->info;
    if (int err = frame_exists(in, index))
        return err;
    const ts_entry *ts = find_ts(in.transfer_syntax_uid);
    if (!ts)
        return ht_error_set(HT_EUNSUPPORTED, "transfer syntax %s is not supported",
                            *in.transfer_syntax_uid ? in.transfer_syntax_uid : "(none)");
    try {
        ht_dicom__pixel_desc d;
        std::string photometric;
        pixel_desc(dcm, index, &d, photometric);
        std::vector<uint8_t> bytes;
        if (ts->codec == CODEC_NATIVE) {
            DcmElement *el = nullptr;
            Uint8 *all = nullptr;
            size_t frame_bytes = ht_dicom__frame_bytes(&d);
            uint64_t start = (uint64_t)index * frame_bytes;
            if (d.bits_allocated == 1 && ((uint64_t)index * d.rows * d.columns) % 8 != 0)
                return ht_error_set(HT_EUNSUPPORTED,
                                    "frame %u of 1-bit Pixel Data does not start on a byte",
                                    index + 1);
            if (d.bits_allocated == 1)
                start = (uint64_t)index * d.rows * d.columns / 8;
            if (dataset_of(dcm)->findAndGetElement(DCM_PixelData, el).bad() || !el ||
                el->getUint8Array(all).bad() || !all || start + frame_bytes > el->getLength())
                return ht_error_set(HT_EPARSE, "Pixel Data is shorter than frame %u needs",
                                    index + 1);
            bytes.assign(all + start, all + start + frame_bytes);
        } else {
            std::vector<fragment> frags;
            size_t first = 0, last = 0;
            int err = frame_range(dcm, d, index, frags, &first, &last);
            if (err < 0)
                return err;
            bytes = join(frags, first, last);
        }
        *out = (uint8_t *)std::malloc(bytes.size() ? bytes.size() : 1);
        if (!*out)
            return ht_error_set(HT_ENOMEM, "out of memory reading frame %u", index + 1);
        std::memcpy(*out, bytes.data(), bytes.size());
        *len = bytes.size();
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory reading frame %u", index + 1);
    }
}
