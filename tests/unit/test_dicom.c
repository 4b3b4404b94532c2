/* Unit tests: the DICOM file layer (parse, attributes, charset, lengths, frames). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/dicom.h"
#include "hepatrack/util.h"
#include "part10.h"
#include "dicom_internal.h" /* the UTF-8 check */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ht_dicom *open_sample(const char *rel, uint8_t **buf)
{
    char path[1024];
    size_t len;
    ht_dicom *dcm = NULL;
    snprintf(path, sizeof(path), "%s/%s", HT_SAMPLES_DIR, rel);
    assert_int_equal(ht_file_read(path, 1 << 28, buf, &len), HT_OK);
    assert_int_equal(ht_dicom_open_memory(&dcm, *buf, len), HT_OK);
    return dcm;
}

static void reads_ct_attributes(void **state)
{
    uint8_t *buf;
    (void)state;
    ht_dicom *dcm = open_sample(
        "ct/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm", &buf);
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    assert_string_equal(i->sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    assert_string_equal(i->transfer_syntax_uid, "1.2.840.10008.1.2.1");
    assert_string_equal(i->patient_name, "MISTER^CT");
    assert_string_equal(i->modality, "CT");
    assert_int_equal(i->rows, 512);
    assert_int_equal(i->columns, 512);
    assert_int_equal(i->number_of_frames, 1);
    assert_true(i->has_pixel_spacing);
    assert_true(i->has_image_position);
    assert_true(i->dataset_offset > 132);
    ht_dicom_free(dcm);
    ht_free(buf);
}

static void enhanced_ct_reads_functional_groups(void **state)
{
    uint8_t *buf;
    (void)state;
    ht_dicom *dcm = open_sample("multiframe/CT0012.explicit_little_endian.dcm", &buf);
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    assert_int_equal(i->number_of_frames, 2);
    assert_true(i->has_pixel_spacing);     /* from the shared Pixel Measures macro */
    assert_true(i->has_image_position);    /* from the first frame's Plane Position */
    assert_true(i->has_image_orientation); /* from Plane Orientation */
    ht_dicom_free(dcm);
    ht_free(buf);
}

static void latin1_text_becomes_utf8(void **state)
{
    part10 p = {0};
    ht_dicom *dcm = NULL;
    (void)state;
    p10_begin(&p, "1.2.840.10008.5.1.4.1.1.7", "1.2.3.4");
    p10_text(&p, 0x0008, 0x0005, "CS", "ISO_IR 100");
    p10_text(&p, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    p10_text(&p, 0x0008, 0x0018, "UI", "1.2.3.4");
    p10_text(&p, 0x0010, 0x0010, "PN", "M\xfcller^J\xfcrgen");
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_OK);
    assert_string_equal(ht_dicom_get_info(dcm)->patient_name, "M\xc3\xbcller^J\xc3\xbcrgen");
    assert_string_equal(ht_dicom_get_info(dcm)->warnings, "");
    ht_dicom_free(dcm);
    free(p.data);
}

/* DICOM JSON is UTF-8 whatever the file's character set, and an unconvertible value is kept
 * with its invalid bytes replaced, never a broken JSON text. */
static void dicom_json_is_utf8(void **state)
{
    part10 p = {0};
    ht_dicom *dcm = NULL;
    char *json = NULL;
    uint8_t *buf;
    (void)state;
    p10_begin(&p, "1.2.840.10008.5.1.4.1.1.7", "1.2.3.4");
    p10_text(&p, 0x0008, 0x0005, "CS", "ISO_IR 100");
    p10_text(&p, 0x0008, 0x0018, "UI", "1.2.3.4");
    p10_text(&p, 0x0010, 0x0010, "PN", "M\xfcller^J\xfcrgen");
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_OK);
    assert_int_equal(ht_dicom_to_json(dcm, NULL, 1024, &json), HT_OK);
    assert_non_null(strstr(json, "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
                                 "\"M\xc3\xbcller^J\xc3\xbcrgen\"}]}"));
    assert_non_null(strstr(json, "\"00080018\":{\"vr\":\"UI\",\"Value\":[\"1.2.3.4\"]}"));
    assert_true(json[0] == '{' && json[strlen(json) - 1] == '}');
    ht_free(json);
    ht_dicom_free(dcm);
    free(p.data);

    dcm = open_sample("malformed/J2K_pixelrep_mismatch.dcm", &buf); /* ISO 2022 IR 87 */
    assert_int_equal(ht_dicom_to_json(dcm, "/bulk", 1024, &json), HT_OK);
    assert_non_null(
        strstr(json, "\"7FE00010\":{\"vr\":\"OB\",\"BulkDataURI\":\"/bulk/7FE00010\"}"));
    int replaced = 0;
    char *clean = ht_dicom__utf8_sanitize(json, strlen(json), &replaced);
    assert_int_equal(replaced, 0); /* already valid UTF-8 */
    free(clean);
    ht_free(json);
    ht_dicom_free(dcm);
    ht_free(buf);
}

