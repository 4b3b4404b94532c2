/*
 * Deflate for HTTP's "deflate" content coding (the zlib format). Level 1: CT samples shrink to
 * about half at a fraction of the default level's time.
 */
#include "hepatrack/render.h"
#include "hepatrack/util.h"

#include <stdlib.h>
#include <zlib.h>

int ht_render_deflate(const void *data, size_t len, uint8_t **out, size_t *out_len)
{
    uLongf n = compressBound((uLong)len);
    *out = malloc(n);
    if (!*out)
        return ht_error_set(HT_ENOMEM, "out of memory compressing %zu bytes", len);
    if (compress2(*out, &n, data, (uLong)len, 1) != Z_OK) {
        free(*out);
        *out = NULL;
        return ht_error_set(HT_EINTERNAL, "zlib could not compress %zu bytes", len);
    }
    *out_len = n;
    return HT_OK;
}
