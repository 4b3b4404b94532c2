/*
 * The HTTP server: libmicrohttpd with a pool of worker threads, a route table, JSON answers,
 * and errors mapped through the single error table. Each worker thread keeps its own index
 * connection (SQLite connections are not shared between threads).
 */
#define _GNU_SOURCE
#include "hepatrack/http.h"

#include "hepatrack/archive.h"
#include "hepatrack/auth.h"
#include "hepatrack/dicom.h"
#include "hepatrack/ingest.h"
#include "hepatrack/ledger.h"
#include "hepatrack/log.h"
#include "hepatrack/measure.h"
#include "hepatrack/render.h"
#include "hepatrack/report.h"
#include "hepatrack/store.h"
#include "hepatrack/util.h"

#include "web_assets.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define MAX_BODY (1024 * 1024)
#define SESSION_SECONDS (12 * 3600)
#define LOGIN_FAILURES 5 /* within LOGIN_WINDOW, then refused until it passes */
#define LOGIN_WINDOW 900 /* seconds */
#define LOGIN_TRACKED 64

/* Recent failed logins per user name: the brake on password guessing. */
typedef struct login_failures {
    char name[64];
    int count;
    double first; /* monotonic seconds */
} login_failures;

struct ht_http {
    struct MHD_Daemon *daemon;
    char *data_dir;
    char *index_path;
    ht_archive *archive;
    pthread_key_t store_key;
    int no_auth;
    int tls;                  /* HTTPS: the session cookie is Secure */
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    pthread_mutex_t failures_lock;
    login_failures failures[LOGIN_TRACKED];
};

/* What one connection's request has sent so far. */
typedef struct upload {
    char *body;
    size_t len;
    int too_large;
} upload;

/* An answer being built: JSON, or raw bytes with a type, or an error. */
typedef struct answer {
    unsigned status;
    json_t *json;
    char *body; /* malloc'ed */
    size_t len;
    const char *type;
    char etag[160];
    int immutable;
    char cookie[200]; /* Set-Cookie, when not empty */
    int compressible; /* deflate it when the client accepts that */
    struct {
        const char *name;
        char value[96];
    } headers[16];
    int nheaders;
} answer;

typedef struct request {
    ht_http *http;
    struct MHD_Connection *conn;
    const char *path;
    const char *method;
    const upload *upload;
    char *parts[8]; /* path segments after /api/ */
    int nparts;
    int authenticated;
    ht_user_row user;
    ht_user_role role;
} request;

static void store_close(void *store)
{
    ht_store_free(store);
}

/* This worker thread's connection to the index. */
static ht_store *thread_store(ht_http *h)
{
    ht_store *s = pthread_getspecific(h->store_key);
    if (!s && ht_store_open(&s, h->index_path) == HT_OK)
        pthread_setspecific(h->store_key, s);
    return s;
}