static void unconvertible_charset_keeps_value_with_warning(void **state)
{
    uint8_t *buf;
    (void)state;
    /* Debian's DCMTK with glibc iconv cannot select ISO 2022 IR 87. */
    ht_dicom *dcm = open_sample("malformed/J2K_pixelrep_mismatch.dcm", &buf);
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    assert_non_null(strstr(i->warnings, "ISO 2022 IR 87"));
    assert_string_equal(i->patient_id, "JXD191021006");
    ht_dicom_free(dcm);
    ht_free(buf);
}

static void invalid_utf8_is_replaced(void **state)
{
    part10 p = {0};
    ht_dicom *dcm = NULL;
    (void)state;
    p10_begin(&p, "1.2.840.10008.5.1.4.1.1.7", "1.2.3.5");
    p10_text(&p, 0x0008, 0x0005, "CS", "ISO_IR 192");
    p10_text(&p, 0x0010, 0x0010, "PN", "Bad\xff^Name");
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_OK);
    assert_string_equal(ht_dicom_get_info(dcm)->patient_name, "Bad\xef\xbf\xbd^Name");
    assert_non_null(strstr(ht_dicom_get_info(dcm)->warnings, "invalid characters"));
    ht_dicom_free(dcm);
    free(p.data);
}

static void not_part10_is_a_parse_error(void **state)
{
    static const uint8_t text[300] = "hello, I am not DICOM";
    ht_dicom *dcm = (ht_dicom *)1;
    (void)state;
    assert_int_equal(ht_dicom_open_memory(&dcm, text, sizeof(text)), HT_EPARSE);
    assert_null(dcm);
    assert_non_null(strstr(ht_error_last(), "DICM"));
    assert_int_equal(ht_dicom_open_memory(&dcm, text, 10), HT_EPARSE);
}

static void huge_declared_length_is_rejected_not_allocated(void **state)
{
    part10 p = {0};
    ht_dicom *dcm = NULL;
    (void)state;
    p10_begin(&p, "1.2.840.10008.5.1.4.1.1.7", "1.2.3.6");
    p10_text(&p, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    p10_element(&p, 0x0009, 0x1010, "OB", "abcd", 4, 0xFFFFFFF0u);
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_EPARSE);
    assert_non_null(strstr(ht_error_last(), "(0009,1010) claims 4294967280 bytes"));
    free(p.data);
}

static void lying_length_inside_a_sequence_is_rejected(void **state)
{
    part10 p = {0}, item = {0}, seq = {0};
    ht_dicom *dcm = NULL;
    (void)state;
    p10_element(&item, 0x0008, 0x0100, "SH", "ABC", 3, 0xF000);
    p10_u16(&seq, 0xFFFE);
    p10_u16(&seq, 0xE000);
    p10_u32(&seq, (uint32_t)item.len);
    p10_bytes(&seq, item.data, item.len);
    p10_begin(&p, "1.2.840.10008.5.1.4.1.1.7", "1.2.3.7");
    p10_element(&p, 0x0008, 0x1032, "SQ", seq.data, seq.len, 0);
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_EPARSE);
    assert_non_null(strstr(ht_error_last(), "(0008,0100)"));
    free(p.data);
    free(item.data);
    free(seq.data);
}

/* Inputs fuzz_dicom once crashed on (a 1.8 GB claim behind a misplaced delimiter, Pixel Data
 * with a foreign VR, a delimiter inside a defined-length sequence, a compressed frame whose
 * Rows x Columns x Number of Frames claim 85 GB from a few hundred bytes): each must now be
 * read or refused cleanly, frames included. */
static void fuzz_regressions_fail_cleanly(void **state)
{
    static const char *const files[] = {
        "fuzz-nested-sequence-lying-length.dcm", "fuzz-pixel-data-wrong-vr.dcm",
        "fuzz-delimiter-in-defined-sequence.dcm", "fuzz-compressed-frame-claims-85-gb.dcm"};
    (void)state;
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        char path[512];
        uint8_t *buf;
        size_t len;
        ht_dicom *dcm = NULL;
        snprintf(path, sizeof(path), "%s/regressions/%s", HT_FIXTURES_DIR, files[k]);
        assert_int_equal(ht_file_read(path, 1 << 20, &buf, &len), HT_OK);
        int err = ht_dicom_open_memory(&dcm, buf, len);
        if (k == 0)
            assert_int_equal(err, HT_EPARSE);
        if (k == 3)
            assert_int_equal(err, HT_OK); /* readable; only its frame is refused */
        if (err == HT_OK) {
            const ht_dicom_info *i = ht_dicom_get_info(dcm);
            for (uint32_t f = 0; i->has_pixel_data && f < i->number_of_frames && f < 4; f++) {
                ht_frame *fr = NULL;
                ht_dicom_frame_decode(dcm, f, &fr);
                ht_frame_free(fr);
            }
            if (k == 3) { /* refused before any buffer of the claimed size exists */
                ht_frame *fr = NULL;
                assert_int_equal(ht_dicom_frame_decode(dcm, 0, &fr), HT_EPARSE);
                assert_non_null(strstr(ht_error_last(), "not credible"));
            }
            ht_dicom_free(dcm);
        }
        ht_free(buf);
    }
}

