/*
 * The route table: every route of the API, with who may call it and its handler. The router
 * walks it; docs/api.md lists the same routes, which a test checks (ht_http_route_each).
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include <string.h>

static const ht_route routes[] = {
    {"POST", "/api/login", HT_ACCESS_PUBLIC, "logging in", ht_http__login, NULL},
    {"POST", "/api/logout", HT_ACCESS_USER, "logging out", ht_http__logout, NULL},
    {"GET", "/api/me", HT_ACCESS_USER, "who am I", ht_http__me, NULL},
    {"GET", "/api/config", HT_ACCESS_USER, "reading the configuration", ht_http__config, NULL},
    {"POST", "/api/password", HT_ACCESS_LOGIN, "changing a password", ht_http__password, NULL},
    {"GET", "/api/users", HT_ACCESS_ADMIN, "listing users", ht_http__users, NULL},
    {"POST", "/api/users/{name}/disable", HT_ACCESS_ADMIN, "disabling users", ht_http__disable_user,
     NULL},
    {"POST", "/api/users/{name}/enable", HT_ACCESS_ADMIN, "enabling users", ht_http__enable_user,
     NULL},
    {"GET", "/api/patients", HT_ACCESS_USER, "listing patients", ht_http__list_patients, NULL},
    {"GET", "/api/studies", HT_ACCESS_USER, "listing studies", ht_http__list_studies, NULL},
    {"GET", "/api/series", HT_ACCESS_USER, "listing series", ht_http__list_series, NULL},
    {"GET", "/api/instances", HT_ACCESS_USER, "listing instances", ht_http__list_instances, NULL},
    {"GET", "/api/conflicts", HT_ACCESS_USER, "listing conflicts", ht_http__list_conflicts, NULL},
    {"GET", "/api/instances/{uid}", HT_ACCESS_USER, "reading an instance", ht_http__instance_json,
     NULL},
    {"GET", "/api/instances/{uid}/file", HT_ACCESS_USER, "reading an instance",
     ht_http__instance_file, NULL},
    {"GET", "/api/instances/{uid}/frames/{n}/pixels", HT_ACCESS_USER, "reading a frame",
     ht_http__frame_pixels, NULL},
    {"GET", "/api/instances/{uid}/frames/{n}/rendered", HT_ACCESS_USER, "reading a frame",
     ht_http__frame_rendered, NULL},
    {"GET", "/api/instances/{uid}/bulkdata/{tag}", HT_ACCESS_USER, "reading an instance",
     ht_http__instance_bulkdata, NULL},
    {"GET", "/api/series/{uid}/thumbnail", HT_ACCESS_USER, "reading a thumbnail",
     ht_http__series_thumbnail, NULL},
    {"GET", "/api/subjects", HT_ACCESS_USER, "listing subjects", ht_http__subjects, NULL},
    {"GET", "/api/subjects/{id}", HT_ACCESS_USER, "reading a subject", ht_http__subject, NULL},
    {"POST", "/api/subjects", HT_ACCESS_COORDINATOR, "enrolling subjects", ht_http__enrol, NULL},
    {"PATCH", "/api/subjects/{id}", HT_ACCESS_COORDINATOR, "changing a subject",
     ht_http__subject_change, NULL},
    {"GET", "/api/subjects/{id}/history", HT_ACCESS_USER, "reading a history",
     ht_http__subject_history, NULL},
    {"GET", "/api/subjects/{id}/proposals", HT_ACCESS_USER, "proposing time points",
     ht_http__subject_proposals, NULL},
    {"GET", "/api/subjects/{id}/timeline", HT_ACCESS_USER, "reading a timeline",
     ht_http__subject_timeline, NULL},
    {"GET", "/api/subjects/{id}/report.pdf", HT_ACCESS_USER, "reading a report",
     ht_http__subject_report, NULL},
    {"GET", "/api/cohort", HT_ACCESS_USER, "reading the cohort", ht_http__cohort, NULL},
    {"GET", "/api/cohort/plots/{name}", HT_ACCESS_USER, "reading the cohort", ht_http__cohort_plot,
     NULL},
    {"GET", "/api/exports/cdisc", HT_ACCESS_COORDINATOR, "exporting CDISC datasets",
     ht_http__export_cdisc, NULL},
    {"GET", "/api/lesion-states", HT_ACCESS_USER, "listing lesion states", ht_http__lesion_states,
     NULL},
    {"POST", "/api/measurements", HT_ACCESS_RADIOLOGIST, "entering assessments",
     ht_http__measurements, NULL},
    {"GET", "/api/subjects/{id}/timepoints/{label}/segments", HT_ACCESS_USER,
     "reading segmentations", ht_http__timepoint_segments, NULL},
    {"GET", "/api/proposals", HT_ACCESS_USER, "reading proposals", ht_http__proposals, NULL},
    {"POST", "/api/proposals/{id}/accept", HT_ACCESS_RADIOLOGIST, "entering assessments",
     ht_http__proposal_accept, NULL},
    {"POST", "/api/proposals/{id}/reject", HT_ACCESS_RADIOLOGIST, "entering assessments",
     ht_http__proposal_reject, NULL},
    {"POST", "/api/subjects/{id}/timepoints/{label}/sign", HT_ACCESS_RADIOLOGIST,
     "entering assessments", ht_http__sign, NULL},
    /* DICOMweb (PS3.18): docs/dicomweb.md */
    {"GET", "/dicom-web/studies", HT_ACCESS_USER, "searching the archive", ht_http__qido_studies,
     NULL},
    {"POST", "/dicom-web/studies", HT_ACCESS_STORE, "storing instances", ht_http__stow,
     ht_http__stow_begin},
    {"GET", "/dicom-web/series", HT_ACCESS_USER, "searching the archive", ht_http__qido_series,
     NULL},
    {"GET", "/dicom-web/instances", HT_ACCESS_USER, "searching the archive",
     ht_http__qido_instances, NULL},
    {"GET", "/dicom-web/studies/{study}", HT_ACCESS_USER, "reading the archive",
     ht_http__wado_retrieve, NULL},
    {"POST", "/dicom-web/studies/{study}", HT_ACCESS_STORE, "storing instances", ht_http__stow,
     ht_http__stow_begin},
    {"GET", "/dicom-web/studies/{study}/metadata", HT_ACCESS_USER, "reading the archive",
     ht_http__wado_metadata, NULL},
    {"GET", "/dicom-web/studies/{study}/series", HT_ACCESS_USER, "searching the archive",
     ht_http__qido_series, NULL},
    {"GET", "/dicom-web/studies/{study}/instances", HT_ACCESS_USER, "searching the archive",
     ht_http__qido_instances, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}", HT_ACCESS_USER, "reading the archive",
     ht_http__wado_retrieve, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/metadata", HT_ACCESS_USER,
     "reading the archive", ht_http__wado_metadata, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances", HT_ACCESS_USER,
     "searching the archive", ht_http__qido_instances, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}", HT_ACCESS_USER,
     "reading the archive", ht_http__wado_retrieve, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}/metadata",
     HT_ACCESS_USER, "reading the archive", ht_http__wado_metadata, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
     HT_ACCESS_USER, "reading the archive", ht_http__wado_frames, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag}",
     HT_ACCESS_USER, "reading the archive", ht_http__wado_bulkdata, NULL},
    {"GET", "/dicom-web/studies/{study}/rendered", HT_ACCESS_USER, "rendering",
     ht_http__rendered_many, NULL},
    {"GET", "/dicom-web/studies/{study}/thumbnail", HT_ACCESS_USER, "rendering",
     ht_http__thumbnail_many, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/rendered", HT_ACCESS_USER, "rendering",
     ht_http__rendered_many, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/thumbnail", HT_ACCESS_USER, "rendering",
     ht_http__thumbnail_many, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}/rendered",
     HT_ACCESS_USER, "rendering", ht_http__rendered_instance, NULL},
    {"GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}/thumbnail",
     HT_ACCESS_USER, "rendering", ht_http__thumbnail_instance, NULL},
    {"GET",
     "/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
     HT_ACCESS_USER, "rendering", ht_http__rendered_instance, NULL},
    {"GET",
     "/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail",
     HT_ACCESS_USER, "rendering", ht_http__thumbnail_instance, NULL},
};

