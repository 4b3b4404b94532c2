/*
 * The C++ shim over DCMTK, opening a Part 10 buffer: DCMTK's set-up, the transfer syntax table,
 * the File Meta, parsing from memory (no allocation larger than the input meanwhile), the indexed
 * attributes in UTF-8, and the SOP class and transfer syntax queries. Frames are in frames.cc,
 * DICOMDIR in dicomdir.cc, DICOM JSON in json.cc. Every extern "C" function catches every
 * exception; DCMTK types never leave src/dicom.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcspchrs.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "dcmtk_internal.hh"
#include "dicom_internal.h"
#include "hepatrack/util.h"

using namespace ht_dcmtk;

namespace
{

/* The transfer syntaxes the file layer decodes; one table for import, the SCP and the docs. */
const ts_entry transfer_syntaxes[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", CODEC_NATIVE},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", CODEC_NATIVE},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", CODEC_NATIVE},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian", CODEC_NATIVE},
    {"1.2.840.10008.1.2.5", "RLE Lossless", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.53", "JPEG Spectral Selection (Process 6 & 8, retired)", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.55", "JPEG Full Progression (Process 10 & 12, retired)", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless SV1", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", CODEC_DCMTK},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless Only", CODEC_J2K},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", CODEC_J2K},
    /* HTJ2K (JPEG 2000 Part 15): unknown to DCMTK 3.6.7, which reads these files as it reads any
     * explicit VR little endian data set with encapsulated Pixel Data; OpenJPEG 2.5 decodes the
     * codestreams. */
    {"1.2.840.10008.1.2.4.201", "HTJ2K Lossless", CODEC_J2K},
    {"1.2.840.10008.1.2.4.202", "HTJ2K Lossless RPCL", CODEC_J2K},
    {"1.2.840.10008.1.2.4.203", "HTJ2K", CODEC_J2K},
    {"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", CODEC_DEFLATE_FRAME},
};

} // namespace

const ts_entry *ht_dcmtk::find_ts(const char *uid)
{
    for (const ts_entry &e : transfer_syntaxes)
        if (uid && std::strcmp(uid, e.uid) == 0)
            return &e;
    return nullptr;
}

namespace
{

std::once_flag init_once;

void init_dcmtk()
{
    /* Silence DCMTK's logger: it must never write to stderr unasked. HEPATRACK_DCMTK_LOG set
     * to a log4cplus level name (WARN, DEBUG...) turns it back on for debugging. */
    const char *level = std::getenv("HEPATRACK_DCMTK_LOG");
    OFLogger::LogLevel lvl = OFLogger::OFF_LOG_LEVEL;
    if (level && std::strcmp(level, "DEBUG") == 0)
        lvl = OFLogger::DEBUG_LOG_LEVEL;
    else if (level && std::strcmp(level, "WARN") == 0)
        lvl = OFLogger::WARN_LOG_LEVEL;
    else if (level && std::strcmp(level, "INFO") == 0)
        lvl = OFLogger::INFO_LOG_LEVEL;
    OFLog::configure(lvl);
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    std::atexit([] {
        DJLSDecoderRegistration::cleanup();
        DJDecoderRegistration::cleanup();
        DcmRLEDecoderRegistration::cleanup();
    });
}

} // namespace

/* VRs whose explicit encoding has a 2-byte length (PS3.5 7.1.2); all others have 4. */
extern "C" int ht_dicom__is_short_vr(const char *vr)
{
    static const char *const short_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT",
                                            "FL", "FD", "IS", "LO", "LT", "PN", "SH",
                                            "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (const char *sv : short_vrs)
        if (std::strcmp(vr, sv) == 0)
            return 1;
    return 0;
}

