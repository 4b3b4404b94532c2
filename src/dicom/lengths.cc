/*
 * Before DCMTK parses a buffer, check that no element, item or fragment claims more bytes than
 * there are: DCMTK allocates an element's declared length before reading it, so a 4 GiB claim
 * in a 1 KiB file would become a 4 GiB allocation. This walks the element headers (recursing
 * into sequences, items and encapsulated Pixel Data) without interpreting any value.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dctag.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

#include "dicom_internal.h"

namespace
{

const uint32_t UNDEFINED = 0xFFFFFFFFu;
const int MAX_DEPTH = 48;

struct walker {
    const uint8_t *d;
    size_t len;
    bool big_endian;
    std::string error;

    uint16_t u16(size_t p) const
    {
        return big_endian ? (uint16_t)(d[p] << 8 | d[p + 1]) : (uint16_t)(d[p] | d[p + 1] << 8);
    }
    uint32_t u32(size_t p) const
    {
        return big_endian ? ((uint32_t)d[p] << 24 | (uint32_t)d[p + 1] << 16 |
                             (uint32_t)d[p + 2] << 8 | d[p + 3])
                          : ((uint32_t)d[p] | (uint32_t)d[p + 1] << 8 | (uint32_t)d[p + 2] << 16 |
                             (uint32_t)d[p + 3] << 24);
    }
    bool fail(const char *what, uint16_t g, uint16_t e, uint64_t claimed, size_t left)
    {
        char buf[200];
        std::snprintf(buf, sizeof(buf), "%s (%04X,%04X) claims %llu bytes, but only %zu remain",
                      what, g, e, (unsigned long long)claimed, left);
        error = buf;
        return false;
    }

    /* Items of a sequence (or fragments of Pixel Data) from p up to end, or up to a Sequence
     * Delimitation Item when end is the container's undefined end; *next gets the position
     * after it. */
    bool items(size_t p,
               size_t end,
               bool undefined,
               bool explicit_vr,
               bool fragments,
               int depth,
               size_t *next)
    {
        while (p < end) {
            if (end - p < 8)
                return fail("item header", 0xFFFE, 0xE000, 8, end - p);
            uint16_t g = u16(p), e = u16(p + 2);
            uint32_t n = u32(p + 4);
            p += 8;
            if (g == 0xFFFE && e == 0xE0DD) { /* sequence delimiter */
                if (next)
                    *next = p;
                return true;
            }
            if (g != 0xFFFE || e != 0xE000)
                return true; /* not an item: leave the oddity to DCMTK's own parser */
            if (n == UNDEFINED) {
                if (fragments)
                    return fail("Pixel Data fragment", g, e, n, end - p);
                if (!elements(p, end, true, explicit_vr, depth + 1, &p))
                    return false;
                continue;
            }
            if (n > end - p)
                return fail(fragments ? "Pixel Data fragment" : "item", g, e, n, end - p);
            if (!fragments && !elements(p, p + n, false, explicit_vr, depth + 1, nullptr))
                return false;
            p += n;
        }
        if (undefined && next)
            *next = p;
        return true;
    }

    /* Elements from p up to end (or an Item Delimitation Item when undefined). */
    bool elements(size_t p, size_t end, bool undefined, bool explicit_vr, int depth, size_t *next)
    {
        if (depth > MAX_DEPTH) {
            error = "sequences nested more than 48 deep";
            return false;
        }
        while (p < end) {
            if (end - p < 8)
                return undefined ? fail("element header", 0, 0, 8, end - p) : true;
            uint16_t g = u16(p), e = u16(p + 2);
            if (g == 0xFFFE) { /* an item delimiter ends an undefined-length item */
                if (e == 0xE00D && undefined && next) {
                    *next = p + 8;
                    return true;
                }
                return true; /* misplaced delimiter: DCMTK reports it better */
            }
            uint32_t n;
            size_t header;
            bool sequence = false;
            char vr[3] = {0, 0, 0};
            if (explicit_vr) {
                vr[0] = (char)d[p + 4];
                vr[1] = (char)d[p + 5];
                /* As DCMTK reads them: a VR of two capital letters that it does not know has a
                 * 4-byte length, anything else that is not a VR a 2-byte one. */
                bool letters = vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z';
                if (letters && !ht_dicom__is_short_vr(vr)) {
                    if (end - p < 12)
                        return fail("element header", g, e, 12, end - p);
                    n = u32(p + 8);
                    header = 12;
                } else {
                    n = u16(p + 6);
                    header = 8;
                }
                sequence =
                    std::strcmp(vr, "SQ") == 0 || (std::strcmp(vr, "UN") == 0 && n == UNDEFINED);
            } else {
                n = u32(p + 4);
                header = 8;
                sequence = DcmTag(g, e).getEVR() == EVR_SQ || n == UNDEFINED;
            }
            p += header;
            bool pixel = g == 0x7FE0 && e == 0x0010;
            if (n == UNDEFINED) {
                /* A sequence, or encapsulated Pixel Data; CP-246: UN of undefined length is
                 * an implicit VR sequence. */
                bool nested_explicit = explicit_vr && std::strcmp(vr, "UN") != 0;
                size_t after = end;
                if (!items(p, end, true, nested_explicit, pixel, depth, &after))
                    return false;
                p = after;
                continue;
            }
            if (n > end - p)
                return fail("element", g, e, n, end - p);
            if (sequence && !pixel && !items(p, p + n, false, explicit_vr, false, depth, nullptr))
                return false;
            p += n;
        }
        if (undefined && next)
            *next = p;
        return true;
    }
};

