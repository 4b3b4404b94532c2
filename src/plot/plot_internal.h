/* Internals of the plot module shared by its files: the canvas (a cairo surface writing into
 * memory), colours, text and axes. One chart per file draws with these only. */
#ifndef HEPATRACK_PLOT_INTERNAL_H
#define HEPATRACK_PLOT_INTERNAL_H

#include <cairo.h>
#include <jansson.h>

#include "hepatrack/plot.h"

/* The font every picture uses (Debian fonts-dejavu-core), asked of fontconfig by name. */
#define HT_PLOT_FONT "DejaVu Sans"

/* A surface and its context; SVG and PDF are streamed into data as cairo writes them. */
typedef struct ht_canvas {
    cairo_surface_t *surface;
    cairo_t *cr;
    ht_plot_format format;
    double width, height;
    uint8_t *data;
    size_t len, cap;
    int oom;
} ht_canvas;

/* Open a canvas of width x height with a white page. @return HT_OK, HT_EINVALID, HT_EIO. */
int ht_plot__open(ht_canvas *c, ht_plot_format format, double width, double height);

/* Finish the drawing and hand its bytes out (malloc'ed); the canvas is freed either way.
 * @return HT_OK; HT_EIO naming cairo's status; HT_ENOMEM. */
int ht_plot__close(ht_canvas *c, uint8_t **out, size_t *len);

/* Free a canvas whose drawing failed. */
void ht_plot__discard(ht_canvas *c);

typedef enum ht_plot_colour {
    HT_COLOUR_INK = 0,    /* text and axes */
    HT_COLOUR_MUTED,      /* secondary text */
    HT_COLOUR_GRID,       /* grid lines */
    HT_COLOUR_LINE_PR,    /* the -30 % line */
    HT_COLOUR_LINE_PD,    /* the +20 % line */
    HT_COLOUR_CURVE,      /* a Kaplan-Meier curve */
    HT_COLOUR_BAND,       /* its confidence band */
    HT_COLOUR_CALIPER,    /* a key image's caliper */
    HT_COLOUR_WHITE,      /* the page */
    HT_COLOUR_DEATH,      /* the swimmer's death marker */
    HT_COLOUR_PROGRESSION /* the swimmer's progression marker */
} ht_plot_colour;

void ht_plot__colour(cairo_t *cr, ht_plot_colour colour);

/* The fill of a response by name ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE"); anything
 * else (NULL, "NA") gets the colour of no response. */
void ht_plot__response_colour(cairo_t *cr, const char *response);

/* The responses in legend order, NULL-terminated (static). */
const char *const *ht_plot__responses(void);

/* The DejaVu Sans face at a size in pixels, bold or not. */
void ht_plot__font(cairo_t *cr, double size, int bold);

typedef enum ht_align { HT_ALIGN_LEFT = 0, HT_ALIGN_CENTRE, HT_ALIGN_RIGHT } ht_align;

/* Text whose baseline starts, centres or ends at (x, y), in the current font and colour. */
void ht_plot__text(cairo_t *cr, double x, double y, ht_align align, const char *text);

/* Text turned a quarter left (an axis's name), centred on (x, y). */
void ht_plot__text_up(cairo_t *cr, double x, double y, const char *text);

double ht_plot__text_width(cairo_t *cr, const char *text);

/* A linear map from values v0..v1 to positions p0..p1. */
typedef struct ht_axis {
    double v0, v1, p0, p1;
} ht_axis;

double ht_plot__at(const ht_axis *axis, double value);

/* A round tick step (1, 2 or 5 × 10^k) giving about `count` ticks over lo..hi. */
double ht_plot__tick_step(double lo, double hi, int count);

/* How tick labels read: 40, +40 %, 0.25. */
typedef enum ht_ticks { HT_TICKS_PLAIN = 0, HT_TICKS_PERCENT, HT_TICKS_FRACTION } ht_ticks;

/* Grid lines and labels of a value axis drawn upright at x (labels left of it), across to
 * x_end: every step from the first multiple of step at or above v0. */
void ht_plot__y_axis(
    cairo_t *cr, const ht_axis *y, double x, double x_end, double step, ht_ticks style);

/* An axis along y (ticks and labels under it) with its name centred below. */
void ht_plot__x_axis(
    cairo_t *cr, const ht_axis *x, double y, double step, ht_ticks style, const char *name);

/* A horizontal reference line at value of axis y from x0 to x1, dashed, labelled at its right
 * end. */
void ht_plot__reference(cairo_t *cr,
                        const ht_axis *y,
                        double value,
                        double x0,
                        double x1,
                        ht_plot_colour colour,
                        const char *label);

/* The title (bold) and a subtitle under it, at the top left. */
void ht_plot__title(cairo_t *cr, const char *title, const char *subtitle);

/* The subtitle of a cohort picture: criterion, number of subjects, which reads. */
void ht_plot__cohort_note(const json_t *cohort, char *buf, size_t size);

/* A response legend (a swatch per response) in a row starting at (x, y); returns its width. */
double ht_plot__legend(cairo_t *cr, double x, double y);

/* "RECIST 1.1", "mRECIST", "Choi" for a criterion's JSON name (else the name). */
const char *ht_plot__criterion_title(const char *name);

/* A member as a number, or NAN when absent or null. */
double ht_plot__number(const json_t *object, const char *key);

/* The cohort's subjects in the order `order` gives (a qsort comparator over json_t *), *n of
 * them. The caller frees the array, not its members, which the cohort owns; NULL when out of
 * memory. */
json_t **
ht_plot__subjects_sorted(const json_t *cohort, int (*order)(const void *, const void *), size_t *n);

/* The charts, one per file, each drawing a cohort on a canvas of width x height. */
void ht_plot__waterfall(cairo_t *cr, const json_t *cohort, double width, double height);
void ht_plot__spider(cairo_t *cr, const json_t *cohort, double width, double height);
void ht_plot__swimmer(cairo_t *cr, const json_t *cohort, double width, double height);
void ht_plot__km(cairo_t *cr, const json_t *cohort, int os, double width, double height);

/* ---- a subject's report (subject_pdf.c, key_images.c) --------------------------------------- */

#define HT_REPORT_MARGIN 40.0
#define HT_REPORT_TOP 60.0                            /* under the page's header */
#define HT_REPORT_BOTTOM (HT_PLOT_PAGE_HEIGHT - 50.0) /* above its footer */

typedef struct ht_report_doc {
    ht_canvas canvas;
    cairo_t *cr;
    int counting;    /* the first pass: pages are counted, key images not read */
    int page, pages; /* the page being drawn (from 1), and how many there are */
    double y;        /* where the next line goes */
    const char *subject;
    const char *trial; /* the study id */
    char status[400];  /* the read status every page carries */
    char made[32];     /* when the report was made, "YYYY-MM-DD HH:MM UTC" */
    json_t *records;   /* ht_report_records */
    json_t *timelines[3];
    int ntimelines;
    ht_store *store;
    ht_archive *archive;
} ht_report_doc;

/* Start a new page: the previous one shown, the header and footer drawn. */
void ht_plot__new_page(ht_report_doc *d);

/* Room for `height` more points on this page, else a new page. */
void ht_plot__need(ht_report_doc *d, double height);

/* A section's heading, on a new page when little room is left. */
void ht_plot__heading(ht_report_doc *d, const char *text);

/* The key-image sheet: every target at every time point reported, six to a page. */
void ht_plot__key_images(ht_report_doc *d);

#endif
