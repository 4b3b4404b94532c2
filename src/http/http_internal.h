/*
 * Internals of the HTTP server, shared by its files; not a public header.
 *
 * A request flows: server.c collects it (libmicrohttpd) → routes.c finds its route and checks
 * access (access.c) → a handler (h_*.c, one file per resource) builds an answer → answer.c
 * sends it (ETag, caching, deflate). Handlers never talk to libmicrohttpd but through the
 * helpers below.
 */
#ifndef HEPATRACK_HTTP_INTERNAL_H
#define HEPATRACK_HTTP_INTERNAL_H

#include "hepatrack/archive.h"
#include "hepatrack/auth.h"
#include "hepatrack/dicom.h"
#include "hepatrack/render.h"
#include "hepatrack/response.h"
#include "hepatrack/http.h"
#include "hepatrack/ingest.h"
#include "hepatrack/store.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#define HT_HTTP_MAX_BODY (1024 * 1024)
#define HT_HTTP_SESSION_SECONDS (12 * 3600)
#define HT_HTTP_MAX_PARTS 10
#define HT_HTTP_HEADER_SECONDS                                                                     \
    10 /* to send a request's headers, from connecting or the last answer */
#define HT_HTTP_IDLE_SECONDS 10  /* of silence on a connection */
#define HT_HTTP_PER_CLIENT 64    /* connections from one address */
#define HT_HTTP_CONNECTIONS 1000 /* connections in all */

typedef struct ht_http_guard ht_http_guard;
typedef struct answer answer;

/* Where a streamed request body goes (STOW-RS): fed as it arrives, never collected whole. The
 * route's handler reads what became of it once the body is in. */
typedef struct ht_sink {
    void (*feed)(struct ht_sink *sink, const char *data, size_t len); /* a sink that failed
                                                                         ignores the rest */
    void (*release)(struct ht_sink *sink);
} ht_sink;

struct ht_http {
    struct MHD_Daemon *daemon;
    char *data_dir;
    char *index_path;
    ht_archive *archive;
    ht_ingest *ingest;       /* STOW-RS stores through it; NULL: STOW is refused */
    pthread_key_t store_key; /* each worker thread's own index connection */
    int no_auth;
    int tls;                  /* HTTPS: the session cookie is Secure */
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    ht_auth_brake *brake;
    ht_http_guard *guard;
    char origins[3][300]; /* what a browser's Origin may be: the public origin, or our own */
    int norigins;
    char *ohif_dir; /* OHIF's built viewer served under /ohif/ (its real path); NULL: none */
};

/* What one connection's request has sent so far: a body collected (at most HT_HTTP_MAX_BODY),
 * or streamed to a route's sink, or refused before it came (early: sent once it has). */
typedef struct upload {
    char *body;
    size_t len, cap;
    int too_large;
    ht_sink *sink;
    answer *early;
} upload;

/* A body produced while it is sent: returns the bytes written at pos (> 0), HT_HTTP_STREAM_END,
 * or HT_HTTP_STREAM_ERROR (the connection is closed: the client sees a truncated body). */
#define HT_HTTP_STREAM_END (-1)
#define HT_HTTP_STREAM_ERROR (-2)
typedef long (*ht_stream_read)(void *cls, uint64_t pos, char *buf, size_t max);

/* An answer being built: JSON, or raw bytes with a type, or a stream, or an error. */
struct answer {
    unsigned status;
    json_t *json;
    char *body; /* malloc'ed */
    size_t len;
    const char *type;
    char etag[160];
    enum {
        HT_CACHE_NONE = 0,   /* no-store */
        HT_CACHE_REVALIDATE, /* kept, but asked for again with its ETag each time */
        HT_CACHE_IMMUTABLE   /* kept for a year without asking */
    } caching;
    char cookie[200]; /* Set-Cookie, when not empty */
    int compressible; /* deflate it when the client accepts that */
    struct {
        const char *name;
        char value[320];
    } headers[16];
    int nheaders;
    ht_stream_read stream; /* instead of body: read from stream_cls, freed by stream_free */
    void *stream_cls;
    void (*stream_free)(void *cls);
};

typedef enum ht_http_root { HT_ROOT_WEB = 0, HT_ROOT_API, HT_ROOT_DICOMWEB } ht_http_root;

