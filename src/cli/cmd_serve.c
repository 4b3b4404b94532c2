/*
 * hepatrack serve: the DICOM receiver (and, with the web issue, the HTTP server) in the
 * foreground. Options come from an INI config file (inih) and the command line, which wins.
 * SIGTERM/SIGINT stop accepting, let instances in flight finish and commit, and exit 0;
 * SIGHUP reloads the allow-list from the config file.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "hepatrack/exchange.h"
#include "hepatrack/http.h"
#include "hepatrack/ingest.h"
#include "hepatrack/log.h"
#include "hepatrack/net.h"
#include "hepatrack/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ALLOW 256
#define MAX_DESTINATIONS 256

typedef struct serve_config {
    char data[1024];
    char listen[64];
    char aet[17];
    int dicom_port, http_port, max_associations, stable_seconds, timeout, http_no_auth;
    char *allow[MAX_ALLOW];
    int nallow;
    ht_scp_destination destinations[MAX_DESTINATIONS]; /* aet and host malloc'ed */
    int ndestinations;
    char log_level[16];
    char tls_cert[1024], tls_key[1024]; /* empty: no TLS */
    char public_origin[256];            /* empty: the listen address */
    char ohif_dir[1024];                /* empty: OHIF is not served */
    char error[1400];
} serve_config;

void cmd_serve_help(void)
{
    printf("usage: hepatrack serve [--config FILE] [--check-config] [--listen ADDR]\n"
           "                       [--dicom-port N] [--http-port N] [--aet TITLE]\n"
           "                       [--allow AET[@HOST]]... [--max-associations N]\n"
           "                       [--stable-seconds N] [--timeout SECONDS] [--http-no-auth]\n"
           "                       [--tls-cert FILE --tls-key FILE] [--public-origin URL]\n"
           "                       [--ohif DIR]\n\n"
           "Receive DICOM instances (C-ECHO, C-STORE) into the data directory and answer\n"
           "queries and retrievals (C-FIND, C-MOVE to the config file's [dicom.destinations],\n"
           "C-GET) until SIGTERM or Ctrl-C. Without --allow every calling AE title is accepted "
           "(with a warning).\n"
           "The HTTP API (users from 'hepatrack user') listens on loopback only unless it has\n"
           "--tls-cert and --tls-key (PEM), which make it HTTPS only; --http-port 0 turns it\n"
           "off, --http-no-auth opens it without logins (loopback only: benchmarks, demos).\n"
           "--public-origin (https://host[:port]) is where browsers reach it behind a proxy:\n"
           "the only Origin its state-changing requests may carry.\n"
           "--ohif DIR serves OHIF's built viewer (make ohif: build/ohif/www) under /ohif/,\n"
           "reading this server's DICOMweb with the station's login.\n"
           "The config file (INI) is documented in the README; options given here win.\n");
}

static void clear_allow(serve_config *c)
{
    for (int i = 0; i < c->nallow; i++)
        free(c->allow[i]);
    c->nallow = 0;
}

/* Everything a config holds that was allocated. */
static void free_config(serve_config *c)
{
    clear_allow(c);
    for (int i = 0; i < c->ndestinations; i++) {
        free((char *)c->destinations[i].aet);
        free((char *)c->destinations[i].host);
    }
    c->ndestinations = 0;
}

/* "AE = host:port" in [dicom.destinations]: 0, or -1 with c->error. */
static int add_destination(serve_config *c, const char *aet, const char *value)
{
    const char *colon = strrchr(value, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!*aet || strlen(aet) > 16 || strchr(aet, '\\')) {
        snprintf(c->error, sizeof(c->error),
                 "[dicom.destinations] '%.40s': an AE title is 1 to 16 characters", aet);
        return -1;
    }
    if (!colon || colon == value || colon - value > 253 || !end || *end || colon[1] == '\0' ||
        port < 1 || port > 65535) {
        snprintf(c->error, sizeof(c->error),
                 "[dicom.destinations] %s must be host:port with a port from 1 to 65535 (got "
                 "'%.300s')",
                 aet, value);
        return -1;
    }
    for (int i = 0; i < c->ndestinations; i++)
        if (!strcmp(c->destinations[i].aet, aet)) {
            snprintf(c->error, sizeof(c->error), "[dicom.destinations] %s is given twice", aet);
            return -1;
        }
    if (c->ndestinations >= MAX_DESTINATIONS) {
        snprintf(c->error, sizeof(c->error), "[dicom.destinations]: more than %d destinations",
                 MAX_DESTINATIONS);
        return -1;
    }
    ht_scp_destination *d = &c->destinations[c->ndestinations];
    d->aet = ht_strdup(aet);
    d->host = strndup(value, (size_t)(colon - value));
    d->port = (int)port;
    c->ndestinations++;
    if (!d->aet || !d->host) {
        snprintf(c->error, sizeof(c->error), "out of memory");
        return -1;
    }
    return 0;
}

