/*
 * hepatrack — error codes and the thread-local "last error" message.
 *
 * Every fallible function in hepatrack returns an int: HT_OK (0) on success or one of the
 * negative codes below. The human-readable reason is kept per thread and read with
 * ht_error_last(). Each code is defined once, in HT_ERROR_TABLE, together with the HTTP status
 * and the DIMSE status it maps to, so that no handler translates codes by hand.
 */
#ifndef HEPATRACK_ERROR_H
#define HEPATRACK_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, http status, DIMSE status, short description) */
#define HT_ERROR_TABLE(X)                                                                          \
    X(HT_OK, 0, 200, 0x0000, "success")                                                            \
    X(HT_ENOTFOUND, -1, 404, 0xC000, "not found")                                                  \
    X(HT_EEXISTS, -2, 409, 0x0000, "already exists")                                               \
    X(HT_EINVALID, -3, 400, 0xC000, "invalid input")                                               \
    X(HT_EPARSE, -4, 400, 0xC000, "cannot parse")                                                  \
    X(HT_EUNSUPPORTED, -5, 415, 0x0122, "not supported")                                           \
    X(HT_ECONFLICT, -6, 409, 0xB000, "conflicts with what is stored")                              \
    X(HT_ENOMEM, -7, 503, 0xA700, "out of memory")                                                 \
    X(HT_EIO, -8, 500, 0xA700, "input/output error")                                               \
    X(HT_ENOSPC, -9, 507, 0xA700, "no space left on device")                                       \
    X(HT_EDB, -10, 500, 0xA700, "index database error")                                            \
    X(HT_EAUTH, -11, 401, 0xC000, "not authenticated")                                             \
    X(HT_EPERM, -12, 403, 0xA700, "permission denied")                                             \
    X(HT_EINTERNAL, -13, 500, 0xC000, "internal error")

enum ht_error_code {
#define HT_ERROR_ENUM_(name, value, http, dimse, text) name = value,
    HT_ERROR_TABLE(HT_ERROR_ENUM_)
#undef HT_ERROR_ENUM_
};

#if defined(__GNUC__)
#define HT_PRINTF_(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HT_PRINTF_(fmt, args)
#endif

/**
 * Record an error for the calling thread and return its code, so that callers can write
 * `return ht_error_set(HT_EINVALID, "rows must be > 0 (got %d)", rows);`.
 * The message replaces any previous one; it is truncated at 1 KiB.
 */
int ht_error_set(int code, const char *fmt, ...) HT_PRINTF_(2, 3);

/**
 * Prefix the current message with more context ("importing a.dcm: " + old message) and return
 * the current code. Used where a lower layer's message lacks the caller's context.
 */
int ht_error_wrap(const char *fmt, ...) HT_PRINTF_(1, 2);

/** Clear the calling thread's error (code HT_OK, empty message). */
void ht_error_clear(void);

/** The calling thread's last message: borrowed, valid until the next ht_error_* call. */
const char *ht_error_last(void);

/** The calling thread's last code (HT_OK if none was set since the last clear). */
int ht_error_code(void);

/** The code's name as a string ("HT_EINVALID" → "EINVALID"); "EUNKNOWN" for other values. */
const char *ht_error_name(int code);

/** HTTP status for a code (500 for unknown codes). */
int ht_error_http_status(int code);

/** DIMSE status for a code (0xC000, "cannot understand", for unknown codes). */
uint16_t ht_error_dimse_status(int code);

/** Map an errno value to the closest hepatrack code (ENOSPC → HT_ENOSPC, EACCES → HT_EPERM…). */
int ht_error_from_errno(int errnum);

#ifdef __cplusplus
}
#endif

#endif
