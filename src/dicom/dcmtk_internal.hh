/*
 * What the C++ files of the DCMTK shim share (dicom.cc, frames.cc, json.cc): the object behind
 * ht_dicom, the transfer syntax table's lookup, and the attribute getters frame decoding needs.
 * C++ only and not a public header: DCMTK types never leave src/dicom.
 */
#ifndef HEPATRACK_DCMTK_INTERNAL_HH
#define HEPATRACK_DCMTK_INTERNAL_HH

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcspchrs.h"

#include <cstdint>
#include <deque>
#include <string>

#include "hepatrack/dicom.h"

struct ht_dicom {
    DcmFileFormat file;
    std::deque<std::string> strings; /* storage behind info's const char * (stable addresses) */
    std::string warnings;
    ht_dicom_info info;
    DcmSpecificCharacterSet charset;
    bool charset_selected = false;
    bool charset_ascii = true;
    bool dicomdir = false; /* File Meta's Media Storage SOP Class is the directory's */

    const char *keep(std::string s)
    {
        strings.push_back(std::move(s));
        return strings.back().c_str();
    }

    void warn(const std::string &w)
    {
        if (!warnings.empty())
            warnings += "; ";
        warnings += w;
    }
};

namespace ht_dcmtk
{

enum codec_kind { CODEC_NATIVE, CODEC_DCMTK, CODEC_J2K, CODEC_DEFLATE_FRAME, CODEC_NONE };

struct ts_entry {
    const char *uid;
    const char *name;
    codec_kind codec;
};

/* The entry for `uid` in the table of transfer syntaxes the file layer decodes, or null. */
const ts_entry *find_ts(const char *uid);

inline DcmDataset *dataset_of(const ht_dicom *dcm)
{
    return const_cast<DcmFileFormat &>(dcm->file).getDataset();
}

/* `n` values of `tag` for `frame`: from the functional group `macro` (the frame's own, then the
 * shared one), else from the top level of the dataset. */
bool get_double_fg(DcmDataset *ds,
                   const DcmTagKey &macro,
                   const DcmTagKey &tag,
                   uint32_t frame,
                   double *out,
                   unsigned long n);

/* An unsigned 16-bit value of `tag` in `item`, or `fallback`. */
uint16_t get_u16(DcmItem *item, const DcmTagKey &tag, uint16_t fallback);

} // namespace ht_dcmtk

#endif
