/*
 * hepatrack — pictures of what the report module computes, drawn with cairo: the cohort's
 * waterfall, spider, swimmer and Kaplan-Meier plots (PNG, SVG or PDF) and a subject's report
 * (a PDF). Every number drawn comes from src/report (ht_report_cohort_series,
 * ht_report_timeline, ht_report_records); nothing here evaluates a response or a survival time.
 *
 * Text is set in "DejaVu Sans" (Debian fonts-dejavu-core), chosen by name through fontconfig.
 * Colours per response, the same on every picture and in the reading station:
 * CR #388e3c, PR #81c784, SD #64b5f6, non-CR/non-PD #4db6ac, PD #e57373, NE #999999 (and
 * #bdbdbd where there is no response); the -30 % line #2e7d32, the +20 % line #c62828, a
 * key image's caliper #ffd600.
 *
 * Ownership: pictures are malloc'ed (free()); json_t arguments are borrowed.
 * Errors: HT_EINVALID (an unknown name), HT_ENOMEM, HT_EIO (cairo's own failure, its status
 * named in the message), and the report module's errors as they come.
 */
#ifndef HEPATRACK_PLOT_H
#define HEPATRACK_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/archive.h"
#include "hepatrack/error.h"
#include "hepatrack/response.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;
struct ht_report_options;

/** The cohort's pictures. */
typedef enum ht_plot_chart {
    HT_PLOT_WATERFALL = 0, /* best % change per subject, bars coloured by BOR */
    HT_PLOT_SPIDER,        /* % change against weeks from baseline, a line per subject */
    HT_PLOT_SWIMMER,       /* time on study with response onsets, progression, death */
    HT_PLOT_KM_PFS,        /* Kaplan-Meier curve of PFS, with the numbers at risk */
    HT_PLOT_KM_OS,         /* the same for OS */
    HT_PLOT_NCHARTS
} ht_plot_chart;

typedef enum ht_plot_format { HT_PLOT_PNG = 0, HT_PLOT_SVG, HT_PLOT_PDF } ht_plot_format;

/** A picture's size in pixels (PNG) or points (SVG, PDF). */
#define HT_PLOT_WIDTH 960
#define HT_PLOT_HEIGHT 600

/** "waterfall", "spider", "swimmer", "km-pfs", "km-os" (static), or NULL out of range. */
const char *ht_plot_chart_name(ht_plot_chart chart);

/** A chart by its name. @return HT_OK; HT_EINVALID naming the known ones. */
int ht_plot_chart_parse(const char *name, ht_plot_chart *out);

/** A format by its file extension ("png", "svg", "pdf"). @return HT_OK; HT_EINVALID. */
int ht_plot_format_parse(const char *extension, ht_plot_format *out);

/** "png", "svg", "pdf" and their media types "image/png", "image/svg+xml", "application/pdf". */
const char *ht_plot_format_extension(ht_plot_format format);
const char *ht_plot_media_type(ht_plot_format format);

/**
 * Draw one chart of a cohort (the object ht_report_cohort_series gives, borrowed).
 * @param out,len  the picture, malloc'ed, owned by the caller.
 * @return HT_OK; HT_EINVALID (a chart or format out of range); HT_ENOMEM; HT_EIO.
 */
int ht_plot_draw(const struct json_t *cohort,
                 ht_plot_chart chart,
                 ht_plot_format format,
                 uint8_t **out,
                 size_t *len);

/**
 * The cohort under a criterion (ht_report_cohort_series) drawn as one chart.
 * @return as ht_plot_draw, and ht_report_cohort_series's errors (HT_EDB).
 */
int ht_plot_cohort(ht_store *store,
                   ht_criterion criterion,
                   const struct ht_report_options *options,
                   ht_plot_chart chart,
                   ht_plot_format format,
                   uint8_t **out,
                   size_t *len);

/** What a subject's report holds. */
typedef struct ht_plot_report_options {
    int all_criteria;       /* 1: a timeline per criterion (RECIST 1.1, mRECIST, Choi) */
    ht_criterion criterion; /* the one timeline when all_criteria is 0 */
    int include_drafts;     /* 0: signed reads only (unsigned time points left out, said so) */
} ht_plot_report_options;

/** A4 portrait, in PDF points. */
#define HT_PLOT_PAGE_WIDTH 595.0
#define HT_PLOT_PAGE_HEIGHT 842.0

/**
 * A subject's report as a PDF (cairo's PDF surface): the subject, trial and readers, each time
 * point's read status, the best overall response per criterion, the eligibility checks and
 * the hepatic tumour load per time point; per criterion the timeline table and the target-sum
 * chart; and a key-image sheet: for every target at every time point reported, the slice it
 * was measured on (ht_measure_open_image) rendered in the file's window (ht_render_pixels),
 * cropped around the lesion, with the caliper and its length drawn. Every page carries
 * "Page k of N", the date it was made and the read status (signed by whom and when, or draft).
 * @param archive  where the measured instances are read (borrowed).
 * @param pdf,len  the PDF, malloc'ed, owned by the caller.
 * @return HT_OK; HT_ENOTFOUND (no such subject); HT_EINVALID (no signed read yet, without
 *         drafts); HT_EDB; HT_ENOMEM; HT_EIO. An image that cannot be read is noted in its
 *         cell, not an error.
 */
int ht_plot_subject_report(ht_store *store,
                           ht_archive *archive,
                           const char *subject_id,
                           const ht_plot_report_options *options,
                           uint8_t **pdf,
                           size_t *len);

#ifdef __cplusplus
}
#endif

#endif
