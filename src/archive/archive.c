#define _GNU_SOURCE
#include "hepatrack/archive.h"
#include "hepatrack/util.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FANOUT 256
#define TEMP_PREFIX ".tmp-"
/* Written once every folder exists, so that later opens skip 4096 mkdir calls. */
#define LAYOUT_MARKER "instances/.layout-v1-256"

struct ht_archive {
    char *data_dir;
    int data_fd; /* the data directory, for *at() calls */
};

/* Numbers temporary names with the process id: one counter for the process, so that two
 * archive handles on one directory (a check beside an ingest, two ingests) never pick one name. */
static atomic_uint_fast64_t temp_counter;

/* A fresh temporary name in rel_path's folder (HT_ARCHIVE_TMP_PATH_MAX bytes). */
static void temp_name(const char *rel_path, char *tmp)
{
    const char *slash = strrchr(rel_path, '/');
    int folder = slash ? (int)(slash - rel_path) : 0;
    snprintf(tmp, HT_ARCHIVE_TMP_PATH_MAX, "%.*s/" TEMP_PREFIX "%ld-%llu", folder, rel_path,
             (long)getpid(), (unsigned long long)atomic_fetch_add(&temp_counter, 1));
}

static int errno_error(const char *what, const char *path)
{
    int e = errno;
    return ht_error_set(ht_error_from_errno(e), "%s '%s': %s", what, path, strerror(e));
}

static int create_layout(ht_archive *a)
{
    char dir[32];

    if (faccessat(a->data_fd, LAYOUT_MARKER, F_OK, 0) == 0)
        return HT_OK;
    if (mkdirat(a->data_fd, "instances", 0755) != 0 && errno != EEXIST)
        return errno_error("cannot create folder", "instances");
    for (unsigned i = 0; i < FANOUT; i++) {
        snprintf(dir, sizeof(dir), "instances/%02x", i);
        if (mkdirat(a->data_fd, dir, 0755) != 0 && errno != EEXIST)
            return errno_error("cannot create folder", dir);
    }
    int fd = openat(a->data_fd, LAYOUT_MARKER, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno_error("cannot create", LAYOUT_MARKER);
    close(fd);
    return HT_OK;
}

int ht_archive_open(ht_archive **out, const char *data_dir)
{
    ht_archive *a;
    int err;

    *out = NULL;
    if ((err = ht_mkdir_p(data_dir)) < 0)
        return err;
    a = calloc(1, sizeof(*a));
    if (!a)
        return ht_error_set(HT_ENOMEM, "out of memory opening the archive");
    a->data_dir = ht_strdup(data_dir);
    a->data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!a->data_dir || a->data_fd < 0) {
        err = a->data_dir ? errno_error("cannot open data directory", data_dir) : HT_ENOMEM;
        ht_archive_free(a);
        return err;
    }
    if ((err = create_layout(a)) < 0) {
        ht_archive_free(a);
        return err;
    }
    *out = a;
    return HT_OK;
}

void ht_archive_free(ht_archive *archive)
{
    if (!archive)
        return;
    if (archive->data_fd >= 0)
        close(archive->data_fd);
    free(archive->data_dir);
    free(archive);
}

const char *ht_archive_data_dir(const ht_archive *archive)
{
    return archive->data_dir;
}

