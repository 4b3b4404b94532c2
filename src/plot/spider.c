/* The spider plot: each subject's % change from baseline at each follow-up with a complete
 * sum, against weeks from baseline (spec 9), a line per subject in the colour of its best
 * overall response, each point in the colour of that time point's overall response and the
 * baseline as an open circle at 0 %. */
#include "plot_internal.h"

#include <math.h>

#define LEFT 80
#define RIGHT 120
#define TOP 90
#define BOTTOM 70

static void ranges(const json_t *subjects, double *weeks, double *lo, double *hi)
{
    size_t i, j;
    json_t *row, *p;
    *weeks = 4;
    *lo = -60;
    *hi = 40;
    json_array_foreach(subjects, i, row)
    {
        json_array_foreach(json_object_get(row, "spider"), j, p)
        {
            double w = ht_plot__number(p, "weeks"),
                   v = ht_plot__number(p, "change_from_baseline_pct");
            *weeks = w > *weeks ? w : *weeks;
            if (v - 10 < *lo)
                *lo = v - 10 < -100 ? -100 : floor((v - 10) / 10) * 10;
            if (v + 10 > *hi)
                *hi = ceil((v + 10) / 10) * 10;
        }
    }
}

static void lane(cairo_t *cr, const json_t *row, const ht_axis *x, const ht_axis *y)
{
    const json_t *points = json_object_get(row, "spider");
    size_t i;
    json_t *p;
    ht_plot__response_colour(cr, json_string_value(json_object_get(row, "best_overall_response")));
    cairo_set_line_width(cr, 2);
    json_array_foreach(points, i, p)
    {
        double px = ht_plot__at(x, ht_plot__number(p, "weeks"));
        double py = ht_plot__at(y, ht_plot__number(p, "change_from_baseline_pct"));
        if (i == 0)
            cairo_move_to(cr, px, py);
        else
            cairo_line_to(cr, px, py);
    }
    cairo_stroke(cr);
    json_array_foreach(points, i, p)
    {
        double px = ht_plot__at(x, ht_plot__number(p, "weeks"));
        double py = ht_plot__at(y, ht_plot__number(p, "change_from_baseline_pct"));
        cairo_arc(cr, px, py, 5, 0, 2 * M_PI);
        if (i == 0)
            ht_plot__colour(cr, HT_COLOUR_WHITE);
        else
            ht_plot__response_colour(cr, json_string_value(json_object_get(p, "overall")));
        cairo_fill_preserve(cr);
        ht_plot__colour(cr, HT_COLOUR_INK);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }
    size_t n = json_array_size(points);
    if (n > 1) { /* the subject's id after its last point */
        json_t *last = json_array_get(points, n - 1);
        ht_plot__font(cr, 11, 0);
        ht_plot__text(cr, ht_plot__at(x, ht_plot__number(last, "weeks")) + 8,
                      ht_plot__at(y, ht_plot__number(last, "change_from_baseline_pct")) + 4,
                      HT_ALIGN_LEFT, json_string_value(json_object_get(row, "subject")));
    }
}

void ht_plot__spider(cairo_t *cr, const json_t *cohort, double width, double height)
{
    const json_t *subjects = json_object_get(cohort, "subjects");
    char note[160];
    double weeks, lo, hi;
    size_t i;
    json_t *row;
    ht_plot__cohort_note(cohort, note, sizeof(note));
    ht_plot__title(cr, "Change from baseline in the target sum over time", note);
    ranges(subjects, &weeks, &lo, &hi);
    double step = ht_plot__tick_step(0, weeks, 8);
    weeks = ceil(weeks / step) * step;
    ht_axis x = {0, weeks, LEFT, width - RIGHT}, y = {lo, hi, height - BOTTOM, TOP};
    ht_plot__legend(cr, LEFT, 72);
    ht_plot__y_axis(cr, &y, x.p0, x.p1, ht_plot__tick_step(lo, hi, 8), HT_TICKS_PERCENT);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 12, 0);
    ht_plot__text_up(cr, 22, (TOP + height - BOTTOM) / 2, "change from baseline (%)");
    ht_plot__x_axis(cr, &x, height - BOTTOM, step, HT_TICKS_PLAIN, "weeks from baseline");
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x.p0, floor(ht_plot__at(&y, 0)) + 0.5);
    cairo_line_to(cr, x.p1, floor(ht_plot__at(&y, 0)) + 0.5);
    cairo_stroke(cr);
    ht_plot__reference(cr, &y, -30, x.p0, x.p1, HT_COLOUR_LINE_PR, "-30 % PR");
    ht_plot__reference(cr, &y, 20, x.p0, x.p1, HT_COLOUR_LINE_PD, "+20 % PD");
    json_array_foreach(subjects, i, row) lane(cr, row, &x, &y);
}