namespace
{

/* The File Meta group (PS3.10 7.1: after the 128-byte preamble and "DICM", always Explicit VR
 * Little Endian): where the dataset starts, and the Transfer Syntax UID (0002,0010).
 * Returns false when there is no "DICM" or the group is truncated. */
bool read_meta(const uint8_t *d, size_t len, size_t *dataset_offset, std::string *ts)
{
    size_t p = 132;
    if (len < 132 || std::memcmp(d + 128, "DICM", 4) != 0)
        return false;
    while (p + 8 <= len && (d[p] | d[p + 1] << 8) == 0x0002) {
        uint16_t element = (uint16_t)(d[p + 2] | d[p + 3] << 8);
        char vr[3] = {(char)d[p + 4], (char)d[p + 5], 0};
        uint64_t n;
        size_t header;
        if (!ht_dicom__is_short_vr(vr)) {
            if (p + 12 > len)
                return false;
            n = (uint64_t)d[p + 8] | (uint64_t)d[p + 9] << 8 | (uint64_t)d[p + 10] << 16 |
                (uint64_t)d[p + 11] << 24;
            header = 12;
        } else {
            n = (uint64_t)(d[p + 6] | d[p + 7] << 8);
            header = 8;
        }
        if (n == 0xFFFFFFFFu || p + header + n > len)
            return false;
        if (element == 0x0010) {
            ts->assign((const char *)d + p + header, (size_t)n);
            while (!ts->empty() && (ts->back() == '\0' || ts->back() == ' '))
                ts->pop_back();
        }
        p += header + (size_t)n;
    }
    *dataset_offset = p;
    return true;
}

/*
 * DCMTK allocates each element's value with new (std::nothrow) before reading it, at the length
 * the file declares. ht_dicom__check_lengths refuses lengths past the end of the buffer, but
 * DCMTK's reading of broken files differs from any other in corner cases; so, while a buffer is
 * being parsed on this thread, no single allocation larger than the buffer (or its inflated
 * dataset) is granted at all: DCMTK then fails with "Virtual Memory exhausted", which we report
 * as a parse error. Outside parsing, and on other threads, nothing changes.
 */
thread_local size_t parse_allocation_cap = 0;

struct allocation_cap {
    explicit allocation_cap(size_t cap)
    {
        parse_allocation_cap = cap;
    }
    ~allocation_cap()
    {
        parse_allocation_cap = 0;
    }
};

} // namespace

void *operator new[](std::size_t n, const std::nothrow_t &) noexcept
{
    if (parse_allocation_cap != 0 && n > parse_allocation_cap)
        return nullptr;
    try {
        return ::operator new[](n);
    } catch (...) {
        return nullptr;
    }
}

namespace
{

/* A text value in UTF-8: converted from the Specific Character Set, invalid bytes replaced. */
std::string to_utf8(ht_dicom *dcm, const OFString &raw, const DcmTagKey &tag, bool convert)
{
    std::string text(raw.c_str(), raw.length());
    bool ascii = true;
    for (unsigned char c : text)
        if (c >= 0x80)
            ascii = false;
    if (convert && !ascii && dcm->charset_selected && !dcm->charset_ascii) {
        OFString utf8;
        /* PN components and values are delimiters at which ISO 2022 switches back. */
        OFCondition c = dcm->charset.convertString(raw, utf8, "\\^=");
        if (c.good())
            text.assign(utf8.c_str(), utf8.length());
        else
            dcm->warn(std::string("cannot convert ") + tag.toString().c_str() +
                      " to UTF-8: " + c.text());
    }
    int replaced = 0;
    char *clean = ht_dicom__utf8_sanitize(text.data(), text.size(), &replaced);
    if (!clean)
        throw std::bad_alloc();
    if (replaced)
        dcm->warn(std::string("invalid characters replaced in ") + tag.toString().c_str());
    std::string out(clean);
    std::free(clean);
    /* Trailing padding is not part of the value (PS3.5 6.2). */
    while (!out.empty() && (out.back() == ' ' || out.back() == '\0'))
        out.pop_back();
    while (!out.empty() && out.front() == ' ')
        out.erase(out.begin());
    return out;
}

bool is_text_vr(DcmEVR vr)
{
    switch (vr) {
    case EVR_PN:
    case EVR_LO:
    case EVR_SH:
    case EVR_LT:
    case EVR_ST:
    case EVR_UT:
    case EVR_UC:
        return true;
    default:
        return false;
    }
}

const char *get_text(ht_dicom *dcm, DcmItem *item, const DcmTagKey &tag)
{
    DcmElement *el = nullptr;
    OFString raw;
    if (!item || item->findAndGetElement(tag, el).bad() || !el || el->getOFStringArray(raw).bad())
        return "";
    return dcm->keep(to_utf8(dcm, raw, tag, is_text_vr(el->ident())));
}

/* Item 0 of sequence `seq` in `item`, or null. */
DcmItem *first_item(DcmItem *item, const DcmTagKey &seq, unsigned long index = 0)
{
    DcmItem *out = nullptr;
    if (!item || item->findAndGetSequenceItem(seq, out, (signed long)index).bad())
        return nullptr;
    return out;
}

/* Where an Enhanced object keeps per-frame attributes: the frame's own functional group, then
 * the shared one, then (for classic objects) the top level. */
DcmItem *functional_group(DcmDataset *ds, const DcmTagKey &macro, uint32_t frame, bool top)
{
    DcmItem *fg = first_item(first_item(ds, DCM_PerFrameFunctionalGroupsSequence, frame), macro);
    if (!fg)
        fg = first_item(first_item(ds, DCM_SharedFunctionalGroupsSequence), macro);
    return fg ? fg : (top ? ds : nullptr);
}

bool get_doubles(DcmItem *item, const DcmTagKey &tag, double *out, unsigned long n)
{
    if (!item)
        return false;
    for (unsigned long i = 0; i < n; i++) {
        Float64 v;
        if (item->findAndGetFloat64(tag, v, i).bad())
            return false;
        out[i] = v;
    }
    return true;
}

} // namespace

