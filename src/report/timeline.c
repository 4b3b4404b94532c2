/* A subject's timeline (spec 13.2, 13.4): the engine's results, spelled for people and tools. */
#define _GNU_SOURCE
#include "hepatrack/report.h"

#include "hepatrack/ledger.h"
#include "hepatrack/util.h"
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *ht_report__mm(ht_opt v)
{
    return v.has ? json_real((double)v.v / 10.0) : json_null();
}

json_t *ht_report__response(ht_response r)
{
    const char *name = ht_response_name(r);
    return name ? json_string(name) : json_null();
}

static json_t *round_to(double v, double scale)
{
    double r = v >= 0 ? floor(v * scale + 0.5) / scale : -floor(-v * scale + 0.5) / scale;
    return json_real(r == 0 ? 0.0 : r);
}

static json_t *hepatic_json(const ht_rs_hepatic *h)
{
    if (!h->present)
        return json_null();
    json_t *o = json_object(), *seg = json_object();
    json_object_set_new(o, "liver_lesion_count", json_integer(h->lesion_count));
    json_object_set_new(o, "liver_sum_mm", json_real((double)h->sum_mm10 / 10.0));
    json_object_set_new(o, "liver_sum_complete", json_boolean(h->sum_complete));
    json_object_set_new(o, "largest_liver_mm", ht_report__mm(h->largest_mm10));
    json_object_set_new(o, "tumour_burden_score", round_to(h->tumour_burden_score, 100));
    json_object_set_new(o, "liver_tumour_volume_ml", round_to(h->volume_ml, 10));
    json_object_set_new(o, "volume_complete", json_boolean(h->volume_complete));
    json_object_set_new(o, "liver_replacement_pct",
                        h->has_replacement ? round_to(h->replacement_pct, 10) : json_null());
    for (int i = 0; i < h->nsegments; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "count", json_integer(h->segments[i].count));
        json_object_set_new(s, "sum_mm", json_real((double)h->segments[i].sum_mm10 / 10.0));
        json_object_set_new(seg, h->segments[i].name, s);
    }
    json_object_set_new(o, "by_segment", seg);
    return o;
}

static json_t *subset_json(const ht_rs_responses *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "target", ht_report__response(r->target));
    json_object_set_new(o, "non_target", ht_report__response(r->non_target));
    const char *nl = ht_new_lesions_name(r->new_lesions);
    json_object_set_new(o, "new_lesions", nl ? json_string(nl) : json_null());
    json_object_set_new(o, "overall", ht_report__response(r->overall));
    return o;
}

static json_t *label_or_null(const ht_rs_subject *s, const ht_rs_result *res, int pos)
{
    return pos >= 0 ? json_string(s->timepoints[res->timepoints[pos].index].label) : json_null();
}

static json_t *date_of(const ht_rs_subject *s, const ht_rs_result *res, int pos)
{
    char buf[11];
    if (pos < 0)
        return json_null();
    ht_date_format(s->timepoints[res->timepoints[pos].index].day, buf);
    return json_string(buf);
}

json_t *ht_report__params(const ht_rs_params *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "confirmation_required", json_boolean(p->confirmation_required));
    json_object_set_new(o, "confirmation_min_days", json_integer(p->confirmation_min_days));
    json_object_set_new(o, "sd_min_days", json_integer(p->sd_min_days));
    return o;
}