static int add_allow(serve_config *c, const char *list)
{
    char *copy = ht_strdup(list), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (c->nallow >= MAX_ALLOW || strlen(tok) > 80) {
            free(copy);
            return -1;
        }
        c->allow[c->nallow++] = ht_strdup(tok);
    }
    free(copy);
    return 0;
}

static int parse_int(const char *v, int min, int max, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < min || n > max)
        return -1;
    *out = (int)n;
    return 0;
}

/* One key of the config file, or of the command line: 0 when taken, -1 with c->error. */
static int set_key(serve_config *c, const char *section, const char *key, const char *value)
{
    static const struct {
        const char *section, *key;
        int min, max;
        size_t field;
    } ints[] = {{"dicom", "port", 1, 65535, offsetof(serve_config, dicom_port)},
                {"dicom", "max_associations", 1, 256, offsetof(serve_config, max_associations)},
                {"dicom", "timeout", 1, 3600, offsetof(serve_config, timeout)},
                {"dicom", "stable_seconds", 1, 86400 * 7, offsetof(serve_config, stable_seconds)},
                {"http", "port", 0, 65535, offsetof(serve_config, http_port)}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (strcmp(section, ints[i].section) || strcmp(key, ints[i].key))
            continue;
        if (parse_int(value, ints[i].min, ints[i].max, (int *)(void *)((char *)c + ints[i].field)) <
            0) {
            snprintf(c->error, sizeof(c->error),
                     "[%s] %s must be a number from %d to %d (got '%s')", section, key, ints[i].min,
                     ints[i].max, value);
            return -1;
        }
        return 0;
    }
    if (!strcmp(section, "index")) { /* one place for every command on the data directory */
        snprintf(c->error, sizeof(c->error),
                 "[index] %s: the index's settings belong in the data directory's index.ini, so "
                 "that import, ls, check and the rest open the same index (docs/deployment.md)",
                 key);
        return -1;
    }
    if (!strcmp(section, "dicom") && !strcmp(key, "aet")) {
        if (!*value || strlen(value) > 16) {
            snprintf(c->error, sizeof(c->error), "[dicom] aet must be 1 to 16 characters");
            return -1;
        }
        snprintf(c->aet, sizeof(c->aet), "%s", value);
        return 0;
    }
    if (!strcmp(section, "dicom") && !strcmp(key, "listen")) {
        struct in_addr a;
        if (inet_pton(AF_INET, value, &a) != 1) {
            snprintf(c->error, sizeof(c->error),
                     "[dicom] listen must be an IPv4 address (got '%s')", value);
            return -1;
        }
        snprintf(c->listen, sizeof(c->listen), "%s", value);
        return 0;
    }
    if (!strcmp(section, "dicom") && !strcmp(key, "allow")) {
        if (add_allow(c, value) < 0) {
            snprintf(c->error, sizeof(c->error), "[dicom] allow: too many or too long entries");
            return -1;
        }
        return 0;
    }
    if (!strcmp(section, "http") && (!strcmp(key, "tls_cert") || !strcmp(key, "tls_key"))) {
        char *to = key[4] == 'c' ? c->tls_cert : c->tls_key;
        if (!*value || strlen(value) >= sizeof(c->tls_cert)) {
            snprintf(c->error, sizeof(c->error), "[http] %s must be a file's path", key);
            return -1;
        }
        snprintf(to, sizeof(c->tls_cert), "%s", value);
        return 0;
    }
    if (!strcmp(section, "http") && !strcmp(key, "public_origin")) {
        if (!*value || strlen(value) >= sizeof(c->public_origin)) {
            snprintf(c->error, sizeof(c->error), "[http] public_origin must be a URL's origin");
            return -1;
        }
        snprintf(c->public_origin, sizeof(c->public_origin), "%s", value);
        return 0;
    }
    if (!strcmp(section, "http") && !strcmp(key, "ohif_dir")) {
        if (!*value || strlen(value) >= sizeof(c->ohif_dir)) {
            snprintf(c->error, sizeof(c->error), "[http] ohif_dir must be a folder's path");
            return -1;
        }
        snprintf(c->ohif_dir, sizeof(c->ohif_dir), "%s", value);
        return 0;
    }
    if (!strcmp(section, "dicom.destinations"))
        return add_destination(c, key, value);
    if (!strcmp(section, "storage") && !strcmp(key, "data")) {
        snprintf(c->data, sizeof(c->data), "%s", value);
        return 0;
    }
    if (!strcmp(section, "log") && !strcmp(key, "level")) {
        ht_log_level lvl;
        if (ht_log_parse_level(value, &lvl) < 0) {
            snprintf(c->error, sizeof(c->error), "[log] %s", ht_error_last());
            return -1;
        }
        snprintf(c->log_level, sizeof(c->log_level), "%s", value);
        return 0;
    }
    snprintf(c->error, sizeof(c->error), "unknown key '%s' in section [%s]", key, section);
    return -1;
}

