/*
 * The error table and the per-thread "last error". Thread-local storage keeps concurrent
 * ingest workers from overwriting each other's messages.
 */
#include "hepatrack/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX 1024

static _Thread_local int last_code;
static _Thread_local char last_message[MESSAGE_MAX];

int ht_error_set(int code, const char *fmt, ...)
{
    char text[MESSAGE_MAX]; /* the arguments may include ht_error_last() itself */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(last_message, text, sizeof(text));
    last_code = code;
    return code;
}

int ht_error_wrap(const char *fmt, ...)
{
    char prefix[MESSAGE_MAX];
    char old[MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_message, sizeof(old));
    /* prefix + old message, truncated to the buffer (snprintf would warn about the cut). */
    size_t n = strlen(prefix), m = strlen(old);
    if (n > MESSAGE_MAX - 1)
        n = MESSAGE_MAX - 1;
    if (m > MESSAGE_MAX - 1 - n)
        m = MESSAGE_MAX - 1 - n;
    memcpy(last_message, prefix, n);
    memcpy(last_message + n, old, m);
    last_message[n + m] = '\0';
    return last_code;
}

void ht_error_clear(void)
{
    last_code = HT_OK;
    last_message[0] = '\0';
}

const char *ht_error_last(void)
{
    return last_message;
}

int ht_error_code(void)
{
    return last_code;
}

const char *ht_error_name(int code)
{
    switch (code) {
#define HT_ERROR_NAME_(name, value, http, dimse, text)                                             \
    case value:                                                                                    \
        return &(#name)[3]; /* without the "HT_" */
        HT_ERROR_TABLE(HT_ERROR_NAME_)
#undef HT_ERROR_NAME_
    }
    return "EUNKNOWN";
}

int ht_error_http_status(int code)
{
    switch (code) {
#define HT_ERROR_HTTP_(name, value, http, dimse, text)                                             \
    case value:                                                                                    \
        return http;
        HT_ERROR_TABLE(HT_ERROR_HTTP_)
#undef HT_ERROR_HTTP_
    }
    return 500;
}

uint16_t ht_error_dimse_status(int code)
{
    switch (code) {
#define HT_ERROR_DIMSE_(name, value, http, dimse, text)                                            \
    case value:                                                                                    \
        return dimse;
        HT_ERROR_TABLE(HT_ERROR_DIMSE_)
#undef HT_ERROR_DIMSE_
    }
    return 0xC000;
}

int ht_error_from_errno(int errnum)
{
    switch (errnum) {
    case ENOENT:
        return HT_ENOTFOUND;
    case EEXIST:
        return HT_EEXISTS;
    case ENOSPC:
    case EDQUOT:
        return HT_ENOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return HT_EPERM;
    case ENOMEM:
        return HT_ENOMEM;
    case EINVAL:
        return HT_EINVALID;
    default:
        return HT_EIO;
    }
}
