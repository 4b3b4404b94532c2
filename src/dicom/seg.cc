/*
 * DICOM Segmentations read with dcmseg (include/hepatrack/seg.h): the segments, their codes, the
 * voxels each covers and its volume from the SEG's own geometry. dcmseg decodes; this file only
 * counts the pixels of the frames it hands out. Every extern "C" function catches everything;
 * no DCMTK type leaves it.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmfg/fginterface.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/dcmseg/segutils.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dcmtk_internal.hh"
#include "dicom_internal.h"
#include "hepatrack/seg.h"
#include "hepatrack/util.h"

using namespace ht_dcmtk;

namespace
{

/* Two frame positions closer than this along the normal are one slice (DS values carry about
 * 16 characters; writers round positions to a few decimals). */
const double same_slice_mm = 1e-3;

char *dup(const std::string &s)
{
    char *p = ht_strdup(s.c_str());
    if (!p)
        throw std::bad_alloc();
    return p;
}

/* A text value in UTF-8 (the dataset was converted before dcmseg read it; what could not be
 * converted is replaced here), without padding. */
std::string clean(const OFString &raw)
{
    int replaced = 0;
    char *text = ht_dicom__utf8_sanitize(raw.c_str(), raw.length(), &replaced);
    if (!text)
        throw std::bad_alloc();
    std::string out(text);
    std::free(text);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\0'))
        out.pop_back();
    return out;
}

void copy_into(char *dst, size_t size, const std::string &src)
{
    std::snprintf(dst, size, "%s", src.c_str());
}

void read_code(CodeSequenceMacro &m, ht_seg_code *out)
{
    OFString scheme, value, meaning;
    m.getCodingSchemeDesignator(scheme);
    m.getCodeValue(value); /* Code Value, else Long Code Value, else URN Code Value */
    m.getCodeMeaning(meaning);
    copy_into(out->scheme, sizeof(out->scheme), clean(scheme));
    copy_into(out->value, sizeof(out->value), clean(value));
    copy_into(out->meaning, sizeof(out->meaning), clean(meaning));
    std::memcpy(out->original_scheme, out->scheme, sizeof(out->scheme));
    std::memcpy(out->original_value, out->value, sizeof(out->value));
    ht_seg_map_code(out->scheme, out->value);
}

/* A result that says the SEG was not read, and why. */
int not_read(ht_seg *seg, const std::string &reason)
{
    seg->read = 0;
    seg->not_read_reason = dup(reason);
    return HT_OK;
}

/* A SEG that dcmseg loaded but whose segments or frames could not be read: not read, the
 * segments read so far dropped (a result not read holds no segment). */
int unread(ht_seg *seg, const std::string &reason)
{
    for (size_t i = 0; seg->segments && i < seg->n_segments; i++)
        std::free(seg->segments[i].label);
    std::free(seg->segments);
    seg->segments = nullptr;
    seg->n_segments = 0;
    ht_error_clear();
    return not_read(seg, reason);
}

/* The strings of `tag` in the items of sequence `seq` of `item`, appended without repeats. */
void collect_uids(DcmItem *item,
                  const DcmTagKey &seq,
                  const DcmTagKey &tag,
                  std::vector<std::string> *out)
{
    DcmItem *it = nullptr;
    for (signed long i = 0; item && item->findAndGetSequenceItem(seq, it, i).good() && it; i++) {
        OFString uid;
        if (it->findAndGetOFString(tag, uid).good() && !uid.empty() &&
            std::find(out->begin(), out->end(), uid.c_str()) == out->end())
            out->push_back(uid.c_str());
    }
}

char **to_array(const std::vector<std::string> &v)
{
    char **a = (char **)std::calloc(v.size() + 1, sizeof(char *));
    if (!a)
        throw std::bad_alloc();
    for (size_t i = 0; i < v.size(); i++)
        if (!(a[i] = ht_strdup(v[i].c_str()))) {
            for (size_t j = 0; j < i; j++)
                std::free(a[j]);
            std::free(a);
            throw std::bad_alloc();
        }
    return a;
}

