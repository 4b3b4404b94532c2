/* A string set with open addressing and FNV-1a hashing; grows at 50 % load. */
#include "hepatrack/util.h"

#include <stdlib.h>
#include <string.h>

struct ht_strset {
    char **slots;
    size_t cap; /* a power of two */
    size_t size;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

ht_strset *ht_strset_new(void)
{
    ht_strset *set = calloc(1, sizeof(*set));
    if (!set)
        return NULL;
    set->cap = 64;
    set->slots = calloc(set->cap, sizeof(char *));
    if (!set->slots) {
        free(set);
        return NULL;
    }
    return set;
}

void ht_strset_free(ht_strset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
    free(set);
}

static size_t find_slot(char **slots, size_t cap, const char *key)
{
    size_t i = (size_t)fnv1a(key) & (cap - 1);
    while (slots[i] && strcmp(slots[i], key) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(ht_strset *set)
{
    size_t cap = set->cap * 2;
    char **slots = calloc(cap, sizeof(char *));
    if (!slots)
        return ht_error_set(HT_ENOMEM, "out of memory growing a set");
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            slots[find_slot(slots, cap, set->slots[i])] = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return HT_OK;
}

int ht_strset_add(ht_strset *set, const char *key)
{
    size_t i;
    if ((set->size + 1) * 2 > set->cap && grow(set) < 0)
        return HT_ENOMEM;
    i = find_slot(set->slots, set->cap, key);
    if (set->slots[i])
        return 0;
    if (!(set->slots[i] = ht_strdup(key)))
        return HT_ENOMEM;
    set->size++;
    return 1;
}

int ht_strset_contains(const ht_strset *set, const char *key)
{
    return set->slots[find_slot(set->slots, set->cap, key)] != NULL;
}

size_t ht_strset_size(const ht_strset *set)
{
    return set->size;
}
