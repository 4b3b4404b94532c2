/*
 * A subject's report as a PDF: the summary (subject, trial, readers, each read's status, BOR
 * per criterion, eligibility, hepatic tumour load), a page per criterion (the timeline table,
 * the best response, the target-sum chart) and the key-image sheet (key_images.c). Every value
 * is the report module's JSON, printed as it is. The document is laid out twice: the first
 * pass counts the pages, so that each can say "Page k of N".
 */
#include "plot_internal.h"

#include "hepatrack/report.h"
#include "hepatrack/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE 12.0 /* a table row */

/* ---- pages ------------------------------------------------------------------------------- */

static void header_footer(ht_report_doc *d)
{
    cairo_t *cr = d->cr;
    char text[256];
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 9, 1);
    snprintf(text, sizeof(text), "hepatrack subject report: %s, trial %s", d->subject, d->trial);
    ht_plot__text(cr, HT_REPORT_MARGIN, 30, HT_ALIGN_LEFT, text);
    if (d->counting)
        snprintf(text, sizeof(text), "Page %d", d->page);
    else
        snprintf(text, sizeof(text), "Page %d of %d", d->page, d->pages);
    ht_plot__text(cr, HT_PLOT_PAGE_WIDTH - HT_REPORT_MARGIN, 30, HT_ALIGN_RIGHT, text);
    ht_plot__colour(cr, HT_COLOUR_GRID);
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, HT_REPORT_MARGIN, 36);
    cairo_line_to(cr, HT_PLOT_PAGE_WIDTH - HT_REPORT_MARGIN, 36);
    cairo_move_to(cr, HT_REPORT_MARGIN, HT_PLOT_PAGE_HEIGHT - 40);
    cairo_line_to(cr, HT_PLOT_PAGE_WIDTH - HT_REPORT_MARGIN, HT_PLOT_PAGE_HEIGHT - 40);
    cairo_stroke(cr);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 8, 0);
    ht_plot__text(cr, HT_REPORT_MARGIN, HT_PLOT_PAGE_HEIGHT - 28, HT_ALIGN_LEFT, d->status);
    snprintf(text, sizeof(text), "Made %s", d->made);
    ht_plot__text(cr, HT_PLOT_PAGE_WIDTH - HT_REPORT_MARGIN, HT_PLOT_PAGE_HEIGHT - 16,
                  HT_ALIGN_RIGHT, text);
}

void ht_plot__new_page(ht_report_doc *d)
{
    if (d->page > 0)
        cairo_show_page(d->cr);
    d->page++;
    header_footer(d);
    d->y = HT_REPORT_TOP;
}

void ht_plot__need(ht_report_doc *d, double height)
{
    if (d->y + height > HT_REPORT_BOTTOM)
        ht_plot__new_page(d);
}

void ht_plot__heading(ht_report_doc *d, const char *text)
{
    ht_plot__need(d, 60);
    d->y += 10;
    ht_plot__colour(d->cr, HT_COLOUR_INK);
    ht_plot__font(d->cr, 13, 1);
    ht_plot__text(d->cr, HT_REPORT_MARGIN, d->y, HT_ALIGN_LEFT, text);
    d->y += 16;
}

/* A line of text at the cursor. */
static void line(ht_report_doc *d, int bold, const char *text)
{
    ht_plot__need(d, LINE);
    ht_plot__colour(d->cr, HT_COLOUR_INK);
    ht_plot__font(d->cr, 9, bold);
    ht_plot__text(d->cr, HT_REPORT_MARGIN, d->y, HT_ALIGN_LEFT, text);
    d->y += LINE;
}

/* A table row: cells at the given widths (their sum within the page), a header in bold. */
static void row(ht_report_doc *d, const char *const *cells, const double *widths, int n, int bold)
{
    double x = HT_REPORT_MARGIN;
    ht_plot__need(d, LINE);
    ht_plot__font(d->cr, 8, bold);
    for (int i = 0; i < n; i++) {
        ht_plot__colour(d->cr, HT_COLOUR_INK);
        ht_plot__text(d->cr, x, d->y, HT_ALIGN_LEFT, cells[i] ? cells[i] : "-");
        x += widths[i];
    }
    if (bold) {
        ht_plot__colour(d->cr, HT_COLOUR_GRID);
        cairo_set_line_width(d->cr, 0.5);
        cairo_move_to(d->cr, HT_REPORT_MARGIN, d->y + 3);
        cairo_line_to(d->cr, x, d->y + 3);
        cairo_stroke(d->cr);
    }
    d->y += LINE;
}

