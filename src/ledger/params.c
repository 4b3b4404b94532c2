/* The trial parameters of spec 13.1: defaults, checked values, every change audited. */
#define _GNU_SOURCE
#include "hepatrack/ledger.h"
#include "hepatrack/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TEXT, DAYS, BOOLEAN };

/* Every key (spec 13.1, and the CDISC standards the export names), with the text keys'
 * defaults and the values a choice may take. */
static const struct {
    const char *key;
    int kind;
    const char *fallback; /* text keys */
    const char *choices;  /* "|"-separated, or NULL for free text */
} param_keys[] = {
    {"study_id", TEXT, "NCT06071052", NULL},
    {"reader_role", TEXT, "INVESTIGATOR", "INVESTIGATOR|INDEPENDENT ASSESSOR"},
    /* the versions whose labels and conventions the export's tables follow */
    {"sdtmig_version", TEXT, "3.4", "3.3|3.4"},
    {"adamig_version", TEXT, "1.3", "1.1|1.2|1.3"},
    {"ct_version", TEXT, "2024-09-27", NULL},
    {"confirmation_required", BOOLEAN, NULL, NULL},
    {"confirmation_min_days", DAYS, NULL, NULL},
    {"sd_min_days", DAYS, NULL, NULL},
    {"assessment_interval_days", DAYS, NULL, NULL},
};
#define NKEYS (sizeof(param_keys) / sizeof(param_keys[0]))

static const char *text_keys[NKEYS + 1];

static void list_text_keys(void)
{
    size_t n = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (param_keys[i].kind == TEXT)
            text_keys[n++] = param_keys[i].key;
}

const char *const *ht_ledger_text_params(void)
{
    static pthread_once_t listed = PTHREAD_ONCE_INIT;
    pthread_once(&listed, list_text_keys);
    return text_keys;
}

int ht_ledger_param_text(ht_store *store, const char *key, char *out, size_t size)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (param_keys[i].kind != TEXT || strcmp(param_keys[i].key, key) != 0)
            continue;
        int err = ht_store_param_get(store, key, out, size);
        if (err == HT_ENOTFOUND) {
            snprintf(out, size, "%s", param_keys[i].fallback);
            return HT_OK;
        }
        return err;
    }
    return ht_error_set(HT_EINVALID, "'%s' is not a text trial parameter", key);
}

/* Whether value is one of the "|"-separated choices. */
static int one_of(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *c = choices; c; c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL)
        if (!strncmp(c, value, n) && (c[n] == '|' || c[n] == '\0'))
            return 1;
    return 0;
}

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
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(param_keys[i].key, key) != 0)
            continue;
        if (param_keys[i].kind == BOOLEAN && strcmp(value, "true") && strcmp(value, "false"))
            return ht_error_set(HT_EINVALID, "%s must be true or false (got '%s')", key, value);
        if (param_keys[i].kind == DAYS) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 0 || v > 3650)
                return ht_error_set(
                    HT_EINVALID, "%s must be a number of days, 0 to 3650 (got '%s')", key, value);
        }
        if (param_keys[i].kind == TEXT && (!*value || strlen(value) > 64))
            return ht_error_set(HT_EINVALID, "%s must be 1 to 64 characters", key);
        if (param_keys[i].choices && !one_of(param_keys[i].choices, value))
            return ht_error_set(HT_EINVALID, "%s must be one of %s (got '%s')", key,
                                param_keys[i].choices, value);
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
    char known[512];
    size_t used = 0;
    for (size_t i = 0; i < NKEYS && used < sizeof(known); i++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                                 param_keys[i].key);
    return ht_error_set(HT_EINVALID, "unknown trial parameter '%s' (%s)", key, known);
}
