/*
 * Provenance: a measurement names the image it was made on, and that image must be one of the
 * subject's (a linked DICOM patient's) from a study its time point lists; otherwise a length
 * measured on another subject's images would become this subject's result. An image or study
 * not (yet) in the index is refused where images must be there (the API), or noted (an
 * operator's load of historical reads whose images have not arrived).
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <stdio.h>
#include <string.h>

/* The keys of a kind's current records, ", "-separated, for a message. */
static void listing(const state *st, int kind, char *out, size_t size)
{
    const char *key;
    json_t *e;
    out[0] = '\0';
    json_object_foreach(st->kinds[kind], key, e)
    {
        if (!body_of(st, kind, key))
            continue;
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? ", " : "", key);
    }
    for (char *p = out; *p; p++)
        if (*p == '\t')
            *p = '@';
    if (!out[0])
        snprintf(out, size, "none");
}

static int lists_study(const json_t *tp, const char *study)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(tp, "study_uids"), i, u)
    {
        if (!strcmp(json_string_value(u), study))
            return 1;
    }
    return 0;
}

/* What to do about an image or study not in the index. */
static int not_indexed(
    const where *w, int strict, ht_ledger_import_summary *sum, const char *what, const char *uid)
{
    if (strict)
        return ht_ledger__fail(w, "%s %s is not in the index: send the images first", what, uid);
    ht_ledger__note(sum, "%s%s%s %s %s is not in the index yet", w->lesion ? w->lesion : "",
                    w->lesion ? " at " : "", w->timepoint ? w->timepoint : "", what, uid);
    return HT_OK;
}

static int check_image(ht_store *store,
                       const state *merged,
                       const char *sop,
                       const where *w,
                       int strict,
                       ht_ledger_import_summary *sum)
{
    ht_instance_origin o;
    char patient[160], linked[600], studies[600];
    if (!sop)
        return HT_OK;
    int err = ht_store_instance_origin(store, sop, &o);
    if (err == HT_ENOTFOUND)
        return not_indexed(w, strict, sum, "sop_uid", sop);
    if (err < 0)
        return err;
    snprintf(patient, sizeof(patient), "%s\t%s", o.patient_id, o.issuer);
    json_t *tp = body_of(merged, K_TIMEPOINT, w->timepoint);
    if (body_of(merged, K_PATIENT, patient) && tp && lists_study(tp, o.study_uid))
        return HT_OK;
    listing(merged, K_PATIENT, linked, sizeof(linked));
    studies[0] = '\0';
    size_t i;
    json_t *u;
    json_array_foreach(tp ? json_object_get(tp, "study_uids") : NULL, i, u)
    {
        size_t n = strlen(studies);
        snprintf(studies + n, sizeof(studies) - n, "%s%s", n ? ", " : "", json_string_value(u));
    }
    return ht_ledger__fail(w,
                           "sop_uid %s is an image of patient %s%s%s, study %s; the subject is "
                           "linked to %s and the time point lists %s",
                           sop, o.patient_id, o.issuer[0] ? "@" : "", o.issuer, o.study_uid, linked,
                           studies[0] ? studies : "no study");
}

int ht_ledger__check_provenance(ht_store *store,
                                const state *merged,
                                const parsed *p,
                                int strict,
                                ht_ledger_import_summary *sum)
{
    for (size_t i = 0; i < p->n; i++) {
        const record *r = &p->items[i];
        int err = HT_OK;
        if (!r->body)
            continue;
        if (r->kind == K_ASSESSMENT) {
            char lesion[300];
            const char *tab = strchr(r->key, '\t');
            snprintf(lesion, sizeof(lesion), "%.*s", (int)(tab - r->key), r->key);
            where w = {p->sid, lesion, tab + 1};
            /* the caliper's image and the ellipse's, when it has its own */
            err = check_image(store, merged, str(r->body, "sop_uid"), &w, strict, sum);
            if (err == HT_OK)
                err = check_image(store, merged, str(r->body, "roi_sop_uid"), &w, strict, sum);
        } else if (r->kind == K_TIMEPOINT) {
            where w = {p->sid, NULL, r->key};
            size_t j;
            json_t *u;
            json_array_foreach(json_object_get(r->body, "study_uids"), j, u)
            {
                char date[11];
                int indexed = ht_store_study_date(store, json_string_value(u), date);
                if (indexed != HT_OK && indexed != HT_ENOTFOUND)
                    return indexed;
                if (indexed == HT_ENOTFOUND &&
                    (err = not_indexed(&w, strict, sum, "study", json_string_value(u))) < 0)
                    break;
            }
        }
        if (err < 0)
            return err;
    }
    return HT_OK;
}
