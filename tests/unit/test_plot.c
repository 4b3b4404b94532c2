/*
 * The cohort's pictures checked for what they show, not for being there: a small cohort is
 * imported and signed, drawn by the plot module, decoded (cairo reads the PNG back), and the
 * colour and position of known bars, points, lines and markers measured against the values.
 *
 *   P1  BL 50 mm, W8 30 mm (-40 %), W16 30 mm: confirmed PR, best -40 %, still followed
 *   P2  BL 40 mm, W8 50 mm (+25 %): PD at day 56
 *   P3  BL 40 mm, W8 target not evaluable: no complete follow-up sum, BOR NE
 *   P4  BL 50 mm, W8 45 mm, W16 48 mm: SD; died on day 150
 *
 * PFS: P2 event at 56, P3 censored at 56, P1 censored at 112, P4 event (death) at 150.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cairo.h>
#include <jansson.h>

#include "hepatrack/ledger.h"
#include "hepatrack/plot.h"
#include "hepatrack/report.h"
#include "hepatrack/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PR 0x81c784u
#define PD 0xe57373u
#define NE 0x999999u
#define SD 0x64b5f6u
#define INK 0x333333u
#define GRID 0xe0e0e0u
#define LINE_PR 0x2e7d32u
#define LINE_PD 0xc62828u
#define CURVE 0x1565c0u
#define PLOT_TOP 85 /* under the title and the legend */

static const char *COHORT =
    "["
    "{\"subject\": \"P1\", \"reader\": \"r\", \"timepoints\": ["
    " {\"label\": \"BL\", \"date\": \"2026-01-01\", \"baseline\": true},"
    " {\"label\": \"W8\", \"date\": \"2026-02-26\", \"baseline\": false},"
    " {\"label\": \"W16\", \"date\": \"2026-04-23\", \"baseline\": false}],"
    " \"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    " \"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 50},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W8\", \"long_axis_mm\": 30},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W16\", \"long_axis_mm\": 30}]},"
    "{\"subject\": \"P2\", \"reader\": \"r\", \"timepoints\": ["
    " {\"label\": \"BL\", \"date\": \"2026-01-01\", \"baseline\": true},"
    " {\"label\": \"W8\", \"date\": \"2026-02-26\", \"baseline\": false}],"
    " \"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    " \"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 40},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W8\", \"long_axis_mm\": 50}]},"
    "{\"subject\": \"P3\", \"reader\": \"r\", \"timepoints\": ["
    " {\"label\": \"BL\", \"date\": \"2026-01-01\", \"baseline\": true},"
    " {\"label\": \"W8\", \"date\": \"2026-02-26\", \"baseline\": false}],"
    " \"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    " \"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 40},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W8\", \"state\": \"not_evaluable\"}]},"
    "{\"subject\": \"P4\", \"reader\": \"r\", \"death_date\": \"2026-05-31\", \"timepoints\": ["
    " {\"label\": \"BL\", \"date\": \"2026-01-01\", \"baseline\": true},"
    " {\"label\": \"W8\", \"date\": \"2026-02-26\", \"baseline\": false},"
    " {\"label\": \"W16\", \"date\": \"2026-04-23\", \"baseline\": false}],"
    " \"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    " \"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 50},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W8\", \"long_axis_mm\": 45},"
    "  {\"lesion\": \"T1\", \"timepoint\": \"W16\", \"long_axis_mm\": 48}]}"
    "]";

static char dir[] = "/tmp/ht-plot-XXXXXX";
static json_t *cohort;

