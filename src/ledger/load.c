/*
 * Loading subjects for the response engine: the current records, extracted by the store in one
 * query per subject (or one for the whole cohort), into the engine's structs; labels resolved
 * to indices, strings owned by the subject.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Strings copied out of the database rows into blocks freed with the subject: a cohort copies
 * some 60 strings per subject, and a malloc each cost more than evaluating it. */
typedef struct arena {
    char **blocks;
    size_t n, cap;
    char *at;    /* the free part of the last block */
    size_t left; /* its size */
} arena;

#define ARENA_BLOCK 4096

struct ht_ledger_subject {
    char *id;
    ht_rs_subject rs;
    ht_rs_timepoint *tps;
    ht_rs_lesion *lesions;
    ht_rs_assessment *assessments;
    int ntp, nl, na;
    size_t cap_tp, cap_l, cap_a;
    int32_t *fragments;
    int nfrag;
    size_t cap_frag;
    struct timepoint_extra {
        char date[11];       /* the dating study's, else the entered date (A16) */
        int unindexed;       /* studies it lists that are not in the index */
        const char *studies; /* the study UIDs it lists, a JSON array, or NULL */
    } * extra;               /* per time point, capacity cap_extra */
    size_t cap_extra;
    const struct read_record **read; /* per time point: its read record, NULL when never signed */
    /* assessments name their lesion, time point and merge target by label until resolved */
    struct assessment_names {
        const char *lesion, *tp, *into;
        int frag_start;
    } * names;
    size_t cap_names;
    struct read_record {
        const char *label, *status, *by, *at;
    } * reads;
    int nreads;
    size_t cap_reads;
    ht_ledger_dates subject_dates;
    arena strings;
};

static const char *keep(ht_ledger_subject *ls, const char *s)
{
    arena *a = &ls->strings;
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    if (len > a->left) {
        size_t size = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        char *block = HT_GROW(a->blocks, a->cap, a->n + 1) < 0 ? NULL : malloc(size);
        if (!block)
            return NULL;
        a->blocks[a->n++] = block;
        a->at = block;
        a->left = size;
    }
    char *copy = memcpy(a->at, s, len);
    a->at += len;
    a->left -= len;
    return copy;
}

static ht_state state_from(const char *s)
{
    static const struct {
        const char *name;
        ht_state st;
    } map[] = {{"too_small", HT_STATE_TOO_SMALL},
               {"absent", HT_STATE_ABSENT},
               {"not_evaluable", HT_STATE_NOT_EVALUABLE},
               {"merged", HT_STATE_MERGED},
               {"present", HT_STATE_PRESENT},
               {"unequivocal_progression", HT_STATE_UNEQUIVOCAL_PROGRESSION},
               {"not_evaluated", HT_STATE_NOT_EVALUATED},
               {"equivocal", HT_STATE_EQUIVOCAL},
               {"unequivocal", HT_STATE_UNEQUIVOCAL}};
    for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(s, map[i].name))
            return map[i].st;
    return HT_STATE_MEASURED;
}

static int32_t date_value(const char *s)
{
    int32_t d;
    return s && ht_date_parse(s, &d) == HT_OK ? d : HT_NO_VALUE;
}

static int32_t opt_num(const ht_ledger_fields *f, ht_ledger_field k)
{
    return f->text[k] ? (int32_t)f->num[k] : HT_NO_VALUE;
}

