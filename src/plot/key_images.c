/*
 * The key-image sheet of a subject's report: for every target at every time point reported,
 * the slice its caliper was drawn on (measure opens it; render windows it to 8-bit pixels in
 * the file's own window, else the frame's full range), cropped around the lesion, with the
 * caliper lines and their lengths (the stored ones, as measure computed them) drawn over it.
 * A target without a drawn caliper there gets a cell saying what was recorded instead.
 */
#include "plot_internal.h"

#include "hepatrack/measure.h"
#include "hepatrack/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLUMNS 2
#define ROWS 3
#define CELL_W 247.0
#define IMAGE_H 180.0
#define CELL_H 222.0
#define GAP 21.0

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The lesion's assessment at a time point in the records, or NULL. */
static const json_t *assessment(const json_t *records, const char *lesion, const char *label)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(records, "assessments"), i, a)
    {
        if (str(a, "lesion") && str(a, "timepoint") && !strcmp(str(a, "lesion"), lesion) &&
            !strcmp(str(a, "timepoint"), label))
            return a;
    }
    return NULL;
}

/* The length drawn by caliper pair k: the fragments' own, else the long axis then the
 * perpendicular (the short axis for a node). */
static double pair_length(const json_t *a, size_t k)
{
    const json_t *fragments = json_object_get(a, "fragments_mm");
    if (json_is_array(fragments))
        return json_is_number(json_array_get(fragments, k))
                   ? json_number_value(json_array_get(fragments, k))
                   : NAN;
    const char *order[2][2] = {{"long_axis_mm", "short_axis_mm"},
                               {"perpendicular_mm", "short_axis_mm"}};
    if (k > 1)
        return NAN;
    for (int i = 0; i < 2; i++)
        if (json_is_number(json_object_get(a, order[k][i])))
            return json_number_value(json_object_get(a, order[k][i]));
    return NAN;
}

/* A frame's 8-bit pixels as a cairo image surface (grey copied to R, G and B). */
static cairo_surface_t *surface_of(const uint8_t *pixels, int channels, int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    uint8_t *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++) {
        uint32_t *out = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        const uint8_t *in = pixels + (size_t)y * (size_t)w * (size_t)channels;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = in + (size_t)x * (size_t)channels;
            uint32_t r = p[0], g = channels == 3 ? p[1] : p[0], b = channels == 3 ? p[2] : p[0];
            out[x] = r << 16 | g << 8 | b;
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

typedef struct crop {
    double x, y, w, h, scale; /* the frame's region shown, and frame pixels to points */
} crop;

/* Around the caliper's points, a region three and a half times their extent (at least 64 pixels) of
 * the cell's proportions, kept inside the frame. */
static crop crop_around(const json_t *points, int columns, int rows, double cell_w, double cell_h)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        double x = json_number_value(json_array_get(p, 0)),
               y = json_number_value(json_array_get(p, 1));
        x0 = fmin(x0, x);
        x1 = fmax(x1, x);
        y0 = fmin(y0, y);
        y1 = fmax(y1, y);
    }
    double side = fmax(fmax(x1 - x0, y1 - y0) * 3.5, 64);
    crop c;
    c.w = fmin(side * cell_w / cell_h, columns);
    c.h = fmin(c.w * cell_h / cell_w, rows);
    c.w = c.h * cell_w / cell_h;
    c.x = fmin(fmax((x0 + x1) / 2 - c.w / 2, 0), fmax(columns - c.w, 0));
    c.y = fmin(fmax((y0 + y1) / 2 - c.h / 2, 0), fmax(rows - c.h, 0));
    c.scale = cell_w / c.w;
    return c;
}

/* Text in the caliper's colour outlined in black, readable on any slice. */
static void outlined(cairo_t *cr, double x, double y, const char *text)
{
    cairo_move_to(cr, x, y);
    cairo_text_path(cr, text);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 2.5);
    cairo_stroke_preserve(cr);
    ht_plot__colour(cr, HT_COLOUR_CALIPER);
    cairo_fill(cr);
}

static void calipers(cairo_t *cr, const json_t *a, const crop *c, double x, double y)
{
    const json_t *points = json_object_get(a, "points");
    char text[32];
    ht_plot__font(cr, 10, 1);
    for (size_t k = 0; 2 * k + 1 < json_array_size(points); k++) {
        const json_t *p = json_array_get(points, 2 * k), *q = json_array_get(points, 2 * k + 1);
        double ax = x + (json_number_value(json_array_get(p, 0)) - c->x) * c->scale;
        double ay = y + (json_number_value(json_array_get(p, 1)) - c->y) * c->scale;
        double bx = x + (json_number_value(json_array_get(q, 0)) - c->x) * c->scale;
        double by = y + (json_number_value(json_array_get(q, 1)) - c->y) * c->scale;
        ht_plot__colour(cr, HT_COLOUR_CALIPER);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, ax, ay);
        cairo_line_to(cr, bx, by);
        cairo_stroke(cr);
        double len = pair_length(a, k);
        if (isnan(len))
            continue;
        snprintf(text, sizeof(text), "%.1f mm", len);
        outlined(cr, fmax(ax, bx) + 6, (ay + by) / 2 + 4 + 12 * (double)k, text);
    }
}

