/*
 * Proposed measurements from outside (spec 11: TID 1500 reports): each report group matched to
 * a subject (by the patient link), a time point (by a study it refers to, else by the Time
 * Point Context label) and a lesion (by Tracking UID, else by Tracking Identifier = label, else
 * a new lesion flagged for review), and kept as a proposal that the engine never counts until
 * a radiologist accepts it: then it becomes a new version of the assessment whose reason names
 * the report. What cannot be matched or converted is kept with its reason, never dropped.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lesion a group names: by tracking UID, else by label; NULL when the subject has none. */
static const char *lesion_of(const state *st, const char *uid, const char *label, int *by_uid)
{
    const char *key;
    json_t *e;
    *by_uid = 0;
    json_object_foreach(st->kinds[K_LESION], key, e)
    {
        const json_t *b = body_of(st, K_LESION, key);
        const char *u = b ? str(b, "tracking_uid") : NULL;
        if (uid && *uid && u && !strcmp(u, uid)) {
            *by_uid = 1;
            return key;
        }
    }
    return label && body_of(st, K_LESION, label) ? label : NULL;
}

/* The Tracking UID a lesion of the ledger has, or NULL. */
static const char *uid_of(const state *st, const char *label)
{
    const json_t *b = body_of(st, K_LESION, label);
    return b ? str(b, "tracking_uid") : NULL;
}

static int matched_timepoint(ht_store *store,
                             const state *st,
                             const char *subject,
                             const ht_ledger_proposal *p,
                             char *out,
                             const char **how)
{
    for (int i = 0; i < p->nstudies; i++)
        if (ht_store_timepoint_of_study(store, subject, p->study_uids[i], out) == HT_OK) {
            *how = "time point by study";
            return 1;
        }
    if (p->timepoint_label && body_of(st, K_TIMEPOINT, p->timepoint_label)) {
        snprintf(out, 65, "%s", p->timepoint_label);
        *how = "time point by Time Point Context";
        return 1;
    }
    return 0;
}

/* A label hepatrack accepts for a new lesion (spec: labels are letters, digits, . _ -). */
static void new_lesion_label(const state *st, const ht_ledger_proposal *p, char *out)
{
    const char *id = p->tracking_id;
    int ok = id && *id && strlen(id) <= 64 && !body_of(st, K_LESION, id);
    for (const char *c = id; ok && *c; c++)
        ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
             (c > id && (*c == '.' || *c == '_' || *c == '-'));
    if (ok) {
        snprintf(out, 65, "%s", id);
        return;
    }
    /* a label of its own: the report's UID's last digits and the group, free in the ledger */
    size_t n = strlen(p->source);
    const char *tail = n > 6 ? p->source + n - 6 : p->source;
    snprintf(out, 65, "SR%s-%d", tail, p->item);
    for (char *c = out; *c; c++)
        if (*c == '.')
            *c = '_';
}