/* Whether the request's root and path segments fit a pattern. */
static int matches(const char *pattern, const request *r)
{
    static const char *const roots[] = {
        [HT_ROOT_API] = "/api/", [HT_ROOT_DICOMWEB] = "/dicom-web/"};
    if (r->root == HT_ROOT_WEB || strncmp(pattern, roots[r->root], strlen(roots[r->root])))
        return 0;
    const char *p = pattern + strlen(roots[r->root]);
    for (int i = 0; i < r->nparts; i++) {
        size_t n = strcspn(p, "/");
        if (!n || (p[0] != '{' && (strlen(r->parts[i]) != n || strncmp(p, r->parts[i], n))))
            return 0;
        p += n;
        if (*p == '/')
            p++;
    }
    return !*p;
}

static int method_is(const request *r, const char *method)
{
    return !strcmp(r->method, method) || (!strcmp(method, "GET") && !strcmp(r->method, "HEAD"));
}

const ht_route *ht_http__find_route(const request *r, answer *a)
{
    const ht_route *found = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !found; i++)
        if (matches(routes[i].pattern, r)) {
            path_known = 1;
            if (method_is(r, routes[i].method))
                found = &routes[i];
        }
    if (!found && (path_known || !method_is(r, "GET"))) {
        ht_http__fail(a, HT_EUNSUPPORTED, NULL, "%s is not allowed on %s", r->method, r->path);
        a->status = 405;
    } else if (!found) {
        ht_http__fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
    }
    return found;
}

void ht_http__route(request *r, answer *a)
{
    if (r->root == HT_ROOT_WEB && (!strncmp(r->path, "/ohif/", 6) || !strcmp(r->path, "/ohif"))) {
        ht_http__ohif(r, a); /* OHIF's files, outside the route table as the station's are */
        return;
    }
    if (r->root == HT_ROOT_WEB) {
        ht_http__web_asset(r, a);
        return;
    }
    const ht_route *found = ht_http__find_route(r, a);
    if (found && found->begin && r->upload && r->upload->sink)
        found->handler(r, a); /* admitted when its headers came (server.c): its parts are
                                 stored, and a session ending meanwhile must not hide them */
    else if (found && ht_http__admit(r, a, found->access, found->what) == HT_OK)
        found->handler(r, a);
}

int ht_http_route_each(int (*cb)(void *payload, const char *method, const char *pattern),
                       void *payload)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int stop = cb(payload, routes[i].method, routes[i].pattern);
        if (stop)
            return stop;
    }
    return 0;
}
