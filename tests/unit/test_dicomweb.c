/* Unit tests: multipart/related read in chunks of every size, media types and Accept, QIDO-RS
 * parameters, index rows as DICOM JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/dicomweb.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a reader heard: "[type]data|" per part. */
typedef struct heard {
    char text[4096];
    size_t len;
} heard;

static void say(heard *h, const char *s, size_t n)
{
    assert_true(h->len + n < sizeof(h->text));
    memcpy(h->text + h->len, s, n);
    h->len += n;
    h->text[h->len] = '\0';
}

static int on_begin(void *p, const char *type)
{
    say(p, "[", 1);
    say(p, type ? type : "-", strlen(type ? type : "-"));
    say(p, "]", 1);
    return 0;
}

static int on_data(void *p, const uint8_t *d, size_t n)
{
    say(p, (const char *)d, n);
    return 0;
}

static int on_end(void *p)
{
    say(p, "|", 1);
    return 0;
}

static const ht_multipart_events EVENTS = {on_begin, on_data, on_end};

/* Read body in chunks of `chunk` bytes; answer feed's and finish's first error. */
static int read_body(const char *boundary, const char *body, size_t len, size_t chunk, heard *h)
{
    ht_multipart_reader *r;
    memset(h, 0, sizeof(*h));
    assert_int_equal(ht_multipart_reader_new(boundary, &EVENTS, h, &r), HT_OK);
    int err = HT_OK;
    for (size_t at = 0; at < len && err == HT_OK; at += chunk)
        err = ht_multipart_feed(r, (const uint8_t *)body + at, len - at < chunk ? len - at : chunk);
    if (err == HT_OK)
        err = ht_multipart_finish(r);
    ht_multipart_reader_free(r);
    return err;
}

static void multipart_reads_in_any_chunks(void **state)
{
    (void)state;
    /* A preamble, a part whose data holds near-delimiters, one without headers, an epilogue. */
    static const char body[] = "preamble\r\n--b0undary\r\nContent-Type: application/dicom\r\n"
                               "X-Other: 1\r\n\r\nAB\r\n--b0undar\r\n-\r\r\n--b0undary\r\n"
                               "\r\nCD\r\n--b0undary--\r\nepilogue";
    const char *expected = "[application/dicom]AB\r\n--b0undar\r\n-\r|[-]CD|";
    for (size_t chunk = 1; chunk <= sizeof(body); chunk++) {
        heard h;
        assert_int_equal(read_body("b0undary", body, sizeof(body) - 1, chunk, &h), HT_OK);
        if (strcmp(h.text, expected))
            fail_msg("chunks of %zu: heard '%s'", chunk, h.text);
    }
}

static void multipart_written_is_read_back(void **state)
{
    (void)state;
    char boundary[48], body[512];
    ht_multipart_boundary(boundary);
    assert_int_equal(strncmp(boundary, "hepatrack-", 10), 0);
    assert_int_equal(strlen(boundary), 42);
    int n = ht_multipart_part_head(body, sizeof(body), boundary, 1, "application/dicom", NULL);
    n += snprintf(body + n, sizeof(body) - (size_t)n, "one");
    n += ht_multipart_part_head(body + n, sizeof(body) - (size_t)n, boundary, 0,
                                "application/octet-stream", "/x/frames/2");
    n += snprintf(body + n, sizeof(body) - (size_t)n, "two");
    n += ht_multipart_close(body + n, sizeof(body) - (size_t)n, boundary, 0);
    heard h;
    assert_int_equal(read_body(boundary, body, (size_t)n, 7, &h), HT_OK);
    assert_string_equal(h.text, "[application/dicom]one|[application/octet-stream]two|");
    assert_non_null(strstr(body, "Content-Location: /x/frames/2\r\n"));
}

static void multipart_refuses_what_is_not(void **state)
{
    (void)state;
    heard h;
    ht_multipart_reader *r;
    assert_int_equal(read_body("b", "no delimiter here", 17, 4, &h), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "no multipart delimiter"));
    assert_int_equal(read_body("b", "--b\r\n\r\nunfinished", 18, 4, &h), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "before its close"));
    assert_int_equal(read_body("b", "--bX\r\n", 6, 1, &h), HT_EINVALID);
    assert_int_equal(ht_multipart_reader_new("bad\r\nboundary", &EVENTS, &h, &r), HT_EINVALID);
    assert_int_equal(ht_multipart_reader_new("", &EVENTS, &h, &r), HT_EINVALID);
    char *huge = malloc(20000);
    memset(huge, 'x', 20000);
    memcpy(huge, "--b\r\nX: ", 8);
    assert_int_equal(read_body("b", huge, 20000, 1000, &h), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "headers exceed"));
    free(huge);
}

