/*
 * Reports in (spec 11): each TID 1500 Measurement Report that reached the index (C-STORE,
 * STOW-RS, import) is read once, leniently, group by group, and each group handed to the ledger
 * as a proposal: its lengths in mm (Long Axis, Short Axis; a Length when there is no Long Axis),
 * a planar ROI's mean as mean_hu, the caliper's image, frame and points. A group that cannot be
 * converted (a length slot in another unit, no value) is kept unmatched with the reason. A
 * report hepatrack wrote from this ledger's own versions is recognised and not proposed again.
 */
#define _GNU_SOURCE
#include "hepatrack/exchange.h"

#include "hepatrack/ledger.h"
#include "hepatrack/sr.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double tenth(double v)
{
    return round(v * 10.0) / 10.0;
}

/* The caliper a length was inferred from, as the import format keeps it. */
static void caliper(json_t *fields, const ht_sr_coord *c)
{
    if (strcmp(c->graphic_type, "POLYLINE") != 0 || c->npoints < 2 || !c->sop_instance_uid[0])
        return;
    json_t *points = json_array();
    for (size_t i = 0; i < c->npoints; i++)
        json_array_append_new(points, json_pack("[f, f]", c->points[2 * i], c->points[2 * i + 1]));
    json_object_set_new(fields, "sop_uid", json_string(c->sop_instance_uid));
    if (c->frame > 0)
        json_object_set_new(fields, "frame", json_integer(c->frame));
    json_object_set_new(fields, "points", points);
}

/* A length quantity in mm into fields[key], or the reason it cannot be. */
static const char *length_into(json_t *fields, const char *key, const ht_sr_measurement *m)
{
    static __thread char why[320];
    if (!m->has_value)
        return NULL; /* skipped, as the reader warned */
    /* the reader converts a length given in any UCUM length unit to mm */
    if (!m->converted || m->quantity == HT_SR_AREA || m->quantity == HT_SR_VOLUME) {
        snprintf(why, sizeof(why), "%.120s in %.60s, not a length", m->concept.meaning,
                 m->unit.value[0] ? m->unit.value : "no unit");
        return why;
    }
    json_object_set_new(fields, key, json_real(tenth(m->value_converted)));
    caliper(fields, &m->coord);
    return NULL;
}

/* hepatrack's own reports say in a group's comment what TID 1501 has no concept for: the
 * lesion's role, whether it is nodal, a state recorded instead of a size and the site as
 * entered ("role: target; nodal; state: merged, merged into T2; site: lymph node"). */
static void own_comment(const char *comment, json_t *fields)
{
    char word[32];
    const char *said = strstr(comment, "state: ");
    if (said && sscanf(said + 7, "%31[a-z_]", word) == 1)
        json_object_set_new(fields, "state", json_string(word));
    said = strstr(comment, "merged into ");
    if (said && sscanf(said + 12, "%31[A-Za-z0-9._-]", word) == 1)
        json_object_set_new(fields, "merged_into", json_string(word));
    said = strstr(comment, "role: ");
    if (said && sscanf(said + 6, "%31[a-z-]", word) == 1)
        json_object_set_new(fields, "role", json_string(word));
    if (strstr(comment, "; nodal"))
        json_object_set_new(fields, "nodal", json_true());
    said = strstr(comment, "; site: ");
    if (said && said[8]) /* to the end */
        json_object_set_new(fields, "finding_site", json_string(said + 8));
}

/* The label a group's lesion goes by. dcmjs (OHIF's writer) puts the tool in the Tracking
 * Identifier ("Cornerstone3DTools@^0.1.0:Length", "cornerstoneTools@^4.0.0:Bidirectional") and
 * the label the reader gave the measurement in a Comment (OHIF 3.13): that label names the
 * lesion when it is one hepatrack accepts (letters, digits, . _ -), else the tool stays. */
