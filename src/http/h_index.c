/* The index: patients, studies, series, instances and conflicts, filtered and paged. */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/report.h"

#include <string.h>

static int collect(void *payload, const ht_row *row)
{
    json_array_append_new(payload, ht_report_row_json(row));
    return 0;
}

/* GET /api/{kind} with filters, paged as {"items", "total"}. */
static int list(request *r, answer *a, ht_list_kind kind)
{
    size_t limit, offset;
    const char *unassigned = ht_http__arg(r, "unassigned");
    ht_list_filter f = {ht_http__arg(r, "patient"), ht_http__arg(r, "issuer"),
                        ht_http__arg(r, "study"), ht_http__arg(r, "series"),
                        unassigned && !strcmp(unassigned, "1")};
    int err;
    if ((err = ht_http__paging(r, a, &limit, &offset)) < 0)
        return err;
    if (unassigned &&
        (kind != HT_LIST_STUDIES || (strcmp(unassigned, "1") && strcmp(unassigned, "0"))))
        return ht_http__fail(a, HT_EINVALID, "unassigned",
                             "unassigned is 0 or 1, and only for /api/studies (got '%s')",
                             unassigned);
    ht_store *s = ht_http__store(r, a);
    if (!s)
        return HT_EDB;
    if (f.issuer && !f.patient_id)
        return ht_http__fail(a, HT_EINVALID, "issuer", "issuer needs patient");
    json_t *all = json_array(), *items = json_array();
    if ((err = ht_store_list(s, kind, &f, collect, all)) < 0) {
        json_decref(all);
        json_decref(items);
        return ht_http__fail_last(a, err);
    }
    for (size_t i = offset; i < json_array_size(all) && i < offset + limit; i++)
        json_array_append(items, json_array_get(all, i));
    ht_http__items(a, items, json_array_size(all));
    json_decref(all);
    return HT_OK;
}

int ht_http__list_patients(request *r, answer *a)
{
    return list(r, a, HT_LIST_PATIENTS);
}

int ht_http__list_studies(request *r, answer *a)
{
    return list(r, a, HT_LIST_STUDIES);
}

int ht_http__list_series(request *r, answer *a)
{
    return list(r, a, HT_LIST_SERIES);
}

int ht_http__list_instances(request *r, answer *a)
{
    return list(r, a, HT_LIST_INSTANCES);
}

int ht_http__list_conflicts(request *r, answer *a)
{
    return list(r, a, HT_LIST_CONFLICTS);
}
