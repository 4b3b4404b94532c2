/*
 * Reading a TID 1500 Measurement Report leniently (as `dsrdump -Ee -Ec -Er`), group by group
 * (TID 1501, 1410 and 1411 alike), with the legacy SRT codes mapped to SCT (spec 11). Also the
 * helpers both directions share (sr_internal.hh): codes, quantities, UCUM units.
 */
#include "dcmtk_internal.hh"
#include "sr_internal.hh"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmsr/dsrcodtn.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include "dcmtk/dcmsr/dsrimgtn.h"
#include "dcmtk/dcmsr/dsrnumtn.h"
#include "dcmtk/dcmsr/dsrpnmtn.h"
#include "dcmtk/dcmsr/dsrsc3tn.h"
#include "dcmtk/dcmsr/dsrscotn.h"
#include "dcmtk/dcmsr/dsrtextn.h"
#include "dcmtk/dcmsr/dsruidtn.h"

#include <cmath>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "hepatrack/util.h"

namespace
{

/* PS3.16's SNOMED-RT to SNOMED CT mapping for the codes spec 11 names and those that measurement
 * reports in use carry beside them (concepts, derivations, sites). */
const struct {
    const char *srt, *sct;
} srt_table[] = {
    {"T-62000", "10200004"},  /* Liver */
    {"G-A185", "103339001"},  /* Long Axis */
    {"G-A186", "103340004"},  /* Short Axis */
    {"G-D7FE", "410668003"},  /* Length */
    {"R-00317", "373098007"}, /* Mean */
    {"G-A16A", "42798000"},   /* Area */
    {"G-D705", "118565006"},  /* Volume */
    {"G-C0E3", "363698007"},  /* Finding Site */
    {"G-C036", "370129005"},  /* Measurement Method */
    {"G-A1F8", "106233006"},  /* Topographical modifier */
    {"R-404FB", "255605001"}, /* Minimum */
    {"G-A437", "56851009"},   /* Maximum */
    {"R-10047", "386136009"}, /* Standard Deviation */
    {"T-C4000", "59441001"},  /* Lymph node */
    {"T-28000", "39607008"},  /* Lung */
    {"T-D4000", "15425007"},  /* Peritoneum */
    {"M-80003", "86049000"},  /* Neoplasm, Primary */
    {"T-A7010", "2748008"},   /* Spinal cord */
    {"G-A460", "17621005"},   /* Normal */
};

} // namespace

extern "C" const char *ht_sr_srt_to_sct(const char *srt_value)
{
    for (const auto &e : srt_table)
        if (!std::strcmp(e.srt, srt_value))
            return e.sct;
    return nullptr;
}

extern "C" const char *ht_sr_quantity_name(ht_sr_quantity q)
{
    static const char *const names[] = {"long axis", "short axis", "length", "mean",
                                        "area",      "volume",     "other"};
    return q >= HT_SR_LONG_AXIS && q <= HT_SR_OTHER ? names[q] : "other";
}

