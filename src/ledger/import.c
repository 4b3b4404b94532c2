/*
 * An import: each subject of a document loaded once, completed by the caller's hook (drawn
 * measurements), parsed, overlaid on what is stored, validated whole, and written; all
 * subjects in one transaction, all or nothing.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include "hepatrack/log.h"

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
    const ht_ledger_import_options *opt;
    int enrolling;   /* ht_ledger_enrol: every subject gets its record */
    ht_strset *seen; /* subject ids already in the document */
    ht_ledger_import_summary *sum;
    int in_transaction; /* the caller's: neither begun nor ended here */
} importer;

/* A field the options' scope does not allow, or NULL. */
static const char *out_of_scope(const json_t *in, ht_ledger_scope scope)
{
    static const char *const subject_fields[] = {
        "dicom_patients", "treatment_start", "death_date", "last_known_alive", "withdrawn", NULL};
    static const char *const read_fields[] = {"timepoints", "lesions", "assessments", NULL};
    if (scope == HT_LEDGER_ALL)
        return NULL;
    for (const char *const *f = scope == HT_LEDGER_READS ? subject_fields : read_fields; *f; f++)
        if (json_object_get(in, *f))
            return *f;
    return NULL;
}

static void list_enrolled(ht_ledger_import_summary *sum, const char *sid)
{
    size_t n = strlen(sum->enrolled);
    snprintf(sum->enrolled + n, sizeof(sum->enrolled) - n, "%s%s", n ? ", " : "", sid);
}

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
    const char *field = json_is_object(in) ? out_of_scope(in, im->opt->scope) : NULL;
    if (field) {
        err = ht_error_set(im->opt->scope == HT_LEDGER_READS ? HT_EPERM : HT_EINVALID,
                           im->opt->scope == HT_LEDGER_READS
                               ? "%s is a coordinator's to set (enrolment), not part of a read"
                               : "%s is part of a read, not of enrolment",
                           field);
        goto done;
    }
    if (json_is_object(in) && (err = load_stored(im->store, in, &subject, &current)) < 0)
        goto done;
    if (im->opt->complete && json_is_object(in) &&
        (err = im->opt->complete(im->opt->payload, in, &current)) < 0)
        goto done;
    p.enrolling = im->enrolling;
    if ((err = ht_ledger__parse_subject(in, &p, im->sum)) < 0)
        goto done;
    if (!subject && !im->opt->enrol) {
        err = ht_error_set(HT_ENOTFOUND,
                           "no such subject %s: enrol it first (POST /api/subjects, hepatrack "
                           "subject add, or measurements import --enrol)",
                           p.sid);
        goto done;
    }
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
        (err = ht_ledger__validate_subject(p.sid, &merged)) < 0 ||
        (err = ht_ledger__check_provenance(im->store, &merged, &p, im->opt->images_required,
                                           im->sum)) < 0)
        goto done;
    ht_time_now_iso(now, sizeof(now));
    if ((err = ht_store_subject_ensure(im->store, p.sid, now, &subject, &created)) < 0)
        goto done;
    writer w;
    ht_ledger__writer_init(&w, im->store, subject, p.sid, &current, p.reader, im->source);
    if ((err = ht_ledger__write_records(&w, &p, im->sum)) < 0)
        goto done;
    if (created)
        list_enrolled(im->sum, p.sid);
    im->sum->subjects++;
done:
    ht_ledger__parsed_free(&p);
    ht_ledger__state_free(&current);
    ht_ledger__state_free(&merged);
    return err;
}

/* One transaction for every subject of the document. */
static int import_all(importer *im, json_t *doc)
{
    ht_store *store = im->store;
    const char *source = im->source;
    ht_ledger_import_summary *summary = im->sum;
    int err = HT_OK;
    im->seen = ht_strset_new();

    memset(summary, 0, sizeof(*summary));
    if (!json_is_object(doc) && !json_is_array(doc))
        err = ht_error_set(HT_EINVALID, "%s: expected a subject object or an array of subjects",
                           source);
    else if (!im->seen)
        err = ht_error_set(HT_ENOMEM, "out of memory importing measurements");
    else if (!im->in_transaction)
        err = ht_store_begin(store);
    if (err < 0) {
        ht_strset_free(im->seen);
        return err;
    }
    if (json_is_object(doc)) {
        err = import_subject(im, doc);
    } else {
        size_t i;
        json_t *x;
        json_array_foreach(doc, i, x)
        {
            if ((err = import_subject(im, x)) < 0)
                break;
        }
    }
    if (err == HT_OK && !im->in_transaction)
        err = ht_store_commit(store);
    /* a subject enrolled, a patient linked or a study listed: reports that matched no subject
     * or time point may now (ht_exchange_sr_pending reads them again); not this import's fault
     * if it fails */
    if (err == HT_OK && !im->in_transaction && ht_store_reports_reopen(store) < 0)
        ht_log(HT_LOG_WARN, "event=error reason=\"%s\"", ht_error_last());
    if (err < 0 && !im->in_transaction)
        ht_store_rollback(store);
    ht_strset_free(im->seen);
    return err;
}

int ht_ledger_import_document(ht_store *store,
                              json_t *doc,
                              const char *source,
                              const ht_ledger_import_options *options,
                              ht_ledger_import_summary *summary)
{
    importer im = {store, source, options, 0, NULL, summary, 0};
    return import_all(&im, doc);
}

int ht_ledger__import_in_transaction(ht_store *store,
                                     json_t *doc,
                                     const char *source,
                                     const ht_ledger_import_options *options,
                                     ht_ledger_import_summary *summary)
{
    importer im = {store, source, options, 0, NULL, summary, 1};
    return import_all(&im, doc);
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
    ht_ledger_import_options all = {NULL, NULL, 1, HT_LEDGER_ALL, 0};
    err = ht_ledger_import_document(store, doc, source, &all, summary);
    json_decref(doc);
    return err;
}

/* Subject-level changes by a coordinator or admin, audited as theirs. */
static int enrolment(
    ht_store *store, json_t *doc, const char *actor, int enrolling, ht_ledger_import_summary *sum)
{
    ht_ledger_import_options opt = {NULL, NULL, enrolling, HT_LEDGER_ENROLMENT, 0};
    char source[96];
    snprintf(source, sizeof(source), "%s:%s", enrolling ? "enrolment" : "subject", actor);
    json_object_set_new(doc, "reader", json_string(actor));
    importer im = {store, source, &opt, enrolling, NULL, sum, 0};
    return import_all(&im, doc);
}

int ht_ledger_enrol(ht_store *store, json_t *subject, const char *actor)
{
    ht_ledger_import_summary sum;
    int64_t id;
    const char *sid = json_string_value(json_object_get(subject, "subject"));
    if (!json_is_object(subject))
        return ht_error_set(HT_EINVALID, "an enrolment is a JSON object");
    if (sid && ht_store_subject_find(store, sid, &id) == HT_OK)
        return ht_error_set(HT_EEXISTS, "subject %s is already enrolled", sid);
    ht_error_clear();
    return enrolment(store, subject, actor, 1, &sum);
}

int ht_ledger_subject_update(ht_store *store,
                             const char *subject_id,
                             json_t *patch,
                             const char *actor,
                             ht_ledger_import_summary *summary)
{
    if (!json_is_object(patch))
        return ht_error_set(HT_EINVALID, "a subject's change is a JSON object");
    json_object_set_new(patch, "subject", json_string(subject_id));
    return enrolment(store, patch, actor, 0, summary);
}
