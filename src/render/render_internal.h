/* Internals of the render module shared by its files; not a public header. */
#ifndef HEPATRACK_RENDER_INTERNAL_H
#define HEPATRACK_RENDER_INTERNAL_H

#include "hepatrack/render.h"

/* Encode rows of width x height pixels of channels bytes (1 grey, 3 RGB) as a baseline JPEG of
 * quality 1-100. *out is malloc'ed. HT_OK, HT_EIO (libjpeg's message), HT_ENOMEM. */
int ht_render__jpeg(const uint8_t *pixels,
                    uint32_t width,
                    uint32_t height,
                    int channels,
                    int quality,
                    uint8_t **out,
                    size_t *len);

#endif
