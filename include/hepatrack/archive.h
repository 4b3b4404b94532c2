/*
 * hepatrack — the instance archive: where received DICOM files live under the data directory.
 *
 * Layout: <data>/instances/<2 hex>/<64 hex>.dcm, where the 64 hex digits are the SHA-256 of the
 * SOP Instance UID and the folder is its first two digits. No UID or name text ever becomes a
 * path. All 256 folders are created when the archive is opened, so storing an instance never
 * creates one (a million instances make about 4000 files a folder, which ext4's hashed
 * directories handle well). A file is written to a temporary name beside its final one, fsync'd,
 * renamed into place, and the folder fsync'd: a reader never sees a partial file, and after
 * ht_archive_write returns the file survives a crash or power loss.
 *
 * Ownership: ht_archive_open returns an object freed with ht_archive_free. Paths are relative
 * to the data directory ("instances/abc/abc…dcm") in caller-provided buffers.
 */
#ifndef HEPATRACK_ARCHIVE_H
#define HEPATRACK_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "instances/" + 3 + "/" + 64 + ".dcm" + NUL, with room to spare. */
#define HT_ARCHIVE_PATH_MAX 96
/* A SHA-256 digest in lower-case hex, with its NUL. */
#define HT_SHA256_HEX_SIZE 65

typedef struct ht_archive ht_archive;

/**
 * Open (creating when needed) the archive under `data_dir`.
 * @return HT_OK, or HT_EPERM / HT_ENOSPC / HT_EIO naming the folder that could not be made.
 */
int ht_archive_open(ht_archive **out, const char *data_dir);

/** Free an archive. Accepts NULL. */
void ht_archive_free(ht_archive *archive);

/** The data directory the archive was opened on (borrowed). */
const char *ht_archive_data_dir(const ht_archive *archive);

/** Relative archive path of a SOP Instance UID, into `out` (HT_ARCHIVE_PATH_MAX bytes). */
void ht_archive_path_for(const char *sop_instance_uid, char *out);

/**
 * Durably write one file as `rel_path`, replacing any file there: the data is fsync'd under a
 * temporary name, renamed into place, and the folder fsync'd, so the final name never shows a
 * partial file and the file survives a crash once this returns.
 * @return HT_OK; HT_ENOSPC (disk full), HT_EPERM (read-only or not permitted) or HT_EIO, with
 *         nothing left behind: the temporary file is removed on every error.
 */
int ht_archive_write(ht_archive *archive, const char *rel_path, const uint8_t *data, size_t len);

/*
 * The same in steps, for callers that store many files at once (ingest): stage each file (its
 * data written out to the device under a temporary name), publish them (rename), then make
 * everything durable with one ht_archive_sync for the batch. A published file is whole
 * whenever its name survives a crash: its data reached the device before the rename, and the
 * journal commit that makes a rename durable flushes the device first.
 */

/** Size of the buffer ht_archive_stage writes its temporary path into. */
#define HT_ARCHIVE_TMP_PATH_MAX (HT_ARCHIVE_PATH_MAX + 48)

/**
 * Write `len` bytes to a new temporary file beside `rel_path` and write them out to the device
 * (durable with the next ht_archive_sync).
 * @param[out] tmp_path  the temporary file's relative path (HT_ARCHIVE_TMP_PATH_MAX bytes).
 * @return HT_OK, HT_ENOSPC, HT_EPERM, HT_EIO; on error nothing is left behind.
 */
int ht_archive_stage(
    ht_archive *archive, const char *rel_path, const uint8_t *data, size_t len, char *tmp_path);

/**
 * A fresh temporary path beside `rel_path`, for a file that someone else writes (the DICOM
 * receiver lets DCMTK write the instance as it arrives); make it durable with
 * ht_archive_adopt, or remove it with ht_archive_remove.
 * @param[out] tmp_rel  relative path (HT_ARCHIVE_TMP_PATH_MAX bytes);
 * @param[out] tmp_abs  the same as an absolute path (PATH_MAX bytes) for that writer.
 */
