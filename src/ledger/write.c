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

/*
 * A body's engine fields as the store keeps a current version (store.h, ht_ledger_row.fields):
 * each field of HT_LEDGER_FIELD_TABLE as SQLite's json_extract reads it from the stored JSON
 * (true and false are the integers 1 and 0, arrays their compact JSON), written as "" (null) or
 * the first letter of its SQLite type and its text, separated by U+001F. The schema's
 * ledger_packed view spells the same from the stored JSON; the ledger test compares the two.
 */
static char *pack_fields(const json_t *body)
{
#define HT_LF_KEY_(name, key) #key,
    static const char *const keys[] = {HT_LEDGER_FIELD_TABLE(HT_LF_KEY_)};
#undef HT_LF_KEY_
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(body, keys[i]);
        if (i)
            fputc('\x1f', f);
        if (json_is_integer(v)) {
            fprintf(f, "i%lld", (long long)json_integer_value(v));
        } else if (json_is_boolean(v)) {
            fprintf(f, "i%d", json_is_true(v));
        } else if (json_is_string(v)) {
            fprintf(f, "t%s", json_string_value(v));
        } else if (json_is_real(v)) {
            fprintf(f, "r%.15g", json_real_value(v));
        } else if (json_is_array(v) || json_is_object(v)) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            fprintf(f, "t%s", text ? text : "");
            free(text);
        }
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

int ht_ledger__append(const writer *w,
                      int kind,
                      const char *key,
                      const json_t *body,
                      const char *reason,
                      const char *action)
{
    int version = version_after(w->current, kind, key);
    const char *kind_name = ht_ledger__kind_name(kind);
    char *text = body ? json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    char *fields = body ? pack_fields(body) : NULL;
    if (body && (!text || !fields)) {
        free(text);
        free(fields);
        return ht_error_set(HT_ENOMEM, "out of memory recording %s %s", kind_name, key);
    }
    ht_ledger_row row = {0,      kind_name, key, version, text ? text : "", !body, w->reader,
                         reason, w->now,    0,   fields};
    int err = ht_store_ledger_append(w->store, w->subject, &row);
    free(text);
    free(fields);
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

json_t *ht_ledger__read_body(const char *status, const char *reader, const char *now)
{
    json_t *b = json_object();
    json_object_set_new(b, "status", json_string(status));
    json_object_set_new(b, "by", json_string(reader));
    json_object_set_new(b, "at", json_string(now));
    return b;
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
    json_t *body = ht_ledger__read_body("draft", w->reader, w->now);
    if (!body)
        return HT_ENOMEM;
    int err = ht_ledger__append(w, K_READ, label, body, reason, "unsign");
    json_decref(body);
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
        const char *reason = r->reason ? r->reason : (p->reason ? p->reason : "");
        err = ht_ledger__append(w, r->kind, r->key, r->body, reason, action);
        timepoint_of(r, tp, sizeof(tp));
        if (err == HT_OK && tp[0])
            err = unsign(w, tp, reason, unsigned_reads);
    }
    ht_strset_free(unsigned_reads);
    return err;
}
