/*
 * hepatrack — the HTTP API (libmicrohttpd, a thread pool; JSON through jansson). Every error is
 * answered as {"error": {"code": "EINVALID", "message": ..., "field"?: ...}} with the status of
 * the project's single error table (error.h). Documented in docs/api.md.
 *
 * Every route but POST /api/login needs a session cookie or a bearer token (auth.h), unless
 * no_auth. With a certificate and key the server speaks HTTPS only (libmicrohttpd's GnuTLS)
 * and its session cookie is Secure; without them it listens on loopback addresses only.
 *
 * Ownership: ht_http_start returns a server freed by ht_http_stop.
 */
#ifndef HEPATRACK_HTTP_H
#define HEPATRACK_HTTP_H

#include "hepatrack/error.h"
#include "hepatrack/ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_http_config {
    const char *listen; /* IPv4 address */
    int port;
    const char *data_dir; /* where index.sqlite and instances/ are */
    int no_auth;          /* 1: no logins (benchmarks, the demo) */
    int threads;          /* worker threads, 4 by default */
    const char *tls_cert; /* PEM files; both or neither. Given: HTTPS only */
    const char *tls_key;
    const char *public_origin; /* "https://host[:port]" browsers reach the server at; NULL: the
                                  listen address (and localhost on loopback) */
    ht_ingest *ingest;    /* STOW-RS stores through it (borrowed; outlives the server); NULL: STOW
                             answers 503 */
    const char *ohif_dir; /* OHIF's built viewer (make ohif: build/ohif/www), served under /ohif/
                             with a generated app-config.js; NULL: no OHIF */
} ht_http_config;

typedef struct ht_http ht_http;

/**
 * Start serving in background threads.
 * @return HT_OK; HT_EINVALID (configuration, or a certificate or key that cannot be read or
 *         used); HT_EAUTH for an address beyond loopback without TLS (or with no_auth);
 *         HT_EIO when the port cannot be bound.
 */
int ht_http_start(ht_http **out, const ht_http_config *config);

/** Stop serving (requests in flight finish) and free. Accepts NULL. */
void ht_http_stop(ht_http *http);

/**
 * Visit every route of the API: its method ("GET", which serves HEAD too, or "POST") and its
 * pattern ("/api/subjects/{id}/history", {name} standing for one path segment). A non-zero
 * return from cb stops the walk and is returned.
 */
int ht_http_route_each(int (*cb)(void *payload, const char *method, const char *pattern),
                       void *payload);

#ifdef __cplusplus
}
#endif

#endif
