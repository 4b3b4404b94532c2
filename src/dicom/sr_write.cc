/*
 * Writing a TID 1500 Measurement Report (spec 11) as Enhanced SR with DCMTK's generic document
 * tree. DCMTK 3.6.7's dcmsr/cmr classes cover TID 1500 and 1501 but neither TID 1410 (the
 * ellipse's mean) nor TID 1502 (the Time Point Context at the root), so one builder writes the
 * whole tree, in the order the templates list their rows.
 */
#include "dcmtk_internal.hh"
#include "sr_internal.hh"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmsr/dsrcodtn.h"
#include "dcmtk/dcmsr/dsrcontn.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include "dcmtk/dcmsr/dsrimgtn.h"
#include "dcmtk/dcmsr/dsrnumtn.h"
#include "dcmtk/dcmsr/dsrpnmtn.h"
#include "dcmtk/dcmsr/dsrscotn.h"
#include "dcmtk/dcmsr/dsrtextn.h"
#include "dcmtk/dcmsr/dsruidtn.h"

#include <cmath>
#include <cstdlib>
#include <new>
#include <string>

#include "hepatrack/util.h"

namespace ht_sr
{

bool new_uid(char out[65])
{
    unsigned char r[16];
    if (ht_random_bytes(r, sizeof(r)) < 0)
        return false;
    unsigned long long hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | r[i];
        lo = lo << 8 | r[8 + i];
    }
    hi = (hi >> 1) | 1; /* no leading zero, and the whole stays below 2^128 */
    std::snprintf(out, 65, "2.25.%llu%019llu", hi, lo % 10000000000000000000ULL);
    return true;
}

} // namespace ht_sr

namespace
{

using namespace ht_sr;

/* Thrown inside the builder, caught at the C boundary; carries an hepatrack error code. */
struct failure {
    int code;
    std::string message;
};

[[noreturn]] void fail(int code, const std::string &message)
{
    throw failure{code, message};
}

/*
 * Builds the content tree: each add() puts a node below the current one and makes it current;
 * up() returns to its parent. DCMTK checks each relationship against the IOD's constraints.
 */
struct builder {
    DSRDocumentTree &tree;

    void add(DSRDocumentTreeNode *node, const code *concept)
    {
        if (!node)
            throw std::bad_alloc();
        if (concept && node->setConceptName(concept->entry()).bad()) {
            delete node;
            fail(HT_EINTERNAL, std::string("DCMTK refused the concept ") + concept->meaning);
        }
        OFCondition c = tree.addContentItem(node, DSRTypes::AM_belowCurrent, OFTrue);
        if (c.bad())
            fail(HT_EINTERNAL, std::string("DCMTK refused the content item ") +
                                   (concept ? concept->meaning : "(unnamed)") + ": " + c.text());
    }
    void up()
    {
        tree.goUp();
    }
    void leaf(DSRDocumentTreeNode *node, const code *concept)
    {
        add(node, concept);
        up();
    }

