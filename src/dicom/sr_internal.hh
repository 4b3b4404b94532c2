/*
 * What the SR reader (sr_read.cc) and writer (sr_write.cc) share: the codes of spec 11, the
 * SRT-to-SCT table, quantities and UCUM units, and small string helpers. C++ only and not a
 * public header: DCMTK types never leave src/dicom.
 */
#ifndef HEPATRACK_SR_INTERNAL_HH
#define HEPATRACK_SR_INTERNAL_HH

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmsr/dsrcodvl.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "hepatrack/sr.h"

namespace ht_sr
{

/* A code of spec 11 or of the templates hepatrack writes. */
struct code {
    const char *value, *scheme, *meaning;
    DSRCodedEntryValue entry() const
    {
        return DSRCodedEntryValue(value, scheme, meaning);
    }
    bool is(const DSRCodedEntryValue &c) const
    {
        return c.getCodeValue() == value && c.getCodingSchemeDesignator() == scheme;
    }
};

/* Document, containers and context (TID 1500, 1001, 1204, 1502, 1600). */
constexpr code MEASUREMENT_REPORT{"126000", "DCM", "Imaging Measurement Report"};
constexpr code LANGUAGE{"121049", "DCM", "Language of Content Item and Descendants"};
constexpr code ENGLISH_US{"en-US", "RFC5646", "English (United States)"};
constexpr code OBSERVER_TYPE{"121005", "DCM", "Observer Type"};
constexpr code PERSON{"121006", "DCM", "Person"};
constexpr code PERSON_OBSERVER_NAME{"121008", "DCM", "Person Observer Name"};
constexpr code PROCEDURE_REPORTED{"121058", "DCM", "Procedure reported"};
constexpr code CT_PROCEDURE{"25045-6", "LN", "CT unspecified body region"};
constexpr code MR_PROCEDURE{"25056-3", "LN", "MR unspecified body region"};
constexpr code IMAGING_PROCEDURE{"363679005", "SCT", "Imaging procedure"};
constexpr code TIME_POINT{"C2348792", "UMLS", "Time Point"};
constexpr code IMAGE_LIBRARY{"111028", "DCM", "Image Library"};
constexpr code IMAGE_LIBRARY_GROUP{"126200", "DCM", "Image Library Group"};
constexpr code IMAGING_MEASUREMENTS{"126010", "DCM", "Imaging Measurements"};
constexpr code QUALITATIVE_EVALUATIONS{"C0034375", "UMLS", "Qualitative Evaluations"};
constexpr code COMMENT{"121106", "DCM", "Comment"};

/* Groups (TID 1501, 1410, 1411) and measurements (TID 300, 1419). */
constexpr code MEASUREMENT_GROUP{"125007", "DCM", "Measurement Group"};
constexpr code TRACKING_ID{"112039", "DCM", "Tracking Identifier"};
constexpr code TRACKING_UID{"112040", "DCM", "Tracking Unique Identifier"};
constexpr code FINDING{"121071", "DCM", "Finding"};
constexpr code NEOPLASM{"108369006", "SCT", "Neoplasm"};
constexpr code FINDING_SITE{"363698007", "SCT", "Finding Site"};
constexpr code IMAGE_REGION{"111030", "DCM", "Image Region"};
constexpr code DERIVATION{"121401", "DCM", "Derivation"};
constexpr code LONG_AXIS{"103339001", "SCT", "Long Axis"};
constexpr code SHORT_AXIS{"103340004", "SCT", "Short Axis"};
constexpr code LENGTH{"410668003", "SCT", "Length"};
constexpr code MEAN{"373098007", "SCT", "Mean"};
constexpr code AREA{"42798000", "SCT", "Area"};
constexpr code VOLUME{"118565006", "SCT", "Volume"};
constexpr code ATTENUATION{"112031", "DCM", "Attenuation Coefficient"};
constexpr code UNIT_MM{"mm", "UCUM", "millimeter"};
constexpr code UNIT_HU{"[hnsf'U]", "UCUM", "Hounsfield unit"};
/* Template groups that name their volume by a segmentation (TID 1411 rows 7-9). */
constexpr code REFERENCED_SEGMENT{"121191", "DCM", "Referenced Segment"};
constexpr code REFERENCED_SEGMENTATION_FRAME{"121214", "DCM", "Referenced Segmentation Frame"};
constexpr code SOURCE_SERIES_FOR_SEGMENTATION{"121232", "DCM",
                                              "Source series for image segmentation"};
constexpr code REFERENCED_3D_REGION{"111030", "DCM", "Image Region"};

/* hepatrack's Implementation Class UID (the one src/net sends: made once under 2.25). */
constexpr const char *IMPLEMENTATION_CLASS_UID = "2.25.21604965792799707602249182031673939010";
constexpr const char *IMPLEMENTATION_VERSION = "HEPATRACK_SR";

/* A fresh UID under 2.25 (PS3.5 B.2) from 128 random bits; false when no randomness. */
bool new_uid(char out[65]);

/* Copy text into a fixed field; true when it fitted (else truncated, on a UTF-8 boundary). */
template <size_t N> bool copy(char (&dst)[N], const std::string &src)
{
    size_t n = src.size();
    bool fits = n < N;
    if (!fits) {
        n = N - 1;
        while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80)
            n--; /* never cut a UTF-8 sequence */
    }
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
    return fits;
}

/* A coded entry into ht_sr_code, SRT mapped to SCT (spec 11); an SRT code the table lacks is
 * kept as it is and noted in warnings (when given). */
void code_out(const DSRCodedEntryValue &in, ht_sr_code *out, std::string *warnings = nullptr);

/* The quantity a NUM measures, from its concept and derivation (both already mapped). */
ht_sr_quantity quantity_of(const ht_sr_code &concept, const ht_sr_code &derivation);

/*
 * The value in hepatrack's unit for the quantity (mm, mm2, ml; HU for a mean), from the UCUM
 * unit code. False (why in `why`) when the unit is not one of that dimension; *q may turn from
 * a length to an area when a length code comes in an area unit (as dcmjs writes).
 */
bool convert_unit(ht_sr_quantity *q, const char *unit, double value, double *out, std::string &why);

} // namespace ht_sr

#endif
