/*
 * hepatrack — the HTTP API (libmicrohttpd, a thread pool; JSON through jansson). Every error is
 * answered as {"error": {"code": "EINVALID", "message": ..., "field"?: ...}} with the status of
 * the project's single error table (error.h). Documented in docs/api.md.
 *
 * Every route but POST /api/login needs a session cookie or a bearer token (auth.h), unless
 * no_auth. The server listens on loopback addresses only: beyond them it would need TLS.
 *
 * Ownership: ht_http_start returns a server freed by ht_http_stop.
 */
#ifndef HEPATRACK_HTTP_H
#define HEPATRACK_HTTP_H

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_http_config {
    const char *listen; /* IPv4 address */
    int port;
    const char *data_dir; /* where index.sqlite and instances/ are */
    int no_auth;          /* 1: no logins (benchmarks, the demo) */
    int threads;          /* worker threads, 4 by default */
} ht_http_config;

typedef struct ht_http ht_http;

/**
 * Start serving in background threads.
 * @return HT_OK; HT_EINVALID (configuration); HT_EAUTH for an address beyond loopback;
 *         HT_EIO when the port cannot be bound.
 */
int ht_http_start(ht_http **out, const ht_http_config *config);

/** Stop serving (requests in flight finish) and free. Accepts NULL. */
void ht_http_stop(ht_http *http);

#ifdef __cplusplus
}
#endif

#endif