static const char *label_of(const ht_sr_group *g)
{
    const char *id = g->tracking_id, *c = g->comment;
    if ((strncmp(id, "Cornerstone3DTools@", 19) != 0 &&
         strncmp(id, "cornerstoneTools@", 17) != 0) ||
        !strchr(id, ':') || !*c || strlen(c) > 64)
        return id;
    for (const char *k = c; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              (k > c && (*k == '.' || *k == '_' || *k == '-'))))
            return id;
    return c;
}

/* What a group would record, as import fields; NULL fields with *why when it cannot. */
static json_t *group_fields(const ht_sr_group *g, const char **why)
{
    static __thread char other[120];
    json_t *fields = json_object();
    const ht_sr_measurement *length = NULL;
    *why = NULL;
    other[0] = '\0';
    for (size_t i = 0; i < g->nmeasurements && !*why; i++) {
        const ht_sr_measurement *m = &g->measurements[i];
        if (m->quantity == HT_SR_LONG_AXIS)
            *why = length_into(fields, "long_axis_mm", m);
        else if (m->quantity == HT_SR_SHORT_AXIS)
            *why = length_into(fields, "short_axis_mm", m);
        else if (m->quantity == HT_SR_LENGTH && !length)
            length = m;
        else if (m->quantity == HT_SR_MEAN && m->has_value && m->converted &&
                 !strcmp(m->unit.value, "[hnsf'U]"))
            json_object_set_new(fields, "mean_hu", json_real(tenth(m->value_converted)));
        else if (m->quantity == HT_SR_MEAN && m->has_value && !other[0])
            snprintf(other, sizeof(other), "a mean in %.60s, not in HU", m->unit.value);
    }
    if (!*why && length && !json_object_get(fields, "long_axis_mm"))
        *why = length_into(fields, "long_axis_mm", length);
    if (!*why)
        own_comment(g->comment, fields);
    if (!*why && !json_object_get(fields, "long_axis_mm") &&
        !json_object_get(fields, "short_axis_mm") && !json_object_get(fields, "mean_hu") &&
        !json_object_get(fields, "state"))
        *why = other[0] ? other
                        : "no length or mean hepatrack records (only other quantities, or none "
                          "with a value)";
    if (*why) {
        json_decref(fields);
        return NULL;
    }
    if (g->finding_site.meaning[0] && !json_object_get(fields, "finding_site"))
        json_object_set_new(fields, "finding_site", json_string(g->finding_site.meaning));
    if (g->tracking_uid[0]) /* a lesion new to the ledger keeps it */
        json_object_set_new(fields, "tracking_uid", json_string(g->tracking_uid));
    return fields;
}

/* Whether a report is hepatrack's, made from versions this ledger holds (spec 11: it is
 * recognised by them and not proposed again). */
static int own_report(ht_store *store, const ht_sr_report *r)
{
    const char *p = r->provenance, *list;
    char subject[65];
    if (!p || strncmp(p, HT_SR_PROVENANCE_PREFIX, strlen(HT_SR_PROVENANCE_PREFIX)) != 0 ||
        sscanf(p + strlen(HT_SR_PROVENANCE_PREFIX), "subject %64[^;]", subject) != 1 ||
        !(list = strstr(p, "versions: ")))
        return 0;
    /* "timepoint BL v1, lesion T1 v1, assessment T1/BL v3": each must be this ledger's */
    int versions = 0;
    for (list += 10; *list;) {
        char kind[32], key[200];
        int version, used = 0;
        if (sscanf(list, "%31s %199s v%d%n", kind, key, &version, &used) != 3)
            return 0;
        for (char *slash = strchr(key, '/'); slash; slash = strchr(slash, '/'))
            *slash = '\t'; /* the assessment key's tab, shown as a slash */
        if (ht_store_ledger_has_version(store, subject, kind, key, version) != 1)
            return 0;
        versions++;
        list += used;
        while (*list == ',' || *list == ' ')
            list++;
    }
    return versions > 0;
}

