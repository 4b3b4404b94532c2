/* Calipers and ellipse statistics: mm from Pixel Spacing, perpendicularity, ROI means. */
#include "hepatrack/measure.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
// cmocka after the standard headers it needs
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_distance_uses_row_and_column_spacing(void **state)
{
    (void)state;
    const double spacing[2] = {0.5, 0.8}; /* rows 0.5 mm apart, columns 0.8 mm */
    /* along x: columns count */
    assert_float_equal(ht_measure_distance_mm(spacing, (ht_point){10, 10}, (ht_point){20, 10}), 8.0,
                       1e-12);
    /* along y: rows count */
    assert_float_equal(ht_measure_distance_mm(spacing, (ht_point){10, 10}, (ht_point){10, 30}),
                       10.0, 1e-12);
    /* a diagonal: 3-4-5 in mm */
    assert_float_equal(ht_measure_distance_mm(spacing, (ht_point){0, 0}, (ht_point){3.75, 8}), 5.0,
                       1e-12);
}

static void test_bidirectional_accepts_a_perpendicular_cross(void **state)
{
    (void)state;
    const double spacing[2] = {0.7, 0.7};
    const ht_point p[4] = {{100, 100}, {140, 100}, {120, 90}, {120, 115}};
    double l, s;
    assert_int_equal(ht_measure_bidirectional(spacing, p, &l, &s), HT_OK);
    assert_float_equal(l, 28.0, 1e-9);
    assert_float_equal(s, 17.5, 1e-9);
}

static void test_bidirectional_perpendicular_in_mm_not_pixels(void **state)
{
    (void)state;
    /* Anisotropic pixels: a diagonal that is at right angles in pixels is not in mm. */
    const double spacing[2] = {1.0, 2.0};
    const ht_point p[4] = {{0, 0}, {10, 10}, {10, 0}, {0, 10}};
    double l, s;
    assert_int_equal(ht_measure_bidirectional(spacing, p, &l, &s), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "perpendicular"));
}

static void test_bidirectional_refusals(void **state)
{
    (void)state;
    const double spacing[2] = {1, 1};
    double l, s;
    const ht_point tilted[4] = {{0, 0}, {40, 0}, {20, -10}, {24, 10}}; /* 11 degrees off */
    assert_int_equal(ht_measure_bidirectional(spacing, tilted, &l, &s), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "degrees off"));
    const ht_point longer[4] = {{0, 0}, {10, 0}, {5, -10}, {5, 10}};
    assert_int_equal(ht_measure_bidirectional(spacing, longer, &l, &s), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "longer than the long axis"));
    const ht_point apart[4] = {{0, 0}, {40, 0}, {20, 5}, {20, 15}};
    assert_int_equal(ht_measure_bidirectional(spacing, apart, &l, &s), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "cross"));
    const ht_point dot[4] = {{3, 3}, {3, 3}, {3, 3}, {3, 4}};
    assert_int_equal(ht_measure_bidirectional(spacing, dot, &l, &s), HT_EINVALID);
}

/* A 64x64 CT frame stored with slope 2, intercept -1024: a disc of 100 HU in 0 HU. */
static ht_frame disc_frame(int16_t *samples)
{
    for (int r = 0; r < 64; r++)
        for (int c = 0; c < 64; c++) {
            double dx = c + 0.5 - 32, dy = r + 0.5 - 32;
            double hu = dx * dx + dy * dy <= 100 ? 100 : 0;
            samples[r * 64 + c] = (int16_t)((hu + 1024) / 2);
        }
    ht_frame f = {64, 64, HT_SAMPLE_S16, 16, 0, 2.0, -1024.0, samples, sizeof(int16_t) * 64 * 64};
    return f;
}

static void test_ellipse_mean_after_rescale(void **state)
{
    (void)state;
    int16_t *samples = malloc(sizeof(int16_t) * 64 * 64);
    ht_frame f = disc_frame(samples);
    const double spacing[2] = {0.5, 0.5};
    ht_roi_stats st;
    /* inside the disc: every pixel is 100 HU */
    assert_int_equal(ht_measure_ellipse(&f, spacing, (ht_point){26, 26}, (ht_point){38, 38}, &st),
                     HT_OK);
    assert_float_equal(st.mean, 100.0, 1e-9);
    assert_float_equal(st.sd, 0.0, 1e-9);
    /* corners given in any order; a box of 12x12 pixels holds about pi*36 centres */
    assert_int_equal(ht_measure_ellipse(&f, spacing, (ht_point){38, 26}, (ht_point){26, 38}, &st),
                     HT_OK);
    assert_true(st.pixels > 100 && st.pixels < 126);
    assert_float_equal(st.area_mm2, (double)st.pixels * 0.25, 1e-9);
    /* over the whole frame: the disc's share of 100 HU */
    assert_int_equal(ht_measure_ellipse(&f, spacing, (ht_point){0, 0}, (ht_point){64, 64}, &st),
                     HT_OK);
    assert_true(st.mean > 5 && st.mean < 15);
    assert_true(st.sd > 0);
    free(samples);
}

static void test_ellipse_refusals(void **state)
{
    (void)state;
    int16_t *samples = malloc(sizeof(int16_t) * 64 * 64);
    ht_frame f = disc_frame(samples);
    const double spacing[2] = {1, 1};
    ht_roi_stats st;
    assert_int_equal(ht_measure_ellipse(&f, spacing, (ht_point){60, 60}, (ht_point){70, 70}, &st),
                     HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "outside"));
    assert_int_equal(
        ht_measure_ellipse(&f, spacing, (ht_point){10.1, 10.1}, (ht_point){10.2, 10.2}, &st),
        HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "no pixel centre"));
    uint8_t rgb[3 * 4] = {0};
    ht_frame colour = {2, 2, HT_SAMPLE_RGB8, 8, 0, 1, 0, rgb, sizeof(rgb)};
    assert_int_equal(ht_measure_ellipse(&colour, spacing, (ht_point){0, 0}, (ht_point){2, 2}, &st),
                     HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "colour"));
    free(samples);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_uses_row_and_column_spacing),
        cmocka_unit_test(test_bidirectional_accepts_a_perpendicular_cross),
        cmocka_unit_test(test_bidirectional_perpendicular_in_mm_not_pixels),
        cmocka_unit_test(test_bidirectional_refusals),
        cmocka_unit_test(test_ellipse_mean_after_rescale),
        cmocka_unit_test(test_ellipse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