/* What the references say: series and studies (the SEG's own study first). */
void read_references(DcmDataset *ds, ht_seg *seg)
{
    std::vector<std::string> series, studies{seg->study_instance_uid};
    collect_uids(ds, DCM_ReferencedSeriesSequence, DCM_SeriesInstanceUID, &series);
    collect_uids(ds, DCM_StudiesContainingOtherReferencedInstancesSequence, DCM_StudyInstanceUID,
                 &studies);
    DcmItem *study = nullptr;
    for (signed long i = 0;
         ds->findAndGetSequenceItem(DCM_StudiesContainingOtherReferencedInstancesSequence, study, i)
             .good() &&
         study;
         i++)
        collect_uids(study, DCM_ReferencedSeriesSequence, DCM_SeriesInstanceUID, &series);
    seg->referenced_series = to_array(series);
    seg->n_referenced_series = series.size();
    seg->referenced_studies = to_array(studies);
    seg->n_referenced_studies = studies.size();
}

std::string top_string(DcmDataset *ds, const DcmTagKey &tag)
{
    OFString v;
    ds->findAndGetOFString(tag, v);
    return v.c_str();
}

/* The geometry of one frame: where its first pixel is and which way rows and columns go. */
struct frame_geometry {
    bool has_position = false, has_orientation = false;
    double position[3] = {0, 0, 0};
    double row_dir[3] = {1, 0, 0}; /* direction of increasing column index */
    double col_dir[3] = {0, 1, 0}; /* direction of increasing row index */
};

frame_geometry geometry_of(FGInterface &fg, size_t frame)
{
    frame_geometry g;
    auto *pos =
        dynamic_cast<FGPlanePosPatient *>(fg.get((Uint32)frame, DcmFGTypes::EFG_PLANEPOSPATIENT));
    if (pos && pos->getImagePositionPatient(g.position[0], g.position[1], g.position[2]).good())
        g.has_position = true;
    auto *ori = dynamic_cast<FGPlaneOrientationPatient *>(
        fg.get((Uint32)frame, DcmFGTypes::EFG_PLANEORIENTPATIENT));
    if (ori && ori->getImageOrientationPatient(g.row_dir[0], g.row_dir[1], g.row_dir[2],
                                               g.col_dir[0], g.col_dir[1], g.col_dir[2])
                   .good())
        g.has_orientation = true;
    return g;
}

void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* The spacing between slices from the frames' positions: the smallest distance between two
 * distinct positions along the plane's normal. The smallest, not the first, because a writer
 * leaves out empty frames (dcmqi does), so consecutive frames may lie slices apart. */
bool spacing_from_positions(const std::vector<frame_geometry> &geo, double *out)
{
    std::vector<double> along;
    for (const frame_geometry &g : geo) {
        if (!g.has_position || !g.has_orientation)
            return false; /* one frame without a place: positions cannot be trusted */
        double normal[3];
        cross(g.row_dir, g.col_dir, normal);
        along.push_back(dot(g.position, normal));
    }
    std::sort(along.begin(), along.end());
    double best = 0;
    for (size_t i = 1; i < along.size(); i++) {
        double d = along[i] - along[i - 1];
        if (d > same_slice_mm && (best == 0 || d < best))
            best = d;
    }
    *out = best;
    return best > 0;
}

/* Pixel spacing and the spacing between slices, with where the latter came from. */
void read_spacing(FGInterface &fg, const std::vector<frame_geometry> &geo, ht_seg *seg)
{
    auto *pm = dynamic_cast<FGPixelMeasures *>(fg.get(0, DcmFGTypes::EFG_PIXELMEASURES));
    Float64 v;
    if (pm && pm->getPixelSpacing(seg->pixel_spacing[0], 0).good() &&
        pm->getPixelSpacing(seg->pixel_spacing[1], 1).good() && seg->pixel_spacing[0] > 0 &&
        seg->pixel_spacing[1] > 0)
        seg->has_pixel_spacing = 1;
    if (spacing_from_positions(geo, &seg->slice_spacing))
        seg->slice_spacing_source = HT_SEG_SPACING_POSITIONS;
    else if (pm && pm->getSpacingBetweenSlices(v).good() && v > 0) {
        seg->slice_spacing = v;
        seg->slice_spacing_source = HT_SEG_SPACING_BETWEEN_SLICES;
    } else if (pm && pm->getSliceThickness(v).good() && v > 0) {
        seg->slice_spacing = v;
        seg->slice_spacing_source = HT_SEG_SPACING_SLICE_THICKNESS;
    } else {
        seg->slice_spacing = 0;
        seg->slice_spacing_source = HT_SEG_SPACING_NONE;
    }
}