static void every_prefix_of_a_file_fails_cleanly(void **state)
{
    part10 p = {0};
    (void)state;
    p10_ct(&p, "1.2.3.8", "1.2.3.9", "1.2.3.10");
    for (size_t n = 0; n < p.len; n++) {
        ht_dicom *dcm = NULL;
        int err = ht_dicom_open_memory(&dcm, p.data, n);
        if (err == HT_OK) { /* a cut between elements is a shorter, valid dataset */
            ht_frame *f = NULL;
            if (ht_dicom_get_info(dcm)->has_pixel_data)
                assert_int_equal(ht_dicom_frame_decode(dcm, 0, &f), HT_OK);
            ht_frame_free(f);
            ht_dicom_free(dcm);
        } else {
            assert_int_equal(err, HT_EPARSE);
        }
    }
    free(p.data);
}

static void decodes_signed_frame(void **state)
{
    part10 p = {0};
    ht_dicom *dcm = NULL;
    ht_frame *f = NULL;
    (void)state;
    p10_ct(&p, "1.2.3.11", "1.2.3.12", "1.2.3.13");
    assert_int_equal(ht_dicom_open_memory(&dcm, p.data, p.len), HT_OK);
    assert_int_equal(ht_dicom_frame_decode(dcm, 0, &f), HT_OK);
    assert_int_equal(f->format, HT_SAMPLE_S16);
    assert_int_equal(f->rows, 2);
    const int16_t *s = f->samples;
    assert_int_equal(s[0], -1000);
    assert_int_equal(s[3], 1000);
    ht_frame_free(f);
    assert_int_equal(ht_dicom_frame_decode(dcm, 1, &f), HT_ENOTFOUND);
    assert_null(f);
    ht_dicom_free(dcm);
    free(p.data);
}

static void storage_classes_and_transfer_syntaxes(void **state)
{
    (void)state;
    assert_true(ht_dicom_is_storage_sop_class("1.2.840.10008.5.1.4.1.1.2"));
    assert_true(ht_dicom_is_storage_sop_class("1.2.840.10008.5.1.4.1.1.88.22"));
    assert_true(ht_dicom_is_storage_sop_class("1.2.840.10008.5.1.4.1.1.66.7"));
    assert_false(ht_dicom_is_storage_sop_class("1.2.840.10008.1.3.10")); /* DICOMDIR */
    assert_false(ht_dicom_is_storage_sop_class("1.2.840.10008.1.1"));    /* Verification */
    assert_false(ht_dicom_is_storage_sop_class(""));
    assert_true(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.4.90"));
    assert_true(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.8.1"));
    assert_true(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.4.201")); /* HTJ2K */
    assert_true(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.4.53"));  /* retired */
    assert_true(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.4.55"));
    assert_false(ht_dicom_transfer_syntax_supported("1.2.840.10008.1.2.4.100")); /* MPEG-2 */
    assert_string_equal(ht_dicom_transfer_syntax_name("1.2.840.10008.1.2.5"), "RLE Lossless");
}

static void dicomdir_lists_members(void **state)
{
    char **files = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(ht_dicom_dicomdir_files(
                         HT_SAMPLES_DIR "/dicomdir/pydicom-dicomdirtests/DICOMDIR", &files, &n),
                     HT_OK);
    assert_int_equal(n, 31);
    assert_non_null(strstr(files[0], "/dicomdir/pydicom-dicomdirtests/"));
    for (size_t i = 0; i < n; i++)
        ht_free(files[i]);
    ht_free(files);
    assert_int_equal(ht_dicom_dicomdir_files("/nonexistent/DICOMDIR", &files, &n), HT_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_ct_attributes),
        cmocka_unit_test(enhanced_ct_reads_functional_groups),
        cmocka_unit_test(latin1_text_becomes_utf8),
        cmocka_unit_test(unconvertible_charset_keeps_value_with_warning),
        cmocka_unit_test(dicom_json_is_utf8),
        cmocka_unit_test(invalid_utf8_is_replaced),
        cmocka_unit_test(not_part10_is_a_parse_error),
        cmocka_unit_test(huge_declared_length_is_rejected_not_allocated),
        cmocka_unit_test(lying_length_inside_a_sequence_is_rejected),
        cmocka_unit_test(fuzz_regressions_fail_cleanly),
        cmocka_unit_test(every_prefix_of_a_file_fails_cleanly),
        cmocka_unit_test(decodes_signed_frame),
        cmocka_unit_test(storage_classes_and_transfer_syntaxes),
        cmocka_unit_test(dicomdir_lists_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
