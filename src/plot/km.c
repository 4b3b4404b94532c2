/* Kaplan-Meier curves of PFS and OS: the report module's steps drawn as a step function from
 * 1.0 at day 0, its 95 % band shaded, a tick at each censored time, the median (dashed) with
 * its 95 % interval written out, and the numbers at risk under the axis at each tick. */
#include "plot_internal.h"

#include "hepatrack/report.h"

#include <math.h>
#include <stdio.h>

#define LEFT 90
#define RIGHT 60
#define TOP 90
#define BOTTOM 130 /* the axis, its name and the numbers at risk */

/* The curve's value at t: that of the last step at or before t (1 before the first). */
static double survival_at(const json_t *steps, double t)
{
    double s = 1;
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        if (ht_plot__number(st, "days") > t)
            break;
        s = ht_plot__number(st, "survival");
    }
    return s;
}

static void band(cairo_t *cr, const json_t *steps, const ht_axis *x, const ht_axis *y)
{
    size_t i;
    json_t *st;
    ht_plot__colour(cr, HT_COLOUR_BAND);
    json_array_foreach(steps, i, st)
    {
        json_t *next = json_array_get(steps, i + 1);
        double lo = ht_plot__number(st, "lower"), hi = ht_plot__number(st, "upper");
        if (isnan(lo) || isnan(hi))
            continue;
        double x0 = ht_plot__at(x, ht_plot__number(st, "days"));
        double x1 = next ? ht_plot__at(x, ht_plot__number(next, "days")) : x->p1;
        cairo_rectangle(cr, x0, ht_plot__at(y, hi), x1 - x0,
                        ht_plot__at(y, lo) - ht_plot__at(y, hi));
    }
    cairo_fill(cr);
}

static void
steps_line(cairo_t *cr, const json_t *curve, const ht_axis *x, const ht_axis *y, double end)
{
    const json_t *steps = json_object_get(curve, "steps");
    size_t i;
    json_t *st;
    double s = 1;
    ht_plot__colour(cr, HT_COLOUR_CURVE);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, ht_plot__at(x, 0), ht_plot__at(y, 1));
    json_array_foreach(steps, i, st)
    {
        double px = ht_plot__at(x, ht_plot__number(st, "days"));
        cairo_line_to(cr, px, ht_plot__at(y, s));
        s = ht_plot__number(st, "survival");
        cairo_line_to(cr, px, ht_plot__at(y, s));
    }
    cairo_line_to(cr, ht_plot__at(x, end), ht_plot__at(y, s));
    cairo_stroke(cr);
    cairo_set_line_width(cr, 1.5);
    json_array_foreach(json_object_get(curve, "censored_days"), i, st)
    {
        double t = json_number_value(st), py = ht_plot__at(y, survival_at(steps, t));
        cairo_move_to(cr, ht_plot__at(x, t), py - 6);
        cairo_line_to(cr, ht_plot__at(x, t), py + 6);
    }
    cairo_stroke(cr);
}

/* "Median 182 days (95 % CI 98 to 238)", NR where a limit is not reached. */
static void median(cairo_t *cr, const json_t *curve, const ht_axis *x, const ht_axis *y)
{
    static const double dash[] = {4, 4};
    const json_t *ci = json_object_get(curve, "ci95_days");
    double m = ht_plot__number(curve, "median_days");
    char lo[24] = "NR", hi[24] = "NR", text[120];
    if (json_is_number(json_array_get(ci, 0)))
        snprintf(lo, sizeof(lo), "%g", json_number_value(json_array_get(ci, 0)));
    if (json_is_number(json_array_get(ci, 1)))
        snprintf(hi, sizeof(hi), "%g", json_number_value(json_array_get(ci, 1)));
    if (isnan(m))
        snprintf(text, sizeof(text), "Median not reached (95 %% CI %s to %s days)", lo, hi);
    else
        snprintf(text, sizeof(text), "Median %g days, %.1f months (95 %% CI %s to %s days)", m,
                 ht_plot__number(curve, "median_months"), lo, hi);
    if (!isnan(m)) {
        cairo_save(cr);
        ht_plot__colour(cr, HT_COLOUR_MUTED);
        cairo_set_line_width(cr, 1);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, x->p0, ht_plot__at(y, 0.5));
        cairo_line_to(cr, ht_plot__at(x, m), ht_plot__at(y, 0.5));
        cairo_line_to(cr, ht_plot__at(x, m), ht_plot__at(y, 0));
        cairo_stroke(cr);
        cairo_restore(cr);
    }
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 13, 1);
    ht_plot__text(cr, x->p1, TOP - 4, HT_ALIGN_RIGHT, text);
    json_int_t events = json_integer_value(json_object_get(curve, "events"));
    snprintf(text, sizeof(text), "%lld event%s, %lld censored", (long long)events,
             events == 1 ? "" : "s",
             (long long)json_integer_value(json_object_get(curve, "censored")));
    ht_plot__font(cr, 12, 0);
    ht_plot__text(cr, x->p1, TOP + 12, HT_ALIGN_RIGHT, text);
}

/* The numbers at risk (the report's count) under the axis at each tick. */
static void at_risk(cairo_t *cr, const json_t *curve, const ht_axis *x, double y, double step)
{
    char text[16];
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 12, 1);
    ht_plot__text(cr, 12, y, HT_ALIGN_LEFT, "At risk");
    ht_plot__font(cr, 12, 0);
    for (double v = 0; v <= x->v1 + 1e-9; v += step) {
        snprintf(text, sizeof(text), "%d", ht_report_at_risk(curve, v));
        ht_plot__text(cr, ht_plot__at(x, v), y, HT_ALIGN_CENTRE, text);
    }
}

void ht_plot__km(cairo_t *cr, const json_t *cohort, int os, double width, double height)
{
    const json_t *curve = json_object_get(cohort, os ? "os_curve" : "pfs_curve");
    char note[160];
    ht_plot__cohort_note(cohort, note, sizeof(note));
    ht_plot__title(
        cr, os ? "Overall survival (Kaplan-Meier)" : "Progression-free survival (Kaplan-Meier)",
        note);
    if (!json_is_object(curve)) {
        ht_plot__colour(cr, HT_COLOUR_MUTED);
        ht_plot__font(cr, 14, 0);
        ht_plot__text(cr, width / 2, height / 2, HT_ALIGN_CENTRE,
                      os ? "no death recorded: overall survival is not estimated"
                         : "no subject with a baseline");
        return;
    }
    double end = 28;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(curve, "observations"), i, o) end =
        fmax(end, ht_plot__number(o, "days"));
    double step = ht_plot__tick_step(0, end, 8);
    ht_axis x = {0, ceil(end / step) * step, LEFT, width - RIGHT};
    ht_axis y = {0, 1, height - BOTTOM, TOP + 24};
    ht_plot__y_axis(cr, &y, x.p0, x.p1, 0.25, HT_TICKS_FRACTION);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 12, 0);
    ht_plot__text_up(cr, 22, (y.p0 + y.p1) / 2, os ? "overall survival" : "progression-free");
    band(cr, json_object_get(curve, "steps"), &x, &y);
    steps_line(cr, curve, &x, &y, end);
    median(cr, curve, &x, &y);
    ht_plot__x_axis(cr, &x, y.p0, step, HT_TICKS_PLAIN,
                    "days from treatment start (else baseline)");
    at_risk(cr, curve, &x, height - 40, step);
}
