/*
 * hepatrack import: files, folders (recursively) and DICOMDIR file-sets into the archive.
 * Worker threads read and ingest files in parallel; ingest groups their index commits.
 */
#define _GNU_SOURCE
#include "cli.h"

#include "hepatrack/dicom.h"
#include "hepatrack/exchange.h"
#include "hepatrack/ingest.h"
#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"
#include "hepatrack/util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE_BYTES ((size_t)2 << 30)
#define MAX_JOBS 64

typedef struct rejection {
    char *path;
    char *reason;
} rejection;

typedef struct import_job {
    ht_ingest *ingest;
    pthread_mutex_t lock;
    pthread_cond_t more; /* a file was queued, or a worker finished one */
    char **queue;        /* real paths, deduplicated through `seen` */
    size_t nqueue, capqueue, next;
    ht_strset *seen;
    ht_strset *folders; /* "device:inode" of each folder walked */
    int busy;           /* workers handling a file (which may queue DICOMDIR members) */
    int fatal;
    char fatal_message[1200];
    size_t counts[4];                  /* new, duplicate, conflict, skipped */
    uint64_t bytes_queued, bytes_done; /* for the progress report */
    rejection *rejected;
    size_t nrejected, caprejected;
    char (*reports)[65]; /* SR and SEG instances imported, read for proposals at the end */
    size_t nreports, capreports;
    ht_exchange_import_summary read; /* what reading them came to */
    int accepted;                    /* proposals accepted (--accept) */
    int reports_error;               /* reading them failed (the import itself stands) */
} import_job;

enum { COUNT_NEW, COUNT_DUPLICATE, COUNT_CONFLICT, COUNT_SKIPPED };

void cmd_import_help(void)
{
    printf("usage: hepatrack import [--json] [--jobs N] [--progress SECONDS]\n"
           "                        [--accept [--reader NAME]] PATH...\n\n"
           "Import DICOM Part 10 files. Folders are read recursively; a DICOMDIR brings in the\n"
           "files it lists (each file is imported once, however it is reached).\n\n"
           "  --json     print {\"new\",\"duplicate\",\"conflict\",\"skipped\",\"rejected\"}\n"
           "  --jobs N   parallel workers (default: 4 per core)\n"
           "  --accept   accept at once the measurements the imported DICOM SR reports\n"
           "             propose (into subjects already enrolled; spec 11), as --reader\n"
           "             (default $USER); without it they wait in 'hepatrack proposals'\n"
           "  --progress SECONDS\n"
           "             on a terminal a progress bar (files, MB, rate, time left) is redrawn\n"
           "             in place; otherwise a plain line goes to stderr every SECONDS\n"
           "             (default 10; 0: none)\n\n"
           "exit status: 0 all imported, 1 some files rejected (the rest imported),\n"
           "             2 usage or fatal error (disk full, read-only data directory...)\n");
}

/* ---- the queue (lock held by callers) ------------------------------------------------------ */

static int enqueue(import_job *job, const char *path, uint64_t size)
{
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    int added = ht_strset_add(job->seen, key);

    if (added <= 0)
        return added; /* already queued, or out of memory */
    if (HT_GROW(job->queue, job->capqueue, job->nqueue + 1) < 0)
        return HT_ENOMEM;
    if (!(job->queue[job->nqueue] = ht_strdup(key)))
        return HT_ENOMEM;
    job->nqueue++;
    job->bytes_queued += size;
    pthread_cond_signal(&job->more);
    return 1;
}

static void reject(import_job *job, const char *path, const char *reason)
{
    pthread_mutex_lock(&job->lock);
    if (HT_GROW(job->rejected, job->caprejected, job->nrejected + 1) == HT_OK) {
        job->rejected[job->nrejected].path = ht_strdup(path);
        job->rejected[job->nrejected].reason = ht_strdup(reason);
        job->nrejected++;
    }
    pthread_mutex_unlock(&job->lock);
}

static void count(import_job *job, int which, size_t bytes)
{
    pthread_mutex_lock(&job->lock);
    job->counts[which]++;
    job->bytes_done += bytes;
    pthread_mutex_unlock(&job->lock);
}