    void container(const code &concept, const char *tid)
    {
        auto *n = new DSRContainerTreeNode(
            tree.getCurrentContentItem().isValid() ? DSRTypes::RT_contains : DSRTypes::RT_isRoot,
            DSRTypes::COC_Separate);
        if (tid)
            n->setTemplateIdentification(tid, "DCMR");
        add(n, &concept);
    }
    void text(DSRTypes::E_RelationshipType rel, const code &concept, const std::string &value)
    {
        leaf(new DSRTextTreeNode(rel, value.c_str()), &concept);
    }
    void coded(DSRTypes::E_RelationshipType rel, const code &concept, const DSRCodedEntryValue &v)
    {
        auto *n = new DSRCodeTreeNode(rel);
        if (n->setValue(v).bad()) {
            delete n;
            fail(HT_EINVALID, std::string("a bad code for ") + concept.meaning + ": (" +
                                  v.getCodeValue().c_str() + ", " +
                                  v.getCodingSchemeDesignator().c_str() + ")");
        }
        leaf(n, &concept);
    }
};

DSRCodedEntryValue entry_of(const ht_sr_code &c)
{
    return DSRCodedEntryValue(c.value, c.scheme, c.meaning);
}

/* A DS value (at most 16 characters) for a measured number. */
std::string decimal(double v)
{
    char buf[32];
    for (int digits = 10; digits > 0; digits--) {
        std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
        if (std::strlen(buf) <= 16)
            break;
    }
    return buf;
}

/* An IMAGE node for an image reference, with its frame when the image has several. */
DSRImageTreeNode *image_node(DSRTypes::E_RelationshipType rel, const ht_sr_coord &where)
{
    auto *n = new DSRImageTreeNode(rel);
    DSRImageReferenceValue v(where.sop_class_uid, where.sop_instance_uid);
    if (where.frame > 0)
        v.getFrameList().addItem(static_cast<Sint32>(where.frame));
    if (n->setValue(v).bad()) {
        delete n;
        fail(HT_EINVALID, std::string("a bad image reference: ") + where.sop_class_uid + " " +
                              where.sop_instance_uid);
    }
    return n;
}

DSRTypes::E_GraphicType graphic_type(const char *name)
{
    DSRTypes::E_GraphicType t = DSRTypes::enumeratedValueToGraphicType(name);
    if (t == DSRTypes::GT_invalid || t == DSRTypes::GT_unknown)
        fail(HT_EINVALID, std::string("graphic type '") + name + "' is not one of SCOORD's");
    return t;
}

/* An SCOORD (rel: inferred from / contains) selected from its image, as the current node's child.
 */
void add_scoord(builder &b,
                DSRTypes::E_RelationshipType rel,
                const code *concept,
                const ht_sr_coord &where)
{
    DSRTypes::E_GraphicType type = graphic_type(where.graphic_type);
    auto *n = new DSRSCoordTreeNode(rel);
    n->setGraphicType(type);
    for (size_t i = 0; i < where.npoints; i++)
        n->getGraphicDataList().addItem(static_cast<Float32>(where.points[2 * i]),
                                        static_cast<Float32>(where.points[2 * i + 1]));
    b.add(n, concept);
    b.leaf(image_node(DSRTypes::RT_selectedFrom, where), nullptr);
    b.up();
}

void add_measurement(builder &b, const ht_sr_measurement &m)
{
    if (!m.has_value)
        fail(HT_EINVALID, std::string("measurement ") + m.concept.meaning + " has no value");
    if (!std::isfinite(m.value))
        fail(HT_EINVALID, std::string("measurement ") + m.concept.meaning + " is not finite");
    DSRNumericMeasurementValue v(decimal(m.value).c_str(), entry_of(m.unit));
    auto *n = new DSRNumTreeNode(DSRTypes::RT_contains);
    if (n->setValue(v).bad()) {
        delete n;
        fail(HT_EINVALID, std::string("a bad value for ") + m.concept.meaning);
    }
    code concept {m.concept.value, m.concept.scheme, m.concept.meaning};
    b.add(n, &concept);
    if (m.derivation.value[0])
        b.coded(DSRTypes::RT_hasConceptMod, DERIVATION, entry_of(m.derivation));
    if (m.coord.graphic_type[0])
        add_scoord(b, DSRTypes::RT_inferredFrom, nullptr, m.coord);
    b.up();
}

/* TID 1501 (a lesion's calipers) or TID 1410 (the region whose mean is measured). */
void add_group(builder &b, const ht_sr_group &g, const char *timepoint)
{
    if (!g.tracking_uid[0] || !ht_dicom_uid_valid(g.tracking_uid))
        fail(HT_EINVALID, std::string("group '") + g.tracking_id + "' needs a Tracking UID");
    if (g.tid != HT_SR_TID1501 && g.tid != HT_SR_TID1410)
        fail(HT_EINVALID, "only TID 1501 and TID 1410 groups are written");
    b.container(MEASUREMENT_GROUP, g.tid == HT_SR_TID1501 ? "1501" : "1410");
    b.text(DSRTypes::RT_hasObsContext, TRACKING_ID, g.tracking_id);
    b.leaf(new DSRUIDRefTreeNode(DSRTypes::RT_hasObsContext, g.tracking_uid), &TRACKING_UID);
    if (g.tid == HT_SR_TID1501 && timepoint && *timepoint)
        b.text(DSRTypes::RT_hasObsContext, TIME_POINT, timepoint);
    if (g.finding.value[0])
        b.coded(DSRTypes::RT_contains, FINDING, entry_of(g.finding));
    if (g.tid == HT_SR_TID1410) {
        if (!g.roi.graphic_type[0])
            fail(HT_EINVALID,
                 std::string("planar ROI group '") + g.tracking_id + "' needs its image region");
        add_scoord(b, DSRTypes::RT_contains, &IMAGE_REGION, g.roi);
    }
    if (g.finding_site.value[0])
        b.coded(DSRTypes::RT_hasConceptMod, FINDING_SITE, entry_of(g.finding_site));
    for (size_t i = 0; i < g.nmeasurements; i++)
        add_measurement(b, g.measurements[i]);
    if (g.comment[0])
        b.text(DSRTypes::RT_contains, COMMENT, g.comment);
    b.up();
}

/* TID 1600: the images measured, once each. */
void add_image_library(builder &b, const ht_sr_report &r)
{
    b.container(IMAGE_LIBRARY, "1600");
    if (r.nimages) {
        b.container(IMAGE_LIBRARY_GROUP, nullptr);
        for (size_t i = 0; i < r.nimages; i++) {
            ht_sr_coord where{};
            copy(where.sop_class_uid, r.images[i].sop_class_uid);
            copy(where.sop_instance_uid, r.images[i].sop_instance_uid);
            b.leaf(image_node(DSRTypes::RT_contains, where), nullptr);
        }
        b.up();
    }
    b.up();
}

void build_tree(DSRDocumentTree &tree, const ht_sr_report &r, const std::string &modality)
{
    builder b{tree};
    b.container(MEASUREMENT_REPORT, nullptr);
    if (tree.setTemplateIdentification("1500", "DCMR").bad())
        fail(HT_EINTERNAL, "DCMTK refused TID 1500's identification");
    b.coded(DSRTypes::RT_hasConceptMod, LANGUAGE, ENGLISH_US.entry());
    if (r.observer[0]) { /* TID 1001 → 1002: the person who signed the read */
        b.coded(DSRTypes::RT_hasObsContext, OBSERVER_TYPE, PERSON.entry());
        b.leaf(new DSRPNameTreeNode(DSRTypes::RT_hasObsContext, r.observer), &PERSON_OBSERVER_NAME);
    }
    if (r.timepoint[0]) /* TID 1502 */
        b.text(DSRTypes::RT_hasObsContext, TIME_POINT, r.timepoint);
    const code &procedure = modality == "CT"   ? CT_PROCEDURE
                            : modality == "MR" ? MR_PROCEDURE
                                               : IMAGING_PROCEDURE;
    b.coded(DSRTypes::RT_hasConceptMod, PROCEDURE_REPORTED, procedure.entry());
    add_image_library(b, r);
    b.container(IMAGING_MEASUREMENTS, nullptr);
    for (size_t i = 0; i < r.ngroups; i++)
        add_group(b, r.groups[i], r.timepoint);
    b.up();
    if (r.provenance && *r.provenance) {
        b.container(QUALITATIVE_EVALUATIONS, nullptr);
        b.text(DSRTypes::RT_contains, COMMENT, r.provenance);
        b.up();
    }
}

/* The Patient, General Study and Patient Study attributes of the image, copied as they are. */
void copy_study(DcmItem &from, DcmItem &to)
{
    static const DcmTagKey tags[] = {DCM_PatientName,       DCM_PatientID,
                                     DCM_IssuerOfPatientID, DCM_IssuerOfPatientIDQualifiersSequence,
                                     DCM_PatientBirthDate,  DCM_PatientSex,
                                     DCM_StudyInstanceUID,  DCM_StudyDate,
                                     DCM_StudyTime,         DCM_ReferringPhysicianName,
                                     DCM_StudyID,           DCM_AccessionNumber,
                                     DCM_StudyDescription,  DCM_PatientAge,
                                     DCM_PatientSize,       DCM_PatientWeight};
    for (const DcmTagKey &tag : tags) {
        DcmElement *e = nullptr;
        delete to.remove(tag);
        if (from.findAndGetElement(tag, e).good() && e) {
            DcmElement *c = OFstatic_cast(DcmElement *, e->clone());
            if (!c || to.insert(c, OFTrue).bad()) {
                delete c;
                throw std::bad_alloc();
            }
        }
    }
    /* Type 2 in the SR IOD: present, perhaps empty. */
    for (const DcmTagKey &tag :
         {DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate,
          DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID, DCM_AccessionNumber})
        if (!to.tagExists(tag))
            to.insertEmptyElement(tag);
}

void put(DcmItem &ds, const DcmTagKey &tag, const std::string &value)
{
    if (ds.putAndInsertString(tag, value.c_str()).bad())
        fail(HT_EINTERNAL, std::string("DCMTK refused the value ") + value);
}

void add_refs(DSRSOPInstanceReferenceList &list, const ht_sr_ref &ref)
{
    if (list.addItem(ref.study_uid, ref.series_uid, ref.sop_class_uid, ref.sop_instance_uid).bad())
        fail(HT_EINVALID, std::string("a bad reference to ") + ref.sop_instance_uid);
}

void write_report(const ht_sr_report &r, DcmDataset &image, DcmFileFormat &file)
{
    OFString modality;
    image.findAndGetOFString(DCM_Modality, modality);
    if (image.convertToUTF8().bad())
        fail(HT_EPARSE, "the image's text cannot be read as UTF-8");

    DSRDocument doc(DSRTypes::DT_EnhancedSR);
    doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8);
    build_tree(doc.getTree(), r, modality.c_str());
    doc.setPreliminaryFlag(DSRTypes::PF_Final);
    doc.completeDocument();
    if (r.observer[0])
        doc.verifyDocument(r.observer, "hepatrack");
    doc.setManufacturer("hepatrack");
    doc.setSeriesDescription("hepatrack measurement report");
    doc.setSeriesNumber("9900");
    doc.setInstanceNumber(std::to_string(r.instance_number > 0 ? r.instance_number : 1).c_str());
    for (size_t i = 0; i < r.nimages; i++) {
        if (!r.images[i].study_uid[0] || !r.images[i].series_uid[0])
            fail(HT_EINVALID, std::string("image ") + r.images[i].sop_instance_uid +
                                  " needs its study and series (the evidence lists them)");
        add_refs(doc.getCurrentRequestedProcedureEvidence(), r.images[i]);
    }
    if (r.predecessor.sop_instance_uid[0])
        add_refs(doc.getPredecessorDocuments(), r.predecessor);