/* Grow the segment's bounds by the voxel centre at (row, column) of a frame. */
void extend_bounds(
    const ht_seg *seg, const frame_geometry &g, double r, double c, bool first, double bounds[6])
{
    double p[3];
    for (int k = 0; k < 3; k++)
        p[k] = g.position[k] + g.row_dir[k] * seg->pixel_spacing[1] * c +
               g.col_dir[k] * seg->pixel_spacing[0] * r;
    for (int k = 0; k < 3; k++) {
        bounds[k] = first ? p[k] : std::min(bounds[k], p[k]);
        bounds[3 + k] = first ? p[k] : std::max(bounds[3 + k], p[k]);
    }
}

/* The pixels of one frame as one byte each: binary frames as dcmseg keeps them (packed) are
 * unpacked by dcmseg's own helper. */
std::unique_ptr<DcmIODTypes::Frame> unpacked(const ht_seg *seg, const DcmIODTypes::Frame *f)
{
    size_t pixels = (size_t)seg->rows * seg->columns;
    if (seg->type == HT_SEG_FRACTIONAL || f->length >= pixels) {
        if (f->length < pixels)
            return nullptr;
        auto copy = std::unique_ptr<DcmIODTypes::Frame>(new DcmIODTypes::Frame());
        copy->pixData = new Uint8[pixels];
        copy->length = pixels;
        std::memcpy(copy->pixData, f->pixData, pixels);
        return copy;
    }
    return std::unique_ptr<DcmIODTypes::Frame>(
        DcmSegUtils::unpackBinaryFrame(f, (Uint16)seg->rows, (Uint16)seg->columns));
}

/* Count one segment's voxels over its frames, and where they lie. */
int count_segment(DcmSegmentation *doc,
                  const std::vector<frame_geometry> &geo,
                  size_t number,
                  ht_seg *seg,
                  ht_seg_segment *out)
{
    OFVector<size_t> frames;
    doc->getFramesForSegment(number, frames);
    out->frames = (uint32_t)frames.size();
    double sum = 0, max = seg->type == HT_SEG_FRACTIONAL ? seg->max_fractional_value : 1;
    bool any = false, geometric = seg->has_pixel_spacing != 0;
    for (size_t frame : frames) {
        const DcmIODTypes::Frame *f = doc->getFrame(frame);
        auto px = f ? unpacked(seg, f) : nullptr;
        if (!px || px->length < (size_t)seg->rows * seg->columns)
            return ht_error_set(HT_EPARSE, "segment %zu: frame %zu is missing or short", number,
                                frame + 1);
        const frame_geometry &g = geo[frame];
        for (uint32_t r = 0; r < seg->rows; r++)
            for (uint32_t c = 0; c < seg->columns; c++) {
                Uint8 v = px->pixData[(size_t)r * seg->columns + c];
                if (!v)
                    continue;
                sum += seg->type == HT_SEG_FRACTIONAL ? v : 1;
                if (geometric && g.has_position && g.has_orientation) {
                    extend_bounds(seg, g, r, c, !any, out->bounds_lps);
                    any = true;
                }
            }
    }
    out->voxels = sum / max;
    if (seg->has_pixel_spacing && seg->slice_spacing_source != HT_SEG_SPACING_NONE) {
        out->has_volume = 1;
        out->volume_ml =
            out->voxels * seg->pixel_spacing[0] * seg->pixel_spacing[1] * seg->slice_spacing / 1000;
    }
    return HT_OK;
}

int read_segment(DcmSegmentation *doc,
                 const std::vector<frame_geometry> &geo,
                 size_t number,
                 ht_seg *seg,
                 ht_seg_segment *out)
{
    DcmSegment *s = doc->getSegment(number);
    if (!s)
        return ht_error_set(HT_EPARSE, "segment %zu cannot be read", number);
    OFString label;
    s->getSegmentLabel(label);
    out->number = (uint16_t)number;
    out->label = dup(clean(label));
    copy_into(out->algorithm_type, sizeof(out->algorithm_type),
              s->getSegmentAlgorithmType() == DcmSegTypes::SAT_UNKNOWN
                  ? ""
                  : DcmSegTypes::algoType2OFString(s->getSegmentAlgorithmType()).c_str());
    read_code(s->getSegmentedPropertyCategoryCode(), &out->category);
    read_code(s->getSegmentedPropertyTypeCode(), &out->type);
    return count_segment(doc, geo, number, seg, out);
}

/* Whether segment `number` has a voxel set under point `lps`: a frame whose plane lies within
 * half a slice of the point (half a millimetre when the SEG gives no slice spacing), and whose
 * pixel nearest the point's projection is set. */