static int config_entry(void *user, const char *section, const char *name, const char *value)
{
    return set_key(user, section, name, value) == 0;
}

static int load_config(serve_config *c, const char *path)
{
    int rc = ini_parse(path, config_entry, c);
    if (rc < 0) {
        snprintf(c->error, sizeof(c->error), "cannot read config file '%s'", path);
        return -1;
    }
    if (rc > 0) {
        char msg[sizeof(c->error)];
        snprintf(msg, sizeof(msg), "%.1000s, line %d: %.300s", path, rc,
                 c->error[0] ? c->error : "not INI syntax");
        snprintf(c->error, sizeof(c->error), "%s", msg);
        return -1;
    }
    return 0;
}

static void defaults(serve_config *c, const cli_context *ctx)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->data, sizeof(c->data), "%s", ctx->data_dir);
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1");
    snprintf(c->aet, sizeof(c->aet), "HEPATRACK");
    c->dicom_port = 11112;
    c->http_port = 8080;
    c->max_associations = 8;
    c->stable_seconds = 60;
    c->timeout = 30;
}

static int log_stable(void *payload, const char *study_uid)
{
    (void)payload;
    ht_log(HT_LOG_INFO, "event=stable study=%s", study_uid);
    return 0;
}

/* Measurement reports that arrived (C-STORE, STOW-RS) read for proposals (spec 11), on the main
 * thread's own connection, once a second. */
typedef struct reports_reader {
    ht_store *store;
    ht_archive *archive;
} reports_reader;

static void reports_open(reports_reader *r, const char *data_dir)
{
    char *index = ht_store_index_path(data_dir);
    if (!index || ht_store_open(&r->store, index) < 0 || ht_archive_open(&r->archive, data_dir) < 0)
        ht_log(HT_LOG_ERROR, "event=error reason=\"reports will not be read: %s\"",
               ht_error_last());
    free(index);
}

static void read_reports(reports_reader *r)
{
    ht_exchange_import_summary sum = {0};
    if (!r->store || !r->archive)
        return;
    if (ht_exchange_sr_pending(r->store, r->archive, &sum) < 0)
        ht_log(HT_LOG_ERROR, "event=error reason=\"reading reports: %s\"", ht_error_last());
    else if (sum.reports)
        ht_log(HT_LOG_INFO, "event=reports read=%d own=%d proposed=%d unmatched=%d known=%d",
               sum.reports, sum.own, sum.proposed, sum.unmatched, sum.known);
}

static void reports_close(reports_reader *r)
{
    ht_store_free(r->store);
    ht_archive_free(r->archive);
}