static int fail(answer *a, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(answer *a, int code, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e = json_object(), *o = json_object();
    json_object_set_new(e, "code", json_string(ht_error_name(code)));
    json_object_set_new(e, "message", json_string(msg));
    if (field)
        json_object_set_new(e, "field", json_string(field));
    json_object_set_new(o, "error", e);
    json_decref(a->json);
    a->json = o;
    a->status = (unsigned)ht_error_http_status(code);
    return code;
}

/* An error the lower layers reported. */
static int fail_last(answer *a, int code)
{
    return fail(a, code, NULL, "%s", ht_error_last());
}

static void add_header(answer *a, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_header(answer *a, const char *name, const char *fmt, ...)
{
    va_list ap;
    if (a->nheaders >= (int)(sizeof(a->headers) / sizeof(a->headers[0])))
        return;
    a->headers[a->nheaders].name = name;
    va_start(ap, fmt);
    vsnprintf(a->headers[a->nheaders].value, sizeof(a->headers[0].value), fmt, ap);
    va_end(ap);
    a->nheaders++;
}

static const char *arg(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* limit (1..1000, default 100) and offset (>= 0, default 0). */
static int paging(const request *r, answer *a, size_t *limit, size_t *offset)
{
    const char *l = arg(r, "limit"), *o = arg(r, "offset");
    char *end;
    *limit = 100;
    *offset = 0;
    if (l) {
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 1000)
            return fail(a, HT_EINVALID, "limit",
                        "limit must be an integer from 1 to 1000 (got '%s')", l);
        *limit = (size_t)v;
    }
    if (o) {
        long v = strtol(o, &end, 10);
        if (!*o || *end || v < 0)
            return fail(a, HT_EINVALID, "offset", "offset must be an integer >= 0 (got '%s')", o);
        *offset = (size_t)v;
    }
    return HT_OK;
}

static int collect(void *payload, const ht_row *row)
{
    json_array_append_new(payload, ht_report_row_json(row));
    return 0;
}

/* GET /api/patients|studies|series|instances with filters, paged as {"items", "total"}. */
static int list(request *r, answer *a, ht_list_kind kind)
{
    size_t limit, offset;
    ht_store *s = thread_store(r->http);
    const char *unassigned = arg(r, "unassigned");
    ht_list_filter f = {arg(r, "patient"), arg(r, "issuer"), arg(r, "study"), arg(r, "series"),
                        unassigned && !strcmp(unassigned, "1")};
    int err;
    if ((err = paging(r, a, &limit, &offset)) < 0)
        return err;
    if (unassigned &&
        (kind != HT_LIST_STUDIES || (strcmp(unassigned, "1") && strcmp(unassigned, "0"))))
        return fail(a, HT_EINVALID, "unassigned",
                    "unassigned is 0 or 1, and only for /api/studies (got '%s')", unassigned);
    if (!s)
        return fail_last(a, HT_EDB);
    if (f.issuer && !f.patient_id)
        return fail(a, HT_EINVALID, "issuer", "issuer needs patient");
    json_t *all = json_array(), *items = json_array();
    if ((err = ht_store_list(s, kind, &f, collect, all)) < 0) {
        json_decref(all);
        json_decref(items);
        return fail_last(a, err);
    }
    for (size_t i = offset; i < json_array_size(all) && i < offset + limit; i++)
        json_array_append(items, json_array_get(all, i));
    a->json = json_object();
    json_object_set_new(a->json, "items", items);
    json_object_set_new(a->json, "total", json_integer((json_int_t)json_array_size(all)));
    json_decref(all);
    return HT_OK;
}

/* Append to the quoted ETag: one instance has many representations. */
static void etag_extend(answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void etag_extend(answer *a, const char *fmt, ...)
{
    size_t l = strlen(a->etag);
    va_list ap;
    if (l < 2)
        return;
    l--; /* over the closing quote */
    va_start(ap, fmt);
    vsnprintf(a->etag + l, sizeof(a->etag) - l - 1, fmt, ap);
    va_end(ap);
    l = strlen(a->etag);
    a->etag[l] = '"';
    a->etag[l + 1] = '\0';
}

/* If-None-Match against an ETag, or against the one its deflated answer carried. */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    static const char suffix[] = ";deflate\"";
    return !strcmp(inm, etag) || (n > 1 && strlen(inm) == n - 1 + strlen(suffix) &&
                                  !strncmp(inm, etag, n - 1) && !strcmp(inm + n - 1, suffix));
}

/* The client holds this representation already: answer 304 without reading or decoding. */
static int unchanged(const request *r, const answer *a)
{
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    return a->etag[0] && inm && etag_matches(inm, a->etag);
}

/* A decoded frame with what its headers need; everything owned, freed by frame_release. */
typedef struct loaded_frame {
    uint8_t *file;
    ht_dicom *dcm;
    ht_frame *frame;
    int has_window;
    ht_window window; /* the file's own first Window Center/Width */
} loaded_frame;

static void frame_release(loaded_frame *lf)
{
    ht_frame_free(lf->frame);
    ht_dicom_free(lf->dcm);
    free(lf->file);
}

/* A positive integer parameter no larger than max; 0 when absent. */
static int uint_arg(answer *a, const char *name, const char *text, long max, long *out)
{
    char *end;
    *out = 0;
    if (!text)
        return HT_OK;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > max)
        return fail(a, HT_EINVALID, name, "%s must be an integer from 1 to %ld (got '%s')", name,
                    max, text);
    *out = v;
    return HT_OK;
}

static int real_arg(answer *a, const char *name, const char *text, double *out)
{
    char *end;
    *out = text ? strtod(text, &end) : 0;
    if (text && (!*text || *end || !isfinite(*out)))
        return fail(a, HT_EINVALID, name, "%s must be a number (got '%s')", name, text);
    return HT_OK;
}

static int file_window(const ht_dicom *dcm, ht_window *w)
{
    char *c = NULL, *wd = NULL;
    int ok = ht_dicom_get_string(dcm, 0x0028, 0x1050, &c) == HT_OK &&
             ht_dicom_get_string(dcm, 0x0028, 0x1051, &wd) == HT_OK && c && wd;
    if (ok) { /* the first of several values */
        char *end1, *end2;
        w->center = strtod(c, &end1);
        w->width = strtod(wd, &end2);
        ok = end1 != c && end2 != wd && w->width >= 1;
    }
    ht_free(c);
    ht_free(wd);
    ht_error_clear();
    return ok;
}

/* Read frame n (from 1) of the instance whose index row is inst. */
static int load_frame(request *r, answer *a, json_t *inst, const char *number, loaded_frame *lf)
{
    size_t len;
    long n;
    int err;
    memset(lf, 0, sizeof(*lf));
    if ((err = uint_arg(a, "frame", number, 1L << 30, &n)) < 0)
        return err;
    if ((err = ht_archive_read(r->http->archive,
                               json_string_value(json_object_get(inst, "ArchivePath")), &lf->file,
                               &len)) < 0 ||
        (err = ht_dicom_open_memory(&lf->dcm, lf->file, len)) < 0 ||
        (err = ht_dicom_frame_decode(lf->dcm, (uint32_t)(n - 1), &lf->frame)) < 0) {
        frame_release(lf);
        return fail_last(a, err);
    }
    lf->has_window = file_window(lf->dcm, &lf->window);
    return HT_OK;
}

/* GET .../frames/{n}/rendered?window=|wc=&ww=&size= */
static int rendered(request *r, answer *a, json_t *inst, const char *number)
{
    const char *preset = arg(r, "window"), *wc = arg(r, "wc"), *ww = arg(r, "ww");
    ht_window w = {0, 0};
    long size;
    loaded_frame lf;
    int err;
    if ((wc || ww) && preset)
        return fail(a, HT_EINVALID, "window", "give either window or wc and ww, not both");
    if (!wc != !ww)
        return fail(a, HT_EINVALID, wc ? "ww" : "wc", "wc and ww go together");
    if ((err = real_arg(a, "wc", wc, &w.center)) < 0 ||
        (err = real_arg(a, "ww", ww, &w.width)) < 0 ||
        (err = uint_arg(a, "size", arg(r, "size"), 4096, &size)) < 0)
        return err;
    if (ww && w.width < 1)
        return fail(a, HT_EINVALID, "ww", "ww must be at least 1 (got '%s')", ww);
    if (preset && ht_render_preset(preset, &w) < 0)
        return fail(a, HT_EINVALID, "window", "%s", ht_error_last());
    etag_extend(a, "/%s/%s/%s/%s/%ld", number, preset ? preset : "", wc ? wc : "", ww ? ww : "",
                size); /* the picture depends on the parameters */
    if (unchanged(r, a))
        return HT_OK;
    if ((err = load_frame(r, a, inst, number, &lf)) < 0)
        return err;
    const ht_window *chosen = preset || wc ? &w : lf.has_window ? &lf.window : NULL;
    uint8_t *png;
    err = ht_render_png(lf.frame, chosen, (uint32_t)size, &png, &a->len);
    frame_release(&lf);
    if (err < 0)
        return fail_last(a, err);
    a->body = (char *)png;
    a->type = "image/png";
    return HT_OK;
}

/* GET .../frames/{n}/pixels: the samples, little-endian, described in X- headers. */
static int pixels(request *r, answer *a, json_t *inst, const char *number)
{
    loaded_frame lf;
    int err;
    a->compressible = 1;
    etag_extend(a, "/%s/pixels", number);
    if (unchanged(r, a))
        return HT_OK;
    if ((err = load_frame(r, a, inst, number, &lf)) < 0)
        return err;
    const ht_frame *f = lf.frame;
    const ht_dicom_info *info = ht_dicom_get_info(lf.dcm);
    static const char *const formats[] = {"uint8",  "int8",  "uint16", "int16",
                                          "uint32", "int32", "rgb8"};
    int rgb = f->format == HT_SAMPLE_RGB8;
    add_header(a, "X-Rows", "%u", f->rows);
    add_header(a, "X-Columns", "%u", f->columns);
    add_header(a, "X-Sample-Format", "%s", formats[f->format]);
    add_header(a, "X-Bits-Allocated", "%zu", rgb ? 8 : ht_sample_size(f->format) * 8);
    add_header(a, "X-Bits-Stored", "%u", rgb ? 8u : f->bits_stored);
    add_header(a, "X-Signed", "%d",
               f->format == HT_SAMPLE_S8 || f->format == HT_SAMPLE_S16 ||
                   f->format == HT_SAMPLE_S32);
    add_header(a, "X-Samples-Per-Pixel", "%d", rgb ? 3 : 1);
    add_header(a, "X-Photometric-Interpretation", "%s",
               rgb              ? "RGB"
               : f->monochrome1 ? "MONOCHROME1"
                                : "MONOCHROME2");
    add_header(a, "X-Rescale-Slope", "%.10g", f->rescale_slope);
    add_header(a, "X-Rescale-Intercept", "%.10g", f->rescale_intercept);
    if (info->has_pixel_spacing)
        add_header(a, "X-Pixel-Spacing", "%.10g\\%.10g", info->pixel_spacing[0],
                   info->pixel_spacing[1]);
    if (lf.has_window) {
        add_header(a, "X-Window-Center", "%.10g", lf.window.center);
        add_header(a, "X-Window-Width", "%.10g", lf.window.width);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "/pixels answers host-order samples; add a byte swap for big-endian hosts"
#endif
    a->body = lf.frame->samples; /* the frame's buffer changes hands */
    a->len = lf.frame->size;
    lf.frame->samples = NULL;
    frame_release(&lf);
    a->type = "application/octet-stream";
    return HT_OK;
}

/* GET /api/instances/{uid}: the dataset as DICOM JSON (PS3.18 F.2). */
static int dicom_json(request *r, answer *a, json_t *inst)
{
    uint8_t *file;
    size_t len;
    ht_dicom *dcm = NULL;
    char uri[256], *text = NULL;
    int err;
    a->compressible = 1;
    etag_extend(a, "/json");
    if (unchanged(r, a))
        return HT_OK;
    if ((err = ht_archive_read(r->http->archive,
                               json_string_value(json_object_get(inst, "ArchivePath")), &file,
                               &len)) < 0)
        return fail_last(a, err);
    snprintf(uri, sizeof(uri), "/api/instances/%s/frames/1/pixels", r->parts[1]);
    if ((err = ht_dicom_open_memory(&dcm, file, len)) == HT_OK)
        err = ht_dicom_to_json(dcm, ht_dicom_get_info(dcm)->has_pixel_data ? uri : NULL, &text);
    ht_dicom_free(dcm);
    free(file);
    if (err < 0)
        return fail_last(a, err);
    a->body = text;
    a->len = strlen(text);
    a->type = "application/dicom+json";
    return HT_OK;
}

/* GET /api/instances/{uid}[/file | /frames/{n}/pixels | /frames/{n}/rendered] */
static int instance(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    ht_list_kind kind;
    json_t *rows = json_array();
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    err = ht_store_show(s, r->parts[1], &kind, collect, rows);
    if (err == HT_OK && kind != HT_LIST_INSTANCES)
        err = ht_error_set(HT_ENOTFOUND, "no instance has SOP Instance UID '%s'", r->parts[1]);
    if (err < 0) {
        json_decref(rows);
        return fail_last(a, err);
    }
    json_t *inst = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    snprintf(a->etag, sizeof(a->etag), "\"%s\"",
             json_string_value(json_object_get(inst, "SHA256")));
    a->immutable = 1; /* an instance never changes */
    if (r->nparts == 2) {
        err = dicom_json(r, a, inst);
        json_decref(inst);
        return err;
    }
    if (r->nparts == 3 && !strcmp(r->parts[2], "file")) {
        uint8_t *data;
        size_t len;
        if (unchanged(r, a)) {
            json_decref(inst);
            return HT_OK;
        }
        err = ht_archive_read(r->http->archive,
                              json_string_value(json_object_get(inst, "ArchivePath")), &data, &len);
        json_decref(inst);
        if (err < 0)
            return fail_last(a, err);
        a->body = (char *)data;
        a->len = len;
        a->type = "application/dicom";
        return HT_OK;
    }
    if (r->nparts == 5 && !strcmp(r->parts[2], "frames")) {
        err = !strcmp(r->parts[4], "rendered") ? rendered(r, a, inst, r->parts[3])
              : !strcmp(r->parts[4], "pixels")
                  ? pixels(r, a, inst, r->parts[3])
                  : fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
        json_decref(inst);
        return err;
    }
    json_decref(inst);
    return fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
}

static int criteria_arg(request *r, answer *a, ht_criterion *c, const char **format)
{
    const char *crit = arg(r, "criteria");
    *c = HT_RECIST11;
    *format = arg(r, "format") ? arg(r, "format") : "json";
    if (crit && ht_criterion_parse(crit, c) < 0)
        return fail(a, HT_EINVALID, "criteria", "%s", ht_error_last());
    if (strcmp(*format, "json") && strcmp(*format, "csv"))
        return fail(a, HT_EINVALID, "format", "format must be json or csv (got '%s')", *format);
    return HT_OK;
}

static int
report(request *r, answer *a, json_t *rep, char *(*csv)(const json_t *), const char *format)
{
    if (!strcmp(format, "csv")) {
        a->body = csv(rep);
        a->len = a->body ? strlen(a->body) : 0;
        a->type = "text/csv; charset=utf-8";
        json_decref(rep);
        return a->body ? HT_OK : fail(a, HT_ENOMEM, NULL, "out of memory");
    }
    (void)r;
    a->json = rep;
    return HT_OK;
}

static int add_subject(void *payload, const char *id)
{
    json_array_append_new(payload, json_string(id));
    return 0;
}

/* GET /api/subjects, /api/subjects/{id} and its /timeline, /history and /proposals */
static int subjects(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    if (r->nparts == 1) {
        json_t *ids = json_array();
        if ((err = ht_store_subject_each(s, add_subject, ids)) < 0) {
            json_decref(ids);
            return fail_last(a, err);
        }
        a->json = json_object();
        json_object_set_new(a->json, "total", json_integer((json_int_t)json_array_size(ids)));
        json_object_set_new(a->json, "items", ids);
        return HT_OK;
    }
    if (r->nparts == 3 && !strcmp(r->parts[2], "timeline")) {
        ht_criterion c;
        const char *format;
        ht_report_options opt = HT_REPORT_OPTIONS_INIT;
        json_t *rep = NULL;
        if ((err = criteria_arg(r, a, &c, &format)) < 0)
            return err;
        if ((err = ht_report_timeline(s, r->parts[1], c, &opt, &rep)) < 0)
            return fail_last(a, err);
        return report(r, a, rep, ht_report_timeline_csv, format);
    }
    static const struct {
        const char *name;
        int (*make)(ht_store *, const char *, json_t **);
    } views[] = {{NULL, ht_report_records},
                 {"history", ht_report_history},
                 {"proposals", ht_report_proposals}};
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (views[i].name ? r->nparts == 3 && !strcmp(r->parts[2], views[i].name)
                          : r->nparts == 2) {
            if ((err = views[i].make(s, r->parts[1], &a->json)) < 0)
                return fail_last(a, err);
            return HT_OK;
        }
    return fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
}

static int cohort(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    ht_criterion c;
    const char *format;
    ht_report_options opt = HT_REPORT_OPTIONS_INIT;
    json_t *rep = NULL;
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = criteria_arg(r, a, &c, &format)) < 0)
        return err;
    if ((err = ht_report_cohort(s, c, &opt, &rep)) < 0)
        return fail_last(a, err);
    return report(r, a, rep, ht_report_cohort_csv, format);
}