int ht_ledger_propose(ht_store *store, const ht_ledger_proposal *p, const char **outcome)
{
    char subject[65] = "", timepoint[65] = "", lesion[65] = "", now[32], reason[300];
    const char *how_tp = "", *status = "unmatched";
    int new_lesion = 0, by_uid = 0;
    int64_t sid;
    state st;
    int err;
    ht_ledger__state_init(&st);
    ht_time_now_iso(now, sizeof(now));
    if (p->unmatched) {
        snprintf(reason, sizeof(reason), "%s", p->unmatched);
    } else if ((err = ht_store_subject_of_patient(store, p->patient_id ? p->patient_id : "",
                                                  p->issuer, subject)) == HT_ENOTFOUND) {
        snprintf(reason, sizeof(reason), "patient %s%s%s is not linked to an enrolled subject",
                 p->patient_id && *p->patient_id ? p->patient_id : "(no Patient ID)",
                 p->issuer && *p->issuer ? " of " : "", p->issuer ? p->issuer : "");
    } else if (err < 0) {
        return err;
    } else if ((err = ht_store_subject_find(store, subject, &sid)) < 0 ||
               (err = ht_ledger__state_load(store, sid, &st)) < 0) {
        ht_ledger__state_free(&st);
        return err;
    } else if (!matched_timepoint(store, &st, subject, p, timepoint, &how_tp)) {
        snprintf(reason, sizeof(reason),
                 "subject %s: no time point lists the report's studies%s%s%s", subject,
                 p->timepoint_label ? " and none is labelled '" : "",
                 p->timepoint_label ? p->timepoint_label : "", p->timepoint_label ? "'" : "");
    } else if (p->timepoint_only) {
        status = "proposed";
        snprintf(reason, sizeof(reason), "%s; the time point's own value", how_tp);
    } else {
        const char *known = lesion_of(&st, p->tracking_uid, p->tracking_id, &by_uid);
        status = "proposed";
        if (known) {
            const char *theirs = p->tracking_uid, *ours = uid_of(&st, known);
            int differs = !by_uid && theirs && *theirs && ours && strcmp(theirs, ours);
            snprintf(lesion, sizeof(lesion), "%s", known);
            snprintf(reason, sizeof(reason), "%s; lesion by %s%s%.64s%s", how_tp,
                     by_uid ? "Tracking UID" : "Tracking Identifier",
                     differs ? ", though the report's Tracking UID is " : "", differs ? theirs : "",
                     differs ? ": check it is the same lesion" : "");
        } else {
            new_lesion_label(&st, p, lesion);
            new_lesion = 1;
            snprintf(reason, sizeof(reason), "%s; a lesion the ledger does not have: needs review",
                     how_tp);
        }
    }
    ht_ledger__state_free(&st);
    char *fields = p->fields ? json_dumps(p->fields, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ht_proposal_row row = {0,
                           p->source,
                           p->item,
                           subject[0] ? subject : NULL,
                           timepoint[0] ? timepoint : NULL,
                           lesion[0] ? lesion : NULL,
                           new_lesion,
                           fields ? fields : "{}",
                           status,
                           reason,
                           now,
                           NULL,
                           NULL};
    err = ht_store_proposal_add(store, &row);
    free(fields);
    if (outcome)
        *outcome = err == HT_EEXISTS ? "known" : status;
    return err == HT_EEXISTS ? HT_OK : err;
}

/* ---- listing and deciding -------------------------------------------------------------------- */

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int add_json(void *payload, const ht_proposal_row *r)
{
    json_t *o = json_object(), *fields = json_loads(r->fields ? r->fields : "{}", 0, NULL);
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "source", json_string(r->source));
    json_object_set_new(o, "item", json_integer(r->item));
    json_object_set_new(o, "subject", text_or_null(r->subject));
    json_object_set_new(o, "timepoint", text_or_null(r->timepoint));
    json_object_set_new(o, "lesion", text_or_null(r->lesion));
    json_object_set_new(o, "new_lesion", json_boolean(r->new_lesion));
    json_object_set_new(o, "fields", fields ? fields : json_object());
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
    json_object_set_new(o, "received_at", text_or_null(r->received_at));
    json_object_set_new(o, "decided_by", text_or_null(r->decided_by));
    json_object_set_new(o, "decided_at", text_or_null(r->decided_at));
    json_array_append_new(payload, o);
    return 0;
}

int ht_ledger_proposals(
    ht_store *store, const char *subject, const char *status, const char *source, json_t **out)
{
    json_t *items = json_array();
    int err = ht_store_proposals_each(store, subject, status, source, add_json, items);
    if (err < 0) {
        json_decref(items);
        return err;
    }
    *out = items;
    return HT_OK;
}

typedef struct found {
    int64_t id;
    json_t *item;
} found;

static int find_one(void *payload, const ht_proposal_row *r)
{
    found *f = payload;
    if (r->id != f->id)
        return 0;
    f->item = json_array();
    add_json(f->item, r);
    return 1;
}

/* The proposal with that id as its JSON object (a new reference), or HT_ENOTFOUND. */
static int proposal(ht_store *store, int64_t id, json_t **out)
{
    found f = {id, NULL};
    int err = ht_store_proposals_each(store, NULL, NULL, NULL, find_one, &f);
    if (err < 0 && err != 1)
        return err;
    if (!f.item)
        return ht_error_set(HT_ENOTFOUND, "no proposal %lld", (long long)id);
    *out = json_incref(json_array_get(f.item, 0));
    json_decref(f.item);
    return HT_OK;
}

/* The import document that records an accepted proposal as the next version of its
 * assessment (and its lesion, when new). A report's Short Axis is a node's short axis, and a
 * non-nodal lesion's perpendicular diameter. */
