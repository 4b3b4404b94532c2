/*
 * DICOM JSON (PS3.18 F.2) of an opened object, through DCMTK's writer: text in UTF-8, Pixel Data
 * as a BulkDataURI. Every extern "C" function catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcjson.h"

#include <sstream>
#include <string>

#include "dcmtk_internal.hh"
#include "dicom_internal.h"

using namespace ht_dcmtk;

namespace
{

/* DICOM JSON (PS3.18 F.2) with pixel data as a BulkDataURI instead of kilobytes of base64. */
class json_format : public DcmJsonFormatCompact
{
  public:
    explicit json_format(const char *pixels_uri)
        : DcmJsonFormatCompact(OFFalse), pixels_uri_(pixels_uri ? pixels_uri : "")
    {
    }

    OFBool asBulkDataURI(const DcmTagKey &tag, OFString &uri) override
    {
        if (pixels_uri_.empty() ||
            (tag != DCM_PixelData && tag != DCM_FloatPixelData && tag != DCM_DoubleFloatPixelData))
            return OFFalse;
        uri = pixels_uri_.c_str();
        return OFTrue;
    }

  private:
    std::string pixels_uri_;
};

} // namespace

extern "C" int ht_dicom_to_json(ht_dicom *dcm, const char *pixels_uri, char **out)
{
    *out = nullptr;
    try {
        DcmDataset *ds = dataset_of(dcm);
        /* DICOM JSON is UTF-8. Where DCMTK cannot convert (ISO 2022 IR 87 with glibc's iconv),
         * the bytes left invalid are replaced below rather than the answer refused. */
        if (!dcm->charset_ascii)
            ds->convertToUTF8();
        json_format format(pixels_uri);
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
