/* Unit tests: schema migrations, the hierarchy, listings, conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/store.h"
#include "hepatrack/util.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* With HT_TEST_PG_URL (tests/tools/pgcluster.py), every test runs on that PostgreSQL database,
 * emptied first; else on a new SQLite file. */
static const char *pg_url(void)
{
    const char *url = getenv("HT_TEST_PG_URL");
    return url && *url ? url : NULL;
}

static char *db_path(void)
{
    if (pg_url()) {
        ht_db *db = NULL;
        assert_int_equal(ht_db_open(pg_url(), &db), HT_OK);
        assert_int_equal(ht_db_exec(db,
                                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                                    " DROP TABLE IF EXISTS hepatrack_schema",
                                    "emptying the test database"),
                         HT_OK);
        ht_db_close(db);
        return strdup(pg_url());
    }
    char tmpl[] = "/tmp/ht-store-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    unlink(tmpl);
    return strdup(tmpl);
}

static void drop_db(char *path)
{
    char *wal = ht_strprintf("%s-wal", path), *shm = ht_strprintf("%s-shm", path);
    if (!pg_url()) {
        unlink(path);
        unlink(wal);
        unlink(shm);
    }
    free(wal);
    free(shm);
    free(path);
}

/* A raw connection at schema version `version`. */
static ht_db *at_version(const char *path, int version)
{
    ht_db *db = NULL;
    assert_int_equal(ht_db_open(path, &db), HT_OK);
    assert_int_equal(ht_store__migrate(db, version), HT_OK);
    return db;
}

static ht_instance_record record(
    const char *patient, const char *issuer, const char *study, const char *series, const char *sop)
{
    ht_instance_record r;
    memset(&r, 0, sizeof(r));
    r.patient_id = patient;
    r.issuer_of_patient_id = issuer;
    r.patient_name = "Doe^Jane";
    r.study_instance_uid = study;
    r.series_instance_uid = series;
    r.modality = "CT";
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.sop_instance_uid = sop;
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.has_pixel_spacing = 1;
    r.pixel_spacing[0] = r.pixel_spacing[1] = 0.78125;
    r.rows = r.columns = 512;
    r.number_of_frames = 1;
    r.archive_path = sop; /* unique, which is all the index asks */
    r.size = 1000;
    r.dataset_offset = 300;
    r.sha256 = "00";
    r.received_at = "2026-12-01T00:00:00.000Z";
    r.source = "test";
    return r;
}

static int count_rows(void *payload, const ht_row *row)
{
    (void)row;
    (*(int *)payload)++;
    return 0;
}

static void migrates_from_empty_to_current(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    (void)state;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    assert_int_equal(ht_store_schema_version(s), HT_STORE_SCHEMA_VERSION);
    ht_store_free(s);
    /* Opening again is a no-op. */
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    assert_int_equal(ht_store_schema_version(s), HT_STORE_SCHEMA_VERSION);
    ht_store_free(s);
    drop_db(path);
}

static void migrates_each_version_from_the_previous(void **state)
{
    (void)state;
    for (int v = 1; v < HT_STORE_SCHEMA_VERSION; v++) {
        char *path = db_path();
        ht_store *s = NULL;
        int64_t n = -1;
        ht_db *db = at_version(path, v);
        /* Data written at version v survives the migration to the next ones. */
        assert_int_equal(ht_db_exec(db,
                                    "INSERT INTO patients (patient_id) VALUES ('OLD');"
                                    "INSERT INTO studies (patient, study_uid) VALUES (1, '1.9');",
                                    "writing at an old version"),
                         HT_OK);
        ht_db_close(db);
        assert_int_equal(ht_store_open(&s, path), HT_OK);
        assert_int_equal(ht_store_schema_version(s), HT_STORE_SCHEMA_VERSION);
        assert_int_equal(ht_store_count(s, HT_LIST_STUDIES, &n), HT_OK);
        assert_int_equal(n, 1);
        ht_store_free(s);
        drop_db(path);
    }
}

static int collect_fields(void *payload, const ht_ledger_fields *f)
{
    char *out = payload;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s/%s:%s:%lld;", f->kind, f->key,
             f->text[HT_LF_STATE] ? f->text[HT_LF_STATE] : "-", (long long)f->num[HT_LF_LONG_AXIS]);
    return 0;
}

static void append(ht_store *s, int64_t subject, const char *key, int version, const char *body)
{
    ht_ledger_row row = {0,    "assessment", key,          version, body, !*body,
                         "dr", "",           "2026-12-03", 0,       NULL};
    assert_int_equal(ht_store_ledger_append(s, subject, &row), HT_OK);
}

/* The cohort reads current versions from ledger_current (migration 10), kept by a trigger:
 * a correction replaces, a retraction removes, a restoration brings back; older versions and
 * migrated records alike. */
