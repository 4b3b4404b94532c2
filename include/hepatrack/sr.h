/*
 * hepatrack — DICOM SR Measurement Reports (TID 1500), read and written (spec section 11).
 *
 * A C interface over DCMTK's dcmsr (implemented in C++ under src/dicom/: sr_read.cc,
 * sr_write.cc; no C++ type or exception crosses this header). A report is described by plain
 * structs: its identification, the Time Point Context, the observer, the images it references,
 * and one group per lesion (TID 1501) or region (TID 1410 planar, TID 1411 volumetric), each
 * with its tracking identifier and UID, finding site, and measurements (a NUM with its code,
 * value, UCUM unit and, where drawn, the SCOORD it was inferred from).
 *
 * Codes read are given in SNOMED CT: the legacy SNOMED-RT codes ("SRT") that dcmqi and older
 * writers use are mapped to their "SCT" equivalents (PS3.16; spec 11) before they are handed
 * out, so that a caller compares codes without knowing the scheme's history.
 *
 * hepatrack's own reports carry a provenance text (the ledger versions the report was made
 * from): a TEXT item (121106, DCM, "Comment") under Qualitative Evaluations whose value starts
 * with HT_SR_PROVENANCE_PREFIX (docs/sr.md). The reader returns it, so that an importer knows a
 * report hepatrack wrote itself.
 *
 * Ownership: every string and array of an ht_sr_report is owned by it: ht_sr_read fills one that
 * the caller frees with ht_sr_report_free; a caller that builds one for ht_sr_write allocates
 * its arrays and strings with malloc (ht_sr_report_free frees them the same way). Fixed-size
 * fields are NUL-terminated; text read into them is truncated (with a warning) when longer.
 *
 * Errors: HT_OK or a negative code with a message (ht_error_last); DCMTK's condition text is
 * included where DCMTK failed. Nothing here aborts or throws on bad input.
 */
#ifndef HEPATRACK_SR_H
#define HEPATRACK_SR_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The start of the provenance text in hepatrack's own reports. */
#define HT_SR_PROVENANCE_PREFIX "hepatrack-ledger "

/** A coded entry (scheme, value, meaning); value "" when absent. */
typedef struct ht_sr_code {
    char scheme[32]; /* "SCT", "DCM", "UCUM", ... (SRT mapped to SCT when read) */
    char value[72];  /* Code Value, or a Long Code Value */
    char meaning[200];
} ht_sr_code;

/** Where a measurement or a region was drawn: an SCOORD and the image it was selected from. */
typedef struct ht_sr_coord {
    char graphic_type[16]; /* "POLYLINE", "ELLIPSE", "POINT", "CIRCLE", ...; "" when none */
    double *points;        /* npoints (x, y) pairs, malloc'ed; image pixels, (0, 0) the top-left
                              corner of the top-left pixel (PS3.3 C.18.6.1.1) */
    size_t npoints;
    char sop_class_uid[65]; /* the image it was selected from */
    char sop_instance_uid[65];
    uint32_t frame; /* from 1; 0 when the reference names no frame */
} ht_sr_coord;

/** What a measurement measures, from its concept (and derivation) as mapped to SCT. */
typedef enum ht_sr_quantity {
    HT_SR_LONG_AXIS = 0, /* SCT 103339001 */
    HT_SR_SHORT_AXIS,    /* SCT 103340004 */
    HT_SR_LENGTH,        /* SCT 410668003 */
    HT_SR_MEAN,          /* SCT 373098007, as the concept or as its Derivation */
    HT_SR_AREA,          /* SCT 42798000, or a length code given in an area unit */
    HT_SR_VOLUME,        /* SCT 118565006 */
    HT_SR_OTHER
} ht_sr_quantity;

/** A NUM content item of a group (TID 300 / TID 1419). */
typedef struct ht_sr_measurement {
    ht_sr_code concept;    /* the NUM's concept name, SRT mapped to SCT */
    ht_sr_code derivation; /* its (121401, DCM, "Derivation") modifier; value "" when none */
    ht_sr_quantity quantity;
    int has_value;   /* 0: a NUM without a measured value (skipped, with a warning) */
    double value;    /* as written, in unit */
    ht_sr_code unit; /* UCUM; value the unit code ("mm", "[hnsf'U]", "{SUVbw}g/ml") */
    /* The value in hepatrack's unit for the quantity (mm, mm2, ml, HU for a mean), when the
     * UCUM unit converts to it; converted 0 otherwise (the group's warnings say why). */
    int converted;
    double value_converted;
    ht_sr_coord coord; /* TID 1501: the SCOORD it was INFERRED FROM (graphic_type "" if none) */
} ht_sr_measurement;

typedef enum ht_sr_template {
    HT_SR_TID1501 = 1501, /* Measurement and Qualitative Evaluation Group */
    HT_SR_TID1410 = 1410, /* Planar ROI Measurements and Qualitative Evaluations */
    HT_SR_TID1411 = 1411  /* Volumetric ROI Measurements and Qualitative Evaluations */
} ht_sr_template;

