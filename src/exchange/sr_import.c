/*
 * Reports in (spec 11): each TID 1500 Measurement Report that reached the index (C-STORE,
 * STOW-RS, import) is read once, leniently, group by group, and each group handed to the ledger
 * as a proposal: its lengths in mm (Long Axis, Short Axis; a Length when there is no Long Axis),
 * a planar ROI's mean as mean_hu, the caliper's image, frame and points. A group that cannot be
 * converted (a length slot in another unit, no value, a value out of range) is kept unmatched
 * with the reason. A report this hepatrack wrote (its SOP Instance UID is kept when it is
 * written) is recognised and not proposed again. Each report is proposed in one transaction
 * with the record that it was read, so a failure leaves it unread, to be read again.
 */
#define _GNU_SOURCE
#include "hepatrack/exchange.h"

#include "hepatrack/ledger.h"
#include "hepatrack/seg_volume.h"
#include "hepatrack/sr.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many groups of one report are proposed; the rest are listed as one. */
#define MAX_GROUPS 500

static double tenth(double v)
{
    return round(v * 10.0) / 10.0;
}

/* Whether a converted value is one hepatrack records (spec 1.8: lengths over 0, at most 500 mm;
 * a mean any finite number). */
static int plausible(double v, int length)
{
    return isfinite(v) && (!length || (v > 0 && v <= 500));
}

/* The caliper a length was inferred from, as the import format keeps it. */
static void caliper(json_t *fields, const ht_sr_coord *c)
{
    if (strcmp(c->graphic_type, "POLYLINE") != 0 || c->npoints < 2 || !c->sop_instance_uid[0])
        return;
    for (size_t i = 0; i < 2 * c->npoints; i++)
        if (!isfinite(c->points[i]))
            return; /* no caliper rather than a broken one */
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
        return NULL; /* skipped, as the reader warned (its warning goes with the proposal) */
    /* the reader converts a length given in any UCUM length unit to mm */
    if (!m->converted) {
        snprintf(why, sizeof(why), "%.120s in %.60s, not a length", m->concept.meaning,
                 m->unit.value[0] ? m->unit.value : "no unit");
        return why;
    }
    if (!plausible(m->value_converted, 1)) {
        snprintf(why, sizeof(why),
                 "%.120s of %g mm: hepatrack records lengths over 0, at most 500 mm",
                 m->concept.meaning, m->value_converted);
        return why;
    }
    if (json_object_get(fields, key)) {
        snprintf(why, sizeof(why), "two %.120s in one group: which is meant is not said",
                 m->concept.meaning);
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
static json_t *group_fields(const ht_sr_group *g, int hepatrack, const char **why)
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
                 !strcmp(m->unit.value, "[hnsf'U]") && plausible(m->value_converted, 0))
            json_object_set_new(fields, "mean_hu", json_real(tenth(m->value_converted)));
        else if (m->quantity == HT_SR_MEAN && m->has_value && !other[0])
            snprintf(other, sizeof(other), "a mean in %.60s, not in HU", m->unit.value);
    }
    if (!*why && length && !json_object_get(fields, "long_axis_mm"))
        *why = length_into(fields, "long_axis_mm", length);
    if (!*why && hepatrack)
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
    return ht_store_report_is_ours(store, r->sop_instance_uid);
}

/* Whether a report is one hepatrack wrote (here or at another site): only then are its groups'
 * comments read for hepatrack's conventions (role, nodal, state, site). */
