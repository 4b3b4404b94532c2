/* A subject's record versions and audit log as JSON (what `hepatrack history` prints). */
#include "hepatrack/report.h"

#include <jansson.h>

typedef struct history {
    json_t *versions, *audit;
} history;

static int add_version(void *payload, const ht_ledger_row *row)
{
    history *h = payload;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(row->kind));
    json_object_set_new(o, "key", json_string(row->key));
    json_object_set_new(o, "version", json_integer(row->version));
    json_object_set_new(o, "retracted", json_boolean(row->retracted));
    json_object_set_new(o, "reader", json_string(row->reader));
    json_object_set_new(o, "recorded_at", json_string(row->recorded_at));
    json_object_set_new(o, "reason", json_string(row->reason));
    json_t *body = row->retracted ? json_null() : json_loads(row->body, 0, NULL);
    json_object_set_new(o, "record", body ? body : json_null());
    json_array_append_new(h->versions, o);
    return 0;
}

static int add_audit(void *payload, const ht_audit_row *row)
{
    history *h = payload;
    json_t *o = json_object();
    json_object_set_new(o, "at", json_string(row->at));
    json_object_set_new(o, "user", json_string(row->user));
    json_object_set_new(o, "action", json_string(row->action));
    json_object_set_new(o, "detail", json_string(row->detail));
    json_array_append_new(h->audit, o);
    return 0;
}

int ht_report_history(ht_store *store, const char *subject_id, json_t **out)
{
    int64_t subject;
    int err;
    history h = {json_array(), json_array()};
    *out = NULL;
    if ((err = ht_store_subject_find(store, subject_id, &subject)) < 0 ||
        (err = ht_store_ledger_history(store, subject, add_version, &h)) < 0 ||
        (err = ht_store_audit_each(store, subject_id, add_audit, &h)) < 0) {
        json_decref(h.versions);
        json_decref(h.audit);
        return err;
    }
    *out = json_object();
    json_object_set_new(*out, "subject", json_string(subject_id));
    json_object_set_new(*out, "versions", h.versions);
    json_object_set_new(*out, "audit", h.audit);
    return HT_OK;
}