/*
 * Deflate (zlib format, as HTTP's "deflate" means) a body when the client accepts it. Level 1:
 * CT samples shrink to about half at a fraction of the default level's time.
 */
static int accepts_deflate(const char *accept)
{
    const char *p = accept ? strstr(accept, "deflate") : NULL;
    if (!p)
        return 0;
    for (p += 7; *p == ' '; p++)
        ;
    const char *q = *p == ';' ? strstr(p, "q=") : NULL;
    const char *next = strchr(p, ',');
    return !q || (next && q > next) || strtod(q + 2, NULL) > 0; /* "deflate;q=0" refuses it */
}

static int deflate_body(struct MHD_Connection *conn, answer *a)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    if (!a->compressible || !a->body || !accepts_deflate(accept))
        return 0;
    uLongf len = compressBound((uLong)a->len);
    char *out = malloc(len);
    if (!out || compress2((Bytef *)out, &len, (const Bytef *)a->body, (uLong)a->len, 1) != Z_OK) {
        free(out);
        return 0; /* answered uncompressed */
    }
    free(a->body);
    a->body = out;
    a->len = len;
    return 1;
}

/* ---- access ---- */

static const char *header(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The secret a request carries: a bearer token, else the session cookie. */
static const char *request_secret(const request *r)
{
    const char *authz = header(r, "Authorization");
    if (authz && !strncasecmp(authz, "Bearer ", 7))
        return authz + 7;
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ht_session");
}

static int authenticate(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = ht_auth_check(s, request_secret(r), &r->user, &r->role)) < 0)
        return fail_last(a, err);
    r->authenticated = 1;
    return HT_OK;
}

