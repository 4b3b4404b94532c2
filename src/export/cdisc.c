/*
 * The CDISC export: every subject loaded once, evaluated under each criterion with and without
 * confirmation, turned into SDTM and ADaM rows; then every dataset checked and written (CSV,
 * XPT) with its metadata. Nothing is handed back until all of it is built.
 */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/report.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cdisc_category(ht_criterion k)
{
    return k == HT_RECIST11 ? "RECIST 1.1" : k == HT_MRECIST ? "MRECIST" : "CHOI";
}

static void convert_case(char *dst, size_t size, const char *src, char from, char to)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = (char)(src[i] >= from && src[i] <= from + 25 ? src[i] - from + to : src[i]);
    dst[i] = '\0';
}

void cdisc_upper(char *dst, size_t size, const char *src)
{
    convert_case(dst, size, src, 'a', 'A');
}

void cdisc_lower(char *dst, size_t size, const char *src)
{
    convert_case(dst, size, src, 'A', 'a');
}

const char *cdisc_response(ht_response r, char *buf)
{
    const char *name = ht_response_name(r);
    if (!name)
        return NULL;
    cdisc_upper(buf, 16, name);
    return buf;
}

int32_t cdisc_study_day(int32_t day, int32_t baseline)
{
    return day >= baseline ? day - baseline + 1 : day - baseline;
}

const char *cdisc_evaluator(const cdisc_subject *s, int index)
{
    const char *by, *at;
    return ht_ledger_read_signature(s->ledger, index, &by, &at) && by ? by : "";
}

int ht_export_criteria_parse(const char *text, unsigned *mask)
{
    char *copy = strdup(text), *save = NULL;
    int err = HT_OK;
    *mask = 0;
    if (!copy)
        return ht_error_set(HT_ENOMEM, "out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok && err == HT_OK;
         tok = strtok_r(NULL, ",", &save)) {
        ht_criterion k;
        if ((err = ht_criterion_parse(tok, &k)) == HT_OK)
            *mask |= 1u << k;
    }
    free(copy);
    if (err == HT_OK && !*mask)
        err = ht_error_set(HT_EINVALID, "no criteria named (recist1.1, mrecist, choi)");
    return err;
}

typedef struct walk {
    cdisc_context *c;
    ht_rs_params params;
    int subjects, left_out, unsigned_;
    int err;
} walk;

/* "CT SCAN" or "MRI" from the modalities of the studies a time point lists. */
static const char *method_of(ht_store *store, const ht_ledger_subject *ls, int index)
{
    const char *studies = ht_ledger_timepoint_studies(ls, index), *method = NULL;
    json_t *list = studies ? json_loads(studies, 0, NULL) : NULL, *uid;
    size_t i;
    json_array_foreach(list, i, uid)
    {
        char modalities[64];
        if (!json_is_string(uid) ||
            ht_store_study_modalities(store, json_string_value(uid), modalities,
                                      sizeof(modalities)) != HT_OK)
            continue;
        for (char *m = modalities; m && *m && !method;
             m = strchr(m, '\\') ? strchr(m, '\\') + 1 : NULL) {
            if (!strncmp(m, "CT", 2) && (m[2] == '\0' || m[2] == '\\'))
                method = "CT SCAN";
            else if (!strncmp(m, "MR", 2) && (m[2] == '\0' || m[2] == '\\'))
                method = "MRI";
        }
    }
    json_decref(list);
    return method;
}

static void subject_free(cdisc_subject *s)
{
    for (int k = 0; k < 3; k++) {
        ht_response_result_free(&s->unconfirmed[k]);
        ht_response_result_free(&s->confirmed[k]);
    }
    free(s->visit);
    free(s->method);
}

/* Evaluate a subject and fill in what its rows need. */
static int subject_prepare(walk *w, const ht_ledger_subject *ls, cdisc_subject *s)
{
    const ht_rs_subject *rs = ht_ledger_engine_input(ls);
    s->ledger = ls;
    s->rs = rs;
    snprintf(s->usubjid, sizeof(s->usubjid), "%s-%s", w->c->study_id, rs->id);
    ht_rs_params plain = w->params, confirmed = w->params;
    plain.confirmation_required = 0;
    confirmed.confirmation_required = 1;
    int err;
    for (int k = 0; k < 3; k++)
        if ((err = ht_response_evaluate(rs, (ht_criterion)k, &plain, &s->unconfirmed[k])) < 0 ||
            (err = ht_response_evaluate(rs, (ht_criterion)k, &confirmed, &s->confirmed[k])) < 0)
            return err;
    size_t n = (size_t)rs->ntimepoints + 1;
    if (!(s->visit = calloc(n, sizeof(int))) || !(s->method = calloc(n, sizeof(char *))))
        return ht_error_set(HT_ENOMEM, "out of memory exporting %s", rs->id);
    const ht_rs_result *order = &s->unconfirmed[HT_RECIST11];
    for (int pos = 0; pos < order->ntimepoints; pos++)
        s->visit[order->timepoints[pos].index] = pos + 1;
    s->baseline_day = rs->timepoints[order->timepoints[0].index].day;
    for (int i = 0; i < rs->ntimepoints; i++)
        s->method[i] = method_of(w->c->store, ls, i);
    return HT_OK;
}

