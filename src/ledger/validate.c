/*
 * What the ledger accepts: a subject as a whole against spec 1.8 (one baseline, no date before
 * it, states of the lesion's role, targets measured at baseline, merges without cycles), and
 * what a file may change in the stored records.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int measured_at_baseline(const json_t *a)
{
    return a && !str(a, "state") &&
           (num(a, "long_axis", -1) > 0 || num(a, "short_axis", -1) > 0 ||
            json_is_array(json_object_get(a, "fragments")));
}

static int
validate_assessment(const char *sid, const state *st, json_t *a, const char *baseline_label)
{
    const char *lid = str(a, "lesion"), *tpl = str(a, "timepoint"), *state_name = str(a, "state");
    where w = {sid, lid, tpl};
    json_t *lesion = body_of(st, K_LESION, lid), *tp = body_of(st, K_TIMEPOINT, tpl);
    if (!lesion)
        return ht_ledger__fail(&w, "the assessment names a lesion that the subject does not have");
    if (!tp)
        return ht_ledger__fail(&w,
                               "the assessment names a time point that the subject does not have");
    if (!flag(tp, "imaging_performed"))
        return ht_ledger__fail(
            &w, "the time point has imaging_performed false, so it takes no assessment");
    const char *role = str(lesion, "role");
    int target = !strcmp(role, "target");
    int nodal = flag(lesion, "nodal"), at_baseline = baseline_label && !strcmp(tpl, baseline_label);
    if (state_name && !ht_ledger__state_allowed(role, state_name))
        return ht_ledger__fail(&w, "state '%s' does not belong to a %s lesion (spec 1.3)",
                               state_name, role);
    if (!strcmp(role, "new") && at_baseline)
        return ht_ledger__fail(&w, "a new lesion cannot be recorded at the baseline");
    if (json_is_array(json_object_get(a, "fragments")) && !target)
        return ht_ledger__fail(&w, "fragments_mm is for a split target, not a %s lesion", role);
    if (num(a, "perpendicular", -1) > num(a, "long_axis", INT64_MAX))
        return ht_ledger__fail(&w, "perpendicular_mm %.1f is longer than long_axis_mm %.1f",
                               num(a, "perpendicular", 0) / 10.0, num(a, "long_axis", 0) / 10.0);
    const char *into = str(a, "merged_into");
    if (into && (!state_name || strcmp(state_name, "merged")))
        return ht_ledger__fail(&w, "merged_into needs state merged");
    if (!target)
        return HT_OK;
    if (!state_name) {
        int has_frag = json_is_array(json_object_get(a, "fragments"));
        if (nodal && num(a, "short_axis", -1) < 0 && !has_frag)
            return ht_ledger__fail(&w, "a nodal target needs short_axis_mm (or a state)");
        if (!nodal && num(a, "long_axis", -1) < 0 && !has_frag)
            return ht_ledger__fail(&w, "a target needs long_axis_mm (or a state)");
    } else {
        if (num(a, "long_axis", -1) >= 0 || num(a, "short_axis", -1) >= 0)
            return ht_ledger__fail(
                &w, "a target with state %s takes no long_axis_mm or short_axis_mm", state_name);
        if (at_baseline)
            return ht_ledger__fail(&w, "a target needs a measurement at baseline (got state %s)",
                                   state_name);
    }
    if (state_name && !strcmp(state_name, "merged")) {
        if (!into)
            return ht_ledger__fail(&w,
                                   "state merged needs merged_into (the target it merged into)");
        if (!strcmp(into, lid))
            return ht_ledger__fail(&w, "merged_into names the lesion itself");
        json_t *other = body_of(st, K_LESION, into);
        if (!other)
            return ht_ledger__fail(
                &w, "merged_into names lesion %s, which the subject does not have", into);
        if (strcmp(str(other, "role"), "target"))
            return ht_ledger__fail(&w, "merged_into names %s, which is not a target", into);
        /* no cycle: follow the chain at this time point */
        const char *cur = into;
        for (int depth = 0; cur; depth++) {
            char k[300];
            snprintf(k, sizeof(k), "%s\t%s", cur, tpl);
            json_t *next = body_of(st, K_ASSESSMENT, k);
            const char *n = next ? str(next, "merged_into") : NULL;
            if (n && (!strcmp(n, lid) || depth > 64))
                return ht_ledger__fail(&w, "merged_into forms a cycle (%s -> %s -> ... -> %s)", lid,
                                       into, lid);
            cur = n;
        }
    }
    return HT_OK;
}

