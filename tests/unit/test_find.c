/* Unit tests: queries by DICOM attributes (QIDO-RS and C-FIND's matching, PS3.4 C.2.2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/store.h"
#include "hepatrack/util.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[512];

/* Three patients, four studies, five series, seven instances. */
typedef struct fixture {
    const char *patient, *name, *study, *date, *time, *accession, *series, *modality, *sop;
    int series_number, instance_number;
} fixture;

static const fixture FIXTURES[] = {
    {"P1", "Doe^Jane", "1.1", "20260105", "093000", "A1", "1.1.1", "CT", "1.1.1.1", 3, 1},
    {"P1", "Doe^Jane", "1.1", "20260105", "093000", "A1", "1.1.1", "CT", "1.1.1.2", 3, 2},
    {"P1", "Doe^Jane", "1.1", "20260105", "093000", "A1", "1.1.2", "SR", "1.1.2.1", 99, 1},
    {"P1", "Doe^Jane", "1.2", "20260302", "141500", "A2", "1.2.1", "CT", "1.2.1.1", 3, 1},
    {"P2", "Roe^Richard", "2.1", "20260110", "080000", "B1", "2.1.1", "MR", "2.1.1.1", 1, 1},
    {"P2", "Roe^Richard", "2.1", "20260110", "080000", "B1", "2.1.1", "MR", "2.1.1.2", 1, 2},
    {"P3", "Smith^[Al]", "3.1", "20251231", "235959", "C1", "3.1.1", "PT", "3.1.1.1", 2, 1},
};

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/ht-find-%d.sqlite", (int)getpid());
    if (scratch_pg_url()) { /* the same fixture on PostgreSQL, emptied first */
        char dir[] = "/tmp/ht-find-XXXXXX";
        assert_non_null(mkdtemp(dir));
        assert_int_equal(scratch_index(dir), 0);
        char *locator = ht_store_index_path(dir);
        snprintf(path, sizeof(path), "%s", locator);
        free(locator);
        assert_int_equal(scratch_remove(dir), 0);
    }
    ht_store *s;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    for (size_t k = 0; k < sizeof(FIXTURES) / sizeof(FIXTURES[0]); k++) {
        const fixture *f = &FIXTURES[k];
        ht_instance_record r;
        memset(&r, 0, sizeof(r));
        r.patient_id = f->patient;
        r.patient_name = f->name;
        r.study_instance_uid = f->study;
        r.study_date = f->date;
        r.study_time = f->time;
        r.accession_number = f->accession;
        r.series_instance_uid = f->series;
        r.modality = f->modality;
        r.has_series_number = 1;
        r.series_number = f->series_number;
        r.has_instance_number = 1;
        r.instance_number = f->instance_number;
        r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
        r.sop_instance_uid = f->sop;
        r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
        r.rows = r.columns = 512;
        r.number_of_frames = 1;
        r.archive_path = f->sop;
        r.size = 1000;
        r.sha256 = "00";
        r.received_at = "2026-12-01T00:00:00.000Z";
        r.source = "test";
        assert_int_equal(ht_store_add_instance(s, &r), HT_OK);
    }
    ht_store_free(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *wal = ht_strprintf("%s-wal", path), *shm = ht_strprintf("%s-shm", path);
    if (!scratch_pg_url()) {
        unlink(path);
        unlink(wal);
        unlink(shm);
    }
    free(wal);
    free(shm);
    return 0;
}

/* The rows' values of one column, joined by spaces ("-" for absent). */
typedef struct collected {
    const char *column;
    char text[512];
    char last_copy[32][128];
    char last_names[32][64];
    int nlast;
} collected;

static int collect(void *payload, const ht_row *row)
{
    collected *c = payload;
    for (int i = 0; i < row->ncols; i++) {
        if (strcmp(row->names[i], c->column) != 0)
            continue;
        size_t n = strlen(c->text);
        snprintf(c->text + n, sizeof(c->text) - n, "%s%s", n ? " " : "",
                 row->values[i] ? row->values[i] : "-");
    }
    c->nlast = row->ncols < 32 ? row->ncols : 32;
    for (int i = 0; i < c->nlast; i++) {
        snprintf(c->last_names[i], sizeof(c->last_names[i]), "%s", row->names[i]);
        snprintf(c->last_copy[i], sizeof(c->last_copy[i]), "%s",
                 row->values[i] ? row->values[i] : "-");
    }
    return 0;
}