static int has_baseline(const ht_rs_subject *rs)
{
    for (int i = 0; i < rs->ntimepoints; i++)
        if (rs->timepoints[i].baseline)
            return 1;
    return 0;
}

static int add_subject(void *payload, ht_ledger_subject *ls)
{
    walk *w = payload;
    cdisc_subject s;
    memset(&s, 0, sizeof(s));
    if (!w->c->include_drafts) {
        int left = ht_ledger_keep_signed(ls);
        if (left < 0) {
            ht_ledger_subject_free(ls);
            return w->err = left;
        }
        w->unsigned_ += left;
    }
    if (!has_baseline(ht_ledger_engine_input(ls))) {
        w->left_out++;
        ht_ledger_subject_free(ls);
        return 0;
    }
    int err = subject_prepare(w, ls, &s);
    if (err == HT_OK) {
        cdisc_sdtm_subject(w->c, &s);
        cdisc_adam_subject(w->c, &s);
        w->subjects++;
    }
    subject_free(&s);
    ht_ledger_subject_free(ls);
    return err < 0 ? (w->err = err) : 0;
}

/* Rows in USUBJID order (stable: each subject's rows keep their order). */
typedef struct sort_key {
    const cdisc_table *t;
    int var; /* USUBJID's column */
} sort_key;

static int by_subject(const void *a, const void *b, void *ctx)
{
    const sort_key *k = ctx;
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    const char *sa = cdisc_cell_at(k->t, ra, k->var)->text;
    const char *sb = cdisc_cell_at(k->t, rb, k->var)->text;
    int c = strcmp(sa ? sa : "", sb ? sb : "");
    return c ? c : (ra > rb) - (ra < rb);
}

static int sort_rows(cdisc_table *t)
{
    size_t n = t->nrows, nvars = (size_t)t->domain->nvars;
    sort_key key = {t, cdisc_variable_index(t->domain, "USUBJID")};
    if (n < 2 || key.var < 0)
        return HT_OK;
    size_t *order = malloc(n * sizeof(size_t));
    cdisc_cell *cells = malloc(n * nvars * sizeof(cdisc_cell));
    if (!order || !cells) {
        free(order);
        free(cells);
        return ht_error_set(HT_ENOMEM, "out of memory sorting %s", t->domain->name);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(size_t), by_subject, &key);
    for (size_t i = 0; i < n; i++)
        memcpy(&cells[i * nvars], &t->cells[order[i] * nvars], nvars * sizeof(cdisc_cell));
    free(t->cells);
    t->cells = cells;
    t->cap = n * nvars;
    free(order);
    return HT_OK;
}

