/*
 * WADO-RS (PS3.18 10.4): studies, series and instances as their stored Part 10 files
 * (multipart/related; type="application/dicom", sent as they are read), their metadata as DICOM
 * JSON with bulk data by reference, and the bulk data itself.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/dicom.h"
#include "hepatrack/dicomweb.h"
#include "hepatrack/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the instances a path names ------------------------------------------------------------ */

typedef struct scope {
    ht_instance_ref *items;
    size_t n, cap;
    ht_store *store;
    int failed;
} scope;

/* A row's value as text, "" when absent. */
static const char *column(const ht_row *row, const char *name)
{
    const char *v = ht_row_value(row, name);
    return v ? v : "";
}

static int add_instance(void *payload, const ht_row *row)
{
    scope *s = payload;
    if (HT_GROW(s->items, s->cap, s->n + 1) < 0)
        return HT_ENOMEM;
    ht_instance_ref *ref = &s->items[s->n];
    snprintf(ref->study, sizeof(ref->study), "%s", column(row, "StudyInstanceUID"));
    snprintf(ref->series, sizeof(ref->series), "%s", column(row, "SeriesInstanceUID"));
    snprintf(ref->sop, sizeof(ref->sop), "%s", column(row, "SOPInstanceUID"));
    int err = ht_store_locate(s->store, ref->sop, &ref->location);
    if (err < 0)
        return err;
    s->n++;
    return 0;
}

int ht_http__scope(request *r, answer *a, ht_instance_refs *out)
{
    ht_find_key keys[3];
    size_t nkeys = 0;
    static const char *const names[] = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"};
    for (int i = 1, k = 0; i < r->nparts && k < 3; i += 2, k++)
        if (!strcmp(r->parts[i - 1], k == 0 ? "studies" : k == 1 ? "series" : "instances"))
            keys[nkeys++] = (ht_find_key){names[k], r->parts[i]};
    scope s = {0};
    memset(out, 0, sizeof(*out));
    if (!(s.store = ht_http__store(r, a)))
        return HT_EDB;
    for (size_t k = 0; k < nkeys; k++)
        if (!*keys[k].value || strpbrk(keys[k].value, "*?\\-"))
            return ht_http__fail(a, HT_EINVALID, names[k], "'%s' is not a UID", keys[k].value);
    ht_find_query q = {HT_FIND_INSTANCE, keys, nkeys, 0, 0, 0};
    int err = ht_store_find(s.store, &q, add_instance, &s);
    if (err < 0) {
        free(s.items);
        return ht_http__fail_last(a, err);
    }
    if (s.n == 0) {
        free(s.items);
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "no %s has %s %s",
                             nkeys == 3   ? "instance"
                             : nkeys == 2 ? "series"
                                          : "study",
                             names[nkeys - 1], keys[nkeys - 1].value);
    }
    out->items = s.items;
    out->n = s.n;
    return HT_OK;
}

/* ---- retrieving files ----------------------------------------------------------------------- */

typedef struct files {
    ht_instance_refs refs;
    ht_archive *archive;
} files;

static void files_free(void *cls)
{
    files *f = cls;
    free(f->refs.items);
    free(f);
}

static int file_part(void *cls, size_t i, ht_part *out)
{
    files *f = cls;
    const ht_instance_ref *ref = &f->refs.items[i];
    snprintf(out->type, sizeof(out->type), "application/dicom");
    snprintf(out->location, sizeof(out->location), "/dicom-web/studies/%s/series/%s/instances/%s",
             ref->study, ref->series, ref->sop);
    return ht_archive_read(f->archive, ref->location.archive_path, &out->data, &out->len);
}

/* Whether Accept allows the stored files: multipart/related of application/dicom in any
 * transfer syntax ("*", or none named), or anything. */
