/*
 * Reading the measurement-import format (docs/measurements.md): each subject into records with
 * canonical bodies, lengths in integer tenths of a millimetre (spec 0.4), every field checked
 * and every wrong one named.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_timepoint(const where *sw, const json_t *in, json_t **out, ht_ledger_import_summary *sum)
{
    static const char *const keys[] = {"label",           "date",
                                       "baseline",        "imaging_performed",
                                       "study_uids",      "portal_vein_status",
                                       "liver_volume_ml", "slice_thickness_mm",
                                       "reason",          NULL};
    const char *label, *date, *pv;
    int baseline = 0, imaging = 1, err;
    where w = *sw;
    json_t *body;

    if (!json_is_object(in))
        return ht_ledger__fail(sw, "each time point must be an object");
    if (ht_ledger__get_string(sw, in, "label", 1, &label) < 0)
        return ht_ledger__fail(sw, "a time point needs a label (a non-empty string)");
    if ((err = ht_ledger__get_label(sw, in, "label", 1, "a time point label", &label)) < 0)
        return err;
    w.timepoint = label;
    if ((err = ht_ledger__only_keys(&w, in, "the time point", keys)) < 0 ||
        (err = ht_ledger__get_date(&w, in, "date", 1, &date)) < 0 ||
        (err = ht_ledger__get_bool(&w, in, "baseline", -1, &baseline)) < 0 ||
        (err = ht_ledger__get_bool(&w, in, "imaging_performed", 1, &imaging)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "portal_vein_status", 0, &pv)) < 0)
        return err;
    if (pv && strcmp(pv, "none") && strcmp(pv, "branch") && strcmp(pv, "main"))
        return ht_ledger__fail(&w, "portal_vein_status must be none, branch or main (got '%s')",
                               pv);
    body = json_object();
    json_object_set_new(body, "label", json_string(label));
    json_object_set_new(body, "date", json_string(date));
    json_object_set_new(body, "baseline", json_boolean(baseline));
    json_object_set_new(body, "imaging_performed", json_boolean(imaging));
    json_object_set_new(body, "portal_vein_status", pv ? json_string(pv) : json_null());
    json_t *uids = json_object_get(in, "study_uids"), *list = json_array();
    json_object_set_new(body, "study_uids", list);
    if (uids && !json_is_null(uids)) {
        size_t i;
        json_t *u;
        if (!json_is_array(uids)) {
            json_decref(body);
            return ht_ledger__fail(&w, "study_uids must be an array of UIDs");
        }
        json_array_foreach(uids, i, u)
        {
            if (!json_is_string(u) || json_string_length(u) == 0 || json_string_length(u) > 64) {
                json_decref(body);
                return ht_ledger__fail(&w, "study_uids[%zu] must be a UID string", i);
            }
            json_array_append(list, u);
        }
    }
    /* Volumes and thicknesses are stored in tenths too (mL and mm). */
    json_t *lv = json_object_get(in, "liver_volume_ml");
    if (lv && !json_is_null(lv)) {
        int64_t t;
        int rounded;
        if (!json_is_number(lv) || ht_ledger__to_tenths(lv, &t, &rounded) < 0 || t <= 0 ||
            t > 200000) {
            json_decref(body);
            return ht_ledger__fail(&w, "liver_volume_ml must be > 0 and <= 20000 (got %g)",
                                   json_is_number(lv) ? json_number_value(lv) : 0.0);
        }
        json_object_set_new(body, "liver_volume_ml10", json_integer(t));
    } else {
        json_object_set_new(body, "liver_volume_ml10", json_null());
    }
    if ((err = ht_ledger__get_length(&w, in, "slice_thickness_mm", body, "slice_thickness_mm10", 0,
                                     sum)) < 0) {
        json_decref(body);
        return err;
    }
    *out = body;
    return HT_OK;
}