/* ---- values as text ---------------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A number as "%.1f" (signed: "%+.1f"), "-" when null; into one of a few rotating buffers,
 * one set per thread (the HTTP server's workers make reports at once). */
static const char *num(const json_t *o, const char *key, int with_sign)
{
    static _Thread_local char bufs[16][24];
    static _Thread_local int next;
    char *b = bufs[next++ % 16];
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return "-";
    snprintf(b, sizeof(bufs[0]), with_sign ? "%+.1f" : "%.1f", json_number_value(v));
    return b;
}

/* "2026-12-03T14:53:00.515Z" as "2026-12-03 14:53 UTC". */
static void when(const char *iso, char *out, size_t size)
{
    if (!iso || strlen(iso) < 16)
        snprintf(out, size, "%s", iso ? iso : "-");
    else
        snprintf(out, size, "%.10s %.5s UTC", iso, iso + 11);
}

/* The read status every page carries: who signed and when, or which reads are drafts. */
static void read_status(ht_report_doc *d)
{
    const json_t *tl = d->timelines[0];
    char signers[160] = "", drafts[120] = "", last[32] = "", at[32];
    const char *latest = NULL;
    size_t i;
    json_t *tp;
    json_array_foreach(json_object_get(tl, "timepoints"), i, tp)
    {
        const char *by = str(tp, "signed_by"), *ts = str(tp, "signed_at");
        if (!by) {
            size_t n = strlen(drafts);
            snprintf(drafts + n, sizeof(drafts) - n, "%s%s", n ? ", " : "", str(tp, "label"));
            continue;
        }
        if (!strstr(signers, by)) {
            size_t n = strlen(signers);
            snprintf(signers + n, sizeof(signers) - n, "%s%s", n ? ", " : "", by);
        }
        if (ts && (!latest || strcmp(ts, latest) > 0))
            latest = ts;
    }
    when(latest, at, sizeof(at));
    if (latest)
        snprintf(last, sizeof(last), "%s", at);
    json_int_t left = json_integer_value(json_object_get(tl, "unsigned_left_out"));
    if (drafts[0])
        snprintf(d->status, sizeof(d->status), "Read status: DRAFT (not signed: %s)%s%s%s%s",
                 drafts, signers[0] ? "; signed by " : "", signers, latest ? ", last on " : "",
                 last);
    else
        snprintf(d->status, sizeof(d->status), "Read status: signed by %s, last on %s%s", signers,
                 last, left ? " (unsigned reads left out)" : "");
}

/* ---- the summary page -------------------------------------------------------------------- */

static void summary(ht_report_doc *d)
{
    const json_t *tl = d->timelines[0];
    char text[320];
    size_t i;
    json_t *tp;
    ht_plot__heading(d, "Subject");
    snprintf(text, sizeof(text), "Subject %s    Trial %s", d->subject, d->trial);
    line(d, 1, text);
    const json_t *r = d->records;
    snprintf(text, sizeof(text), "Treatment start %s    Death %s    Last known alive %s",
             str(r, "treatment_start") ? str(r, "treatment_start") : "-",
             str(r, "death_date") ? str(r, "death_date") : "-",
             str(r, "last_known_alive") ? str(r, "last_known_alive") : "-");
    line(d, 0, text);
    line(d, 0, d->status);
    json_int_t left = json_integer_value(json_object_get(tl, "unsigned_left_out"));
    snprintf(text, sizeof(text), "%s",
             json_is_true(json_object_get(tl, "drafts_included"))
                 ? "Results include the drafts (flagged draft below)."
                 : "Results from signed reads only.");
    if (left) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, " %lld unsigned time point%s left out.",
                 (long long)left, left == 1 ? "" : "s");
    }
    line(d, 0, text);

    ht_plot__heading(d, "Reads");
    static const double rw[] = {60, 70, 60, 140, 130};
    static const char *const rh[] = {"Time point", "Date", "Read", "Signed by", "Signed at"};
    row(d, rh, rw, 5, 1);
    json_array_foreach(json_object_get(tl, "timepoints"), i, tp)
    {
        char at[32];
        when(str(tp, "signed_at"), at, sizeof(at));
        const char *cells[] = {str(tp, "label"), str(tp, "date"), str(tp, "read_status"),
                               str(tp, "signed_by"), str(tp, "signed_at") ? at : NULL};
        row(d, cells, rw, 5, 0);
    }

    ht_plot__heading(d, "Best overall response");
    static const double bw[] = {80, 90, 70, 70, 90, 90};
    static const char *const bh[] = {"Criterion", "BOR",         "Confirmed",
                                     "At",        "Progression", "Best change %"};
    row(d, bh, bw, 6, 1);
    for (int k = 0; k < d->ntimelines; k++) {
        const json_t *t = d->timelines[k];
        const json_t *conf = json_object_get(t, "bor_confirmed");
        const char *cells[] = {ht_plot__criterion_title(str(t, "criteria")),
                               str(t, "best_overall_response"),
                               json_is_true(conf)    ? "yes"
                               : json_is_false(conf) ? "no"
                                                     : "-",
                               str(t, "bor_timepoint"),
                               str(t, "progression_date"),
                               num(t, "best_change_from_baseline_pct", 1)};
        row(d, cells, bw, 6, 0);
    }

    const json_t *elig = json_object_get(tl, "eligibility");
    snprintf(text, sizeof(text), "Eligibility at baseline (spec 8): %s",
             json_is_true(json_object_get(elig, "eligible")) ? "eligible" : "not eligible");
    ht_plot__heading(d, text);
    static const double ew[] = {110, 60, 340};
    static const char *const eh[] = {"Check", "Result", "Detail"};
    row(d, eh, ew, 3, 1);
    json_array_foreach(json_object_get(elig, "checks"), i, tp)
    {
        const char *cells[] = {str(tp, "rule"), str(tp, "status"), str(tp, "detail")};
        row(d, cells, ew, 3, 0);
    }
}

