/*
 * libFuzzer: the HTTP API's router and handlers, through the real libmicrohttpd server on
 * loopback, on arbitrary request lines, query strings, headers and bodies. A small index (one CT
 * slice, one subject's measurements, one user with a token) gives the handlers something to
 * find.
 *
 * Input: byte 0 chooses the method (GET, POST, HEAD, PUT) and whether the bearer token and a
 * cross-site Origin are sent; then the path and query up to the first newline; the
 * rest is the body. Spaces and line ends in the path become '+', so that most inputs reach the
 * router rather than the request-line parser (which gets the rest).
 */
#define _GNU_SOURCE
#include "hepatrack/auth.h"
#include "hepatrack/http.h"
#include "hepatrack/ingest.h"
#include "hepatrack/ledger.h"
#include "hepatrack/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ht_http *http;
static int port;
static char token[HT_AUTH_SECRET_LEN + 1];

static const char measurements[] =
    "{\"subject\": \"F1\", \"reader\": \"r\", \"timepoints\": ["
    "{\"label\": \"BL\", \"date\": \"2026-01-01\", \"baseline\": true},"
    "{\"label\": \"FU1\", \"date\": \"2026-03-01\", \"baseline\": false}],"
    "\"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    "\"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 40},"
    "{\"lesion\": \"T1\", \"timepoint\": \"FU1\", \"long_axis_mm\": 20}]}";

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static void stop(void)
{
    ht_http_stop(http);
}

static void setup(void)
{
    char dir[] = "/tmp/ht-fuzz-http-XXXXXX", sample[600];
    ht_ingest *ingest;
    ht_ingest_result result;
    ht_store *store;
    ht_ledger_import_summary summary;
    uint8_t *file;
    size_t len;
    if (!mkdtemp(dir) || ht_ingest_open(&ingest, dir) != HT_OK)
        abort();
    snprintf(sample, sizeof(sample),
             "%s/ct/CTImage.dcm_LittleEndianExplicitTransferSyntax_"
             "1.2.840.10008.1.2.1.dcm",
             HT_SAMPLES_DIR);
    if (ht_file_read(sample, 1 << 24, &file, &len) != HT_OK ||
        ht_ingest_buffer(ingest, file, len, "fuzz", &result) != HT_OK)
        abort();
    ht_free(file);
    ht_ingest_free(ingest);
    char *index = ht_store_index_path(dir);
    if (ht_store_open(&store, index) != HT_OK ||
        ht_ledger_import(store, measurements, strlen(measurements), "fuzz", &summary) != HT_OK ||
        ht_auth_user_add(store, "fuzz", "fuzz", "radiologist", "fuzz-password") != HT_OK ||
        ht_auth_token(store, "fuzz", "fuzz", 86400, token) != HT_OK)
        abort();
    ht_store_free(store);
    free(index);
    /* A stand-in for OHIF's files, so that /ohif/ paths reach its handler. */
    char ohif[sizeof(dir) + 16], page[sizeof(ohif) + 16];
    snprintf(ohif, sizeof(ohif), "%s/ohif", dir);
    snprintf(page, sizeof(page), "%s/index.html", ohif);
    if (mkdir(ohif, 0700) < 0 || ht_file_replace(page, "<!doctype html>", 15) != HT_OK)
        abort();
    port = free_port();
    ht_http_config config = {
        .listen = "127.0.0.1", .port = port, .data_dir = dir, .threads = 2, .ohif_dir = ohif};
    if (ht_http_start(&http, &config) != HT_OK)
        abort();
    atexit(stop);
}

/* Send one request and read the whole answer (the server closes: Connection: close). */
static void exchange(const char *request, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {5, 0};
    char buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        send(fd, request, len, MSG_NOSIGNAL) == (ssize_t)len) {
        shutdown(fd, SHUT_WR);
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT"};
    if (!http)
        setup();
    if (size < 1 || size > 100000)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *rest = data + 1;
    size_t n = size - 1, path_len = 0;
    while (path_len < n && rest[path_len] != '\n')
        path_len++;
    /* Logging out with the one token would leave every later input unauthenticated. */
    if ((flags & 4) && path_len >= 11 && !memcmp(rest, "/api/logout", 11))
        return 0;
    const uint8_t *body = rest + path_len + (path_len < n);
    size_t body_len = n - path_len - (path_len < n);

    size_t cap = path_len + body_len + 512;
    char *req = malloc(cap);
    if (!req)
        return 0;
    size_t o = (size_t)snprintf(req, cap, "%s ", methods[flags & 3]);
    for (size_t i = 0; i < path_len; i++)
        req[o++] = rest[i] == ' ' || rest[i] == '\r' ? '+' : (char)rest[i];
    o += (size_t)snprintf(req + o, cap - o,
                          " HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                          "Content-Length: %zu\r\n",
                          port, body_len);
    if (flags & 4)
        o += (size_t)snprintf(req + o, cap - o, "Authorization: Bearer %s\r\n", token);
    if (flags & 8)
        o += (size_t)snprintf(req + o, cap - o, "Origin: http://elsewhere\r\n");
    o += (size_t)snprintf(req + o, cap - o, "\r\n");
    memcpy(req + o, body, body_len);
    exchange(req, o + body_len);
    free(req);
    return 0;
}
