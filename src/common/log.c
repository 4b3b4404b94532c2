#include "hepatrack/log.h"
#include "hepatrack/util.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = HT_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void ht_log_set_level(ht_log_level level)
{
    atomic_store(&current_level, (int)level);
}

ht_log_level ht_log_get_level(void)
{
    return (ht_log_level)atomic_load(&current_level);
}

int ht_log_parse_level(const char *text, ht_log_level *out)
{
    for (int i = HT_LOG_DEBUG; i <= HT_LOG_OFF; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (ht_log_level)i;
            return HT_OK;
        }
    }
    return ht_error_set(HT_EINVALID,
                        "log level must be one of debug, info, warn, error, off (got '%s')", text);
}

void ht_log(ht_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t n;
    va_list ap;

    if ((int)level < atomic_load(&current_level) || level >= HT_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s ", now.tv_nsec / 1000000L,
                          level_names[level]);
    char message[1024];
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* what peers send (AE titles, user names, paths) never starts a line or moves a cursor */
    ht_escape_controls(message, line + n, sizeof(line) - n);
    n = strlen(line);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    ssize_t ignored = write(STDERR_FILENO, line, n);
    (void)ignored;
}
