/*
 * The HTTP server: libmicrohttpd with a pool of worker threads. It collects each request (a
 * body of at most HT_HTTP_MAX_BODY bytes, or, for a route that streams its body, hands the body
 * to the route's sink as it arrives), hands it to the router and sends the answer. Each worker
 * thread keeps its own index connection (SQLite connections are not shared between threads).
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_close(void *store)
{
    ht_store_free(store);
}

/* Collect a request body of at most HT_HTTP_MAX_BODY bytes; beyond that it is dropped and
 * refused. */
static void take_upload(upload *up, const char *data, size_t len)
{
    if (up->too_large || up->len + len > HT_HTTP_MAX_BODY ||
        HT_GROW(up->body, up->cap, up->len + len + 1) < 0) {
        up->too_large = 1;
        return;
    }
    memcpy(up->body + up->len, data, len);
    up->len += len;
    up->body[up->len] = '\0';
}

static void request_done(void *cls,
                         struct MHD_Connection *conn,
                         void **state,
                         enum MHD_RequestTerminationCode code)
{
    upload *up = *state;
    (void)code;
    ht_http__guard_waiting(cls, conn, 1);
    if (up) {
        if (up->sink)
            up->sink->release(up->sink);
        if (up->early) { /* never sent: the client went away first */
            json_decref(up->early->json);
            free(up->early->body);
            free(up->early);
        }
        free(up->body);
        free(up);
        *state = NULL;
    }
}

/* The request's root and its path segments after it, in path (a copy of url); 0 when the path
 * is deeper than any route. */
static int split_path(request *r, char *path, size_t size, const char *url)
{
    static const struct {
        const char *prefix;
        ht_http_root root;
    } roots[] = {{"/api/", HT_ROOT_API}, {"/dicom-web/", HT_ROOT_DICOMWEB}};
    snprintf(path, size, "%s", url);
    char *rest = path;
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
        if (!strncmp(path, roots[i].prefix, strlen(roots[i].prefix))) {
            r->root = roots[i].root;
            rest = path + strlen(roots[i].prefix);
        }
    char *save = NULL, *seg = strtok_r(rest, "/", &save);
    for (; seg && r->nparts < HT_HTTP_MAX_PARTS; seg = strtok_r(NULL, "/", &save))
        r->parts[r->nparts++] = seg;
    return seg == NULL;
}

/* A route that streams its body is admitted as soon as its headers are in, so that nothing of
 * a refused body is kept; a refusal is kept to be sent once the body has been read. */
static void begin_stream(request *r, upload *up)
{
    answer a = {.status = 200, .type = "application/json"};
    const ht_route *route = ht_http__find_route(r, &a);
    if (!route || !route->begin) { /* the router answers it once the body is in */
        json_decref(a.json);
        return;
    }
    if (ht_http__admit(r, &a, route->access, route->what) == HT_OK &&
        route->begin(r, &a, &up->sink) == HT_OK)
        return;
    if ((up->early = malloc(sizeof(*up->early))) != NULL)
        *up->early = a;
    else
        json_decref(a.json);
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
    upload *up = *state;
    (void)version;
    request r = {.http = h, .conn = conn, .path = url, .method = method, .upload = up};
    int fits = split_path(&r, path, sizeof(path), url);
    if (!up) { /* first call: headers only */
        ht_http__guard_waiting(h, conn, 0);
        if (!(up = *state = calloc(1, sizeof(upload))))
            return MHD_NO;
        if (fits && ht_http__path_ok(url) && strcmp(method, "GET") && strcmp(method, "HEAD")) {
            r.upload = up;
            begin_stream(&r, up);
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (up->sink && !up->early)
            up->sink->feed(up->sink, data, *data_size);
        else if (!up->early)
            take_upload(up, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (up->early) {
        answer *early = up->early;
        up->early = NULL;
        enum MHD_Result sent = ht_http__send(conn, early);
        free(early);
        return sent;
    }
    if (!ht_http__path_ok(url))
        ht_http__fail(&a, HT_EINVALID, NULL,
                      "the path holds a control character (an encoded NUL or line break)");
    else if (!fits) /* deeper than any route */
        ht_http__fail(&a, HT_ENOTFOUND, NULL, "no such resource: %s", url);
    else
        ht_http__route(&r, &a);
    return ht_http__send(conn, &a);
}

/* The origins a browser's state-changing request may come from (see access.c). */
static int set_origins(ht_http *h, const ht_http_config *config)
{
    const char *scheme = h->tls ? "https" : "http", *p = config->public_origin;
    if (p) {
        const char *host = !strncmp(p, "https://", 8)  ? p + 8
                           : !strncmp(p, "http://", 7) ? p + 7
                                                       : NULL;
        if (!host || !*host || strpbrk(host, "/?#") || strlen(p) >= sizeof(h->origins[0]) ||
            strncmp(p, scheme, strlen(scheme)) || p[strlen(scheme)] != ':')
            return ht_error_set(HT_EINVALID,
                                "the public origin must be %s://host[:port] with no path (got "
                                "'%s')",
                                scheme, p);
        snprintf(h->origins[h->norigins++], sizeof(h->origins[0]), "%s", p);
        return HT_OK;
    }
    snprintf(h->origins[h->norigins++], sizeof(h->origins[0]), "%s://%s:%d", scheme, config->listen,
             config->port);
    if (!strncmp(config->listen, "127.", 4))
        snprintf(h->origins[h->norigins++], sizeof(h->origins[0]), "%s://localhost:%d", scheme,
                 config->port);
    return HT_OK;
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
    h->ingest = config->ingest;
    h->tls = tls;
    /* What ht_http_stop undoes comes first: it must never delete a key it did not create. */
    if (pthread_key_create(&h->store_key, store_close) != 0) {
        free(h);
        return ht_error_set(HT_ENOMEM, "no thread-specific key left for the HTTP server");
    }
    h->data_dir = ht_strdup(config->data_dir);
    h->index_path = ht_store_index_path(config->data_dir);
    if (!h->index_path) {
        err = ht_error_code();
        ht_http_stop(h);
        return err;
    }
    h->brake = ht_auth_brake_new();
    if (!h->data_dir || !h->brake || ht_http__guard_start(&h->guard) < 0) {
        ht_http_stop(h);
        return ht_error_set(HT_ENOMEM, "out of memory starting the HTTP server");
    }
    if ((err = set_origins(h, config)) < 0 || (err = ht_http__ohif_open(h, config->ohif_dir)) < 0 ||
        (err = ht_archive_open(&h->archive, config->data_dir)) < 0 ||
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
        (unsigned)HT_HTTP_IDLE_SECONDS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)HT_HTTP_PER_CLIENT, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HT_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        request_done, h, MHD_OPTION_NOTIFY_CONNECTION, ht_http__guard_notify, h,
        MHD_OPTION_UNESCAPE_CALLBACK, ht_http__unescape, NULL, MHD_OPTION_ARRAY,
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
    ht_http__guard_stop(h->guard); /* it shuts sockets down: not once the daemon closes them */
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    ht_http__guard_free(h->guard);
    pthread_key_delete(h->store_key);
    ht_auth_brake_free(h->brake);
    ht_archive_free(h->archive);
    if (h->tls_key)
        explicit_bzero(h->tls_key, strlen(h->tls_key));
    ht_free(h->tls_key);
    ht_free(h->tls_cert);
    free(h->index_path);
    free(h->data_dir);
    free(h->ohif_dir);
    free(h);
}