namespace ht_sr
{

void code_out(const DSRCodedEntryValue &in, ht_sr_code *out, std::string *warnings)
{
    std::string scheme = in.getCodingSchemeDesignator().c_str(), value = in.getCodeValue().c_str();
    const char *sct =
        scheme == "SRT" || scheme == "SNM3" ? ht_sr_srt_to_sct(value.c_str()) : nullptr;
    copy(out->scheme, sct ? "SCT" : scheme);
    copy(out->value, sct ? sct : value);
    copy(out->meaning, in.getCodeMeaning().c_str());
    if (!sct && scheme == "SRT" && warnings) {
        if (!warnings->empty())
            *warnings += "; ";
        *warnings += "SRT code " + value + " (" + out->meaning + ") has no SCT mapping here: kept";
    }
}

static bool is(const ht_sr_code &c, const code &k)
{
    return !std::strcmp(c.value, k.value) && !std::strcmp(c.scheme, k.scheme);
}

ht_sr_quantity quantity_of(const ht_sr_code &concept, const ht_sr_code &derivation)
{
    if (is(concept, LONG_AXIS))
        return HT_SR_LONG_AXIS;
    if (is(concept, SHORT_AXIS))
        return HT_SR_SHORT_AXIS;
    if (is(concept, LENGTH))
        return HT_SR_LENGTH;
    if (is(concept, MEAN) || is(derivation, MEAN))
        return HT_SR_MEAN;
    if (is(concept, AREA))
        return HT_SR_AREA;
    if (is(concept, VOLUME))
        return HT_SR_VOLUME;
    return HT_SR_OTHER;
}

/* A UCUM unit's factor to hepatrack's unit of a dimension, or 0 when it is not of it. */
static double factor(const char *unit, const char *const *units, const double *factors, int n)
{
    for (int i = 0; i < n; i++)
        if (!std::strcmp(unit, units[i]))
            return factors[i];
    return 0;
}

bool convert_unit(ht_sr_quantity *q, const char *unit, double value, double *out, std::string &why)
{
    static const char *const lengths[] = {"mm", "cm", "m", "um"};
    static const double to_mm[] = {1, 10, 1000, 0.001};
    static const char *const areas[] = {"mm2", "cm2", "m2"};
    static const double to_mm2[] = {1, 100, 1e6};
    static const char *const volumes[] = {"ml", "mL", "cm3", "mm3", "l", "L"};
    static const double to_ml[] = {1, 1, 1, 0.001, 1000, 1000};
    double f = 0;
    bool length = *q == HT_SR_LONG_AXIS || *q == HT_SR_SHORT_AXIS || *q == HT_SR_LENGTH;
    if (length) {
        /* dcmjs writes an ellipse's area under the Length code: the unit tells. */
        if ((f = factor(unit, lengths, to_mm, 4))) {
            /* a length in a length unit */
        } else if ((f = factor(unit, areas, to_mm2, 3))) {
            why = std::string(ht_sr_quantity_name(*q)) + " code in an area unit (" + unit +
                  "): read as an area";
            *q = HT_SR_AREA;
        } else if ((f = factor(unit, volumes, to_ml, 6))) {
            why = std::string(ht_sr_quantity_name(*q)) + " code in a volume unit (" + unit +
                  "): read as a volume";
            *q = HT_SR_VOLUME;
        }
    } else if (*q == HT_SR_AREA) {
        f = factor(unit, areas, to_mm2, 3);
    } else if (*q == HT_SR_VOLUME) {
        f = factor(unit, volumes, to_ml, 6);
    } else if (*q == HT_SR_MEAN) {
        f = !std::strcmp(unit, "[hnsf'U]") ? 1 : 0;
        if (!f) {
            why = std::string("a mean in ") + unit + " is not a density in HU: not converted";
            return false;
        }
    } else {
        return false; /* other quantities keep their own units */
    }
    if (!f) {
        why = std::string("unit ") + unit + " does not convert to a " + ht_sr_quantity_name(*q) +
              ": not converted";
        return false;
    }
    *out = value * f;
    return true;
}

} // namespace ht_sr

