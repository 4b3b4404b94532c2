/*
 * Unit tests: DICOM SR Measurement Reports (TID 1500) read from the shared samples, group by
 * group, and written then read back value by value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/dicom.h"
#include "hepatrack/sr.h"
#include "hepatrack/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *read_sample(const char *rel, size_t *len)
{
    char path[1024];
    uint8_t *buf = NULL;
    snprintf(path, sizeof(path), "%s/%s", HT_SAMPLES_DIR, rel);
    assert_int_equal(ht_file_read(path, 1 << 28, &buf, len), HT_OK);
    return buf;
}

static void read_report(const char *rel, ht_sr_report *r)
{
    size_t len;
    uint8_t *buf = read_sample(rel, &len);
    int err = ht_sr_read(buf, len, r);
    if (err != HT_OK)
        fail_msg("%s: %s", rel, ht_error_last());
    ht_free(buf);
}

static void assert_code(const ht_sr_code *c, const char *scheme, const char *value)
{
    assert_string_equal(c->scheme, scheme);
    assert_string_equal(c->value, value);
}

/* dcmjs (OHIF): six TID 1501 groups, SRT codes, an area under the Length code, a NUM without
 * a value. */
static void reads_dcmjs_report(void **state)
{
    (void)state;
    ht_sr_report r;
    read_report("sr-tid1500/structured_report.dcm", &r);
    assert_string_equal(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.88.22");
    assert_int_equal(r.ngroups, 6);
    assert_string_equal(r.observer, "unknown^unknown");
    assert_null(r.provenance);
    assert_int_equal(r.nimages, 2);

    const ht_sr_group *arrow = &r.groups[0];
    assert_int_equal(arrow->tid, HT_SR_TID1501);
    assert_string_equal(arrow->tracking_id, "cornerstoneTools@^4.0.0:ArrowAnnotate");
    assert_string_equal(arrow->tracking_uid, "2.25.957619585401316267806321583073461065454");
    assert_code(&arrow->finding, "CST4", "CORNERSTONEFREETEXT");
    assert_int_equal(arrow->nmeasurements, 1);
    assert_false(arrow->measurements[0].has_value); /* skipped, with a warning */
    assert_non_null(arrow->warnings);
    assert_non_null(strstr(arrow->warnings, "'Center' has no measured value: skipped"));
    assert_string_equal(arrow->measurements[0].coord.graphic_type, "POINT");

    const ht_sr_group *ellipse = &r.groups[1];
    const ht_sr_measurement *area = &ellipse->measurements[0];
    assert_code(&area->concept, "SCT", "410668003"); /* SRT G-D7FE, mapped */
    assert_int_equal(area->quantity, HT_SR_AREA);    /* its unit is mm2 */
    assert_true(area->converted);
    assert_true(fabs(area->value_converted - 4806.42320110457) < 1e-9);
    assert_string_equal(area->unit.value, "mm2");
    assert_string_equal(area->coord.graphic_type, "ELLIPSE");
    assert_int_equal(area->coord.npoints, 4);
    assert_non_null(strstr(ellipse->warnings, "area unit"));

    const ht_sr_group *bidi = &r.groups[2];
    assert_int_equal(bidi->nmeasurements, 2);
    assert_code(&bidi->measurements[0].concept, "SCT", "103339001");
    assert_int_equal(bidi->measurements[0].quantity, HT_SR_LONG_AXIS);
    assert_true(fabs(bidi->measurements[0].value_converted - 93.9) < 1e-9);
    assert_string_equal(bidi->measurements[0].unit.value, "mm");
    assert_code(&bidi->measurements[1].concept, "SCT", "103340004");
    assert_int_equal(bidi->measurements[1].quantity, HT_SR_SHORT_AXIS);
    assert_true(fabs(bidi->measurements[1].value - 47.0) < 1e-9);
    const ht_sr_coord *c = &bidi->measurements[0].coord;
    assert_string_equal(c->graphic_type, "POLYLINE");
    assert_int_equal(c->npoints, 2);
    assert_true(fabs(c->points[0] - 71.5) < 1e-4 && fabs(c->points[1] - 329) < 1e-4);
    assert_string_equal(c->sop_instance_uid,
                        "1.3.6.1.4.1.25403.52237031786.3872.20100510032220.11");
    assert_string_equal(c->sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");

    const ht_sr_measurement *len = &r.groups[4].measurements[0];
    assert_int_equal(len->quantity, HT_SR_LENGTH);
    assert_true(fabs(len->value - 133.992062006165) < 1e-9);
    assert_string_equal(len->coord.sop_instance_uid,
                        "1.3.6.1.4.1.25403.52237031786.3872.20100510032220.12");
    ht_sr_report_free(&r);
}

/* highdicom: a TID 1410 planar ROI (a circle), the Finding Site's concept in SRT. */
static void reads_highdicom_planar_roi(void **state)
{
    (void)state;
    ht_sr_report r;
    read_report("sr-tid1500/sr_document.dcm", &r);
    assert_string_equal(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.88.34");
    assert_string_equal(r.observer, "Foo"); /* a TEXT here, not a PNAME */
    assert_int_equal(r.ngroups, 1);
    const ht_sr_group *g = &r.groups[0];
    assert_int_equal(g->tid, HT_SR_TID1410);
    assert_string_equal(g->tracking_id, "Planar ROI Measurements");
    assert_string_equal(g->tracking_uid,
                        "1.2.826.0.1.3680043.8.498.95005499519195632686309166061552196996");
    assert_code(&g->finding, "SCT", "2748008");      /* SRT T-A7010 Spinal cord */
    assert_code(&g->finding_site, "SRT", "T-D00F7"); /* not in the table: kept, warned */
    assert_non_null(strstr(g->warnings, "T-D00F7"));
    assert_string_equal(g->roi.graphic_type, "CIRCLE");
    assert_int_equal(g->roi.npoints, 2);
    assert_string_equal(g->roi.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
    assert_int_equal(g->nmeasurements, 1);
    const ht_sr_measurement *m = &g->measurements[0];
    assert_code(&m->concept, "SCT", "42798000");
    assert_int_equal(m->quantity, HT_SR_AREA);
    assert_string_equal(m->unit.value, "cm2");
    assert_true(m->converted);
    assert_true(fabs(m->value_converted - 170.0) < 1e-9); /* 1.7 cm2 in mm2 */
    ht_sr_report_free(&r);
}

/* dcmqi: a TID 1411 volumetric group; SUVbw means in g/ml are no HU: kept, not converted. */
static void reads_dcmqi_volumetric(void **state)
{
    (void)state;
    ht_sr_report r;
    read_report("sr-tid1500/dcmqi-sr-example/sr.dcm", &r);
    assert_string_equal(r.observer, "User2");
    assert_int_equal(r.ngroups, 1);
    const ht_sr_group *g = &r.groups[0];
    assert_int_equal(g->tid, HT_SR_TID1411);
    assert_string_equal(g->tracking_id, "primary tumor");
    assert_string_equal(g->tracking_uid, "2.25.318774060119084600392715520575818119084");
    assert_string_equal(g->timepoint, "1");
    assert_string_equal(r.timepoint, "1"); /* from the group */
    assert_code(&g->finding, "SCT", "86049000");
    assert_code(&g->finding_site, "SRT", "T-C5300");
    const ht_sr_measurement *mean = &g->measurements[0];
    assert_code(&mean->concept, "DCM", "126401");
    assert_code(&mean->derivation, "SCT", "373098007"); /* SRT R-00317 */
    assert_int_equal(mean->quantity, HT_SR_MEAN);
    assert_true(mean->has_value);
    assert_true(fabs(mean->value - 6.01529) < 1e-9);
    assert_string_equal(mean->unit.value, "{SUVbw}g/ml");
    assert_false(mean->converted);
    assert_non_null(strstr(g->warnings, "{SUVbw}g/ml is not a density in HU"));
    int volumes = 0;
    for (size_t i = 0; i < g->nmeasurements; i++)
        if (g->measurements[i].quantity == HT_SR_VOLUME) {
            volumes++;
            assert_code(&g->measurements[i].concept, "SCT", "118565006");
            assert_true(fabs(g->measurements[i].value_converted - 33.5824) < 1e-9);
        }
    assert_int_equal(volumes, 1);
    ht_sr_report_free(&r);
}

static void refuses_other_sr(void **state)
{
    (void)state;
    size_t len;
    ht_sr_report r;
    uint8_t *buf = read_sample("sr-other/test-SR.dcm", &len);
    assert_int_equal(ht_sr_read(buf, len, &r), HT_EUNSUPPORTED);
    assert_non_null(strstr(ht_error_last(), "not a TID 1500 Measurement Report"));
    ht_free(buf);
    buf = read_sample("ct/CT_small.dcm", &len);
    assert_int_equal(ht_sr_read(buf, len, &r), HT_EPARSE);
    ht_free(buf);
}

static double *points(size_t n, const double *xy)
{
    double *p = malloc(2 * n * sizeof(double));
    assert_non_null(p);
    memcpy(p, xy, 2 * n * sizeof(double));
    return p;
}

static void set_code(ht_sr_code *c, const char *scheme, const char *value, const char *meaning)
{
    snprintf(c->scheme, sizeof(c->scheme), "%s", scheme);
    snprintf(c->value, sizeof(c->value), "%s", value);
    snprintf(c->meaning, sizeof(c->meaning), "%s", meaning);
}

/* A report as the export module builds one: a lesion's bidirectional caliper (TID 1501) and
 * its ellipse's mean (TID 1410), on a CT image. */
static void build(ht_sr_report *r, const ht_dicom_info *info)
{
    const char *image_uid = info->sop_instance_uid;
    memset(r, 0, sizeof(*r));
    snprintf(r->timepoint, sizeof(r->timepoint), "FU1");
    snprintf(r->observer, sizeof(r->observer), "dr.rossi");
    r->provenance = strdup(HT_SR_PROVENANCE_PREFIX "subject S07; timepoint FU1; read v2");
    r->instance_number = 2;
    snprintf(r->predecessor.study_uid, 65, "1.2.3");
    snprintf(r->predecessor.series_uid, 65, "1.2.3.4");
    snprintf(r->predecessor.sop_class_uid, 65, "1.2.840.10008.5.1.4.1.1.88.22");
    snprintf(r->predecessor.sop_instance_uid, 65, "1.2.3.4.5");
    r->images = calloc(1, sizeof(ht_sr_ref));
    r->nimages = 1;
    snprintf(r->images[0].sop_class_uid, 65, "1.2.840.10008.5.1.4.1.1.2");
    snprintf(r->images[0].sop_instance_uid, 65, "%s", image_uid);
    snprintf(r->images[0].study_uid, 65, "%s", info->study_instance_uid);
    snprintf(r->images[0].series_uid, 65, "%s", info->series_instance_uid);
    r->groups = calloc(2, sizeof(ht_sr_group));
    r->ngroups = 2;
    for (int k = 0; k < 2; k++) {
        ht_sr_group *g = &r->groups[k];
        g->tid = k ? HT_SR_TID1410 : HT_SR_TID1501;
        snprintf(g->tracking_id, sizeof(g->tracking_id), "T1");
        snprintf(g->tracking_uid, sizeof(g->tracking_uid), "2.25.1234567890123");
        set_code(&g->finding, "SCT", "108369006", "Neoplasm");
        set_code(&g->finding_site, "SCT", "10200004", "Liver");
    }
    ht_sr_group *g = &r->groups[0];
    g->measurements = calloc(2, sizeof(ht_sr_measurement));
    g->nmeasurements = 2;
    static const double axes[2][4] = {{10.5, 20.5, 60.5, 20.5}, {35.5, 5.0, 35.5, 30.0}};
    static const char *const codes[2][2] = {{"103339001", "Long Axis"},
                                            {"103340004", "Short Axis"}};
    for (int k = 0; k < 2; k++) {
        ht_sr_measurement *m = &g->measurements[k];
        set_code(&m->concept, "SCT", codes[k][0], codes[k][1]);
        set_code(&m->unit, "UCUM", "mm", "millimeter");
        m->has_value = 1;
        m->value = k ? 19.5 : 40.1;
        snprintf(m->coord.graphic_type, 16, "POLYLINE");
        m->coord.points = points(2, axes[k]);
        m->coord.npoints = 2;
        snprintf(m->coord.sop_class_uid, 65, "1.2.840.10008.5.1.4.1.1.2");
        snprintf(m->coord.sop_instance_uid, 65, "%s", image_uid);
    }
    g = &r->groups[1];
    static const double ellipse[8] = {10, 20, 50, 20, 30, 10, 30, 30};
    snprintf(g->roi.graphic_type, 16, "ELLIPSE");
    g->roi.points = points(4, ellipse);
    g->roi.npoints = 4;
    snprintf(g->roi.sop_class_uid, 65, "1.2.840.10008.5.1.4.1.1.2");
    snprintf(g->roi.sop_instance_uid, 65, "%s", image_uid);
    g->measurements = calloc(1, sizeof(ht_sr_measurement));
    g->nmeasurements = 1;
    set_code(&g->measurements[0].concept, "DCM", "112031", "Attenuation Coefficient");
    set_code(&g->measurements[0].derivation, "SCT", "373098007", "Mean");
    set_code(&g->measurements[0].unit, "UCUM", "[hnsf'U]", "Hounsfield unit");
    g->measurements[0].has_value = 1;
    g->measurements[0].value = -12.5;
}

static void writes_and_reads_back(void **state)
{
    (void)state;
    size_t len, out_len;
    uint8_t *image = read_sample("ct/CT_small.dcm", &len), *out = NULL;
    ht_dicom *dcm = NULL;
    assert_int_equal(ht_dicom_open_memory(&dcm, image, len), HT_OK);
    const ht_dicom_info *info = ht_dicom_get_info(dcm);
    ht_sr_report w, r;
    build(&w, info);
    if (ht_sr_write(&w, image, len, &out, &out_len) != HT_OK)
        fail_msg("write: %s", ht_error_last());
    const char *keep = getenv("HT_TEST_SR_OUT"); /* for a look with dsrdump and dciodvfy */
    if (keep)
        assert_int_equal(ht_file_replace(keep, out, out_len), HT_OK);
    if (ht_sr_read(out, out_len, &r) != HT_OK)
        fail_msg("read back: %s", ht_error_last());

    assert_string_equal(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.88.22"); /* Enhanced SR */
    assert_string_equal(r.study_instance_uid, info->study_instance_uid);
    assert_string_equal(r.patient_id, info->patient_id);
    assert_string_not_equal(r.series_instance_uid, info->series_instance_uid);
    assert_true(ht_dicom_uid_valid(r.sop_instance_uid));
    assert_memory_equal(r.sop_instance_uid, "2.25.", 5);
    assert_int_equal(r.instance_number, 2);
    assert_string_equal(r.timepoint, "FU1");
    assert_string_equal(r.observer, "dr.rossi");
    assert_string_equal(r.provenance, w.provenance);
    assert_true(r.completed);
    assert_true(r.verified);
    assert_string_equal(r.predecessor.sop_instance_uid, "1.2.3.4.5");
    assert_string_equal(r.predecessor.series_uid, "1.2.3.4");
    assert_int_equal(r.nimages, 1);
    assert_string_equal(r.images[0].sop_instance_uid, info->sop_instance_uid);
    assert_int_equal(r.nevidence, 1);
    assert_string_equal(r.evidence[0].series_uid, info->series_instance_uid);
    assert_int_equal(r.ngroups, 2);
    for (int k = 0; k < 2; k++) {
        assert_string_equal(r.groups[k].tracking_id, "T1");
        assert_string_equal(r.groups[k].tracking_uid, "2.25.1234567890123");
        assert_code(&r.groups[k].finding_site, "SCT", "10200004");
        assert_null(r.groups[k].warnings);
    }
    const ht_sr_group *g = &r.groups[0];
    assert_int_equal(g->tid, HT_SR_TID1501);
    assert_string_equal(g->timepoint, "FU1");
    assert_int_equal(g->nmeasurements, 2);
    assert_int_equal(g->measurements[0].quantity, HT_SR_LONG_AXIS);
    assert_true(fabs(g->measurements[0].value_converted - 40.1) < 1e-9);
    assert_int_equal(g->measurements[1].quantity, HT_SR_SHORT_AXIS);
    assert_true(fabs(g->measurements[1].value - 19.5) < 1e-9);
    for (int k = 0; k < 2; k++) {
        const ht_sr_coord *c = &g->measurements[k].coord;
        assert_string_equal(c->graphic_type, "POLYLINE");
        assert_int_equal(c->npoints, 2);
        assert_string_equal(c->sop_instance_uid, info->sop_instance_uid);
        for (int i = 0; i < 4; i++)
            assert_true(fabs(c->points[i] - w.groups[0].measurements[k].coord.points[i]) < 1e-4);
    }
    g = &r.groups[1];
    assert_int_equal(g->tid, HT_SR_TID1410);
    assert_string_equal(g->roi.graphic_type, "ELLIPSE");
    assert_int_equal(g->roi.npoints, 4);
    assert_int_equal(g->measurements[0].quantity, HT_SR_MEAN);
    assert_true(g->measurements[0].converted);
    assert_true(fabs(g->measurements[0].value_converted + 12.5) < 1e-9);

    /* A second write is a new instance; with the series given, in that series. */
    uint8_t *again = NULL;
    size_t again_len;
    ht_sr_report r2;
    snprintf(w.series_instance_uid, 65, "%s", r.series_instance_uid);
    assert_int_equal(ht_sr_write(&w, image, len, &again, &again_len), HT_OK);
    assert_int_equal(ht_sr_read(again, again_len, &r2), HT_OK);
    assert_string_equal(r2.series_instance_uid, r.series_instance_uid);
    assert_string_not_equal(r2.sop_instance_uid, r.sop_instance_uid);
    ht_sr_report_free(&r2);
    ht_free(again);

    /* What cannot be written is refused, naming it. */
    w.groups[0].measurements[1].has_value = 0;
    assert_int_equal(ht_sr_write(&w, image, len, &again, &again_len), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "Short Axis has no value"));
    w.groups[0].measurements[1].has_value = 1;
    w.groups[1].tracking_uid[0] = '\0';
    assert_int_equal(ht_sr_write(&w, image, len, &again, &again_len), HT_EINVALID);

    ht_sr_report_free(&r);
    ht_sr_report_free(&w);
    ht_free(out);
    ht_dicom_free(dcm);
    ht_free(image);
}

static void maps_srt_codes(void **state)
{
    (void)state;
    assert_string_equal(ht_sr_srt_to_sct("T-62000"), "10200004");
    assert_string_equal(ht_sr_srt_to_sct("G-A185"), "103339001");
    assert_string_equal(ht_sr_srt_to_sct("G-A186"), "103340004");
    assert_string_equal(ht_sr_srt_to_sct("R-00317"), "373098007");
    assert_null(ht_sr_srt_to_sct("T-D00F7"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_dcmjs_report),     cmocka_unit_test(reads_highdicom_planar_roi),
        cmocka_unit_test(reads_dcmqi_volumetric), cmocka_unit_test(refuses_other_sr),
        cmocka_unit_test(writes_and_reads_back),  cmocka_unit_test(maps_srt_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