typedef struct request {
    ht_http *http;
    struct MHD_Connection *conn;
    const char *path;
    const char *method;
    const upload *upload;
    ht_http_root root;              /* /api/, /dicom-web/, or the station's files */
    char *parts[HT_HTTP_MAX_PARTS]; /* path segments after /api/ or /dicom-web/ */
    int nparts;
    int authenticated;
    ht_user_row user;
    ht_user_role role;
} request;

/* ---- answers (answer.c) -------------------------------------------------------------------- */

/* Answer the error code with a message (and the field it is about, or NULL); returns code. */
int ht_http__fail(answer *a, int code, const char *field, const char *fmt, ...) HT_PRINTF_(4, 5);

/* Answer an error the lower layers reported (ht_error_last()); returns code. */
int ht_http__fail_last(answer *a, int code);

void ht_http__add_header(answer *a, const char *name, const char *fmt, ...) HT_PRINTF_(3, 4);

/* Answer a list: {"items": items (taken), "total": total}. */
void ht_http__items(answer *a, json_t *items, size_t total);

/* Append to the quoted ETag: one instance has many representations. */
void ht_http__etag_extend(answer *a, const char *fmt, ...) HT_PRINTF_(2, 3);

/* The client holds this representation already (If-None-Match): answer 304 without work. */
int ht_http__unchanged(const request *r, const answer *a);

/* Queue the answer on the connection: 304, body (deflated when accepted) or JSON, with its
 * headers, cookie and caching. */
enum MHD_Result ht_http__send(struct MHD_Connection *conn, answer *a);

/* ---- requests (answer.c) ------------------------------------------------------------------- */

const char *ht_http__arg(const request *r, const char *name);
const char *ht_http__header(const request *r, const char *name);

/* Every query parameter in the order sent (repeated names too) until cb returns non-zero,
 * which is returned. */
int ht_http__each_arg(const request *r,
                      int (*cb)(void *payload, const char *name, const char *value),
                      void *payload);

/* limit (1..1000, default 100) and offset (>= 0, default 0), or a 400 naming the bad one. */
int ht_http__paging(const request *r, answer *a, size_t *limit, size_t *offset);

/* A positive integer parameter no larger than max (0 when absent), or a 400. */
int ht_http__uint_arg(answer *a, const char *name, const char *text, long max, long *out);

/* A finite number parameter (0 when absent), or a 400. */
int ht_http__real_arg(answer *a, const char *name, const char *text, double *out);

/* The request body as JSON (an object, or with any_type an object or an array), every key
 * unique; or a 400 naming what is wrong. *out is freed by the caller. */
int ht_http__body_json(const request *r, answer *a, int any_type, json_t **out);

/* This worker's index connection and the request body (as ht_http__body_json): what every
 * writing handler starts with. On error the answer is set and nothing is to be freed. */
int ht_http__store_and_body(const request *r, answer *a, int any_type, ht_store **s, json_t **body);

/* A non-empty string member, or a 400 naming it. Borrowed from obj. */
int ht_http__string_field(answer *a, json_t *obj, const char *name, const char **out);

/* This worker thread's connection to the index (opened on first use), or NULL with a 500. */
ht_store *ht_http__store(const request *r, answer *a);

/* ---- multipart answers (stream.c) --------------------------------------------------------- */

/* One part of a multipart answer, made when it is about to be sent. */
typedef struct ht_part {
    char type[160];     /* its Content-Type */
    char location[300]; /* its Content-Location, "" for none */
    uint8_t *data;      /* malloc'ed, taken */
    size_t len;
} ht_part;

/* Make part i (from 0): HT_OK, or an error (the answer is cut short: its status was sent). */
typedef int (*ht_part_source)(void *cls, size_t i, ht_part *out);

/* Answer multipart/related; type=part_type of nparts parts made by source as they are sent;
 * cls is freed with cls_free when the answer is done (or on error here). */
int ht_http__multipart(answer *a,
                       const char *part_type,
                       size_t nparts,
                       ht_part_source source,
                       void *cls,
                       void (*cls_free)(void *cls));

/* The same, for parts of about `known` bytes in all: up to HT_HTTP_GATHER_MAX they are made at
 * once and sent with their length in one piece (a failure is then an error answer). */
#define HT_HTTP_GATHER_MAX (16u << 20)
int ht_http__multipart_sized(answer *a,
                             const char *part_type,
                             size_t nparts,
                             ht_part_source source,
                             void *cls,
                             void (*cls_free)(void *cls),
                             size_t known);

