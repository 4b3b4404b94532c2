/*
 * Proposed measurements (spec 11): measurements that arrived in outside reports (TID 1500), kept
 * apart from the ledger until a radiologist accepts one (a new version of the assessment, the
 * reason naming the report) or rejects it with a reason.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/ledger.h"
#include "hepatrack/measure.h"

#include <stdlib.h>
#include <string.h>

/* GET /api/proposals?subject=&status=proposed|accepted|rejected|unmatched&source= */
int ht_http__proposals(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    const char *status = ht_http__arg(r, "status");
    json_t *items = NULL;
    int err;
    if (!s)
        return HT_EDB;
    if (status && strcmp(status, "proposed") && strcmp(status, "accepted") &&
        strcmp(status, "rejected") && strcmp(status, "unmatched"))
        return ht_http__fail(a, HT_EINVALID, "status",
                             "status is proposed, accepted, rejected or unmatched (got '%s')",
                             status);
    if ((err = ht_ledger_proposals(s, ht_http__arg(r, "subject"), status, ht_http__arg(r, "source"),
                                   &items)) < 0)
        return ht_http__fail_last(a, err);
    a->json = json_pack("{s:o}", "items", items);
    return HT_OK;
}

static int proposal_id(request *r, answer *a, int64_t *id)
{
    char *end;
    long long v = strtoll(r->parts[1], &end, 10);
    if (*end || end == r->parts[1] || v <= 0)
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "no proposal '%s'", r->parts[1]);
    *id = v;
    return HT_OK;
}

/* POST /api/proposals/{id}/accept {"role"?: for a new lesion} */
int ht_http__proposal_accept(request *r, answer *a)
{
    ht_store *s;
    json_t *body;
    int64_t id;
    ht_ledger_import_summary sum;
    int err;
    if ((err = proposal_id(r, a, &id)) < 0 ||
        (err = ht_http__store_and_body(r, a, 1, &s, &body)) < 0)
        return err;
    const char *role = json_string_value(json_object_get(body, "role"));
    ht_measure_source drawn_on = {s, r->http->archive};
    ht_ledger_import_options read = {ht_measure_complete, &drawn_on, 0, HT_LEDGER_READS, 0};
    /* "": a lesion new to the ledger needs the role the radiologist gives, never the report's */
    err = ht_ledger_proposal_accept(s, id, ht_http__actor(r), role ? role : "", &read, &sum);
    json_decref(body);
    if (err < 0)
        return ht_http__fail_last(a, err);
    a->json = json_pack("{s:I, s:s, s:i, s:i}", "id", (json_int_t)id, "status", "accepted",
                        "new_records", sum.new_records, "corrections", sum.corrections);
    return HT_OK;
}

/* POST /api/proposals/{id}/reject {"reason"} */
int ht_http__proposal_reject(request *r, answer *a)
{
    ht_store *s;
    json_t *body;
    int64_t id;
    int err;
    if ((err = proposal_id(r, a, &id)) < 0 ||
        (err = ht_http__store_and_body(r, a, 0, &s, &body)) < 0)
        return err;
    const char *reason = json_string_value(json_object_get(body, "reason"));
    err = ht_ledger_proposal_reject(s, id, ht_http__actor(r), reason);
    json_decref(body);
    if (err < 0)
        return ht_http__fail_last(a, err);
    a->json = json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "rejected");
    return HT_OK;
}