static json_t *timepoint_json(const ht_ledger_subject *ls, const ht_rs_result *res, int pos)
{
    const ht_rs_subject *s = ht_ledger_engine_input(ls);
    const ht_rs_tp_result *t = &res->timepoints[pos];
    int imaged = pos == 0 || s->timepoints[t->index].imaging_performed;
    json_t *o = json_object();
    json_object_set_new(o, "label", json_string(s->timepoints[t->index].label));
    json_object_set_new(o, "date", json_string(ht_ledger_timepoint_date(ls, t->index)));
    json_object_set_new(o, "days_from_baseline", json_integer(t->days_from_baseline));
    json_object_set_new(o, "sum_mm", ht_report__mm(t->sum_mm10));
    json_object_set_new(o, "sum_complete",
                        t->sum_mm10.has ? json_boolean(t->sum_complete) : json_null());
    json_object_set_new(o, "nadir_mm", ht_report__mm(t->nadir_mm10));
    json_object_set_new(o, "change_from_baseline_pct",
                        ht_report__mm(t->change_from_baseline_pct10));
    json_object_set_new(o, "change_from_nadir_pct", ht_report__mm(t->change_from_nadir_pct10));
    json_object_set_new(o, "change_from_nadir_mm", ht_report__mm(t->change_from_nadir_mm10));
    json_object_set_new(o, "target", ht_report__response(t->r.target));
    json_object_set_new(o, "non_target", ht_report__response(t->r.non_target));
    const char *nl = ht_new_lesions_name(t->r.new_lesions);
    json_object_set_new(o, "new_lesions", nl ? json_string(nl) : json_null());
    json_object_set_new(o, "overall", ht_report__response(t->r.overall));
    json_object_set_new(o, "overall_prospective", ht_report__response(t->r.overall_prospective));
    json_object_set_new(o, "read_status", json_string(ht_ledger_read_status(ls, t->index)));
    const char *by, *at; /* always both keys: CSV columns come from the first time point */
    int signed_now = ht_ledger_read_signature(ls, t->index, &by, &at);
    json_object_set_new(o, "signed_by", signed_now && by ? json_string(by) : json_null());
    json_object_set_new(o, "signed_at", signed_now && at ? json_string(at) : json_null());
    if (res->criterion == HT_CHOI) {
        json_object_set_new(o, "mean_hu", ht_report__mm(t->mean_hu10));
        json_object_set_new(o, "change_in_hu_pct", ht_report__mm(t->change_in_hu_pct10));
        json_object_set_new(o, "density_pr",
                            t->density_pr < 0 ? json_null() : json_boolean(t->density_pr));
    }
    json_object_set_new(o, "hepatic", imaged ? hepatic_json(&t->hepatic) : json_null());
    json_object_set_new(o, "intrahepatic",
                        pos > 0 && t->has_subsets ? subset_json(&t->intrahepatic) : json_null());
    json_object_set_new(o, "extrahepatic",
                        pos > 0 && t->has_subsets ? subset_json(&t->extrahepatic) : json_null());
    return o;
}

static json_t *bor_json(const ht_rs_subject *s, const ht_rs_result *res, const ht_rs_bor *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "best_overall_response", ht_report__response(b->bor));
    json_object_set_new(o, "bor_timepoint", label_or_null(s, res, b->bor_tp));
    json_object_set_new(o, "progression_date", date_of(s, res, b->progression_tp));
    return o;
}