/*
 * A state-changing request from another site is refused: browsers send Origin (and
 * Sec-Fetch-Site) with them, and the origin's host must be the one this request is for.
 */
static int same_origin(request *r, answer *a)
{
    const char *origin = header(r, "Origin"), *host = header(r, "Host");
    const char *site = header(r, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return fail(a, HT_EPERM, NULL, "cross-site %s refused (Sec-Fetch-Site: %s)", r->method,
                    site);
    if (!origin)
        return HT_OK; /* not a browser's cross-origin request */
    const char *p = strstr(origin, "://");
    if (!p || !host || strcmp(p + 3, host))
        return fail(a, HT_EPERM, NULL, "cross-site %s refused (Origin: %s)", r->method, origin);
    return HT_OK;
}

/* The failures recorded for name; with create, a free slot (or the oldest one) if none. */
static login_failures *failures_of(ht_http *h, const char *name, int create)
{
    login_failures *slot = NULL;
    double now = ht_time_monotonic();
    for (int i = 0; i < LOGIN_TRACKED; i++) {
        login_failures *f = &h->failures[i];
        if (f->count && now - f->first > LOGIN_WINDOW)
            f->count = 0; /* forgotten */
        if (f->count && !strncmp(f->name, name, sizeof(f->name) - 1))
            return f;
        if (!slot || (slot->count && (!f->count || f->first < slot->first)))
            slot = f;
    }
    if (!create)
        return NULL;
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->count = 0;
    slot->first = now;
    return slot;
}

/* Seconds until name may try again, 0 when it may now. */
static int login_wait(ht_http *h, const char *name)
{
    pthread_mutex_lock(&h->failures_lock);
    login_failures *f = failures_of(h, name, 0);
    int wait = f && f->count >= LOGIN_FAILURES
                   ? (int)(LOGIN_WINDOW - (ht_time_monotonic() - f->first)) + 1
                   : 0;
    pthread_mutex_unlock(&h->failures_lock);
    return wait;
}

static void login_failed(ht_http *h, const char *name, int failed)
{
    pthread_mutex_lock(&h->failures_lock);
    login_failures *f = failures_of(h, name, failed);
    if (f)
        f->count = failed ? f->count + 1 : 0;
    pthread_mutex_unlock(&h->failures_lock);
}

/* The request body as a JSON object, or a 400 naming what is wrong. */
static int body_object(request *r, answer *a, json_t **out)
{
    json_error_t e;
    *out = NULL;
    if (r->upload->too_large)
        return fail(a, HT_EINVALID, NULL, "request body larger than %d bytes", MAX_BODY);
    *out = json_loadb(r->upload->body ? r->upload->body : "", r->upload->len, 0, &e);
    if (!*out)
        return fail(a, HT_EPARSE, NULL, "request body is not JSON: %s (line %d, column %d)", e.text,
                    e.line, e.column);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fail(a, HT_EINVALID, NULL, "request body must be a JSON object");
    }
    return HT_OK;
}

