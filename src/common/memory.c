/* Randomness and growable arrays: the two things every module used to write for itself. */
#define _GNU_SOURCE
#include "hepatrack/util.h"

#include <stdlib.h>
#include <sys/random.h>

int ht_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got <= 0)
            return ht_error_set(HT_EINTERNAL, "the kernel gave no random bytes");
        p += got;
        len -= (size_t)got;
    }
    return HT_OK;
}

int ht_grow(void **items, size_t *cap, size_t needed, size_t size)
{
    if (needed <= *cap)
        return HT_OK;
    size_t c = *cap ? *cap : 16;
    while (c < needed && c <= SIZE_MAX / 2 / size)
        c *= 2;
    void *p = c >= needed ? realloc(*items, c * size) : NULL;
    if (!p)
        return ht_error_set(HT_ENOMEM, "out of memory growing a list to %zu", needed);
    *items = p;
    *cap = c;
    return HT_OK;
}