static int written_by_hepatrack(const ht_sr_report *r)
{
    return r->provenance &&
           !strncmp(r->provenance, HT_SR_PROVENANCE_PREFIX, strlen(HT_SR_PROVENANCE_PREFIX));
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
    if ((err = own_report(store, r)) != 0) {
        sum->own += err == 1;
        ht_sr_report_free(r);
        return err < 0 ? err : HT_OK;
    }
    if (r->predecessor.sop_instance_uid[0]) { /* a newer report: the older one's pending go */
        char now[32];
        ht_time_now_iso(now, sizeof(now));
        if ((err = ht_store_proposals_supersede(store, r->predecessor.sop_instance_uid,
                                                r->sop_instance_uid, now)) < 0) {
            ht_sr_report_free(r);
            return err;
        }
    }
    const char **studies = NULL;
    int nstudies = studies_of(r, &studies);
    if (nstudies < 0) {
        ht_sr_report_free(r);
        return ht_error_set(HT_ENOMEM, "out of memory reading a report");
    }
    size_t n = r->ngroups < MAX_GROUPS ? r->ngroups : MAX_GROUPS;
    for (size_t i = 0; i <= n && err == HT_OK; i++) {
        const char *why = NULL, *outcome = NULL;
        char more[120], reason[700];
        if (i == n && r->ngroups <= n)
            break;
        const ht_sr_group *g = i < n ? &r->groups[i] : NULL;
        json_t *fields = g ? group_fields(g, written_by_hepatrack(r), &why) : NULL;
        if (!g) { /* the groups past the cap: listed as one */
            snprintf(more, sizeof(more), "%zu more groups not read (at most %d a report)",
                     r->ngroups - n, MAX_GROUPS);
            why = more;
        } else if (g->warnings) { /* what the reader skipped goes with what it proposes */
            snprintf(reason, sizeof(reason), "%s%s%.400s", why ? why : "", why ? "; " : "",
                     g->warnings);
            if (why)
                why = reason;
        }
        ht_ledger_proposal p = {r->sop_instance_uid,
                                (int)i + 1,
                                r->patient_id,
                                r->issuer_of_patient_id,
                                studies,
                                nstudies,
                                g && g->timepoint[0] ? g->timepoint
                                : r->timepoint[0]    ? r->timepoint
                                                     : NULL,
                                g ? g->tracking_uid : NULL,
                                g ? label_of(g) : NULL,
                                fields,
                                why,
                                0};
        if (fields && g->warnings)
            json_object_set_new(fields, "warnings", json_string(g->warnings));
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
    int failed;      /* reports left unread for an error that may pass */
    char error[400]; /* the last one's */
} pending;

/* The patient a study belongs to, from the index (patient_id, issuer: 65 bytes each). */
static int study_patient(void *payload, const ht_row *row)
{
    char(*out)[65] = payload;
    const char *id = ht_row_value(row, "PatientID"),
               *issuer = ht_row_value(row, "IssuerOfPatientID");
    snprintf(out[0], 65, "%s", id ? id : "");
    snprintf(out[1], 65, "%s", issuer ? issuer : "");
    return 1;
}

/* Whether an error reading a report is the report's (recorded: it will not read better later)
 * or the machine's (left unread, to be read again: an archive or index error, no space). */
static int lasting(int err)
{
    return err == HT_EPARSE || err == HT_EUNSUPPORTED || err == HT_EINVALID || err == HT_ENOTFOUND;
}

/* A segmentation's liver volume (spec 7) proposed as the liver_volume_ml of the time point that
 * lists a study it references; a SEG without a liver is only recorded as read. */
static int seg_import(ht_store *store,
                      ht_archive *archive,
                      const char *sop_uid,
                      ht_exchange_import_summary *sum,
                      char *outcome,
                      size_t size)
{
    ht_measure_source src = {store, archive};
    ht_seg_liver liver;
    char patient[2][65] = {"", ""};
    int err = ht_seg_liver_volume(&src, sop_uid, &liver);
    if (err < 0 && !lasting(err))
        return err;
    if (err < 0) {
        snprintf(outcome, size, "segmentation: %.260s", ht_error_last());
        return HT_OK;
    }
    ht_list_filter filter = {NULL, NULL, liver.seg_study_uid, NULL, 0};
    if ((err = ht_store_list(store, HT_LIST_STUDIES, &filter, study_patient, patient)) < 0 &&
        err != 1) {
        ht_seg_liver_release(&liver);
        return err;
    }
    json_t *fields = json_pack("{s:f}", "liver_volume_ml", tenth(liver.volume_ml));
    const char *result = NULL;
    ht_ledger_proposal p = {sop_uid,
                            1,
                            patient[0],
                            patient[1],
                            (const char *const *)liver.study_uids,
                            (int)liver.n_study_uids,
                            NULL,
                            NULL,
                            NULL,
                            fields,
                            NULL,
                            1};
    err = ht_ledger_propose(store, &p, &result);
    json_decref(fields);
    if (err == HT_OK) {
        count(sum, result);
        snprintf(outcome, size, "segmentation: liver %.1f mL %s", liver.volume_ml, result);
    }
    ht_seg_liver_release(&liver);
    return err;
}

/* One report or segmentation: its proposals and the record that it was read, together. */
static int read_once(pending *p, const char *sop_uid, const char *sop_class, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char now[32], outcome[300];
    ht_exchange_import_summary before = *p->sum;
    int err = ht_store_begin(p->store);
    if (err < 0)
        return err;
    if (!strcmp(sop_class, "1.2.840.10008.5.1.4.1.1.66.4")) { /* a segmentation */
        err = seg_import(p->store, p->archive, sop_uid, p->sum, outcome, sizeof(outcome));
    } else {
        if ((err = ht_archive_read(p->archive, path, &data, &len)) == HT_OK)
            err = ht_exchange_sr_import(p->store, data, len, p->sum);
        free(data);
        if (err < 0 && lasting(err)) { /* not a measurement report, or unreadable */
            snprintf(outcome, sizeof(outcome), "not read: %.280s", ht_error_last());
            err = HT_OK;
        } else if (err == HT_OK && p->sum->own > before.own) {
            snprintf(outcome, sizeof(outcome), "hepatrack's own report: not proposed again");
        } else if (err == HT_OK) {
            snprintf(outcome, sizeof(outcome), "%d proposed, %d unmatched, %d known",
                     p->sum->proposed - before.proposed, p->sum->unmatched - before.unmatched,
                     p->sum->known - before.known);
        }
    }
    ht_time_now_iso(now, sizeof(now));
    if (err == HT_OK && (err = ht_store_report_read(p->store, sop_uid, now, outcome)) == HT_OK &&
        (err = ht_store_commit(p->store)) == HT_OK)
        return HT_OK;
    ht_store_rollback(p->store);
    *p->sum = before;
    return err;
}

static int read_one(void *payload, const char *sop_uid, const char *sop_class, const char *path)
{
    pending *p = payload;
    int err = read_once(p, sop_uid, sop_class, path);
    if (err < 0) { /* this one waits for the next pass; the others go on */
        p->failed++;
        snprintf(p->error, sizeof(p->error), "%s: %s", sop_uid, ht_error_last());
    }
    return 0;
}

int ht_exchange_sr_pending(ht_store *store, ht_archive *archive, ht_exchange_import_summary *sum)
{
    pending p = {store, archive, sum, 0, ""};
    int err = ht_store_reports_unread(store, read_one, &p);
    if (err == HT_OK && p.failed)
        err = ht_error_set(HT_EIO, "%d report(s) left unread, to be read again (%s)", p.failed,
                           p.error);
    return err;
}