static int string_field(answer *a, json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) || !*json_string_value(v))
        return fail(a, HT_EINVALID, name, "%s must be a non-empty string", name);
    *out = json_string_value(v);
    return HT_OK;
}

static void me_json(request *r, answer *a)
{
    a->json = json_pack("{s:s, s:s}", "username", r->user.name, "role", r->user.role);
}

/* POST /api/login {"username", "password"} */
static int login(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    json_t *body;
    const char *name, *password;
    char secret[HT_AUTH_SECRET_LEN + 1];
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = body_object(r, a, &body)) < 0)
        return err;
    if ((err = string_field(a, body, "username", &name)) < 0 ||
        (err = string_field(a, body, "password", &password)) < 0) {
        json_decref(body);
        return err;
    }
    int wait = login_wait(r->http, name);
    if (wait > 0) {
        fail(a, HT_EAUTH, NULL, "too many failed logins for '%s': try again in %d s", name, wait);
        json_decref(body); /* name points into it */
        a->status = 429;
        add_header(a, "Retry-After", "%d", wait);
        return HT_EAUTH;
    }
    err = ht_auth_login(s, name, password, SESSION_SECONDS, secret);
    login_failed(r->http, name, err == HT_EAUTH);
    if (err < 0) {
        json_decref(body);
        return fail_last(a, err);
    }
    ht_log(HT_LOG_INFO, "event=login user=%s", name);
    snprintf(a->cookie, sizeof(a->cookie),
             "ht_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", secret,
             SESSION_SECONDS, r->http->tls ? "; Secure" : "");
    explicit_bzero(secret, sizeof(secret));
    err = ht_store_user_get(s, name, &r->user);
    json_decref(body);
    if (err < 0)
        return fail_last(a, err);
    me_json(r, a);
    return HT_OK;
}

/* POST /api/logout: the session (or token) used ends. */
static int logout(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = ht_auth_revoke(s, r->user.name, request_secret(r))) < 0)
        return fail_last(a, err);
    snprintf(a->cookie, sizeof(a->cookie),
             "ht_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             r->http->tls ? "; Secure" : "");
    ht_log(HT_LOG_INFO, "event=logout user=%s", r->user.name);
    a->json = json_pack("{s:b}", "ok", 1);
    return HT_OK;
}

/* GET /api/lesion-states: what the station offers for each role instead of a measurement. */
static int lesion_states(request *r, answer *a)
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

static int add_user_json(void *payload, const ht_user_row *u)
{
    json_array_append_new(payload,
                          json_pack("{s:s, s:s, s:b, s:s}", "username", u->name, "role", u->role,
                                    "disabled", u->disabled, "created", u->created_at));
    return 0;
}