static void set_fatal(import_job *job, const char *message)
{
    pthread_mutex_lock(&job->lock);
    if (!job->fatal) {
        job->fatal = 1;
        snprintf(job->fatal_message, sizeof(job->fatal_message), "%s", message);
    }
    pthread_cond_broadcast(&job->more);
    pthread_mutex_unlock(&job->lock);
}

/* ---- collecting paths ---------------------------------------------------------------------- */

/* Whether the symbolic link `path` leads to a folder that holds the link itself ("..", ".",
 * "/"): walking it would never end. */
static int links_to_ancestor(const char *path)
{
    char target[PATH_MAX], here[PATH_MAX];
    char *parent = ht_strdup(path), *slash = parent ? strrchr(parent, '/') : NULL;
    int loop = 0;
    if (slash)
        *slash = '\0';
    if (parent && realpath(path, target) &&
        realpath(slash ? (*parent ? parent : "/") : ".", here)) {
        size_t n = strlen(target);
        loop = !strncmp(target, here, n) && (n == 1 || here[n] == '/' || here[n] == '\0');
    }
    free(parent);
    return loop;
}

/* A folder is walked once: a second way to it (a link loop, or two links) is reported. */
static int first_visit(import_job *job, const char *path, const struct stat *st, int is_link)
{
    char key[64];
    snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
    int added = ht_strset_add(job->folders, key);
    if (added == 0)
        reject(job, path,
               is_link ? "symbolic link to a folder already walked (a loop, or a second link)"
                       : "folder already walked");
    return added;
}

static int collect(import_job *job, const char *path, int depth)
{
    struct stat st;
    int err = HT_OK, is_link;

    if (lstat(path, &st) != 0) {
        reject(job, path, strerror(errno));
        return HT_OK;
    }
    is_link = S_ISLNK(st.st_mode);
    if (is_link && stat(path, &st) != 0) {
        reject(job, path, "dangling symbolic link");
        return HT_OK;
    }
    if (S_ISREG(st.st_mode)) {
        pthread_mutex_lock(&job->lock);
        err = enqueue(job, path, (uint64_t)st.st_size);
        pthread_mutex_unlock(&job->lock);
        return err < 0 ? err : HT_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        reject(job, path, "not a regular file or folder");
        return HT_OK;
    }
    if (depth > 64) {
        reject(job, path, "folders nested too deeply (a symbolic link loop?)");
        return HT_OK;
    }
    if (is_link && links_to_ancestor(path)) {
        reject(job, path, "symbolic link to a folder that holds it (a loop)");
        return HT_OK;
    }
    int first = first_visit(job, path, &st, is_link);
    if (first <= 0)
        return first < 0 ? HT_ENOMEM : HT_OK;
    /* Sorted, so that an import's order (and which twin comes first) is repeatable. */
    struct dirent **entries = NULL;
    int n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) {
        reject(job, path, strerror(errno));
        return HT_OK;
    }
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (err == HT_OK && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char *child = ht_strprintf("%s/%s", path, name);
            err = child ? collect(job, child, depth + 1) : HT_ENOMEM;
            free(child);
        }
        free(entries[i]);
    }
    free(entries);
    return err;
}

/* ---- workers ------------------------------------------------------------------------------- */

static void import_dicomdir(import_job *job, const char *path)
{
    char **files = NULL;
    size_t n = 0;

    count(job, COUNT_SKIPPED, 0);
    if (ht_dicom_dicomdir_files(path, &files, &n) < 0) {
        reject(job, path, ht_error_last());
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            char *reason = ht_strprintf("listed in DICOMDIR '%s' but not found", path);
            reject(job, files[i], reason ? reason : "listed in a DICOMDIR but not found");
            free(reason);
        } else {
            pthread_mutex_lock(&job->lock);
            enqueue(job, files[i], (uint64_t)st.st_size);
            pthread_mutex_unlock(&job->lock);
        }
        free(files[i]);
    }
    free(files);
}

static int is_fatal(int err)
{
    return err == HT_ENOSPC || err == HT_EPERM || err == HT_EIO || err == HT_EDB ||
           err == HT_ENOMEM;
}