bool ht_dcmtk::get_double_fg(DcmDataset *ds,
                             const DcmTagKey &macro,
                             const DcmTagKey &tag,
                             uint32_t frame,
                             double *out,
                             unsigned long n)
{
    DcmItem *fg = functional_group(ds, macro, frame, false);
    if (get_doubles(fg, tag, out, n))
        return true;
    return get_doubles(ds, tag, out, n);
}

uint16_t ht_dcmtk::get_u16(DcmItem *item, const DcmTagKey &tag, uint16_t fallback)
{
    Uint16 v;
    if (!item || item->findAndGetUint16(tag, v).bad())
        return fallback;
    return v;
}

namespace
{

bool get_int(DcmItem *item, const DcmTagKey &tag, int32_t *out)
{
    Sint32 v;
    if (!item || item->findAndGetSint32(tag, v).bad())
        return false;
    *out = v;
    return true;
}

void select_charset(ht_dicom *dcm, DcmDataset *ds)
{
    OFString cs;
    ds->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs);
    dcm->info.specific_character_set = dcm->keep(std::string(cs.c_str()));
    std::string trimmed(cs.c_str());
    dcm->charset_ascii = trimmed.empty() || trimmed == "ISO_IR 6" || trimmed == "ISO_IR 192";
    if (dcm->charset_ascii)
        return;
    OFCondition c = dcm->charset.selectCharacterSet(cs);
    dcm->charset_selected = c.good();
    if (c.bad())
        dcm->warn(
            "Specific Character Set '" + trimmed +
            "' cannot be converted to UTF-8 (values kept, invalid bytes replaced): " + c.text());
}

