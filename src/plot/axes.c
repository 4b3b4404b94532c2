/* What every picture shares: colours, the font, text, axes, reference lines, legend, titles.
 * The charts draw with these only, so that all pictures look alike. */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exact 8-bit values, so that a test reading a PNG back finds them. */
static const unsigned colours[] = {
    [HT_COLOUR_INK] = 0x333333,         [HT_COLOUR_MUTED] = 0x737373,
    [HT_COLOUR_GRID] = 0xe0e0e0,        [HT_COLOUR_LINE_PR] = 0x2e7d32,
    [HT_COLOUR_LINE_PD] = 0xc62828,     [HT_COLOUR_CURVE] = 0x1565c0,
    [HT_COLOUR_BAND] = 0xbbdefb,        [HT_COLOUR_CALIPER] = 0xffd600,
    [HT_COLOUR_WHITE] = 0xffffff,       [HT_COLOUR_DEATH] = 0x000000,
    [HT_COLOUR_PROGRESSION] = 0xc62828, /* as the +20 % line */
};

static void set_rgb(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, (rgb >> 16) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0);
}

void ht_plot__colour(cairo_t *cr, ht_plot_colour c)
{
    set_rgb(cr, colours[c]);
}

/* The station's colours (web/style.css), one per response. */
static const struct {
    const char *name;
    unsigned rgb;
} responses[] = {{"CR", 0x388e3c}, {"PR", 0x81c784}, {"SD", 0x64b5f6}, {"non-CR/non-PD", 0x4db6ac},
                 {"PD", 0xe57373}, {"NE", 0x999999}};
#define NO_RESPONSE 0xbdbdbd

void ht_plot__response_colour(cairo_t *cr, const char *response)
{
    unsigned rgb = NO_RESPONSE;
    for (size_t i = 0; response && i < sizeof(responses) / sizeof(responses[0]); i++)
        if (!strcmp(response, responses[i].name))
            rgb = responses[i].rgb;
    set_rgb(cr, rgb);
}

const char *const *ht_plot__responses(void)
{
    static const char *const names[] = {"CR", "PR", "SD", "non-CR/non-PD", "PD", "NE", NULL};
    return names;
}

void ht_plot__font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, HT_PLOT_FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double ht_plot__text_width(cairo_t *cr, const char *text)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

void ht_plot__text(cairo_t *cr, double x, double y, ht_align align, const char *text)
{
    double w = align == HT_ALIGN_LEFT ? 0 : ht_plot__text_width(cr, text);
    cairo_move_to(cr,
                  align == HT_ALIGN_CENTRE  ? x - w / 2
                  : align == HT_ALIGN_RIGHT ? x - w
                                            : x,
                  y);
    cairo_show_text(cr, text);
    cairo_new_path(cr); /* show_text leaves a current point: the next shape must not join it */
}

void ht_plot__text_up(cairo_t *cr, double x, double y, const char *text)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    ht_plot__text(cr, 0, 0, HT_ALIGN_CENTRE, text);
    cairo_restore(cr);
}

double ht_plot__at(const ht_axis *a, double v)
{
    if (a->v1 == a->v0)
        return a->p0;
    return a->p0 + (v - a->v0) * (a->p1 - a->p0) / (a->v1 - a->v0);
}

double ht_plot__tick_step(double lo, double hi, int count)
{
    double span = hi > lo ? hi - lo : 1, raw = span / (count > 0 ? count : 1);
    double p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t size, ht_ticks style, double v)
{
    if (style == HT_TICKS_PERCENT)
        snprintf(buf, size, "%+.0f %%", v);
    else if (style == HT_TICKS_FRACTION)
        snprintf(buf, size, "%.2f", v);
    else
        snprintf(buf, size, "%g", v);
}

/* A crisp one-pixel line: coordinates on pixel centres. */
static double crisp(double v)
{
    return floor(v) + 0.5;
}

void ht_plot__y_axis(
    cairo_t *cr, const ht_axis *y, double x, double x_end, double step, ht_ticks style)
{
    double lo = y->v0 < y->v1 ? y->v0 : y->v1, hi = y->v0 < y->v1 ? y->v1 : y->v0;
    char label[32];
    ht_plot__font(cr, 12, 0);
    cairo_set_line_width(cr, 1);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) {
        double py = crisp(ht_plot__at(y, v));
        ht_plot__colour(cr, HT_COLOUR_GRID);
        cairo_move_to(cr, x, py);
        cairo_line_to(cr, x_end, py);
        cairo_stroke(cr);
        ht_plot__colour(cr, HT_COLOUR_INK);
        tick_label(label, sizeof(label), style, fabs(v) < 1e-9 * step ? 0.0 : v);
        ht_plot__text(cr, x - 6, py + 4, HT_ALIGN_RIGHT, label);
    }
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_move_to(cr, crisp(x), ht_plot__at(y, y->v0));
    cairo_line_to(cr, crisp(x), ht_plot__at(y, y->v1));
    cairo_stroke(cr);
}