static void import_file(import_job *job, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ht_ingest_result result;
    char *source;
    int err;

    if (ht_file_read(path, MAX_FILE_BYTES, &data, &len) < 0) {
        reject(job, path, ht_error_last());
        return;
    }
    size_t bytes = len;
    source = ht_strprintf("import:%s", path);
    err = ht_ingest_buffer(job->ingest, data, len, source ? source : "import", &result);
    free(source);
    free(data);
    /* SR reports and segmentations: read for proposals at the end */
    if (err == HT_OK && (!strncmp(result.sop_class_uid, "1.2.840.10008.5.1.4.1.1.88.", 27) ||
                         !strcmp(result.sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4"))) {
        pthread_mutex_lock(&job->lock);
        if (HT_GROW(job->reports, job->capreports, job->nreports + 1) == 0)
            snprintf(job->reports[job->nreports++], 65, "%s", result.sop_instance_uid);
        pthread_mutex_unlock(&job->lock);
    }
    if (err == HT_OK) {
        count(job,
              result.outcome == HT_INGEST_NEW         ? COUNT_NEW
              : result.outcome == HT_INGEST_DUPLICATE ? COUNT_DUPLICATE
                                                      : COUNT_CONFLICT,
              bytes);
    } else if (err == HT_EUNSUPPORTED &&
               strcmp(result.sop_class_uid, "1.2.840.10008.1.3.10") == 0) {
        import_dicomdir(job, path);
    } else if (is_fatal(err)) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "%s: %s", path, ht_error_last());
        set_fatal(job, msg);
    } else {
        reject(job, path, ht_error_last());
    }
}

static void *worker_main(void *arg)
{
    import_job *job = arg;

    pthread_mutex_lock(&job->lock);
    for (;;) {
        while (!job->fatal && job->next == job->nqueue && job->busy > 0)
            pthread_cond_wait(&job->more, &job->lock);
        if (job->fatal || job->next == job->nqueue)
            break;
        char *path = job->queue[job->next++];
        job->busy++;
        pthread_mutex_unlock(&job->lock);
        import_file(job, path);
        pthread_mutex_lock(&job->lock);
        job->busy--;
        pthread_cond_broadcast(&job->more);
    }
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* ---- output -------------------------------------------------------------------------------- */

/* "1234/5000 files, 612/2480 MB, 85.3 MB/s, 0:22 left": the rate and the time left from the
 * bytes read so far (files differ too much in size to count them). */
static void progress_text(import_job *job, double elapsed, char *out, size_t size, double *part)
{
    size_t done, total;
    uint64_t bytes, all;
    pthread_mutex_lock(&job->lock);
    done = job->counts[0] + job->counts[1] + job->counts[2] + job->counts[3] + job->nrejected;
    total = job->nqueue + job->nrejected;
    bytes = job->bytes_done;
    all = job->bytes_queued;
    pthread_mutex_unlock(&job->lock);
    done = done > total ? total : done;
    bytes = bytes > all ? all : bytes;
    double mb = (double)bytes / 1e6, rate = elapsed > 0 ? mb / elapsed : 0;
    int n = snprintf(out, size, "%zu/%zu files, %.0f/%.0f MB, %.1f MB/s", done, total, mb,
                     (double)all / 1e6, rate);
    if (rate > 0 && bytes < all && n > 0 && (size_t)n < size) {
        long left = (long)(((double)(all - bytes) / 1e6) / rate + 0.5);
        snprintf(out + n, size - (size_t)n, ", %ld:%02ld left", left / 60, left % 60);
    }
    *part = total ? (double)done / (double)total : 1;
}

/* A bar redrawn in place on a terminal; elsewhere (a log, a pipe) a plain line now and then. */
static void progress(import_job *job, double elapsed, int tty, int final)
{
    char text[160];
    double part;
    progress_text(job, elapsed, text, sizeof(text), &part);
    if (!tty) {
        fprintf(stderr, "import: %s\n", text);
        return;
    }
    int width = 30, filled = (int)(part * width);
    fprintf(stderr, "\r[%.*s%*s] %s\033[K", filled, "##############################",
            width - filled, "", text);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void print_summary(import_job *job, int as_json)
{
    if (as_json) {
        json_t *o = json_object(), *rej = json_array();
        json_object_set_new(o, "new", json_integer((json_int_t)job->counts[COUNT_NEW]));
        json_object_set_new(o, "duplicate", json_integer((json_int_t)job->counts[COUNT_DUPLICATE]));
        json_object_set_new(o, "conflict", json_integer((json_int_t)job->counts[COUNT_CONFLICT]));
        json_object_set_new(o, "skipped", json_integer((json_int_t)job->counts[COUNT_SKIPPED]));
        for (size_t i = 0; i < job->nrejected; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "path", json_string(job->rejected[i].path));
            json_object_set_new(r, "reason", json_string(job->rejected[i].reason));
            json_array_append_new(rej, r);
        }
        json_object_set_new(o, "rejected", rej);
        if (job->read.reports || job->nreports)
            json_object_set_new(o, "reports",
                                json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "read",
                                          job->read.reports, "own", job->read.own, "proposed",
                                          job->read.proposed, "unmatched", job->read.unmatched,
                                          "known", job->read.known, "accepted", job->accepted));
        cli_print_json(o);
        json_decref(o);
        return;
    }
    printf("%zu new, %zu duplicate, %zu conflict, %zu skipped, %zu rejected\n",
           job->counts[COUNT_NEW], job->counts[COUNT_DUPLICATE], job->counts[COUNT_CONFLICT],
           job->counts[COUNT_SKIPPED], job->nrejected);
    for (size_t i = 0; i < job->nrejected; i++)
        printf("rejected %s: %s\n", cli_shown(job->rejected[i].path),
               cli_shown(job->rejected[i].reason));
    if (job->read.reports)
        printf("measurement reports: %d read (%d hepatrack's own), %d groups proposed, %d "
               "unmatched, %d known, %d accepted\n",
               job->read.reports, job->read.own, job->read.proposed, job->read.unmatched,
               job->read.known, job->accepted);
}