static void current_versions_follow_every_append(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    int64_t subject;
    char seen[512] = "";
    (void)state;
    ht_db *db = at_version(path, 9);
    assert_int_equal(
        ht_db_exec(db,
                   "INSERT INTO subjects (subject_id, created_at) VALUES ('S1', 'now');"
                   "INSERT INTO ledger_records (subject, kind, key, version, body, reader,"
                   " recorded_at) VALUES (1, 'assessment', 'T1/BL', 1, '{\"long_axis\":400}',"
                   " 'dr', 'then'), (1, 'assessment', 'T1/BL', 2, '{\"long_axis\":410}',"
                   " 'dr', 'then');",
                   "writing at version 9"),
        HT_OK);
    ht_db_close(db);
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    assert_int_equal(ht_store_subject_find(s, "S1", &subject), HT_OK);
    assert_int_equal(ht_store_ledger_fields(s, NULL, collect_fields, seen), HT_OK);
    assert_string_equal(seen, "assessment/T1/BL:-:410;"); /* migrated: the latest version */
    append(s, subject, "T1/FU", 1, "{\"long_axis\":300}");
    append(s, subject, "T1/FU", 2, "{\"state\":\"absent\"}");
    append(s, subject, "T1/BL", 3, "");
    seen[0] = '\0';
    assert_int_equal(ht_store_ledger_fields(s, "S1", collect_fields, seen), HT_OK);
    assert_string_equal(seen, "assessment/T1/FU:absent:0;");
    append(s, subject, "T1/BL", 4, "{\"long_axis\":420}");
    seen[0] = '\0';
    assert_int_equal(ht_store_ledger_fields(s, NULL, collect_fields, seen), HT_OK);
    assert_string_equal(seen, "assessment/T1/BL:-:420;assessment/T1/FU:absent:0;");
    ht_store_free(s);
    drop_db(path);
}

static void refuses_a_newer_schema(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    (void)state;
    ht_db *db = at_version(path, 1);
    assert_int_equal(ht_db_set_schema_version(db, 999), HT_OK);
    ht_db_close(db);
    assert_int_equal(ht_store_open(&s, path), HT_EDB);
    assert_non_null(strstr(ht_error_last(), "999"));
    drop_db(path);
}

static void same_patient_id_two_issuers_are_two_patients(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    int64_t n = 0;
    int rows = 0;
    (void)state;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    ht_instance_record a = record("P1", "HOSP-A", "1.1", "1.1.1", "1.1.1.1");
    ht_instance_record b = record("P1", "HOSP-B", "1.2", "1.2.1", "1.2.1.1");
    ht_instance_record c = record("P1", "HOSP-A", "1.1", "1.1.1", "1.1.1.2");
    assert_int_equal(ht_store_add_instance(s, &a), HT_OK);
    assert_int_equal(ht_store_add_instance(s, &b), HT_OK);
    assert_int_equal(ht_store_add_instance(s, &c), HT_OK);
    assert_int_equal(ht_store_count(s, HT_LIST_PATIENTS, &n), HT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ht_store_count(s, HT_LIST_INSTANCES, &n), HT_OK);
    assert_int_equal(n, 3);
    ht_list_filter f = {.patient_id = "P1", .issuer = "HOSP-B"};
    assert_int_equal(ht_store_list(s, HT_LIST_STUDIES, &f, count_rows, &rows), HT_OK);
    assert_int_equal(rows, 1);
    /* The same SOP Instance UID twice is refused. */
    assert_int_equal(ht_store_add_instance(s, &a), HT_EEXISTS);
    ht_store_free(s);
    drop_db(path);
}

static void find_show_delete(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    ht_instance_location loc;
    ht_list_kind kind;
    int rows = 0;
    int64_t n = 0;
    (void)state;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    ht_instance_record a = record("P1", "", "2.1", "2.1.1", "2.1.1.1");
    assert_int_equal(ht_store_add_instance(s, &a), HT_OK);
    assert_int_equal(ht_store_locate(s, "2.1.1.1", &loc), HT_OK);
    assert_string_equal(loc.sha256, "00");
    assert_string_equal(loc.archive_path, a.archive_path);
    assert_int_equal(ht_store_locate(s, "9.9", &loc), HT_ENOTFOUND);
    assert_int_equal(ht_store_show(s, "2.1.1", &kind, count_rows, &rows), HT_OK);
    assert_int_equal(kind, HT_LIST_SERIES);
    assert_int_equal(ht_store_show(s, "2.1.1.1", &kind, count_rows, &rows), HT_OK);
    assert_int_equal(kind, HT_LIST_INSTANCES);
    assert_int_equal(ht_store_show(s, "2.1", &kind, count_rows, &rows), HT_OK);
    assert_int_equal(kind, HT_LIST_STUDIES);
    assert_int_equal(rows, 3);
    assert_int_equal(ht_store_show(s, "7.7", &kind, count_rows, &rows), HT_ENOTFOUND);
    /* only the row the named batch added goes: here none had a batch */
    assert_int_equal(ht_store_delete_instance(s, "2.1.1.1", 7), 0);
    assert_int_equal(ht_store_locate(s, "2.1.1.1", &loc), HT_OK);
    assert_int_equal(ht_store_delete_instance(s, "2.1.1.1", 0), 1);
    assert_int_equal(ht_store_count(s, HT_LIST_PATIENTS, &n), HT_OK);
    assert_int_equal(n, 0); /* the emptied series, study and patient go too */
    ht_store_free(s);
    drop_db(path);
}