/* Two lesions (or time points) whose labels differ only in case would read as one. */
static int distinct_labels(const char *sid, const state *st, int kind)
{
    const char *a, *b;
    json_t *ea, *eb;
    json_object_foreach(st->kinds[kind], a, ea)
    {
        if (!body_of(st, kind, a))
            continue;
        json_object_foreach(st->kinds[kind], b, eb)
        {
            if (strcmp(a, b) < 0 && body_of(st, kind, b) && !strcasecmp(a, b)) {
                where w = {sid, NULL, NULL};
                return ht_ledger__fail(&w,
                                       "%s %s and %s differ only in case: give one of them "
                                       "another label",
                                       kind == K_LESION ? "lesions" : "time points", a, b);
            }
        }
    }
    return HT_OK;
}

/* A label's trailing number ("FU12" -> 12, prefix length 2), or -1 when it has none. */
static long label_number(const char *label, size_t *prefix)
{
    size_t n = strlen(label), p = n;
    while (p > 0 && isdigit((unsigned char)label[p - 1]))
        p--;
    *prefix = p;
    return p < n && n - p < 9 ? strtol(label + p, NULL, 10) : -1;
}

/* Follow-ups numbered in one series (FU1, FU2...) are dated in their order. */
static int labels_in_date_order(const char *sid, const state *st)
{
    const char *a, *b;
    json_t *ea, *eb;
    json_object_foreach(st->kinds[K_TIMEPOINT], a, ea)
    {
        json_t *ta = body_of(st, K_TIMEPOINT, a);
        size_t pa, pb;
        long na = ta ? label_number(a, &pa) : -1;
        if (na < 0)
            continue;
        json_object_foreach(st->kinds[K_TIMEPOINT], b, eb)
        {
            json_t *tb = body_of(st, K_TIMEPOINT, b);
            long nb = tb ? label_number(b, &pb) : -1;
            if (nb > na && pa == pb && !strncmp(a, b, pa) &&
                strcmp(str(tb, "date"), str(ta, "date")) <= 0) {
                where w = {sid, NULL, b};
                return ht_ledger__fail(&w,
                                       "dated %s, not after %s (%s): follow-ups are dated "
                                       "in the order of their numbers",
                                       str(tb, "date"), a, str(ta, "date"));
            }
        }
    }
    return HT_OK;
}

/* No date after today (HEPATRACK_NOW may set today, for tests) and no time point after the
 * subject's withdrawal. */
static int dates_plausible(const char *sid, const state *st)
{
    char today[11];
    ht_date_format(ht_date_today(), today);
    json_t *subject = body_of(st, K_SUBJECT, "");
    const char *withdrawn = subject ? str(subject, "withdrawn") : NULL;
    static const char *const subject_dates[] = {"treatment_start", "death_date", "last_known_alive",
                                                "withdrawn"};
    where w = {sid, NULL, NULL};
    for (int d = 0; subject && d < 4; d++) {
        const char *v = str(subject, subject_dates[d]);
        if (v && strcmp(v, today) > 0)
            return ht_ledger__fail(&w, "%s %s is after today (%s)", subject_dates[d], v, today);
    }
    const char *key;
    json_t *e;
    json_object_foreach(st->kinds[K_TIMEPOINT], key, e)
    {
        json_t *b = body_of(st, K_TIMEPOINT, key);
        const char *date = b ? str(b, "date") : NULL;
        where t = {sid, NULL, key};
        if (date && strcmp(date, today) > 0)
            return ht_ledger__fail(&t, "date %s is after today (%s)", date, today);
        if (date && withdrawn && strcmp(date, withdrawn) > 0)
            return ht_ledger__fail(&t, "dated %s, after the subject's withdrawal on %s", date,
                                   withdrawn);
    }
    return HT_OK;
}

