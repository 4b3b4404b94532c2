/*
 * Writing versions: every change is appended as the next version of its record, with reader,
 * time, reason and an audit entry; nothing is overwritten. A change to a signed time point's
 * records returns its read to draft.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ht_ledger__writer_init(writer *w,
                            ht_store *store,
                            int64_t subject,
                            const char *sid,
                            const state *current,
                            const char *reader,
                            const char *source)
{
    w->store = store;
    w->subject = subject;
    w->sid = sid;
    w->current = current;
    w->reader = reader;
    w->source = source;
    ht_time_now_iso(w->now, sizeof(w->now));
}

static int version_after(const state *st, int kind, const char *key)
{
    json_t *e = json_object_get(st->kinds[kind], key);
    return e ? (int)num(e, "version", 0) + 1 : 1;
}

int ht_ledger__append(const writer *w,
                      int kind,
                      const char *key,
                      const char *body,
                      const char *reason,
                      const char *action)
{
    int version = version_after(w->current, kind, key);
    const char *kind_name = ht_ledger__kind_name(kind);
    ht_ledger_row row = {0,     kind_name, key,    version, body ? body : "",
                         !body, w->reader, reason, w->now,  0};
    int err = ht_store_ledger_append(w->store, w->subject, &row);
    if (err < 0)
        return err;
    const char *source = w->source;
    char *detail =
        ht_strprintf("%s %s v%d%s%s%s%s%s", kind_name, key, version, reason[0] ? ": " : "", reason,
                     source ? " (from " : "", source ? source : "", source ? ")" : "");
    err = detail ? ht_store_audit_add(w->store, w->now, w->reader, action, w->sid, detail)
                 : HT_ENOMEM;
    free(detail);
    return err;
}

char *ht_ledger__read_body(const char *status, const char *reader, const char *now)
{
    json_t *b = json_object();
    json_object_set_new(b, "status", json_string(status));
    json_object_set_new(b, "by", json_string(reader));
    json_object_set_new(b, "at", json_string(now));
    char *text = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(b);
    return text;
}

/* The time point a record belongs to ("" for none). */
static void timepoint_of(const record *r, char *out, size_t size)
{
    const char *tab = r->kind == K_ASSESSMENT ? strchr(r->key, '\t') : NULL;
    snprintf(out, size, "%s", r->kind == K_TIMEPOINT ? r->key : tab ? tab + 1 : "");
}

/* A change to a signed read returns it to draft until it is signed again (once per write). */
static int unsign(const writer *w, const char *label, const char *reason, ht_strset *done)
{
    json_t *read = body_of(w->current, K_READ, label);
    if (!read || !str(read, "status") || strcmp(str(read, "status"), "signed") != 0 ||
        ht_strset_add(done, label) != 1)
        return HT_OK;
    char *text = ht_ledger__read_body("draft", w->reader, w->now);
    if (!text)
        return HT_ENOMEM;
    int err = ht_ledger__append(w, K_READ, label, text, reason, "unsign");
    free(text);
    return err;
}

/* What a record's version does: "create", "correct" or "retract", counted in sum; NULL when it
 * changes nothing. */
static const char *action_of(const writer *w, const record *r, ht_ledger_import_summary *sum)
{
    json_t *old = body_of(w->current, r->kind, r->key);
    if (r->body && old && json_equal(old, r->body)) {
        sum->unchanged++;
        return NULL;
    }
    if (!r->body) {
        sum->retractions++;
        return "retract";
    }
    if (json_object_get(w->current->kinds[r->kind], r->key)) {
        sum->corrections++;
        return "correct";
    }
    sum->new_records++;
    return "create";
}

int ht_ledger__write_records(const writer *w, const parsed *p, ht_ledger_import_summary *sum)
{
    char tp[300];
    ht_strset *unsigned_reads = ht_strset_new();
    int err = unsigned_reads ? HT_OK : HT_ENOMEM;

    for (size_t i = 0; i < p->n && err == HT_OK; i++) {
        const record *r = &p->items[i];
        const char *action = action_of(w, r, sum);
        if (!action)
            continue;
        char *body = r->body ? json_dumps(r->body, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        const char *reason = r->reason ? r->reason : (p->reason ? p->reason : "");
        if (r->body && !body) {
            err = HT_ENOMEM;
            break;
        }
        err = ht_ledger__append(w, r->kind, r->key, body, reason, action);
        free(body);
        timepoint_of(r, tp, sizeof(tp));
        if (err == HT_OK && tp[0])
            err = unsign(w, tp, reason, unsigned_reads);
    }
    ht_strset_free(unsigned_reads);
    return err;
}