/** One Measurement Group container under Imaging Measurements. */
typedef struct ht_sr_group {
    ht_sr_template tid;
    char tracking_id[256];   /* Tracking Identifier (DCM 112039): hepatrack's lesion label */
    char tracking_uid[65];   /* Tracking Unique Identifier (DCM 112040): the lesion's UID */
    ht_sr_code finding;      /* (121071, DCM, "Finding"); value "" when none */
    ht_sr_code finding_site; /* (363698007, SCT, "Finding Site"); value "" when none */
    char timepoint[65];      /* the group's own Time Point, "" when none */
    char comment[256];       /* a TEXT (121106, DCM, "Comment") of the group, "" when none */
    ht_sr_coord roi;         /* TID 1410: the Image Region; TID 1411 and 1501: graphic_type "" */
    ht_sr_measurement *measurements; /* malloc'ed */
    size_t nmeasurements;
    char *warnings; /* "; "-separated, malloc'ed; NULL when none */
} ht_sr_group;

/** An instance a report references: in the Image Library, the evidence or as predecessor. */
typedef struct ht_sr_ref {
    char study_uid[65]; /* "" when the report does not say (Image Library items) */
    char series_uid[65];
    char sop_class_uid[65];
    char sop_instance_uid[65];
} ht_sr_ref;

typedef struct ht_sr_report {
    /* Identification (filled by ht_sr_read; ht_sr_write fills the UIDs it makes into *out). */
    char sop_class_uid[65];
    char sop_instance_uid[65];
    char series_instance_uid[65];
    char study_instance_uid[65];
    char patient_id[65];
    char issuer_of_patient_id[65];
    int32_t instance_number; /* 0: not given */
    char content_date[9];    /* YYYYMMDD */
    char content_time[17];

    char timepoint[65]; /* Time Point Context (TID 1502; UMLS C2348792); "" when none */
    char observer[256]; /* Person Observer Name (the signing reader); "" when none */
    char *provenance;   /* hepatrack's provenance text (HT_SR_PROVENANCE_PREFIX...), or NULL */
    int completed;      /* Completion Flag COMPLETE */
    int verified;       /* Verification Flag VERIFIED */

    ht_sr_ref *images; /* Image Library (read) / images referenced (written); malloc'ed */
    size_t nimages;
    ht_sr_ref *evidence; /* Current Requested Procedure Evidence (read only) */
    size_t nevidence;
    ht_sr_ref predecessor; /* Predecessor Documents Sequence: the report this one supersedes;
                              sop_instance_uid "" when none */

    ht_sr_group *groups; /* malloc'ed */
    size_t ngroups;
    char *warnings; /* report-level warnings, "; "-separated, malloc'ed; NULL when none */
} ht_sr_report;

/**
 * Read a TID 1500 Measurement Report from Part 10 bytes, leniently (as `dsrdump -Ee -Ec -Er`:
 * content item errors, relationship constraints and unknown relationship types are tolerated
 * and noted), group by group.
 * @param[out] out  filled on success (free with ht_sr_report_free); cleared on error.
 * @return HT_OK; HT_EPARSE (not a readable Part 10 object or SR document); HT_EUNSUPPORTED
 *         (an SR document that is not a TID 1500 Measurement Report: its root is not
 *         (126000, DCM, "Imaging Measurement Report"), named in the message); HT_ENOMEM.
 */
int ht_sr_read(const uint8_t *bytes, size_t len, ht_sr_report *out);

/** Free everything a report owns and clear it. Accepts a cleared report. */
void ht_sr_report_free(ht_sr_report *report);

/**
 * Write a report as an Enhanced SR (Comprehensive 3D SR is never needed: points are 2-D)
 * Measurement Report (TID 1500) in the study of `image` (one image of the study, whose
 * Patient, General Study and Patient Study attributes are copied), in a series of its own: the
 * report's series_instance_uid when given (a later report of the same time point), else a new
 * one; always a new SOP Instance UID. Explicit VR Little Endian, hepatrack's Implementation
 * Class UID. The report's study, patient and content date/time are ignored (taken from image
 * and the clock); groups are written in order (TID 1501 and 1410). `images` must list every
 * image the groups reference, each with its study and series (the Image Library and the
 * Current Requested Procedure Evidence Sequence list them); `predecessor`, when given, is
 * written in the Predecessor Documents Sequence (the report this one supersedes).
 * @param[out] out  malloc'ed Part 10 bytes (free with ht_free); read them back (or ingest
 *                  them) for the UIDs made.
 * @return HT_OK; HT_EINVALID naming what is wrong (no tracking UID, a measurement without a
 *         value, a bad UID); HT_EPARSE (image unreadable); HT_ENOMEM; HT_EINTERNAL when DCMTK
 *         refuses the tree (its condition text in the message).
 */
int ht_sr_write(
    const ht_sr_report *report, const uint8_t *image, size_t image_len, uint8_t **out, size_t *len);

/** The SCT code of a legacy SRT code (PS3.16 mapping; the ones spec 11 names and their
 * neighbours), or NULL when the table has none. */
const char *ht_sr_srt_to_sct(const char *srt_value);

/** A quantity's name ("long axis", ...; static). */
const char *ht_sr_quantity_name(ht_sr_quantity quantity);

#ifdef __cplusplus
}
#endif

#endif