json_t *ht_report__timeline_json(const ht_ledger_subject *ls, const ht_rs_result *res)
{
    const ht_rs_subject *s = ht_ledger_engine_input(ls);
    json_t *o = json_object(), *tps = json_array(), *warnings = json_array();
    json_object_set_new(o, "subject", json_string(s->id));
    json_object_set_new(o, "criteria", json_string(ht_criterion_name(res->criterion)));
    json_object_set_new(o, "parameters", ht_report__params(&res->params));
    for (int p = 0; p < res->ntimepoints; p++)
        json_array_append_new(tps, timepoint_json(ls, res, p));
    json_object_set_new(o, "timepoints", tps);
    const ht_rs_bor *b = &res->bor;
    json_object_set_new(o, "best_overall_response", ht_report__response(b->bor));
    json_object_set_new(o, "bor_confirmed",
                        b->bor_confirmed < 0 ? json_null() : json_boolean(b->bor_confirmed));
    json_object_set_new(o, "bor_timepoint", label_or_null(s, res, b->bor_tp));
    json_object_set_new(o, "confirming_timepoint", label_or_null(s, res, b->confirming_tp));
    json_object_set_new(o, "progression_timepoint", label_or_null(s, res, b->progression_tp));
    json_object_set_new(o, "progression_date", date_of(s, res, b->progression_tp));
    json_object_set_new(o, "duration_of_response_days",
                        res->duration_of_response_days.has
                            ? json_integer(res->duration_of_response_days.v)
                            : json_null());
    json_object_set_new(o, "duration_of_response_censored",
                        res->duration_of_response_days.has
                            ? json_boolean(res->duration_of_response_censored)
                            : json_null());
    json_object_set_new(o, "best_change_from_baseline_pct",
                        ht_report__mm(res->best_change_from_baseline_pct10));
    json_t *subsets = json_object();
    json_object_set_new(subsets, "intrahepatic", bor_json(s, res, &res->intrahepatic));
    json_object_set_new(subsets, "extrahepatic", bor_json(s, res, &res->extrahepatic));
    json_object_set_new(o, "subsets", subsets);
    json_t *elig = json_object(), *checks = json_array();
    json_object_set_new(elig, "eligible", json_boolean(res->eligible));
    static const char *const statuses[] = {"pass", "fail", "unknown"};
    for (int i = 0; i < res->nchecks; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "rule", json_string(res->checks[i].rule));
        json_object_set_new(c, "status", json_string(statuses[res->checks[i].status]));
        json_object_set_new(c, "detail", json_string(res->checks[i].detail));
        json_array_append_new(checks, c);
    }
    json_object_set_new(elig, "checks", checks);
    json_object_set_new(o, "eligibility", elig);
    for (int i = 0; i < res->nwarnings; i++) {
        const ht_rs_warning *w = &res->warnings[i];
        json_t *x = json_object();
        json_object_set_new(x, "rule", json_string(w->rule));
        json_object_set_new(
            x, "lesion", w->lesion >= 0 ? json_string(s->lesions[w->lesion].label) : json_null());
        json_object_set_new(x, "timepoint",
                            w->timepoint >= 0 ? json_string(s->timepoints[w->timepoint].label)
                                              : json_null());
        json_object_set_new(x, "message", json_string(w->message));
        json_array_append_new(warnings, x);
    }
    for (int i = 0; i < s->ntimepoints; i++) {
        int missing = ht_ledger_unindexed_studies(ls, i);
        if (!missing)
            continue;
        char message[160];
        snprintf(message, sizeof(message),
                 "%d of the studies this time point lists %s not in the index yet", missing,
                 missing == 1 ? "is" : "are");
        json_array_append_new(warnings,
                              json_pack("{s:s, s:n, s:s, s:s}", "rule", "W-STUDY-MISSING", "lesion",
                                        "timepoint", s->timepoints[i].label, "message", message));
    }
    json_object_set_new(o, "warnings", warnings);
    return o;
}

const char *ht_report__reads_note(const json_t *report, char *buf, size_t size)
{
    json_int_t left = json_integer_value(json_object_get(report, "unsigned_left_out"));
    if (json_is_true(json_object_get(report, "drafts_included")))
        snprintf(buf, size, "drafts included (flagged)");
    else if (left)
        snprintf(buf, size, "signed reads only (%lld unsigned time point%s left out)",
                 (long long)left, left == 1 ? "" : "s");
    else
        snprintf(buf, size, "signed reads only");
    return buf;
}

int ht_report__params_of(ht_store *store,
                         const ht_report_options *options,
                         ht_rs_params *p,
                         int32_t *interval)
{
    int err = ht_ledger_params(store, p, interval);
    if (err == HT_OK && options && options->confirmation_required >= 0)
        p->confirmation_required = options->confirmation_required;
    return err;
}

int ht_report_timeline(ht_store *store,
                       const char *subject_id,
                       ht_criterion criterion,
                       const ht_report_options *options,
                       json_t **out)
{
    ht_ledger_subject *ls = NULL;
    ht_rs_params params;
    ht_rs_result res;
    int err;

    *out = NULL;
    memset(&res, 0, sizeof(res));
    if ((err = ht_report__params_of(store, options, &params, NULL)) < 0 ||
        (err = ht_ledger_load(store, subject_id, &ls)) < 0)
        goto done;
    int had = ht_ledger_engine_input(ls)->ntimepoints, left_out = 0;
    if (!(options && options->include_drafts) && (left_out = err = ht_ledger_keep_signed(ls)) < 0)
        goto done;
    if (ht_ledger_engine_input(ls)->ntimepoints == 0) {
        err = ht_error_set(HT_EINVALID,
                           had ? "subject %s has no signed read yet: include drafts to see its "
                                 "%d time point%s"
                               : "subject %s has no time points yet",
                           subject_id, had, had == 1 ? "" : "s");
        goto done;
    }
    if ((err = ht_response_evaluate(ht_ledger_engine_input(ls), criterion, &params, &res)) < 0)
        goto done;
    *out = ht_report__timeline_json(ls, &res);
    if (!*out) {
        err = ht_error_set(HT_ENOMEM, "out of memory building the timeline");
        goto done;
    }
    err = HT_OK;
    json_object_set_new(*out, "drafts_included", json_boolean(options && options->include_drafts));
    json_object_set_new(*out, "unsigned_left_out", json_integer(left_out));
done:
    ht_response_result_free(&res);
    ht_ledger_subject_free(ls);
    return err;
}

