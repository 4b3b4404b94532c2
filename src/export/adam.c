/*
 * ADaM ADRS and ADTTE for one subject (spec 10), with admiralonco's parameter codes: OVR per
 * time point, BOR (without confirmation), CBOR (confirmed, spec 2.11) and PD in ADRS; PFS per
 * criterion and OS in ADTTE, from the cohort's own figures (spec 9) so that the datasets and the
 * cohort can never disagree.
 */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <jansson.h>
#include <string.h>

/* admiralonco's aval_resp(): CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, NE 6, MISSING 7. */
static int response_code(ht_response r)
{
    switch (r) {
    case HT_RESP_CR:
        return 1;
    case HT_RESP_PR:
        return 2;
    case HT_RESP_SD:
        return 3;
    case HT_RESP_NON_CR_NON_PD:
        return 4;
    case HT_RESP_PD:
        return 5;
    case HT_RESP_NE:
        return 6;
    default:
        return 7;
    }
}

static void subject_row(cdisc_context *c, cdisc_table *t, const cdisc_subject *s)
{
    cdisc_row(t);
    cdisc_text(t, "STUDYID", c->study_id);
    cdisc_text(t, "USUBJID", s->usubjid);
    cdisc_text(t, "SUBJID", s->rs->id);
}

static void parameter(cdisc_table *t, const char *code, const char *name, const char *category)
{
    cdisc_text(t, "PARAMCD", code);
    cdisc_text(t, "PARAM", name);
    cdisc_text(t, "PARCAT1", category);
}

/* ADT and ADY of a time point (input index); nothing when index < 0. */
static void dated(cdisc_table *t, const cdisc_subject *s, int index)
{
    if (index < 0)
        return;
    int32_t day = s->rs->timepoints[index].day;
    cdisc_date(t, "ADT", day);
    cdisc_number(t, "ADY", cdisc_study_day(day, s->baseline_day));
}

static void response_value(cdisc_table *t, ht_response r)
{
    char buf[16];
    const char *term = cdisc_response(r, buf);
    cdisc_text(t, "AVALC", term && r != HT_RESP_NA ? term : "MISSING");
    cdisc_number(t, "AVAL", response_code(r));
}

static int input_index(const ht_rs_result *res, int pos)
{
    return pos >= 0 ? res->timepoints[pos].index : -1;
}

static void adrs_rows(cdisc_context *c, const cdisc_subject *s, ht_criterion k)
{
    cdisc_table *t = &c->adrs;
    const char *category = cdisc_category(k);
    const ht_rs_result *plain = &s->unconfirmed[k], *confirmed = &s->confirmed[k];
    for (int pos = 1; pos < plain->ntimepoints; pos++) {
        int index = plain->timepoints[pos].index;
        subject_row(c, t, s);
        parameter(t, "OVR", "Overall Response", category);
        response_value(t, plain->timepoints[pos].r.overall);
        dated(t, s, index);
        cdisc_text(t, "AVISIT", s->rs->timepoints[index].label);
        cdisc_number(t, "AVISITN", s->visit[index]);
    }
    subject_row(c, t, s);
    parameter(t, "BOR", "Best Overall Response", category);
    response_value(t, plain->bor.bor);
    dated(t, s, input_index(plain, plain->bor.bor_tp));
    subject_row(c, t, s);
    parameter(t, "CBOR", "Confirmed Best Overall Response", category);
    response_value(t, confirmed->bor.bor);
    dated(t, s, input_index(confirmed, confirmed->bor.bor_tp));
    subject_row(c, t, s);
    parameter(t, "PD", "Disease Progression", category);
    int progressed = plain->bor.progression_tp >= 0;
    cdisc_text(t, "AVALC", progressed ? "Y" : "N");
    cdisc_number(t, "AVAL", progressed);
    dated(t, s, input_index(plain, plain->bor.progression_tp));
}

static int32_t row_date(const json_t *row, const char *key)
{
    int32_t day;
    const char *text = json_string_value(json_object_get(row, key));
    return text && ht_date_parse(text, &day) == HT_OK ? day : HT_NO_VALUE;
}

/* One ADTTE row from the cohort's figures for prefix "pfs" or "os". */
static void time_to_event(cdisc_context *c,
                          const cdisc_subject *s,
                          const json_t *row,
                          const char *prefix,
                          const char *category)
{
    cdisc_table *t = &c->adtte;
    char key[32];
    int pfs = !strcmp(prefix, "pfs");
    snprintf(key, sizeof(key), "%s_days", prefix);
    const json_t *days = json_object_get(row, key);
    if (!json_is_integer(days))
        return;
    snprintf(key, sizeof(key), "%s_censored", prefix);
    int censored = json_is_true(json_object_get(row, key));
    snprintf(key, sizeof(key), "%s_censoring_rule", prefix);
    const char *rule = json_string_value(json_object_get(row, key));
    int32_t start = row_date(row, "start_date");
    int32_t aval = (int32_t)json_integer_value(days);
    subject_row(c, t, s);
    parameter(t, pfs ? "PFS" : "OS", pfs ? "Progression-Free Survival" : "Overall Survival",
              category);
    cdisc_number(t, "AVAL", aval);
    cdisc_text(t, "AVALU", "DAYS");
    cdisc_date(t, "STARTDT", start);
    cdisc_date(t, "ADT", start == HT_NO_VALUE ? HT_NO_VALUE : start + aval);
    cdisc_number(t, "CNSR", censored);
    if (censored) {
        cdisc_text(t, "EVNTDESC", "CENSORED");
        cdisc_text(t, "CNSDTDSC", rule);
    } else {
        char event[64];
        cdisc_upper(event, sizeof(event), rule); /* "PROGRESSION" or "DEATH" */
        cdisc_text(t, "EVNTDESC", event);
    }
}

void cdisc_adam_subject(cdisc_context *c, const cdisc_subject *s, json_t *const *cohort_rows)
{
    const json_t *os_row = NULL;
    for (int k = HT_RECIST11; k <= HT_CHOI; k++) {
        if (!(c->criteria & (1u << k)))
            continue;
        adrs_rows(c, s, (ht_criterion)k);
        if (cohort_rows[k]) {
            time_to_event(c, s, cohort_rows[k], "pfs", cdisc_category((ht_criterion)k));
            if (!os_row)
                os_row = cohort_rows[k];
        }
    }
    if (os_row) /* OS depends on no criterion: one row */
        time_to_event(c, s, os_row, "os", NULL);
}