static int trimmed_equal(const char *a, const char *b)
{
    while (isspace((unsigned char)*a))
        a++;
    size_t n = strlen(a);
    while (n > 0 && isspace((unsigned char)a[n - 1]))
        n--;
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Add one current record to the subject being loaded. */
static int add_fields(ht_ledger_subject *ls, ht_store *store, const ht_ledger_fields *f)
{
    int k = ht_ledger__kind_of(f->kind);
    if (k == K_TIMEPOINT) {
        if (HT_GROW(ls->tps, ls->cap_tp, (size_t)ls->ntp + 1) < 0 ||
            HT_GROW(ls->extra, ls->cap_extra, (size_t)ls->ntp + 1) < 0)
            return HT_ENOMEM;
        ht_rs_timepoint *t = &ls->tps[ls->ntp];
        memset(t, 0, sizeof(*t));
        t->label = keep(ls, f->text[HT_LF_LABEL]);
        t->baseline = f->num[HT_LF_BASELINE] != 0;
        t->imaging_performed = f->num[HT_LF_IMAGING] != 0;
        const char *pv = f->text[HT_LF_PORTAL_VEIN];
        t->portal_vein = !pv                     ? HT_PORTAL_UNKNOWN
                         : !strcmp(pv, "main")   ? HT_PORTAL_MAIN
                         : !strcmp(pv, "branch") ? HT_PORTAL_BRANCH
                                                 : HT_PORTAL_NONE;
        t->liver_volume_ml10 = opt_num(f, HT_LF_LIVER_VOLUME);
        t->slice_thickness_mm10 = opt_num(f, HT_LF_SLICE_THICKNESS);
        /* A16: the earliest indexed study dates the time point, else the entered date. */
        struct timepoint_extra *x = &ls->extra[ls->ntp];
        char *date = x->date;
        const char *entered = f->text[HT_LF_DATE] ? f->text[HT_LF_DATE] : "";
        size_t dlen = strnlen(entered, 10);
        memcpy(date, entered, dlen);
        date[dlen] = '\0';
        const char *uids = f->text[HT_LF_STUDY_UIDS];
        x->unindexed = 0;
        x->studies = NULL;
        if (uids && strcmp(uids, "[]") != 0) {
            x->studies = keep(ls, uids);
            json_t *list = json_loads(uids, 0, NULL);
            size_t i;
            json_t *uid;
            int found = 0;
            json_array_foreach(list, i, uid)
            {
                char d[11];
                int32_t day;
                int err = ht_store_study_date(store, json_string_value(uid), d);
                x->unindexed += err == HT_ENOTFOUND;
                if (err == HT_OK && ht_date_parse(d, &day) == HT_OK &&
                    (!found || strcmp(d, date) < 0)) {
                    snprintf(date, 11, "%s", d);
                    found = 1;
                }
            }
            json_decref(list);
        }
        t->day = date_value(date);
        if (!t->label)
            return HT_ENOMEM;
        ls->ntp++;
    } else if (k == K_LESION) {
        if (HT_GROW(ls->lesions, ls->cap_l, (size_t)ls->nl + 1) < 0)
            return HT_ENOMEM;
        ht_rs_lesion *l = &ls->lesions[ls->nl];
        const char *role = f->text[HT_LF_ROLE];
        memset(l, 0, sizeof(*l));
        l->label = keep(ls, f->text[HT_LF_ID]);
        l->role = !role || !strcmp(role, "target") ? HT_ROLE_TARGET
                  : !strcmp(role, "non-target")    ? HT_ROLE_NON_TARGET
                                                   : HT_ROLE_NEW;
        l->nodal = f->num[HT_LF_NODAL] != 0;
        l->site = keep(ls, f->text[HT_LF_SITE] ? f->text[HT_LF_SITE] : "");
        l->liver = trimmed_equal(l->site ? l->site : "", "liver");
        l->lymph_node = trimmed_equal(l->site ? l->site : "", "lymph node");
        l->segment = keep(ls, f->text[HT_LF_LOCATION]);
        if (!l->label || !l->site)
            return HT_ENOMEM;
        ls->nl++;
    } else if (k == K_ASSESSMENT) {
        if (HT_GROW(ls->assessments, ls->cap_a, (size_t)ls->na + 1) < 0 ||
            HT_GROW(ls->names, ls->cap_names, (size_t)ls->na + 1) < 0)
            return HT_ENOMEM;
        ht_rs_assessment *a = &ls->assessments[ls->na];
        memset(a, 0, sizeof(*a));
        a->state = state_from(f->text[HT_LF_STATE]);
        a->long_axis = opt_num(f, HT_LF_LONG_AXIS);
        a->short_axis = opt_num(f, HT_LF_SHORT_AXIS);
        a->perpendicular = opt_num(f, HT_LF_PERPENDICULAR);
        a->craniocaudal = opt_num(f, HT_LF_CRANIOCAUDAL);
        a->viable_axis = opt_num(f, HT_LF_VIABLE_AXIS);
        a->mean_hu = opt_num(f, HT_LF_MEAN_HU);
        a->phase = keep(ls, f->text[HT_LF_PHASE]);
        a->merged_into = -1;
        ls->names[ls->na].lesion = keep(ls, f->text[HT_LF_LESION]);
        ls->names[ls->na].tp = keep(ls, f->text[HT_LF_TIMEPOINT]);
        ls->names[ls->na].into = keep(ls, f->text[HT_LF_MERGED_INTO]);
        ls->names[ls->na].frag_start = ls->nfrag;
        const char *frags = f->text[HT_LF_FRAGMENTS];
        for (const char *p = frags ? strchr(frags, '[') : NULL; p && *p && *p != ']';) {
            char *end;
            long v = strtol(p + 1, &end, 10);
            if (end == p + 1)
                break;
            if (HT_GROW(ls->fragments, ls->cap_frag, (size_t)ls->nfrag + 1) < 0)
                return HT_ENOMEM;
            ls->fragments[ls->nfrag++] = (int32_t)v;
            a->nfragments++;
            p = end;
        }
        ls->na++;
    } else if (k == K_SUBJECT) {
        ls->subject_dates.treatment_start = date_value(f->text[HT_LF_TREATMENT_START]);
        ls->subject_dates.death_date = date_value(f->text[HT_LF_DEATH_DATE]);
        ls->subject_dates.last_known_alive = date_value(f->text[HT_LF_LAST_KNOWN_ALIVE]);
    } else if (k == K_READ) {
        if (HT_GROW(ls->reads, ls->cap_reads, (size_t)ls->nreads + 1) < 0)
            return HT_ENOMEM;
        ls->reads[ls->nreads].label = keep(ls, f->key);
        ls->reads[ls->nreads].status = keep(ls, f->text[HT_LF_STATUS]);
        ls->reads[ls->nreads].by = keep(ls, f->text[HT_LF_BY]);
        ls->reads[ls->nreads].at = keep(ls, f->text[HT_LF_AT]);
        ls->nreads++;
    }
    return HT_OK;
}

static int lesion_index(const ht_ledger_subject *ls, const char *label)
{
    for (int i = 0; label && i < ls->nl; i++)
        if (!strcmp(ls->lesions[i].label, label))
            return i;
    return -1;
}

static int timepoint_index(const ht_ledger_subject *ls, const char *label)
{
    for (int i = 0; label && i < ls->ntp; i++)
        if (!strcmp(ls->tps[i].label, label))
            return i;
    return -1;
}

/* Resolve labels to indices and point the engine's view at the arrays. */
static int finish(ht_ledger_subject *ls)
{
    int n = 0;
    ls->read = calloc((size_t)ls->ntp + 1, sizeof(*ls->read));
    if (!ls->read)
        return HT_ENOMEM;
    for (int i = 0; i < ls->ntp; i++) {
        for (int r = 0; r < ls->nreads; r++)
            if (ls->reads[r].label && !strcmp(ls->reads[r].label, ls->tps[i].label) &&
                ls->reads[r].status)
                ls->read[i] = &ls->reads[r];
    }
    for (int i = 0; i < ls->na; i++) {
        ht_rs_assessment a = ls->assessments[i];
        const struct assessment_names *nm = &ls->names[i];
        a.lesion = lesion_index(ls, nm->lesion);
        a.timepoint = timepoint_index(ls, nm->tp);
        if (nm->into)
            a.merged_into = lesion_index(ls, nm->into);
        a.fragments = a.nfragments ? ls->fragments + nm->frag_start : NULL;
        if (a.lesion < 0 || a.timepoint < 0)
            continue; /* its lesion or time point was withdrawn */
        ls->assessments[n++] = a;
    }
    ls->rs.id = ls->id;
    ls->rs.timepoints = ls->tps;
    ls->rs.ntimepoints = ls->ntp;
    ls->rs.lesions = ls->lesions;
    ls->rs.nlesions = ls->nl;
    ls->rs.assessments = ls->assessments;
    ls->rs.nassessments = n;
    return HT_OK;
}

static ht_ledger_subject *subject_new(const char *id)
{
    ht_ledger_subject *ls = calloc(1, sizeof(*ls));
    if (!ls || !(ls->id = strdup(id))) {
        free(ls);
        return NULL;
    }
    ls->subject_dates.treatment_start = ls->subject_dates.death_date =
        ls->subject_dates.last_known_alive = HT_NO_VALUE;
    return ls;
}

typedef struct loader {
    ht_store *store;
    ht_ledger_subject *current;
    int (*cb)(void *payload, ht_ledger_subject *subject);
    void *payload;
    int err;
} loader;

/* Hand a completed subject to the callback (which takes ownership). */
static int flush(loader *ld)
{
    ht_ledger_subject *ls = ld->current;
    ld->current = NULL;
    if (!ls)
        return HT_OK;
    int err = finish(ls);
    if (err < 0) {
        ht_ledger_subject_free(ls);
        return ht_error_set(HT_ENOMEM, "out of memory loading the ledger");
    }
    return ld->cb(ld->payload, ls);
}

static int load_row(void *payload, const ht_ledger_fields *f)
{
    loader *ld = payload;
    int err;
    if (!ld->current || strcmp(ld->current->id, f->subject_id) != 0) {
        if ((err = flush(ld)) != 0)
            return err;
        if (!(ld->current = subject_new(f->subject_id)))
            return ht_error_set(HT_ENOMEM, "out of memory loading the ledger");
    }
    if (add_fields(ld->current, ld->store, f) < 0)
        return ht_error_set(HT_ENOMEM, "out of memory loading the ledger");
    return 0;
}

int ht_ledger_each(ht_store *store,
                   int (*cb)(void *payload, ht_ledger_subject *subject),
                   void *payload)
{
    loader ld = {store, NULL, cb, payload, 0};
    int err = ht_store_ledger_fields(store, NULL, load_row, &ld);
    if (err == HT_OK)
        err = flush(&ld);
    ht_ledger_subject_free(ld.current);
    return err;
}

static int keep_one(void *payload, ht_ledger_subject *subject)
{
    *(ht_ledger_subject **)payload = subject;
    return 0;
}

int ht_ledger_load(ht_store *store, const char *subject_id, ht_ledger_subject **out)
{
    int64_t subject;
    int err;
    *out = NULL;
    if ((err = ht_store_subject_find(store, subject_id, &subject)) < 0)
        return err;
    loader ld = {store, NULL, keep_one, out, 0};
    err = ht_store_ledger_fields(store, subject_id, load_row, &ld);
    if (err == HT_OK)
        err = flush(&ld);
    ht_ledger_subject_free(ld.current);
    if (err == HT_OK && !*out) /* a subject whose every record was withdrawn */
        *out = subject_new(subject_id), err = *out ? finish(*out) : HT_ENOMEM;
    if (err < 0) {
        ht_ledger_subject_free(*out);
        *out = NULL;
    }
    return err;
}

void ht_ledger_subject_free(ht_ledger_subject *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->strings.n; i++)
        free(ls->strings.blocks[i]);
    free(ls->strings.blocks);
    free(ls->id);
    free(ls->tps);
    free(ls->lesions);
    free(ls->assessments);
    free(ls->fragments);
    free(ls->extra);
    free(ls->read);
    free(ls->names);
    free(ls->reads);
    free(ls);
}

