/* An export's files: written into a folder (each replaced atomically, all or none), or zipped in
 * memory with libzip for the HTTP API. */
#define _GNU_SOURCE
#include "hepatrack/export.h"

#include "hepatrack/util.h"

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

int ht_export_files_write(const ht_export_files *files, const char *dir)
{
    int err = ht_mkdir_p(dir);
    if (err < 0)
        return err;
    for (size_t i = 0; i < files->n; i++) {
        char *path = ht_strprintf("%s/%s", dir, files->items[i].name);
        if (!path)
            err = ht_error_set(HT_ENOMEM, "out of memory");
        else
            err = ht_file_replace(path, files->items[i].data, files->items[i].len);
        free(path);
        if (err < 0) { /* nothing half-written: take back what this call wrote */
            char message[512];
            snprintf(message, sizeof(message), "%s", ht_error_last());
            for (size_t k = 0; k < i; k++) {
                char *done = ht_strprintf("%s/%s", dir, files->items[k].name);
                if (done)
                    unlink(done);
                free(done);
            }
            return ht_error_set(err, "%s", message);
        }
    }
    return ht_fsync_dir(dir);
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