static void conflicts_are_recorded_once(void **state)
{
    char *path = db_path();
    ht_store *s = NULL;
    int64_t n = 0;
    (void)state;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    assert_int_equal(ht_store_add_conflict(s, "3.1", "aa", "bb", 10, "x", "t"), HT_OK);
    assert_int_equal(ht_store_add_conflict(s, "3.1", "aa", "bb", 10, "x", "t"), HT_OK);
    assert_int_equal(ht_store_add_conflict(s, "3.1", "aa", "cc", 10, "x", "t"), HT_OK);
    assert_int_equal(ht_store_count(s, HT_LIST_CONFLICTS, &n), HT_OK);
    assert_int_equal(n, 2);
    ht_store_free(s);
    drop_db(path);
}

static void not_a_database_is_an_error(void **state)
{
    (void)state;
    if (pg_url()) { /* no server behind the socket: an I/O error naming the connection */
        ht_store *s = NULL;
        assert_int_equal(ht_store_open(&s, "postgresql:///x?host=/nonexistent"), HT_EIO);
        assert_null(s);
        assert_non_null(strstr(ht_error_last(), "connecting"));
        return;
    }
    char *path = db_path();
    FILE *f = fopen(path, "w");
    ht_store *s = NULL;
    fputs("this is not an SQLite database, not at all, no header here at all", f);
    fclose(f);
    assert_true(ht_store_open(&s, path) < 0);
    assert_null(s);
    drop_db(path);
}

/* A data directory's index.ini says where its index is; a wrong setting is named. */
static void index_settings_name_the_index(void **state)
{
    char dir[] = "/tmp/ht-index-XXXXXX";
    (void)state;
    assert_non_null(mkdtemp(dir));
    char *ini = ht_strprintf("%s/%s", dir, HT_STORE_INDEX_SETTINGS);
    char *locator = ht_store_index_path(dir);
    char *expected = ht_strprintf("%s/index.sqlite", dir);
    assert_string_equal(locator, expected); /* no index.ini: the SQLite file */
    assert_true(ht_store_index_is_file(locator));
    free(locator);
    free(expected);
    static const struct {
        const char *text, *locator, *error;
    } cases[] = {
        {"[index]\nbackend = postgresql\nurl = postgresql:///ht?host=/run/pg\n",
         "postgresql:///ht?host=/run/pg", NULL},
        {"[index]\nbackend = sqlite\n", "index.sqlite", NULL},
        {"[index]\nbackend = oracle\n", NULL, "backend is sqlite or postgresql"},
        {"[index]\nbackend = postgresql\n", NULL, "needs url"},
        {"[index]\nbackend = postgresql\nurl = mysql://x\n", NULL, "needs url"},
        {"[index]\ncolour = blue\n", NULL, "colour"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(ini, "w");
        assert_non_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        locator = ht_store_index_path(dir);
        if (cases[i].locator) {
            assert_non_null(locator);
            assert_non_null(strstr(locator, cases[i].locator));
            assert_int_equal(ht_store_index_is_file(locator), !strstr(locator, "://"));
        } else {
            assert_null(locator);
            assert_int_equal(ht_error_code(), HT_EINVALID);
            assert_non_null(strstr(ht_error_last(), cases[i].error));
            assert_non_null(strstr(ht_error_last(), "index.ini"));
        }
        free(locator);
    }
    unlink(ini);
    rmdir(dir);
    free(ini);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrates_from_empty_to_current),
        cmocka_unit_test(migrates_each_version_from_the_previous),
        cmocka_unit_test(current_versions_follow_every_append),
        cmocka_unit_test(refuses_a_newer_schema),
        cmocka_unit_test(same_patient_id_two_issuers_are_two_patients),
        cmocka_unit_test(find_show_delete),
        cmocka_unit_test(conflicts_are_recorded_once),
        cmocka_unit_test(not_a_database_is_an_error),
        cmocka_unit_test(index_settings_name_the_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
