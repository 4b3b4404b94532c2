/* The trial's parameters (spec 13.1) as JSON: what `trial show` prints and reports name. */
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
    char study[80] = "NCT06071052", role[80] = "INVESTIGATOR";
    json_t *stored = json_object();
    int err;
    *out = NULL;
    if ((err = ht_ledger_params(store, &p, &interval)) < 0 ||
        (err = ht_store_param_each(store, add_stored, stored)) < 0) {
        json_decref(stored);
        return err;
    }
    ht_store_param_get(store, "study_id", study, sizeof(study));
    ht_store_param_get(store, "reader_role", role, sizeof(role));
    json_t *o = json_object();
    json_object_set_new(o, "study_id", json_string(study));
    json_object_set_new(o, "reader_role", json_string(role));
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
}
