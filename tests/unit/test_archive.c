/* Unit tests: archive layout, atomic writes, staging, the walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/archive.h"
#include "hepatrack/util.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *make_dir(void)
{
    char *d = scratch_dir("archive");
    assert_non_null(d);
    return d;
}

static void remove_dir(const char *dir)
{
    assert_int_equal(scratch_remove(dir), 0);
}

static void path_is_hash_of_uid_never_the_uid(void **state)
{
    char path[HT_ARCHIVE_PATH_MAX], again[HT_ARCHIVE_PATH_MAX], other[HT_ARCHIVE_PATH_MAX];
    (void)state;
    ht_archive_path_for("1.2.3.4", path);
    ht_archive_path_for("1.2.3.4", again);
    ht_archive_path_for("1.2.3.5", other);
    assert_string_equal(path, again);
    assert_string_not_equal(path, other);
    assert_null(strstr(path, "1.2.3.4"));
    assert_int_equal(strlen(path), strlen("instances/ab/") + 64 + 4);
    assert_memory_equal(path + 10, path + 13, 2); /* the folder is the hash's first 2 digits */
    ht_archive_path_for("../../etc/passwd", other);
    assert_null(strstr(other, ".."));
}

static void open_creates_every_folder_ahead(void **state)
{
    char *dir = make_dir(), *sub;
    ht_archive *a = NULL;
    struct stat st;
    (void)state;
    assert_int_equal(ht_archive_open(&a, dir), HT_OK);
    sub = ht_strprintf("%s/instances/ff", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(sub);
    ht_archive_free(a);
    remove_dir(dir);
    free(dir);
}

static void write_read_remove_and_walk(void **state)
{
    char *dir = make_dir();
    char path[HT_ARCHIVE_PATH_MAX], tmp[HT_ARCHIVE_TMP_PATH_MAX];
    ht_archive *a = NULL;
    uint8_t *data;
    size_t len;
    walk_counts c = {0, 0};
    (void)state;
    assert_int_equal(ht_archive_open(&a, dir), HT_OK);
    ht_archive_path_for("1.2.3", path);
    assert_int_equal(ht_archive_write(a, path, (const uint8_t *)"hello", 5), HT_OK);
    assert_int_equal(ht_archive_read(a, path, &data, &len), HT_OK);
    assert_int_equal(len, 5);
    ht_free(data);

    /* A staged file is a temporary until published. */
    ht_archive_path_for("1.2.4", path);
    assert_int_equal(ht_archive_stage(a, path, (const uint8_t *)"world", 5, tmp), HT_OK);
    assert_int_equal(ht_archive_walk(a, count_walked, &c), HT_OK);
    assert_int_equal(c.files, 1);
    assert_int_equal(c.temporary, 1);
    assert_int_equal(ht_archive_read(a, path, &data, &len), HT_ENOTFOUND);
    assert_int_equal(ht_archive_publish(a, tmp, path), 0);
    assert_int_equal(ht_archive_sync(a), HT_OK);

    /* A file already at the path is said to have been replaced, never silently. */
    assert_int_equal(ht_archive_stage(a, path, (const uint8_t *)"again", 5, tmp), HT_OK);
    assert_int_equal(ht_archive_publish(a, tmp, path), 1);
    assert_int_equal(ht_archive_read(a, path, &data, &len), HT_OK);
    assert_memory_equal(data, "again", 5);
    ht_free(data);
    c.files = c.temporary = 0;
    assert_int_equal(ht_archive_walk(a, count_walked, &c), HT_OK);
    assert_int_equal(c.files, 2);
    assert_int_equal(c.temporary, 0);

    assert_int_equal(ht_archive_remove(a, path), HT_OK);
    assert_int_equal(ht_archive_remove(a, path), HT_ENOTFOUND);
    ht_archive_free(a);
    remove_dir(dir);
    free(dir);
}

static void sha256_of_known_text(void **state)
{
    char hex[HT_SHA256_HEX_SIZE];
    (void)state;
    ht_sha256_hex((const uint8_t *)"abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Piece by piece, in uneven pieces, the same digest as at once; and again after a final. */
static void sha256_in_pieces_equals_at_once(void **state)
{
    uint8_t data[300000];
    char whole[HT_SHA256_HEX_SIZE], pieces[HT_SHA256_HEX_SIZE];
    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    ht_sha256_hex(data, sizeof(data), whole);
    ht_sha256 *h = ht_sha256_new();
    assert_non_null(h);
    for (int round = 0; round < 2; round++) {
        for (size_t at = 0, step = 1; at < sizeof(data); at += step, step = step * 3 + 1)
            ht_sha256_update(h, data + at, step < sizeof(data) - at ? step : sizeof(data) - at);
        ht_sha256_final_hex(h, pieces);
        assert_string_equal(pieces, whole);
    }
    ht_sha256_update(h, (const uint8_t *)"abc", 3);
    ht_sha256_final_hex(h, pieces);
    assert_string_equal(pieces, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ht_sha256_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_is_hash_of_uid_never_the_uid),
        cmocka_unit_test(sha256_in_pieces_equals_at_once),
        cmocka_unit_test(open_creates_every_folder_ahead),
        cmocka_unit_test(write_read_remove_and_walk),
        cmocka_unit_test(sha256_of_known_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
