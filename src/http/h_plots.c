/*
 * Pictures of the cohort (GET /api/cohort/plots/{name}.png|svg) drawn by the plot module from
 * the report module's results, answered from memory with their media type. They change with
 * every read signed, so they are never cached; an error answer never is either.
 */
#include "http_internal.h"

#include "hepatrack/plot.h"
#include "hepatrack/report.h"

#include <stdlib.h>
#include <string.h>

/* "waterfall.png" into a chart and a format (PNG or SVG), or a 404 naming what exists. */
static int picture_name(answer *a, const char *segment, ht_plot_chart *chart, ht_plot_format *f)
{
    char name[32];
    const char *dot = strrchr(segment, '.');
    size_t n = dot ? (size_t)(dot - segment) : 0;
    if (!dot || n >= sizeof(name) || ht_plot_format_parse(dot + 1, f) < 0 || *f == HT_PLOT_PDF)
        return ht_http__fail(a, HT_ENOTFOUND, "name",
                             "no picture '%s': NAME.png or NAME.svg, NAME one of waterfall, "
                             "spider, swimmer, km-pfs, km-os",
                             segment);
    memcpy(name, segment, n);
    name[n] = '\0';
    if (ht_plot_chart_parse(name, chart) < 0)
        return ht_http__fail(a, HT_ENOTFOUND, "name", "%s", ht_error_last());
    return HT_OK;
}

/* GET /api/cohort/plots/{name}?criteria=&include_drafts=0|1 */
int ht_http__cohort_plot(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    ht_criterion c;
    ht_report_options opt = HT_REPORT_OPTIONS_INIT;
    ht_plot_chart chart;
    ht_plot_format format;
    uint8_t *picture = NULL;
    int err;
    if (!s)
        return HT_EDB;
    if ((err = picture_name(a, r->parts[2], &chart, &format)) < 0 ||
        (err = ht_http__report_args(r, a, &c, &opt)) < 0)
        return err;
    if ((err = ht_plot_cohort(s, c, &opt, chart, format, &picture, &a->len)) < 0)
        return ht_http__fail_last(a, err);
    a->body = (char *)picture;
    a->type = ht_plot_media_type(format);
    a->compressible = format == HT_PLOT_SVG; /* PNG is deflated already */
    return HT_OK;
}

/* GET /api/subjects/{id}/report.pdf?criteria=&include_drafts=0|1: the subject's report, every
 * criterion unless one is named. */
int ht_http__subject_report(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    ht_report_options opt = HT_REPORT_OPTIONS_INIT;
    ht_plot_report_options o;
    uint8_t *pdf = NULL;
    int err;
    if (!s)
        return HT_EDB;
    memset(&o, 0, sizeof(o));
    if ((err = ht_http__report_args(r, a, &o.criterion, &opt)) < 0)
        return err;
    o.all_criteria = !ht_http__arg(r, "criteria");
    o.include_drafts = opt.include_drafts;
    if ((err = ht_plot_subject_report(s, r->http->archive, r->parts[1], &o, &pdf, &a->len)) < 0)
        return ht_http__fail_last(a, err);
    a->body = (char *)pdf;
    a->type = ht_plot_media_type(HT_PLOT_PDF);
    ht_http__add_header(a, "Content-Disposition", "inline; filename=\"%s-report.pdf\"",
                        r->parts[1]);
    return HT_OK;
}