static int accepts_files(const request *r)
{
    ht_media_range ranges[16];
    size_t n = ht_accept_parse(ht_http__header(r, "Accept"), ranges, 16);
    for (size_t i = 0; i < n; i++) {
        const ht_media_range *m = &ranges[i];
        if (m->q <= 0)
            continue;
        if (!strcmp(m->type, "*/*") || !strcmp(m->type, "multipart/*"))
            return 1;
        if (!strcmp(m->type, "multipart/related") &&
            (!m->part_type[0] || !strcmp(m->part_type, "application/dicom")) &&
            (!m->transfer_syntax[0] || !strcmp(m->transfer_syntax, "*")))
            return 1;
    }
    return 0;
}

/* GET /dicom-web/studies/{study}[/series/{series}[/instances/{instance}]] */
int ht_http__wado_retrieve(request *r, answer *a)
{
    if (!accepts_files(r))
        return ht_http__not_acceptable(r, a,
                                       "multipart/related; type=\"application/dicom\"; "
                                       "transfer-syntax=* (the stored files, unchanged)");
    files *f = calloc(1, sizeof(*f));
    if (!f)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    int err = ht_http__scope(r, a, &f->refs);
    if (err < 0) {
        free(f);
        return err;
    }
    f->archive = r->http->archive;
    return ht_http__multipart(a, "application/dicom", f->refs.n, file_part, f, files_free);
}

/* ---- metadata ------------------------------------------------------------------------------- */

/* One instance's DICOM JSON, its bulk data under its own WADO-RS path; kept in the data
 * directory's cache by the dataset's SHA-256 (what it describes never changes). */
static char *instance_metadata(request *r, const ht_instance_ref *ref)
{
    char *path = ht_strprintf("%s/cache/metadata/%.2s/%s.json", r->http->data_dir,
                              ref->location.sha256, ref->location.sha256);
    uint8_t *cached = NULL, *file = NULL;
    size_t len;
    char *text = NULL;
    if (path && ht_file_read(path, 64u << 20, &cached, &len) == HT_OK) {
        free(path);
        return (char *)cached;
    }
    ht_error_clear();
    ht_dicom *dcm = NULL;
    char base[300];
    snprintf(base, sizeof(base), "/dicom-web/studies/%s/series/%s/instances/%s/bulkdata",
             ref->study, ref->series, ref->sop);
    if (ht_archive_read(r->http->archive, ref->location.archive_path, &file, &len) == HT_OK &&
        ht_dicom_open_memory(&dcm, file, len) == HT_OK &&
        ht_dicom_to_json(dcm, base, HT_BULK_THRESHOLD, &text) == HT_OK && path) {
        char *dir = ht_strprintf("%s/cache/metadata/%.2s", r->http->data_dir, ref->location.sha256);
        if (!dir || ht_mkdir_p(dir) < 0 || ht_file_replace(path, text, strlen(text)) < 0)
            ht_log(HT_LOG_WARN, "metadata not cached: %s", ht_error_last());
        ht_free(dir);
    }
    ht_dicom_free(dcm);
    free(file);
    free(path);
    return text;
}

/* GET .../metadata of a study, series or instance: a JSON array of the instances' datasets. */
int ht_http__wado_metadata(request *r, answer *a)
{
    ht_instance_refs refs;
    if (!ht_http__accepts_json(r))
        return ht_http__not_acceptable(r, a, "application/dicom+json");
    int err = ht_http__scope(r, a, &refs);
    if (err < 0)
        return err;
    size_t cap = 2, len = 1;
    char *body = malloc(cap + 1);
    for (size_t i = 0; i < refs.n && body; i++) {
        char *one = instance_metadata(r, &refs.items[i]);
        if (!one) {
            free(body);
            free(refs.items);
            return ht_http__fail_last(a, HT_EIO);
        }
        size_t n = strlen(one);
        if (HT_GROW(body, cap, len + n + 3) < 0) {
            free(body);
            body = NULL;
        } else {
            if (i)
                body[len++] = ',';
            memcpy(body + len, one, n);
            len += n;
        }
        ht_free(one);
    }
    free(refs.items);
    if (!body)
        return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
    body[0] = '[';
    body[len++] = ']';
    a->body = body;
    a->len = len;
    a->type = "application/dicom+json";
    a->compressible = 1;
    return HT_OK;
}
