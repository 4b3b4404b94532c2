/*
 * QIDO-RS (PS3.18 10.6): studies, series and instances found by their attributes, answered from
 * the index alone as application/dicom+json, each with its RetrieveURL.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicomweb.h"

#include <stdio.h>
#include <string.h>

/* Whether the client takes DICOM JSON (or any JSON, or anything). */
int ht_http__accepts_json(const request *r)
{
    ht_media_range ranges[16];
    size_t n = ht_accept_parse(ht_http__header(r, "Accept"), ranges, 16);
    for (size_t i = 0; i < n; i++)
        if (ranges[i].q > 0 &&
            (!strcmp(ranges[i].type, "application/dicom+json") ||
             !strcmp(ranges[i].type, "application/json") || !strcmp(ranges[i].type, "*/*") ||
             !strcmp(ranges[i].type, "application/*")))
            return 1;
    return 0;
}

int ht_http__not_acceptable(const request *r, answer *a, const char *offered)
{
    const char *accept = ht_http__header(r, "Accept");
    ht_http__fail(a, HT_EUNSUPPORTED, NULL, "cannot answer %s as %.200s: %s is offered", r->path,
                  accept ? accept : "", offered);
    a->status = 406;
    return HT_EUNSUPPORTED;
}

static int take_param(void *payload, const char *name, const char *value)
{
    return ht_qido_param(payload, name, value) < 0 ? -1 : 0;
}

typedef struct found {
    json_t *items;
    const request *r;
    ht_find_level level;
    size_t count;
} found;

/* RetrieveURL (0008,1190): where WADO-RS gives this study, series or instance. */
static void add_retrieve_url(const found *f, const ht_row *row, json_t *item)
{
    const char *study = ht_row_value(row, "StudyInstanceUID"),
               *series = ht_row_value(row, "SeriesInstanceUID");
    const char *sop = ht_row_value(row, "SOPInstanceUID");
    char url[512];
    if (f->level == HT_FIND_PATIENT || !study)
        return;
    int n = snprintf(url, sizeof(url), "%s/dicom-web/studies/%s", f->r->http->origins[0], study);
    if (f->level >= HT_FIND_SERIES && series && n > 0 && (size_t)n < sizeof(url))
        n += snprintf(url + n, sizeof(url) - (size_t)n, "/series/%s", series);
    if (f->level == HT_FIND_INSTANCE && sop && n > 0 && (size_t)n < sizeof(url))
        snprintf(url + n, sizeof(url) - (size_t)n, "/instances/%s", sop);
    json_object_set_new(item, "00081190", json_pack("{s:s,s:[s]}", "vr", "UR", "Value", url));
}

static int collect(void *payload, const ht_row *row)
{
    found *f = payload;
    json_t *item = ht_dicomweb_row_json(row);
    if (!item)
        return ht_error_set(HT_ENOMEM, "out of memory answering a query");
    add_retrieve_url(f, row, item);
    json_array_append_new(f->items, item);
    f->count++;
    return 0;
}

/* The query of one QIDO-RS resource: its level, and the UIDs its path names. */
static int query(request *r, answer *a, ht_find_level level, const char *study, const char *series)
{
    ht_qido q;
    if (!ht_http__accepts_json(r))
        return ht_http__not_acceptable(r, a, "application/dicom+json");
    ht_qido_init(&q, level);
    if (ht_http__each_arg(r, take_param, &q) != 0)
        return ht_http__fail_last(a, HT_EINVALID);
    const char *path_uids[] = {study, series};
    const char *path_keys[] = {"StudyInstanceUID", "SeriesInstanceUID"};
    for (int i = 0; i < 2; i++)
        if (path_uids[i] && ht_qido_param(&q, path_keys[i], path_uids[i]) < 0)
            return ht_http__fail_last(a, HT_EINVALID);
    ht_store *s = ht_http__store(r, a);
    if (!s)
        return HT_EDB;
    size_t wanted = q.query.limit;
    if (!q.limit_given)
        q.query.limit = wanted + 1; /* one more tells whether the default limit cut the list */
    found f = {json_array(), r, level, 0};
    int err = ht_store_find(s, &q.query, collect, &f);
    if (err < 0) {
        json_decref(f.items);
        return ht_http__fail_last(a, err);
    }
    if (!q.limit_given && f.count > wanted) {
        json_array_remove(f.items, wanted);
        char more[120];
        snprintf(more, sizeof(more),
                 "only the first %zu matches: ask again with limit and offset for the rest",
                 wanted);
        snprintf(q.warning + strlen(q.warning), sizeof(q.warning) - strlen(q.warning), "%s%s",
                 q.warning[0] ? "; " : "", more);
    }
    if (q.warning[0])
        ht_http__add_header(a, "Warning", "299 hepatrack \"%.80s\"", q.warning);
    a->json = f.items;
    a->type = "application/dicom+json";
    a->compressible = 1;
    return HT_OK;
}

int ht_http__qido_studies(request *r, answer *a)
{
    return query(r, a, HT_FIND_STUDY, NULL, NULL);
}

int ht_http__qido_series(request *r, answer *a)
{
    return query(r, a, HT_FIND_SERIES, r->nparts > 1 ? r->parts[1] : NULL, NULL);
}

int ht_http__qido_instances(request *r, answer *a)
{
    return query(r, a, HT_FIND_INSTANCE, r->nparts > 1 ? r->parts[1] : NULL,
                 r->nparts > 3 ? r->parts[3] : NULL);
}
