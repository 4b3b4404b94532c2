/* The trial's parameters (spec 13.1, and the versions the CDISC export names) as JSON: what
 * `trial show` prints and reports name. */
#include "report_internal.h"

#include "hepatrack/util.h"

static int add_stored(void *payload, const char *key, const char *value)
{
    (void)value;
    json_object_set_new(payload, key, json_true());
    return 0;
}

int ht_report_trial(ht_store *store, json_t **out, json_t **stored_keys)
{
    ht_rs_params p;
    int32_t interval;
    json_t *stored = json_object(), *o = json_object();
    int err;
    *out = NULL;
    if ((err = ht_ledger_params(store, &p, &interval)) < 0 ||
        (err = ht_store_param_each(store, add_stored, stored)) < 0)
        goto fail;
    for (const char *const *k = ht_ledger_text_params(); *k; k++) { /* study_id, reader_role, ... */
        char value[80];
        if ((err = ht_ledger_param_text(store, *k, value, sizeof(value))) < 0)
            goto fail;
        json_object_set_new(o, *k, json_string(value));
    }
    json_object_set_new(o, "confirmation_required", json_boolean(p.confirmation_required));
    json_object_set_new(o, "confirmation_min_days", json_integer(p.confirmation_min_days));
    json_object_set_new(o, "sd_min_days", json_integer(p.sd_min_days));
    json_object_set_new(o, "assessment_interval_days",
                        interval == HT_NO_VALUE ? json_null() : json_integer(interval));
    *out = o;
    if (stored_keys)
        *stored_keys = stored;
    else
        json_decref(stored);
    return HT_OK;
fail:
    json_decref(stored);
    json_decref(o);
    return err;
}
