/* The waterfall: each subject's best % change from baseline (spec 2.12) as a bar coloured by
 * its best overall response, largest growth on the left, with the -30 % and +20 % lines. A
 * subject without a complete follow-up sum has no value: it keeps its place at the right end,
 * marked by a circle on the zero line, never dropped. */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define LEFT 80
#define RIGHT 120
#define TOP 90
#define BOTTOM 70

static int by_change(const void *a, const void *b)
{
    double x = ht_plot__number(*(json_t *const *)a, "best_change_from_baseline_pct");
    double y = ht_plot__number(*(json_t *const *)b, "best_change_from_baseline_pct");
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y); /* no value last */
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The range of the % axis: always -30 and +20 with room around, at most -100 below. */
static void value_range(json_t **rows, size_t n, double *lo, double *hi)
{
    *lo = -60;
    *hi = 40;
    for (size_t i = 0; i < n; i++) {
        double v = ht_plot__number(rows[i], "best_change_from_baseline_pct");
        if (!isnan(v) && v - 10 < *lo)
            *lo = v - 10 < -100 ? -100 : floor((v - 10) / 10) * 10;
        if (!isnan(v) && v + 10 > *hi)
            *hi = ceil((v + 10) / 10) * 10;
    }
}

static void subject_label(cairo_t *cr, double cx, double y, double slot, const char *id)
{
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 11, 0);
    if (ht_plot__text_width(cr, id) < slot - 2) {
        ht_plot__text(cr, cx, y + 16, HT_ALIGN_CENTRE, id);
        return;
    }
    cairo_save(cr); /* narrow slots: the id reads upwards, ending under its bar */
    cairo_translate(cr, cx + 4, y + 6);
    cairo_rotate(cr, -M_PI / 2);
    ht_plot__text(cr, 0, 0, HT_ALIGN_RIGHT, id);
    cairo_restore(cr);
}

static void bar(cairo_t *cr, const json_t *row, const ht_axis *y, double cx, double width)
{
    const char *bor = json_string_value(json_object_get(row, "best_overall_response"));
    double v = ht_plot__number(row, "best_change_from_baseline_pct");
    double y0 = ht_plot__at(y, 0);
    char text[32];
    ht_plot__response_colour(cr, bor);
    if (isnan(v)) { /* marked, not dropped */
        cairo_arc(cr, cx, y0, 7, 0, 2 * M_PI);
        cairo_fill_preserve(cr);
        ht_plot__colour(cr, HT_COLOUR_INK);
        cairo_set_line_width(cr, 1.5);
        cairo_stroke(cr);
        ht_plot__font(cr, 11, 0);
        cairo_save(cr);
        cairo_translate(cr, cx + 4, y0 - 12);
        cairo_rotate(cr, -M_PI / 2);
        ht_plot__text(cr, 0, 0, HT_ALIGN_LEFT, "no complete sum");
        cairo_restore(cr);
        return;
    }
    double yv = ht_plot__at(y, v);
    cairo_rectangle(cr, cx - width / 2, fmin(y0, yv), width, fabs(yv - y0));
    cairo_fill(cr);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 10, 0);
    snprintf(text, sizeof(text), "%+.1f", v);
    ht_plot__text(cr, cx, v < 0 ? yv + 12 : yv - 4, HT_ALIGN_CENTRE, text);
}

void ht_plot__waterfall(cairo_t *cr, const json_t *cohort, double width, double height)
{
    char note[160];
    ht_plot__cohort_note(cohort, note, sizeof(note));
    ht_plot__title(cr, "Best change from baseline in the target sum", note);
    size_t n;
    json_t **rows = ht_plot__subjects_sorted(cohort, by_change, &n);
    if (!rows)
        return;
    double lo, hi;
    value_range(rows, n, &lo, &hi);
    ht_axis y = {lo, hi, height - BOTTOM, TOP};
    double x0 = LEFT, x1 = width - RIGHT;
    ht_plot__legend(cr, LEFT, 72);
    ht_plot__y_axis(cr, &y, x0, x1, ht_plot__tick_step(lo, hi, 8), HT_TICKS_PERCENT);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 12, 0);
    ht_plot__text_up(cr, 22, (TOP + height - BOTTOM) / 2, "best change from baseline (%)");
    double slot = n ? (x1 - x0) / (double)n : 0;
    for (size_t i = 0; i < n; i++)
        bar(cr, rows[i], &y, x0 + slot * ((double)i + 0.5), fmin(slot * 0.7, 60));
    ht_plot__colour(cr, HT_COLOUR_INK); /* the zero line over the bars' feet */
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x0, floor(ht_plot__at(&y, 0)) + 0.5);
    cairo_line_to(cr, x1, floor(ht_plot__at(&y, 0)) + 0.5);
    cairo_stroke(cr);
    ht_plot__reference(cr, &y, -30, x0, x1, HT_COLOUR_LINE_PR, "-30 % PR");
    ht_plot__reference(cr, &y, 20, x0, x1, HT_COLOUR_LINE_PD, "+20 % PD");
    for (size_t i = 0; i < n; i++)
        subject_label(cr, x0 + slot * ((double)i + 0.5), height - BOTTOM, slot,
                      json_string_value(json_object_get(rows[i], "subject")));
    if (!n) {
        ht_plot__colour(cr, HT_COLOUR_MUTED);
        ht_plot__font(cr, 14, 0);
        ht_plot__text(cr, width / 2, height / 2, HT_ALIGN_CENTRE, "no subject with a baseline");
    }
    free(rows);
}
