/*
 * DICOM JSON (PS3.18 F.2) of an opened object, through DCMTK's writer: text in UTF-8, Pixel Data
 * as a BulkDataURI. Every extern "C" function catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcjson.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "dcmtk_internal.hh"
#include "dicom_internal.h"

using namespace ht_dcmtk;

namespace
{

bool is_pixels(const DcmTagKey &tag)
{
    return tag == DCM_PixelData || tag == DCM_FloatPixelData || tag == DCM_DoubleFloatPixelData;
}

bool is_binary(DcmEVR vr)
{
    return vr == EVR_OB || vr == EVR_OW || vr == EVR_OF || vr == EVR_OD || vr == EVR_OL ||
           vr == EVR_OV || vr == EVR_UN || vr == EVR_ox || vr == EVR_px || vr == EVR_PixelData;
}

/*
 * DICOM JSON (PS3.18 F.2) with the pixel data, and every other binary value of the dataset over
 * the threshold, as a BulkDataURI ("base/GGGGEEEE") instead of base64. DCMTK asks by tag only,
 * so the tags are chosen from the top level of the dataset beforehand.
 */
class json_format : public DcmJsonFormatCompact
{
  public:
    json_format(DcmDataset *ds, const char *bulk_base, size_t threshold)
        : DcmJsonFormatCompact(OFFalse), base_(bulk_base ? bulk_base : "")
    {
        for (unsigned long i = 0; bulk_base && i < ds->card(); i++) {
            DcmElement *el = ds->getElement(i);
            if (el && (is_pixels(el->getTag()) ||
                       (is_binary(el->ident()) && el->getLength() > threshold)))
                tags_.push_back(el->getTag());
        }
    }

    OFBool asBulkDataURI(const DcmTagKey &tag, OFString &uri) override
    {
        for (const DcmTagKey &t : tags_)
            if (t == tag) {
                char hex[16];
                std::snprintf(hex, sizeof(hex), "/%04X%04X", tag.getGroup(), tag.getElement());
                uri = (base_ + hex).c_str();
                return OFTrue;
            }
        return OFFalse;
    }

  private:
    std::string base_;
    std::vector<DcmTagKey> tags_;
};

} // namespace

extern "C" int ht_dicom_to_json(ht_dicom *dcm, const char *bulk_base, size_t threshold, char **out)
{
    *out = nullptr;
    try {
        DcmDataset *ds = dataset_of(dcm);
        /* DICOM JSON is UTF-8. Where DCMTK cannot convert (ISO 2022 IR 87 with glibc's iconv),
         * the bytes left invalid are replaced below rather than the answer refused. */
        if (!dcm->charset_ascii)
            ds->convertToUTF8();
        json_format format(ds, bulk_base, threshold);
        std::ostringstream os;
        os << '{'; /* DcmDataset writes the members; the object around them is ours */
        OFCondition cond = ds->writeJson(os, format);
        os << '}';
        if (cond.bad())
            return ht_error_set(HT_EPARSE, "cannot write the dataset as DICOM JSON: %s",
                                cond.text());
        std::string text = os.str();
        int replaced = 0;
        *out = ht_dicom__utf8_sanitize(text.data(), text.size(), &replaced);
        return *out ? HT_OK : ht_error_set(HT_ENOMEM, "out of memory writing DICOM JSON");
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory writing DICOM JSON");
    }
}

extern "C" int ht_dicom_element_bytes(
    const ht_dicom *dcm, uint16_t group, uint16_t element, uint8_t **out, size_t *len)
{
    *out = nullptr;
    *len = 0;
    try {
        DcmElement *el = nullptr;
        if (dataset_of(dcm)->findAndGetElement(DcmTagKey(group, element), el, OFFalse).bad() || !el)
            return ht_error_set(HT_ENOTFOUND, "the dataset has no (%04X,%04X)", group, element);
        bool encapsulated = DcmXfer(dcm->info.transfer_syntax_uid).isEncapsulated();
        if (el->ident() == EVR_SQ || (el->ident() == EVR_PixelData && encapsulated))
            return ht_error_set(HT_EUNSUPPORTED,
                                "(%04X,%04X) is %s: it has no bytes of its own to give", group,
                                element, el->ident() == EVR_SQ ? "a sequence" : "encapsulated");
        Uint8 *bytes = nullptr;
        Uint32 n = el->getLength();
        if (n && (el->getUint8Array(bytes).bad() || !bytes))
            return ht_error_set(HT_EUNSUPPORTED, "(%04X,%04X) cannot be read as bytes", group,
                                element);
        *out = (uint8_t *)std::malloc(n ? n : 1);
        if (!*out)
            return ht_error_set(HT_ENOMEM, "out of memory reading (%04X,%04X)", group, element);
        if (n)
            std::memcpy(*out, bytes, n);
        *len = n;
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory reading (%04X,%04X)", group, element);
    }
}