static int setup(void **state)
{
    (void)state;
    static const char *const reads[][2] = {{"P1", "BL"}, {"P1", "W8"}, {"P1", "W16"}, {"P2", "BL"},
                                           {"P2", "W8"}, {"P3", "BL"}, {"P3", "W8"},  {"P4", "BL"},
                                           {"P4", "W8"}, {"P4", "W16"}};
    ht_ledger_import_options all = {NULL, NULL, 1, HT_LEDGER_ALL, 0};
    ht_ledger_import_summary sum;
    ht_report_options signed_only = HT_REPORT_OPTIONS_INIT;
    json_t *doc = NULL;
    ht_store *store;
    assert_non_null(mkdtemp(dir));
    char *path = ht_strprintf("%s/index.sqlite", dir);
    assert_int_equal(ht_store_open(&store, path), HT_OK);
    assert_int_equal(ht_ledger_parse_document(COHORT, strlen(COHORT), "test", &doc), HT_OK);
    assert_int_equal(ht_ledger_import_document(store, doc, "test", &all, &sum), HT_OK);
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        assert_int_equal(ht_ledger_sign(store, reads[i][0], reads[i][1], "dr.test"), HT_OK);
    assert_int_equal(ht_report_cohort_series(store, HT_RECIST11, &signed_only, &cohort), HT_OK);
    json_decref(doc);
    ht_store_free(store);
    free(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(cohort);
    char *cmd = ht_strprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

/* ---- a decoded picture ---------------------------------------------------------------------- */

typedef struct picture {
    cairo_surface_t *surface;
    const uint8_t *data;
    int width, height, stride;
} picture;

typedef struct reader {
    const uint8_t *data;
    size_t len, pos;
} reader;

static cairo_status_t read_bytes(void *closure, unsigned char *out, unsigned int length)
{
    reader *r = closure;
    if (r->pos + length > r->len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(out, r->data + r->pos, length);
    r->pos += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Draw a chart as PNG and decode it again. */
static picture draw(ht_plot_chart chart)
{
    uint8_t *png;
    size_t len;
    picture p;
    assert_int_equal(ht_plot_draw(cohort, chart, HT_PLOT_PNG, &png, &len), HT_OK);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    reader r = {png, len, 0};
    p.surface = cairo_image_surface_create_from_png_stream(read_bytes, &r);
    assert_int_equal(cairo_surface_status(p.surface), CAIRO_STATUS_SUCCESS);
    free(png);
    p.width = cairo_image_surface_get_width(p.surface);
    p.height = cairo_image_surface_get_height(p.surface);
    p.stride = cairo_image_surface_get_stride(p.surface);
    p.data = cairo_image_surface_get_data(p.surface);
    assert_int_equal(p.width, HT_PLOT_WIDTH);
    assert_int_equal(p.height, HT_PLOT_HEIGHT);
    return p;
}

static unsigned rgb(const picture *p, int x, int y)
{
    uint32_t v;
    memcpy(&v, p->data + (size_t)y * (size_t)p->stride + (size_t)x * 4, 4);
    return v & 0xffffffu;
}

typedef struct box {
    int x0, y0, x1, y1, n;
} box;

/* The bounding box of the pixels of exactly one colour inside a region (n = 0: none). */
static box find(const picture *p, unsigned colour, int x0, int y0, int x1, int y1)
{
    box b = {x1, y1, -1, -1, 0};
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            if (rgb(p, x, y) == colour) {
                b.x0 = x < b.x0 ? x : b.x0;
                b.y0 = y < b.y0 ? y : b.y0;
                b.x1 = x > b.x1 ? x : b.x1;
                b.y1 = y > b.y1 ? y : b.y1;
                b.n++;
            }
    return b;
}

/* The bounding box of the solid patches of a colour: pixels whose 3x3 neighbourhood is all
 * that colour (antialiased text and lines blend into greys and have none). */
static box find_solid(const picture *p, unsigned colour, int x0, int y0, int x1, int y1)
{
    box b = {x1, y1, -1, -1, 0};
    for (int y = y0 + 1; y < y1 - 1; y++)
        for (int x = x0 + 1; x < x1 - 1; x++) {
            int full = 1;
            for (int dy = -1; dy <= 1 && full; dy++)
                for (int dx = -1; dx <= 1 && full; dx++)
                    full = rgb(p, x + dx, y + dy) == colour;
            if (!full)
                continue;
            b.x0 = x < b.x0 ? x : b.x0;
            b.y0 = y < b.y0 ? y : b.y0;
            b.x1 = x > b.x1 ? x : b.x1;
            b.y1 = y > b.y1 ? y : b.y1;
            b.n++;
        }
    return b;
}

/* The first row, from the top, where the colour appears between columns x0 and x1. */
static int row_of(const picture *p, unsigned colour, int x0, int x1)
{
    box b = find(p, colour, x0, PLOT_TOP, x1, p->height);
    assert_true(b.n > 0);
    return b.y0;
}

/* ---- waterfall ------------------------------------------------------------------------------ */

static void waterfall_bars_sit_where_their_values_say(void **state)
{
    (void)state;
    picture p = draw(HT_PLOT_WATERFALL);
    /* Left of the first bar only the lines cross: the zero line, -30 % and +20 %. */
    int zero = row_of(&p, INK, 85, 140), minus30 = row_of(&p, LINE_PR, 85, 140);
    int plus20 = row_of(&p, LINE_PD, 85, 140);
    assert_true(plus20 < zero && zero < minus30);
    double per_pct = (minus30 - zero) / 30.0; /* pixels per percentage point */
    assert_true(fabs((zero - plus20) / 20.0 - per_pct) < 0.1);

    /* P1 at -40 %: a PR-coloured bar from the zero line down past the -30 % line. */
    box pr = find(&p, PR, 85, PLOT_TOP, p.width, p.height);
    assert_true(pr.n > 100);
    assert_true(pr.y1 > minus30);
    assert_true(fabs((pr.y1 - zero) - 40 * per_pct) <= 2);
    assert_true(abs(pr.y0 - zero) <= 2);

    /* P2 at +25 %: a PD-coloured bar above the +20 % line. */
    box pd = find(&p, PD, 85, PLOT_TOP, p.width, p.height);
    assert_true(pd.n > 100);
    assert_true(pd.y0 < plus20);
    assert_true(fabs((zero - pd.y0) - 25 * per_pct) <= 2);
    assert_true(pd.x1 < pr.x0); /* largest growth on the left */

    /* P4 at -10 %: SD-coloured. */
    box sd = find(&p, SD, 85, PLOT_TOP, p.width, p.height);
    assert_true(fabs((sd.y1 - zero) - 10 * per_pct) <= 2);

    /* P3 has no complete sum: marked by an NE-coloured circle on the zero line, rightmost. */
    box ne = find_solid(&p, NE, 85, PLOT_TOP, p.width, p.height);
    assert_true(ne.n > 20);
    assert_true(abs((ne.y0 + ne.y1) / 2 - zero) <= 1);
    assert_true(ne.x0 > pr.x1 && ne.x0 > sd.x1);
    cairo_surface_destroy(p.surface);
}

/* ---- spider --------------------------------------------------------------------------------- */

/* Centres of the filled PR discs: PR pixels whose 3x3 neighbourhood is all PR (a 2-pixel line
 * has none), grouped by column runs. */
static int pr_discs(const picture *p, double cx[4], double cy[4])
{
    int n = 0;
    double sx[4] = {0}, sy[4] = {0}, count[4] = {0};
    for (int y = PLOT_TOP + 1; y < p->height - 1; y++)
        for (int x = 82; x < p->width - 1; x++) {
            int full = 1;
            for (int dy = -1; dy <= 1 && full; dy++)
                for (int dx = -1; dx <= 1 && full; dx++)
                    full = rgb(p, x + dx, y + dy) == PR;
            if (!full)
                continue;
            int k = 0;
            while (k < n && fabs(sx[k] / count[k] - x) > 8)
                k++;
            if (k == n && n < 4)
                n++;
            if (k < n) {
                sx[k] += x;
                sy[k] += y;
                count[k]++;
            }
        }
    for (int k = 0; k < n; k++) {
        cx[k] = sx[k] / count[k];
        cy[k] = sy[k] / count[k];
    }
    return n;
}

static void spider_points_sit_at_their_weeks_and_changes(void **state)
{
    (void)state;
    picture p = draw(HT_PLOT_SPIDER);
    int zero = row_of(&p, INK, 85, 100), minus30 = row_of(&p, LINE_PR, 85, 100);
    double per_pct = (minus30 - zero) / 30.0;
    /* The week axis starts at the y axis, the ink column at the plot's left edge. */
    box axis = find(&p, INK, 70, PLOT_TOP + 20, 90, PLOT_TOP + 40);
    assert_true(axis.n > 0);
    double x0 = axis.x1 + 0.5;
    double cx[4], cy[4];
    assert_int_equal(pr_discs(&p, cx, cy), 2); /* P1's two follow-ups, both PR */
    double w8 = cx[0] < cx[1] ? 0 : 1, w16 = 1 - w8;
    for (int k = 0; k < 2; k++) /* both at -40 % */
        assert_true(fabs(cy[k] - (zero + 40 * per_pct)) <= 1.5);
    /* Week 16 is twice as far from the axis as week 8 (56 and 112 days). */
    double ratio = (cx[(int)w16] - x0) / (cx[(int)w8] - x0);
    assert_true(fabs(ratio - 2.0) < 0.03);
    cairo_surface_destroy(p.surface);
}

/* ---- swimmer -------------------------------------------------------------------------------- */

static int ink_between(const picture *p, int x0, int x1, int y)
{
    for (int x = x0; x < x1; x++)
        if (rgb(p, x, y) == INK)
            return 1;
    return 0;
}

static void swimmer_arrows_only_for_subjects_still_followed(void **state)
{
    (void)state;
    picture p = draw(HT_PLOT_SWIMMER);
    box pr = find(&p, PR, 95, PLOT_TOP, p.width, p.height); /* P1: 112 days, followed */
    box pd = find(&p, PD, 95, PLOT_TOP, p.width, p.height); /* P2: 56 days, progressed */
    box sd = find(&p, SD, 95, PLOT_TOP, p.width, p.height); /* P4: 150 days, died */
    assert_true(pr.n > 0 && pd.n > 0 && sd.n > 0);
    int pr_y = (pr.y0 + pr.y1) / 2, pd_y = (pd.y0 + pd.y1) / 2;
    /* Lanes longest first; bar lengths in proportion to the days on study. */
    assert_true(sd.y0 < pr.y0 && pr.y0 < pd.y0);
    double x0 = pr.x0;
    assert_true(fabs((pr.x1 - x0) / (sd.x1 - x0) - 112.0 / 150) < 0.02);
    assert_true(ink_between(&p, pr.x1 + 4, pr.x1 + 14, pr_y));   /* P1's arrow */
    assert_false(ink_between(&p, pd.x1 + 10, pd.x1 + 30, pd_y)); /* none for P2 */
    /* P2's progression: a diamond in the progression colour at the end of its bar. */
    box diamond = find(&p, LINE_PD, pd.x1 - 10, pd.y0 - 4, pd.x1 + 10, pd.y1 + 4);
    assert_true(diamond.n > 10);
    /* P4's death: a black cross at day 150, the end of its bar. */
    box cross = find(&p, 0x000000u, sd.x1 - 10, sd.y0 - 4, sd.x1 + 10, sd.y1 + 4);
    assert_true(cross.n > 5);
    cairo_surface_destroy(p.surface);
}

/* ---- Kaplan-Meier --------------------------------------------------------------------------- */

static void km_curve_starts_at_one_and_steps_by_the_estimate(void **state)
{
    (void)state;
    picture p = draw(HT_PLOT_KM_PFS);
    /* Left of the first event the grid shows 0.25, 0.5 and 0.75 and the curve 1.0. */
    int x = 110;
    int grid[3] = {0, 0, 0}, ng = 0;
    for (int y = PLOT_TOP; y < p.height && ng < 3; y++)
        if (rgb(&p, x, y) == GRID)
            grid[ng++] = y;
    assert_int_equal(ng, 3);
    double quarter = (grid[2] - grid[0]) / 2.0;
    double y1 = grid[0] - quarter; /* survival 1.0 */
    box top = find(&p, CURVE, x, PLOT_TOP, x + 1, p.height);
    assert_true(fabs((top.y0 + top.y1) / 2.0 - y1) <= 1.5);
    /* The curve leaves 1.0 at day 56: P2's progression, 1 of 4 at risk, to 0.75. */
    box level1 = find(&p, CURVE, 91, (int)y1 - 1, p.width, (int)y1 + 2);
    int x56 = level1.x1;
    box after = find(&p, CURVE, x56 + 6, PLOT_TOP, x56 + 7, p.height);
    assert_true(fabs((after.y0 + after.y1) / 2.0 - grid[0]) <= 1.5);
    /* ... and stays there until P4's death at day 150, the last one at risk: to 0. */
    box level2 = find(&p, CURVE, x56 + 6, grid[0] - 1, p.width, grid[0] + 2);
    box axis = find(&p, INK, 70, (int)y1 + 5, 95, (int)y1 + 15);
    double x0 = axis.x1 + 0.5;
    assert_true(fabs((x56 - x0) / (level2.x1 - x0) - 56.0 / 150) < 0.02);
    cairo_surface_destroy(p.surface);
}

/* The numbers at risk and the median, as text: the PDF's, read back by pdftotext. */
static void km_numbers_at_risk_and_median_are_written(void **state)
{
    (void)state;
    uint8_t *pdf;
    size_t len;
    assert_int_equal(ht_plot_draw(cohort, HT_PLOT_KM_PFS, HT_PLOT_PDF, &pdf, &len), HT_OK);
    assert_memory_equal(pdf, "%PDF-", 5);
    char *path = ht_strprintf("%s/km.pdf", dir);
    assert_int_equal(ht_file_replace(path, pdf, len), HT_OK);
    free(pdf);
    if (system("command -v pdftotext >/dev/null") != 0) {
        free(path);
        skip(); /* poppler-utils: make check installs it */
    }
    char *cmd = ht_strprintf("pdftotext -layout '%s' -", path);
    FILE *f = popen(cmd, "r");
    char line[1024], ticks[1024] = "", risk[1024] = "";
    int median = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strstr(line, "At risk"))
            snprintf(risk, sizeof(risk), "%s", strstr(line, "At risk") + 7);
        else if (strstr(line, "Median 150 days"))
            median = 1;
        else if (strstr(line, "   20   ") && strstr(line, "   40   "))
            snprintf(ticks, sizeof(ticks), "%s", line);
    }
    assert_int_equal(pclose(f), 0);
    /* Ticks every 20 days to 160; at risk: everyone to 56, then P1 and P4, then P4. */
    int t[16], r[16], nt = 0, nr = 0, used;
    for (char *s = ticks; nt < 16 && sscanf(s, "%d%n", &t[nt], &used) == 1; s += used)
        nt++;
    for (char *s = risk; nr < 16 && sscanf(s, "%d%n", &r[nr], &used) == 1; s += used)
        nr++;
    static const int expected[] = {4, 4, 4, 2, 2, 2, 1, 1, 0};
    assert_int_equal(nt, 9);
    assert_int_equal(nr, 9);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(t[i], 20 * i);
        assert_int_equal(r[i], expected[i]);
    }
    assert_true(median);
    free(cmd);
    free(path);
}

static void svg_and_names(void **state)
{
    (void)state;
    uint8_t *svg;
    size_t len;
    ht_plot_chart c;
    ht_plot_format f;
    assert_int_equal(ht_plot_draw(cohort, HT_PLOT_SWIMMER, HT_PLOT_SVG, &svg, &len), HT_OK);
    char *text = ht_strprintf("%.*s", (int)len, (const char *)svg);
    assert_non_null(strstr(text, "<svg"));
    assert_non_null(strstr(text, "width=\"960pt\" height=\"600pt\""));
    assert_non_null(strstr(text, "</svg>"));
    free(text);
    free(svg);
    assert_int_equal(ht_plot_chart_parse("km-os", &c), HT_OK);
    assert_int_equal(c, HT_PLOT_KM_OS);
    assert_int_equal(ht_plot_chart_parse("pie", &c), HT_EINVALID);
    assert_int_equal(ht_plot_format_parse("svg", &f), HT_OK);
    assert_string_equal(ht_plot_media_type(f), "image/svg+xml");
    assert_int_equal(ht_plot_format_parse("gif", &f), HT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(waterfall_bars_sit_where_their_values_say),
        cmocka_unit_test(spider_points_sit_at_their_weeks_and_changes),
        cmocka_unit_test(swimmer_arrows_only_for_subjects_still_followed),
        cmocka_unit_test(km_curve_starts_at_one_and_steps_by_the_estimate),
        cmocka_unit_test(km_numbers_at_risk_and_median_are_written),
        cmocka_unit_test(svg_and_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
