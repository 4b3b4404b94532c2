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
static char *scratch_dir(const char *what)
{
    char *tmpl = ht_strprintf("/tmp/ht-%s-XXXXXX", what);
    if (tmpl && !mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

/* Remove a scratch folder and everything in it; 0 on success. */
static int scratch_remove(const char *dir)
{
    char *cmd = ht_strprintf("rm -rf '%s'", dir);
    int rc = cmd ? system(cmd) : -1;
    free(cmd);
    return rc;
}

typedef struct walk_counts {
    int files, temporary;
} walk_counts;

/* An ht_archive_walk callback counting final and temporary files into a walk_counts. */
static int count_walked(void *payload, const char *rel, int is_temporary)
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
