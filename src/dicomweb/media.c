/*
 * Media types as HTTP writes them (RFC 9110 8.3.1, 12.5.1): a type, then parameters, some of
 * them quoted; an Accept header is a list of them with q weights. DICOMweb chooses a
 * representation by the type, the multipart's type= and the transfer-syntax= parameter.
 */
#define _GNU_SOURCE
#include "hepatrack/dicomweb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The type of one media range: up to ';' or ',', spaces trimmed. */
static size_t type_length(const char *media)
{
    size_t n = strcspn(media, ";,");
    while (n && (media[n - 1] == ' ' || media[n - 1] == '\t'))
        n--;
    return n;
}

int ht_media_is(const char *media, const char *type)
{
    if (!media)
        return 0;
    media = skip_space(media);
    size_t n = type_length(media);
    return n == strlen(type) && !strncasecmp(media, type, n);
}

/* One parameter's value (quoted or a token) into out; returns where it ends. */
static const char *param_value(const char *p, char *out, size_t size)
{
    size_t o = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (o + 1 < size)
                out[o++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        for (; *p && *p != ';' && *p != ',' && *p != ' ' && *p != '\t'; p++)
            if (o + 1 < size)
                out[o++] = *p;
    }
    out[o] = '\0';
    return p;
}

/* The parameters of the media range at `media` (up to its ','): each name=value to cb. */
static const char *
each_param(const char *media,
           void (*cb)(void *payload, const char *name, size_t n, const char *value),
           void *payload)
{
    const char *p = media + strcspn(media, ";,");
    char value[256];
    while (*p == ';') {
        p = skip_space(p + 1);
        size_t n = strcspn(p, "=;,");
        const char *name = p;
        p += n;
        while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
            n--;
        value[0] = '\0';
        if (*p == '=')
            p = param_value(skip_space(p + 1), value, sizeof(value));
        cb(payload, name, n, value);
        p = skip_space(p);
        p += strcspn(p, ";,"); /* anything unparsed up to the next parameter or range */
    }
    return p;
}

typedef struct wanted {
    const char *name;
    char *out;
    size_t size;
    int found;
} wanted;

static void want_one(void *payload, const char *name, size_t n, const char *value)
{
    wanted *w = payload;
    if (!w->found && n == strlen(w->name) && !strncasecmp(name, w->name, n)) {
        snprintf(w->out, w->size, "%s", value);
        w->found = 1;
    }
}

int ht_media_param(const char *media, const char *name, char *out, size_t size)
{
    wanted w = {name, out, size, 0};
    if (size)
        out[0] = '\0';
    if (media)
        each_param(media, want_one, &w);
    return w.found;
}

static void range_param(void *payload, const char *name, size_t n, const char *value)
{
    ht_media_range *m = payload;
    if (n == 1 && (*name == 'q' || *name == 'Q'))
        m->q = strtod(value, NULL);
    else if (n == 4 && !strncasecmp(name, "type", 4))
        snprintf(m->part_type, sizeof(m->part_type), "%s", value);
    else if (n == 15 && !strncasecmp(name, "transfer-syntax", 15))
        snprintf(m->transfer_syntax, sizeof(m->transfer_syntax), "%s", value);
}

size_t ht_accept_parse(const char *accept, ht_media_range *out, size_t max)
{
    size_t count = 0;
    const char *p = accept ? skip_space(accept) : "";
    if (!*p && max) {
        memset(out, 0, sizeof(*out));
        snprintf(out->type, sizeof(out->type), "*/*");
        out->q = 1;
        return 1;
    }
    while (*p && count < max) {
        ht_media_range *m = &out[count];
        memset(m, 0, sizeof(*m));
        m->q = 1;
        size_t n = type_length(p);
        snprintf(m->type, sizeof(m->type), "%.*s", (int)n, p);
        for (char *c = m->type; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        p = each_param(p, range_param, m);
        if (m->q < 0 || m->q > 1)
            m->q = 0;
        if (n)
            count++;
        p += strcspn(p, ",");
        if (*p == ',')
            p = skip_space(p + 1);
    }
    return count;
}