static void media_types_and_accept(void **state)
{
    (void)state;
    char v[100];
    const char *ct = "Multipart/Related; type=\"application/dicom\"; boundary=abc";
    assert_true(ht_media_is(ct, "multipart/related"));
    assert_false(ht_media_is(ct, "multipart/mixed"));
    assert_true(ht_media_param(ct, "boundary", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_true(ht_media_param(ct, "TYPE", v, sizeof(v)));
    assert_string_equal(v, "application/dicom");
    assert_false(ht_media_param(ct, "charset", v, sizeof(v)));
    assert_string_equal(v, "");
    ht_media_range m[8];
    size_t n = ht_accept_parse("multipart/related; type=\"application/octet-stream\"; "
                               "transfer-syntax=*, application/dicom+json;q=0.5 ,*/*;q=0",
                               m, 8);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].type, "multipart/related");
    assert_string_equal(m[0].part_type, "application/octet-stream");
    assert_string_equal(m[0].transfer_syntax, "*");
    assert_true(m[0].q == 1);
    assert_string_equal(m[1].type, "application/dicom+json");
    assert_true(m[1].q == 0.5);
    assert_string_equal(m[2].type, "*/*");
    assert_true(m[2].q == 0);
    assert_int_equal(ht_accept_parse(NULL, m, 8), 1);
    assert_string_equal(m[0].type, "*/*");
}

static void qido_parameters(void **state)
{
    (void)state;
    ht_qido q;
    ht_qido_init(&q, HT_FIND_STUDY);
    assert_int_equal(ht_qido_param(&q, "PatientID", "P1"), HT_OK);
    assert_int_equal(ht_qido_param(&q, "00080020", "20260101-"), HT_OK);
    assert_int_equal(q.query.nkeys, 2);
    assert_string_equal(q.keys[1].keyword, "StudyDate");
    assert_int_equal(ht_qido_param(&q, "includefield", "00081030,all,StudyDescription"), HT_OK);
    assert_int_equal(ht_qido_param(&q, "limit", "5"), HT_OK);
    assert_int_equal(q.query.limit, 5);
    assert_int_equal(ht_qido_param(&q, "fuzzymatching", "true"), HT_OK);
    assert_int_equal(ht_qido_param(&q, "ReferringPhysicianName", "X"), HT_OK); /* not indexed */
    assert_int_equal(q.query.nkeys, 2);
    assert_non_null(strstr(q.warning, "fuzzymatching"));
    assert_non_null(strstr(q.warning, "ReferringPhysicianName (00080090)"));
    assert_int_equal(ht_qido_param(&q, "NoSuchKeyword", "1"), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "NoSuchKeyword"));
    assert_int_equal(ht_qido_param(&q, "limit", "-1"), HT_EINVALID);
    assert_int_equal(ht_qido_param(&q, "offset", "x"), HT_EINVALID);
    assert_int_equal(ht_qido_param(&q, "includefield", "Nonsense"), HT_EINVALID);
    assert_int_equal(ht_qido_param(&q, "00081115.0020000E", "1"), HT_EINVALID);
}

static void rows_as_dicom_json(void **state)
{
    (void)state;
    const char *names[] = {"StudyInstanceUID",  "PatientName",
                           "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
                           "StudyDescription",  "NotAKeyword"};
    const char *values[] = {"1.2.3", "Doe^Jane", "CT\\SR", "42", NULL, "x"};
    ht_value_type types[] = {HT_VALUE_TEXT, HT_VALUE_TEXT, HT_VALUE_TEXT,
                             HT_VALUE_INT,  HT_VALUE_NULL, HT_VALUE_TEXT};
    ht_row row = {6, names, types, values};
    json_t *j = ht_dicomweb_row_json(&row);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text,
                        "{\"00080061\":{\"vr\":\"CS\",\"Value\":[\"CT\",\"SR\"]},"
                        "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Doe^Jane\"}]},"
                        "\"0020000D\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]},"
                        "\"00201208\":{\"vr\":\"IS\",\"Value\":[42]}}");
    free(text);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multipart_reads_in_any_chunks),
        cmocka_unit_test(multipart_written_is_read_back),
        cmocka_unit_test(multipart_refuses_what_is_not),
        cmocka_unit_test(media_types_and_accept),
        cmocka_unit_test(qido_parameters),
        cmocka_unit_test(rows_as_dicom_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