void ht_plot__x_axis(
    cairo_t *cr, const ht_axis *x, double y, double step, ht_ticks style, const char *name)
{
    char label[32];
    ht_plot__font(cr, 12, 0);
    ht_plot__colour(cr, HT_COLOUR_INK);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x->p0, crisp(y));
    cairo_line_to(cr, x->p1, crisp(y));
    cairo_stroke(cr);
    for (double v = ceil(x->v0 / step - 1e-9) * step; v <= x->v1 + 1e-9 * step; v += step) {
        double px = crisp(ht_plot__at(x, v));
        cairo_move_to(cr, px, crisp(y));
        cairo_line_to(cr, px, crisp(y) + 5);
        cairo_stroke(cr);
        tick_label(label, sizeof(label), style, fabs(v) < 1e-9 * step ? 0.0 : v);
        ht_plot__text(cr, px, y + 18, HT_ALIGN_CENTRE, label);
    }
    if (name)
        ht_plot__text(cr, (x->p0 + x->p1) / 2, y + 36, HT_ALIGN_CENTRE, name);
}

void ht_plot__reference(cairo_t *cr,
                        const ht_axis *y,
                        double value,
                        double x0,
                        double x1,
                        ht_plot_colour colour,
                        const char *label)
{
    static const double dash[] = {6, 4};
    double py = crisp(ht_plot__at(y, value));
    cairo_save(cr);
    ht_plot__colour(cr, colour);
    cairo_set_line_width(cr, 2);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, x0, py);
    cairo_line_to(cr, x1, py);
    cairo_stroke(cr);
    cairo_restore(cr);
    ht_plot__colour(cr, colour);
    ht_plot__font(cr, 12, 1);
    ht_plot__text(cr, x1 + 6, py + 4, HT_ALIGN_LEFT, label);
}

void ht_plot__title(cairo_t *cr, const char *title, const char *subtitle)
{
    ht_plot__colour(cr, HT_COLOUR_INK);
    ht_plot__font(cr, 18, 1);
    ht_plot__text(cr, 24, 30, HT_ALIGN_LEFT, title);
    if (subtitle) {
        ht_plot__colour(cr, HT_COLOUR_MUTED);
        ht_plot__font(cr, 12, 0);
        ht_plot__text(cr, 24, 50, HT_ALIGN_LEFT, subtitle);
    }
}

const char *ht_plot__criterion_title(const char *name)
{
    if (!name)
        return "";
    if (!strcmp(name, "recist1.1"))
        return "RECIST 1.1";
    if (!strcmp(name, "mrecist"))
        return "mRECIST";
    if (!strcmp(name, "choi"))
        return "Choi";
    return name;
}

void ht_plot__cohort_note(const json_t *cohort, char *buf, size_t size)
{
    json_int_t n = json_integer_value(json_object_get(cohort, "n"));
    json_int_t left = json_integer_value(json_object_get(cohort, "unsigned_left_out"));
    char reads[80];
    if (json_is_true(json_object_get(cohort, "drafts_included")))
        snprintf(reads, sizeof(reads), "drafts included");
    else if (left)
        snprintf(reads, sizeof(reads), "signed reads only (%lld unsigned left out)",
                 (long long)left);
    else
        snprintf(reads, sizeof(reads), "signed reads only");
    snprintf(buf, size, "%s, %lld subject%s, %s",
             ht_plot__criterion_title(json_string_value(json_object_get(cohort, "criteria"))),
             (long long)n, n == 1 ? "" : "s", reads);
}

double ht_plot__legend(cairo_t *cr, double x, double y)
{
    double x0 = x;
    ht_plot__font(cr, 12, 0);
    for (const char *const *r = ht_plot__responses(); *r; r++) {
        ht_plot__response_colour(cr, *r);
        cairo_rectangle(cr, x, y - 10, 12, 12);
        cairo_fill(cr);
        ht_plot__colour(cr, HT_COLOUR_INK);
        ht_plot__text(cr, x + 16, y, HT_ALIGN_LEFT, *r);
        x += 16 + ht_plot__text_width(cr, *r) + 14;
    }
    return x - x0;
}

double ht_plot__number(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

json_t **
ht_plot__subjects_sorted(const json_t *cohort, int (*order)(const void *, const void *), size_t *n)
{
    const json_t *subjects = json_object_get(cohort, "subjects");
    *n = json_array_size(subjects);
    json_t **rows = calloc(*n + 1, sizeof(*rows));
    if (!rows)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        rows[i] = json_array_get(subjects, i);
    qsort(rows, *n, sizeof(*rows), order);
    return rows;
}