/* ---- CSV and table ------------------------------------------------------------------------- */

void ht_report__cell(FILE *f, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strpbrk(s, ",\"\n")) {
            fputc('"', f);
            for (; *s; s++) {
                if (*s == '"')
                    fputc('"', f);
                fputc(*s, f);
            }
            fputc('"', f);
        } else {
            fputs(s, f);
        }
    } else if (json_is_real(v)) {
        fprintf(f, "%.*f",
                fabs(json_real_value(v) - round(json_real_value(v) * 10) / 10) < 1e-9 ? 1 : 2,
                json_real_value(v));
    } else if (json_is_integer(v)) {
        fprintf(f, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", f);
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *as = json_string(t ? t : "");
        ht_report__cell(f, as);
        json_decref(as);
        free(t);
    }
}

/* The flattened columns of one time point (spec 13.4). */
static void
columns(const json_t *tp, void (*emit)(void *, const char *, const json_t *), void *payload)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tp, key, v)
    {
        if (!strcmp(key, "hepatic")) {
            static const char *const hk[] = {
                "liver_lesion_count", "liver_sum_mm",          "liver_sum_complete",
                "largest_liver_mm",   "tumour_burden_score",   "liver_tumour_volume_ml",
                "volume_complete",    "liver_replacement_pct", "by_segment"};
            for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++) {
                char name[64];
                snprintf(name, sizeof(name), "hepatic_%s", hk[i]);
                emit(payload, name, json_object_get(v, hk[i]));
            }
        } else if (!strcmp(key, "intrahepatic") || !strcmp(key, "extrahepatic")) {
            char name[64];
            snprintf(name, sizeof(name), "%s_overall", key);
            emit(payload, name, json_object_get(v, "overall"));
        } else {
            emit(payload, key, v);
        }
    }
}

typedef struct csv_row {
    FILE *f;
    int header;
    int first;
} csv_row;

static void emit_csv(void *payload, const char *name, const json_t *v)
{
    csv_row *r = payload;
    if (!r->first)
        fputc(',', r->f);
    r->first = 0;
    if (r->header)
        fputs(name, r->f);
    else
        ht_report__cell(r->f, v);
}

char *ht_report_timeline_csv(const json_t *timeline)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    size_t i;
    json_t *tp;
    if (!f)
        return NULL;
    json_t *tps = json_object_get(timeline, "timepoints");
    json_array_foreach(tps, i, tp)
    {
        if (i == 0) {
            csv_row h = {f, 1, 1};
            columns(tp, emit_csv, &h);
            fputc('\n', f);
        }
        csv_row r = {f, 0, 1};
        columns(tp, emit_csv, &r);
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

static const char *s_or(const json_t *o, const char *key, const char *dash)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dash;
}

static void num_cell(FILE *f, const json_t *o, const char *key, int with_sign, int width)
{
    json_t *v = json_object_get(o, key);
    char buf[32];
    if (json_is_number(v))
        snprintf(buf, sizeof(buf), with_sign ? "%+.1f" : "%.1f", json_number_value(v));
    else
        snprintf(buf, sizeof(buf), "-");
    fprintf(f, "%*s", width, buf);
}