void read_info(ht_dicom *dcm, size_t dataset_offset)
{
    DcmDataset *ds = dataset_of(dcm);
    DcmMetaInfo *meta = dcm->file.getMetaInfo();
    ht_dicom_info &in = dcm->info;
    OFString s;

    std::memset(&in, 0, sizeof(in));
    in.dataset_offset = dataset_offset;
    select_charset(dcm, ds);
    in.transfer_syntax_uid = get_text(dcm, meta, DCM_TransferSyntaxUID);

    in.patient_id = get_text(dcm, ds, DCM_PatientID);
    in.issuer_of_patient_id = get_text(dcm, ds, DCM_IssuerOfPatientID);
    in.patient_name = get_text(dcm, ds, DCM_PatientName);
    in.patient_birth_date = get_text(dcm, ds, DCM_PatientBirthDate);
    in.patient_sex = get_text(dcm, ds, DCM_PatientSex);

    in.study_instance_uid = get_text(dcm, ds, DCM_StudyInstanceUID);
    in.study_date = get_text(dcm, ds, DCM_StudyDate);
    in.study_time = get_text(dcm, ds, DCM_StudyTime);
    in.accession_number = get_text(dcm, ds, DCM_AccessionNumber);
    in.study_description = get_text(dcm, ds, DCM_StudyDescription);

    in.series_instance_uid = get_text(dcm, ds, DCM_SeriesInstanceUID);
    in.modality = get_text(dcm, ds, DCM_Modality);
    in.series_description = get_text(dcm, ds, DCM_SeriesDescription);
    in.body_part_examined = get_text(dcm, ds, DCM_BodyPartExamined);
    in.contrast_bolus_agent = get_text(dcm, ds, DCM_ContrastBolusAgent);
    if (!*in.contrast_bolus_agent)
        in.contrast_bolus_agent =
            get_text(dcm, first_item(ds, DCM_ContrastBolusAgentSequence), DCM_CodeMeaning);
    in.frame_of_reference_uid = get_text(dcm, ds, DCM_FrameOfReferenceUID);
    in.has_series_number = get_int(ds, DCM_SeriesNumber, &in.series_number);
    in.has_slice_thickness =
        get_double_fg(ds, DCM_PixelMeasuresSequence, DCM_SliceThickness, 0, &in.slice_thickness, 1);
    in.has_pixel_spacing =
        get_double_fg(ds, DCM_PixelMeasuresSequence, DCM_PixelSpacing, 0, in.pixel_spacing, 2);

    in.sop_class_uid = get_text(dcm, ds, DCM_SOPClassUID);
    /* a DICOMDIR names its class in the File Meta only; an instance must in its dataset */
    in.media_sop_class_uid = get_text(dcm, meta, DCM_MediaStorageSOPClassUID);
    dcm->dicomdir = !std::strcmp(in.media_sop_class_uid, UID_MediaStorageDirectoryStorage);
    in.sop_instance_uid = get_text(dcm, ds, DCM_SOPInstanceUID);
    in.has_instance_number = get_int(ds, DCM_InstanceNumber, &in.instance_number);
    in.has_image_position = get_double_fg(ds, DCM_PlanePositionSequence, DCM_ImagePositionPatient,
                                          0, in.image_position, 3);
    in.has_image_orientation = get_double_fg(
        ds, DCM_PlaneOrientationSequence, DCM_ImageOrientationPatient, 0, in.image_orientation, 6);

    DcmElement *pixel = nullptr;
    in.has_pixel_data = ds->findAndGetElement(DCM_PixelData, pixel).good() ||
                        ds->findAndGetElement(DCM_FloatPixelData, pixel).good() ||
                        ds->findAndGetElement(DCM_DoubleFloatPixelData, pixel).good();
    in.photometric_interpretation = get_text(dcm, ds, DCM_PhotometricInterpretation);
    if (in.has_pixel_data) {
        in.rows = get_u16(ds, DCM_Rows, 0);
        in.columns = get_u16(ds, DCM_Columns, 0);
        in.samples_per_pixel = get_u16(ds, DCM_SamplesPerPixel, 1);
        in.bits_allocated = get_u16(ds, DCM_BitsAllocated, 0);
        in.bits_stored = get_u16(ds, DCM_BitsStored, in.bits_allocated);
        in.pixel_representation = get_u16(ds, DCM_PixelRepresentation, 0);
        in.number_of_frames = 1;
        if (ds->findAndGetOFString(DCM_NumberOfFrames, s).good()) {
            char *end = nullptr;
            long n = std::strtol(s.c_str(), &end, 10);
            if (end && *end == '\0' && n >= 1 && n <= 1000000)
                in.number_of_frames = (uint32_t)n;
            else
                dcm->warn("Number of Frames '" + std::string(s.c_str()) +
                          "' is not a valid integer; assuming 1");
        }
    }
    in.warnings = dcm->warnings.c_str();
}

int parse(ht_dicom *dcm, const uint8_t *data, size_t len)
{
    size_t offset = 0;
    std::string ts;
    if (!read_meta(data, len, &offset, &ts)) {
        if (len < 132 || std::memcmp(data + 128, "DICM", 4) != 0)
            return ht_error_set(HT_EPARSE,
                                "not a DICOM Part 10 file (no 'DICM' prefix after the 128-byte "
                                "preamble)");
        return ht_error_set(HT_EPARSE, "File Meta Information is truncated or malformed");
    }
    size_t inflated_len = 0;
    int err = ht_dicom__check_lengths(data, len, offset, ts.c_str(), &inflated_len);
    if (err < 0)
        return err;
    /* Deflated datasets inflate; allow what the length check found they inflate to. */
    allocation_cap cap(std::max(len, inflated_len) + 65536);
    DcmInputBufferStream in;
    in.setBuffer(data, (offile_off_t)len);
    in.setEos();
    dcm->file.transferInit();
    OFCondition c = dcm->file.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    dcm->file.transferEnd();
    if (c == EC_InvalidStream || c == EC_StreamNotifyClient || c == EC_EndOfStream)
        return ht_error_set(HT_EPARSE,
                            "DICOM dataset cannot be parsed: %s (the file is truncated, or an "
                            "element's length runs past its end)",
                            c.text());
    if (c == EC_MemoryExhausted)
        return ht_error_set(HT_EPARSE,
                            "DICOM dataset cannot be parsed: an element claims more bytes than "
                            "the file holds");
    if (c.bad())
        return ht_error_set(HT_EPARSE, "DICOM dataset cannot be parsed: %s", c.text());
    if (!in.eos() && in.avail() > 0)
        dcm->warn("unparsed bytes after the dataset");
    read_info(dcm, offset);
    return HT_OK;
}

} // namespace

