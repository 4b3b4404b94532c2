/* The reading station's files (web/, embedded in the binary); "/" is index.html. */
#define _GNU_SOURCE
#include "http_internal.h"

#include "web_assets.h"

#include <stdlib.h>
#include <string.h>

int ht_http__web_asset(request *r, answer *a)
{
    const char *path = !strcmp(r->path, "/") ? "/index.html" : r->path;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
    for (const ht_web_asset *w = ht_web_assets; w->path; w++)
        if (!strcmp(w->path, path)) {
            if (!(a->body = malloc(w->len ? w->len : 1)))
                return ht_http__fail(a, HT_ENOMEM, NULL, "out of memory");
            memcpy(a->body, w->data, w->len);
            a->len = w->len;
            a->type = w->type;
            a->compressible = 1;
            /* the station's pages run only the station's own scripts */
            ht_http__add_header(
                a, "Content-Security-Policy",
                "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'");
            ht_http__add_header(a, "X-Content-Type-Options", "nosniff");
            return HT_OK;
        }
    return ht_http__fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
}