/* The hepatic tumour load per time point (spec 7). */
static void hepatic(ht_report_doc *d)
{
    static const double w[] = {50, 42, 70, 50, 36, 54, 56, 157};
    static const char *const h[] = {"Time pt", "Lesions", "Sum mm",     "Largest",
                                    "TBS",     "Vol mL",  "Replaced %", "Count by segment"};
    size_t i;
    json_t *tp;
    ht_plot__heading(d, "Hepatic tumour load per time point");
    row(d, h, w, 8, 1);
    json_array_foreach(json_object_get(d->timelines[0], "timepoints"), i, tp)
    {
        const json_t *hl = json_object_get(tp, "hepatic");
        char count[16] = "-", sum[24], segments[160] = "", tbs[16] = "-";
        const char *key;
        json_t *seg;
        if (!json_is_object(hl)) {
            const char *cells[] = {str(tp, "label"), "no imaging"};
            row(d, cells, w, 2, 0);
            continue;
        }
        snprintf(count, sizeof(count), "%lld",
                 (long long)json_integer_value(json_object_get(hl, "liver_lesion_count")));
        snprintf(sum, sizeof(sum), "%s%s", num(hl, "liver_sum_mm", 0),
                 json_is_false(json_object_get(hl, "liver_sum_complete")) ? " (incomplete)" : "");
        if (json_is_number(json_object_get(hl, "tumour_burden_score")))
            snprintf(tbs, sizeof(tbs), "%.2f",
                     json_number_value(json_object_get(hl, "tumour_burden_score")));
        json_object_foreach((json_t *)json_object_get(hl, "by_segment"), key, seg)
        {
            size_t n = strlen(segments);
            snprintf(segments + n, sizeof(segments) - n, "%s%s: %lld", n ? ", " : "", key,
                     (long long)json_integer_value(json_object_get(seg, "count")));
        }
        const char *cells[] = {str(tp, "label"),
                               count,
                               sum,
                               num(hl, "largest_liver_mm", 0),
                               tbs,
                               num(hl, "liver_tumour_volume_ml", 0),
                               num(hl, "liver_replacement_pct", 0),
                               segments};
        row(d, cells, w, 8, 0);
    }
}

/* ---- a criterion's page ------------------------------------------------------------------ */

static void timeline_table(ht_report_doc *d, const json_t *t)
{
    int choi = str(t, "criteria") && !strcmp(str(t, "criteria"), "choi");
    static const double w[] = {40, 52, 26, 38, 36, 40, 44, 42, 52, 40, 48, 40};
    const char *h[] = {"Time pt",
                       "Date",
                       "Day",
                       "Sum",
                       "Nadir",
                       "vs BL %",
                       choi ? "Mean HU" : "vs nadir %",
                       "Target",
                       "Non-target",
                       "New",
                       "Overall",
                       "Read"};
    size_t i;
    json_t *tp;
    row(d, h, w, 12, 1);
    json_array_foreach(json_object_get(t, "timepoints"), i, tp)
    {
        char day[16], sum[24];
        snprintf(day, sizeof(day), "%lld",
                 (long long)json_integer_value(json_object_get(tp, "days_from_baseline")));
        snprintf(sum, sizeof(sum), "%s%s", num(tp, "sum_mm", 0),
                 json_is_false(json_object_get(tp, "sum_complete")) ? "*" : "");
        const char *cells[] = {str(tp, "label"),
                               str(tp, "date"),
                               day,
                               sum,
                               num(tp, "nadir_mm", 0),
                               num(tp, "change_from_baseline_pct", 1),
                               choi ? num(tp, "mean_hu", 0) : num(tp, "change_from_nadir_pct", 1),
                               str(tp, "target"),
                               str(tp, "non_target"),
                               str(tp, "new_lesions"),
                               str(tp, "overall"),
                               str(tp, "read_status")};
        row(d, cells, w, 12, 0);
    }
}