namespace
{

using namespace ht_sr;
using node = DSRDocumentTreeNode;

/* A node's first child and next sibling, through DCMTK's cursor (a friend of the node). */
const node *down(const node *n)
{
    DSRTreeNodeCursor<node> c(const_cast<node *>(n));
    return c.goDown() ? c.getNode() : nullptr;
}
const node *next(const node *n)
{
    DSRTreeNodeCursor<node> c(const_cast<node *>(n));
    return c.gotoNext() ? c.getNode() : nullptr;
}

void note(std::string &list, const std::string &what)
{
    if (!list.empty())
        list += "; ";
    list += what;
}

char *dup_or_null(const std::string &s)
{
    if (s.empty())
        return nullptr;
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (!p)
        throw std::bad_alloc();
    std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

/* Append to a malloc'ed array of a C struct (zeroed), returning the new element. */
template <typename T> T *append(T *&items, size_t &n)
{
    T *grown = static_cast<T *>(std::realloc(items, (n + 1) * sizeof(T)));
    if (!grown)
        throw std::bad_alloc();
    items = grown;
    std::memset(&items[n], 0, sizeof(T));
    return &items[n++];
}

bool named(const node *n, const code &k)
{
    return k.is(n->getConceptName());
}

/* The concept name, SRT mapped. */
ht_sr_code concept_of(const node *n)
{
    ht_sr_code c{};
    code_out(n->getConceptName(), &c);
    return c;
}

std::string text_of(const node *n)
{
    switch (n->getValueType()) {
    case DSRTypes::VT_Text:
        return static_cast<const DSRTextTreeNode *>(n)->getValue().c_str();
    case DSRTypes::VT_UIDRef:
        return static_cast<const DSRUIDRefTreeNode *>(n)->getValue().c_str();
    case DSRTypes::VT_PName:
        return static_cast<const DSRPNameTreeNode *>(n)->getValue().c_str();
    default:
        return "";
    }
}

void image_of(const node *n, ht_sr_coord *where)
{
    const DSRImageReferenceValue &v = static_cast<const DSRImageTreeNode *>(n)->getValue();
    copy(where->sop_class_uid, v.getSOPClassUID().c_str());
    copy(where->sop_instance_uid, v.getSOPInstanceUID().c_str());
    Sint32 frame = 0;
    if (v.getFrameList().getNumberOfItems() > 0 && v.getFrameList().getItem(1, frame).good() &&
        frame > 0)
        where->frame = static_cast<uint32_t>(frame);
}

/* An SCOORD's points and the image it was selected from (its child). */
void scoord_of(const node *n, ht_sr_coord *where)
{
    const DSRSpatialCoordinatesValue &v = static_cast<const DSRSCoordTreeNode *>(n)->getValue();
    copy(where->graphic_type, DSRTypes::graphicTypeToEnumeratedValue(v.getGraphicType()));
    const DSRGraphicDataList &list =
        const_cast<DSRSpatialCoordinatesValue &>(v).getGraphicDataList();
    size_t count = list.getNumberOfItems();
    if (count) {
        where->points = static_cast<double *>(std::calloc(2 * count, sizeof(double)));
        if (!where->points)
            throw std::bad_alloc();
        for (size_t i = 0; i < count; i++) {
            const DSRGraphicDataItem &p = list.getItem(i + 1);
            where->points[2 * i] = p.Column;
            where->points[2 * i + 1] = p.Row;
        }
        where->npoints = count;
    }
    for (const node *c = down(n); c; c = next(c))
        if (c->getValueType() == DSRTypes::VT_Image &&
            c->getRelationshipType() == DSRTypes::RT_selectedFrom)
            image_of(c, where);
}

void read_num(const node *n, ht_sr_group *g, std::string &warnings)
{
    ht_sr_measurement *m = append(g->measurements, g->nmeasurements);
    const DSRNumericMeasurementValue &v = static_cast<const DSRNumTreeNode *>(n)->getValue();
    code_out(v.getMeasurementUnit(), &m->unit);
    code_out(n->getConceptName(), &m->concept, &warnings);
    for (const node *c = down(n); c; c = next(c)) {
        if (c->getValueType() == DSRTypes::VT_Code && named(c, DERIVATION))
            code_out(static_cast<const DSRCodeTreeNode *>(c)->getValue(), &m->derivation);
        else if (c->getValueType() == DSRTypes::VT_SCoord && !m->coord.graphic_type[0])
            scoord_of(c, &m->coord);
    }
    m->quantity = quantity_of(m->concept, m->derivation);
    const OFString &text = v.getNumericValue();
    char *end = nullptr;
    double value = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || !end || *end != '\0' || !std::isfinite(value)) {
        note(warnings,
             std::string("NUM '") + m->concept.meaning + "' has no measured value: skipped");
        return;
    }
    m->has_value = 1;
    m->value = value;
    std::string why;
    m->converted = convert_unit(&m->quantity, m->unit.value, value, &m->value_converted, why);
    if (!why.empty())
        note(warnings, std::string(m->concept.meaning) + ": " + why);
}

/* The template of a group: its Content Template Identification, else what its rows show. */
ht_sr_template template_of(const node *group, bool planar_region, bool volumetric)
{
    OFString tid, resource;
    if (group->getTemplateIdentification(tid, resource).good()) {
        if (tid == "1410")
            return HT_SR_TID1410;
        if (tid == "1411")
            return HT_SR_TID1411;
        if (tid == "1501")
            return HT_SR_TID1501;
    }
    return volumetric ? HT_SR_TID1411 : planar_region ? HT_SR_TID1410 : HT_SR_TID1501;
}

void read_group(const node *g_node, ht_sr_report *r)
{
    ht_sr_group *g = append(r->groups, r->ngroups);
    std::string warnings;
    bool planar = false, volumetric = false;
    for (const node *c = down(g_node); c; c = next(c)) {
        DSRTypes::E_ValueType vt = c->getValueType();
        if (vt == DSRTypes::VT_Text && named(c, TRACKING_ID)) {
            if (!copy(g->tracking_id, text_of(c)))
                note(warnings, "Tracking Identifier truncated");
        } else if (vt == DSRTypes::VT_UIDRef && named(c, TRACKING_UID)) {
            copy(g->tracking_uid, text_of(c));
        } else if (vt == DSRTypes::VT_Text && named(c, TIME_POINT)) {
            copy(g->timepoint, text_of(c));
        } else if (vt == DSRTypes::VT_Text && named(c, COMMENT)) {
            copy(g->comment, text_of(c));
        } else if (vt == DSRTypes::VT_Code) {
            ht_sr_code name = concept_of(c);
            ht_sr_code *dst = !std::strcmp(name.value, FINDING_SITE.value) ? &g->finding_site
                              : named(c, FINDING)                          ? &g->finding
                                                                           : nullptr;
            if (dst && !dst->value[0])
                code_out(static_cast<const DSRCodeTreeNode *>(c)->getValue(), dst, &warnings);
        } else if (vt == DSRTypes::VT_SCoord && named(c, IMAGE_REGION)) {
            planar = true;
            if (!g->roi.graphic_type[0])
                scoord_of(c, &g->roi);
        } else if (vt == DSRTypes::VT_SCoord3D || named(c, REFERENCED_SEGMENT) ||
                   named(c, REFERENCED_SEGMENTATION_FRAME) ||
                   named(c, SOURCE_SERIES_FOR_SEGMENTATION)) {
            volumetric = true;
        } else if (vt == DSRTypes::VT_Num) {
            read_num(c, g, warnings);
        }
    }
    g->tid = template_of(g_node, planar, volumetric);
    if (!g->tracking_uid[0])
        note(warnings, "no Tracking Unique Identifier");
    g->warnings = dup_or_null(warnings);
}

void read_image_library(const node *n, ht_sr_report *r)
{
    for (const node *c = down(n); c; c = next(c)) {
        if (c->getValueType() == DSRTypes::VT_Image) {
            ht_sr_coord where{};
            image_of(c, &where);
            ht_sr_ref *ref = append(r->images, r->nimages);
            copy(ref->sop_class_uid, where.sop_class_uid);
            copy(ref->sop_instance_uid, where.sop_instance_uid);
        } else if (c->getValueType() == DSRTypes::VT_Container) {
            read_image_library(c, r); /* Image Library Groups */
        }
    }
}

void read_refs(DSRSOPInstanceReferenceList &list, ht_sr_ref *&out, size_t &n)
{
    if (list.gotoFirstItem().bad())
        return;
    do {
        ht_sr_ref *ref = append(out, n);
        OFString s;
        copy(ref->study_uid, list.getStudyInstanceUID(s).c_str());
        copy(ref->series_uid, list.getSeriesInstanceUID(s).c_str());
        copy(ref->sop_class_uid, list.getSOPClassUID(s).c_str());
        copy(ref->sop_instance_uid, list.getSOPInstanceUID(s).c_str());
    } while (list.gotoNextItem().good());
}

void read_root(const node *root, ht_sr_report *r, std::string &warnings)
{
    for (const node *c = down(root); c; c = next(c)) {
        DSRTypes::E_ValueType vt = c->getValueType();
        if (named(c, PERSON_OBSERVER_NAME) && !r->observer[0]) { /* PNAME; TEXT in some writers */
            copy(r->observer, text_of(c));
        } else if (vt == DSRTypes::VT_Text && named(c, TIME_POINT)) {
            copy(r->timepoint, text_of(c));
        } else if (vt == DSRTypes::VT_Container && named(c, IMAGE_LIBRARY)) {
            read_image_library(c, r);
        } else if (vt == DSRTypes::VT_Container && named(c, IMAGING_MEASUREMENTS)) {
            for (const node *g = down(c); g; g = next(g))
                if (g->getValueType() == DSRTypes::VT_Container)
                    read_group(g, r);
        } else if (vt == DSRTypes::VT_Container && named(c, QUALITATIVE_EVALUATIONS)) {
            for (const node *q = down(c); q; q = next(q)) {
                std::string t = text_of(q);
                if (q->getValueType() == DSRTypes::VT_Text && named(q, COMMENT) &&
                    t.compare(0, std::strlen(HT_SR_PROVENANCE_PREFIX), HT_SR_PROVENANCE_PREFIX) ==
                        0)
                    r->provenance = dup_or_null(t);
            }
        }
    }
    /* Groups without their own time point take the report's (TID 1502). */
    if (!r->timepoint[0])
        for (size_t i = 0; i < r->ngroups && !r->timepoint[0]; i++)
            if (r->groups[i].timepoint[0]) {
                copy(r->timepoint, r->groups[i].timepoint);
                note(warnings, "Time Point taken from a measurement group");
            }
}

std::string get(DcmItem *ds, const DcmTagKey &tag)
{
    OFString v;
    ds->findAndGetOFString(tag, v);
    return v.c_str();
}

void read_report(DcmDataset *ds, ht_sr_report *r)
{
    std::string warnings;
    if (ds->convertToUTF8().bad())
        note(warnings, "text not converted to UTF-8");
    DSRDocument doc;
    OFCondition c = doc.read(*ds, DSRTypes::RF_acceptUnknownRelationshipType |
                                      DSRTypes::RF_ignoreRelationshipConstraints |
                                      DSRTypes::RF_ignoreContentItemErrors);
    if (c.bad()) {
        ht_error_set(HT_EPARSE, "not a readable SR document: %s", c.text());
        throw 0;
    }
    DSRDocumentTree &tree = doc.getTree();
    const node *root = tree.gotoRoot() ? tree.getCurrentNode() : nullptr;
    OFString tid, resource;
    bool tid1500 = root && root->getTemplateIdentification(tid, resource).good() && tid == "1500";
    if (!root || !(named(root, MEASUREMENT_REPORT) || tid1500)) {
        std::string title = root ? root->getConceptName().getCodeMeaning().c_str() : "(empty)";
        ht_error_set(HT_EUNSUPPORTED,
                     "not a TID 1500 Measurement Report: the document's title is '%s', not "
                     "(126000, DCM, \"Imaging Measurement Report\")",
                     title.c_str());
        throw 0;
    }
    copy(r->sop_class_uid, get(ds, DCM_SOPClassUID));
    copy(r->sop_instance_uid, get(ds, DCM_SOPInstanceUID));
    copy(r->series_instance_uid, get(ds, DCM_SeriesInstanceUID));
    copy(r->study_instance_uid, get(ds, DCM_StudyInstanceUID));
    copy(r->patient_id, get(ds, DCM_PatientID));
    copy(r->issuer_of_patient_id, get(ds, DCM_IssuerOfPatientID));
    copy(r->content_date, get(ds, DCM_ContentDate));
    copy(r->content_time, get(ds, DCM_ContentTime));
    r->instance_number = std::atoi(get(ds, DCM_InstanceNumber).c_str());
    r->completed = doc.getCompletionFlag() == DSRTypes::CF_Complete;
    r->verified = doc.getVerificationFlag() == DSRTypes::VF_Verified;
    read_refs(doc.getCurrentRequestedProcedureEvidence(), r->evidence, r->nevidence);
    ht_sr_ref *pred = nullptr;
    size_t npred = 0;
    read_refs(doc.getPredecessorDocuments(), pred, npred);
    if (npred)
        r->predecessor = pred[0];
    std::free(pred);
    read_root(root, r, warnings);
    r->warnings = dup_or_null(warnings);
}

} // namespace

