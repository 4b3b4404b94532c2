/*
 * An import: each subject of a document loaded once, completed by the caller's hook (drawn
 * measurements), parsed, overlaid on what is stored, validated whole, and written; all
 * subjects in one transaction, all or nothing.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <stdio.h>
#include <string.h>

int ht_ledger_parse_document(const char *text, size_t len, const char *source, json_t **doc)
{
    json_error_t jerr;
    *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!*doc)
        return ht_error_set(HT_EPARSE, "%s: not valid JSON at line %d, column %d: %s", source,
                            jerr.line, jerr.column, jerr.text);
    if (!json_is_object(*doc) && !json_is_array(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return ht_error_set(HT_EINVALID, "%s: expected a subject object or an array of subjects",
                            source);
    }
    return HT_OK;
}

/* What one import shares across its subjects. */
typedef struct importer {
    ht_store *store;
    const char *source;
    ht_ledger_complete_fn complete;
    void *payload;
    ht_strset *seen; /* subject ids already in the document */
    ht_ledger_import_summary *sum;
} importer;

/* The stored records of the subject a document's object names (none for a new subject). */
static int load_stored(ht_store *store, const json_t *in, int64_t *subject, state *current)
{
    const char *sid = json_string_value(json_object_get(in, "subject"));
    int err = sid ? ht_store_subject_find(store, sid, subject) : HT_ENOTFOUND;
    if (err == HT_OK)
        return ht_ledger__state_load(store, *subject, current);
    if (err == HT_ENOTFOUND) {
        ht_error_clear();
        return HT_OK;
    }
    return err;
}

static int import_subject(importer *im, json_t *in)
{
    parsed p = {0};
    state current, merged;
    int64_t subject = 0;
    int created = 0, err;
    char now[32];

    ht_ledger__state_init(&current);
    ht_ledger__state_init(&merged);
    if (json_is_object(in) && (err = load_stored(im->store, in, &subject, &current)) < 0)
        goto done;
    if (im->complete && json_is_object(in) && (err = im->complete(im->payload, in, &current)) < 0)
        goto done;
    if ((err = ht_ledger__parse_subject(in, &p, im->sum)) < 0)
        goto done;
    if (ht_strset_add(im->seen, p.sid) == 0) {
        where w = {p.sid, NULL, NULL};
        err = ht_ledger__fail(&w, "the subject appears twice in the file");
        goto done;
    }
    if (!subject && p.n == 0) { /* nothing else creates a subject: it comes with its records */
        where w = {p.sid, NULL, NULL};
        err = ht_ledger__fail(&w, "no such subject, and the document records nothing for it");
        goto done;
    }
    if ((err = ht_ledger__overlay(&current, &merged, &p)) < 0 ||
        (err = ht_ledger__validate_subject(p.sid, &merged)) < 0)
        goto done;
    ht_time_now_iso(now, sizeof(now));
    if ((err = ht_store_subject_ensure(im->store, p.sid, now, &subject, &created)) < 0)
        goto done;
    writer w;
    ht_ledger__writer_init(&w, im->store, subject, p.sid, &current, p.reader, im->source);
    if ((err = ht_ledger__write_records(&w, &p, im->sum)) < 0)
        goto done;
    im->sum->subjects++;
done:
    ht_ledger__parsed_free(&p);
    ht_ledger__state_free(&current);
    ht_ledger__state_free(&merged);
    return err;
}

int ht_ledger_import_document(ht_store *store,
                              json_t *doc,
                              const char *source,
                              ht_ledger_complete_fn complete,
                              void *payload,
                              ht_ledger_import_summary *summary)
{
    importer im = {store, source, complete, payload, ht_strset_new(), summary};
    int err;

    memset(summary, 0, sizeof(*summary));
    if (!json_is_object(doc) && !json_is_array(doc))
        err = ht_error_set(HT_EINVALID, "%s: expected a subject object or an array of subjects",
                           source);
    else if (!im.seen)
        err = ht_error_set(HT_ENOMEM, "out of memory importing measurements");
    else
        err = ht_store_begin(store);
    if (err < 0) {
        ht_strset_free(im.seen);
        return err;
    }
    if (json_is_object(doc)) {
        err = import_subject(&im, doc);
    } else {
        size_t i;
        json_t *x;
        json_array_foreach(doc, i, x)
        {
            if ((err = import_subject(&im, x)) < 0)
                break;
        }
    }
    if (err == HT_OK)
        err = ht_store_commit(store);
    if (err < 0)
        ht_store_rollback(store);
    ht_strset_free(im.seen);
    return err;
}

int ht_ledger_import(ht_store *store,
                     const char *json_text,
                     size_t len,
                     const char *source,
                     ht_ledger_import_summary *summary)
{
    json_t *doc;
    int err;
    memset(summary, 0, sizeof(*summary));
    if ((err = ht_ledger_parse_document(json_text, len, source, &doc)) < 0)
        return err;
    err = ht_ledger_import_document(store, doc, source, NULL, NULL, summary);
    json_decref(doc);
    return err;
}