static int parse_lesion(const where *sw, const json_t *in, json_t **out)
{
    static const char *const keys[] = {"id",    "role",   "site",         "location",
                                       "nodal", "reason", "tracking_uid", NULL};
    const char *id, *role, *site, *location, *uid;
    int nodal = 0, err;
    where w = *sw;

    if (!json_is_object(in))
        return ht_ledger__fail(sw, "each lesion must be an object");
    if (ht_ledger__get_string(sw, in, "id", 1, &id) < 0)
        return ht_ledger__fail(sw, "a lesion needs an id (a non-empty string)");
    if ((err = ht_ledger__get_label(sw, in, "id", 1, "a lesion id", &id)) < 0)
        return err;
    w.lesion = id;
    if ((err = ht_ledger__only_keys(&w, in, "the lesion", keys)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "role", 1, &role)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "site", 1, &site)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "location", 0, &location)) < 0 ||
        (err = ht_ledger__get_bool(&w, in, "nodal", 0, &nodal)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "tracking_uid", 0, &uid)) < 0)
        return err;
    /* A lesion that comes from a report keeps the Tracking UID the report gave it (spec 11). */
    if (uid && (strlen(uid) > 64 || strspn(uid, "0123456789.") != strlen(uid) || uid[0] == '.'))
        return ht_ledger__fail(&w,
                               "tracking_uid must be a DICOM UID (digits and dots, at most 64)");
    if (strcmp(role, "target") && strcmp(role, "non-target") && strcmp(role, "new"))
        return ht_ledger__fail(&w, "role must be target, non-target or new (got '%s')", role);
    json_t *body = json_object();
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "role", json_string(role));
    json_object_set_new(body, "site", json_string(site));
    json_object_set_new(body, "location", location ? json_string(location) : json_null());
    json_object_set_new(body, "nodal", json_boolean(nodal));
    if (uid)
        json_object_set_new(body, "tracking_uid", json_string(uid));
    *out = body;
    return HT_OK;
}

/* A list of [x, y] pixel positions, kept as given. */
static int parse_points(const where *w, const json_t *pts, const char *key, json_t *body)
{
    size_t i;
    json_t *pt;
    if (!pts || json_is_null(pts)) {
        json_object_set_new(body, key, json_null());
        return HT_OK;
    }
    if (!json_is_array(pts) || json_array_size(pts) < 2 || json_array_size(pts) > 64)
        return ht_ledger__fail(w, "%s must be an array of 2 to 64 [x, y] pairs", key);
    json_array_foreach(pts, i, pt)
    {
        if (!json_is_array(pt) || json_array_size(pt) != 2 ||
            !json_is_number(json_array_get(pt, 0)) || !json_is_number(json_array_get(pt, 1)))
            return ht_ledger__fail(w, "%s[%zu] must be [x, y] in pixels", key, i);
    }
    json_object_set(body, key, (json_t *)pts);
    return HT_OK;
}

/* The drawing tool and ellipse of a measurement made in the reading station. They are stored
 * only when given, so that the records of earlier files keep their exact bodies. */
static int parse_drawing(const where *w, const json_t *in, json_t *body)
{
    const char *tool;
    const json_t *roi = json_object_get(in, "roi");
    int err;
    if ((err = ht_ledger__get_string(w, in, "tool", 0, &tool)) < 0)
        return err;
    if (tool && strcmp(tool, "length") && strcmp(tool, "bidirectional") &&
        strcmp(tool, "fragments"))
        return ht_ledger__fail(w, "tool must be length, bidirectional or fragments (got '%s')",
                               tool);
    if (tool)
        json_object_set_new(body, "tool", json_string(tool));
    if (roi && !json_is_null(roi)) {
        if (!json_is_array(roi) || json_array_size(roi) != 2)
            return ht_ledger__fail(
                w, "roi must be the two corners [[x, y], [x, y]] of an ellipse's box");
        return parse_points(w, roi, "roi", body);
    }
    return HT_OK;
}

/*
 * The image an ellipse was drawn on, kept with it (the density group): roi_sop_uid and
 * roi_frame, else the assessment's sop_uid and frame, which then name the size's image only
 * when the input names a size.
 */