bool covers(DcmSegmentation *doc,
            const std::vector<frame_geometry> &geo,
            const ht_seg *seg,
            size_t number,
            const double lps[3])
{
    double half = seg->slice_spacing_source != HT_SEG_SPACING_NONE ? seg->slice_spacing / 2 : 0.5;
    OFVector<size_t> frames;
    doc->getFramesForSegment(number, frames);
    for (size_t frame : frames) {
        const frame_geometry &g = geo[frame];
        if (!g.has_position || !g.has_orientation || !seg->has_pixel_spacing)
            continue;
        double d[3] = {lps[0] - g.position[0], lps[1] - g.position[1], lps[2] - g.position[2]},
               normal[3];
        cross(g.row_dir, g.col_dir, normal);
        if (std::fabs(dot(d, normal)) > half + same_slice_mm)
            continue;
        long c = std::lround(dot(d, g.row_dir) / seg->pixel_spacing[1]),
             r = std::lround(dot(d, g.col_dir) / seg->pixel_spacing[0]);
        if (r < 0 || c < 0 || r >= (long)seg->rows || c >= (long)seg->columns)
            continue;
        const DcmIODTypes::Frame *f = doc->getFrame(frame);
        auto px = f ? unpacked(seg, f) : nullptr;
        if (px && px->pixData[(size_t)r * seg->columns + (size_t)c])
            return true;
    }
    return false;
}

/* A point to find the segments of, and what was found. */
struct point_query {
    const double *lps;
    std::vector<uint16_t> numbers;
};

/* What the segmentation type and its fractional kind are. */
int read_type(DcmSegmentation *doc, DcmDataset *ds, ht_seg *seg)
{
    switch (doc->getSegmentationType()) {
    case DcmSegTypes::ST_BINARY:
        seg->type = HT_SEG_BINARY;
        return HT_OK;
    case DcmSegTypes::ST_FRACTIONAL:
        seg->type = HT_SEG_FRACTIONAL;
        seg->fractional_type = doc->getSegmentationFractionalType() == DcmSegTypes::SFT_OCCUPANCY
                                   ? HT_SEG_FRACTIONAL_OCCUPANCY
                                   : HT_SEG_FRACTIONAL_PROBABILITY;
        seg->max_fractional_value = get_u16(ds, DCM_MaximumFractionalValue, 0);
        if (seg->max_fractional_value == 0)
            return not_read(seg, "a FRACTIONAL segmentation without a Maximum Fractional Value");
        return HT_OK;
    default:
        return not_read(seg, "Segmentation Type '" + top_string(ds, DCM_SegmentationType) +
                                 "' is neither BINARY nor FRACTIONAL");
    }
}

/* Everything once dcmseg has loaded the document. */
int read_document(DcmSegmentation *doc, DcmDataset *ds, ht_seg *seg, point_query *query)
{
    int err = read_type(doc, ds, seg);
    if (err < 0 || !seg->read)
        return err;
    seg->rows = get_u16(ds, DCM_Rows, 0);
    seg->columns = get_u16(ds, DCM_Columns, 0);
    seg->frames = (uint32_t)doc->getNumberOfFrames();
    FGInterface &fg = doc->getFunctionalGroups();
    std::vector<frame_geometry> geo;
    for (size_t f = 0; f < seg->frames; f++)
        geo.push_back(geometry_of(fg, f));
    read_spacing(fg, geo, seg);
    read_references(ds, seg);
    seg->n_segments = doc->getNumberOfSegments();
    seg->segments = (ht_seg_segment *)std::calloc(seg->n_segments + 1, sizeof(ht_seg_segment));
    if (!seg->segments)
        throw std::bad_alloc();
    for (size_t i = 0; i < seg->n_segments; i++)
        if ((err = read_segment(doc, geo, i + 1, seg, &seg->segments[i])) < 0)
            return err;
    for (size_t i = 0; query && i < seg->n_segments; i++)
        if (covers(doc, geo, seg, i + 1, query->lps))
            query->numbers.push_back(seg->segments[i].number);
    return HT_OK;
}