static const char *value_of(const collected *c, const char *name)
{
    for (int i = 0; i < c->nlast; i++)
        if (!strcmp(c->last_names[i], name))
            return c->last_copy[i];
    return NULL;
}

/* Run a query of one key (or none) and answer the column's values. */
static int find(ht_find_level level,
                const char *keyword,
                const char *value,
                int ignore_case,
                const char *column,
                collected *c)
{
    ht_store *s;
    ht_find_key key = {keyword, value};
    ht_find_query q = {level, keyword ? &key : NULL, keyword ? 1 : 0, ignore_case, 0, 0};
    memset(c, 0, sizeof(*c));
    c->column = column;
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    int err = ht_store_find(s, &q, collect, c);
    ht_store_free(s);
    return err;
}

static void studies_by_date_with_their_counts(void **state)
{
    (void)state;
    collected c;
    assert_int_equal(find(HT_FIND_STUDY, NULL, NULL, 0, "StudyInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "3.1 1.1 2.1 1.2");
    assert_int_equal(find(HT_FIND_STUDY, "StudyInstanceUID", "1.1", 0, "ModalitiesInStudy", &c),
                     HT_OK);
    assert_string_equal(c.text, "CT\\SR");
    assert_string_equal(value_of(&c, "NumberOfStudyRelatedSeries"), "2");
    assert_string_equal(value_of(&c, "NumberOfStudyRelatedInstances"), "3");
    assert_string_equal(value_of(&c, "PatientName"), "Doe^Jane");
    assert_null(value_of(&c, "NumberOfSeriesRelatedInstances")); /* a series' count */
    assert_string_equal(value_of(&c, "IssuerOfPatientID"), "-"); /* kept as "", answered absent */
}

static void names_match_with_wildcards_and_case(void **state)
{
    (void)state;
    collected c;
    assert_int_equal(find(HT_FIND_STUDY, "PatientName", "doe*", 0, "StudyInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, ""); /* C-FIND: case-sensitive */
    assert_int_equal(find(HT_FIND_STUDY, "PatientName", "doe*", 1, "StudyInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "1.1 1.2");
    assert_int_equal(find(HT_FIND_PATIENT, "PatientName", "R?e^*", 0, "PatientID", &c), HT_OK);
    assert_string_equal(c.text, "P2");
    assert_int_equal(find(HT_FIND_PATIENT, "PatientName", "Smith^[Al]", 0, "PatientID", &c), HT_OK);
    assert_string_equal(c.text, "P3"); /* a [ in a name is not a GLOB class */
    assert_int_equal(find(HT_FIND_PATIENT, "PatientName", "Smith^[*", 0, "PatientID", &c), HT_OK);
    assert_string_equal(c.text, "P3");
    assert_int_equal(find(HT_FIND_PATIENT, "PatientName", "Doe", 1, "PatientID", &c), HT_OK);
    assert_string_equal(c.text, ""); /* single value matching is whole */
}

static void dates_and_times_match_ranges(void **state)
{
    (void)state;
    collected c;
    assert_int_equal(
        find(HT_FIND_STUDY, "StudyDate", "20260101-20260131", 0, "StudyInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "1.1 2.1");
    assert_int_equal(find(HT_FIND_STUDY, "StudyDate", "-20260105", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "3.1 1.1");
    assert_int_equal(find(HT_FIND_STUDY, "StudyDate", "20260110-", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "2.1 1.2");
    assert_int_equal(find(HT_FIND_STUDY, "StudyDate", "20260302", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "1.2");
    assert_int_equal(find(HT_FIND_STUDY, "StudyTime", "0800-1000", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "1.1 2.1");
}

static void bad_values_are_refused_naming_the_key(void **state)
{
    (void)state;
    collected c;
    static const char *const bad_dates[] = {
        "2026-01-01", "20260101-2026", "-", "2026", "x-y", "20260101-20260102-20260103"};
    for (size_t k = 0; k < sizeof(bad_dates) / sizeof(bad_dates[0]); k++) {
        assert_int_equal(find(HT_FIND_STUDY, "StudyDate", bad_dates[k], 0, "StudyInstanceUID", &c),
                         HT_EINVALID);
        assert_non_null(strstr(ht_error_last(), "StudyDate"));
    }
    assert_int_equal(find(HT_FIND_STUDY, "StudyInstanceUID", "1.*", 0, "StudyInstanceUID", &c),
                     HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "without wildcards"));
    assert_int_equal(find(HT_FIND_SERIES, "SeriesNumber", "three", 0, "SeriesInstanceUID", &c),
                     HT_EINVALID);
    assert_int_equal(find(HT_FIND_STUDY, "SeriesInstanceUID", "1.1.1", 0, "StudyInstanceUID", &c),
                     HT_EINVALID); /* a series key in a study query */
    assert_non_null(strstr(ht_error_last(), "STUDY level"));
    assert_int_equal(find(HT_FIND_STUDY, "PatientWeight", "70", 0, "StudyInstanceUID", &c),
                     HT_EINVALID);
    assert_int_equal(
        find(HT_FIND_STUDY, "NumberOfStudyRelatedSeries", "2", 0, "StudyInstanceUID", &c),
        HT_EINVALID); /* returned, not matched */
    assert_false(ht_store_find_matchable(HT_FIND_STUDY, "NumberOfStudyRelatedSeries"));
    assert_true(ht_store_find_matchable(HT_FIND_INSTANCE, "PatientID"));
    assert_false(ht_store_find_matchable(HT_FIND_PATIENT, "StudyDate"));
}

static void uid_lists_modalities_and_numbers(void **state)
{
    (void)state;
    collected c;
    assert_int_equal(
        find(HT_FIND_STUDY, "StudyInstanceUID", "1.2\\3.1\\9.9", 0, "StudyInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "3.1 1.2");
    assert_int_equal(find(HT_FIND_STUDY, "ModalitiesInStudy", "SR", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "1.1");
    assert_int_equal(find(HT_FIND_STUDY, "ModalitiesInStudy", "MR\\PT", 0, "StudyInstanceUID", &c),
                     HT_OK);
    assert_string_equal(c.text, "3.1 2.1");
    assert_int_equal(find(HT_FIND_SERIES, "SeriesNumber", "3", 0, "SeriesInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "1.1.1 1.2.1");
    assert_int_equal(find(HT_FIND_INSTANCE, "InstanceNumber", "2", 0, "SOPInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "1.1.1.2 2.1.1.2");
    assert_int_equal(find(HT_FIND_INSTANCE, "PatientID", "P2", 0, "SOPInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "2.1.1.1 2.1.1.2");
    assert_string_equal(value_of(&c, "AvailableTransferSyntaxUID"), "1.2.840.10008.1.2.1");
    assert_int_equal(
        find(HT_FIND_SERIES, "StudyInstanceUID", "1.1", 0, "NumberOfSeriesRelatedInstances", &c),
        HT_OK);
    assert_string_equal(c.text, "2 1");
    assert_int_equal(find(HT_FIND_PATIENT, NULL, NULL, 0, "NumberOfPatientRelatedInstances", &c),
                     HT_OK);
    assert_string_equal(c.text, "4 2 1");
    assert_int_equal(find(HT_FIND_SERIES, "Modality", "", 0, "SeriesInstanceUID", &c), HT_OK);
    assert_string_equal(c.text, "3.1.1 1.1.1 1.1.2 2.1.1 1.2.1"); /* universal matching */
}

static void limit_and_offset_page(void **state)
{
    (void)state;
    ht_store *s;
    collected c = {.column = "StudyInstanceUID"};
    ht_find_query q = {HT_FIND_STUDY, NULL, 0, 0, 2, 1};
    assert_int_equal(ht_store_open(&s, path), HT_OK);
    assert_int_equal(ht_store_find(s, &q, collect, &c), HT_OK);
    ht_store_free(s);
    assert_string_equal(c.text, "1.1 2.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(studies_by_date_with_their_counts),
        cmocka_unit_test(names_match_with_wildcards_and_case),
        cmocka_unit_test(dates_and_times_match_ranges),
        cmocka_unit_test(bad_values_are_refused_naming_the_key),
        cmocka_unit_test(uid_lists_modalities_and_numbers),
        cmocka_unit_test(limit_and_offset_page),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