static int parse_roi_image(const where *w, const json_t *in, json_t *body)
{
    const json_t *roi = json_object_get(in, "roi");
    const char *sop;
    int err;
    if (!roi || json_is_null(roi))
        return HT_OK;
    if ((err = ht_ledger__get_string(w, in, "roi_sop_uid", 0, &sop)) < 0)
        return err;
    json_t *frame = json_object_get(in, "roi_frame");
    if (frame && !json_is_null(frame) && (!json_is_integer(frame) || json_integer_value(frame) < 1))
        return ht_ledger__fail(w, "roi_frame must be an integer >= 1 (frames count from 1)");
    json_object_set(body, "roi_sop_uid",
                    sop ? json_object_get(in, "roi_sop_uid") : json_object_get(body, "sop_uid"));
    json_object_set(body, "roi_frame", frame ? (json_t *)frame : json_object_get(body, "frame"));
    if (!(ht_ledger__groups_named(in) & GROUP_SIZE)) {
        json_object_set_new(body, "sop_uid", json_null());
        json_object_set_new(body, "frame", json_null());
    }
    return HT_OK;
}

static int parse_assessment(
    const where *sw, const json_t *in, json_t **out, int *retract, ht_ledger_import_summary *sum)
{
    static const char *const keys[] = {"lesion",
                                       "timepoint",
                                       "long_axis_mm",
                                       "short_axis_mm",
                                       "perpendicular_mm",
                                       "craniocaudal_mm",
                                       "viable_axis_mm",
                                       "mean_hu",
                                       "phase",
                                       "state",
                                       "fragments_mm",
                                       "merged_into",
                                       "sop_uid",
                                       "frame",
                                       "points",
                                       "tool",
                                       "roi",
                                       "roi_sop_uid",
                                       "roi_frame",
                                       "reason",
                                       "retract",
                                       NULL};
    static const struct {
        const char *in, *out;
        int zero;
    } lengths[] = {{"long_axis_mm", "long_axis", 0},
                   {"short_axis_mm", "short_axis", 0},
                   {"perpendicular_mm", "perpendicular", 0},
                   {"craniocaudal_mm", "craniocaudal", 0},
                   {"viable_axis_mm", "viable_axis", 1}};
    const char *lesion_id, *tp, *state_name, *phase, *merged, *sop;
    int err;
    where w = *sw;

    if (!json_is_object(in))
        return ht_ledger__fail(sw, "each assessment must be an object");
    if (ht_ledger__get_string(sw, in, "lesion", 1, &lesion_id) < 0)
        return ht_ledger__fail(sw, "an assessment needs a lesion (a lesion id)");
    w.lesion = lesion_id;
    if (ht_ledger__get_string(&w, in, "timepoint", 1, &tp) < 0)
        return ht_ledger__fail(&w, "an assessment needs a timepoint (a time point label)");
    w.timepoint = tp;
    if ((err = ht_ledger__only_keys(&w, in, "the assessment", keys)) < 0 ||
        (err = ht_ledger__get_bool(&w, in, "retract", 0, retract)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "state", 0, &state_name)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "phase", 0, &phase)) < 0 ||
        (err = ht_ledger__get_label(&w, in, "merged_into", 0, "merged_into", &merged)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "sop_uid", 0, &sop)) < 0)
        return err;
    if (state_name && !ht_ledger__state_allowed(NULL, state_name))
        return ht_ledger__fail(&w, "state '%s' is unknown (spec 1.3)", state_name);
    json_t *body = json_object();
    json_object_set_new(body, "lesion", json_string(lesion_id));
    json_object_set_new(body, "timepoint", json_string(tp));
    json_object_set_new(body, "state", state_name ? json_string(state_name) : json_null());
    json_object_set_new(body, "phase", phase ? json_string(phase) : json_null());
    json_object_set_new(body, "merged_into", merged ? json_string(merged) : json_null());
    json_object_set_new(body, "sop_uid", sop ? json_string(sop) : json_null());
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        if ((err = ht_ledger__get_length(&w, in, lengths[i].in, body, lengths[i].out,
                                         lengths[i].zero, sum)) < 0)
            goto fail;
    json_t *hu = json_object_get(in, "mean_hu");
    if (hu && !json_is_null(hu)) {
        int64_t t;
        int rounded;
        if (!json_is_number(hu) || ht_ledger__to_tenths(hu, &t, &rounded) < 0 || t < -10000 ||
            t > 40000) {
            err = ht_ledger__fail(&w, "mean_hu must be a number between -1000 and 4000");
            goto fail;
        }
        json_object_set_new(body, "mean_hu", json_integer(t));
    } else {
        json_object_set_new(body, "mean_hu", json_null());
    }
    json_t *frame = json_object_get(in, "frame");
    if (frame && !json_is_null(frame) &&
        (!json_is_integer(frame) || json_integer_value(frame) < 1)) {
        err = ht_ledger__fail(&w, "frame must be an integer >= 1 (frames count from 1)");
        goto fail;
    }
    json_object_set_new(body, "frame",
                        frame && !json_is_null(frame) ? json_incref(frame) : json_null());
    json_t *frags = json_object_get(in, "fragments_mm");
    if (frags && !json_is_null(frags)) {
        size_t i;
        json_t *f, *list = json_array();
        if (!json_is_array(frags) || json_array_size(frags) < 1 || json_array_size(frags) > 32) {
            json_decref(list);
            err = ht_ledger__fail(&w, "fragments_mm must be an array of 1 to 32 lengths in mm");
            goto fail;
        }
        json_array_foreach(frags, i, f)
        {
            int64_t t;
            int rounded;
            if (!json_is_number(f) || ht_ledger__to_tenths(f, &t, &rounded) < 0 || t <= 0 ||
                t > MAX_MM10 || json_number_value(f) > MAX_MM10 / 10.0) {
                json_decref(list);
                err = ht_ledger__fail(&w, "fragments_mm[%zu] must be > 0 and <= 500 (got %g)", i,
                                      json_is_number(f) ? json_number_value(f) : 0.0);
                goto fail;
            }
            json_array_append_new(list, json_integer(t));
        }
        json_object_set_new(body, "fragments", list);
    } else {
        json_object_set_new(body, "fragments", json_null());
    }
    if ((err = parse_points(&w, json_object_get(in, "points"), "points", body)) < 0 ||
        (err = parse_drawing(&w, in, body)) < 0 || (err = parse_roi_image(&w, in, body)) < 0)
        goto fail;
    *out = body;
    return HT_OK;
