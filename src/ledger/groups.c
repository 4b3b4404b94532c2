/*
 * A correction changes only what it names. An assessment's fields move in groups: the size
 * (the lengths, fragments, the phase and the caliper they came from: tool, points and its
 * image), the density (mean_hu and the ellipse it came from, with its own image) and the state
 * (state, merged_into). A correction replaces the groups its input names (a null names a group
 * too: that is how one is removed) and carries the others over from the recorded version; a
 * state clears the size, a size clears the state.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <string.h>

/* Input keys that name each group, and the body keys each group carries. */
static const char *const size_in[] = {
    "long_axis_mm", "short_axis_mm", "perpendicular_mm", "craniocaudal_mm", "viable_axis_mm",
    "fragments_mm", "tool",          "points",           "phase",           NULL};
static const char *const size_body[] = {
    "long_axis", "short_axis", "perpendicular", "craniocaudal", "viable_axis", "fragments",
    "tool",      "points",     "phase",         "sop_uid",      "frame",       NULL};
static const char *const density_in[] = {"mean_hu", "roi", "roi_sop_uid", "roi_frame", NULL};
static const char *const density_body[] = {"mean_hu", "roi", "roi_sop_uid", "roi_frame", NULL};
static const char *const state_in[] = {"state", "merged_into", NULL};
static const char *const state_body[] = {"state", "merged_into", NULL};

static int names_any(const json_t *in, const char *const *keys)
{
    for (; *keys; keys++)
        if (json_object_get(in, *keys))
            return 1;
    return 0;
}

unsigned ht_ledger__groups_named(const json_t *in)
{
    unsigned named = 0;
    if (names_any(in, size_in))
        named |= GROUP_SIZE;
    if (names_any(in, density_in))
        named |= GROUP_DENSITY;
    if (names_any(in, state_in))
        named |= GROUP_STATE;
    return named;
}

/* Whether a body holds a value (not null) of a group. */
static int holds_any(const json_t *body, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(body, *keys);
        if (v && !json_is_null(v))
            return 1;
    }
    return 0;
}

static void copy_group(const json_t *old, json_t *body, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(old, *keys);
        if (v)
            json_object_set(body, *keys, v);
    }
}

void ht_ledger__carry_groups(const json_t *old, json_t *body, unsigned named)
{
    int sized = (named & GROUP_SIZE) && holds_any(body, size_body);
    int stated = (named & GROUP_STATE) && holds_any(body, state_body);
    if (!(named & GROUP_SIZE) && !stated)
        copy_group(old, body, size_body);
    if (!(named & GROUP_DENSITY))
        copy_group(old, body, density_body);
    if (!(named & GROUP_STATE) && !sized)
        copy_group(old, body, state_body);
}