/* The studies a report refers to: its own, the evidence's, the image library's. */
static int studies_of(const ht_sr_report *r, const char ***out)
{
    size_t n = 0, cap = r->nevidence + r->nimages + 1;
    const char **list = calloc(cap, sizeof(char *));
    if (!list)
        return -1;
    list[n++] = r->study_instance_uid;
    for (size_t i = 0; i < r->nevidence; i++)
        if (r->evidence[i].study_uid[0])
            list[n++] = r->evidence[i].study_uid;
    for (size_t i = 0; i < r->nimages; i++)
        if (r->images[i].study_uid[0])
            list[n++] = r->images[i].study_uid;
    *out = list;
    return (int)n;
}

static void count(ht_exchange_import_summary *sum, const char *outcome)
{
    if (!strcmp(outcome, "proposed"))
        sum->proposed++;
    else if (!strcmp(outcome, "unmatched"))
        sum->unmatched++;
    else
        sum->known++;
}

int ht_exchange_sr_import(ht_store *store,
                          const uint8_t *data,
                          size_t len,
                          ht_exchange_import_summary *sum)
{
    ht_sr_report report, *r = &report;
    int err = ht_sr_read(data, len, r);
    if (err < 0)
        return err;
    sum->reports++;
    if (own_report(store, r)) {
        sum->own++;
        ht_sr_report_free(r);
        return HT_OK;
    }
    const char **studies = NULL;
    int nstudies = studies_of(r, &studies);
    if (nstudies < 0) {
        ht_sr_report_free(r);
        return ht_error_set(HT_ENOMEM, "out of memory reading a report");
    }
    for (size_t i = 0; i < r->ngroups && err == HT_OK; i++) {
        const ht_sr_group *g = &r->groups[i];
        const char *why = NULL, *outcome = NULL;
        json_t *fields = group_fields(g, &why);
        ht_ledger_proposal p = {r->sop_instance_uid,
                                (int)i + 1,
                                r->patient_id,
                                r->issuer_of_patient_id,
                                studies,
                                nstudies,
                                g->timepoint[0]   ? g->timepoint
                                : r->timepoint[0] ? r->timepoint
                                                  : NULL,
                                g->tracking_uid,
                                label_of(g),
                                fields,
                                why};
        if ((err = ht_ledger_propose(store, &p, &outcome)) == HT_OK)
            count(sum, outcome);
        json_decref(fields);
    }
    free(studies);
    ht_sr_report_free(r);
    return err;
}

typedef struct pending {
    ht_store *store;
    ht_archive *archive;
    ht_exchange_import_summary *sum;
} pending;

static int read_one(void *payload, const char *sop_uid, const char *path)
{
    pending *p = payload;
    uint8_t *data = NULL;
    size_t len = 0;
    char now[32], outcome[200];
    ht_exchange_import_summary before = *p->sum;
    int err = ht_archive_read(p->archive, path, &data, &len);
    if (err == HT_OK)
        err = ht_exchange_sr_import(p->store, data, len, p->sum);
    free(data);
    if (err == HT_EDB || err == HT_ENOMEM)
        return err;
    if (err < 0) /* not a measurement report, or unreadable: said once, never fatal */
        snprintf(outcome, sizeof(outcome), "not read: %s", ht_error_last());
    else if (p->sum->own > before.own)
        snprintf(outcome, sizeof(outcome), "hepatrack's own report: not proposed again");
    else
        snprintf(outcome, sizeof(outcome), "%d proposed, %d unmatched, %d known",
                 p->sum->proposed - before.proposed, p->sum->unmatched - before.unmatched,
                 p->sum->known - before.known);
    ht_time_now_iso(now, sizeof(now));
    return ht_store_report_read(p->store, sop_uid, now, outcome);
}

int ht_exchange_sr_pending(ht_store *store, ht_archive *archive, ht_exchange_import_summary *sum)
{
    pending p = {store, archive, sum};
    return ht_store_reports_unread(store, read_one, &p);
}