void ht_archive_path_for(const char *sop_instance_uid, char *out)
{
    char hex[HT_SHA256_HEX_SIZE];
    ht_sha256_hex((const uint8_t *)sop_instance_uid, strlen(sop_instance_uid), hex);
    snprintf(out, HT_ARCHIVE_PATH_MAX, "instances/%.2s/%s.dcm", hex, hex);
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_parent(ht_archive *a, const char *rel_path)
{
    char dir[HT_ARCHIVE_PATH_MAX];
    const char *slash = strrchr(rel_path, '/');
    size_t n = slash ? (size_t)(slash - rel_path) : 0;
    int fd, err = HT_OK;

    if (n == 0 || n >= sizeof(dir))
        return ht_error_set(HT_EINVALID, "archive path '%s' has no folder", rel_path);
    memcpy(dir, rel_path, n);
    dir[n] = '\0';
    fd = openat(a->data_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno_error("cannot open folder", dir);
    if (fsync(fd) != 0)
        err = errno_error("cannot fsync folder", dir);
    close(fd);
    return err;
}

/* Write a file's data out to the device and wait, without a journal commit or a cache flush:
 * the next flush (ht_archive_sync) makes it durable, and no rename of it can become durable
 * before its data, since every journal commit flushes the device first. */
static int write_out(int fd)
{
    return sync_file_range(
        fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
}

static int stage(ht_archive *archive,
                 const char *rel_path,
                 const uint8_t *data,
                 size_t len,
                 int durable,
                 char *tmp)
{
    const char *slash = strrchr(rel_path, '/');
    int fd, err;

    if (!slash)
        return ht_error_set(HT_EINVALID, "archive path '%s' has no folder", rel_path);
    temp_name(rel_path, tmp);
    fd = openat(archive->data_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno_error("cannot create", tmp);
    if (write_all(fd, data, len) != 0) {
        err = errno_error("cannot write", tmp);
        goto fail;
    }
    if (durable ? fdatasync(fd) != 0 : write_out(fd) != 0) {
        err = errno_error(durable ? "cannot fsync" : "cannot write out", tmp);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = errno_error("cannot close", tmp);
        goto fail;
    }
    return HT_OK;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(archive->data_fd, tmp, 0);
    return err;
}

int ht_archive_stage(
    ht_archive *archive, const char *rel_path, const uint8_t *data, size_t len, char *tmp_path)
{
    return stage(archive, rel_path, data, len, 0, tmp_path);
}

void ht_archive_temp_path(
    ht_archive *archive, const char *rel_path, char *tmp_rel, char *tmp_abs, size_t abs_size)
{
    temp_name(rel_path, tmp_rel);
    snprintf(tmp_abs, abs_size, "%s/%s", archive->data_dir, tmp_rel);
}

int ht_archive_read_received(ht_archive *archive, const char *tmp_rel, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = openat(archive->data_fd, tmp_rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_error("cannot open", tmp_rel);
    int err = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0
                  ? errno_error("cannot start writing out", tmp_rel)
                  : ht_fd_read(fd, tmp_rel, (size_t)1 << 34, out, len);
    close(fd);
    return err;
}

int ht_archive_adopt(ht_archive *archive, const char *tmp_rel)
{
    int fd = openat(archive->data_fd, tmp_rel, O_RDONLY | O_CLOEXEC);
    int err = HT_OK;
    if (fd < 0)
        return errno_error("cannot open", tmp_rel);
    /* Not waiting: the batch's ht_archive_sync waits for it, and meanwhile the index row is
     * committed (at one sender, waiting here made the device's two writes one after the other). */
    if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0)
        err = errno_error("cannot write out", tmp_rel);
    close(fd);
    return err;
}

int ht_archive_publish(ht_archive *archive, const char *tmp_path, const char *rel_path)
{
    if (renameat2(archive->data_fd, tmp_path, archive->data_fd, rel_path, RENAME_NOREPLACE) == 0)
        return 0;
    /* EINVAL: a file system without RENAME_NOREPLACE (NFS before 4.x servers that lack it):
     * link(2) fails on an existing name everywhere */
    if (errno == EINVAL && linkat(archive->data_fd, tmp_path, archive->data_fd, rel_path, 0) == 0) {
        unlinkat(archive->data_fd, tmp_path, 0); /* the published name is whole either way */
        return 0;
    }
    if (errno != EEXIST)
        return errno_error("cannot move into place", rel_path);
    if (renameat(archive->data_fd, tmp_path, archive->data_fd, rel_path) != 0)
        return errno_error("cannot move into place over a leftover", rel_path);
    return 1;
}

int ht_archive_sync(ht_archive *archive)
{
    if (syncfs(archive->data_fd) != 0)
        return errno_error("cannot sync the file system of", archive->data_dir);
    return HT_OK;
}

int ht_archive_write(ht_archive *archive, const char *rel_path, const uint8_t *data, size_t len)
{
    char tmp[HT_ARCHIVE_TMP_PATH_MAX];
    int err;

    if ((err = stage(archive, rel_path, data, len, 1, tmp)) < 0)
        return err;
    if ((err = ht_archive_publish(archive, tmp, rel_path)) < 0) {
        unlinkat(archive->data_fd, tmp, 0);
        return err;
    }
    return fsync_parent(archive, rel_path); /* on error the file is whole, its rename not durable */
}

int ht_archive_temp_in_use(const char *rel_path)
{
    const char *name = strrchr(rel_path, '/');
    name = name ? name + 1 : rel_path;
    if (strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
        return 0;
    char *end;
    long pid = strtol(name + strlen(TEMP_PREFIX), &end, 10);
    if (end == name + strlen(TEMP_PREFIX) || *end != '-' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int ht_archive_discard(ht_archive *archive, const char *tmp_path)
{
    if (unlinkat(archive->data_fd, tmp_path, 0) != 0)
        return errno_error("cannot remove", tmp_path);
    return HT_OK;
}

int ht_archive_remove(ht_archive *archive, const char *rel_path)
{
    if (unlinkat(archive->data_fd, rel_path, 0) != 0)
        return errno_error("cannot remove", rel_path);
    return fsync_parent(archive, rel_path);
}

int ht_archive_read(ht_archive *archive, const char *rel_path, uint8_t **out, size_t *len)
{
    char *path = ht_strprintf("%s/%s", archive->data_dir, rel_path);
    int err;

    if (!path)
        return HT_ENOMEM;
    err = ht_file_read(path, (size_t)1 << 34, out, len);
    free(path);
    return err;
}

int ht_archive_read_range(
    ht_archive *archive, const char *rel_path, uint64_t offset, size_t len, uint8_t *buf)
{
    int fd = openat(archive->data_fd, rel_path, O_RDONLY | O_CLOEXEC);
    int err = HT_OK;
    if (fd < 0)
        return ht_error_set(ht_error_from_errno(errno), "cannot open archive file '%s': %s",
                            rel_path, strerror(errno));
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = ht_error_set(HT_EIO, "cannot read %zu bytes at %llu of archive file '%s': %s",
                               len, (unsigned long long)offset, rel_path,
                               n < 0 ? strerror(errno) : "the file is shorter");
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    return err;
}

static int is_archive_name(const char *name)
{
    size_t n = strlen(name);
    if (n != 68 || strcmp(name + 64, ".dcm") != 0)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

int ht_archive_walk(ht_archive *archive, ht_archive_walk_cb cb, void *payload)
{
    char dir[32], rel[HT_ARCHIVE_PATH_MAX + 256];

    for (unsigned i = 0; i < FANOUT; i++) {
        snprintf(dir, sizeof(dir), "instances/%02x", i);
        int fd = openat(archive->data_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return errno_error("cannot open folder", dir);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return errno_error("cannot read folder", dir);
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(rel, sizeof(rel), "%s/%s", dir, e->d_name);
            int temporary = !is_archive_name(e->d_name) ||
                            strncmp(e->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
            int rc = cb(payload, rel, temporary);
            if (rc != 0) {
                closedir(d);
                return rc;
            }
        }
        closedir(d);
    }
    return HT_OK;
}
