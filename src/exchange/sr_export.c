/*
 * A subject's signed time point as a TID 1500 Measurement Report (spec 11): the ledger's current
 * records of that time point, the measured images' own attributes, and the report it
 * supersedes, put into an ht_sr_report for the file layer to write.
 */
#define _GNU_SOURCE
#include "hepatrack/exchange.h"

#include "hepatrack/dicom.h"
#include "hepatrack/sr.h"
#include "hepatrack/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the ledger's current records of a subject --------------------------------------------- */

typedef struct records {
    json_t *kinds; /* kind -> key -> {"body", "version"}; retracted records left out */
} records;

static int keep_row(void *payload, const ht_ledger_row *row)
{
    records *r = payload;
    json_t *body;
    if (row->retracted || !(body = json_loads(row->body, 0, NULL)))
        return 0;
    json_t *kind = json_object_get(r->kinds, row->kind);
    if (!kind) {
        kind = json_object();
        json_object_set_new(r->kinds, row->kind, kind);
    }
    json_object_set_new(kind, row->key,
                        json_pack("{s:o, s:i}", "body", body, "version", row->version));
    return 0;
}

static json_t *body_of(const records *r, const char *kind, const char *key)
{
    return json_object_get(json_object_get(json_object_get(r->kinds, kind), key), "body");
}

static int version_of(const records *r, const char *kind, const char *key)
{
    return (int)json_integer_value(
        json_object_get(json_object_get(json_object_get(r->kinds, kind), key), "version"));
}