static void bor_lines(ht_report_doc *d, const json_t *t)
{
    char text[320];
    const json_t *conf = json_object_get(t, "bor_confirmed");
    d->y += 4;
    snprintf(text, sizeof(text), "Best overall response: %s%s%s%s%s%s",
             str(t, "best_overall_response") ? str(t, "best_overall_response") : "-",
             json_is_true(conf)    ? " (confirmed)"
             : json_is_false(conf) ? " (unconfirmed)"
                                   : "",
             str(t, "bor_timepoint") ? " at " : "",
             str(t, "bor_timepoint") ? str(t, "bor_timepoint") : "",
             str(t, "confirming_timepoint") ? ", confirmed at " : "",
             str(t, "confirming_timepoint") ? str(t, "confirming_timepoint") : "");
    line(d, 1, text);
    snprintf(text, sizeof(text), "Progression: %s%s%s%s    Best change from baseline: %s %%",
             str(t, "progression_timepoint") ? str(t, "progression_timepoint") : "none",
             str(t, "progression_date") ? " (" : "",
             str(t, "progression_date") ? str(t, "progression_date") : "",
             str(t, "progression_date") ? ")" : "", num(t, "best_change_from_baseline_pct", 1));
    line(d, 0, text);
    line(d, 0, "* an incomplete sum (a lower bound)");
}

/* The target sum (mm) against days from baseline, each point in its overall response's colour
 * and labelled with its sum and change. */
static void sum_chart(ht_report_doc *d, const json_t *t)
{
    const json_t *tps = json_object_get(t, "timepoints");
    double days = 28, top = 10, height = 250;
    size_t i;
    json_t *tp;
    json_array_foreach(tps, i, tp)
    {
        days = fmax(days, ht_plot__number(tp, "days_from_baseline"));
        double s = ht_plot__number(tp, "sum_mm");
        top = isnan(s) ? top : fmax(top, s);
    }
    ht_plot__need(d, height + 50);
    ht_plot__colour(d->cr, HT_COLOUR_INK);
    ht_plot__font(d->cr, 10, 1);
    ht_plot__text(d->cr, HT_REPORT_MARGIN, d->y + 6, HT_ALIGN_LEFT, "Target sum (mm)");
    double ystep = ht_plot__tick_step(0, top * 1.15, 5), xstep = ht_plot__tick_step(0, days, 8);
    ht_axis x = {0, ceil(days * 1.05 / xstep) * xstep, HT_REPORT_MARGIN + 40,
                 HT_PLOT_PAGE_WIDTH - HT_REPORT_MARGIN - 20};
    ht_axis y = {0, ceil(top * 1.15 / ystep) * ystep, d->y + height, d->y + 20};
    ht_plot__y_axis(d->cr, &y, x.p0, x.p1, ystep, HT_TICKS_PLAIN);
    ht_plot__x_axis(d->cr, &x, y.p0, xstep, HT_TICKS_PLAIN, "days from baseline");
    ht_plot__colour(d->cr, HT_COLOUR_MUTED);
    cairo_set_line_width(d->cr, 1.5);
    int started = 0;
    json_array_foreach(tps, i, tp)
    {
        double s = ht_plot__number(tp, "sum_mm");
        if (isnan(s))
            continue;
        double px = ht_plot__at(&x, ht_plot__number(tp, "days_from_baseline"));
        if (started++)
            cairo_line_to(d->cr, px, ht_plot__at(&y, s));
        else
            cairo_move_to(d->cr, px, ht_plot__at(&y, s));
    }
    cairo_stroke(d->cr);
    json_array_foreach(tps, i, tp)
    {
        double s = ht_plot__number(tp, "sum_mm");
        if (isnan(s))
            continue;
        double px = ht_plot__at(&x, ht_plot__number(tp, "days_from_baseline"));
        double py = ht_plot__at(&y, s);
        char label[64];
        cairo_arc(d->cr, px, py, 4.5, 0, 2 * M_PI);
        ht_plot__response_colour(d->cr, str(tp, "overall"));
        cairo_fill_preserve(d->cr);
        ht_plot__colour(d->cr, HT_COLOUR_INK);
        cairo_set_line_width(d->cr, 0.8);
        cairo_stroke(d->cr);
        snprintf(label, sizeof(label), "%s mm %s", num(tp, "sum_mm", 0),
                 str(tp, "overall") ? str(tp, "overall") : "");
        ht_plot__font(d->cr, 8, 0);
        ht_plot__text(d->cr, px, py - 8, HT_ALIGN_CENTRE, label);
    }
    d->y += height + 46;
}

