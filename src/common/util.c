#define _GNU_SOURCE
#include "hepatrack/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void ht_free(void *ptr)
{
    free(ptr);
}

char *ht_strdup(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        ht_error_set(HT_ENOMEM, "out of memory copying a string");
    return copy;
}

char *ht_strprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) {
        ht_error_set(HT_ENOMEM, "out of memory formatting a string");
        return NULL;
    }
    return out;
}

int ht_fd_read(int fd, const char *name, size_t max_len, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int err = HT_OK;

    *out = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0)
        return ht_error_set(HT_EIO, "cannot stat '%s': %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ht_error_set(HT_EINVALID, "'%s' is not a regular file", name);
    if ((uint64_t)st.st_size > max_len)
        return ht_error_set(HT_EINVALID, "'%s' is %lld bytes, more than the limit of %zu", name,
                            (long long)st.st_size, max_len);
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return ht_error_set(HT_ENOMEM, "out of memory reading '%s'", name);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ht_error_set(HT_EIO, "cannot read '%s': %s", name, strerror(errno));
            free(buf);
            return err;
        }
        if (n == 0)
            break; /* the file shrank while we read it: keep what is there */
        got += (size_t)n;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    return HT_OK;
}

int ht_file_read(const char *path, size_t max_len, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ht_error_set(ht_error_from_errno(errno), "cannot open '%s': %s", path,
                            strerror(errno));
    int err = ht_fd_read(fd, path, max_len, out, len);
    close(fd);
    return err;
}

int ht_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return ht_error_set(HT_EINVALID, "directory path is empty or too long");
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return ht_error_set(ht_error_from_errno(errno), "cannot create directory '%s': %s", tmp,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return ht_error_set(ht_error_from_errno(errno), "cannot create directory '%s': %s", tmp,
                            strerror(errno));
    return HT_OK;
}

int ht_file_replace(const char *path, const void *data, size_t len)
{
    char *tmp = ht_strprintf("%s.%d.tmp", path, (int)gettid());
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    int err = HT_OK;
    const uint8_t *p = data;

    if (!tmp)
        return ht_error_set(HT_ENOMEM, "out of memory writing '%s'", path);
    if (fd < 0) {
        err = ht_error_set(ht_error_from_errno(errno), "cannot create '%s': %s", tmp,
                           strerror(errno));
        ht_free(tmp);
        return err;
    }
    while (len > 0 && err == HT_OK) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            err = ht_error_set(ht_error_from_errno(n < 0 ? errno : ENOSPC), "cannot write '%s': %s",
                               tmp, strerror(n < 0 ? errno : ENOSPC));
        else
            p += n, len -= (size_t)n;
    }
    if (close(fd) != 0 && err == HT_OK)
        err =
            ht_error_set(ht_error_from_errno(errno), "cannot write '%s': %s", tmp, strerror(errno));
    if (err == HT_OK && rename(tmp, path) != 0)
        err = ht_error_set(ht_error_from_errno(errno), "cannot rename '%s' to '%s': %s", tmp, path,
                           strerror(errno));
    if (err != HT_OK)
        unlink(tmp);
    ht_free(tmp);
    return err;
}

int ht_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = HT_OK;

    if (fd < 0)
        return ht_error_set(ht_error_from_errno(errno), "cannot open directory '%s': %s", path,
                            strerror(errno));
    if (fsync(fd) != 0)
        err = ht_error_set(ht_error_from_errno(errno), "cannot fsync directory '%s': %s", path,
                           strerror(errno));
    close(fd);
    return err;
}

void ht_time_now_iso(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", now.tv_nsec / 1000000L);
}

void ht_time_ago_iso(int seconds, char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec -= seconds;
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", now.tv_nsec / 1000000L);
}

double ht_time_monotonic(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void ht_escape_controls(const char *in, char *out, size_t size)
{
    size_t o = 0;
    if (!size)
        return;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int control = *p < 0x20 || *p == 0x7F;
        if (o + (control ? 4 : 1) >= size)
            break;
        if (control)
            o += (size_t)snprintf(out + o, size - o, "\\x%02X", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
}

void ht_hex_encode(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}
