/* The reading station's static files, embedded at build time (cmake/embed.cmake). */
#ifndef HEPATRACK_WEB_ASSETS_H
#define HEPATRACK_WEB_ASSETS_H

#include <stddef.h>

typedef struct ht_web_asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} ht_web_asset;

/* Terminated by an entry whose path is NULL. */
extern const ht_web_asset ht_web_assets[];

#endif