/* Why dcmseg will not be asked, or "" when it will. */
std::string refusal(const ht_dicom_info *info)
{
    if (std::strcmp(info->sop_class_uid, HT_SEG_LABEL_MAP_SOP_CLASS) == 0)
        return "a Label Map Segmentation (1.2.840.10008.5.1.4.1.1.66.7), which DCMTK 3.6.7's "
               "dcmseg cannot read; the file is stored as received";
    const ts_entry *ts = find_ts(info->transfer_syntax_uid);
    if (ts && ts->codec == CODEC_DEFLATE_FRAME)
        return ""; /* inflated by the file layer first (native_frames) */
    DcmXfer xfer(info->transfer_syntax_uid);
    if (xfer.getXfer() == EXS_Unknown)
        return std::string("transfer syntax ") + info->transfer_syntax_uid + " (" +
               ht_dicom_transfer_syntax_name(info->transfer_syntax_uid) +
               "), which DCMTK 3.6.7's dcmseg cannot decode; the file is stored as received";
    return "";
}

/* The Type 1 attributes dcmseg insists on that are absent (some writers leave out Number of
 * Frames of a single frame), as ", "-separated names; "" when all are there. */
std::string missing_type1(DcmDataset *ds)
{
    static const struct {
        DcmTagKey tag;
        const char *name;
    } required[] = {{DCM_NumberOfFrames, "Number of Frames (0028,0008)"},
                    {DCM_SegmentSequence, "Segment Sequence (0062,0002)"},
                    {DCM_SharedFunctionalGroupsSequence, "Shared Functional Groups Sequence"},
                    {DCM_PerFrameFunctionalGroupsSequence, "Per-Frame Functional Groups Sequence"},
                    {DCM_PixelData, "Pixel Data"}};
    std::string out;
    for (const auto &r : required)
        if (!ds->tagExistsWithValue(r.tag))
            out += std::string(out.empty() ? "" : ", ") + r.name;
    return out;
}

/* Give dcmseg native Pixel Data when the frames are in a transfer syntax DCMTK 3.6.7 lacks
 * (Deflated Image Frame Compression): the file layer inflates each frame (1-bit frames to bytes
 * 0/1), and the frames are laid end to end as PS3.5 8.1.1 has native data, bits of 1-bit frames
 * continuing across frame boundaries. */
int native_frames(const ht_dicom *dcm, DcmDataset *ds)
{
    const ht_dicom_info *info = ht_dicom_get_info(dcm);
    size_t pixels = (size_t)info->rows * info->columns, frames = info->number_of_frames;
    bool bits = info->bits_allocated == 1;
    if (!bits && info->bits_allocated != 8)
        return ht_error_set(HT_EUNSUPPORTED, "Bits Allocated %u in a segmentation",
                            info->bits_allocated);
    std::vector<Uint8> native(bits ? (pixels * frames + 7) / 8 : pixels * frames, 0);
    for (uint32_t f = 0; f < frames; f++) {
        ht_frame *frame = nullptr;
        int err = ht_dicom_frame_decode(dcm, f, &frame);
        if (err < 0)
            return err;
        const Uint8 *px = (const Uint8 *)frame->samples;
        for (size_t i = 0; i < pixels && i < frame->size; i++) {
            size_t k = (size_t)f * pixels + i;
            if (!bits)
                native[k] = px[i];
            else if (px[i])
                native[k / 8] |= (Uint8)(1u << (k % 8));
        }
        ht_frame_free(frame);
    }
    ds->findAndDeleteElement(DCM_PixelData);
    if (ds->putAndInsertUint8Array(DCM_PixelData, native.data(), (unsigned long)native.size())
            .bad())
        return ht_error_set(HT_ENOMEM, "out of memory inflating a segmentation's frames");
    return HT_OK;
}