int cmd_serve(const cli_context *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"check-config", no_argument, NULL, 'k'},
                                            {"listen", required_argument, NULL, 'l'},
                                            {"dicom-port", required_argument, NULL, 'p'},
                                            {"http-port", required_argument, NULL, 'h'},
                                            {"aet", required_argument, NULL, 'a'},
                                            {"allow", required_argument, NULL, 'w'},
                                            {"max-associations", required_argument, NULL, 'm'},
                                            {"stable-seconds", required_argument, NULL, 's'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"http-no-auth", no_argument, NULL, 'n'},
                                            {"tls-cert", required_argument, NULL, 'C'},
                                            {"tls-key", required_argument, NULL, 'K'},
                                            {"public-origin", required_argument, NULL, 'O'},
                                            {"ohif", required_argument, NULL, 'H'},
                                            {0, 0, 0, 0}};
    serve_config c, from_file;
    const char *config_path = NULL;
    int check_only = 0, opt, cli_allow = 0;

    /* First the config file (so that the command line can override it). */
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1)
        if (opt == 'c')
            config_path = optarg;
    defaults(&c, ctx);
    if (config_path && load_config(&c, config_path) < 0) {
        cli_error("serve", "%s", c.error);
        free_config(&c);
        return CLI_FATAL;
    }
    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        static const struct {
            int opt;
            const char *section, *key;
        } map[] = {{'l', "dicom", "listen"},
                   {'p', "dicom", "port"},
                   {'h', "http", "port"},
                   {'a', "dicom", "aet"},
                   {'m', "dicom", "max_associations"},
                   {'s', "dicom", "stable_seconds"},
                   {'t', "dicom", "timeout"},
                   {'C', "http", "tls_cert"},
                   {'K', "http", "tls_key"},
                   {'O', "http", "public_origin"},
                   {'H', "http", "ohif_dir"}};
        int done = 0;
        if (opt == 'c')
            continue;
        if (opt == 'k') {
            check_only = 1;
            continue;
        }
        if (opt == 'n') {
            c.http_no_auth = 1;
            continue;
        }
        if (opt == 'w') {
            if (!cli_allow) /* --allow replaces the file's list */
                clear_allow(&c);
            cli_allow = 1;
            if (add_allow(&c, optarg) < 0) {
                cli_error("serve", "--allow: too many or too long entries");
                free_config(&c);
                return CLI_FATAL;
            }
            continue;
        }
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (map[i].opt == opt) {
                if (set_key(&c, map[i].section, map[i].key, optarg) < 0) {
                    cli_error("serve", "%s", c.error);
                    free_config(&c);
                    return CLI_FATAL;
                }
                done = 1;
            }
        }
        if (!done) {
            cmd_serve_help();
            free_config(&c);
            return CLI_FATAL;
        }
    }
    if (c.http_no_auth && strcmp(c.listen, "127.0.0.1") != 0) {
        cli_error("serve", "--http-no-auth is refused unless the server listens on loopback only");
        free_config(&c);
        return CLI_FATAL;
    }
    if (!c.tls_cert[0] != !c.tls_key[0]) {
        cli_error("serve", "TLS needs both --tls-cert and --tls-key");
        free_config(&c);
        return CLI_FATAL;
    }
    if (c.http_port && strncmp(c.listen, "127.", 4) != 0 && !c.tls_cert[0]) {
        cli_error("serve", "the HTTP API beyond loopback needs TLS: give --tls-cert and "
                           "--tls-key, listen on 127.0.0.1, or give --http-port 0 for DICOM only");
        free_config(&c);
        return CLI_FATAL;
    }
    if (check_only) {
        printf("configuration is valid: aet=%s listen=%s dicom-port=%d http-port=%d "
               "max-associations=%d allow=%d entries destinations=%d data=%s\n",
               c.aet, c.listen, c.dicom_port, c.http_port, c.max_associations, c.nallow,
               c.ndestinations, c.data);
        free_config(&c);
        return CLI_OK;
    }
    if (c.log_level[0]) {
        ht_log_level lvl;
        ht_log_parse_level(c.log_level, &lvl);
        ht_log_set_level(lvl);
    }

    /* Signals are taken by sigwait in this thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ht_ingest *ingest = NULL;
    ht_scp *scp = NULL;
    /* Instances and frames are buffers of about half a megabyte: glibc would map and unmap
     * each one, and every request would fault its pages in again. Kept on the heap, they are
     * reused: a 512 KB frame went from 0.89 to 0.63 ms a request. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    int err = ht_ingest_open(&ingest, c.data);
    if (err < 0) {
        cli_error("serve", "cannot open data directory '%s': %s", c.data, ht_error_last());
        free_config(&c);
        return CLI_FATAL;
    }
    int left = cli_recover(ingest, c.data);
    if (left < 0) /* received instances stay durable; only the index's durable mark waits */
        ht_log(HT_LOG_ERROR,
               "event=recovery reason=\"%s: the batches a stop left unconfirmed are verified "
               "again at the next start; run hepatrack check\"",
               ht_error_last());
    else if (left > 0)
        ht_log(HT_LOG_WARN,
               "event=recovery reason=\"%d problems need a person: run hepatrack "
               "check\"",
               left);
    ht_scp_config sc = HT_SCP_CONFIG_INIT;
    sc.listen = c.listen;
    sc.port = c.dicom_port;
    sc.aet = c.aet;
    sc.allow = (const char *const *)c.allow;
    sc.nallow = c.nallow;
    sc.max_associations = c.max_associations;
    sc.timeout_seconds = c.timeout;
    sc.data_dir = c.data;
    sc.destinations = c.destinations;
    sc.ndestinations = c.ndestinations;
    if ((err = ht_scp_start(&scp, &sc, ingest)) < 0) {
        cli_error("serve", "%s", ht_error_last());
        ht_ingest_free(ingest);
        free_config(&c);
        return CLI_FATAL;
    }
    if (c.nallow == 0)
        ht_log(HT_LOG_WARN, "event=config reason=\"no allow-list: every calling AE title is "
                            "accepted\"");
    ht_http *http = NULL;
    if (c.http_port) {
        ht_http_config hc = {.listen = c.listen,
                             .port = c.http_port,
                             .data_dir = c.data,
                             .no_auth = c.http_no_auth,
                             .threads = 4,
                             .tls_cert = c.tls_cert[0] ? c.tls_cert : NULL,
                             .tls_key = c.tls_key[0] ? c.tls_key : NULL,
                             .public_origin = c.public_origin[0] ? c.public_origin : NULL,
                             .ingest = ingest,
                             .ohif_dir = c.ohif_dir[0] ? c.ohif_dir : NULL};
        if (ht_http_start(&http, &hc) < 0) {
            cli_error("serve", "%s", ht_error_last());
            ht_scp_stop(scp);
            ht_ingest_free(ingest);
            free_config(&c);
            return CLI_FATAL;
        }
        ht_log(HT_LOG_INFO, "event=listening http=%s://%s:%d/api/ auth=%s",
               c.tls_cert[0] ? "https" : "http", c.listen, c.http_port,
               c.http_no_auth ? "none" : "users");
        if (c.ohif_dir[0])
            ht_log(HT_LOG_INFO, "event=listening ohif=%s://%s:%d/ohif/ dir=%s",
                   c.tls_cert[0] ? "https" : "http", c.listen, c.http_port, c.ohif_dir);
    } else {
        ht_log(HT_LOG_INFO, "event=config reason=\"HTTP API off (--http-port 0)\"");
    }
    ht_log(HT_LOG_INFO, "event=listening aet=%s address=%s dicom_port=%d data=%s", c.aet, c.listen,
           c.dicom_port, c.data);
    reports_reader reports = {NULL, NULL};
    reports_open(&reports, c.data);
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig < 0) { /* a second without a signal: studies that went quiet become stable */
            if (ht_ingest_mark_stable(ingest, c.stable_seconds, log_stable, NULL) < 0)
                ht_log(HT_LOG_ERROR, "event=error reason=\"%s\"", ht_error_last());
            read_reports(&reports);
            continue;
        }
        if (sig == SIGHUP) {
            if (!config_path || cli_allow) {
                ht_log(HT_LOG_INFO, "event=reload reason=\"the allow-list comes from the "
                                    "command line: nothing to reload\"");
                continue;
            }
            defaults(&from_file, ctx);
            if (load_config(&from_file, config_path) < 0) {
                ht_log(HT_LOG_ERROR, "event=reload reason=\"%s\" (the old list stays)",
                       from_file.error);
            } else {
                ht_scp_set_allow(scp, (const char *const *)from_file.allow, from_file.nallow);
                if (ht_scp_set_destinations(scp, from_file.destinations, from_file.ndestinations) <
                    0)
                    ht_log(HT_LOG_ERROR, "event=reload reason=\"%s\" (the old destinations stay)",
                           ht_error_last());
                ht_log(HT_LOG_INFO, "event=reload allow=%d destinations=%d", from_file.nallow,
                       from_file.ndestinations);
            }
            free_config(&from_file);
            continue;
        }
        ht_log(HT_LOG_INFO, "event=stopping signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    reports_close(&reports);
    ht_http_stop(http);
    ht_scp_stop(scp);
    ht_ingest_free(ingest); /* the last batch commits here */
    ht_log(HT_LOG_INFO, "event=stopped");
    free_config(&c);
    return CLI_OK;
}
