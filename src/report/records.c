/*
 * A subject's current records in the measurement-import format: what the reading station
 * shows, and what it sends back (changed, with a reason) to correct a record.
 */
#include "hepatrack/util.h"
#include "hepatrack/ledger.h"
#include "hepatrack/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stored names of values kept in tenths, and their names in the import format. */
static const struct {
    const char *stored, *shown;
} tenths[] = {{"long_axis", "long_axis_mm"},
              {"short_axis", "short_axis_mm"},
              {"perpendicular", "perpendicular_mm"},
              {"craniocaudal", "craniocaudal_mm"},
              {"viable_axis", "viable_axis_mm"},
              {"fragments", "fragments_mm"},
              {"mean_hu", "mean_hu"},
              {"liver_volume_ml10", "liver_volume_ml"},
              {"slice_thickness_mm10", "slice_thickness_mm"}};

static json_t *from_tenths(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *list = json_array();
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(list, from_tenths(x));
        return list;
    }
    return json_real((double)json_integer_value(v) / 10.0);
}

/* A stored body in import terms: tenths back to units, nulls left out, ids kept internal. */
static json_t *shown(const json_t *body)
{
    json_t *out = json_object();
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (json_is_null(v))
            continue;
        const char *name = NULL;
        for (size_t i = 0; i < sizeof(tenths) / sizeof(tenths[0]) && !name; i++)
            if (!strcmp(key, tenths[i].stored))
                name = tenths[i].shown;
        json_object_set_new(out, name ? name : key,
                            name ? from_tenths(v) : json_incref((json_t *)v));
    }
    return out;
}

typedef struct records {
    json_t *out, *reads;
} records;

static int add_record(void *payload, const ht_ledger_row *row)
{
    records *r = payload;
    json_t *body;
    if (row->retracted || !(body = json_loads(row->body, 0, NULL)))
        return 0;
    if (!strcmp(row->kind, "subject")) {
        json_t *s = shown(body);
        json_object_update(r->out, s);
        json_decref(s);
    } else if (!strcmp(row->kind, "read")) {
        json_object_set_new(r->reads, row->key, json_incref(body));
    } else {
        const char *list = !strcmp(row->kind, "patient")     ? "dicom_patients"
                           : !strcmp(row->kind, "timepoint") ? "timepoints"
                           : !strcmp(row->kind, "lesion")    ? "lesions"
                                                             : "assessments";
        json_t *s = shown(body);
        json_object_set_new(s, "version", json_integer(row->version));
        json_object_set_new(s, "recorded_by", json_string(row->reader));
        json_object_set_new(s, "recorded_at", json_string(row->recorded_at));
        json_array_append_new(json_object_get(r->out, list), s);
    }
    json_decref(body);
    return 0;
}

int ht_report_records(ht_store *store, const char *subject_id, json_t **out)
{
    int64_t subject;
    int err;
    records r = {json_pack("{s:s, s:[], s:[], s:[], s:[]}", "subject", subject_id, "dicom_patients",
                           "timepoints", "lesions", "assessments"),
                 json_object()};
    *out = NULL;
    if ((err = ht_store_subject_find(store, subject_id, &subject)) < 0 ||
        (err = ht_store_ledger_current(store, subject, add_record, &r)) < 0) {
        json_decref(r.out);
        json_decref(r.reads);
        return err;
    }
    size_t i;
    json_t *tp;
    json_array_foreach(json_object_get(r.out, "timepoints"), i, tp)
    {
        const json_t *read =
            json_object_get(r.reads, json_string_value(json_object_get(tp, "label")));
        json_object_set_new(tp, "read_status",
                            json_string(read && json_is_string(json_object_get(read, "status"))
                                            ? json_string_value(json_object_get(read, "status"))
                                            : "draft"));
        /* who signed and when, or who returned it to draft; "ever_signed" tells a read under
         * way (no typed reason needed) from a signed one reopened */
        if (read) {
            json_object_set(tp, "read_by", json_object_get(read, "by"));
            json_object_set(tp, "read_at", json_object_get(read, "at"));
        }
        json_object_set_new(tp, "ever_signed", json_boolean(read != NULL));
    }
    json_decref(r.reads);
    *out = r.out;
    return HT_OK;
}

/* ---- proposals of time points from the linked patients' studies -------------------------- */

#define SAME_VISIT_DAYS 7 /* a study this close to a time point's date belongs to it */

static int add_study(void *payload, const ht_row *row)
{
    json_t *o = ht_report_row_json(row);
    if (!o)
        return HT_ENOMEM;
    json_array_append_new(payload, o);
    return 0;
}

/* "YYYYMMDD" (DICOM DA) to "YYYY-MM-DD"; 0 when it is not a date. */
static int da_to_iso(const char *da, char out[11])
{
    int32_t day;
    if (!da || strlen(da) != 8)
        return 0;
    snprintf(out, 11, "%.4s-%.2s-%.2s", da, da + 4, da + 6);
    return ht_date_parse(out, &day) == HT_OK;
}

static int listed_in(const json_t *timepoints, const char *study_uid)
{
    size_t i, j;
    const json_t *tp, *uid;
    json_array_foreach(timepoints, i, tp)
    {
        json_array_foreach(json_object_get(tp, "study_uids"), j, uid)
        {
            if (json_is_string(uid) && !strcmp(json_string_value(uid), study_uid))
                return 1;
        }
    }
    return 0;
}

