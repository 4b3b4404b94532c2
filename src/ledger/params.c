/* The trial parameters of spec 13.1: defaults, checked values, every change audited. */
#define _GNU_SOURCE
#include "hepatrack/ledger.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *key;
    int numeric; /* 1 a day count, 2 a boolean, 0 text */
} param_keys[] = {{"study_id", 0},
                  {"reader_role", 0},
                  {"confirmation_required", 2},
                  {"confirmation_min_days", 1},
                  {"sd_min_days", 1},
                  {"assessment_interval_days", 1}};

static int int_param(ht_store *store, const char *key, int fallback, int *out)
{
    char v[64];
    int err = ht_store_param_get(store, key, v, sizeof(v));
    if (err == HT_ENOTFOUND) {
        *out = fallback;
        return HT_OK;
    }
    if (err < 0)
        return err;
    *out = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : atoi(v);
    return HT_OK;
}

int ht_ledger_params(ht_store *store, ht_rs_params *p, int32_t *interval)
{
    static const ht_rs_params defaults = HT_RS_PARAMS_INIT;
    int err, iv;
    *p = defaults;
    if ((err = int_param(store, "confirmation_required", 1, &p->confirmation_required)) < 0 ||
        (err = int_param(store, "confirmation_min_days", 28, &p->confirmation_min_days)) < 0 ||
        (err = int_param(store, "sd_min_days", 42, &p->sd_min_days)) < 0 ||
        (err = int_param(store, "assessment_interval_days", -1, &iv)) < 0)
        return err;
    if (interval)
        *interval = iv > 0 ? iv : HT_NO_VALUE;
    return HT_OK;
}

int ht_ledger_param_set(ht_store *store, const char *key, const char *value, const char *user)
{
    char now[32], *detail;
    int err;
    for (size_t i = 0; i < sizeof(param_keys) / sizeof(param_keys[0]); i++) {
        if (strcmp(param_keys[i].key, key) != 0)
            continue;
        if (param_keys[i].numeric == 2 && strcmp(value, "true") && strcmp(value, "false"))
            return ht_error_set(HT_EINVALID, "%s must be true or false (got '%s')", key, value);
        if (param_keys[i].numeric == 1) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 0 || v > 3650)
                return ht_error_set(
                    HT_EINVALID, "%s must be a number of days, 0 to 3650 (got '%s')", key, value);
        }
        if (param_keys[i].numeric == 0 && (!*value || strlen(value) > 64))
            return ht_error_set(HT_EINVALID, "%s must be 1 to 64 characters", key);
        ht_time_now_iso(now, sizeof(now));
        detail = ht_strprintf("%s = %s", key, value);
        if ((err = ht_store_begin(store)) == HT_OK &&
            (err = ht_store_param_set(store, key, value)) == HT_OK &&
            (err = ht_store_audit_add(store, now, user, "trial set", "", detail ? detail : key)) ==
                HT_OK)
            err = ht_store_commit(store);
        if (err < 0)
            ht_store_rollback(store);
        free(detail);
        return err;
    }
    return ht_error_set(HT_EINVALID,
                        "unknown trial parameter '%s' (study_id, reader_role, "
                        "confirmation_required, confirmation_min_days, sd_min_days, "
                        "assessment_interval_days)",
                        key);
}