/* ---- measurement reports: proposals (spec 11) ------------------------------------------------ */

/* Accept the proposals of the reports this import brought (the operator's --accept, for
 * migrations and the round trip): a new lesion takes the role its report names. */
static int accept_reports(import_job *job, ht_store *store, ht_archive *archive, const char *actor)
{
    ht_measure_source drawn_on = {store, archive};
    ht_ledger_import_options read = {ht_measure_complete, &drawn_on, 0, HT_LEDGER_READS, 0};
    for (size_t r = 0; r < job->nreports; r++) {
        json_t *items = NULL, *p;
        size_t i;
        if (ht_ledger_proposals(store, NULL, "proposed", job->reports[r], &items) < 0)
            return HT_EDB;
        json_array_foreach(items, i, p)
        {
            ht_ledger_import_summary sum;
            int64_t id = json_integer_value(json_object_get(p, "id"));
            if (ht_ledger_proposal_accept(store, id, actor, NULL, &read, &sum) == HT_OK) {
                job->accepted++;
            } else {
                cli_error("import", "proposal %lld (report %s) not accepted: %s", (long long)id,
                          job->reports[r], ht_error_last());
                job->reports_error = 1;
            }
        }
        json_decref(items);
    }
    return HT_OK;
}

/* Read the SR instances that reached the index (these, and any received before and not read
 * yet) for proposals; with accept, accept this import's. */
static void read_reports(const cli_context *ctx, import_job *job, int accept, const char *actor)
{
    ht_store *store = NULL;
    ht_archive *archive = NULL;
    if (!job->nreports)
        return;
    if (cli_open_store(ctx, "import", &store) < 0 || ht_archive_open(&archive, ctx->data_dir) < 0 ||
        ht_exchange_sr_pending(store, archive, &job->read) < 0 ||
        (accept && accept_reports(job, store, archive, actor) < 0)) {
        cli_error("import", "reading measurement reports: %s", ht_error_last());
        job->reports_error = 1;
    }
    ht_archive_free(archive);
    ht_store_free(store);
}

/* ---- the command --------------------------------------------------------------------------- */

static int default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long jobs = (cores > 0 ? cores : 1) * 4;
    return (int)(jobs > 16 ? 16 : jobs);
}

/* The last batch of an earlier run that the machine's stop left short: never reported as
 * imported, so its rows go; importing the files again brings them back. */
static int warn_unconfirmed(void *payload, const char *sop_uid, const char *why)
{
    (void)payload;
    cli_error("import", "instance %s of an interrupted earlier import removed: %s", sop_uid, why);
    return 0;
}