/* GET /api/users (admins) */
static int users(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if (r->role != HT_USER_ADMIN && r->authenticated)
        return fail(a, HT_EPERM, NULL, "listing users needs the admin role (you are %s)",
                    r->user.role);
    if (!s)
        return fail_last(a, HT_EDB);
    json_t *items = json_array();
    if ((err = ht_store_user_each(s, add_user_json, items)) < 0) {
        json_decref(items);
        return fail_last(a, err);
    }
    a->json = json_object();
    json_object_set_new(a->json, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(a->json, "items", items);
    return HT_OK;
}

/* ---- writes: each records its user, as the reader, in the ledger and its audit log ---- */

/* Assessments are entered by radiologists only: an admin manages users, not reads. */
static int may_write(request *r, answer *a)
{
    if (r->authenticated && r->role != HT_USER_RADIOLOGIST)
        return fail(a, HT_EPERM, NULL,
                    "entering assessments needs the radiologist role (you are %s)", r->user.role);
    return HT_OK;
}

/* The one reader of a write: the user, who may be named in the body but not be someone else. */
static int set_reader(request *r, answer *a, json_t *subject)
{
    json_t *given = json_object_get(subject, "reader");
    if (!r->authenticated)
        return given ? HT_OK : fail(a, HT_EINVALID, "reader", "reader is required without logins");
    if (given && (!json_is_string(given) || strcmp(json_string_value(given), r->user.name)))
        return fail(a, HT_EINVALID, "reader",
                    "reader must be the logged-in user '%s' (or left out)", r->user.name);
    json_object_set_new(subject, "reader", json_string(r->user.name));
    return HT_OK;
}

/* POST /api/measurements: one subject or an array, in the import format; all or nothing. */
static int measurements(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    ht_ledger_import_summary sum;
    json_t *body;
    json_error_t e;
    int err;
    if ((err = may_write(r, a)) < 0)
        return err;
    if (!s)
        return fail_last(a, HT_EDB);
    if (r->upload->too_large)
        return fail(a, HT_EINVALID, NULL, "request body larger than %d bytes", MAX_BODY);
    if (!(body = json_loadb(r->upload->body ? r->upload->body : "", r->upload->len,
                            JSON_REJECT_DUPLICATES, &e)))
        return fail(a, HT_EPARSE, NULL, "request body is not JSON: %s (line %d, column %d)", e.text,
                    e.line, e.column);
    size_t i;
    json_t *subject;
    if (json_is_object(body))
        err = set_reader(r, a, body);
    else if (json_is_array(body))
        json_array_foreach(body, i, subject)
        {
            if (err == HT_OK && json_is_object(subject))
                err = set_reader(r, a, subject);
        }
    if (err == HT_OK) {
        char source[96];
        ht_measure_source drawn_on = {s, r->http->archive};
        snprintf(source, sizeof(source), "api:%s", r->authenticated ? r->user.name : "no-auth");
        err = ht_ledger_import_document(s, body, source, ht_measure_complete, &drawn_on, &sum);
        if (err < 0)
            fail_last(a, err);
    }
    json_decref(body);
    if (err < 0)
        return err;
    a->json = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s}", "subjects", sum.subjects, "new_records",
                        sum.new_records, "corrections", sum.corrections, "retractions",
                        sum.retractions, "unchanged", sum.unchanged, "notes", sum.notes);
    return HT_OK;
}

/* POST /api/subjects/{id}/timepoints/{label}/sign */
static int sign(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if ((err = may_write(r, a)) < 0)
        return err;
    if (!s)
        return fail_last(a, HT_EDB);
    if (!r->authenticated)
        return fail(a, HT_EAUTH, NULL, "signing a read needs a logged-in radiologist");
    if ((err = ht_ledger_sign(s, r->parts[1], r->parts[3], r->user.name)) < 0)
        return fail_last(a, err);
    a->json = json_pack("{s:s, s:s, s:s}", "subject", r->parts[1], "timepoint", r->parts[3],
                        "signed_by", r->user.name);
    return HT_OK;
}

/* POST /api/password {"current", "new"}: users change their own password. */
static int change_password(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    const char *current, *fresh;
    json_t *body;
    int err;
    if (!r->authenticated)
        return fail(a, HT_EAUTH, NULL, "changing a password needs a logged-in user");
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = body_object(r, a, &body)) < 0)
        return err;
    if ((err = string_field(a, body, "current", &current)) == HT_OK &&
        (err = string_field(a, body, "new", &fresh)) == HT_OK) {
        /* the current password is checked as a login is, brake included */
        int wait = login_wait(r->http, r->user.name);
        if (wait > 0)
            err = fail(a, HT_EAUTH, NULL, "too many failed attempts: try again in %d s", wait);
        else if (ht_auth_verify(s, r->user.name, current) < 0) {
            login_failed(r->http, r->user.name, 1);
            err = fail(a, HT_EAUTH, "current", "the current password is wrong");
        } else if ((err = ht_auth_set_password(s, r->user.name, r->user.name, fresh)) < 0) {
            err = fail(a, err, "new", "%s", ht_error_last());
        }
    }
    json_decref(body);
    if (err < 0)
        return err;
    ht_log(HT_LOG_INFO, "event=password user=%s", r->user.name);
    a->json = json_pack("{s:b}", "ok", 1);
    return HT_OK;
}

