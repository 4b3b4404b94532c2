/*
 * Every file under the shared samples against manifest.tsv, each on its own, through the file
 * layer: readable files give the manifest's SOP class, transfer syntax and dimensions and decode
 * every frame; malformed files are refused with a reason or read without a crash; lossless
 * variants decode to exactly their uncompressed twin's samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/dicom.h"
#include "hepatrack/util.h"
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 256

typedef struct sample {
    char file[256], sop_class[80], ts[80], malformed[16];
    long rows, cols, frames;
} sample;

static sample samples[MAX_ROWS];
static size_t nsamples;

/* manifest.tsv: tab-separated with a header row naming the columns. */
static int load_manifest(void **state)
{
    char path[512], line[8192];
    int col_file = -1, col_sop = -1, col_ts = -1, col_rows = -1, col_cols = -1, col_frames = -1,
        col_mal = -1;
    (void)state;
    snprintf(path, sizeof(path), "%s/manifest.tsv", HT_SAMPLES_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    for (int lineno = 0; fgets(line, sizeof(line), f) && nsamples < MAX_ROWS; lineno++) {
        char *fields[40] = {0};
        int n = 0;
        line[strcspn(line, "\r\n")] = '\0';
        for (char *p = line; n < 40;) {
            fields[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (lineno == 0) {
            for (int i = 0; i < n; i++) {
                if (!strcmp(fields[i], "file"))
                    col_file = i;
                if (!strcmp(fields[i], "sop_class_uid"))
                    col_sop = i;
                if (!strcmp(fields[i], "transfer_syntax_uid"))
                    col_ts = i;
                if (!strcmp(fields[i], "rows"))
                    col_rows = i;
                if (!strcmp(fields[i], "cols"))
                    col_cols = i;
                if (!strcmp(fields[i], "frames"))
                    col_frames = i;
                if (!strcmp(fields[i], "malformed"))
                    col_mal = i;
            }
            continue;
        }
        if (col_mal < 0 || n <= col_mal)
            continue;
        sample *s = &samples[nsamples++];
        snprintf(s->file, sizeof(s->file), "%s", fields[col_file]);
        snprintf(s->sop_class, sizeof(s->sop_class), "%s", fields[col_sop]);
        snprintf(s->ts, sizeof(s->ts), "%s", fields[col_ts]);
        snprintf(s->malformed, sizeof(s->malformed), "%s", fields[col_mal]);
        s->rows = strtol(fields[col_rows], NULL, 10);
        s->cols = strtol(fields[col_cols], NULL, 10);
        s->frames = strtol(fields[col_frames], NULL, 10);
    }
    fclose(f);
    return nsamples > 100 ? 0 : -1;
}

static int is_uid(const char *s)
{
    return s[0] >= '0' && s[0] <= '9' && strchr(s, ' ') == NULL;
}

/* Decode every frame; returns how many decoded, prints why one did not. */
static long decode_all(const ht_dicom *dcm, const char *file)
{
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    long ok = 0;
    for (uint32_t k = 0; k < i->number_of_frames; k++) {
        ht_frame *f = NULL;
        if (ht_dicom_frame_decode(dcm, k, &f) != HT_OK) {
            print_message("  %s frame %u: %s\n", file, k + 1, ht_error_last());
            break;
        }
        assert_int_equal(f->rows, i->rows);
        assert_int_equal(f->columns, i->columns);
        assert_int_equal(f->size, (size_t)f->rows * f->columns * ht_sample_size(f->format));
        ht_frame_free(f);
        ok++;
    }
    return ok;
}

/* Empty trailing components ("Doe^John^^^") are spelled differently by writers. */
static void trim_pn(char *pn)
{
    size_t n = strlen(pn);
    while (n && (pn[n - 1] == '^' || pn[n - 1] == ' '))
        pn[--n] = '\0';
}

static int same_pn(const char *a, const char *trimmed)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", a);
    trim_pn(copy);
    return !strcmp(copy, trimmed);
}

/* Every readable object writes DICOM JSON that parses, names the SOP Instance UID the index
 * read (when it has one; DICOMDIRs and some malformed files do not), the patient name in the
 * same UTF-8 as the index (so the character set was converted) and refers to its pixels
 * instead of inlining them. Returns 1 on failure. */
static int dicom_json_ok(ht_dicom *dcm, const char *file)
{
    char *text = NULL;
    json_error_t e;
    char sop[128];
    const char *known = ht_dicom_get_info(dcm)->sop_instance_uid;
    snprintf(sop, sizeof(sop), "%s", known ? known : "");
    int has_pixels = ht_dicom_get_info(dcm)->has_pixel_data;
    char name[256]; /* the index's UTF-8 patient name, single-component ones only */
    const char *pn = ht_dicom_get_info(dcm)->patient_name;
    snprintf(name, sizeof(name), "%s", pn && !strchr(pn, '=') ? pn : "");
    trim_pn(name);
    if (ht_dicom_to_json(dcm, "/bulk", 1024, &text) != HT_OK) {
        print_message("FAIL %s: no DICOM JSON: %s\n", file, ht_error_last());
        return 1;
    }
    json_t *root = json_loads(text, 0, &e);
    json_t *uid = json_array_get(json_object_get(json_object_get(root, "00080018"), "Value"), 0);
    json_t *pixels = json_object_get(root, "7FE00010");
    json_t *alpha = json_object_get(
        json_array_get(json_object_get(json_object_get(root, "00100010"), "Value"), 0),
        "Alphabetic");
    int ok =
        root && json_is_object(root) &&
        (!*sop || (json_is_string(uid) && !strcmp(json_string_value(uid), sop))) &&
        (!*name || (json_is_string(alpha) && same_pn(json_string_value(alpha), name))) &&
        (!has_pixels || !json_object_get(root, "7FE00010") ||
         (json_is_string(json_object_get(pixels, "BulkDataURI")) &&
          !strcmp(json_string_value(json_object_get(pixels, "BulkDataURI")), "/bulk/7FE00010")));
    if (!ok)
        print_message("FAIL %s: DICOM JSON %s: %.200s\n", file, root ? "lacks its UID" : e.text,
                      text);
    json_decref(root);
    ht_free(text);
    return !ok;
}

static void every_sample_matches_the_manifest(void **state)
{
    int failures = 0, readable = 0, refused = 0;
    (void)state;
    for (size_t n = 0; n < nsamples; n++) {
        const sample *s = &samples[n];
        char path[600];
        uint8_t *buf = NULL;
        size_t len;
        ht_dicom *dcm = NULL;
        snprintf(path, sizeof(path), "%s/%s", HT_SAMPLES_DIR, s->file);
        assert_int_equal(ht_file_read(path, 1 << 28, &buf, &len), HT_OK);
        int err = ht_dicom_open_memory(&dcm, buf, len);
        int malformed = strcmp(s->malformed, "yes") == 0;
        if (err != HT_OK) {
            if (!malformed) {
                print_message("FAIL %s: refused: %s\n", s->file, ht_error_last());
                failures++;
            } else {
                assert_true(strlen(ht_error_last()) > 10); /* a reason, not a shrug */
                refused++;
            }
            ht_free(buf);
            continue;
        }
        const ht_dicom_info *i = ht_dicom_get_info(dcm);
        readable++;
        if (!malformed) {
            /* the manifest names the File Meta's class where the dataset has none */
            const char *cls = *i->sop_class_uid ? i->sop_class_uid : i->media_sop_class_uid;
            if (is_uid(s->sop_class) && strcmp(cls, s->sop_class) != 0) {
                print_message("FAIL %s: SOP class %s, manifest %s\n", s->file, cls, s->sop_class);
                failures++;
            }
            if (is_uid(s->ts) && strcmp(i->transfer_syntax_uid, s->ts) != 0) {
                print_message("FAIL %s: transfer syntax %s, manifest %s\n", s->file,
                              i->transfer_syntax_uid, s->ts);
                failures++;
            }
            if (s->rows > 0 &&
                (i->rows != s->rows || i->columns != s->cols || i->number_of_frames != s->frames)) {
                print_message("FAIL %s: %ux%ux%u, manifest %ldx%ldx%ld\n", s->file, i->rows,
                              i->columns, i->number_of_frames, s->rows, s->cols, s->frames);
                failures++;
            }
            if (s->rows > 0 && decode_all(dcm, s->file) != s->frames) {
                print_message("FAIL %s: not every frame decoded\n", s->file);
                failures++;
            }
        } else if (i->has_pixel_data) {
            decode_all(dcm, s->file); /* may fail, must not crash */
        }
        failures += dicom_json_ok(dcm, s->file);
        ht_dicom_free(dcm);
        ht_free(buf);
    }
    print_message("%d readable, %d malformed refused, %d failures\n", readable, refused, failures);
    assert_int_equal(failures, 0);
}

static ht_frame *decode(const char *rel, uint32_t frame, char *ts_out)
{
    char path[600];
    uint8_t *buf;
    size_t len;
    ht_dicom *dcm = NULL;
    ht_frame *f = NULL;
    snprintf(path, sizeof(path), "%s/%s", HT_SAMPLES_DIR, rel);
    assert_int_equal(ht_file_read(path, 1 << 28, &buf, &len), HT_OK);
    assert_int_equal(ht_dicom_open_memory(&dcm, buf, len), HT_OK);
    snprintf(ts_out, 80, "%s", ht_dicom_get_info(dcm)->transfer_syntax_uid);
    if (ht_dicom_frame_decode(dcm, frame, &f) != HT_OK)
        fail_msg("%s frame %u: %s", rel, frame + 1, ht_error_last());
    ht_dicom_free(dcm);
    ht_free(buf);
    return f;
}

static int is_lossless(const char *ts)
{
    static const char *const lossless[] = {
        "1.2.840.10008.1.2",      "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5",    "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90"};
    for (size_t i = 0; i < sizeof(lossless) / sizeof(lossless[0]); i++)
        if (strcmp(ts, lossless[i]) == 0)
            return 1;
    return 0;
}

/* Each lossless member of a family decodes to exactly the reference's samples. */
static void check_family(const char *reference, const char *prefix, int expected)
{
    char ts[80];
    int compared = 0;
    for (size_t n = 0; n < nsamples; n++) {
        const sample *s = &samples[n];
        if (strncmp(s->file, prefix, strlen(prefix)) != 0 || !strcmp(s->file, reference) ||
            !is_lossless(s->ts))
            continue;
        for (long k = 0; k < s->frames; k++) {
            ht_frame *a = decode(reference, (uint32_t)k, ts), *b = decode(s->file, (uint32_t)k, ts);
            assert_int_equal(a->format, b->format);
            assert_int_equal(a->size, b->size);
            if (memcmp(a->samples, b->samples, a->size) != 0)
                fail_msg("%s frame %ld differs from %s", s->file, k + 1, reference);
            ht_frame_free(a);
            ht_frame_free(b);
        }
        compared++;
    }
    print_message("%s: %d lossless twins equal\n", prefix, compared);
    assert_int_equal(compared, expected);
}

static void lossless_ct_twins_equal(void **state)
{
    (void)state;
    check_family("ct/CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm",
                 "ct/CTImage.dcm_", 8);
}

static void lossless_mr_twins_equal(void **state)
{
    (void)state;
    check_family("mr/MR_small.dcm", "mr/MR_small", 5);
}

static void lossless_enhanced_mr_twins_equal(void **state)
{
    (void)state;
    check_family("multiframe/emri_small.dcm", "multiframe/emri_small", 2);
}

static void lossless_enhanced_ct_frames_equal(void **state)
{
    (void)state;
    check_family("multiframe/CT0012.explicit_little_endian.dcm", "multiframe/CT0012.", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_sample_matches_the_manifest),
        cmocka_unit_test(lossless_ct_twins_equal),
        cmocka_unit_test(lossless_mr_twins_equal),
        cmocka_unit_test(lossless_enhanced_mr_twins_equal),
        cmocka_unit_test(lossless_enhanced_ct_frames_equal),
    };
    return cmocka_run_group_tests(tests, load_manifest, NULL);
}