extern "C" void ht_sr_report_free(ht_sr_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ngroups; i++) {
        ht_sr_group *g = &r->groups[i];
        for (size_t k = 0; k < g->nmeasurements; k++)
            std::free(g->measurements[k].coord.points);
        std::free(g->measurements);
        std::free(g->roi.points);
        std::free(g->warnings);
    }
    std::free(r->groups);
    std::free(r->images);
    std::free(r->evidence);
    std::free(r->provenance);
    std::free(r->warnings);
    std::memset(r, 0, sizeof(*r));
}

extern "C" int ht_sr_read(const uint8_t *bytes, size_t len, ht_sr_report *out)
{
    std::memset(out, 0, sizeof(*out));
    ht_dicom *dcm = nullptr;
    int err = ht_dicom_open_memory(&dcm, bytes, len);
    if (err < 0)
        return err;
    try {
        read_report(ht_dcmtk::dataset_of(dcm), out);
        err = HT_OK;
    } catch (int) {
        err = ht_error_code();
    } catch (const std::bad_alloc &) {
        err = ht_error_set(HT_ENOMEM, "SR: out of memory");
    } catch (...) {
        err = ht_error_set(HT_EINTERNAL, "SR: unexpected exception");
    }
    if (err < 0)
        ht_sr_report_free(out);
    ht_dicom_free(dcm);
    return err;
}
