/*
 * The CDISC datasets' definitions against what SDTMIG, ADaMIG and XPT version 5 require, and the
 * table layer's rules: study days without day 0, values longer than XPT allows refused by name,
 * CSV quoting, XPT lengths set from the data.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cdisc_internal.h"
#include "hepatrack/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cdisc_domain *const domains[] = {&cdisc_tu, &cdisc_tr, &cdisc_rs, &cdisc_adrs,
                                              &cdisc_adtte};

static void names_and_labels_fit_xpt_version_5(void **state)
{
    (void)state;
    for (size_t d = 0; d < sizeof(domains) / sizeof(domains[0]); d++) {
        const cdisc_domain *dom = domains[d];
        assert_true(strlen(dom->name) <= CDISC_NAME_MAX);
        assert_true(strlen(dom->label) <= CDISC_LABEL_MAX);
        int keys = 0;
        for (int v = 0; v < dom->nvars; v++) {
            const cdisc_variable *var = &dom->vars[v];
            assert_true(strlen(var->name) <= CDISC_NAME_MAX);
            for (const char *p = var->name; *p; p++)
                assert_true(isupper((unsigned char)*p) || isdigit((unsigned char)*p));
            assert_true(strlen(var->label) <= CDISC_LABEL_MAX);
            assert_non_null(var->origin);
            keys += var->key > 0;
            for (int w = 0; w < v; w++) /* no variable twice */
                assert_string_not_equal(var->name, dom->vars[w].name);
        }
        assert_true(keys >= 3); /* STUDYID, USUBJID and what tells a subject's rows apart */
        /* SDTM datasets begin STUDYID, DOMAIN, USUBJID, --SEQ */
        if (dom->standard == CDISC_SDTM) {
            char seq[16];
            snprintf(seq, sizeof(seq), "%sSEQ", dom->name);
            assert_string_equal(dom->vars[1].name, "DOMAIN");
            assert_string_equal(dom->vars[3].name, seq);
        }
        assert_string_equal(dom->vars[0].name, "STUDYID");
    }
}

static void test_names_have_at_most_40_characters(void **state)
{
    (void)state;
    int seen = 0;
    for (int i = 0; cdisc_codelists[i]; i++) {
        const char *oid = cdisc_codelists[i]->oid;
        size_t n = strlen(oid);
        if (n < 4 || strcmp(oid + n - 4, "TEST") != 0) /* CL.TUTEST, CL.TRTEST, CL.RSTEST */
            continue;
        seen++;
        for (int k = 0; cdisc_codelists[i]->terms[k]; k++)
            assert_true(strlen(cdisc_codelists[i]->terms[k]) <= 40);
    }
    assert_int_equal(seen, 3);
}

static void study_days_have_no_day_0(void **state)
{
    (void)state;
    assert_int_equal(cdisc_study_day(100, 100), 1);
    assert_int_equal(cdisc_study_day(149, 100), 50);
    assert_int_equal(cdisc_study_day(99, 100), -1);
    assert_int_equal(cdisc_study_day(90, 100), -10);
}

static void a_value_longer_than_xpt_allows_is_refused_by_name(void **state)
{
    (void)state;
    cdisc_table t;
    char text[CDISC_TEXT_MAX + 2];
    cdisc_table_init(&t, &cdisc_tu);
    memset(text, 'x', CDISC_TEXT_MAX);
    text[CDISC_TEXT_MAX] = '\0';
    cdisc_row(&t);
    cdisc_text(&t, "USUBJID", "NCT-S01");
    cdisc_text(&t, "TULOC", text);
    assert_int_equal(cdisc_check_values(&t), HT_OK); /* 200 bytes: allowed */
    assert_int_equal(cdisc_width(&t, 9), CDISC_TEXT_MAX);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(cdisc_xpt(&t, &data, &len), HT_OK);
    assert_true(len % 80 == 0 && len > 0); /* XPT is written in 80-byte records */
    assert_non_null(memmem(data, len, text, CDISC_TEXT_MAX));
    free(data);
    strcat(text, "y"); /* 201 bytes */
    cdisc_text(&t, "TULOC", text);
    assert_int_equal(cdisc_check_values(&t), HT_ECONFLICT);
    assert_non_null(strstr(ht_error_last(), "TU.TULOC"));
    assert_non_null(strstr(ht_error_last(), "NCT-S01"));
    assert_non_null(strstr(ht_error_last(), "201"));
    cdisc_table_free(&t);
}

static void csv_quotes_what_needs_it(void **state)
{
    (void)state;
    cdisc_table t;
    cdisc_table_init(&t, &cdisc_adtte);
    cdisc_row(&t);
    cdisc_text(&t, "STUDYID", "S,1");
    cdisc_text(&t, "USUBJID", "say \"hi\"");
    cdisc_number(&t, "AVAL", 42);
    cdisc_date(&t, "STARTDT", 19723); /* 2024-01-01 */
    cdisc_date(&t, "ADT", HT_NO_VALUE);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(cdisc_csv(&t, &data, &len), HT_OK);
    char *text = strndup((const char *)data, len);
    assert_non_null(strstr(text, "\r\n\"S,1\",\"say \"\"hi\"\"\",,,,,42,,2024-01-01,,"));
    free(text);
    free(data);
    cdisc_table_free(&t);
}

static void an_unknown_variable_is_an_error_not_a_silent_gap(void **state)
{
    (void)state;
    cdisc_table t;
    cdisc_table_init(&t, &cdisc_rs);
    cdisc_row(&t);
    cdisc_text(&t, "RSNOPE", "x");
    assert_int_equal(t.err, HT_EINTERNAL);
    cdisc_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_labels_fit_xpt_version_5),
        cmocka_unit_test(test_names_have_at_most_40_characters),
        cmocka_unit_test(study_days_have_no_day_0),
        cmocka_unit_test(a_value_longer_than_xpt_allows_is_refused_by_name),
        cmocka_unit_test(csv_quotes_what_needs_it),
        cmocka_unit_test(an_unknown_variable_is_an_error_not_a_silent_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