fail:
    json_decref(body);
    return err;
}

/* Add a record, taking body (freed on error too). */
static int add_record(parsed *p, int kind, const char *key, json_t *body, const char *reason)
{
    int err = HT_GROW(p->items, p->cap, p->n + 1);
    if (err < 0) {
        json_decref(body);
        return err;
    }
    record *r = &p->items[p->n++];
    r->named = 0;
    r->kind = kind;
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->body = body;
    r->reason = reason;
    return HT_OK;
}

static int duplicate(const parsed *rs, int kind, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->items[i].kind == kind && !strcmp(rs->items[i].key, key))
            return 1;
    return 0;
}

/*
 * Add a record the file gives (taking body, freed on error): refused when the file gives it
 * twice; its reason checked. With retract only the retraction is kept.
 */
static int add_parsed(
    parsed *rs, int kind, const char *key, json_t *body, json_t *in, const where *t, int retract)
{
    const char *reason = NULL;
    int err = duplicate(rs, kind, key)
                  ? ht_ledger__fail(t, "the %s appears twice in the file",
                                    kind == K_TIMEPOINT ? "time point" : ht_ledger__kind_name(kind))
                  : ht_ledger__get_reason(t, in, &reason);
    if (err < 0 || retract) { /* the message is made: it may quote body */
        json_decref(body);
        body = NULL;
    }
    return err < 0 ? err : add_record(rs, kind, key, body, reason);
}

