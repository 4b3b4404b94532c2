/*
 * Reads: assessments entered and signed by radiologists. Each write records its user, as the
 * reader, in the ledger and its audit log.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/exchange.h"
#include "hepatrack/log.h"

#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"

#include <stdio.h>
#include <string.h>

/* The one reader of a write: the user, who may be named in the body but not be someone else. */
static int set_reader(request *r, answer *a, json_t *subject)
{
    json_t *given = json_object_get(subject, "reader");
    if (!r->authenticated)
        return given ? HT_OK
                     : ht_http__fail(a, HT_EINVALID, "reader", "reader is required without logins");
    if (given && (!json_is_string(given) || strcmp(json_string_value(given), r->user.name)))
        return ht_http__fail(a, HT_EINVALID, "reader",
                             "reader must be the logged-in user '%s' (or left out)", r->user.name);
    json_object_set_new(subject, "reader", json_string(r->user.name));
    return HT_OK;
}

static int set_readers(request *r, answer *a, json_t *body)
{
    size_t i;
    json_t *subject;
    int err = HT_OK;
    if (json_is_object(body))
        return set_reader(r, a, body);
    json_array_foreach(body, i, subject)
    {
        if (json_is_object(subject) && (err = set_reader(r, a, subject)) < 0)
            break;
    }
    return err;
}

/* POST /api/measurements: one subject or an array, in the import format; all or nothing. The
 * body is parsed once and handed down: measure completes drawn measurements, the ledger the
 * rest. */
int ht_http__measurements(request *r, answer *a)
{
    ht_store *s;
    ht_ledger_import_summary sum;
    json_t *body;
    char source[96];
    int err;
    if ((err = ht_http__store_and_body(r, a, 1, &s, &body)) < 0)
        return err;
    if ((err = set_readers(r, a, body)) == HT_OK) {
        ht_measure_source drawn_on = {s, r->http->archive};
        snprintf(source, sizeof(source), "api:%s", ht_http__actor(r));
        ht_ledger_import_options read = {ht_measure_complete, &drawn_on, 0, HT_LEDGER_READS, 1};
        err = ht_ledger_import_document(s, body, source, &read, &sum);
        if (err < 0)
            ht_http__fail_last(a, err);
    }
    json_decref(body);
    if (err < 0)
        return err;
    a->json = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s}", "subjects", sum.subjects, "new_records",
                        sum.new_records, "corrections", sum.corrections, "retractions",
                        sum.retractions, "unchanged", sum.unchanged, "notes", sum.notes);
    return HT_OK;
}

/* POST /api/subjects/{id}/timepoints/{label}/sign */
int ht_http__sign(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    if (!r->authenticated)
        return ht_http__fail(a, HT_EAUTH, NULL, "signing a read needs a logged-in radiologist");
    if ((err = ht_ledger_sign(s, r->parts[1], r->parts[3], r->user.name)) < 0)
        return ht_http__fail_last(a, err);
    a->json = json_pack("{s:s, s:s, s:s}", "subject", r->parts[1], "timepoint", r->parts[3],
                        "signed_by", r->user.name);
    /* The signed read as a DICOM SR report in the time point's study (docs/sr.md); a report
     * that cannot be written never undoes the signing: the answer says so. */
    ht_ingest_result sr;
    err = r->http->ingest ? ht_exchange_sr_signed(s, r->http->archive, r->http->ingest, r->parts[1],
                                                  r->parts[3], &sr)
                          : ht_error_set(HT_EUNSUPPORTED, "the server stores no instances");
    if (err == HT_OK)
        json_object_set_new(a->json, "report_sop_instance_uid", json_string(sr.sop_instance_uid));
    else {
        ht_log(HT_LOG_WARN, "sr_not_written subject=%s timepoint=%s reason=\"%s\"", r->parts[1],
               r->parts[3], ht_error_last());
        json_object_set_new(a->json, "report_not_written", json_string(ht_error_last()));
    }
    return HT_OK;
}