char *ht_report_timeline_table(const json_t *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    size_t i;
    json_t *tp, *w;
    if (!f)
        return NULL;
    char note[96];
    fprintf(f, "subject %s, %s%s; %s\n\n", s_or(t, "subject", "?"), s_or(t, "criteria", "?"),
            json_is_true(json_object_get(json_object_get(t, "parameters"), "confirmation_required"))
                ? ""
                : " (no confirmation)",
            ht_report__reads_note(t, note, sizeof(note)));
    fprintf(f, "%-8s %-10s %5s %8s %9s %8s %8s %-14s %-14s %-11s %-14s %s\n", "TIME PT", "DATE",
            "DAY", "SUM mm", "NADIR mm", "vs BL %", "vs NAD %", "TARGET", "NON-TARGET", "NEW",
            "OVERALL", "READ");
    json_array_foreach(json_object_get(t, "timepoints"), i, tp)
    {
        const char *overall = s_or(tp, "overall", "-");
        const char *prospective = s_or(tp, "overall_prospective", "-");
        char ov[40];
        snprintf(ov, sizeof(ov), "%s%s%s%s", overall, strcmp(overall, prospective) ? " (was " : "",
                 strcmp(overall, prospective) ? prospective : "",
                 strcmp(overall, prospective) ? ")" : "");
        fprintf(f, "%-8s %-10s %5lld", s_or(tp, "label", "?"), s_or(tp, "date", "?"),
                (long long)json_integer_value(json_object_get(tp, "days_from_baseline")));
        num_cell(f, tp, "sum_mm", 0, 9);
        if (json_is_false(json_object_get(tp, "sum_complete")))
            fputc('*', f);
        else
            fputc(' ', f);
        num_cell(f, tp, "nadir_mm", 0, 8);
        num_cell(f, tp, "change_from_baseline_pct", 1, 9);
        num_cell(f, tp, "change_from_nadir_pct", 1, 9);
        fprintf(f, " %-14s %-14s %-11s %-14s %s\n", s_or(tp, "target", "-"),
                s_or(tp, "non_target", "-"), s_or(tp, "new_lesions", "-"), ov,
                s_or(tp, "read_status", ""));
    }
    fprintf(f, "\n* incomplete sum (a lower bound)\n\n");
    json_t *conf = json_object_get(t, "bor_confirmed");
    fprintf(f, "best overall response: %s%s", s_or(t, "best_overall_response", "-"),
            json_is_true(conf)    ? " (confirmed)"
            : json_is_false(conf) ? " (unconfirmed)"
                                  : "");
    if (json_is_string(json_object_get(t, "bor_timepoint")))
        fprintf(f, " at %s", s_or(t, "bor_timepoint", ""));
    if (json_is_string(json_object_get(t, "confirming_timepoint")))
        fprintf(f, ", confirmed at %s", s_or(t, "confirming_timepoint", ""));
    fprintf(f, "\nprogression: %s", s_or(t, "progression_timepoint", "none"));
    if (json_is_string(json_object_get(t, "progression_date")))
        fprintf(f, " (%s)", s_or(t, "progression_date", ""));
    fputc('\n', f);
    json_t *dor = json_object_get(t, "duration_of_response_days");
    if (json_is_integer(dor))
        fprintf(f, "duration of response: %lld days%s\n", (long long)json_integer_value(dor),
                json_is_true(json_object_get(t, "duration_of_response_censored")) ? " (censored)"
                                                                                  : "");
    json_t *best = json_object_get(t, "best_change_from_baseline_pct");
    if (json_is_number(best))
        fprintf(f, "best change from baseline: %+.1f %%\n", json_number_value(best));
    json_t *subsets = json_object_get(t, "subsets");
    fprintf(f, "intrahepatic BOR: %s, extrahepatic BOR: %s\n",
            s_or(json_object_get(subsets, "intrahepatic"), "best_overall_response", "-"),
            s_or(json_object_get(subsets, "extrahepatic"), "best_overall_response", "-"));
    json_t *elig = json_object_get(t, "eligibility");
    fprintf(f, "eligible: %s\n", json_is_true(json_object_get(elig, "eligible")) ? "yes" : "no");
    json_array_foreach(json_object_get(elig, "checks"), i, w) fprintf(
        f, "  %-16s %-8s %s\n", s_or(w, "rule", ""), s_or(w, "status", ""), s_or(w, "detail", ""));
    json_t *warnings = json_object_get(t, "warnings");
    if (json_array_size(warnings))
        fprintf(f, "warnings:\n");
    json_array_foreach(warnings, i, w)
        fprintf(f, "  %-13s %s\n", s_or(w, "rule", ""), s_or(w, "message", ""));
    fclose(f);
    return buf;
}
