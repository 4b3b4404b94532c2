/*
 * What no client may do to the server: hold a connection without finishing its request's
 * headers (a watchdog shuts down a connection that has waited HT_HTTP_HEADER_SECONDS for them;
 * libmicrohttpd's own timeout only counts silence, which a header line every few seconds
 * resets), and smuggle a NUL into a path (%00 is decoded to a control character, which the
 * server refuses in a path, instead of cutting the path short).
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* One open connection: its socket and since when it has waited for a request's headers. */
typedef struct watched {
    struct watched *prev, *next;
    int fd;
    double waiting_since; /* monotonic seconds; 0 while a request is handled */
} watched;

struct ht_http_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int running, stopping;
    watched *list;
};

static void *watch(void *arg)
{
    ht_http_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000 * 1000;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
        double now = ht_time_monotonic();
        int ended = 0;
        for (watched *w = g->list; w; w = w->next)
            if (w->waiting_since > 0 && now - w->waiting_since > HT_HTTP_HEADER_SECONDS) {
                /* libmicrohttpd sees the peer gone and closes the connection itself; the fd
                 * is still open: it is closed only after the CLOSED notice removes w */
                shutdown(w->fd, SHUT_RDWR);
                w->waiting_since = 0;
                ended++;
            }
        if (ended)
            ht_log(HT_LOG_WARN,
                   "event=refused connections=%d reason=\"request headers not complete within "
                   "%d s\"",
                   ended, HT_HTTP_HEADER_SECONDS);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int ht_http__guard_start(ht_http_guard **out)
{
    ht_http_guard *g = calloc(1, sizeof(*g));
    *out = NULL;
    if (!g)
        return ht_error_set(HT_ENOMEM, "out of memory starting the HTTP server");
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    if (pthread_create(&g->thread, NULL, watch, g) != 0) {
        ht_http__guard_free(g);
        return ht_error_set(HT_ENOMEM, "cannot start the HTTP server's watchdog");
    }
    g->running = 1;
    *out = g;
    return HT_OK;
}

void ht_http__guard_stop(ht_http_guard *g)
{
    if (!g || !g->running)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    g->running = 0;
}

void ht_http__guard_free(ht_http_guard *g)
{
    if (!g)
        return;
    ht_http__guard_stop(g);
    while (g->list) {
        watched *w = g->list;
        g->list = w->next;
        free(w);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void ht_http__guard_notify(void *cls,
                           struct MHD_Connection *conn,
                           void **socket_context,
                           enum MHD_ConnectionNotificationCode code)
{
    ht_http_guard *g = ((ht_http *)cls)->guard;
    watched *w = *socket_context;
    pthread_mutex_lock(&g->lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci && (w = calloc(1, sizeof(*w)))) {
            w->fd = ci->connect_fd;
            w->waiting_since = ht_time_monotonic();
            w->next = g->list;
            if (g->list)
                g->list->prev = w;
            g->list = w;
            *socket_context = w;
        }
    } else if (w) {
        if (w->prev)
            w->prev->next = w->next;
        else
            g->list = w->next;
        if (w->next)
            w->next->prev = w->prev;
        free(w);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&g->lock);
}

void ht_http__guard_waiting(ht_http *h, struct MHD_Connection *conn, int waiting)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    watched *w = ci ? ci->socket_context : NULL;
    if (!w)
        return;
    pthread_mutex_lock(&h->guard->lock);
    w->waiting_since = waiting ? ht_time_monotonic() : 0;
    pthread_mutex_unlock(&h->guard->lock);
}

size_t ht_http__unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    for (char *p = s; (p = strchr(p, '%')) != NULL; p++)
        if (p[1] == '0' && p[2] == '0')
            memcpy(p + 1, "7F", 2); /* a control character the router refuses, not an end */
    return MHD_http_unescape(s);
}

int ht_http__path_ok(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}
