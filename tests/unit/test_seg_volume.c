/*
 * Segmentations in the archive: the liver volume a stored SEG gives and the studies and series
 * it references (for liver_volume_ml proposals), the segments under a point drawn on an image
 * (a lesion's caliper), and the refusals, on a small phantom from `ht-gen-study --seg` and on the
 * shared samples.
 */
#include "hepatrack/ingest.h"
#include "hepatrack/seg_volume.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
// cmocka after the standard headers it needs
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

/* The phantom: 128 x 128 pixels of 3.125 mm, 40 slices of 3.75 mm, the two default lesions
 * (30 mm at (-80, -20, 75), 18 mm at (-110, 30, 85)). */
#define SLICES 40

typedef struct fixture {
    char *dir;
    ht_store *store;
    ht_archive *archive;
    ht_measure_source src;
    char seg[65], slice[SLICES][65], label_seg[65], label_ct[65], tid1500_seg[65], label_map[65];
    char label_ct_study[65], label_ct_series[65];
} fixture;

static void ingest_file(ht_ingest *in, const char *path, char uid[65], ht_ingest_result *r)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(ht_file_read(path, 1 << 26, &data, &len), HT_OK);
    if (ht_ingest_buffer(in, data, len, "test", r) != HT_OK)
        fail_msg("%s: %s", path, ht_error_last());
    snprintf(uid, 65, "%s", r->sop_instance_uid);
    free(data);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    ht_ingest *in = NULL;
    ht_ingest_result r;
    char *study = NULL, *cmd = NULL, path[1200];
    (void)count_walked; /* scratch.h's, not needed here */
    if (!f || !(f->dir = scratch_dir("segvol")) || !(study = ht_strprintf("%s/study", f->dir)) ||
        !(cmd = ht_strprintf("'%s' --out '%s' --seg --size 128 --pixel 3.125 --slices %d "
                             "--thickness 3.75 > /dev/null",
                             HT_GEN_STUDY, study, SLICES)) ||
        system(cmd) != 0 || ht_ingest_open(&in, f->dir) != HT_OK)
        return -1;
    for (int i = 0; i < SLICES; i++) {
        snprintf(path, sizeof(path), "%s/CT%04d.dcm", study, i + 1);
        ingest_file(in, path, f->slice[i], &r);
    }
    snprintf(path, sizeof(path), "%s/SEG.dcm", study);
    ingest_file(in, path, f->seg, &r);
    ingest_file(in, HT_SAMPLES_DIR "/series/dcmqi-23x38x3/label.seg", f->label_seg, &r);
    ingest_file(in, HT_SAMPLES_DIR "/series/dcmqi-23x38x3/IMG0001.dcm", f->label_ct, &r);
    snprintf(f->label_ct_study, 65, "%s", r.study_instance_uid);
    snprintf(f->label_ct_series, 65, "%s", r.series_instance_uid);
    ingest_file(in, HT_SAMPLES_DIR "/sr-tid1500/dcmqi-sr-example/seg.dcm", f->tid1500_seg, &r);
    ingest_file(in, HT_SAMPLES_DIR "/seg/sparse-labelmap-noppv.dcm", f->label_map, &r);
    ht_ingest_free(in);
    char *index = ht_store_index_path(f->dir);
    int err = index ? ht_store_open(&f->store, index) : HT_ENOMEM;
    if (err == HT_OK)
        err = ht_archive_open(&f->archive, f->dir);
    f->src = (ht_measure_source){f->store, f->archive};
    free(index);
    free(study);
    free(cmd);
    *state = f;
    return err == HT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ht_store_free(f->store);
    ht_archive_free(f->archive);
    scratch_remove(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_phantom_liver_volume(void **state)
{
    fixture *f = *state;
    ht_seg_liver liver;
    assert_int_equal(ht_seg_liver_volume(&f->src, f->seg, &liver), HT_OK);
    assert_int_equal(liver.segment_number, 1);
    /* the analytic liver: pi L (5250 + 2600 / pi + 40) mm^3 */
    double length = SLICES * 3.75, analytic = M_PI * length * (5250 + 2600 / M_PI + 40) / 1000;
    assert_float_equal(liver.volume_ml, liver.voxels * 3.125 * 3.125 * 3.75 / 1000, 1e-9);
    assert_true(fabs(liver.volume_ml - analytic) / analytic < 0.02);
    assert_string_equal(liver.slice_spacing_source, "frame positions");
    assert_int_equal(liver.n_study_uids, 1);
    assert_string_equal(liver.study_uids[0], liver.seg_study_uid);
    assert_int_equal(liver.n_series_uids, 1);
    ht_seg_liver_release(&liver);
    assert_null(liver.study_uids);
}

static void test_dcmqi_liver_references_its_ct(void **state)
{
    fixture *f = *state;
    ht_seg_liver liver;
    assert_int_equal(ht_seg_liver_volume(&f->src, f->label_seg, &liver), HT_OK);
    assert_float_equal(liver.voxels, 322, 1e-9);
    assert_float_equal(liver.volume_ml, 0.394450, 1e-6);
    assert_int_equal(liver.n_study_uids, 1);
    assert_string_equal(liver.study_uids[0], f->label_ct_study);
    assert_int_equal(liver.n_series_uids, 1);
    assert_string_equal(liver.series_uids[0], f->label_ct_series);
    ht_seg_liver_release(&liver);
}

static void test_liver_refusals(void **state)
{
    fixture *f = *state;
    ht_seg_liver liver;
    assert_int_equal(ht_seg_liver_volume(&f->src, f->tid1500_seg, &liver), HT_ENOTFOUND);
    assert_non_null(strstr(ht_error_last(), "no liver segment"));
    assert_int_equal(ht_seg_liver_volume(&f->src, f->label_map, &liver), HT_EUNSUPPORTED);
    assert_non_null(strstr(ht_error_last(), "Label Map"));
    assert_int_equal(ht_seg_liver_volume(&f->src, f->label_ct, &liver), HT_EINVALID);
    assert_int_equal(ht_seg_liver_volume(&f->src, "1.2.3.4", &liver), HT_ENOTFOUND);
    assert_null(liver.study_uids);
}

/* The point of slice `index` (from 0) at (x, y) mm from the image centre, in pixel
 * coordinates: pixel centres at c + 0.5. */
static ht_point at_mm(double x, double y)
{
    double half = 127 * 3.125 / 2;
    return (ht_point){(x + half) / 3.125 + 0.5, (y + half) / 3.125 + 0.5};
}

static void test_segments_under_a_lesion(void **state)
{
    fixture *f = *state;
    ht_seg_hit hits[8];
    size_t n;
    /* slice 20 (z 73.125 mm) through lesion 1's centre (-80, -20, 75): the liver and lesion 1 */
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->slice[19], at_mm(-80, -20), hits, 8, &n), HT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hits[0].number, 1);
    assert_true(hits[0].is_liver);
    assert_int_equal(hits[1].number, 2);
    assert_string_equal(hits[1].label, "Lesion 1");
    assert_false(hits[1].is_liver);
    assert_true(hits[1].has_volume && hits[1].volume_ml > 10 && hits[1].volume_ml < 18);
    /* lesion 2 (-110, 30, 85): slice 23 (z 84.375) */
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->slice[22], at_mm(-110, 30), hits, 8, &n), HT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hits[1].number, 3);
    /* the liver only, beside the lesions; nothing in the vertebra */
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->slice[19], at_mm(-120, -40), hits, 8, &n), HT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->slice[19], at_mm(0, 75), hits, 8, &n), HT_OK);
    assert_int_equal(n, 0);
    /* lesion 1 is 30 mm across: 3 slices beyond its top (z 90 + 3.75) it is gone */
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->slice[24], at_mm(-80, -20), hits, 8, &n), HT_OK);
    assert_int_equal(n, 1);
    /* another Frame of Reference */
    assert_int_equal(
        ht_seg_segments_under(&f->src, f->seg, f->label_ct, (ht_point){1, 1}, hits, 8, &n),
        HT_EINVALID);
}

static void test_describe_leaves_other_instances(void **state)
{
    fixture *f = *state;
    json_t *obj = json_object();
    assert_int_equal(ht_seg_volume_describe(&f->src, f->slice[0], obj), HT_OK);
    assert_int_equal(json_object_size(obj), 0);
    assert_int_equal(ht_seg_volume_describe(&f->src, f->label_map, obj), HT_OK);
    assert_non_null(strstr(json_string_value(json_object_get(obj, "SegmentsNotRead")), "Label"));
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phantom_liver_volume),
        cmocka_unit_test(test_dcmqi_liver_references_its_ct),
        cmocka_unit_test(test_liver_refusals),
        cmocka_unit_test(test_segments_under_a_lesion),
        cmocka_unit_test(test_describe_leaves_other_instances),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