static json_t *
acceptance(const json_t *p, const char *actor, const char *role, int nodal, const char *why)
{
    const json_t *fields = json_object_get(p, "fields");
    json_t *assessment = json_deep_copy(fields), *doc = json_object();
    const char *site = json_string_value(json_object_get(fields, "finding_site"));
    json_object_del(assessment, "finding_site");
    /* the lesion's, as the report names it */
    for (const char *const *k = (const char *const[]){"role", "tracking_uid", "nodal", NULL}; *k;
         k++)
        json_object_del(assessment, *k);
    json_t *short_axis = json_object_get(assessment, "short_axis_mm");
    if (short_axis && !nodal && !json_object_get(assessment, "perpendicular_mm")) {
        json_object_set(assessment, "perpendicular_mm", short_axis);
        json_object_del(assessment, "short_axis_mm");
    }
    json_object_set(assessment, "lesion", json_object_get(p, "lesion"));
    json_object_set(assessment, "timepoint", json_object_get(p, "timepoint"));
    json_object_set(doc, "subject", json_object_get(p, "subject"));
    json_object_set_new(doc, "reader", json_string(actor));
    json_object_set_new(doc, "reason", json_string(why));
    json_object_set_new(doc, "assessments", json_pack("[o]", assessment));
    if (json_is_true(json_object_get(p, "new_lesion"))) {
        json_t *lesion = json_pack("{s:O, s:s, s:s}", "id", json_object_get(p, "lesion"), "role",
                                   role, "site", site && *site ? site : "unknown");
        const json_t *uid = json_object_get(fields, "tracking_uid");
        if (json_is_string(uid) && *json_string_value(uid))
            json_object_set(lesion, "tracking_uid", (json_t *)uid);
        if (json_is_true(json_object_get(fields, "nodal")))
            json_object_set_new(lesion, "nodal", json_true());
        json_object_set_new(doc, "lesions", json_pack("[o]", lesion));
    }

    return doc;
}

/* A time point's value (a SEG's liver volume): the time point as recorded, in the import
 * format, with the proposed value, as the import takes a time point whole. NULL when the time
 * point is gone. */
static json_t *
timepoint_acceptance(ht_store *store, const json_t *p, const char *actor, const char *why)
{
    int64_t sid;
    state st;
    json_t *doc = NULL;
    const char *subject = json_string_value(json_object_get(p, "subject"));
    ht_ledger__state_init(&st);
    if (ht_store_subject_find(store, subject, &sid) == HT_OK &&
        ht_ledger__state_load(store, sid, &st) == HT_OK) {
        const json_t *tp =
            body_of(&st, K_TIMEPOINT, json_string_value(json_object_get(p, "timepoint")));
        if (tp) {
            json_t *t = json_pack("{s:s, s:s, s:b, s:b}", "label", str(tp, "label"), "date",
                                  str(tp, "date"), "baseline", flag(tp, "baseline"),
                                  "imaging_performed", flag(tp, "imaging_performed"));
            const json_t *studies = json_object_get(tp, "study_uids");
            if (json_array_size(studies))
                json_object_set(t, "study_uids", (json_t *)studies);
            if (str(tp, "portal_vein_status"))
                json_object_set_new(t, "portal_vein_status",
                                    json_string(str(tp, "portal_vein_status")));
            if (num(tp, "slice_thickness_mm10", -1) >= 0)
                json_object_set_new(t, "slice_thickness_mm",
                                    json_real(num(tp, "slice_thickness_mm10", 0) / 10.0));
            json_object_update(t, json_object_get(p, "fields"));
            doc = json_pack("{s:s, s:s, s:s, s:[o]}", "subject", subject, "reader", actor, "reason",
                            why, "timepoints", t);
        }
    }
    ht_ledger__state_free(&st);
    return doc;
}

/* Whether the proposal's lesion is a node: as recorded, or as its report says for a new one. */
static int lesion_nodal(ht_store *store, const json_t *p)
{
    const json_t *fields = json_object_get(p, "fields");
    if (json_is_true(json_object_get(p, "new_lesion")))
        return json_is_true(json_object_get(fields, "nodal"));
    int64_t sid;
    state st;
    int nodal = 0;
    ht_ledger__state_init(&st);
    if (ht_store_subject_find(store, json_string_value(json_object_get(p, "subject")), &sid) ==
            HT_OK &&
        ht_ledger__state_load(store, sid, &st) == HT_OK) {
        const json_t *lesion =
            body_of(&st, K_LESION, json_string_value(json_object_get(p, "lesion")));
        nodal = lesion && flag(lesion, "nodal");
    }
    ht_ledger__state_free(&st);
    return nodal;
}

/* Whether a proposal may be accepted now: still proposed, and for a lesion new to the ledger a
 * role (given, or when *role is NULL the report's own, for the operator's import --accept) and
 * a label no other lesion took since it was proposed. */