int ht_ledger__parse_subject(json_t *in, parsed *rs, ht_ledger_import_summary *sum)
{
    static const char *const keys[] = {"subject",          "dicom_patients",  "reader",
                                       "reason",           "treatment_start", "death_date",
                                       "last_known_alive", "withdrawn",       "timepoints",
                                       "lesions",          "assessments",     NULL};
    static const char *const dates[] = {"treatment_start", "death_date", "last_known_alive",
                                        "withdrawn"};
    const char *sid, *reader, *reason, *date[4];
    size_t i;
    json_t *x;
    int err;

    if (!json_is_object(in))
        return ht_ledger__fail(NULL, "a subject must be a JSON object");
    if (ht_ledger__get_string(NULL, in, "subject", 1, &sid) < 0)
        return ht_ledger__fail(NULL,
                               "a subject needs \"subject\", its trial id (a non-empty string)");
    if ((err = ht_ledger__get_label(NULL, in, "subject", 1, "a subject id", &sid)) < 0)
        return err;
    where w = {sid, NULL, NULL};
    if ((err = ht_ledger__only_keys(&w, in, "the subject", keys)) < 0 ||
        (err = ht_ledger__get_string(&w, in, "reader", 1, &reader)) < 0 ||
        (err = ht_ledger__get_reason(&w, in, &reason)) < 0)
        return err;
    unsigned named = 0;
    for (int d = 0; d < 4; d++) {
        if ((err = ht_ledger__get_date(&w, in, dates[d], 0, &date[d])) < 0)
            return err;
        named |= json_object_get(in, dates[d]) ? 1u << d : 0;
    }
    rs->sid = sid;
    rs->reader = reader;
    rs->reason = reason;
    if (named || rs->enrolling) {
        /* withdrawn is kept only when set, so that bodies written before it stay the same */
        json_t *b = json_object();
        for (int d = 0; d < 4; d++)
            if (d < 3 || date[d])
                json_object_set_new(b, dates[d], date[d] ? json_string(date[d]) : json_null());
        if ((err = add_record(rs, K_SUBJECT, "", b, NULL)) < 0)
            return err;
        rs->items[rs->n - 1].named = named;
    }
    static const char *const arrays[] = {"dicom_patients", "timepoints", "lesions", "assessments"};
    for (int a = 0; a < 4; a++) {
        x = json_object_get(in, arrays[a]);
        if (x && !json_is_null(x) && !json_is_array(x))
            return ht_ledger__fail(&w, "%s must be an array", arrays[a]);
    }
    json_array_foreach(json_object_get(in, "dicom_patients"), i, x)
    {
        static const char *const pkeys[] = {"id", "issuer", NULL};
        const char *pid, *issuer;
        char key[300];
        if (!json_is_object(x) ||
            (err = ht_ledger__only_keys(&w, x, "a DICOM patient", pkeys)) < 0 ||
            ht_ledger__get_string(&w, x, "id", 1, &pid) < 0 ||
            ht_ledger__get_string(&w, x, "issuer", 0, &issuer) < 0)
            return ht_ledger__fail(
                &w, "dicom_patients[%zu] must be {\"id\": ..., \"issuer\"?: ...}", i);
        snprintf(key, sizeof(key), "%s\t%s", pid, issuer ? issuer : "");
        json_t *b = json_object();
        json_object_set_new(b, "id", json_string(pid));
        json_object_set_new(b, "issuer", json_string(issuer ? issuer : ""));
        if ((err = add_record(rs, K_PATIENT, key, b, NULL)) < 0)
            return err;
    }
    json_array_foreach(json_object_get(in, "timepoints"), i, x)
    {
        json_t *b = NULL;
        if ((err = parse_timepoint(&w, x, &b, sum)) < 0)
            return err;
        where t = {sid, NULL, str(b, "label")};
        if ((err = add_parsed(rs, K_TIMEPOINT, t.timepoint, b, x, &t, 0)) < 0)
            return err;
    }
    json_array_foreach(json_object_get(in, "lesions"), i, x)
    {
        json_t *b = NULL;
        if ((err = parse_lesion(&w, x, &b)) < 0)
            return err;
        where t = {sid, str(b, "id"), NULL};
        if ((err = add_parsed(rs, K_LESION, t.lesion, b, x, &t, 0)) < 0)
            return err;
    }
    json_array_foreach(json_object_get(in, "assessments"), i, x)
    {
        json_t *b = NULL;
        int retract = 0;
        char key[300];
        if ((err = parse_assessment(&w, x, &b, &retract, sum)) < 0)
            return err;
        snprintf(key, sizeof(key), "%s\t%s", str(b, "lesion"), str(b, "timepoint"));
        where t = {sid, str(b, "lesion"), str(b, "timepoint")};
        unsigned groups = ht_ledger__groups_named(x);
        if ((err = add_parsed(rs, K_ASSESSMENT, key, b, x, &t, retract)) < 0)
            return err;
        rs->items[rs->n - 1].named = groups;
    }
    return HT_OK;
}