int ht_ledger_keep_signed(ht_ledger_subject *ls)
{
    int *kept = malloc(((size_t)ls->ntp + 1) * sizeof(int)), n = 0, na = 0;
    if (!kept)
        return ht_error_set(HT_ENOMEM, "out of memory leaving out draft reads");
    for (int i = 0; i < ls->ntp; i++) {
        kept[i] = strcmp(ht_ledger_read_status(ls, i), "signed") ? -1 : n;
        if (kept[i] < 0)
            continue;
        ls->tps[n] = ls->tps[i];
        ls->extra[n] = ls->extra[i];
        ls->read[n] = ls->read[i];
        n++;
    }
    for (int i = 0; i < ls->rs.nassessments; i++) {
        ht_rs_assessment a = ls->assessments[i];
        if (kept[a.timepoint] < 0)
            continue;
        a.timepoint = kept[a.timepoint];
        ls->assessments[na++] = a;
    }
    free(kept);
    int left_out = ls->ntp - n;
    ls->ntp = ls->rs.ntimepoints = n;
    ls->rs.nassessments = na;
    return left_out;
}

const ht_rs_subject *ht_ledger_engine_input(const ht_ledger_subject *ls)
{
    return &ls->rs;
}

const char *ht_ledger_subject_id(const ht_ledger_subject *ls)
{
    return ls->id;
}

const char *ht_ledger_timepoint_date(const ht_ledger_subject *ls, int index)
{
    return ls->extra[index].date;
}

int ht_ledger_unindexed_studies(const ht_ledger_subject *ls, int index)
{
    return ls->extra[index].unindexed;
}

const char *ht_ledger_timepoint_studies(const ht_ledger_subject *ls, int index)
{
    return ls->extra[index].studies;
}

const char *ht_ledger_read_status(const ht_ledger_subject *ls, int index)
{
    return ls->read[index] ? ls->read[index]->status : "draft";
}

int ht_ledger_read_signature(const ht_ledger_subject *ls,
                             int index,
                             const char **by,
                             const char **at)
{
    const struct read_record *r = ls->read[index];
    *by = r ? r->by : NULL;
    *at = r ? r->at : NULL;
    return r && !strcmp(r->status, "signed");
}

ht_ledger_dates ht_ledger_subject_dates(const ht_ledger_subject *ls)
{
    return ls->subject_dates;
}
