/* Unit tests: the error table, errno mapping, the string set, small helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/error.h"
#include "hepatrack/log.h"
#include "hepatrack/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void error_set_returns_code_and_keeps_message(void **state)
{
    (void)state;
    assert_int_equal(ht_error_set(HT_EINVALID, "rows must be > 0 (got %d)", -4), HT_EINVALID);
    assert_int_equal(ht_error_code(), HT_EINVALID);
    assert_string_equal(ht_error_last(), "rows must be > 0 (got -4)");
    ht_error_wrap("file %s: ", "a.dcm");
    assert_string_equal(ht_error_last(), "file a.dcm: rows must be > 0 (got -4)");
    ht_error_clear();
    assert_int_equal(ht_error_code(), HT_OK);
    assert_string_equal(ht_error_last(), "");
}

static void error_table_maps_http_and_dimse(void **state)
{
    (void)state;
    assert_string_equal(ht_error_name(HT_ENOTFOUND), "ENOTFOUND");
    assert_string_equal(ht_error_name(HT_EINVALID), "EINVALID");
    assert_string_equal(ht_error_name(-999), "EUNKNOWN");
    assert_int_equal(ht_error_http_status(HT_OK), 200);
    assert_int_equal(ht_error_http_status(HT_EINVALID), 400);
    assert_int_equal(ht_error_http_status(HT_EAUTH), 401);
    assert_int_equal(ht_error_http_status(HT_EPERM), 403);
    assert_int_equal(ht_error_http_status(HT_ENOTFOUND), 404);
    assert_int_equal(ht_error_http_status(-999), 500);
    assert_int_equal(ht_error_dimse_status(HT_ENOSPC), 0xA700);
    assert_int_equal(ht_error_dimse_status(HT_EPARSE), 0xC000);
    assert_int_equal(ht_error_dimse_status(HT_ECONFLICT), 0xB000);
    assert_int_equal(ht_error_dimse_status(HT_EUNSUPPORTED), 0x0122);
}

static void errno_maps_to_codes(void **state)
{
    (void)state;
    assert_int_equal(ht_error_from_errno(ENOSPC), HT_ENOSPC);
    assert_int_equal(ht_error_from_errno(EROFS), HT_EPERM);
    assert_int_equal(ht_error_from_errno(EACCES), HT_EPERM);
    assert_int_equal(ht_error_from_errno(ENOENT), HT_ENOTFOUND);
    assert_int_equal(ht_error_from_errno(EIO), HT_EIO);
}

static void message_is_truncated_not_overflowed(void **state)
{
    char big[4096];
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ht_error_set(HT_EIO, "%s", big);
    assert_int_equal(strlen(ht_error_last()), 1023);
    ht_error_wrap("%s", big);
    assert_int_equal(strlen(ht_error_last()), 1023);
}

/* A new message may quote the last one: "context: " + ht_error_last(), as callers write it. */
static void message_may_quote_the_last_one(void **state)
{
    (void)state;
    ht_error_set(HT_ENOTFOUND, "cannot read '/tmp/missing.pem': No such file or directory");
    ht_error_set(HT_EINVALID, "cannot read the TLS key: %s", ht_error_last());
    assert_string_equal(ht_error_last(),
                        "cannot read the TLS key: cannot read '/tmp/missing.pem': No such file or "
                        "directory");
    assert_int_equal(ht_error_code(), HT_EINVALID);
}

static void strset_adds_once_and_grows(void **state)
{
    char key[32];
    ht_strset *set = ht_strset_new();
    (void)state;
    assert_non_null(set);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(ht_strset_add(set, key), 1);
    }
    assert_int_equal(ht_strset_add(set, "k7"), 0);
    assert_true(ht_strset_contains(set, "k999"));
    assert_false(ht_strset_contains(set, "k1000"));
    assert_int_equal(ht_strset_size(set), 1000);
    ht_strset_free(set);
    ht_strset_free(NULL);
}

static void file_read_refuses_over_limit_and_missing(void **state)
{
    char path[] = "/tmp/ht-test-XXXXXX";
    uint8_t *data;
    size_t len;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    assert_int_equal(ht_file_read(path, 5, &data, &len), HT_EINVALID);
    assert_null(data);
    assert_int_equal(ht_file_read(path, 100, &data, &len), HT_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(data, "0123456789", 10);
    ht_free(data);
    unlink(path);
    assert_int_equal(ht_file_read(path, 100, &data, &len), HT_ENOTFOUND);
    assert_non_null(strstr(ht_error_last(), path));
}

static void log_level_parses(void **state)
{
    ht_log_level level;
    (void)state;
    assert_int_equal(ht_log_parse_level("warn", &level), HT_OK);
    assert_int_equal(level, HT_LOG_WARN);
    assert_int_equal(ht_log_parse_level("loud", &level), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "loud"));
}

static void hex_encodes(void **state)
{
    const uint8_t bytes[] = {0x00, 0xab, 0xff};
    char out[7];
    (void)state;
    ht_hex_encode(bytes, 3, out);
    assert_string_equal(out, "00abff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_returns_code_and_keeps_message),
        cmocka_unit_test(error_table_maps_http_and_dimse),
        cmocka_unit_test(errno_maps_to_codes),
        cmocka_unit_test(message_is_truncated_not_overflowed),
        cmocka_unit_test(message_may_quote_the_last_one),
        cmocka_unit_test(strset_adds_once_and_grows),
        cmocka_unit_test(file_read_refuses_over_limit_and_missing),
        cmocka_unit_test(log_level_parses),
        cmocka_unit_test(hex_encodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
