/* Rendering: VOI windows, presets, inversion, RGB, scaling, and the PNG as libpng reads it. */
#include "hepatrack/render.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
// cmocka after the standard headers it needs
#include <cmocka.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Decode a PNG back to 8-bit pixels of its own format (grey or RGB). */
static uint8_t *decode(const uint8_t *data, size_t len, png_image *img)
{
    memset(img, 0, sizeof(*img));
    img->version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(img, data, len));
    uint8_t *pixels = malloc(PNG_IMAGE_SIZE(*img));
    assert_non_null(pixels);
    assert_true(png_image_finish_read(img, NULL, pixels, 0, NULL));
    return pixels;
}

static ht_frame frame_of(ht_sample_format format, uint32_t columns, uint32_t rows, void *samples)
{
    ht_frame f = {rows, columns, format,
                  16,   0,       1,
                  0,    samples, (size_t)rows * columns * ht_sample_size(format)};
    return f;
}

/* Render and decode in one step; the picture must be grey of the given size. */
static uint8_t *render_grey(const ht_frame *f, const ht_window *w, uint32_t size, png_image *img)
{
    uint8_t *png;
    size_t len;
    assert_int_equal(ht_render_png(f, w, size, &png, &len), HT_OK);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    uint8_t *pixels = decode(png, len, img);
    free(png);
    assert_int_equal(img->format, PNG_FORMAT_GRAY);
    return pixels;
}

static void test_presets(void **state)
{
    (void)state;
    ht_window w;
    const struct {
        const char *name;
        double center, width;
    } known[] = {{"soft-tissue", 40, 400},
                 {"lung", -600, 1500},
                 {"liver", 90, 150},
                 {"bone", 480, 2500},
                 {"brain", 40, 80}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_int_equal(ht_render_preset(known[i].name, &w), HT_OK);
        assert_true(w.center == known[i].center && w.width == known[i].width);
        assert_string_equal(ht_render_preset_names()[i], known[i].name);
    }
    assert_null(ht_render_preset_names()[5]);
    assert_int_equal(ht_render_preset("abdomen", &w), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "'abdomen'"));
}

/* Liver W150/L90: x <= 15 is black, x > 164 white, linear between (PS3.3 C.11.2.1.2.1). */
static void test_linear_window_edges(void **state)
{
    (void)state;
    int16_t s[] = {-1000, 15, 16, 89, 90, 164, 165, 3000};
    ht_frame f = frame_of(HT_SAMPLE_S16, 8, 1, s);
    ht_window w;
    png_image img;
    assert_int_equal(ht_render_preset("liver", &w), HT_OK);
    uint8_t *p = render_grey(&f, &w, 0, &img);
    assert_int_equal(img.width, 8);
    assert_int_equal(img.height, 1);
    /* y = ((x - 89.5) / 149 + 0.5) * 255: 16 -> 1.7, 89 -> 126.6, 90 -> 128.4, 164 -> 255 */
    uint8_t expected[] = {0, 0, 2, 127, 128, 255, 255, 255};
    assert_memory_equal(p, expected, sizeof(expected));
    free(p);
}

/* Stored values are rescaled first: CT stored 0..4095 with intercept -1024 is HU. */
static void test_rescale_before_window(void **state)
{
    (void)state;
    uint16_t s[] = {0, 1024 - 160, 1024 + 40, 1024 + 240, 4095};
    ht_frame f = frame_of(HT_SAMPLE_U16, 5, 1, s);
    f.rescale_intercept = -1024;
    ht_window w = {40, 400}; /* soft tissue: -160 .. 239 */
    png_image img;
    uint8_t *p = render_grey(&f, &w, 0, &img);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[1], 0);
    assert_int_equal(p[2], (uint8_t)lround(((40 - 39.5) / 399 + 0.5) * 255));
    assert_int_equal(p[3], 255);
    assert_int_equal(p[4], 255);
    free(p);
}

