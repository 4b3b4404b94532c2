/*
 * hepatrack — small shared helpers: memory, strings, files, time.
 * Everything here uses libc only.
 */
#ifndef HEPATRACK_UTIL_H
#define HEPATRACK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Free memory that hepatrack handed to the caller (strings, buffers). Accepts NULL. */
void ht_free(void *ptr);

/** strdup that records HT_ENOMEM on failure. @return a malloc'ed copy (free with ht_free) or NULL.
 */
char *ht_strdup(const char *s);

/** printf into a new malloc'ed string. @return the string (free with ht_free), or NULL (HT_ENOMEM).
 */
char *ht_strprintf(const char *fmt, ...) HT_PRINTF_(1, 2);

/**
 * Read a whole regular file into memory.
 * @param[out] out  malloc'ed buffer (free with ht_free), NUL-terminated beyond *len; NULL on error.
 * @param max_len   refuse files larger than this (HT_EINVALID), so a caller never allocates what a
 *                  file merely claims.
 * @return HT_OK, HT_ENOTFOUND, HT_EPERM, HT_EINVALID or HT_EIO, with the path in the message.
 */
int ht_file_read(const char *path, size_t max_len, uint8_t **out, size_t *len);

/** The same from an open file, named `name` in messages (the caller closes fd). */
int ht_fd_read(int fd, const char *name, size_t max_len, uint8_t **out, size_t *len);

/**
 * Create a directory and its parents (mode 0755); existing directories are fine.
 * @return HT_OK or an errno-derived code naming the path.
 */
int ht_mkdir_p(const char *path);

/**
 * Write a whole file under a temporary name beside it, then rename it into place: a reader sees
 * all of it or none. Not synced: for caches that can be made again.
 * @return HT_OK or an errno-derived code naming the path; nothing is left behind on error.
 */
int ht_file_replace(const char *path, const void *data, size_t len);

/** fsync a directory by path. @return HT_OK or an errno-derived code. */
int ht_fsync_dir(const char *path);

/** Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least 25 bytes). */
void ht_time_now_iso(char *buf, size_t size);

/** UTC time `seconds` ago, in the format of ht_time_now_iso. */
void ht_time_ago_iso(int seconds, char *buf, size_t size);

/** Monotonic clock in seconds, for durations. */
double ht_time_monotonic(void);

/** Calendar dates "YYYY-MM-DD" (proleptic Gregorian, years 1900 to 2200) as days since
 * 1970-01-01. @return HT_OK, or HT_EINVALID for anything else (no message set). */
int ht_date_parse(const char *text, int32_t *day);

/** A day number as "YYYY-MM-DD" into out (11 bytes). */
void ht_date_format(int32_t day, char *out);

/** Today (UTC) as a day number; the environment's HEPATRACK_NOW (YYYY-MM-DD) stands in for
 * the clock when set, so that tests can fix "today". */
int32_t ht_date_today(void);

/**
 * Fill buf with len bytes from the kernel's random source (getrandom(2)): the one source of
 * every UID, salt, token and session secret.
 * @return HT_OK, or HT_EINTERNAL when the kernel gave fewer bytes (buf must then not be used).
 */
int ht_random_bytes(void *buf, size_t len);

/**
 * Make a growable array hold at least `needed` elements of `size` bytes: when *cap is short,
 * reallocate *items to twice the capacity (16 at first), or more if needed. On failure the
 * array and *cap are as they were.
 * @return HT_OK, or HT_ENOMEM (with a message).
 */
int ht_grow(void **items, size_t *cap, size_t needed, size_t size);

/** ht_grow for a typed array: HT_GROW(p, cap, n + 1) where p is an lvalue of type T *. */
#define HT_GROW(p, cap, needed) ht_grow((void **)&(p), &(cap), (needed), sizeof(*(p)))

/**
 * Copy text with every control character (below 0x20, and 0x7F) written as \xNN, so that
 * what a peer sent cannot forge a log line or drive a terminal. Truncated to fit out (size
 * bytes, NUL-terminated); a partial escape is never written.
 */
void ht_escape_controls(const char *in, char *out, size_t size);

/** Lower-case hex encoding of `len` bytes into `out` (2*len+1 bytes). */
void ht_hex_encode(const uint8_t *data, size_t len, char *out);

/**
 * A set of strings (open addressing, copies its keys). Not thread-safe.
 * ht_strset_add returns 1 if the key was added, 0 if it was present, HT_ENOMEM on failure.
 */
typedef struct ht_strset ht_strset;
ht_strset *ht_strset_new(void);
void ht_strset_free(ht_strset *set);
int ht_strset_add(ht_strset *set, const char *key);
int ht_strset_contains(const ht_strset *set, const char *key);
size_t ht_strset_size(const ht_strset *set);

#ifdef __cplusplus
}
#endif

#endif