int read_seg(const uint8_t *data, size_t len, ht_seg *seg, point_query *query)
{
    ht_dicom *dcm = nullptr;
    int err = ht_dicom_open_memory(&dcm, data, len);
    if (err < 0)
        return err;
    std::unique_ptr<ht_dicom, void (*)(ht_dicom *)> owner(dcm, ht_dicom_free);
    const ht_dicom_info *info = ht_dicom_get_info(dcm);
    if (!ht_seg_is_segmentation(info->sop_class_uid))
        return ht_error_set(HT_EINVALID, "SOP Class %s is not a segmentation", info->sop_class_uid);
    seg->sop_class_uid = dup(info->sop_class_uid);
    seg->study_instance_uid = dup(info->study_instance_uid);
    seg->series_instance_uid = dup(info->series_instance_uid);
    seg->frame_of_reference_uid = dup(info->frame_of_reference_uid);
    seg->read = 1;
    std::string why = refusal(info);
    if (!why.empty())
        return not_read(seg, why);
    DcmDataset *ds = dataset_of(dcm);
    const ts_entry *ts = find_ts(info->transfer_syntax_uid);
    if (ts && ts->codec == CODEC_DEFLATE_FRAME && (err = native_frames(dcm, ds)) < 0)
        return not_read(seg, std::string("its frames cannot be inflated: ") + ht_error_last());
    /* Refused here rather than by dcmseg: DCMTK 3.6.7's loadDataset leaks what it had read
     * when it fails (about 100 KB for pydicom's liver SEG without Number of Frames). */
    std::string missing = missing_type1(ds);
    if (!missing.empty())
        return not_read(seg, "a Type 1 attribute DCMTK's dcmseg requires is missing: " + missing);
    ds->convertToUTF8(); /* labels and meanings in UTF-8; what fails is replaced later */
    DcmSegmentation *doc = nullptr;
    OFCondition c = DcmSegmentation::loadDataset(*ds, doc);
    std::unique_ptr<DcmSegmentation> doc_owner(doc);
    if (c.bad() || !doc)
        return not_read(seg,
                        std::string("DCMTK's dcmseg refuses it: ") + c.text() + missing_type1(ds));
    err = read_document(doc, ds, seg, query);
    if (err < 0 && err != HT_ENOMEM)
        return unread(seg, ht_error_last());
    return err;
}

/* ht_seg_read, and the segments under a point when `query` is given. */
int read_or_query(const uint8_t *data, size_t len, ht_seg **out, point_query *query)
{
    *out = nullptr;
    ht_seg *seg = (ht_seg *)std::calloc(1, sizeof(ht_seg));
    if (!seg)
        return ht_error_set(HT_ENOMEM, "out of memory reading a segmentation");
    int err;
    try {
        err = read_seg(data, len, seg, query);
    } catch (const std::bad_alloc &) {
        err = ht_error_set(HT_ENOMEM, "out of memory reading a segmentation");
    } catch (const std::exception &e) {
        err = ht_error_set(HT_EPARSE, "segmentation cannot be read: %s", e.what());
    } catch (...) {
        err = ht_error_set(HT_EINTERNAL, "unexpected failure reading a segmentation");
    }
    if (err < 0) {
        ht_seg_free(seg);
        return err;
    }
    *out = seg;
    return HT_OK;
}

} // namespace

extern "C" int ht_seg_is_segmentation(const char *sop_class_uid)
{
    return sop_class_uid && (std::strcmp(sop_class_uid, HT_SEG_SOP_CLASS) == 0 ||
                             std::strcmp(sop_class_uid, HT_SEG_LABEL_MAP_SOP_CLASS) == 0);
}

extern "C" int ht_seg_read(const uint8_t *data, size_t len, ht_seg **out)
{
    return read_or_query(data, len, out, nullptr);
}

extern "C" int ht_seg_segments_at(const uint8_t *data,
                                  size_t len,
                                  const double lps[3],
                                  ht_seg **out,
                                  uint16_t *numbers,
                                  size_t max,
                                  size_t *n)
{
    *n = 0;
    try {
        point_query query{lps, {}};
        int err = read_or_query(data, len, out, &query);
        for (size_t i = 0; err == HT_OK && i < query.numbers.size() && i < max; i++)
            numbers[(*n)++] = query.numbers[i];
        return err;
    } catch (...) {
        ht_seg_free(*out);
        *out = nullptr;
        return ht_error_set(HT_ENOMEM, "out of memory finding segments");
    }
}

extern "C" void ht_seg_free(ht_seg *seg)
{
    if (!seg)
        return;
    for (size_t i = 0; seg->segments && i < seg->n_segments; i++)
        std::free(seg->segments[i].label);
    for (size_t i = 0; seg->referenced_series && i < seg->n_referenced_series; i++)
        std::free(seg->referenced_series[i]);
    for (size_t i = 0; seg->referenced_studies && i < seg->n_referenced_studies; i++)
        std::free(seg->referenced_studies[i]);
    std::free(seg->segments);
    std::free(seg->referenced_series);
    std::free(seg->referenced_studies);
    std::free(seg->not_read_reason);
    std::free(seg->sop_class_uid);
    std::free(seg->study_instance_uid);
    std::free(seg->series_instance_uid);
    std::free(seg->frame_of_reference_uid);
    std::free(seg);
}