static void test_monochrome1_inverted(void **state)
{
    (void)state;
    uint8_t s[] = {0, 255};
    ht_frame f = frame_of(HT_SAMPLE_U8, 2, 1, s);
    png_image img;
    f.monochrome1 = 1;
    uint8_t *p = render_grey(&f, NULL, 0, &img);
    assert_int_equal(p[0], 255);
    assert_int_equal(p[1], 0);
    free(p);
}

/* Without a window the full range is stretched, whatever the width of the samples. */
static void test_full_range(void **state)
{
    (void)state;
    int32_t s[] = {-70000, 0, 70000};
    ht_frame f = frame_of(HT_SAMPLE_S32, 3, 1, s);
    png_image img;
    uint8_t *p = render_grey(&f, NULL, 0, &img);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[1], 128);
    assert_int_equal(p[2], 255);
    free(p);
    ht_window w = ht_render_full_range(&f);
    assert_true(w.width == 140001);
    int8_t c[] = {5, 5};
    ht_frame constant = frame_of(HT_SAMPLE_S8, 2, 1, c);
    p = render_grey(&constant, NULL, 0, &img);
    assert_int_equal(p[0], 0); /* a constant frame is one value, shown black, not an error */
    free(p);
}

static void test_rgb_kept(void **state)
{
    (void)state;
    uint8_t s[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    ht_frame f = frame_of(HT_SAMPLE_RGB8, 2, 2, s);
    ht_window w = {40, 400};
    uint8_t *png;
    size_t len;
    png_image img;
    assert_int_equal(ht_render_png(&f, &w, 0, &png, &len), HT_OK);
    uint8_t *p = decode(png, len, &img);
    free(png);
    assert_int_equal(img.format, PNG_FORMAT_RGB);
    assert_memory_equal(p, s, sizeof(s));
    free(p);
}

/* size is the longest side: 4x2 to 2x1 averages 2x2 blocks; 2x1 to 4x2 repeats samples. */
static void test_scaling(void **state)
{
    (void)state;
    uint8_t s[] = {0, 100, 200, 255, 50, 50, 255, 255};
    ht_frame f = frame_of(HT_SAMPLE_U8, 4, 2, s);
    ht_window identity = {128, 256}; /* 0..255 onto itself */
    png_image img;
    uint8_t *p = render_grey(&f, &identity, 2, &img);
    assert_int_equal(img.width, 2);
    assert_int_equal(img.height, 1);
    assert_int_equal(p[0], 50);  /* (0 + 100 + 50 + 50) / 4 */
    assert_int_equal(p[1], 241); /* (200 + 255 + 255 + 255) / 4 = 241.25 */
    free(p);
    uint8_t t[] = {10, 20};
    ht_frame small = frame_of(HT_SAMPLE_U8, 2, 1, t);
    p = render_grey(&small, &identity, 4, &img);
    assert_int_equal(img.width, 4);
    assert_int_equal(img.height, 2);
    uint8_t expected[] = {10, 10, 20, 20, 10, 10, 20, 20};
    assert_memory_equal(p, expected, sizeof(expected));
    free(p);
}

static void test_refusals(void **state)
{
    (void)state;
    uint8_t s[] = {1, 2};
    ht_frame f = frame_of(HT_SAMPLE_U8, 2, 1, s);
    ht_window narrow = {10, 0.5};
    uint8_t *png = (uint8_t *)"untouched";
    size_t len = 7;
    assert_int_equal(ht_render_png(&f, NULL, 5000, &png, &len), HT_EINVALID);
    assert_null(png);
    assert_non_null(strstr(ht_error_last(), "size"));
    assert_int_equal(ht_render_png(&f, &narrow, 0, &png, &len), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "width"));
    f.size = 1; /* fewer bytes than rows x columns */
    assert_int_equal(ht_render_png(&f, NULL, 0, &png, &len), HT_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_linear_window_edges),
        cmocka_unit_test(test_rescale_before_window),
        cmocka_unit_test(test_monochrome1_inverted),
        cmocka_unit_test(test_full_range),
        cmocka_unit_test(test_rgb_kept),
        cmocka_unit_test(test_scaling),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