/* POST /api/users/{name}/disable (admins): the user and every credential of theirs end. */
static int disable_user(request *r, answer *a)
{
    ht_store *s = thread_store(r->http);
    int err;
    if (r->authenticated && r->role != HT_USER_ADMIN)
        return fail(a, HT_EPERM, NULL, "disabling users needs the admin role (you are %s)",
                    r->user.role);
    if (!s)
        return fail_last(a, HT_EDB);
    if ((err = ht_auth_disable(s, r->user.name, r->parts[1])) < 0)
        return fail_last(a, err);
    ht_log(HT_LOG_INFO, "event=disable user=%s by=%s", r->parts[1],
           r->authenticated ? r->user.name : "no-auth");
    a->json = json_pack("{s:s, s:b}", "username", r->parts[1], "disabled", 1);
    return HT_OK;
}

/* GET of a reading-station file (embedded in the binary); "/" is index.html. */
static int web_asset(request *r, answer *a)
{
    const char *path = !strcmp(r->path, "/") ? "/index.html" : r->path;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
    for (const ht_web_asset *w = ht_web_assets; w->path; w++)
        if (!strcmp(w->path, path)) {
            if (!(a->body = malloc(w->len ? w->len : 1)))
                return fail(a, HT_ENOMEM, NULL, "out of memory");
            memcpy(a->body, w->data, w->len);
            a->len = w->len;
            a->type = w->type;
            a->compressible = 1;
            /* the station's pages run only the station's own scripts */
            add_header(a, "Content-Security-Policy",
                       "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'");
            add_header(a, "X-Content-Type-Options", "nosniff");
            return HT_OK;
        }
    return fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
}