int ht_ledger__validate_subject(const char *sid, const state *st)
{
    int err;
    if ((err = distinct_labels(sid, st, K_LESION)) < 0 ||
        (err = distinct_labels(sid, st, K_TIMEPOINT)) < 0 || (err = dates_plausible(sid, st)) < 0)
        return err;
    const char *key, *baseline_label = NULL, *baseline_date = NULL;
    json_t *e;
    int baselines = 0, timepoints = 0;
    int32_t bday = 0;

    json_object_foreach(st->kinds[K_TIMEPOINT], key, e)
    {
        json_t *b = body_of(st, K_TIMEPOINT, key);
        if (!b)
            continue;
        timepoints++;
        if (flag(b, "baseline")) {
            baselines++;
            baseline_label = str(b, "label");
            baseline_date = str(b, "date");
        }
    }
    where w = {sid, NULL, NULL};
    if (timepoints > 0 && baselines != 1)
        return ht_ledger__fail(&w, "%d time points are marked baseline: exactly one must be",
                               baselines);
    if (baseline_date)
        ht_date_parse(baseline_date, &bday);
    json_object_foreach(st->kinds[K_TIMEPOINT], key, e)
    {
        json_t *b = body_of(st, K_TIMEPOINT, key);
        int32_t day;
        if (!b || !baseline_date)
            continue;
        ht_date_parse(str(b, "date"), &day);
        if (day < bday) {
            where t = {sid, NULL, key};
            return ht_ledger__fail(&t, "date %s is before the baseline (%s)", str(b, "date"),
                                   baseline_date);
        }
    }
    if ((err = labels_in_date_order(sid, st)) < 0)
        return err;
    json_object_foreach(st->kinds[K_ASSESSMENT], key, e)
    {
        json_t *a = body_of(st, K_ASSESSMENT, key);
        if (a && (err = validate_assessment(sid, st, a, baseline_label)) < 0)
            return err;
    }
    json_object_foreach(st->kinds[K_LESION], key, e)
    {
        json_t *l = body_of(st, K_LESION, key);
        char k[300];
        if (!l || strcmp(str(l, "role"), "target"))
            continue;
        where t = {sid, key, baseline_label};
        if (!baseline_label)
            return ht_ledger__fail(&t, "a target needs a baseline time point");
        snprintf(k, sizeof(k), "%s\t%s", key, baseline_label);
        if (!measured_at_baseline(body_of(st, K_ASSESSMENT, k)))
            return ht_ledger__fail(
                &t, "a target needs a measurement at baseline (a target first seen after "
                    "baseline is not allowed)");
    }
    return HT_OK;
}

/* A Tracking UID (PS3.5 B.2, 2.25 + a random 128-bit integer), made once per lesion. */
static int tracking_uid(char *out, size_t size)
{
    unsigned char r[16];
    int err = ht_random_bytes(r, sizeof(r));
    if (err < 0)
        return err;
    unsigned long long hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | r[i];
        lo = lo << 8 | r[8 + i];
    }
    hi = (hi >> 1) | 1;
    snprintf(out, size, "2.25.%llu%019llu", hi, lo % 10000000000000000000ULL);
    return HT_OK;
}

/* Where a record is, for messages. */
static where where_of(const char *sid, const record *r)
{
    where w = {sid, NULL, NULL};
    if (r->kind == K_TIMEPOINT)
        w.timepoint = r->key;
    else if (r->kind == K_LESION)
        w.lesion = r->key;
    return w;
}

/* The subject's dates the file does not name stay as recorded. */
static void carry_subject_dates(const json_t *old, record *r)
{
    static const char *const keys[] = {"treatment_start", "death_date", "last_known_alive",
                                       "withdrawn"};
    for (int d = 0; d < 4; d++) {
        json_t *v = json_object_get(old, keys[d]);
        if (!(r->named & (1u << d)) && v && !json_is_null(v))
            json_object_set(r->body, keys[d], v);
    }
}

