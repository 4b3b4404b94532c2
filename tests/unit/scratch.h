/*
 * Helpers shared by the unit tests that work in a data directory: a scratch folder under /tmp,
 * and a count of what ht_archive_walk finds there.
 */
#ifndef HT_TEST_SCRATCH_H
#define HT_TEST_SCRATCH_H

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new empty folder "/tmp/ht-<what>-XXXXXX" (malloc'ed path), or NULL. */
static inline char *scratch_dir(const char *what)
{
    char *tmpl = ht_strprintf("/tmp/ht-%s-XXXXXX", what);
    if (tmpl && !mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

/* Remove a scratch folder and everything in it; 0 on success. */
static inline int scratch_remove(const char *dir)
{
    char *cmd = ht_strprintf("rm -rf '%s'", dir);
    int rc = cmd ? system(cmd) : -1;
    free(cmd);
    return rc;
}

/* The PostgreSQL database the tests run on (tests/tools/pgcluster.py sets HT_TEST_PG_URL), or
 * NULL for SQLite. */
static inline const char *scratch_pg_url(void)
{
    const char *url = getenv("HT_TEST_PG_URL");
    return url && *url ? url : NULL;
}

/* On PostgreSQL: empty the test database and point the data directory's index.ini at it (each
 * test starts from an empty index, as with a new SQLite file). 0 on success. */
static inline int scratch_index(const char *dir)
{
    const char *url = scratch_pg_url();
    if (!url)
        return 0;
    char *cmd = ht_strprintf("psql -X -q -v ON_ERROR_STOP=1 -d '%s' -c 'DROP SCHEMA public"
                             " CASCADE; CREATE SCHEMA public; DROP TABLE IF EXISTS"
                             " hepatrack_schema' 2>/dev/null",
                             url);
    char *ini = ht_strprintf("%s/index.ini", dir);
    FILE *f = ini ? fopen(ini, "w") : NULL;
    int rc = cmd && f ? system(cmd) : -1;
    if (f) {
        fprintf(f, "[index]\nbackend = postgresql\nurl = %s\n", url);
        rc = fclose(f) != 0 ? -1 : rc;
    }
    free(cmd);
    free(ini);
    return rc;
}

typedef struct walk_counts {
    int files, temporary;
} walk_counts;

/* An ht_archive_walk callback counting final and temporary files into a walk_counts. */
static inline int count_walked(void *payload, const char *rel, int is_temporary)
{
    walk_counts *c = payload;
    (void)rel;
    if (is_temporary)
        c->temporary++;
    else
        c->files++;
    return 0;
}

#endif