/* The time point dated within SAME_VISIT_DAYS of the study, the closest; NULL if none. */
static const json_t *visit_of(const json_t *timepoints, int32_t day)
{
    const json_t *best = NULL, *tp;
    int32_t best_gap = SAME_VISIT_DAYS + 1, d;
    size_t i;
    json_array_foreach(timepoints, i, tp)
    {
        const char *date = json_string_value(json_object_get(tp, "date"));
        if (date && ht_date_parse(date, &d) == HT_OK && abs(d - day) < best_gap) {
            best_gap = abs(d - day);
            best = tp;
        }
    }
    return best;
}

static int label_taken(const json_t *timepoints, const char *label)
{
    size_t i;
    const json_t *tp;
    json_array_foreach(timepoints, i, tp)
    {
        const char *l = json_string_value(json_object_get(tp, "label"));
        if (l && !strcmp(l, label))
            return 1;
    }
    return 0;
}

/* The baseline's day among the time points, or INT32_MIN when there is none. */
static int32_t baseline_day(const json_t *timepoints)
{
    size_t i;
    const json_t *tp;
    int32_t day;
    json_array_foreach(timepoints, i, tp)
    {
        const char *date = json_string_value(json_object_get(tp, "date"));
        if (json_is_true(json_object_get(tp, "baseline")) && date &&
            ht_date_parse(date, &day) == HT_OK)
            return day;
    }
    return INT32_MIN;
}

/*
 * One proposal for a study no time point lists. It joins the visit of its date, among the
 * stored time points and those proposed for earlier studies (`known`, which a new proposal
 * joins); a study before the baseline gets none.
 */
static json_t *proposal(const json_t *study, const json_t *stored, json_t *known)
{
    char date[11], label[16];
    int32_t day;
    const char *uid = json_string_value(json_object_get(study, "StudyInstanceUID"));
    if (!uid || listed_in(stored, uid) ||
        !da_to_iso(json_string_value(json_object_get(study, "StudyDate")), date))
        return NULL;
    ht_date_parse(date, &day);
    json_t *p = json_pack("{s:s, s:s, s:O}", "study_uid", uid, "study_date", date, "study", study);
    const json_t *tp = visit_of(known, day);
    int32_t baseline = baseline_day(known);
    if (tp) {
        json_object_set_new(p, "timepoint", json_incref(json_object_get(tp, "label")));
        json_object_set_new(p, "new_timepoint",
                            json_boolean(json_is_true(json_object_get(tp, "proposed"))));
        json_object_set_new(p, "baseline", json_incref(json_object_get(tp, "baseline")));
        return p;
    }
    if (baseline != INT32_MIN && day < baseline) {
        json_object_set_new(p, "timepoint", json_null());
        json_object_set_new(p, "note", json_string("dated before the baseline"));
        return p;
    }
    int is_baseline = baseline == INT32_MIN;
    snprintf(label, sizeof(label), "BL");
    for (int n = 1; !is_baseline && (n == 1 || label_taken(known, label)); n++)
        snprintf(label, sizeof(label), "FU%d", n);
    json_array_append_new(known, json_pack("{s:s, s:s, s:b, s:b}", "label", label, "date", date,
                                           "baseline", is_baseline, "proposed", 1));
    json_object_set_new(p, "timepoint", json_string(label));
    json_object_set_new(p, "new_timepoint", json_true());
    json_object_set_new(p, "baseline", json_boolean(is_baseline));
    return p;
}

static int by_study_date(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "StudyDate"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "StudyDate"));
    return strcmp(x ? x : "", y ? y : "");
}

int ht_report_proposals(ht_store *store, const char *subject_id, json_t **out)
{
    json_t *rec = NULL, *studies = json_array();
    int err;
    *out = NULL;
    if ((err = ht_report_records(store, subject_id, &rec)) < 0) {
        json_decref(studies);
        return err;
    }
    size_t i, n;
    const json_t *pt;
    json_array_foreach(json_object_get(rec, "dicom_patients"), i, pt)
    {
        const char *issuer = json_string_value(json_object_get(pt, "issuer"));
        ht_list_filter f = {json_string_value(json_object_get(pt, "id")), issuer ? issuer : "",
                            NULL, NULL, 0};
        if (f.patient_id &&
            (err = ht_store_list(store, HT_LIST_STUDIES, &f, add_study, studies)) < 0)
            break;
    }
    /* The linked patients' studies, oldest first, whichever patient they come from. */
    n = json_array_size(studies);
    json_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
    for (i = 0; sorted && i < n; i++)
        sorted[i] = json_array_get(studies, i);
    if (sorted)
        qsort(sorted, n, sizeof(*sorted), by_study_date);
    const json_t *stored = json_object_get(rec, "timepoints");
    json_t *known = json_deep_copy(stored), *items = json_array();
    for (i = 0; err == HT_OK && sorted && i < n; i++) {
        json_t *p = proposal(sorted[i], stored, known);
        if (p)
            json_array_append_new(items, p);
    }
    if (!sorted && err == HT_OK)
        err = ht_error_set(HT_ENOMEM, "out of memory proposing time points");
    free(sorted);
    json_decref(known);
    json_decref(studies);
    json_decref(rec);
    if (err < 0) {
        json_decref(items);
        return err;
    }
    *out = json_pack("{s:s, s:o}", "subject", subject_id, "items", items);
    return HT_OK;
}