/* Inflate a deflated dataset (1.2.840.10008.1.2.1.99) into out, refusing to grow past cap. */
bool inflate_dataset(
    const uint8_t *d, size_t len, size_t cap, std::vector<uint8_t> &out, std::string &error)
{
    z_stream z;
    std::memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
        error = "cannot start zlib";
        return false;
    }
    z.next_in = const_cast<Bytef *>(d);
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (out.size() >= cap) {
            error = "deflated dataset inflates to more than 1 GiB";
            inflateEnd(&z);
            return false;
        }
        size_t old = out.size();
        out.resize(old + 256 * 1024);
        z.next_out = out.data() + old;
        z.avail_out = 256 * 1024;
        rc = inflate(&z, Z_NO_FLUSH);
        out.resize(out.size() - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            break; /* truncated stream: DCMTK will say so */
    }
    inflateEnd(&z);
    return true;
}

} // namespace

extern "C" int ht_dicom__check_lengths(
    const uint8_t *data, size_t len, size_t offset, const char *ts, size_t *inflated_len)
{
    *inflated_len = 0;
    walker w{data, len, false, ""};
    bool explicit_vr = true;
    std::vector<uint8_t> inflated;

    if (std::strcmp(ts, "1.2.840.10008.1.2") == 0)
        explicit_vr = false;
    else if (std::strcmp(ts, "1.2.840.10008.1.2.2") == 0)
        w.big_endian = true;
    else if (std::strcmp(ts, "1.2.840.10008.1.2.1.99") == 0) {
        if (!inflate_dataset(data + offset, len - offset, (size_t)1 << 30, inflated, w.error))
            return ht_error_set(HT_EPARSE, "%s", w.error.c_str());
        w.d = inflated.data();
        w.len = inflated.size();
        *inflated_len = inflated.size();
        *inflated_len = inflated.size();
        offset = 0;
    } else if (ts[0] == '\0' && len >= offset + 6) {
        /* No transfer syntax in the File Meta: sniff for a VR as DCMTK does. Any other
         * transfer syntax DCMTK reads as Explicit VR Little Endian, and so do we. */
        uint8_t a = data[offset + 4], b = data[offset + 5];
        explicit_vr = a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z';
    }
    if (!w.elements(offset, w.len, false, explicit_vr, 0, nullptr))
        return ht_error_set(HT_EPARSE, "DICOM dataset cannot be parsed: %s", w.error.c_str());
    return HT_OK;
}