    DcmDataset *ds = file.getDataset();
    OFCondition c = doc.write(*ds);
    if (c.bad())
        fail(HT_EINTERNAL, std::string("DCMTK cannot write the report: ") + c.text());
    copy_study(image, *ds);

    char sop[65], series[65];
    if (!new_uid(sop) || (!r.series_instance_uid[0] && !new_uid(series)))
        fail(HT_EINTERNAL, "no randomness for a UID");
    if (r.series_instance_uid[0])
        copy(series, r.series_instance_uid);
    put(*ds, DCM_SOPInstanceUID, sop);
    put(*ds, DCM_SeriesInstanceUID, series);
    put(*ds, DCM_SpecificCharacterSet, "ISO_IR 192");
}

} // namespace

extern "C" int ht_sr_write(const ht_sr_report *report,
                           const uint8_t *image_bytes,
                           size_t image_len,
                           uint8_t **out,
                           size_t *len)
{
    *out = nullptr;
    *len = 0;
    ht_dicom *image = nullptr;
    int err = ht_dicom_open_memory(&image, image_bytes, image_len);
    if (err < 0)
        return err;
    try {
        DcmFileFormat file;
        write_report(*report, *ht_dcmtk::dataset_of(image), file);
        DcmMetaInfo *meta = file.getMetaInfo();
        /* Our own File Meta: the implementation that wrote it is hepatrack (kept by the
         * write below, which fills in only what is missing). */
        OFCondition c =
            meta->putAndInsertString(DCM_ImplementationClassUID, IMPLEMENTATION_CLASS_UID);
        if (c.good())
            c = meta->putAndInsertString(DCM_ImplementationVersionName, IMPLEMENTATION_VERSION);
        DcmDataset *ds = file.getDataset();
        ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        size_t size = 132 + 4096 + meta->getLength(EXS_LittleEndianExplicit, EET_ExplicitLength) +
                      ds->getLength(EXS_LittleEndianExplicit, EET_ExplicitLength);
        std::string buffer(size, '\0');
        DcmOutputBufferStream stream(&buffer[0], static_cast<offile_off_t>(buffer.size()));
        file.transferInit();
        if (c.good())
            c = file.write(stream, EXS_LittleEndianExplicit, EET_ExplicitLength, nullptr);
        file.transferEnd();
        if (c.bad())
            fail(HT_EINTERNAL, std::string("DCMTK cannot encode the report: ") + c.text());
        void *data = nullptr;
        offile_off_t n = 0;
        stream.flushBuffer(data, n);
        uint8_t *bytes = static_cast<uint8_t *>(std::malloc(static_cast<size_t>(n)));
        if (!bytes)
            throw std::bad_alloc();
        std::memcpy(bytes, data, static_cast<size_t>(n));
        *out = bytes;
        *len = static_cast<size_t>(n);
        err = HT_OK;
    } catch (const failure &f) {
        err = ht_error_set(f.code, "SR: %s", f.message.c_str());
    } catch (const std::bad_alloc &) {
        err = ht_error_set(HT_ENOMEM, "SR: out of memory");
    } catch (...) {
        err = ht_error_set(HT_EINTERNAL, "SR: unexpected exception");
    }
    ht_dicom_free(image);
    return err;
}
