/*
 * hepatrack — logging.
 *
 * One line per event on stderr: "2026-12-01T20:01:02.123Z level=warn msg=..." so that lines stay
 * parsable by tools. Only top-level code (CLI commands, server callbacks) logs; library functions
 * return errors instead. Thread-safe: each line is written with a single write(2).
 */
#ifndef HEPATRACK_LOG_H
#define HEPATRACK_LOG_H

#include "hepatrack/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ht_log_level {
    HT_LOG_DEBUG = 0,
    HT_LOG_INFO = 1,
    HT_LOG_WARN = 2,
    HT_LOG_ERROR = 3,
    HT_LOG_OFF = 4
} ht_log_level;

/** Set the lowest level written (default HT_LOG_INFO). */
void ht_log_set_level(ht_log_level level);

/** Current lowest level written. */
ht_log_level ht_log_get_level(void);

/**
 * Parse "debug", "info", "warn", "error" or "off" into *out.
 * @return HT_OK, or HT_EINVALID naming the value.
 */
int ht_log_parse_level(const char *text, ht_log_level *out);

/** Write one log line; `fmt` is the message (key=value pairs are welcome). */
void ht_log(ht_log_level level, const char *fmt, ...) HT_PRINTF_(2, 3);

#ifdef __cplusplus
}
#endif

#endif
