/* The cohort's pictures by name and format: one canvas, one chart, the bytes handed out. */
#include "plot_internal.h"

#include "hepatrack/report.h"

#include <string.h>

static const char *const chart_names[HT_PLOT_NCHARTS] = {"waterfall", "spider", "swimmer", "km-pfs",
                                                         "km-os"};
static const char *const extensions[] = {"png", "svg", "pdf"};
static const char *const media_types[] = {"image/png", "image/svg+xml", "application/pdf"};

const char *ht_plot_chart_name(ht_plot_chart chart)
{
    return (unsigned)chart < HT_PLOT_NCHARTS ? chart_names[chart] : NULL;
}

int ht_plot_chart_parse(const char *name, ht_plot_chart *out)
{
    for (int i = 0; name && i < HT_PLOT_NCHARTS; i++)
        if (!strcmp(name, chart_names[i])) {
            *out = (ht_plot_chart)i;
            return HT_OK;
        }
    return ht_error_set(HT_EINVALID,
                        "no picture named '%s' (waterfall, spider, swimmer, km-pfs, km-os)",
                        name ? name : "");
}

int ht_plot_format_parse(const char *extension, ht_plot_format *out)
{
    for (int i = 0; extension && i < 3; i++)
        if (!strcmp(extension, extensions[i])) {
            *out = (ht_plot_format)i;
            return HT_OK;
        }
    return ht_error_set(HT_EINVALID, "no picture format '%s' (png, svg, pdf)",
                        extension ? extension : "");
}

const char *ht_plot_format_extension(ht_plot_format format)
{
    return (unsigned)format < 3 ? extensions[format] : NULL;
}

const char *ht_plot_media_type(ht_plot_format format)
{
    return (unsigned)format < 3 ? media_types[format] : NULL;
}

int ht_plot_draw(
    const json_t *cohort, ht_plot_chart chart, ht_plot_format format, uint8_t **out, size_t *len)
{
    ht_canvas c;
    int err;
    *out = NULL;
    *len = 0;
    if ((unsigned)chart >= HT_PLOT_NCHARTS)
        return ht_error_set(HT_EINVALID, "no such picture (%d)", (int)chart);
    if ((err = ht_plot__open(&c, format, HT_PLOT_WIDTH, HT_PLOT_HEIGHT)) < 0)
        return err;
    switch (chart) {
    case HT_PLOT_WATERFALL:
        ht_plot__waterfall(c.cr, cohort, c.width, c.height);
        break;
    case HT_PLOT_SPIDER:
        ht_plot__spider(c.cr, cohort, c.width, c.height);
        break;
    case HT_PLOT_SWIMMER:
        ht_plot__swimmer(c.cr, cohort, c.width, c.height);
        break;
    case HT_PLOT_KM_PFS:
    case HT_PLOT_KM_OS:
        ht_plot__km(c.cr, cohort, chart == HT_PLOT_KM_OS, c.width, c.height);
        break;
    default:
        break;
    }
    return ht_plot__close(&c, out, len);
}

int ht_plot_cohort(ht_store *store,
                   ht_criterion criterion,
                   const ht_report_options *options,
                   ht_plot_chart chart,
                   ht_plot_format format,
                   uint8_t **out,
                   size_t *len)
{
    json_t *cohort = NULL;
    int err = ht_report_cohort_series(store, criterion, options, &cohort);
    *out = NULL;
    *len = 0;
    if (err == HT_OK)
        err = ht_plot_draw(cohort, chart, format, out, len);
    json_decref(cohort);
    return err;
}