extern "C" void ht_dicom_global_init(void)
{
    try {
        std::call_once(init_once, init_dcmtk);
    } catch (...) {
        /* Without codecs, compressed frames fail to decode with a clear error later. */
    }
}

extern "C" int ht_dicom_open_memory(ht_dicom **out, const uint8_t *data, size_t len)
{
    *out = nullptr;
    ht_dicom_global_init();
    ht_dicom *dcm = nullptr;
    try {
        dcm = new ht_dicom();
        int err = parse(dcm, data, len);
        if (err < 0) {
            delete dcm;
            return err;
        }
        *out = dcm;
        return HT_OK;
    } catch (const std::bad_alloc &) {
        delete dcm;
        return ht_error_set(HT_ENOMEM, "out of memory parsing a DICOM file");
    } catch (const std::exception &e) {
        delete dcm;
        return ht_error_set(HT_EPARSE, "DICOM dataset cannot be parsed: %s", e.what());
    } catch (...) {
        delete dcm;
        return ht_error_set(HT_EINTERNAL, "unexpected failure parsing a DICOM file");
    }
}

extern "C" void ht_dicom_free(ht_dicom *dcm)
{
    delete dcm;
}

extern "C" const ht_dicom_info *ht_dicom_get_info(const ht_dicom *dcm)
{
    return &dcm->info;
}

extern "C" int
ht_dicom_get_string(const ht_dicom *dcm, uint16_t group, uint16_t element, char **out)
{
    *out = nullptr;
    try {
        ht_dicom *self = const_cast<ht_dicom *>(dcm);
        DcmTagKey tag(group, element);
        DcmItem *item = group == 0x0002 ? static_cast<DcmItem *>(self->file.getMetaInfo())
                                        : static_cast<DcmItem *>(dataset_of(dcm));
        DcmElement *el = nullptr;
        OFString raw;
        if (item->findAndGetElement(tag, el).bad() || !el)
            return ht_error_set(HT_ENOTFOUND, "attribute %s is absent", tag.toString().c_str());
        if (el->getOFStringArray(raw).bad())
            return ht_error_set(HT_ENOTFOUND, "attribute %s has no text value",
                                tag.toString().c_str());
        std::string text = to_utf8(self, raw, tag, is_text_vr(el->ident()));
        *out = ht_strdup(text.c_str());
        return *out ? HT_OK : HT_ENOMEM;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory reading an attribute");
    }
}

extern "C" int ht_dicom_is_storage_sop_class(const char *uid)
{
    if (!ht_dicom_uid_valid(uid)) /* "1.2.840.10008.5.1.4.1.1." is under the root, not a UID */
        return 0;
    /* DCMTK's list, and any UID under the Storage SOP Class root of PS3.4 Annex B, so that
     * classes newer than DCMTK 3.6.7 (Label Map Segmentation...) are stored too. */
    if (dcmIsaStorageSOPClassUID(uid, ESSC_All))
        return 1;
    return std::strncmp(uid, "1.2.840.10008.5.1.4.1.1.", 24) == 0;
}

extern "C" int ht_dicom_transfer_syntax_supported(const char *uid)
{
    return find_ts(uid) != nullptr;
}

extern "C" const char *ht_dicom_transfer_syntax_name(const char *uid)
{
    const ts_entry *e = find_ts(uid);
    return e ? e->name : uid;
}

extern "C" int ht_dicom_uid_valid(const char *uid)
{
    size_t n = uid ? std::strlen(uid) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        bool start = i == 0 || uid[i - 1] == '.';
        if (uid[i] == '.') {
            if (start || i == n - 1)
                return 0; /* an empty component */
        } else if (uid[i] < '0' || uid[i] > '9') {
            return 0;
        } else if (start && uid[i] == '0' && i + 1 < n && uid[i + 1] != '.') {
            return 0; /* a leading zero: "0" alone is a component, "02" is not */
        }
    }
    return 1;
}

extern "C" int ht_dicom_is_dicomdir(const ht_dicom *dcm)
{
    return dcm->dicomdir;
}
