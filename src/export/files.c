/* An export's files: written into a folder (each replaced atomically, all or none), or zipped in
 * memory with libzip for the HTTP API. */
#define _GNU_SOURCE
#include "hepatrack/export.h"

#include "hepatrack/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

void ht_export_files_free(ht_export_files *files)
{
    for (size_t i = 0; i < files->n; i++)
        free(files->items[i].data);
    free(files->items);
    memset(files, 0, sizeof(*files));
}

/* Whether name (a path relative to the export) is one of the files' or a folder of theirs. */
static int ours(const ht_export_files *files, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < files->n; i++) {
        const char *f = files->items[i].name;
        if (!strcmp(f, name) || (!strncmp(f, name, n) && f[n] == '/'))
            return 1;
    }
    return 0;
}

/* Refuse a folder that holds anything but an earlier export: replacing it must not take away
 * a file of someone else's. 0 when it is missing or an export. */
static int check_target(const ht_export_files *files, const char *dir, const char *sub)
{
    char *path = sub ? ht_strprintf("%s/%s", dir, sub) : strdup(dir);
    DIR *d = path ? opendir(path) : NULL;
    int err = HT_OK;
    if (!d) {
        int missing = errno == ENOENT;
        free(path);
        return missing ? HT_OK : ht_error_set(HT_EIO, "%s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    while (err == HT_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *rel = sub ? ht_strprintf("%s/%s", sub, e->d_name) : strdup(e->d_name);
        if (!rel)
            err = ht_error_set(HT_ENOMEM, "out of memory");
        else if (!ours(files, rel))
            err = ht_error_set(HT_EEXISTS,
                               "%s holds %s, which is not part of an export: give a new or "
                               "empty folder (nothing was written)",
                               dir, rel);
        else if (e->d_type == DT_DIR)
            err = check_target(files, dir, rel);
        free(rel);
    }
    closedir(d);
    free(path);
    return err;
}

/* Remove an export's files and folders from dir (what check_target allowed), then dir. */
static void remove_export(const ht_export_files *files, const char *dir)
{
    for (size_t i = 0; i < files->n; i++) {
        char *path = ht_strprintf("%s/%s", dir, files->items[i].name);
        if (path)
            unlink(path);
        char *slash = path ? strrchr(path, '/') : NULL;
        if (slash && slash > path + strlen(dir)) { /* its folder, once empty */
            *slash = '\0';
            rmdir(path);
        }
        free(path);
    }
    rmdir(dir);
}

static int write_all_into(const ht_export_files *files, const char *dir)
{
    int err = HT_OK;
    for (size_t i = 0; i < files->n && err == HT_OK; i++) {
        char *path = ht_strprintf("%s/%s", dir, files->items[i].name);
        char *slash = path ? strrchr(path, '/') : NULL;
        if (!path)
            return ht_error_set(HT_ENOMEM, "out of memory");
        *slash = '\0';
        err = ht_mkdir_p(path);
        *slash = '/';
        if (err == HT_OK)
            err = ht_file_replace(path, files->items[i].data, files->items[i].len);
        if (err == HT_OK) {
            *slash = '\0';
            err = ht_fsync_dir(path);
        }
        free(path);
    }
    return err;
}

static int write_folder(const ht_export_files *files, const char *dir);

int ht_export_files_write(const ht_export_files *files, const char *dir)
{
    char *clean = strdup(dir);
    if (!clean)
        return ht_error_set(HT_ENOMEM, "out of memory");
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--) /* "out/" is "out" */
        clean[n - 1] = '\0';
    int err = write_folder(files, clean);
    free(clean);
    return err;
}

static int write_folder(const ht_export_files *files, const char *dir)
{
    char suffix[24];
    unsigned char random[8];
    int err = check_target(files, dir, NULL);
    if (err < 0)
        return err;
    if ((err = ht_random_bytes(random, sizeof(random))) < 0)
        return err;
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(suffix + 2 * i, 3, "%02x", random[i]);
    /* Written whole beside the target, then put in its place in one rename: an export that
     * fails leaves the folder as it was, one that succeeds never mixes with an earlier one. */
    char *staged = ht_strprintf("%s.tmp-%s", dir, suffix);
    if (!staged)
        return ht_error_set(HT_ENOMEM, "out of memory");
    if ((err = ht_mkdir_p(staged)) == HT_OK && (err = write_all_into(files, staged)) == HT_OK &&
        (err = ht_fsync_dir(staged)) == HT_OK) {
        if (renameat2(AT_FDCWD, staged, AT_FDCWD, dir, RENAME_NOREPLACE) == 0) {
            /* a new folder */
        } else if (errno == EEXIST || errno == ENOTEMPTY) {
            if (renameat2(AT_FDCWD, staged, AT_FDCWD, dir, RENAME_EXCHANGE) != 0)
                err = ht_error_set(HT_EIO, "replacing %s: %s", dir, strerror(errno));
            /* staged now names the earlier export */
        } else {
            err = ht_error_set(HT_EIO, "moving the export into %s: %s", dir, strerror(errno));
        }
    }
    char message[512];
    snprintf(message, sizeof(message), "%s", err < 0 ? ht_error_last() : "");
    remove_export(files, staged);
    free(staged);
    if (err < 0)
        return ht_error_set(err, "%s", message);
    char *parent = strdup(dir), *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash)
        *slash = '\0';
    err = parent ? ht_fsync_dir(slash ? (*parent ? parent : "/") : ".") : HT_ENOMEM;
    free(parent);
    return err;
}

static int zip_failed(zip_error_t *ze, const char *what)
{
    return ht_error_set(HT_EIO, "zipping the export: %s: %s", what, zip_error_strerror(ze));
}

/* Read a closed in-memory zip source back into a malloc'ed buffer. */
static int read_back(zip_source_t *src, unsigned char **data, size_t *len)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_source_stat(src, &st) < 0 || zip_source_open(src) < 0)
        return zip_failed(zip_source_error(src), "reading it back");
    unsigned char *buf = malloc(st.size ? st.size : 1);
    zip_int64_t got = buf ? zip_source_read(src, buf, st.size) : -1;
    zip_source_close(src);
    if (!buf || got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        return ht_error_set(HT_ENOMEM, "out of memory zipping the export");
    }
    *data = buf;
    *len = (size_t)st.size;
    return HT_OK;
}

int ht_export_files_zip(const ht_export_files *files, unsigned char **data, size_t *len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    int err = HT_OK;
    if (!z) {
        err = zip_failed(&ze, "opening");
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return err;
    }
    zip_source_keep(src); /* read it back after zip_close */
    for (size_t i = 0; i < files->n && err == HT_OK; i++) {
        const ht_export_file *f = &files->items[i];
        zip_source_t *part = zip_source_buffer(z, f->data, f->len, 0);
        if (!part || zip_file_add(z, f->name, part, ZIP_FL_ENC_UTF_8) < 0) {
            if (part)
                zip_source_free(part);
            err = zip_failed(zip_get_error(z), f->name);
        }
    }
    if (err == HT_OK && zip_close(z) < 0) {
        err = zip_failed(zip_get_error(z), "closing");
        zip_discard(z);
    } else if (err != HT_OK) {
        zip_discard(z);
    }
    if (err == HT_OK)
        err = read_back(src, data, len);
    zip_source_free(src);
    zip_error_fini(&ze);
    return err;
}
