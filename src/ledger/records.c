/*
 * The ledger's vocabulary: record kinds, the lesion states of spec 1.3, a subject's stored
 * records, and messages naming where something is wrong.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ht_ledger__fail(const where *w, const char *fmt, ...)
{
    char prefix[400] = "", msg[600];
    size_t n = 0;
    va_list ap;
    if (w && w->subject)
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "subject %s", w->subject);
    if (w && w->lesion && n < sizeof(prefix))
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "%slesion %s", n ? ", " : "",
                              w->lesion);
    if (w && w->timepoint && n < sizeof(prefix))
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "%stime point %s", n ? ", " : "",
                              w->timepoint);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ht_error_set(HT_EINVALID, "%s%s%s", prefix, prefix[0] ? ": " : "", msg);
}

/* ---- kinds --------------------------------------------------------------------------------- */

static const char *const kind_names[NKINDS] = {"subject", "patient",    "timepoint",
                                               "lesion",  "assessment", "read"};

const char *ht_ledger__kind_name(int kind)
{
    return kind >= 0 && kind < NKINDS ? kind_names[kind] : "?";
}

int ht_ledger__kind_of(const char *name)
{
    for (int k = 0; k < NKINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

/* ---- lesion states (spec 1.3) -------------------------------------------------------------- */

static const char *const target_states[] = {"too_small", "absent", "not_evaluable", "merged", NULL};
static const char *const non_target_states[] = {"present", "absent", "unequivocal_progression",
                                                "not_evaluated", NULL};
static const char *const new_states[] = {"equivocal", "unequivocal", "absent", NULL};

const char *const *ht_ledger_states(const char *role)
{
    return !role                         ? NULL
           : !strcmp(role, "target")     ? target_states
           : !strcmp(role, "non-target") ? non_target_states
           : !strcmp(role, "new")        ? new_states
                                         : NULL;
}

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int ht_ledger__state_allowed(const char *role, const char *state_name)
{
    if (role)
        return in_list(state_name, ht_ledger_states(role));
    return in_list(state_name, target_states) || in_list(state_name, non_target_states) ||
           in_list(state_name, new_states);
}

/* ---- a subject's stored records ------------------------------------------------------------ */

void ht_ledger__state_init(state *st)
{
    for (int k = 0; k < NKINDS; k++)
        st->kinds[k] = json_object();
}

void ht_ledger__state_free(state *st)
{
    for (int k = 0; k < NKINDS; k++)
        json_decref(st->kinds[k]);
}

static int load_current(void *payload, const ht_ledger_row *row)
{
    state *st = payload;
    int k = ht_ledger__kind_of(row->kind);
    if (k < 0)
        return 0;
    json_t *entry = json_object();
    json_t *body = row->retracted ? json_null() : json_loads(row->body, 0, NULL);
    json_object_set_new(entry, "body", body ? body : json_null());
    json_object_set_new(entry, "version", json_integer(row->version));
    json_object_set_new(entry, "retracted", json_boolean(row->retracted));
    json_object_set_new(entry, "first_id", json_integer(row->first_id));
    json_object_set_new(entry, "reader", json_string(row->reader));
    json_object_set_new(entry, "recorded_at", json_string(row->recorded_at));
    json_object_set_new(st->kinds[k], row->key, entry);
    return 0;
}

int ht_ledger__state_load(ht_store *store, int64_t subject, state *st)
{
    return ht_store_ledger_current(store, subject, load_current, st);
}

int ht_ledger_stored_nodal(const ht_ledger_stored *stored, const char *lesion)
{
    json_t *l = stored && lesion ? body_of(stored, K_LESION, lesion) : NULL;
    return l ? flag(l, "nodal") : -1;
}

/* ---- the records of an import -------------------------------------------------------------- */

void ht_ledger__parsed_free(parsed *p)
{
    for (size_t i = 0; i < p->n; i++)
        json_decref(p->items[i].body);
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
}