/* Whether a change needs a reason: any change does, but a subject's date given for the first
 * time (recorded as null) is no correction. */
static int is_correction(const json_t *old, const record *r)
{
    if (r->kind != K_SUBJECT)
        return !json_equal(old, r->body);
    const char *key;
    json_t *was;
    json_object_foreach((json_t *)old, key, was)
    {
        if (!json_is_null(was) && !json_equal(was, json_object_get(r->body, key)))
            return 1;
    }
    return 0;
}

/*
 * A reader's own assessment at a time point never signed is still being read: changing it is
 * part of the read, not a correction, and needs no typed reason.
 */
static int
edited_during_read(const state *current, const record *r, const char *reader, const char *timepoint)
{
    json_t *entry = json_object_get(current->kinds[K_ASSESSMENT], r->key);
    const char *by = entry ? str(entry, "reader") : NULL;
    return r->kind == K_ASSESSMENT && by && reader && !strcmp(by, reader) &&
           !json_object_get(current->kinds[K_READ], timepoint);
}

int ht_ledger__overlay(const state *current, state *merged, parsed *rs)
{
    const char *sid = rs->sid, *top_reason = rs->reason;
    for (int k = 0; k < NKINDS; k++) {
        json_decref(merged->kinds[k]);
        merged->kinds[k] = json_deep_copy(current->kinds[k]);
    }
    for (size_t i = 0; i < rs->n; i++) {
        record *r = &rs->items[i];
        json_t *old = body_of(current, r->kind, r->key);
        where w = where_of(sid, r);
        char lesion[300], tp[300] = "";
        if (r->kind == K_ASSESSMENT) {
            const char *tab = strchr(r->key, '\t');
            snprintf(lesion, sizeof(lesion), "%.*s", (int)(tab - r->key), r->key);
            snprintf(tp, sizeof(tp), "%s", tab + 1);
            w.lesion = lesion;
            w.timepoint = tp;
        }
        if (r->body && old && r->kind == K_SUBJECT)
            carry_subject_dates(old, r);
        if (r->body && old && r->kind == K_ASSESSMENT)
            ht_ledger__carry_groups(old, r->body, r->named);
        if (!r->reason && !top_reason && edited_during_read(current, r, rs->reader, tp))
            r->reason = "edited during the read";
        if (!r->body) { /* a retraction */
            if (!old)
                return ht_ledger__fail(&w, "retract names an assessment that is not recorded");
            if (!r->reason && !top_reason)
                return ht_ledger__fail(&w, "retracting an assessment needs a reason");
        } else if (r->kind == K_LESION && old) {
            if (strcmp(str(old, "role"), str(r->body, "role")) != 0)
                return ht_ledger__fail(
                    &w, "a lesion's role never changes (recorded %s, the file says %s)",
                    str(old, "role"), str(r->body, "role"));
            json_object_set(r->body, "tracking_uid", json_object_get(old, "tracking_uid"));
        } else if (r->kind == K_LESION && str(r->body, "tracking_uid")) {
            /* a lesion from a report keeps its Tracking UID */
        } else if (r->kind == K_LESION) {
            char uid[64];
            int err = tracking_uid(uid, sizeof(uid));
            if (err < 0)
                return err;
            json_object_set_new(r->body, "tracking_uid", json_string(uid));
        }
        if (r->body && !old && json_object_get(current->kinds[r->kind], r->key) && !r->reason &&
            !top_reason)
            return ht_ledger__fail(&w, "this %s was retracted: restoring it needs a reason",
                                   ht_ledger__kind_name(r->kind));
        if (r->body && old && is_correction(old, r) && !r->reason && !top_reason)
            return ht_ledger__fail(
                &w,
                "this %s differs from the recorded one: a correction needs a reason "
                "(on the record or at the top of the file)",
                ht_ledger__kind_name(r->kind));
        json_t *entry = json_object();
        json_object_set_new(entry, "body", r->body ? json_incref(r->body) : json_null());
        json_object_set_new(merged->kinds[r->kind], r->key, entry);
    }
    return HT_OK;
}