static const char *text(const json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

/* ---- the images measured ------------------------------------------------------------------- */

typedef struct image {
    ht_sr_ref ref;
    uint32_t frames;
    uint8_t *bytes; /* the Part 10 file */
    size_t len;
} image;

typedef struct export_state {
    ht_store *store;
    ht_archive *archive;
    const char *subject, *timepoint;
    records rec;
    image *images;
    size_t nimages, cap;
    image study_copy; /* an image of the report's study none of the groups references */
    ht_sr_report report;
    char *provenance; /* "kind key vN, ..." */
    size_t provenance_len;
} export_state;

static int read_instance(export_state *st, const char *sop_uid, image *out)
{
    ht_instance_location loc;
    ht_dicom *dcm = NULL;
    int err = ht_store_locate(st->store, sop_uid, &loc);
    if (err == HT_OK)
        err = ht_archive_read(st->archive, loc.archive_path, &out->bytes, &out->len);
    if (err == HT_OK)
        err = ht_dicom_open_memory(&dcm, out->bytes, out->len);
    if (err < 0)
        return err;
    const ht_dicom_info *i = ht_dicom_get_info(dcm);
    snprintf(out->ref.study_uid, 65, "%s", i->study_instance_uid);
    snprintf(out->ref.series_uid, 65, "%s", i->series_instance_uid);
    snprintf(out->ref.sop_class_uid, 65, "%s", i->sop_class_uid);
    snprintf(out->ref.sop_instance_uid, 65, "%s", i->sop_instance_uid);
    out->frames = i->number_of_frames;
    ht_dicom_free(dcm);
    return HT_OK;
}

/* The image with this SOP Instance UID, read once. NULL with the error in *err. */
static image *image_of(export_state *st, const char *sop_uid, int *err)
{
    for (size_t i = 0; i < st->nimages; i++)
        if (!strcmp(st->images[i].ref.sop_instance_uid, sop_uid))
            return &st->images[i];
    if ((*err = ht_grow((void **)&st->images, &st->cap, st->nimages + 1, sizeof(image))) < 0)
        return NULL;
    image *im = &st->images[st->nimages];
    memset(im, 0, sizeof(*im));
    if ((*err = read_instance(st, sop_uid, im)) < 0) {
        ht_free(im->bytes);
        return NULL;
    }
    st->nimages++;
    return im;
}

/* Where a drawing was made: its image and (multi-frame images only) its frame. */
static int where_of(export_state *st, const char *sop_uid, const json_t *frame, ht_sr_coord *c)
{
    int err = HT_OK;
    image *im = image_of(st, sop_uid, &err);
    if (!im)
        return ht_error_wrap("subject %s, time point %s: image %s", st->subject, st->timepoint,
                             sop_uid);
    snprintf(c->sop_class_uid, 65, "%s", im->ref.sop_class_uid);
    snprintf(c->sop_instance_uid, 65, "%s", im->ref.sop_instance_uid);
    c->frame = im->frames > 1 && json_is_integer(frame) ? (uint32_t)json_integer_value(frame) : 0;
    return HT_OK;
}

/* ---- groups --------------------------------------------------------------------------------- */

static void set_code(ht_sr_code *c, const char *scheme, const char *value, const char *meaning)
{
    snprintf(c->scheme, sizeof(c->scheme), "%s", scheme);
    snprintf(c->value, sizeof(c->value), "%s", value);
    snprintf(c->meaning, sizeof(c->meaning), "%s", meaning);
}

/* The Finding Site of a lesion's site (free text, spec 1.1): SNOMED CT for the sites the trial
 * names, else a local code (99HEPATRACK) that keeps the text as its meaning. */
static void site_code(const char *site, ht_sr_code *out)
{
    static const struct {
        const char *site, *value, *meaning;
    } sites[] = {{"liver", "10200004", "Liver"},
                 {"lymph node", "59441001", "Lymph node structure"},
                 {"lung", "39607008", "Lung structure"},
                 {"peritoneum", "15425007", "Peritoneum structure"},
                 {"bone", "272673000", "Bone structure"},
                 {"adrenal", "23451007", "Adrenal gland structure"}};
    for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++)
        if (!strcasecmp(site, sites[i].site)) {
            set_code(out, "SCT", sites[i].value, sites[i].meaning);
            return;
        }
    char slug[17] = "";
    size_t n = 0;
    for (const char *p = site; *p && n < 16; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            slug[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    slug[n] = '\0';
    set_code(out, "99HEPATRACK", n ? slug : "SITE", site);
}

static ht_sr_group *
new_group(export_state *st, ht_sr_template tid, const char *label, const json_t *lesion)
{
    ht_sr_report *r = &st->report;
    ht_sr_group *grown = realloc(r->groups, (r->ngroups + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    r->groups = grown;
    ht_sr_group *g = &r->groups[r->ngroups++];
    memset(g, 0, sizeof(*g));
    g->tid = tid;
    snprintf(g->tracking_id, sizeof(g->tracking_id), "%s", label);
    snprintf(g->tracking_uid, sizeof(g->tracking_uid), "%s", text(lesion, "tracking_uid"));
    set_code(&g->finding, "SCT", "108369006", "Neoplasm");
    if (text(lesion, "site"))
        site_code(text(lesion, "site"), &g->finding_site);
    return g;
}

static ht_sr_measurement *new_measurement(ht_sr_group *g)
{
    ht_sr_measurement *grown = realloc(g->measurements, (g->nmeasurements + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    g->measurements = grown;
    ht_sr_measurement *m = &g->measurements[g->nmeasurements++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* Points [first, first + n) of a JSON list of [x, y] into a malloc'ed array. */
static double *points_of(const json_t *list, size_t first, size_t n)
{
    if (json_array_size(list) < first + n)
        return NULL;
    double *p = malloc(2 * n * sizeof(double));
    for (size_t i = 0; p && i < n; i++) {
        const json_t *xy = json_array_get(list, first + i);
        p[2 * i] = json_number_value(json_array_get(xy, 0));
        p[2 * i + 1] = json_number_value(json_array_get(xy, 1));
    }
    return p;
}

/*
 * One length in mm (a value in tenths), inferred from the caliper's points [first, first+2)
 * when the assessment was drawn. Spec 11: Long Axis, Short Axis or Length.
 */
static int add_length(export_state *st,
                      ht_sr_group *g,
                      const json_t *a,
                      const char *concept,
                      const char *meaning,
                      json_int_t tenths,
                      int first)
{
    ht_sr_measurement *m = new_measurement(g);
    if (!m)
        return HT_ENOMEM;
    set_code(&m->concept, "SCT", concept, meaning);
    set_code(&m->unit, "UCUM", "mm", "millimeter");
    m->has_value = 1;
    m->value = (double)tenths / 10.0;
    const json_t *points = json_object_get(a, "points");
    if (first < 0 || !text(a, "sop_uid") ||
        !(m->coord.points = points_of(points, (size_t)first, 2)))
        return HT_OK; /* typed, not drawn: no SCOORD */
    m->coord.npoints = 2;
    snprintf(m->coord.graphic_type, sizeof(m->coord.graphic_type), "POLYLINE");
    return where_of(st, text(a, "sop_uid"), json_object_get(a, "frame"), &m->coord);
}

/* Which points of the caliper each length came from (spec: measure's tools). */
static int size_group(export_state *st, ht_sr_group *g, const json_t *a, int nodal)
{
    const char *tool = text(a, "tool");
    int bidi = tool && !strcmp(tool, "bidirectional"), length = tool && !strcmp(tool, "length");
    const json_t *v;
    int err = HT_OK;
    if ((v = json_object_get(a, "long_axis")) && json_is_integer(v))
        err = add_length(st, g, a, "103339001", "Long Axis", json_integer_value(v),
                         bidi || (length && !nodal) ? 0 : -1);
    if (err == HT_OK && (v = json_object_get(a, "short_axis")) && json_is_integer(v))
        err = add_length(st, g, a, "103340004", "Short Axis", json_integer_value(v),
                         bidi              ? 2
                         : length && nodal ? 0
                                           : -1);
    if (err == HT_OK && (v = json_object_get(a, "perpendicular")) && json_is_integer(v))
        err = add_length(st, g, a, "103340004", "Short Axis", json_integer_value(v), bidi ? 2 : -1);
    size_t i;
    json_array_foreach(json_object_get(a, "fragments"), i, v)
    {
        if (err == HT_OK)
            err = add_length(st, g, a, "410668003", "Length", json_integer_value(v),
                             tool && !strcmp(tool, "fragments") ? (int)(2 * i) : -1);
    }
    return err;
}

/* The ellipse's mean HU: a TID 1410 group on its image region; typed without an ellipse, a NUM
 * of the lesion's own group. */
static int density_group(export_state *st,
                         ht_sr_group *lesion_group,
                         const char *label,
                         const json_t *lesion,
                         const json_t *a)
{
    const json_t *mean = json_object_get(a, "mean_hu"), *roi = json_object_get(a, "roi");
    if (!json_is_integer(mean))
        return HT_OK;
    double *box = points_of(roi, 0, 2);
    const char *sop = text(a, "roi_sop_uid") ? text(a, "roi_sop_uid") : text(a, "sop_uid");
    ht_sr_group *g = lesion_group;
    if (box && sop && !(g = new_group(st, HT_SR_TID1410, label, lesion))) {
        free(box);
        return HT_ENOMEM;
    }
    if (box && sop) { /* the ellipse inscribed in the box: major axis first (PS3.3 C.18.6.1.2) */
        double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
        double rx = fabs(box[2] - box[0]) / 2, ry = fabs(box[3] - box[1]) / 2;
        double across[4] = {cx - rx, cy, cx + rx, cy}, down[4] = {cx, cy - ry, cx, cy + ry};
        free(box);
        if (!(g->roi.points = malloc(8 * sizeof(double))))
            return HT_ENOMEM;
        memcpy(g->roi.points, rx >= ry ? across : down, sizeof(across));
        memcpy(g->roi.points + 4, rx >= ry ? down : across, sizeof(down));
        g->roi.npoints = 4;
        snprintf(g->roi.graphic_type, sizeof(g->roi.graphic_type), "ELLIPSE");
        const char *frame = text(a, "roi_sop_uid") ? "roi_frame" : "frame";
        int err = where_of(st, sop, json_object_get(a, frame), &g->roi);
        if (err < 0)
            return err;
    } else {
        free(box);
    }
    ht_sr_measurement *m = new_measurement(g);
    if (!m)
        return HT_ENOMEM;
    set_code(&m->concept, "DCM", "112031", "Attenuation Coefficient");
    set_code(&m->derivation, "SCT", "373098007", "Mean");
    set_code(&m->unit, "UCUM", "[hnsf'U]", "Hounsfield unit");
    m->has_value = 1;
    m->value = (double)json_integer_value(mean) / 10.0;
    return HT_OK;
}

/* ---- provenance: the ledger versions the report is made from -------------------------------- */

static int provenance_add(export_state *st, const char *kind, const char *key)
{
    char item[400];
    int n = snprintf(item, sizeof(item), "%s%s %s v%d", st->provenance_len ? ", " : "", kind, key,
                     version_of(&st->rec, kind, key));
    char *grown = realloc(st->provenance, st->provenance_len + (size_t)n + 1);
    if (!grown)
        return HT_ENOMEM;
    memcpy(grown + st->provenance_len, item, (size_t)n + 1);
    st->provenance = grown;
    st->provenance_len += (size_t)n;
    return HT_OK;
}

/* Each lesion assessed at the time point: its group(s), in the ledger's order of labels. */
static int lesion_groups(export_state *st)
{
    const char *label;
    json_t *entry;
    int err = HT_OK;
    json_object_foreach(json_object_get(st->rec.kinds, "lesion"), label, entry)
    {
        char key[300];
        snprintf(key, sizeof(key), "%s\t%s", label, st->timepoint);
        json_t *lesion = json_object_get(entry, "body"), *a = body_of(&st->rec, "assessment", key);
        if (!a)
            continue;
        ht_sr_group *g = new_group(st, HT_SR_TID1501, label, lesion);
        if (!g)
            return HT_ENOMEM;
        /* The lesion's role, nodal flag and site as entered (TID 1501 has no concept for the
         * first two, and the site's code meaning is not the text) and a state instead of a size,
         * in the group's comment: what an import into another ledger needs to give the lesions
         * back as they were (spec 11's round trip). */
        snprintf(g->comment, sizeof(g->comment), "role: %s%s%s%s%s%s; site: %s",
                 text(lesion, "role") ? text(lesion, "role") : "target",
                 json_is_true(json_object_get(lesion, "nodal")) ? "; nodal" : "",
                 text(a, "state") ? "; state: " : "", text(a, "state") ? text(a, "state") : "",
                 text(a, "merged_into") ? ", merged into " : "",
                 text(a, "merged_into") ? text(a, "merged_into") : "",
                 text(lesion, "site") ? text(lesion, "site") : "");
        /* the group pointer moves when another group is added: sizes first, by index */
        size_t index = st->report.ngroups - 1;
        if ((err = size_group(st, g, a, json_is_true(json_object_get(lesion, "nodal")))) < 0 ||
            (err = density_group(st, &st->report.groups[index], label, lesion, a)) < 0 ||
            (err = provenance_add(st, "lesion", label)) < 0)
            return err;
        err = provenance_add(st, "assessment", key);
        if (err == HT_OK) /* the key's tab shown as a slash */
            for (char *p = st->provenance; (p = strchr(p, '\t'));)
                *p = '/';
    }
    return err;
}

/* ---- the study the report belongs to ------------------------------------------------------- */

/* The earliest indexed study the time point lists ("" when none is indexed). */
static void earliest_study(export_state *st, const json_t *tp, char out[65])
{
    char best[16] = "";
    size_t i;
    json_t *u;
    out[0] = '\0';
    json_array_foreach(json_object_get(tp, "study_uids"), i, u)
    {
        char date[16] = "";
        if (ht_store_study_date(st->store, json_string_value(u), date) != HT_OK)
            continue;
        if (!out[0] || strcmp(date, best) < 0) {
            snprintf(best, sizeof(best), "%s", date);
            snprintf(out, 65, "%s", json_string_value(u));
        }
    }
}

typedef struct study_scan {
    export_state *st;
    const char *study;
    char first_image[65];  /* an image of the study (not an SR) */
    ht_sr_report previous; /* the latest report of this subject's time point, if any */
    int err;
} study_scan;

static int is_sr_class(const char *uid)
{
    return uid && !strncmp(uid, "1.2.840.10008.5.1.4.1.1.88.", 27);
}

/* Is this report one hepatrack wrote for the same subject and time point? */
static int ours(const export_state *st, const ht_sr_report *r)
{
    char want[300];
    snprintf(want, sizeof(want), "%ssubject %s; timepoint %s;", HT_SR_PROVENANCE_PREFIX,
             st->subject, st->timepoint);
    return r->provenance && !strncmp(r->provenance, want, strlen(want));
}

static int scan_instance(void *payload, const ht_row *row)
{
    study_scan *sc = payload;
    const char *cls = ht_row_value(row, "SOPClassUID"), *sop = ht_row_value(row, "SOPInstanceUID");
    if (!sop)
        return 0;
    if (!is_sr_class(cls)) {
        if (!sc->first_image[0])
            snprintf(sc->first_image, sizeof(sc->first_image), "%s", sop);
        return 0;
    }
    image im;
    ht_sr_report r;
    memset(&im, 0, sizeof(im));
    if (read_instance(sc->st, sop, &im) == HT_OK && ht_sr_read(im.bytes, im.len, &r) == HT_OK) {
        if (ours(sc->st, &r) && r.instance_number >= sc->previous.instance_number) {
            ht_sr_report_free(&sc->previous);
            sc->previous = r;
        } else {
            ht_sr_report_free(&r);
        }
    }
    ht_free(im.bytes);
    return 0;
}

/* The image whose study the report copies, and the report it supersedes. */
static int choose_study(export_state *st, const json_t *tp, image **study_image)
{
    char study[65];
    int err = HT_OK;
    earliest_study(st, tp, study);
    *study_image = NULL;
    if (!study[0] && st->nimages) /* no study listed: the measured images' */
        snprintf(study, sizeof(study), "%s", st->images[0].ref.study_uid);
    if (!study[0])
        return ht_error_set(HT_ENOTFOUND,
                            "subject %s, time point %s: no image of the time point is in the "
                            "index: no report to write",
                            st->subject, st->timepoint);
    study_scan sc;
    memset(&sc, 0, sizeof(sc));
    sc.st = st;
    sc.study = study;
    ht_list_filter f = {.study_instance_uid = study};
    if ((err = ht_store_list(st->store, HT_LIST_INSTANCES, &f, scan_instance, &sc)) < 0)
        return err;
    for (size_t i = 0; i < st->nimages && !*study_image; i++)
        if (!strcmp(st->images[i].ref.study_uid, study))
            *study_image = &st->images[i];
    if (!*study_image && sc.first_image[0] &&
        (err = read_instance(st, sc.first_image, &st->study_copy)) == HT_OK)
        *study_image = &st->study_copy; /* copied from, not referenced */
    if (!*study_image) {
        ht_sr_report_free(&sc.previous);
        return err < 0 ? err
                       : ht_error_set(HT_ENOTFOUND,
                                      "subject %s, time point %s: study %s has no image in the "
                                      "index: no report to write",
                                      st->subject, st->timepoint, study);
    }
    if (sc.previous.sop_instance_uid[0]) { /* a re-sign: the same series, the next instance */
        ht_sr_ref *p = &st->report.predecessor;
        snprintf(p->study_uid, 65, "%s", sc.previous.study_instance_uid);
        snprintf(p->series_uid, 65, "%s", sc.previous.series_instance_uid);
        snprintf(p->sop_class_uid, 65, "%s", sc.previous.sop_class_uid);
        snprintf(p->sop_instance_uid, 65, "%s", sc.previous.sop_instance_uid);
        snprintf(st->report.series_instance_uid, 65, "%s", sc.previous.series_instance_uid);
        st->report.instance_number = sc.previous.instance_number + 1;
    }
    ht_sr_report_free(&sc.previous);
    return HT_OK;
}

/* ---- the report ---------------------------------------------------------------------------- */

static int build_report(export_state *st, image **study_image)
{
    int64_t subject;
    int err = ht_store_subject_find(st->store, st->subject, &subject);
    if (err < 0)
        return err;
    st->rec.kinds = json_object();
    if ((err = ht_store_ledger_current(st->store, subject, keep_row, &st->rec)) < 0)
        return err;
    json_t *tp = body_of(&st->rec, "timepoint", st->timepoint),
           *read = body_of(&st->rec, "read", st->timepoint);
    if (!tp)
        return ht_error_set(HT_ENOTFOUND, "subject %s has no time point %s", st->subject,
                            st->timepoint);
    if (!read || !text(read, "status") || strcmp(text(read, "status"), "signed"))
        return ht_error_set(HT_EINVALID,
                            "subject %s, time point %s: the read is not signed; a report is "
                            "made of a signed read only",
                            st->subject, st->timepoint);
    if ((err = provenance_add(st, "timepoint", st->timepoint)) < 0 ||
        (err = provenance_add(st, "read", st->timepoint)) < 0 || (err = lesion_groups(st)) < 0)
        return err;
    char *all = ht_strprintf("%ssubject %s; timepoint %s; versions: %s", HT_SR_PROVENANCE_PREFIX,
                             st->subject, st->timepoint, st->provenance);
    if (!all)
        return HT_ENOMEM;
    ht_sr_report *r = &st->report;
    r->provenance = all;
    snprintf(r->timepoint, sizeof(r->timepoint), "%s", st->timepoint);
    snprintf(r->observer, sizeof(r->observer), "%s", text(read, "by") ? text(read, "by") : "");
    if ((err = choose_study(st, tp, study_image)) < 0)
        return err;
    if (!(r->images = calloc(st->nimages ? st->nimages : 1, sizeof(ht_sr_ref))))
        return HT_ENOMEM;
    for (size_t i = 0; i < st->nimages; i++)
        r->images[r->nimages++] = st->images[i].ref;
    return HT_OK;
}

static void export_state_free(export_state *st)
{
    for (size_t i = 0; i < st->nimages; i++)
        ht_free(st->images[i].bytes);
    ht_free(st->study_copy.bytes);
    free(st->images);
    json_decref(st->rec.kinds);
    free(st->provenance);
    ht_sr_report_free(&st->report);
}

/* Keep the SOP Instance UID of a report hepatrack wrote, before anyone can receive it back:
 * reading it in, hepatrack knows it for its own and proposes nothing from it (spec 11). */
static int remember(
    ht_store *store, const uint8_t *bytes, size_t len, const char *subject, const char *timepoint)
{
    ht_sr_report written;
    char now[32];
    int err = ht_sr_read(bytes, len, &written);
    if (err < 0)
        return err;
    ht_time_now_iso(now, sizeof(now));
    err = ht_store_report_written(store, written.sop_instance_uid, subject, timepoint, now);
    ht_sr_report_free(&written);
    return err;
}

int ht_exchange_sr_export(ht_store *store,
                          ht_archive *archive,
                          const char *subject_id,
                          const char *timepoint,
                          uint8_t **out,
                          size_t *len)
{
    export_state st;
    image *study_image = NULL;
    memset(&st, 0, sizeof(st));
    st.store = store;
    st.archive = archive;
    st.subject = subject_id;
    st.timepoint = timepoint;
    *out = NULL;
    *len = 0;
    int err = build_report(&st, &study_image);
    if (err == HT_OK)
        err = ht_sr_write(&st.report, study_image->bytes, study_image->len, out, len);
    if (err == HT_OK)
        err = remember(store, *out, *len, subject_id, timepoint);
    if (err < 0) {
        ht_free(*out);
        *out = NULL;
        *len = 0;
    }
    export_state_free(&st);
    return err;
}

int ht_exchange_sr_signed(ht_store *store,
                          ht_archive *archive,
                          ht_ingest *ingest,
                          const char *subject_id,
                          const char *timepoint,
                          ht_ingest_result *result)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    memset(result, 0, sizeof(*result));
    int err = ht_exchange_sr_export(store, archive, subject_id, timepoint, &bytes, &len);
    if (err == HT_OK) {
        char source[200];
        snprintf(source, sizeof(source), "sr:%s/%s", subject_id, timepoint);
        err = ht_ingest_buffer(ingest, bytes, len, source, result);
    }
    ht_free(bytes);
    return err;
}
