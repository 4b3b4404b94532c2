/*
 * The segments under a time point's lesions (issue 17: "lesion segments are listed with their
 * volumes next to the lesion they overlap"): for each lesion measured at the time point, the
 * segments of the time point's SEG instances that cover the middle of its caliper.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/report.h"
#include "hepatrack/seg_volume.h"

#include <string.h>

#define SEG_CLASS "1.2.840.10008.5.1.4.1.1.66.4"

static int collect_seg(void *payload, const ht_row *row)
{
    const char *cls = ht_row_value(row, "SOPClassUID"), *uid = ht_row_value(row, "SOPInstanceUID");
    if (cls && uid && !strcmp(cls, SEG_CLASS))
        json_array_append_new(payload, json_string(uid));
    return 0;
}

/* The SEG instances of the studies a time point lists. */
static int segs_of(ht_store *s, const json_t *timepoint, json_t *out)
{
    size_t i;
    json_t *uid;
    json_array_foreach(json_object_get(timepoint, "study_uids"), i, uid)
    {
        ht_list_filter f = {NULL, NULL, json_string_value(uid), NULL, 0};
        int err = ht_store_list(s, HT_LIST_INSTANCES, &f, collect_seg, out);
        if (err < 0)
            return err;
    }
    return HT_OK;
}

/* The segments under the middle of one assessment's caliper, added to items. */
static void under(const ht_measure_source *src, const json_t *segs, const json_t *a, json_t *items)
{
    const json_t *pts = json_object_get(a, "points");
    const char *image = json_string_value(json_object_get(a, "sop_uid"));
    if (!image || json_array_size(pts) < 2)
        return;
    ht_point mid = {(json_number_value(json_array_get(json_array_get(pts, 0), 0)) +
                     json_number_value(json_array_get(json_array_get(pts, 1), 0))) /
                        2,
                    (json_number_value(json_array_get(json_array_get(pts, 0), 1)) +
                     json_number_value(json_array_get(json_array_get(pts, 1), 1))) /
                        2};
    size_t i;
    json_t *seg;
    json_array_foreach(segs, i, seg)
    {
        ht_seg_hit hits[8];
        size_t n = 0;
        if (ht_seg_segments_under(src, json_string_value(seg), image, mid, hits, 8, &n) < 0)
            continue; /* another frame of reference, an image without plane geometry... */
        for (size_t h = 0; h < n; h++) {
            if (hits[h].is_liver)
                continue;
            json_array_append_new(
                items, json_pack("{s:O, s:O, s:i, s:s, s:o}", "lesion",
                                 json_object_get(a, "lesion"), "seg", seg, "segment",
                                 hits[h].number, "label", hits[h].label, "volume_ml",
                                 hits[h].has_volume ? json_real(hits[h].volume_ml) : json_null()));
        }
    }
}

/* GET /api/subjects/{id}/timepoints/{label}/segments */
int ht_http__timepoint_segments(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    json_t *rec = NULL, *tp = NULL, *x;
    size_t i;
    int err;
    if (!s)
        return HT_EDB;
    if ((err = ht_report_records(s, r->parts[1], &rec)) < 0)
        return ht_http__fail_last(a, err);
    json_array_foreach(json_object_get(rec, "timepoints"), i, x)
    {
        if (!strcmp(json_string_value(json_object_get(x, "label")), r->parts[3]))
            tp = x;
    }
    if (!tp) {
        json_decref(rec);
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "subject %s has no time point %s", r->parts[1],
                             r->parts[3]);
    }
    json_t *segs = json_array(), *items = json_array();
    ht_measure_source src = {s, r->http->archive};
    if ((err = segs_of(s, tp, segs)) == HT_OK) {
        json_array_foreach(json_object_get(rec, "assessments"), i, x)
        {
            if (!strcmp(json_string_value(json_object_get(x, "timepoint")), r->parts[3]))
                under(&src, segs, x, items);
        }
    }
    json_decref(rec);
    if (err < 0) {
        json_decref(segs);
        json_decref(items);
        return ht_http__fail_last(a, err);
    }
    a->json = json_pack("{s:o, s:o}", "segmentations", segs, "items", items);
    return HT_OK;
}