static int acceptable(ht_store *store, const json_t *p, int64_t id, const char **role)
{
    const char *status = json_string_value(json_object_get(p, "status"));
    const json_t *fields = json_object_get(p, "fields");
    if (strcmp(status, "proposed") != 0)
        return ht_error_set(!strcmp(status, "unmatched") ? HT_EINVALID : HT_ECONFLICT,
                            "proposal %lld is %s: %s", (long long)id, status,
                            json_string_value(json_object_get(p, "reason")));
    if (!json_is_true(json_object_get(p, "new_lesion")))
        return HT_OK;
    if (!*role)
        *role = json_string_value(json_object_get(fields, "role"));
    if (!*role || (strcmp(*role, "target") && strcmp(*role, "non-target") && strcmp(*role, "new")))
        return ht_error_set(HT_EINVALID,
                            "proposal %lld is for a lesion the ledger does not have (%s): give "
                            "its role (target, non-target or new) to accept it",
                            (long long)id, json_string_value(json_object_get(p, "lesion")));
    int64_t sid;
    state st;
    int err = ht_store_subject_find(store, json_string_value(json_object_get(p, "subject")), &sid);
    ht_ledger__state_init(&st);
    if (err == HT_OK && (err = ht_ledger__state_load(store, sid, &st)) == HT_OK) {
        const char *label = json_string_value(json_object_get(p, "lesion"));
        const char *uid = json_string_value(json_object_get(fields, "tracking_uid"));
        const char *taken = uid_of(&st, label);
        if (body_of(&st, K_LESION, label) && !(uid && taken && !strcmp(uid, taken)))
            err = ht_error_set(HT_ECONFLICT,
                               "proposal %lld names a new lesion %s, but the ledger has a lesion "
                               "%s since (another report's, or recorded meanwhile): accept it "
                               "under that lesion by a read, or reject it",
                               (long long)id, label, label);
    }
    ht_ledger__state_free(&st);
    return err;
}

int ht_ledger_proposal_accept(ht_store *store,
                              int64_t id,
                              const char *actor,
                              const char *role,
                              const ht_ledger_import_options *options,
                              ht_ledger_import_summary *summary)
{
    json_t *p = NULL;
    char now[32], why[400];
    /* One transaction: the status checked, the version written and the decision recorded
     * together, so two acceptances cannot both write, and a failure leaves it proposed. */
    int err = ht_store_begin(store);
    if (err < 0)
        return err;
    if ((err = proposal(store, id, &p)) == HT_OK)
        err = acceptable(store, p, id, &role);
    if (err == HT_OK) {
        snprintf(why, sizeof(why), "accepted from report %s, group %lld",
                 json_string_value(json_object_get(p, "source")),
                 (long long)json_integer_value(json_object_get(p, "item")));
        json_t *doc = json_is_string(json_object_get(p, "lesion"))
                          ? acceptance(p, actor, role, lesion_nodal(store, p), why)
                          : timepoint_acceptance(store, p, actor, why);
        err = doc ? ht_ledger__import_in_transaction(store, doc, why, options, summary)
                  : ht_error_set(HT_ENOTFOUND, "proposal %lld: its time point is gone",
                                 (long long)id);
        json_decref(doc);
    }
    if (err == HT_OK) {
        ht_time_now_iso(now, sizeof(now));
        err = ht_store_proposal_decide(store, id, "accepted", actor, now, why);
    }
    if (err == HT_OK)
        err = ht_store_commit(store);
    if (err < 0)
        ht_store_rollback(store);
    json_decref(p);
    return err;
}

int ht_ledger_proposal_reject(ht_store *store, int64_t id, const char *actor, const char *reason)
{
    json_t *p = NULL;
    char now[32];
    if (!reason || !*reason)
        return ht_error_set(HT_EINVALID, "rejecting proposal %lld needs a reason", (long long)id);
    int err = proposal(store, id, &p);
    if (err < 0)
        return err;
    ht_time_now_iso(now, sizeof(now));
    char *detail = ht_strprintf("proposal %lld from report %s rejected: %s", (long long)id,
                                json_string_value(json_object_get(p, "source")), reason);
    const char *subject = json_string_value(json_object_get(p, "subject"));
    if (!detail)
        err = HT_ENOMEM;
    else if ((err = ht_store_begin(store)) == HT_OK &&
             (err = ht_store_proposal_decide(store, id, "rejected", actor, now, reason)) == HT_OK &&
             (err = ht_store_audit_add(store, now, actor, "reject proposal", subject ? subject : "",
                                       detail)) == HT_OK)
        err = ht_store_commit(store);
    else
        ht_store_rollback(store);
    free(detail);
    json_decref(p);
    return err;
}
