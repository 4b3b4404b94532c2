/* A cairo surface that writes into memory: PNG from an image surface, SVG and PDF streamed as
 * cairo produces them, so that the HTTP server answers without a temporary file. */
#include "plot_internal.h"

#include "hepatrack/util.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <stdlib.h>
#include <string.h>

static cairo_status_t append(void *closure, const unsigned char *data, unsigned int length)
{
    ht_canvas *c = closure;
    if (c->oom)
        return CAIRO_STATUS_NO_MEMORY;
    if (HT_GROW(c->data, c->cap, c->len + length) < 0) {
        c->oom = 1;
        return CAIRO_STATUS_NO_MEMORY;
    }
    memcpy(c->data + c->len, data, length);
    c->len += length;
    return CAIRO_STATUS_SUCCESS;
}

static int cairo_failed(cairo_status_t status, const char *what)
{
    if (status == CAIRO_STATUS_NO_MEMORY)
        return ht_error_set(HT_ENOMEM, "out of memory %s", what);
    return ht_error_set(HT_EIO, "cairo failed %s: %s", what, cairo_status_to_string(status));
}

int ht_plot__open(ht_canvas *c, ht_plot_format format, double width, double height)
{
    memset(c, 0, sizeof(*c));
    c->format = format;
    c->width = width;
    c->height = height;
    switch (format) {
    case HT_PLOT_PNG:
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
        break;
    case HT_PLOT_SVG:
        c->surface = cairo_svg_surface_create_for_stream(append, c, width, height);
        break;
    case HT_PLOT_PDF:
        c->surface = cairo_pdf_surface_create_for_stream(append, c, width, height);
        break;
    default:
        return ht_error_set(HT_EINVALID, "no such picture format (%d)", (int)format);
    }
    c->cr = cairo_create(c->surface);
    cairo_status_t status = cairo_status(c->cr);
    if (status != CAIRO_STATUS_SUCCESS) {
        ht_plot__discard(c);
        return cairo_failed(status, "making a surface");
    }
    /* Every picture is on white, whatever the viewer's own background. */
    ht_plot__colour(c->cr, HT_COLOUR_WHITE);
    cairo_paint(c->cr);
    return HT_OK;
}

void ht_plot__discard(ht_canvas *c)
{
    if (c->cr)
        cairo_destroy(c->cr);
    if (c->surface)
        cairo_surface_destroy(c->surface);
    free(c->data);
    memset(c, 0, sizeof(*c));
}

int ht_plot__close(ht_canvas *c, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    cairo_status_t status = cairo_status(c->cr);
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (status == CAIRO_STATUS_SUCCESS && c->format == HT_PLOT_PNG)
        status = cairo_surface_write_to_png_stream(c->surface, append, c);
    cairo_surface_finish(c->surface); /* SVG and PDF write their last bytes here */
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(c->surface);
    if (status == CAIRO_STATUS_SUCCESS && c->oom)
        status = CAIRO_STATUS_NO_MEMORY;
    if (status != CAIRO_STATUS_SUCCESS) {
        ht_plot__discard(c);
        return cairo_failed(status, "writing a picture");
    }
    cairo_surface_destroy(c->surface);
    *out = c->data;
    *len = c->len;
    memset(c, 0, sizeof(*c));
    return HT_OK;
}