static void route(request *r, answer *a)
{
    const char *method = r->method;
    if (strncmp(r->path, "/api/", 5) != 0) {
        web_asset(r, a);
        return;
    }
    const char *top = r->nparts ? r->parts[0] : "";
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int post = !strcmp(method, "POST");
    if (post && same_origin(r, a) < 0)
        return;
    if (post && r->nparts == 1 && !strcmp(top, "login")) {
        login(r, a);
        return;
    }
    if (!r->http->no_auth && authenticate(r, a) < 0)
        return;
    if (post && r->nparts == 1 && !strcmp(top, "logout") && !r->http->no_auth) {
        logout(r, a);
        return;
    }
    if (post && r->nparts == 1 && !strcmp(top, "password")) {
        change_password(r, a);
        return;
    }
    if (post && r->nparts == 3 && !strcmp(top, "users") && !strcmp(r->parts[2], "disable")) {
        disable_user(r, a);
        return;
    }
    if (post && r->nparts == 1 && !strcmp(top, "measurements")) {
        measurements(r, a);
        return;
    }
    if (post && r->nparts == 5 && !strcmp(top, "subjects") && !strcmp(r->parts[2], "timepoints") &&
        !strcmp(r->parts[4], "sign")) {
        sign(r, a);
        return;
    }
    if (!get) {
        fail(a, HT_EUNSUPPORTED, NULL, "%s is not allowed on %s", method, r->path);
        a->status = 405;
        return;
    }
    static const struct {
        const char *name;
        ht_list_kind kind;
    } lists[] = {{"patients", HT_LIST_PATIENTS},
                 {"studies", HT_LIST_STUDIES},
                 {"series", HT_LIST_SERIES},
                 {"instances", HT_LIST_INSTANCES},
                 {"conflicts", HT_LIST_CONFLICTS}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        if (r->nparts == 1 && !strcmp(top, lists[i].name)) {
            list(r, a, lists[i].kind);
            return;
        }
    if (!strcmp(top, "me") && r->nparts == 1 && r->authenticated)
        me_json(r, a);
    else if (!strcmp(top, "users") && r->nparts == 1)
        users(r, a);
    else if (!strcmp(top, "lesion-states") && r->nparts == 1)
        lesion_states(r, a);
    else if (!strcmp(top, "instances") && r->nparts >= 2)
        instance(r, a);
    else if (!strcmp(top, "subjects"))
        subjects(r, a);
    else if (!strcmp(top, "cohort") && r->nparts == 1)
        cohort(r, a);
    else
        fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
}

/* Collect a request body of at most MAX_BODY bytes; beyond that it is dropped and refused. */
static void take_upload(upload *up, const char *data, size_t len)
{
    if (up->too_large || up->len + len > MAX_BODY) {
        up->too_large = 1;
        return;
    }
    char *grown = realloc(up->body, up->len + len + 1);
    if (!grown) {
        up->too_large = 1;
        return;
    }
    memcpy(grown + up->len, data, len);
    up->len += len;
    grown[up->len] = '\0';
    up->body = grown;
}

static void request_done(void *cls,
                         struct MHD_Connection *conn,
                         void **state,
                         enum MHD_RequestTerminationCode code)
{
    upload *up = *state;
    (void)cls;
    (void)conn;
    (void)code;
    if (up) {
        free(up->body);
        free(up);
        *state = NULL;
    }
}

static enum MHD_Result handle(void *cls,
                              struct MHD_Connection *conn,
                              const char *url,
                              const char *method,
                              const char *version,
                              const char *data,
                              size_t *data_size,
                              void **state)
{
    ht_http *h = cls;
    answer a = {.status = 200, .type = "application/json"};
    char path[1024];
    (void)version;
    if (!*state) { /* first call: headers only */
        if (!(*state = calloc(1, sizeof(upload))))
            return MHD_NO;
        return MHD_YES;
    }
    if (*data_size) {
        take_upload(*state, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    request r = {.http = h, .conn = conn, .path = url, .method = method, .upload = *state};
    snprintf(path, sizeof(path), "%s", url);
    char *save = NULL;
    for (char *seg = strtok_r(path + (strncmp(path, "/api/", 5) == 0 ? 5 : 0), "/", &save);
         seg && r.nparts < 8; seg = strtok_r(NULL, "/", &save))
        r.parts[r.nparts++] = seg;
    route(&r, &a);
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    int deflated = 0;
    if (a.etag[0] && inm && etag_matches(inm, a.etag) && a.status == 200) {
        a.status = 304;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else if (a.body) {
        if ((deflated = a.status == 200 && deflate_body(conn, &a)))
            etag_extend(&a, ";deflate"); /* another byte sequence, another strong ETag */
        resp = MHD_create_response_from_buffer(a.len, a.body, MHD_RESPMEM_MUST_FREE);
        a.body = NULL;
    } else {
        char *text =
            json_dumps(a.json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        resp =
            MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
                                            text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    }
    json_decref(a.json);
    free(a.body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", a.type);
    if (a.etag[0])
        MHD_add_response_header(resp, "ETag", a.etag);
    if (a.compressible)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (deflated)
        MHD_add_response_header(resp, "Content-Encoding", "deflate");
    for (int i = 0; i < a.nheaders; i++)
        MHD_add_response_header(resp, a.headers[i].name, a.headers[i].value);
    if (a.cookie[0]) {
        MHD_add_response_header(resp, "Set-Cookie", a.cookie);
        explicit_bzero(a.cookie, sizeof(a.cookie));
    }
    if (a.status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"hepatrack\"");
    MHD_add_response_header(resp, "Cache-Control",
                            a.immutable ? "public, max-age=31536000, immutable" : "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, a.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A PEM file read whole (ht_file_read NUL-terminates it, as libmicrohttpd takes it). */
static int read_pem(const char *path, const char *what, char **out)
{
    uint8_t *data;
    size_t len;
    if (ht_file_read(path, 1 << 20, &data, &len) < 0) {
        return ht_error_set(HT_EINVALID, "cannot read the TLS %s: %s", what, ht_error_last());
    }
    if (!strstr((char *)data, "-----BEGIN ")) {
        ht_free(data);
        return ht_error_set(HT_EINVALID, "the TLS %s '%s' is not PEM", what, path);
    }
    *out = (char *)data;
    return HT_OK;
}

int ht_http_start(ht_http **out, const ht_http_config *config)
{
    struct sockaddr_in addr;
    int err;
    *out = NULL;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)config->port);
    if (config->port < 1 || config->port > 65535 ||
        inet_pton(AF_INET, config->listen, &addr.sin_addr) != 1)
        return ht_error_set(HT_EINVALID, "HTTP listen address '%s' port %d is not valid",
                            config->listen, config->port);
    int tls = config->tls_cert || config->tls_key;
    if (tls && (!config->tls_cert || !config->tls_key))
        return ht_error_set(HT_EINVALID, "TLS needs both a certificate and its key");
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127 && (config->no_auth || !tls))
        return ht_error_set(HT_EAUTH, config->no_auth
                                          ? "--http-no-auth is refused unless the server listens "
                                            "on loopback only"
                                          : "HTTP beyond loopback needs TLS: give --tls-cert and "
                                            "--tls-key, or listen on 127.0.0.1");
    ht_http *h = calloc(1, sizeof(*h));
    if (!h)
        return ht_error_set(HT_ENOMEM, "out of memory starting the HTTP server");
    h->no_auth = config->no_auth;
    h->tls = tls;
    /* What ht_http_stop undoes comes first: it must never delete a key it did not create. */
    pthread_mutex_init(&h->failures_lock, NULL);
    if (pthread_key_create(&h->store_key, store_close) != 0) {
        pthread_mutex_destroy(&h->failures_lock);
        free(h);
        return ht_error_set(HT_ENOMEM, "no thread-specific key left for the HTTP server");
    }
    h->data_dir = ht_strdup(config->data_dir);
    h->index_path = ht_store_index_path(config->data_dir);
    if (!h->data_dir || !h->index_path) {
        ht_http_stop(h);
        return ht_error_set(HT_ENOMEM, "out of memory starting the HTTP server");
    }
    if ((err = ht_archive_open(&h->archive, config->data_dir)) < 0 ||
        (tls && ((err = read_pem(config->tls_cert, "certificate", &h->tls_cert)) < 0 ||
                 (err = read_pem(config->tls_key, "key", &h->tls_key)) < 0))) {
        ht_http_stop(h);
        return err;
    }
    struct MHD_OptionItem tls_options[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
                                           {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
                                           {MHD_OPTION_END, 0, NULL}};
    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL,
        handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(config->threads > 0 ? config->threads : 4), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_ARRAY,
        tls ? tls_options : tls_options + 2, MHD_OPTION_END);
    if (!h->daemon) {
        ht_http_stop(h);
        return tls ? ht_error_set(HT_EINVALID,
                                  "cannot serve HTTPS on %s:%d: the port is taken, or the "
                                  "certificate and key are not a PEM pair GnuTLS accepts",
                                  config->listen, config->port)
                   : ht_error_set(HT_EIO, "cannot listen for HTTP on %s:%d", config->listen,
                                  config->port);
    }
    *out = h;
    return HT_OK;
}

void ht_http_stop(ht_http *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    pthread_key_delete(h->store_key);
    pthread_mutex_destroy(&h->failures_lock);
    ht_archive_free(h->archive);
    if (h->tls_key)
        explicit_bzero(h->tls_key, strlen(h->tls_key));
    ht_free(h->tls_key);
    ht_free(h->tls_cert);
    free(h->index_path);
    free(h->data_dir);
    free(h);
}
