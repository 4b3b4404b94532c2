/* The swimmer plot: a lane per subject, longest first, its bar the time on study in the colour
 * of its best overall response, with a triangle where each run of CR or PR begins, a diamond
 * at progression, a cross at death, and an arrow after the bar of a subject still followed
 * (neither progression nor death). Every day count is the report module's. */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>

#define LEFT 90
#define RIGHT 60
#define TOP 90
#define BOTTOM 70

static int by_time_on_study(const void *a, const void *b)
{
    double x = ht_plot__number(*(json_t *const *)a, "on_study_days");
    double y = ht_plot__number(*(json_t *const *)b, "on_study_days");
    return x < y ? 1 : x > y ? -1 : 0;
}

static void triangle(cairo_t *cr, double x, double y, double r, const char *response)
{
    cairo_move_to(cr, x, y - r);
    cairo_line_to(cr, x + r, y + r * 0.8);
    cairo_line_to(cr, x - r, y + r * 0.8);
    cairo_close_path(cr);
    ht_plot__response_colour(cr, response);
    cairo_fill_preserve(cr);
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

static void diamond(cairo_t *cr, double x, double y, double r)
{
    cairo_move_to(cr, x, y - r);
    cairo_line_to(cr, x + r, y);
    cairo_line_to(cr, x, y + r);
    cairo_line_to(cr, x - r, y);
    cairo_close_path(cr);
    ht_plot__colour(cr, HT_COLOUR_PROGRESSION);
    cairo_fill_preserve(cr);
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

static void cross(cairo_t *cr, double x, double y, double r)
{
    ht_plot__colour(cr, HT_COLOUR_DEATH);
    cairo_set_line_width(cr, 3);
    cairo_move_to(cr, x - r, y - r);
    cairo_line_to(cr, x + r, y + r);
    cairo_move_to(cr, x + r, y - r);
    cairo_line_to(cr, x - r, y + r);
    cairo_stroke(cr);
}

static void arrow(cairo_t *cr, double x, double y, double r)
{
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x + 3, y);
    cairo_line_to(cr, x + 3 + 2 * r, y);
    cairo_stroke(cr);
    cairo_move_to(cr, x + 3 + 3 * r, y);
    cairo_line_to(cr, x + 3 + 2 * r, y - r * 0.8);
    cairo_line_to(cr, x + 3 + 2 * r, y + r * 0.8);
    cairo_close_path(cr);
    cairo_fill(cr);
}

static void lane(cairo_t *cr, const json_t *row, const ht_axis *x, double cy, double h)
{
    double end = ht_plot__at(x, ht_plot__number(row, "on_study_days"));
    double r = fmin(h * 0.35, 7);
    size_t i;
    json_t *onset;
    ht_plot__response_colour(cr, json_string_value(json_object_get(row, "best_overall_response")));
    cairo_rectangle(cr, x->p0, cy - h * 0.3, end - x->p0, h * 0.6);
    cairo_fill(cr);
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 11, 0);
    ht_plot__text(cr, x->p0 - 8, cy + 4, HT_ALIGN_RIGHT,
                  json_string_value(json_object_get(row, "subject")));
    json_array_foreach(json_object_get(row, "onsets"), i, onset)
        triangle(cr, ht_plot__at(x, ht_plot__number(onset, "days")), cy, r,
                 json_string_value(json_object_get(onset, "response")));
    double progression = ht_plot__number(row, "progression_days");
    if (!isnan(progression))
        diamond(cr, ht_plot__at(x, progression), cy, r);
    double death = ht_plot__number(row, "death_days");
    if (!isnan(death))
        cross(cr, ht_plot__at(x, death), cy, r * 0.8);
    if (json_is_true(json_object_get(row, "ongoing")))
        arrow(cr, end, cy, r);
}

static void marker_legend(cairo_t *cr, double x, double y)
{
    static const char *const names[] = {"response onset", "progression", "death", "ongoing"};
    ht_plot__font(cr, 12, 0);
    for (int k = 0; k < 4; k++) {
        if (k == 0)
            triangle(cr, x + 6, y - 4, 6, "PR");
        else if (k == 1)
            diamond(cr, x + 6, y - 4, 6);
        else if (k == 2)
            cross(cr, x + 6, y - 4, 5);
        else
            arrow(cr, x - 3, y - 4, 5);
        ht_plot__colour(cr, HT_COLOUR_INK);
        ht_plot__font(cr, 12, 0);
        ht_plot__text(cr, x + 18, y, HT_ALIGN_LEFT, names[k]);
        x += 18 + ht_plot__text_width(cr, names[k]) + 16;
    }
}

void ht_plot__swimmer(cairo_t *cr, const json_t *cohort, double width, double height)
{
    char note[160];
    ht_plot__cohort_note(cohort, note, sizeof(note));
    ht_plot__title(cr, "Time on study", note);
    size_t n;
    json_t **rows = ht_plot__subjects_sorted(cohort, by_time_on_study, &n);
    if (!rows)
        return;
    double longest = 28;
    for (size_t i = 0; i < n; i++)
        longest = fmax(longest, ht_plot__number(rows[i], "on_study_days"));
    double step = ht_plot__tick_step(0, longest * 1.08, 8);
    ht_axis x = {0, ceil(longest * 1.08 / step) * step, LEFT, width - RIGHT};
    double legend = ht_plot__legend(cr, LEFT, 72);
    marker_legend(cr, LEFT + legend + 10, 72);
    double top = TOP, bottom = height - BOTTOM;
    double h = n ? fmin((bottom - top) / (double)n, 56) : 0;
    ht_plot__colour(cr, HT_COLOUR_GRID);
    cairo_set_line_width(cr, 1);
    for (double v = step; v <= x.v1 + 1e-9; v += step) {
        cairo_move_to(cr, floor(ht_plot__at(&x, v)) + 0.5, top);
        cairo_line_to(cr, floor(ht_plot__at(&x, v)) + 0.5, bottom);
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < n; i++)
        lane(cr, rows[i], &x, top + h * ((double)i + 0.5), h);
    ht_plot__x_axis(cr, &x, bottom, step, HT_TICKS_PLAIN,
                    "days on study (from treatment start, else baseline)");
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_move_to(cr, LEFT - 0.5, top);
    cairo_line_to(cr, LEFT - 0.5, bottom);
    cairo_stroke(cr);
    free(rows);
}