/* The measured slice, cropped, with its calipers; or why it cannot be shown. */
static void image(ht_report_doc *d, const json_t *a, double x, double y, char *note, size_t size)
{
    ht_measure_source source = {d->store, d->archive};
    ht_measure_image img;
    ht_window window;
    uint8_t *pixels = NULL;
    int channels;
    long frame = json_is_integer(json_object_get(a, "frame"))
                     ? (long)json_integer_value(json_object_get(a, "frame"))
                     : 1;
    if (d->counting) {
        snprintf(note, size, "frame %ld", frame);
        return;
    }
    if (ht_measure_open_image(&source, str(a, "sop_uid"), (uint32_t)frame, &img) < 0) {
        snprintf(note, size, "image not shown: %s", ht_error_last());
        return;
    }
    int has_window = ht_render_file_window(img.dcm, &window);
    if (ht_render_pixels(img.frame, has_window ? &window : NULL, HT_VOI_LINEAR, &pixels,
                         &channels) < 0) {
        snprintf(note, size, "image not shown: %s", ht_error_last());
        ht_measure_image_close(&img);
        return;
    }
    int columns = (int)img.frame->columns, rows = (int)img.frame->rows;
    cairo_surface_t *s = surface_of(pixels, channels, columns, rows);
    crop c = crop_around(json_object_get(a, "points"), columns, rows, CELL_W, IMAGE_H);
    cairo_t *cr = d->cr;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, CELL_W, IMAGE_H);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_paint(cr);
    cairo_translate(cr, x - c.x * c.scale, y - c.y * c.scale);
    cairo_scale(cr, c.scale, c.scale);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_save(cr);
    cairo_rectangle(cr, x, y, CELL_W, IMAGE_H);
    cairo_clip(cr);
    calipers(cr, a, &c, x, y);
    cairo_restore(cr);
    if (has_window)
        snprintf(note, size, "frame %ld, window W%g L%g (the file's), %dx%d px shown", frame,
                 window.width, window.center, (int)lround(c.w), (int)lround(c.h));
    else
        snprintf(note, size, "frame %ld, full range (no window in the file), %dx%d px shown", frame,
                 (int)lround(c.w), (int)lround(c.h));
    cairo_surface_destroy(s);
    free(pixels);
    ht_measure_image_close(&img);
}

/* What was recorded where no caliper was drawn. */
static void no_image(cairo_t *cr, const json_t *a, double x, double y, char *note, size_t size)
{
    ht_plot__colour(cr, HT_COLOUR_GRID);
    cairo_rectangle(cr, x, y, CELL_W, IMAGE_H);
    cairo_fill(cr);
    if (!a)
        snprintf(note, size, "not assessed at this time point");
    else if (str(a, "state"))
        snprintf(note, size, "recorded as %s, no caliper drawn", str(a, "state"));
    else
        snprintf(note, size, "typed value, no caliper drawn on an image");
    ht_plot__colour(cr, HT_COLOUR_MUTED);
    ht_plot__font(cr, 9, 0);
    ht_plot__text(cr, x + CELL_W / 2, y + IMAGE_H / 2, HT_ALIGN_CENTRE, "no key image");
}

static void
cell(ht_report_doc *d, const json_t *lesion, const json_t *tp, const json_t *a, double x, double y)
{
    char title[200], note[300] = "";
    const json_t *points = a ? json_object_get(a, "points") : NULL;
    if (a && str(a, "sop_uid") && json_array_size(points) >= 2)
        image(d, a, x, y, note, sizeof(note));
    else
        no_image(d->cr, a, x, y, note, sizeof(note));
    double len = a ? pair_length(a, 0) : NAN;
    char value[32] = "";
    if (!isnan(len))
        snprintf(value, sizeof(value), ", %.1f mm", len);
    snprintf(title, sizeof(title), "%s (%s%s%s) at %s, %s%s", str(lesion, "id"),
             str(lesion, "site") ? str(lesion, "site") : "", str(lesion, "location") ? " " : "",
             str(lesion, "location") ? str(lesion, "location") : "", str(tp, "label"),
             str(tp, "date") ? str(tp, "date") : "", value);
    ht_plot__colour(d->cr, HT_COLOUR_INK);
    ht_plot__font(d->cr, 9, 1);
    ht_plot__text(d->cr, x, y + IMAGE_H + 13, HT_ALIGN_LEFT, title);
    ht_plot__font(d->cr, 7.5, 0);
    ht_plot__text(d->cr, x, y + IMAGE_H + 24, HT_ALIGN_LEFT, note);
}

void ht_plot__key_images(ht_report_doc *d)
{
    const json_t *tps = json_object_get(d->timelines[0], "timepoints");
    size_t i, j;
    json_t *lesion, *tp;
    int n = 0;
    json_array_foreach(json_object_get(d->records, "lesions"), i, lesion)
    {
        if (!str(lesion, "role") || strcmp(str(lesion, "role"), "target"))
            continue;
        json_array_foreach(tps, j, tp)
        {
            int slot = n++ % (COLUMNS * ROWS);
            if (slot == 0) {
                ht_plot__new_page(d);
                ht_plot__heading(d, "Key images: each target where it was measured");
            }
            double x = HT_REPORT_MARGIN + (slot % COLUMNS) * (CELL_W + GAP);
            double y = d->y + (slot / COLUMNS) * CELL_H;
            cell(d, lesion, tp, assessment(d->records, str(lesion, "id"), str(tp, "label")), x, y);
        }
    }
    if (n == 0) {
        ht_plot__new_page(d);
        ht_plot__heading(d, "Key images");
        ht_plot__colour(d->cr, HT_COLOUR_INK);
        ht_plot__font(d->cr, 9, 0);
        ht_plot__text(d->cr, HT_REPORT_MARGIN, d->y, HT_ALIGN_LEFT, "The subject has no target.");
    }
}