/* ---- DICOMweb (h_qido.c, h_wado.c, h_frames.c, h_stow.c) ------------------------------------ */

/* One instance a WADO-RS path names. */
typedef struct ht_instance_ref {
    char study[72], series[72], sop[72];
    ht_instance_location location;
} ht_instance_ref;

typedef struct ht_instance_refs {
    ht_instance_ref *items; /* malloc'ed: free() */
    size_t n;
} ht_instance_refs;

/* The instances of the study, series or instance a /dicom-web/studies/... path names, in
 * series and instance number order; a 404 (answered) when there are none. */
int ht_http__scope(request *r, answer *a, ht_instance_refs *out);

/* Where a picture's window comes from when the options name none. */
typedef enum ht_http_window_default {
    HT_HTTP_FILE_WINDOW, /* the file's own first window, else the frame's full range */
    HT_HTTP_FULL_RANGE   /* the frame's full range (what Orthanc's preview shows) */
} ht_http_window_default;

/* Frame `number` (from 1; 0: the middle one) of a located instance as a picture, in the
 * window the options name, else as `fallback` says. *out is malloc'ed. HT_OK, or the
 * archive's, file layer's or renderer's error. */
int ht_http__render_frame(ht_archive *archive,
                          const ht_instance_location *loc,
                          uint32_t number,
                          const ht_render_options *options,
                          ht_http_window_default fallback,
                          uint8_t **out,
                          size_t *len);

/* A thumbnail's side, unless asked otherwise. */
#define HT_HTTP_THUMBNAIL_SIDE 128

/* Whether Accept allows DICOM JSON; the 406 that says what is offered instead. */
int ht_http__accepts_json(const request *r);
int ht_http__not_acceptable(const request *r, answer *a, const char *offered);

/* ---- access (access.c) --------------------------------------------------------------------- */

/* Who may call a route. */
typedef enum ht_access {
    HT_ACCESS_PUBLIC,      /* no credentials (login) */
    HT_ACCESS_USER,        /* any logged-in user */
    HT_ACCESS_LOGIN,       /* a logged-in user; absent when the server runs without logins */
    HT_ACCESS_RADIOLOGIST, /* radiologists only: they enter and sign reads */
    HT_ACCESS_COORDINATOR, /* coordinators and admins: they enrol subjects */
    HT_ACCESS_ADMIN,       /* admins only: they manage users */
    HT_ACCESS_STORE        /* radiologists and admins: they send instances (STOW-RS) */
} ht_access;

/* The secret a request carries: a bearer token, else the session cookie. */
const char *ht_http__secret(const request *r);

/* Who a change is recorded as: the user, or "no-auth" on a server without logins. */
const char *ht_http__actor(const request *r);

/* Check a state-changing request's origin, then its credentials and role for the access. */
int ht_http__admit(request *r, answer *a, ht_access access, const char *what);

/* ---- what no client may do (guard.c) ------------------------------------------------------- */

/* The watchdog on request headers: started before the daemon, stopped before it stops, freed
 * after. */
int ht_http__guard_start(ht_http_guard **out);
void ht_http__guard_stop(ht_http_guard *guard);
void ht_http__guard_free(ht_http_guard *guard);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION (cls: the ht_http): connections watched. */
void ht_http__guard_notify(void *cls,
                           struct MHD_Connection *conn,
                           void **socket_context,
                           enum MHD_ConnectionNotificationCode code);

/* A connection's request headers are all in (waiting 0), or it waits for the next (1). */
void ht_http__guard_waiting(ht_http *h, struct MHD_Connection *conn, int waiting);

/* MHD_OPTION_UNESCAPE_CALLBACK: %-decoding that turns %00 into a control character. */
size_t ht_http__unescape(void *cls, struct MHD_Connection *conn, char *s);

/* Whether a decoded path is free of control characters. */
int ht_http__path_ok(const char *path);

/* ---- routes (routes.c) --------------------------------------------------------------------- */

typedef int (*ht_handler)(request *r, answer *a);

/* A route whose body streams: once the request's headers are in and it is admitted, make the
 * sink its body goes to (or answer an error). */
typedef int (*ht_stream_begin)(request *r, answer *a, ht_sink **out);

