/*
 * The route table against docs/api.md and docs/dicomweb.md: every route the router walks is
 * documented, and every route the documents list is one the router has (placeholder names and
 * query strings aside).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/http.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 160

typedef struct route_list {
    char items[MAX_ROUTES][160];
    int n;
} route_list;

/* "GET /api/instances/{SOPInstanceUID}/frames/{n}/rendered?window=" -> "GET
 * /api/instances/{}/frames/{}/rendered" */
static void normalise(const char *in, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && in[i] != '?' && o + 3 < size; i++) {
        out[o++] = in[i];
        if (in[i] == '{') {
            while (i < len && in[i] != '}')
                i++;
            out[o++] = '}';
        }
    }
    out[o] = '\0';
}

static int add_route(void *payload, const char *method, const char *pattern)
{
    route_list *l = payload;
    char text[160];
    snprintf(text, sizeof(text), "%s %s", method, pattern);
    assert_true(l->n < MAX_ROUTES);
    normalise(text, strlen(text), l->items[l->n++], sizeof(l->items[0]));
    return 0;
}

/* Whether a code span names a route: "GET /api/...", "POST /dicom-web/..." and the like. */
static int names_route(const char *span)
{
    static const char *const methods[] = {"GET ", "POST ", "PATCH "};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (!strncmp(span, methods[i], n) &&
            (!strncmp(span + n, "/api/", 5) || !strncmp(span + n, "/dicom-web/", 11)))
            return 1;
    }
    return 0;
}

/* Every route named in a code span of the document. */
static void documented(const char *doc, route_list *l)
{
    for (const char *p = doc; (p = strchr(p, '`')) != NULL; p++) {
        const char *end = strchr(p + 1, '`');
        if (!end)
            break;
        if (names_route(p + 1) && l->n < MAX_ROUTES)
            normalise(p + 1, (size_t)(end - p - 1), l->items[l->n++], sizeof(l->items[0]));
        p = end;
    }
}

static int listed(const route_list *l, const char *route)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], route))
            return 1;
    return 0;
}

static void table_and_document_agree(void **state)
{
    static route_list table, doc;
    uint8_t *text;
    size_t len;
    (void)state;
    static const char *const documents[] = {HT_DOCS_DIR "/api.md", HT_DOCS_DIR "/dicomweb.md"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ht_file_read(documents[i], 1 << 20, &text, &len), HT_OK);
        documented((const char *)text, &doc);
        ht_free(text);
    }
    assert_int_equal(ht_http_route_each(add_route, &table), 0);
    assert_true(table.n > 20);
    int missing = 0;
    for (int i = 0; i < table.n; i++)
        if (!listed(&doc, table.items[i])) {
            fprintf(stderr, "route not in docs/api.md: %s\n", table.items[i]);
            missing++;
        }
    for (int i = 0; i < doc.n; i++)
        if (!listed(&table, doc.items[i])) {
            fprintf(stderr, "docs/api.md lists a route the server does not have: %s\n",
                    doc.items[i]);
            missing++;
        }
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(table_and_document_agree)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