void ht_archive_temp_path(
    ht_archive *archive, const char *rel_path, char *tmp_rel, char *tmp_abs, size_t abs_size);

/**
 * Read a received temporary file into memory (free *out with ht_free) and start writing it out
 * to the device without waiting: the device works while the file is parsed and hashed, and
 * ht_archive_adopt then waits less.
 * @return HT_OK, HT_ENOTFOUND, HT_EIO, HT_ENOMEM.
 */
int ht_archive_read_received(ht_archive *archive, const char *tmp_rel, uint8_t **out, size_t *len);

/** Whether the temporary file `rel_path` belongs to another process of this machine that is
 * running now (temporary names carry the writer's process id): it is being written, not left. */
int ht_archive_temp_in_use(const char *rel_path);

/** Remove a temporary file that was never published, without syncing its folder (nothing
 * depends on its absence). @return HT_OK, or the errno's code. */
int ht_archive_discard(ht_archive *archive, const char *tmp_path);

/** Start writing out a file someone else wrote at a temporary path, so that it can be
 * published; durable with the next ht_archive_sync, as a staged file. */
int ht_archive_adopt(ht_archive *archive, const char *tmp_rel);

/** Move a staged file to its final path without replacing a file there (RENAME_NOREPLACE, or
 * link(2) where the file system lacks it). The caller has claimed the instance's index row, so a
 * file already there is one no committed row names: a leftover of a process stopped between
 * publishing and committing, never acknowledged; it is replaced, and the caller is told.
 * @return 0 (placed), 1 (a leftover was replaced), or the errno's code. */
int ht_archive_publish(ht_archive *archive, const char *tmp_path, const char *rel_path);

/**
 * Make everything written under the data directory durable: staged data, renames, and the
 * index's WAL when it lives there (one syncfs: one journal commit and device flush).
 * @return HT_OK; HT_EIO (a write-back error since the last call, which Linux reports).
 */
int ht_archive_sync(ht_archive *archive);

/** Remove a file (and fsync its folder). HT_ENOTFOUND if it is not there. */
int ht_archive_remove(ht_archive *archive, const char *rel_path);

/**
 * Read a stored file into memory (free *out with ht_free).
 * @return HT_OK, HT_ENOTFOUND, HT_EIO.
 */
int ht_archive_read(ht_archive *archive, const char *rel_path, uint8_t **out, size_t *len);

/**
 * Read len bytes of a stored file from offset into `into` (the caller's, len bytes at least).
 * @return HT_OK; HT_ENOTFOUND; HT_EIO (also when the file is shorter than offset + len).
 */
int ht_archive_read_range(
    ht_archive *archive, const char *rel_path, uint64_t offset, size_t len, uint8_t *into);

/** Called by ht_archive_walk for each file; return non-zero to stop the walk with that code. */
typedef int (*ht_archive_walk_cb)(void *payload, const char *rel_path, int is_temporary);

/**
 * Visit every file under instances/, in no particular order. Temporary files (left by a crash
 * mid-write) are reported with is_temporary = 1; anything else that does not look like an
 * archive file name is reported as temporary too, so that nothing goes unnoticed.
 */
int ht_archive_walk(ht_archive *archive, ht_archive_walk_cb cb, void *payload);

/** SHA-256 of `len` bytes as lower-case hex into `out` (HT_SHA256_HEX_SIZE bytes). */
void ht_sha256_hex(const uint8_t *data, size_t len, char *out);

/** A SHA-256 computed piece by piece, as bytes arrive. */
typedef struct ht_sha256 ht_sha256;

/** A new hash (free with ht_sha256_free); NULL when out of memory. */
ht_sha256 *ht_sha256_new(void);

/** Hash `len` more bytes. */
void ht_sha256_update(ht_sha256 *hash, const uint8_t *data, size_t len);

/** The hash of every byte given so far, as ht_sha256_hex writes it; the hash starts again. */
void ht_sha256_final_hex(ht_sha256 *hash, char *out);

void ht_sha256_free(ht_sha256 *hash);

#ifdef __cplusplus
}
#endif

#endif
