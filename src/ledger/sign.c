/* Signing a read: the radiologist's sign-off of one time point, itself a versioned record. */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_signed(const state *st, const char *label)
{
    json_t *read = body_of(st, K_READ, label);
    return read && str(read, "status") && !strcmp(str(read, "status"), "signed");
}

/* Reads are signed in date order: the earlier time points still in draft, ", "-separated. */
static void earlier_drafts(const state *st, const json_t *tp, char *out, size_t size)
{
    const char *key;
    json_t *e;
    out[0] = '\0';
    json_object_foreach(st->kinds[K_TIMEPOINT], key, e)
    {
        json_t *b = body_of(st, K_TIMEPOINT, key);
        if (b && strcmp(str(b, "date"), str(tp, "date")) < 0 && !is_signed(st, key)) {
            size_t n = strlen(out);
            snprintf(out + n, size - n, "%s%s", n ? ", " : "", key);
        }
    }
}

int ht_ledger_sign(ht_store *store, const char *subject_id, const char *label, const char *reader)
{
    state current;
    int64_t subject;
    int err;
    where w = {subject_id, NULL, label};

    if (!reader || !*reader)
        return ht_ledger__fail(&w, "signing needs the reader's name");
    if ((err = ht_store_subject_find(store, subject_id, &subject)) < 0)
        return err;
    ht_ledger__state_init(&current);
    if ((err = ht_ledger__state_load(store, subject, &current)) < 0)
        goto done;
    json_t *tp = body_of(&current, K_TIMEPOINT, label);
    if (!tp) {
        err = ht_ledger__fail(&w, "the subject has no such time point");
        goto done;
    }
    /* Every target and non-target has its record at this time point. */
    const char *key;
    json_t *e;
    char missing[400] = "";
    json_object_foreach(current.kinds[K_LESION], key, e)
    {
        json_t *l = body_of(&current, K_LESION, key);
        char k[300];
        if (!l || !strcmp(str(l, "role"), "new") || !flag(tp, "imaging_performed"))
            continue;
        snprintf(k, sizeof(k), "%s\t%s", key, label);
        if (!body_of(&current, K_ASSESSMENT, k)) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", key);
        }
    }
    if (missing[0]) {
        err = ht_ledger__fail(&w, "cannot sign: no record yet for %s", missing);
        goto done;
    }
    earlier_drafts(&current, tp, missing, sizeof(missing));
    if (missing[0]) {
        err = ht_ledger__fail(&w, "cannot sign before %s: reads are signed in date order", missing);
        goto done;
    }
    json_t *read = body_of(&current, K_READ, label);
    if (is_signed(&current, label)) {
        err = ht_ledger__fail(&w, "the read is already signed (by %s)",
                              str(read, "by") ? str(read, "by") : "?");
        goto done;
    }
    writer wr;
    ht_ledger__writer_init(&wr, store, subject, subject_id, &current, reader, NULL);
    json_t *text = ht_ledger__read_body("signed", reader, wr.now);
    if (!text) {
        err = HT_ENOMEM;
        goto done;
    }
    if ((err = ht_store_begin(store)) == HT_OK &&
        (err = ht_ledger__append(&wr, K_READ, label, text, "", "sign")) == HT_OK)
        err = ht_store_commit(store);
    if (err < 0)
        ht_store_rollback(store);
    json_decref(text);
done:
    ht_ledger__state_free(&current);
    return err;
}
