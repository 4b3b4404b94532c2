/*
 * Trial subjects and what is computed from them: the list, a subject's current records, their
 * history and proposed time points, its timeline and the cohort (JSON or CSV), and the lesion
 * states the station offers.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/ledger.h"
#include "hepatrack/log.h"
#include "hepatrack/report.h"

#include <string.h>

static int add_subject(void *payload, const char *id)
{
    json_array_append_new(payload, json_string(id));
    return 0;
}

/* GET /api/subjects */
int ht_http__subjects(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    json_t *ids = json_array();
    if ((err = ht_store_subject_each(s, add_subject, ids)) < 0) {
        json_decref(ids);
        return ht_http__fail_last(a, err);
    }
    ht_http__items(a, ids, json_array_size(ids));
    return HT_OK;
}

/* One view of the subject the path names, made by the report module. */
static int subject_view(request *r, answer *a, int (*make)(ht_store *, const char *, json_t **))
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    if ((err = make(s, r->parts[1], &a->json)) < 0)
        return ht_http__fail_last(a, err);
    return HT_OK;
}

int ht_http__subject(request *r, answer *a)
{
    return subject_view(r, a, ht_report_records);
}

int ht_http__subject_history(request *r, answer *a)
{
    return subject_view(r, a, ht_report_history);
}

int ht_http__subject_proposals(request *r, answer *a)
{
    return subject_view(r, a, ht_report_proposals);
}

int ht_http__report_args(request *r, answer *a, ht_criterion *c, ht_report_options *opt)
{
    const char *crit = ht_http__arg(r, "criteria"), *drafts = ht_http__arg(r, "include_drafts");
    *c = HT_RECIST11;
    if (drafts && strcmp(drafts, "0") && strcmp(drafts, "1"))
        return ht_http__fail(a, HT_EINVALID, "include_drafts",
                             "include_drafts is 0 or 1 (got '%s')", drafts);
    opt->include_drafts = drafts && !strcmp(drafts, "1");
    if (crit && ht_criterion_parse(crit, c) < 0)
        return ht_http__fail(a, HT_EINVALID, "criteria", "%s", ht_error_last());
    return HT_OK;
}

/* ?criteria=recist1.1|mrecist|choi&format=json|csv&include_drafts=0|1 */
static int
criteria_arg(request *r, answer *a, ht_criterion *c, const char **format, ht_report_options *opt)
{
    int err = ht_http__report_args(r, a, c, opt);
    *format = ht_http__arg(r, "format") ? ht_http__arg(r, "format") : "json";
    if (err < 0)
        return err;
    if (strcmp(*format, "json") && strcmp(*format, "csv"))
        return ht_http__fail(a, HT_EINVALID, "format", "format must be json or csv (got '%s')",
                             *format);
    return HT_OK;
}

/* A subject's timeline (subject given) or the cohort, as JSON or CSV. */
static int criteria_report(request *r, answer *a, const char *subject)
{
    ht_store *s = ht_http__store(r, a);
    ht_criterion c;
    const char *format;
    ht_report_options opt = HT_REPORT_OPTIONS_INIT;
    json_t *rep = NULL;
    int err;
    if (!s)
        return HT_EDB;
    if ((err = criteria_arg(r, a, &c, &format, &opt)) < 0)
        return err;
    if (!subject &&
        !strcmp(format, "json")) { /* the cohort's text, kept until the ledger changes */
        char *text = NULL;
        if ((err = ht_report_cohort_text(s, c, &opt, &text)) < 0)
            return ht_http__fail_last(a, err);
        a->body = text;
        a->len = strlen(text);
        a->type = "application/json";
        return HT_OK;
    }
    err = subject ? ht_report_timeline(s, subject, c, &opt, &rep)
                  : ht_report_cohort(s, c, &opt, &rep);
    if (err < 0)
        return ht_http__fail_last(a, err);
    if (strcmp(format, "csv")) {
        a->json = rep;
        return HT_OK;
    }
    a->body = subject ? ht_report_timeline_csv(rep) : ht_report_cohort_csv(rep);
    a->len = a->body ? strlen(a->body) : 0;
    a->type = "text/csv; charset=utf-8";
    json_decref(rep);
    return a->body ? HT_OK : ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
}

/* GET /api/subjects/{id}/timeline */
int ht_http__subject_timeline(request *r, answer *a)
{
    return criteria_report(r, a, r->parts[1]);
}

/* GET /api/cohort */
int ht_http__cohort(request *r, answer *a)
{
    return criteria_report(r, a, NULL);
}

/* POST /api/subjects {"subject", "dicom_patients"?, dates?}: 201, or 409 when enrolled. */
int ht_http__enrol(request *r, answer *a)
{
    ht_store *s;
    json_t *body;
    int err;
    if ((err = ht_http__store_and_body(r, a, 0, &s, &body)) < 0)
        return err;
    err = ht_ledger_enrol(s, body, ht_http__actor(r));
    if (err == HT_OK) {
        ht_log(HT_LOG_INFO, "event=enrol subject=%s by=%s",
               json_string_value(json_object_get(body, "subject")), ht_http__actor(r));
        a->status = 201;
        a->json = json_pack("{s:O}", "subject", json_object_get(body, "subject"));
    }
    json_decref(body);
    return err < 0 ? ht_http__fail_last(a, err) : HT_OK;
}

/* PATCH /api/subjects/{id} {"dicom_patients"?, "treatment_start"?, "death_date"?,
 * "last_known_alive"?, "withdrawn"?, "reason"?} */
int ht_http__subject_change(request *r, answer *a)
{
    ht_store *s;
    ht_ledger_import_summary sum;
    json_t *body;
    int err;
    if ((err = ht_http__store_and_body(r, a, 0, &s, &body)) < 0)
        return err;
    if (json_object_get(body, "subject"))
        err = ht_http__fail(a, HT_EINVALID, "subject", "the subject is named by the path");
    else if ((err = ht_ledger_subject_update(s, r->parts[1], body, ht_http__actor(r), &sum)) < 0)
        ht_http__fail_last(a, err);
    json_decref(body);
    if (err < 0)
        return err;
    a->json = json_pack("{s:s, s:i, s:i}", "subject", r->parts[1], "new_records", sum.new_records,
                        "corrections", sum.corrections);
    return HT_OK;
}

/* GET /api/lesion-states: what the station offers for each role instead of a measurement. */
int ht_http__lesion_states(request *r, answer *a)
{
    static const char *const roles[] = {"target", "non-target", "new"};
    (void)r;
    a->json = json_object();
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        json_t *list = json_array();
        for (const char *const *s = ht_ledger_states(roles[i]); *s; s++)
            json_array_append_new(list, json_string(*s));
        json_object_set_new(a->json, roles[i], list);
    }
    return HT_OK;
}