static int add_file(ht_export_files *out, const char *name, unsigned char *data, size_t len)
{
    if (HT_GROW(out->items, out->cap, out->n + 1) < 0) {
        free(data);
        return ht_error_set(HT_ENOMEM, "out of memory exporting");
    }
    ht_export_file *f = &out->items[out->n++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->data = data;
    f->len = len;
    return HT_OK;
}

/* A dataset as FOLDER/NAME.csv and FOLDER/name.xpt. */
static int write_table(ht_export_files *out, const char *folder, const cdisc_table *t)
{
    unsigned char *data;
    size_t len;
    char name[32], lower[16];
    int err;
    if ((err = cdisc_csv(t, &data, &len)) < 0)
        return err;
    snprintf(name, sizeof(name), "%s/%s.csv", folder, t->domain->name);
    if ((err = add_file(out, name, data, len)) < 0 || (err = cdisc_xpt(t, &data, &len)) < 0)
        return err;
    cdisc_lower(lower, sizeof(lower), t->domain->name);
    snprintf(name, sizeof(name), "%s/%s.xpt", folder, lower);
    return add_file(out, name, data, len);
}

/* One standard's datasets with their define.xml and define.md, in their own folder (a
 * submission's tabulation and analysis folders each carry their own define.xml). */
static int write_standard(cdisc_context *c,
                          ht_export_files *out,
                          const char *folder,
                          const cdisc_table *const *tables,
                          int n)
{
    unsigned char *data;
    size_t len;
    char name[32];
    int err = HT_OK;
    for (int i = 0; i < n && err == HT_OK; i++)
        err = write_table(out, folder, tables[i]);
    if (err == HT_OK && (err = cdisc_define_xml(c, tables, n, &data, &len)) == HT_OK) {
        snprintf(name, sizeof(name), "%s/define.xml", folder);
        err = add_file(out, name, data, len);
    }
    if (err == HT_OK && (err = cdisc_define_md(c, tables, n, &data, &len)) == HT_OK) {
        snprintf(name, sizeof(name), "%s/define.md", folder);
        err = add_file(out, name, data, len);
    }
    return err;
}

static int write_all(cdisc_context *c, ht_export_files *out)
{
    cdisc_table *all[] = {&c->tu, &c->tr, &c->rs, &c->adrs, &c->adtte};
    const cdisc_table *sdtm[] = {&c->tu, &c->tr, &c->rs}, *adam[] = {&c->adrs, &c->adtte};
    int err = HT_OK;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && err == HT_OK; i++)
        if ((err = all[i]->err) == HT_OK && (err = sort_rows(all[i])) == HT_OK)
            err = cdisc_check_values(all[i]);
    if (err == HT_OK)
        err = write_standard(c, out, "sdtm", sdtm, 3);
    if (err == HT_OK)
        err = write_standard(c, out, "adam", adam, 2);
    return err;
}

static int read_names(cdisc_context *c)
{
    int err;
    if ((err = ht_ledger_param_text(c->store, "study_id", c->study_id, sizeof(c->study_id))) < 0 ||
        (err = ht_ledger_param_text(c->store, "reader_role", c->reader_role,
                                    sizeof(c->reader_role))) < 0 ||
        (err = ht_ledger_param_text(c->store, "sdtmig_version", c->sdtmig, sizeof(c->sdtmig))) <
            0 ||
        (err = ht_ledger_param_text(c->store, "adamig_version", c->adamig, sizeof(c->adamig))) <
            0 ||
        (err = ht_ledger_param_text(c->store, "ct_version", c->ct, sizeof(c->ct))) < 0)
        return err;
    return HT_OK;
}

int ht_export_cdisc(ht_store *store, const ht_export_options *options, ht_export_files *out)
{
    static pthread_once_t libxml2_ready = PTHREAD_ONCE_INIT;
    cdisc_context *c = calloc(1, sizeof(*c));
    walk w;
    int err;
    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    if (!c)
        return ht_error_set(HT_ENOMEM, "out of memory exporting");
    pthread_once(&libxml2_ready, cdisc_define_init);
    c->store = store;
    c->criteria = options->criteria ? options->criteria : 7u;
    c->include_drafts = options->include_drafts;
    cdisc_table_init(&c->tu, &cdisc_tu);
    cdisc_table_init(&c->tr, &cdisc_tr);
    cdisc_table_init(&c->rs, &cdisc_rs);
    cdisc_table_init(&c->adrs, &cdisc_adrs);
    cdisc_table_init(&c->adtte, &cdisc_adtte);
    w.c = c;
    /* One snapshot for everything read: a read signed meanwhile cannot reach one dataset and
     * miss another. */
    if ((err = ht_store_begin_read(store)) == HT_OK)
        err = read_names(c);
    if (err == HT_OK)
        err = ht_ledger_params(store, &w.params, &c->interval);
    if (err == HT_OK && (err = ht_ledger_each(store, add_subject, &w)) == HT_OK)
        err = w.err;
    ht_store_rollback(store); /* a read: nothing to keep */
    if (err == HT_OK)
        err = write_all(c, out);
    snprintf(out->study_id, sizeof(out->study_id), "%s", c->study_id);
    cdisc_table_free(&c->tu);
    cdisc_table_free(&c->tr);
    cdisc_table_free(&c->rs);
    cdisc_table_free(&c->adrs);
    cdisc_table_free(&c->adtte);
    free(c);
    if (err < 0) {
        ht_export_files_free(out);
        return err;
    }
    out->subjects = w.subjects;
    out->left_out = w.left_out;
    out->unsigned_ = w.unsigned_;
    return HT_OK;
}