typedef struct ht_route {
    const char *method;  /* "GET" (HEAD too), "POST" or "PATCH" */
    const char *pattern; /* "/api/subjects/{id}/history": {name} is one path segment */
    ht_access access;
    const char *what; /* what the route does, for a refusal's message */
    ht_handler handler;
    ht_stream_begin begin; /* NULL: the body is collected (JSON, at most HT_HTTP_MAX_BODY) */
} ht_route;

/* The request's route, or NULL with a 404 or 405 answered. */
const ht_route *ht_http__find_route(const request *r, answer *a);

/* Find the request's route and run it; everything outside /api/ and /dicom-web/ is the
 * reading station. */
void ht_http__route(request *r, answer *a);

/* ---- handlers, one file per resource ------------------------------------------------------- */

int ht_http__login(request *r, answer *a); /* h_users.c */
int ht_http__logout(request *r, answer *a);
int ht_http__me(request *r, answer *a);
int ht_http__password(request *r, answer *a);
int ht_http__users(request *r, answer *a);
int ht_http__disable_user(request *r, answer *a);
int ht_http__enable_user(request *r, answer *a);
int ht_http__list_patients(request *r, answer *a); /* h_index.c */
int ht_http__list_studies(request *r, answer *a);
int ht_http__list_series(request *r, answer *a);
int ht_http__list_instances(request *r, answer *a);
int ht_http__list_conflicts(request *r, answer *a);
int ht_http__instance_json(request *r, answer *a); /* h_instances.c */
int ht_http__instance_file(request *r, answer *a);
int ht_http__frame_pixels(request *r, answer *a);
int ht_http__frame_rendered(request *r, answer *a);
int ht_http__series_thumbnail(request *r, answer *a);
int ht_http__instance_bulkdata(request *r, answer *a); /* h_frames.c */
int ht_http__wado_frames(request *r, answer *a);
int ht_http__wado_bulkdata(request *r, answer *a);
int ht_http__wado_retrieve(request *r, answer *a); /* h_wado.c */
int ht_http__wado_metadata(request *r, answer *a);
int ht_http__qido_studies(request *r, answer *a); /* h_qido.c */
int ht_http__qido_series(request *r, answer *a);
int ht_http__qido_instances(request *r, answer *a);
int ht_http__rendered_instance(request *r, answer *a); /* h_rendered.c */
int ht_http__thumbnail_instance(request *r, answer *a);
int ht_http__rendered_many(request *r, answer *a);
int ht_http__thumbnail_many(request *r, answer *a);
int ht_http__stow(request *r, answer *a); /* h_stow.c */
int ht_http__stow_begin(request *r, answer *a, ht_sink **out);
int ht_http__subjects(request *r, answer *a); /* h_subjects.c */
int ht_http__subject(request *r, answer *a);
int ht_http__subject_history(request *r, answer *a);
int ht_http__subject_proposals(request *r, answer *a);
int ht_http__subject_timeline(request *r, answer *a);
int ht_http__cohort(request *r, answer *a);
int ht_http__export_cdisc(request *r, answer *a);       /* h_exports.c */
int ht_http__proposals(request *r, answer *a);          /* h_proposals.c */
int ht_http__timepoint_segments(request *r, answer *a); /* h_segments.c */
int ht_http__proposal_accept(request *r, answer *a);
int ht_http__proposal_reject(request *r, answer *a);
int ht_http__lesion_states(request *r, answer *a);
struct ht_report_options;
/* ?criteria=recist1.1|mrecist|choi&include_drafts=0|1 into *c and opt, or a 400 naming the
 * bad one: what every report, table or picture, takes. */
int ht_http__report_args(request *r, answer *a, ht_criterion *c, struct ht_report_options *opt);
int ht_http__cohort_plot(request *r, answer *a); /* h_plots.c */
int ht_http__subject_report(request *r, answer *a);
int ht_http__enrol(request *r, answer *a);
int ht_http__subject_change(request *r, answer *a);
int ht_http__measurements(request *r, answer *a); /* h_reads.c */
int ht_http__sign(request *r, answer *a);
int ht_http__web_asset(request *r, answer *a); /* h_web.c */
int ht_http__ohif(request *r, answer *a);      /* h_ohif.c: every path under /ohif */
int ht_http__config(request *r, answer *a);
int ht_http__ohif_open(ht_http *h, const char *dir); /* at start: DIR checked (NULL: none) */

#endif