static void criterion_page(ht_report_doc *d, const json_t *t)
{
    char title[96];
    ht_plot__new_page(d);
    snprintf(title, sizeof(title), "Timeline, %s", ht_plot__criterion_title(str(t, "criteria")));
    ht_plot__heading(d, title);
    line(d, 0,
         str(t, "criteria") && !strcmp(str(t, "criteria"), "mrecist")
             ? "Sums and nadir in mm of viable tumour; changes in %."
             : "Sums and nadir in mm; changes in %.");
    timeline_table(d, t);
    bor_lines(d, t);
    d->y += 8;
    sum_chart(d, t);
}

/* ---- the document ------------------------------------------------------------------------ */

static void lay_out(ht_report_doc *d)
{
    d->page = 0;
    ht_plot__new_page(d);
    summary(d);
    hepatic(d);
    for (int k = 0; k < d->ntimelines; k++)
        criterion_page(d, d->timelines[k]);
    ht_plot__key_images(d);
}

/* One pass: lay the document out on a fresh PDF surface. */
static int pass(ht_report_doc *d, int counting, uint8_t **pdf, size_t *len)
{
    int err = ht_plot__open(&d->canvas, HT_PLOT_PDF, HT_PLOT_PAGE_WIDTH, HT_PLOT_PAGE_HEIGHT);
    if (err < 0)
        return err;
    d->cr = d->canvas.cr;
    d->counting = counting;
    lay_out(d);
    return ht_plot__close(&d->canvas, pdf, len);
}

static int load(ht_report_doc *d, const char *subject_id, const ht_plot_report_options *o)
{
    static const ht_criterion all[] = {HT_RECIST11, HT_MRECIST, HT_CHOI};
    ht_report_options ro = HT_REPORT_OPTIONS_INIT;
    json_t *trial = NULL;
    int err;
    ro.include_drafts = o->include_drafts;
    int n = o->all_criteria ? 3 : 1;
    for (int k = 0; k < n; k++) {
        err = ht_report_timeline(d->store, subject_id, o->all_criteria ? all[k] : o->criterion, &ro,
                                 &d->timelines[k]);
        if (err < 0)
            return err;
        d->ntimelines++;
    }
    if ((err = ht_report_records(d->store, subject_id, &d->records)) < 0 ||
        (err = ht_report_trial(d->store, &trial, NULL)) < 0)
        return err;
    d->trial = ht_strdup(str(trial, "study_id") ? str(trial, "study_id") : "");
    json_decref(trial);
    return d->trial ? HT_OK : ht_error_set(HT_ENOMEM, "out of memory");
}

int ht_plot_subject_report(ht_store *store,
                           ht_archive *archive,
                           const char *subject_id,
                           const ht_plot_report_options *options,
                           uint8_t **pdf,
                           size_t *len)
{
    ht_report_doc *d = calloc(1, sizeof(*d));
    uint8_t *first = NULL;
    size_t first_len;
    char iso[32];
    int err;
    *pdf = NULL;
    *len = 0;
    if (!d)
        return ht_error_set(HT_ENOMEM, "out of memory");
    d->store = store;
    d->archive = archive;
    d->subject = subject_id;
    ht_time_now_iso(iso, sizeof(iso));
    when(iso, d->made, sizeof(d->made));
    if ((err = load(d, subject_id, options)) == HT_OK) {
        read_status(d);
        if ((err = pass(d, 1, &first, &first_len)) == HT_OK) {
            d->pages = d->page;
            err = pass(d, 0, pdf, len);
        }
    }
    free(first);
    for (int k = 0; k < d->ntimelines; k++)
        json_decref(d->timelines[k]);
    json_decref(d->records);
    free((char *)d->trial);
    free(d);
    return err;
}