int cmd_import(const cli_context *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},           {"jobs", required_argument, NULL, 'n'},
        {"progress", required_argument, NULL, 'p'}, {"accept", no_argument, NULL, 'a'},
        {"reader", required_argument, NULL, 'r'},   {0, 0, 0, 0}};
    int accept = 0;
    const char *reader = getenv("USER") ? getenv("USER") : "operator";
    import_job job;
    pthread_t threads[MAX_JOBS];
    int as_json = 0, jobs = default_jobs(), started = 0, opt, err, rc;
    long every = 10; /* seconds between plain progress lines */

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j') {
            as_json = 1;
        } else if (opt == 'a') {
            accept = 1;
        } else if (opt == 'r') {
            reader = optarg;
        } else if (opt == 'n') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > MAX_JOBS) {
                cli_error("import", "--jobs must be between 1 and %d (got '%s')", MAX_JOBS, optarg);
                return CLI_FATAL;
            }
            jobs = (int)v;
        } else if (opt == 'p') {
            char *end;
            every = strtol(optarg, &end, 10);
            if (*end || end == optarg || every < 0 || every > 86400) {
                cli_error("import", "--progress takes 0 to 86400 seconds (got '%s')", optarg);
                return CLI_FATAL;
            }
        } else {
            cmd_import_help();
            return CLI_FATAL;
        }
    }
    if (optind >= argc) {
        cli_error("import", "no files or folders given (see hepatrack import --help)");
        return CLI_FATAL;
    }

    memset(&job, 0, sizeof(job));
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.more, NULL);
    job.seen = ht_strset_new();
    job.folders = ht_strset_new();
    if (!job.seen || !job.folders) {
        cli_error("import", "out of memory");
        return CLI_FATAL;
    }
    if ((err = ht_ingest_open(&job.ingest, ctx->data_dir)) < 0 ||
        (err = ht_ingest_confirm_batches(job.ingest, warn_unconfirmed, NULL)) < 0) {
        cli_error("import", "cannot open data directory '%s': %s", ctx->data_dir, ht_error_last());
        ht_ingest_free(job.ingest);
        ht_strset_free(job.seen);
        ht_strset_free(job.folders);
        return CLI_FATAL;
    }
    err = HT_OK;
    for (int i = optind; i < argc && err == HT_OK; i++)
        err = collect(&job, argv[i], 0);
    if (err < 0)
        set_fatal(&job, "out of memory collecting files");

    job.busy = 1; /* the main thread holds the queue open until the workers have started */
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&threads[i], NULL, worker_main, &job) == 0)
            started++;
    pthread_mutex_lock(&job.lock);
    job.busy--;
    pthread_cond_broadcast(&job.more);
    pthread_mutex_unlock(&job.lock);

    int tty = isatty(STDERR_FILENO);
    double start = ht_time_monotonic(), shown = start;
    for (;;) {
        struct timespec ts = {0, 100000000L};
        pthread_mutex_lock(&job.lock);
        int finished = job.fatal || (job.next == job.nqueue && job.busy == 0);
        pthread_mutex_unlock(&job.lock);
        if (finished)
            break;
        double now = ht_time_monotonic();
        if (tty || (every > 0 && now - shown >= (double)every)) {
            progress(&job, now - start, tty, 0);
            shown = now;
        }
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (tty)
        progress(&job, ht_time_monotonic() - start, tty, 1);
    ht_ingest_free(job.ingest);
    read_reports(ctx, &job, accept, reader);

    print_summary(&job, as_json);
    if (job.fatal) {
        cli_error("import", "stopped: %s", job.fatal_message);
        rc = CLI_FATAL;
    } else {
        rc = job.nrejected || job.reports_error ? CLI_PARTIAL : CLI_OK;
    }
    for (size_t i = 0; i < job.nqueue; i++)
        free(job.queue[i]);
    free(job.queue);
    for (size_t i = 0; i < job.nrejected; i++) {
        free(job.rejected[i].path);
        free(job.rejected[i].reason);
    }
    free(job.rejected);
    free(job.reports);
    ht_strset_free(job.seen);
    ht_strset_free(job.folders);
    pthread_cond_destroy(&job.more);
    pthread_mutex_destroy(&job.lock);
    return rc;
}
