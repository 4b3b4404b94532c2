/*
 * The lesion ledger: the measurement-import format in, validated (spec 1.8) and versioned
 * records out; and the current records back into the engine's structs.
 *
 * Records are canonical JSON bodies (integer tenths) kept by the store under (kind, key):
 * "subject" "" / "patient" "ID\tISSUER" / "timepoint" LABEL / "lesion" ID /
 * "assessment" "LESION\tTIMEPOINT". An import builds the subject as it would be after the file
 * (the current records overlaid with the file's), validates that whole, and only then writes the
 * versions that changed, in one transaction.
 */
#define _GNU_SOURCE
#include "hepatrack/ledger.h"

#include "hepatrack/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_MM10 5000 /* 500 mm */

/* ---- messages naming what was wrong -------------------------------------------------------- */

typedef struct where {
    const char *subject, *lesion, *timepoint;
} where;

static int fail(const where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const where *w, const char *fmt, ...)
{
    char prefix[400] = "", msg[600];
    size_t n = 0;
    va_list ap;
    if (w && w->subject)
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "subject %s", w->subject);
    if (w && w->lesion && n < sizeof(prefix))
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "%slesion %s", n ? ", " : "",
                              w->lesion);
    if (w && w->timepoint && n < sizeof(prefix))
        n += (size_t)snprintf(prefix + n, sizeof(prefix) - n, "%stime point %s", n ? ", " : "",
                              w->timepoint);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ht_error_set(HT_EINVALID, "%s%s%s", prefix, prefix[0] ? ": " : "", msg);
}

static void note(ht_ledger_import_summary *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(ht_ledger_import_summary *s, const char *fmt, ...)
{
    size_t n = strlen(s->notes);
    va_list ap;
    if (n + 4 >= sizeof(s->notes))
        return;
    if (n)
        n += (size_t)snprintf(s->notes + n, sizeof(s->notes) - n, "; ");
    va_start(ap, fmt);
    vsnprintf(s->notes + n, sizeof(s->notes) - n, fmt, ap);
    va_end(ap);
}

/* ---- numbers: mm to integer tenths (spec 0.4) ---------------------------------------------- */

/* Round a JSON number to tenths, half away from zero, on its shortest decimal form. *rounded is
 * set when a digit was dropped. */
static int to_tenths(const json_t *v, int64_t *out, int *rounded)
{
    char buf[64];
    *rounded = 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > 100000000 || i < -100000000)
            return HT_EINVALID;
        *out = (int64_t)i * 10;
        return HT_OK;
    }
    if (!json_is_real(v))
        return HT_EINVALID;
    double d = json_real_value(v);
    if (d != d || d > 1e8 || d < -1e8)
        return HT_EINVALID;
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* buf is [-]D.DDDDe[+-]XX: digits and a decimal exponent. */
    int negative = buf[0] == '-';
    const char *p = buf + negative;
    int64_t digits = 0;
    int ndigits = 0;
    for (; *p && *p != 'e'; p++) {
        if (isdigit((unsigned char)*p)) {
            digits = digits * 10 + (*p - '0');
            ndigits++;
        }
    }
    int exp10 = atoi(p + 1) - (ndigits - 1); /* value = digits * 10^exp10 */
    int shift = exp10 + 1;                   /* tenths = digits * 10^shift */
    if (shift >= 0) {
        for (int i = 0; i < shift; i++)
            digits *= 10;
    } else {
        int64_t div = 1;
        for (int i = 0; i < -shift && div < 1000000000000000000LL; i++)
            div *= 10;
        int64_t q = digits / div, r = digits % div;
        if (r != 0)
            *rounded = 1;
        if (2 * r >= div)
            q++;
        digits = q;
    }
    *out = negative ? -digits : digits;
    return HT_OK;
}

/* ---- reading the import format ------------------------------------------------------------- */

static int only_keys(const where *w, const json_t *obj, const char *what, const char *const *keys)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        int known = 0;
        for (const char *const *k = keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            return fail(w, "%s has an unknown field '%s'", what, key);
    }
    return HT_OK;
}

static int
get_string(const where *w, const json_t *obj, const char *key, int required, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(w, "%s is required", key);
        return HT_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(w, "%s must be a non-empty string", key);
    if (json_string_length(v) > 128)
        return fail(w, "%s must be at most 128 characters", key);
    *out = json_string_value(v);
    return HT_OK;
}

static int get_bool(const where *w, const json_t *obj, const char *key, int fallback, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (fallback < 0)
            return fail(w, "%s is required (true or false)", key);
        *out = fallback;
        return HT_OK;
    }
    if (!json_is_boolean(v))
        return fail(w, "%s must be true or false", key);
    *out = json_is_true(v);
    return HT_OK;
}

static int
get_date(const where *w, const json_t *obj, const char *key, int required, const char **out)
{
    int32_t day;
    int err = get_string(w, obj, key, required, out);
    if (err < 0 || !*out)
        return err;
    if (ht_date_parse(*out, &day) < 0)
        return fail(w, "%s must be a date YYYY-MM-DD (got '%s')", key, *out);
    return HT_OK;
}

/* A length in mm into tenths; 0 allowed only when allow_zero. Sets the body key to the tenths,
 * or null when absent. */
static int get_length(const where *w,
                      const json_t *in,
                      const char *key,
                      json_t *body,
                      const char *body_key,
                      int allow_zero,
                      ht_ledger_import_summary *sum)
{
    json_t *v = json_object_get(in, key);
    int64_t t;
    int rounded;
    if (!v || json_is_null(v)) {
        json_object_set_new(body, body_key, json_null());
        return HT_OK;
    }
    if (!json_is_number(v))
        return fail(w, "%s must be a number in mm", key);
    if (to_tenths(v, &t, &rounded) < 0 || t < 0 || (t == 0 && !allow_zero) || t > MAX_MM10) {
        char shown[32];
        snprintf(shown, sizeof(shown), "%g", json_number_value(v));
        return fail(w, "%s must be %s and <= 500 (got %s)", key, allow_zero ? ">= 0" : "> 0",
                    shown);
    }
    if (rounded)
        note(sum, "%s%s%s %s %g rounded to %.1f mm", w->lesion ? w->lesion : "",
             w->timepoint ? " at " : "", w->timepoint ? w->timepoint : "", key,
             json_number_value(v), (double)t / 10.0);
    json_object_set_new(body, body_key, json_integer(t));
    return HT_OK;
}

static const char *const target_states[] = {"too_small", "absent", "not_evaluable", "merged", NULL};
static const char *const non_target_states[] = {"present", "absent", "unequivocal_progression",
                                                "not_evaluated", NULL};
static const char *const new_states[] = {"equivocal", "unequivocal", "absent", NULL};

const char *const *ht_ledger_states(const char *role)
{
    return !role                         ? NULL
           : !strcmp(role, "target")     ? target_states
           : !strcmp(role, "non-target") ? non_target_states
           : !strcmp(role, "new")        ? new_states
                                         : NULL;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

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
        return fail(sw, "each time point must be an object");
    if (get_string(sw, in, "label", 1, &label) < 0)
        return fail(sw, "a time point needs a label (a non-empty string)");
    w.timepoint = label;
    if ((err = only_keys(&w, in, "the time point", keys)) < 0 ||
        (err = get_date(&w, in, "date", 1, &date)) < 0 ||
        (err = get_bool(&w, in, "baseline", -1, &baseline)) < 0 ||
        (err = get_bool(&w, in, "imaging_performed", 1, &imaging)) < 0 ||
        (err = get_string(&w, in, "portal_vein_status", 0, &pv)) < 0)
        return err;
    if (pv && strcmp(pv, "none") && strcmp(pv, "branch") && strcmp(pv, "main"))
        return fail(&w, "portal_vein_status must be none, branch or main (got '%s')", pv);
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
            return fail(&w, "study_uids must be an array of UIDs");
        }
        json_array_foreach(uids, i, u)
        {
            if (!json_is_string(u) || json_string_length(u) == 0 || json_string_length(u) > 64) {
                json_decref(body);
                return fail(&w, "study_uids[%zu] must be a UID string", i);
            }
            json_array_append(list, u);
        }
    }
    /* Volumes and thicknesses are stored in tenths too (mL and mm). */
    json_t *lv = json_object_get(in, "liver_volume_ml");
    if (lv && !json_is_null(lv)) {
        int64_t t;
        int rounded;
        if (!json_is_number(lv) || to_tenths(lv, &t, &rounded) < 0 || t <= 0 || t > 200000) {
            json_decref(body);
            return fail(&w, "liver_volume_ml must be > 0 and <= 20000 (got %g)",
                        json_is_number(lv) ? json_number_value(lv) : 0.0);
        }
        json_object_set_new(body, "liver_volume_ml10", json_integer(t));
    } else {
        json_object_set_new(body, "liver_volume_ml10", json_null());
    }
    if ((err = get_length(&w, in, "slice_thickness_mm", body, "slice_thickness_mm10", 0, sum)) <
        0) {
        json_decref(body);
        return err;
    }
    *out = body;
    return HT_OK;
}

static int parse_lesion(const where *sw, const json_t *in, json_t **out)
{
    static const char *const keys[] = {"id", "role", "site", "location", "nodal", "reason", NULL};
    const char *id, *role, *site, *location;
    int nodal = 0, err;
    where w = *sw;

    if (!json_is_object(in))
        return fail(sw, "each lesion must be an object");
    if (get_string(sw, in, "id", 1, &id) < 0)
        return fail(sw, "a lesion needs an id (a non-empty string)");
    w.lesion = id;
    if ((err = only_keys(&w, in, "the lesion", keys)) < 0 ||
        (err = get_string(&w, in, "role", 1, &role)) < 0 ||
        (err = get_string(&w, in, "site", 1, &site)) < 0 ||
        (err = get_string(&w, in, "location", 0, &location)) < 0 ||
        (err = get_bool(&w, in, "nodal", 0, &nodal)) < 0)
        return err;
    if (strcmp(role, "target") && strcmp(role, "non-target") && strcmp(role, "new"))
        return fail(&w, "role must be target, non-target or new (got '%s')", role);
    json_t *body = json_object();
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "role", json_string(role));
    json_object_set_new(body, "site", json_string(site));
    json_object_set_new(body, "location", location ? json_string(location) : json_null());
    json_object_set_new(body, "nodal", json_boolean(nodal));
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
        return fail(w, "%s must be an array of 2 to 64 [x, y] pairs", key);
    json_array_foreach(pts, i, pt)
    {
        if (!json_is_array(pt) || json_array_size(pt) != 2 ||
            !json_is_number(json_array_get(pt, 0)) || !json_is_number(json_array_get(pt, 1)))
            return fail(w, "%s[%zu] must be [x, y] in pixels", key, i);
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
    if ((err = get_string(w, in, "tool", 0, &tool)) < 0)
        return err;
    if (tool && strcmp(tool, "length") && strcmp(tool, "bidirectional") &&
        strcmp(tool, "fragments"))
        return fail(w, "tool must be length, bidirectional or fragments (got '%s')", tool);
    if (tool)
        json_object_set_new(body, "tool", json_string(tool));
    if (roi && !json_is_null(roi)) {
        if (!json_is_array(roi) || json_array_size(roi) != 2)
            return fail(w, "roi must be the two corners [[x, y], [x, y]] of an ellipse's box");
        return parse_points(w, roi, "roi", body);
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
    const char *lesion_id, *tp, *state, *phase, *merged, *sop;
    int err;
    where w = *sw;

    if (!json_is_object(in))
        return fail(sw, "each assessment must be an object");
    if (get_string(sw, in, "lesion", 1, &lesion_id) < 0)
        return fail(sw, "an assessment needs a lesion (a lesion id)");
    w.lesion = lesion_id;
    if (get_string(&w, in, "timepoint", 1, &tp) < 0)
        return fail(&w, "an assessment needs a timepoint (a time point label)");
    w.timepoint = tp;
    if ((err = only_keys(&w, in, "the assessment", keys)) < 0 ||
        (err = get_bool(&w, in, "retract", 0, retract)) < 0 ||
        (err = get_string(&w, in, "state", 0, &state)) < 0 ||
        (err = get_string(&w, in, "phase", 0, &phase)) < 0 ||
        (err = get_string(&w, in, "merged_into", 0, &merged)) < 0 ||
        (err = get_string(&w, in, "sop_uid", 0, &sop)) < 0)
        return err;
    if (state && !in_list(state, target_states) && !in_list(state, non_target_states) &&
        !in_list(state, new_states))
        return fail(&w, "state '%s' is unknown (spec 1.3)", state);
    json_t *body = json_object();
    json_object_set_new(body, "lesion", json_string(lesion_id));
    json_object_set_new(body, "timepoint", json_string(tp));
    json_object_set_new(body, "state", state ? json_string(state) : json_null());
    json_object_set_new(body, "phase", phase ? json_string(phase) : json_null());
    json_object_set_new(body, "merged_into", merged ? json_string(merged) : json_null());
    json_object_set_new(body, "sop_uid", sop ? json_string(sop) : json_null());
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        if ((err = get_length(&w, in, lengths[i].in, body, lengths[i].out, lengths[i].zero, sum)) <
            0)
            goto fail;
    json_t *hu = json_object_get(in, "mean_hu");
    if (hu && !json_is_null(hu)) {
        int64_t t;
        int rounded;
        if (!json_is_number(hu) || to_tenths(hu, &t, &rounded) < 0 || t < -10000 || t > 40000) {
            err = fail(&w, "mean_hu must be a number between -1000 and 4000");
            goto fail;
        }
        json_object_set_new(body, "mean_hu", json_integer(t));
    } else {
        json_object_set_new(body, "mean_hu", json_null());
    }
    json_t *frame = json_object_get(in, "frame");
    if (frame && !json_is_null(frame) &&
        (!json_is_integer(frame) || json_integer_value(frame) < 1)) {
        err = fail(&w, "frame must be an integer >= 1 (frames count from 1)");
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
            err = fail(&w, "fragments_mm must be an array of 1 to 32 lengths in mm");
            goto fail;
        }
        json_array_foreach(frags, i, f)
        {
            int64_t t;
            int rounded;
            if (!json_is_number(f) || to_tenths(f, &t, &rounded) < 0 || t <= 0 || t > MAX_MM10) {
                json_decref(list);
                err = fail(&w, "fragments_mm[%zu] must be > 0 and <= 500 (got %g)", i,
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
        (err = parse_drawing(&w, in, body)) < 0)
        goto fail;
    *out = body;
    return HT_OK;
fail:
    json_decref(body);
    return err;
}

/* ---- the subject as a set of records ------------------------------------------------------- */

/* kinds, in the order they are written and shown */
enum { K_SUBJECT, K_PATIENT, K_TIMEPOINT, K_LESION, K_ASSESSMENT, K_READ, NKINDS };
static const char *const kind_names[NKINDS] = {"subject", "patient",    "timepoint",
                                               "lesion",  "assessment", "read"};

static int kind_of(const char *name)
{
    for (int k = 0; k < NKINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

/* Per kind: key -> {"body": ..., "version": n, "retracted": b, "first_id": n}. */
typedef struct state {
    json_t *kinds[NKINDS];
} state;

static void state_init(state *st)
{
    for (int k = 0; k < NKINDS; k++)
        st->kinds[k] = json_object();
}

static void state_free(state *st)
{
    for (int k = 0; k < NKINDS; k++)
        json_decref(st->kinds[k]);
}

static int load_current(void *payload, const ht_ledger_row *row)
{
    state *st = payload;
    int k = kind_of(row->kind);
    if (k < 0)
        return 0;
    json_t *entry = json_object();
    json_t *body = row->retracted ? json_null() : json_loads(row->body, 0, NULL);
    json_object_set_new(entry, "body", body ? body : json_null());
    json_object_set_new(entry, "version", json_integer(row->version));
    json_object_set_new(entry, "retracted", json_boolean(row->retracted));
    json_object_set_new(entry, "first_id", json_integer(row->first_id));
    json_object_set_new(entry, "reader", json_string(row->reader));
    json_object_set_new(entry, "recorded_at", json_string(row->recorded_at));
    json_object_set_new(st->kinds[k], row->key, entry);
    return 0;
}

/* The current body of (kind, key), or NULL (absent or retracted). */
static json_t *body_of(const state *st, int kind, const char *key)
{
    json_t *e = json_object_get(st->kinds[kind], key);
    json_t *b = e ? json_object_get(e, "body") : NULL;
    return b && !json_is_null(b) ? b : NULL;
}

static const char *str(const json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t num(const json_t *body, const char *key, int64_t absent)
{
    json_t *v = json_object_get(body, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static int flag(const json_t *body, const char *key)
{
    return json_is_true(json_object_get(body, key));
}

/* ---- validation of the whole subject (spec 1.8) -------------------------------------------- */

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
        return fail(&w, "the assessment names a lesion that the subject does not have");
    if (!tp)
        return fail(&w, "the assessment names a time point that the subject does not have");
    if (!flag(tp, "imaging_performed"))
        return fail(&w, "the time point has imaging_performed false, so it takes no assessment");
    const char *role = str(lesion, "role");
    int target = !strcmp(role, "target"), nontarget = !strcmp(role, "non-target");
    int nodal = flag(lesion, "nodal"), at_baseline = baseline_label && !strcmp(tpl, baseline_label);
    const char *const *allowed = target      ? target_states
                                 : nontarget ? non_target_states
                                             : new_states;
    if (state_name && !in_list(state_name, allowed))
        return fail(&w, "state '%s' does not belong to a %s lesion (spec 1.3)", state_name, role);
    if (!strcmp(role, "new") && at_baseline)
        return fail(&w, "a new lesion cannot be recorded at the baseline");
    if (json_is_array(json_object_get(a, "fragments")) && !target)
        return fail(&w, "fragments_mm is for a split target, not a %s lesion", role);
    const char *into = str(a, "merged_into");
    if (into && (!state_name || strcmp(state_name, "merged")))
        return fail(&w, "merged_into needs state merged");
    if (!target)
        return HT_OK;
    if (!state_name) {
        int has_frag = json_is_array(json_object_get(a, "fragments"));
        if (nodal && num(a, "short_axis", -1) < 0 && !has_frag)
            return fail(&w, "a nodal target needs short_axis_mm (or a state)");
        if (!nodal && num(a, "long_axis", -1) < 0 && !has_frag)
            return fail(&w, "a target needs long_axis_mm (or a state)");
    } else {
        if (num(a, "long_axis", -1) >= 0 || num(a, "short_axis", -1) >= 0)
            return fail(&w, "a target with state %s takes no long_axis_mm or short_axis_mm",
                        state_name);
        if (at_baseline)
            return fail(&w, "a target needs a measurement at baseline (got state %s)", state_name);
    }
    if (state_name && !strcmp(state_name, "merged")) {
        if (!into)
            return fail(&w, "state merged needs merged_into (the target it merged into)");
        if (!strcmp(into, lid))
            return fail(&w, "merged_into names the lesion itself");
        json_t *other = body_of(st, K_LESION, into);
        if (!other)
            return fail(&w, "merged_into names lesion %s, which the subject does not have", into);
        if (strcmp(str(other, "role"), "target"))
            return fail(&w, "merged_into names %s, which is not a target", into);
        /* no cycle: follow the chain at this time point */
        const char *cur = into;
        for (int depth = 0; cur; depth++) {
            char k[300];
            snprintf(k, sizeof(k), "%s\t%s", cur, tpl);
            json_t *next = body_of(st, K_ASSESSMENT, k);
            const char *n = next ? str(next, "merged_into") : NULL;
            if (n && (!strcmp(n, lid) || depth > 64))
                return fail(&w, "merged_into forms a cycle (%s -> %s -> ... -> %s)", lid, into,
                            lid);
            cur = n;
        }
    }
    return HT_OK;
}

static int validate_subject(const char *sid, const state *st)
{
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
        return fail(&w, "%d time points are marked baseline: exactly one must be", baselines);
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
            return fail(&t, "date %s is before the baseline (%s)", str(b, "date"), baseline_date);
        }
    }
    json_object_foreach(st->kinds[K_ASSESSMENT], key, e)
    {
        json_t *a = body_of(st, K_ASSESSMENT, key);
        int err;
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
            return fail(&t, "a target needs a baseline time point");
        snprintf(k, sizeof(k), "%s\t%s", key, baseline_label);
        if (!measured_at_baseline(body_of(st, K_ASSESSMENT, k)))
            return fail(&t, "a target needs a measurement at baseline (a target first seen after "
                            "baseline is not allowed)");
    }
    return HT_OK;
}

/* ---- import -------------------------------------------------------------------------------- */

typedef struct record {
    int kind;
    char key[300];
    json_t *body; /* owned; NULL for a retraction */
    const char *reason;
} record;

typedef struct records {
    record *items;
    size_t n, cap;
} records;

static int add_record(records *rs, int kind, const char *key, json_t *body, const char *reason)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 32;
        record *p = realloc(rs->items, cap * sizeof(*p));
        if (!p) {
            json_decref(body);
            return ht_error_set(HT_ENOMEM, "out of memory importing measurements");
        }
        rs->items = p;
        rs->cap = cap;
    }
    record *r = &rs->items[rs->n++];
    r->kind = kind;
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->body = body;
    r->reason = reason;
    return HT_OK;
}

static void records_free(records *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        json_decref(rs->items[i].body);
    free(rs->items);
}

static int duplicate(const records *rs, int kind, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->items[i].kind == kind && !strcmp(rs->items[i].key, key))
            return 1;
    return 0;
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

static int parse_subject(json_t *in,
                         records *rs,
                         const char **sid_out,
                         const char **reader_out,
                         const char **reason_out,
                         ht_ledger_import_summary *sum)
{
    static const char *const keys[] = {
        "subject",    "dicom_patients",   "reader",     "reason",  "treatment_start",
        "death_date", "last_known_alive", "timepoints", "lesions", "assessments",
        NULL};
    const char *sid, *reader, *reason, *d1, *d2, *d3;
    size_t i;
    json_t *x;
    int err;

    if (!json_is_object(in))
        return fail(NULL, "a subject must be a JSON object");
    if (get_string(NULL, in, "subject", 1, &sid) < 0)
        return fail(NULL, "a subject needs \"subject\", its trial id (a non-empty string)");
    where w = {sid, NULL, NULL};
    if ((err = only_keys(&w, in, "the subject", keys)) < 0 ||
        (err = get_string(&w, in, "reader", 1, &reader)) < 0 ||
        (err = get_string(&w, in, "reason", 0, &reason)) < 0 ||
        (err = get_date(&w, in, "treatment_start", 0, &d1)) < 0 ||
        (err = get_date(&w, in, "death_date", 0, &d2)) < 0 ||
        (err = get_date(&w, in, "last_known_alive", 0, &d3)) < 0)
        return err;
    *sid_out = sid;
    *reader_out = reader;
    *reason_out = reason;
    if (d1 || d2 || d3) {
        json_t *b = json_object();
        json_object_set_new(b, "treatment_start", d1 ? json_string(d1) : json_null());
        json_object_set_new(b, "death_date", d2 ? json_string(d2) : json_null());
        json_object_set_new(b, "last_known_alive", d3 ? json_string(d3) : json_null());
        if ((err = add_record(rs, K_SUBJECT, "", b, NULL)) < 0)
            return err;
    }
    static const char *const arrays[] = {"dicom_patients", "timepoints", "lesions", "assessments"};
    for (int a = 0; a < 4; a++) {
        x = json_object_get(in, arrays[a]);
        if (x && !json_is_null(x) && !json_is_array(x))
            return fail(&w, "%s must be an array", arrays[a]);
    }
    json_array_foreach(json_object_get(in, "dicom_patients"), i, x)
    {
        static const char *const pkeys[] = {"id", "issuer", NULL};
        const char *pid, *issuer;
        char key[300];
        if (!json_is_object(x) || (err = only_keys(&w, x, "a DICOM patient", pkeys)) < 0 ||
            get_string(&w, x, "id", 1, &pid) < 0 || get_string(&w, x, "issuer", 0, &issuer) < 0)
            return fail(&w, "dicom_patients[%zu] must be {\"id\": ..., \"issuer\"?: ...}", i);
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
        const char *label = str(b, "label");
        if (duplicate(rs, K_TIMEPOINT, label)) {
            where t = {sid, NULL, label};
            err = fail(&t, "the time point appears twice in the file");
            json_decref(b); /* after the message: label lives in b */
            return err;
        }
        if ((err = add_record(rs, K_TIMEPOINT, label, b, str(x, "reason"))) < 0)
            return err;
    }
    json_array_foreach(json_object_get(in, "lesions"), i, x)
    {
        json_t *b = NULL;
        if ((err = parse_lesion(&w, x, &b)) < 0)
            return err;
        const char *id = str(b, "id");
        if (duplicate(rs, K_LESION, id)) {
            where t = {sid, id, NULL};
            err = fail(&t, "the lesion appears twice in the file");
            json_decref(b);
            return err;
        }
        if ((err = add_record(rs, K_LESION, id, b, str(x, "reason"))) < 0)
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
        if (duplicate(rs, K_ASSESSMENT, key)) {
            where t = {sid, str(b, "lesion"), str(b, "timepoint")};
            err = fail(&t, "the assessment appears twice in the file");
            json_decref(b);
            return err;
        }
        if (retract) {
            json_decref(b);
            b = NULL;
        }
        if ((err = add_record(rs, K_ASSESSMENT, key, b, str(x, "reason"))) < 0)
            return err;
    }
    return HT_OK;
}

static where where_of(const char *sid, const record *r)
{
    where w = {sid, NULL, NULL};
    if (r->kind == K_TIMEPOINT)
        w.timepoint = r->key;
    else if (r->kind == K_LESION)
        w.lesion = r->key;
    return w;
}

/* Overlay the file's records on the current ones, checking what may change. */
static int
overlay(const char *sid, const state *current, state *merged, records *rs, const char *top_reason)
{
    for (int k = 0; k < NKINDS; k++) {
        json_decref(merged->kinds[k]);
        merged->kinds[k] = json_deep_copy(current->kinds[k]);
    }
    for (size_t i = 0; i < rs->n; i++) {
        record *r = &rs->items[i];
        json_t *old = body_of(current, r->kind, r->key);
        where w = where_of(sid, r);
        char lesion[300], tp[300];
        if (r->kind == K_ASSESSMENT) {
            const char *tab = strchr(r->key, '\t');
            snprintf(lesion, sizeof(lesion), "%.*s", (int)(tab - r->key), r->key);
            snprintf(tp, sizeof(tp), "%s", tab + 1);
            w.lesion = lesion;
            w.timepoint = tp;
        }
        if (!r->body) { /* a retraction */
            if (!old)
                return fail(&w, "retract names an assessment that is not recorded");
            if (!r->reason && !top_reason)
                return fail(&w, "retracting an assessment needs a reason");
        } else if (r->kind == K_LESION && old) {
            if (strcmp(str(old, "role"), str(r->body, "role")) != 0)
                return fail(&w, "a lesion's role never changes (recorded %s, the file says %s)",
                            str(old, "role"), str(r->body, "role"));
            json_object_set(r->body, "tracking_uid", json_object_get(old, "tracking_uid"));
        } else if (r->kind == K_LESION) {
            char uid[64];
            int err = tracking_uid(uid, sizeof(uid));
            if (err < 0)
                return err;
            json_object_set_new(r->body, "tracking_uid", json_string(uid));
        }
        if (r->body && !old && json_object_get(current->kinds[r->kind], r->key) && !r->reason &&
            !top_reason)
            return fail(&w, "this %s was retracted: restoring it needs a reason",
                        kind_names[r->kind]);
        if (r->body && old && !json_equal(old, r->body) && !r->reason && !top_reason)
            return fail(&w,
                        "this %s differs from the recorded one: a correction needs a reason "
                        "(on the record or at the top of the file)",
                        kind_names[r->kind]);
        json_t *entry = json_object();
        json_object_set_new(entry, "body", r->body ? json_incref(r->body) : json_null());
        json_object_set_new(merged->kinds[r->kind], r->key, entry);
    }
    return HT_OK;
}

/* Append one version of a record and its audit entry. */
static int append_version(ht_store *store,
                          int64_t subject,
                          const char *sid,
                          int kind,
                          const char *key,
                          int version,
                          const char *body,
                          const char *reader,
                          const char *reason,
                          const char *now,
                          const char *action,
                          const char *source)
{
    ht_ledger_row row = {0,     kind_names[kind], key,    version, body ? body : "",
                         !body, reader,           reason, now,     0};
    int err = ht_store_ledger_append(store, subject, &row);
    if (err < 0)
        return err;
    char *detail =
        ht_strprintf("%s %s v%d%s%s%s%s%s", kind_names[kind], key, version, reason[0] ? ": " : "",
                     reason, source ? " (from " : "", source ? source : "", source ? ")" : "");
    err = detail ? ht_store_audit_add(store, now, reader, action, sid, detail) : HT_ENOMEM;
    free(detail);
    return err;
}

static int version_after(const state *st, int kind, const char *key)
{
    json_t *e = json_object_get(st->kinds[kind], key);
    return e ? (int)num(e, "version", 0) + 1 : 1;
}

/* The time point a record belongs to ("" for none). */
static void timepoint_of(const record *r, char *out, size_t size)
{
    const char *tab = r->kind == K_ASSESSMENT ? strchr(r->key, '\t') : NULL;
    snprintf(out, size, "%s", r->kind == K_TIMEPOINT ? r->key : tab ? tab + 1 : "");
}

/* The body of a read record: {"at", "by", "status"} as canonical JSON (malloc'ed). */
static char *read_body(const char *status, const char *reader, const char *now)
{
    json_t *b = json_object();
    json_object_set_new(b, "status", json_string(status));
    json_object_set_new(b, "by", json_string(reader));
    json_object_set_new(b, "at", json_string(now));
    char *text = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(b);
    return text;
}

/* A change to a signed read returns it to draft until it is signed again. */
static int unsign(ht_store *store,
                  int64_t subject,
                  const char *sid,
                  const state *current,
                  const char *label,
                  const char *reader,
                  const char *reason,
                  const char *now,
                  const char *source,
                  ht_strset *done)
{
    json_t *read = body_of(current, K_READ, label);
    if (!read || !str(read, "status") || strcmp(str(read, "status"), "signed") != 0 ||
        ht_strset_add(done, label) != 1)
        return HT_OK;
    char *text = read_body("draft", reader, now);
    if (!text)
        return HT_ENOMEM;
    int err =
        append_version(store, subject, sid, K_READ, label, version_after(current, K_READ, label),
                       text, reader, reason, now, "unsign", source);
    free(text);
    return err;
}

static int write_records(ht_store *store,
                         int64_t subject,
                         const char *sid,
                         const state *current,
                         const records *rs,
                         const char *reader,
                         const char *top_reason,
                         const char *source,
                         ht_ledger_import_summary *sum)
{
    char now[32], tp[300];
    ht_strset *unsigned_reads = ht_strset_new();
    int err = unsigned_reads ? HT_OK : HT_ENOMEM;

    ht_time_now_iso(now, sizeof(now));
    for (size_t i = 0; i < rs->n && err == HT_OK; i++) {
        const record *r = &rs->items[i];
        json_t *e = json_object_get(current->kinds[r->kind], r->key);
        json_t *old = body_of(current, r->kind, r->key);
        const char *action;
        if (r->body && old && json_equal(old, r->body)) {
            sum->unchanged++;
            continue;
        }
        if (!r->body) {
            action = "retract";
            sum->retractions++;
        } else if (e) {
            action = "correct";
            sum->corrections++;
        } else {
            action = "create";
            sum->new_records++;
        }
        char *body = r->body ? json_dumps(r->body, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        const char *reason = r->reason ? r->reason : (top_reason ? top_reason : "");
        if (r->body && !body) {
            err = HT_ENOMEM;
            break;
        }
        err = append_version(store, subject, sid, r->kind, r->key,
                             version_after(current, r->kind, r->key), body, reader, reason, now,
                             action, source);
        free(body);
        timepoint_of(r, tp, sizeof(tp));
        if (err == HT_OK && tp[0])
            err = unsign(store, subject, sid, current, tp, reader, reason, now, source,
                         unsigned_reads);
    }
    ht_strset_free(unsigned_reads);
    return err;
}

static int import_subject(
    ht_store *store, json_t *in, const char *source, ht_strset *seen, ht_ledger_import_summary *sum)
{
    records rs = {0};
    state current, merged;
    const char *sid = NULL, *reader = NULL, *reason = NULL;
    int64_t subject = 0;
    int created = 0, err;
    char now[32];

    state_init(&current);
    state_init(&merged);
    if ((err = parse_subject(in, &rs, &sid, &reader, &reason, sum)) < 0)
        goto done;
    if (ht_strset_add(seen, sid) == 0) {
        where w = {sid, NULL, NULL};
        err = fail(&w, "the subject appears twice in the file");
        goto done;
    }
    err = ht_store_subject_find(store, sid, &subject);
    if (err == HT_OK)
        err = ht_store_ledger_current(store, subject, load_current, &current);
    else if (err == HT_ENOTFOUND)
        err = HT_OK;
    if (err < 0 || (err = overlay(sid, &current, &merged, &rs, reason)) < 0 ||
        (err = validate_subject(sid, &merged)) < 0)
        goto done;
    ht_time_now_iso(now, sizeof(now));
    if ((err = ht_store_subject_ensure(store, sid, now, &subject, &created)) < 0 ||
        (err = write_records(store, subject, sid, &current, &rs, reader, reason, source, sum)) < 0)
        goto done;
    sum->subjects++;
done:
    records_free(&rs);
    state_free(&current);
    state_free(&merged);
    return err;
}

int ht_ledger_import(ht_store *store,
                     const char *json_text,
                     size_t len,
                     const char *source,
                     ht_ledger_import_summary *summary)
{
    json_error_t jerr;
    json_t *doc;
    ht_strset *seen;
    int err;

    memset(summary, 0, sizeof(*summary));
    doc = json_loadb(json_text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc)
        return ht_error_set(HT_EPARSE, "%s: not valid JSON at line %d, column %d: %s", source,
                            jerr.line, jerr.column, jerr.text);
    if (!json_is_object(doc) && !json_is_array(doc)) {
        json_decref(doc);
        return ht_error_set(HT_EINVALID, "%s: expected a subject object or an array of subjects",
                            source);
    }
    seen = ht_strset_new();
    if (!seen || (err = ht_store_begin(store)) < 0) {
        json_decref(doc);
        ht_strset_free(seen);
        return seen ? err : HT_ENOMEM;
    }
    if (json_is_object(doc)) {
        err = import_subject(store, doc, source, seen, summary);
    } else {
        size_t i;
        json_t *x;
        err = HT_OK;
        json_array_foreach(doc, i, x)
        {
            if ((err = import_subject(store, x, source, seen, summary)) < 0)
                break;
        }
    }
    if (err == HT_OK)
        err = ht_store_commit(store);
    if (err < 0)
        ht_store_rollback(store);
    ht_strset_free(seen);
    json_decref(doc);
    return err;
}

/* ---- loading subjects for the engine ------------------------------------------------------ */

/* Strings copied out of the database rows, freed with the subject. */
typedef struct arena {
    char **items;
    size_t n, cap;
} arena;

struct ht_ledger_subject {
    char *id;
    ht_rs_subject rs;
    ht_rs_timepoint *tps;
    ht_rs_lesion *lesions;
    ht_rs_assessment *assessments;
    int ntp, nl, na, cap_tp, cap_l, cap_a;
    int32_t *fragments;
    int nfrag, cap_frag;
    char (*dates)[11]; /* per time point, capacity cap_dates */
    int cap_dates;
    const char **read_status;
    /* assessments name their lesion, time point and merge target by label until resolved */
    struct assessment_names {
        const char *lesion, *tp, *into;
        int frag_start;
    } * names;
    int cap_names;
    struct read_record {
        const char *label, *status;
    } * reads;
    int nreads, cap_reads;
    ht_ledger_dates subject_dates;
    arena strings;
};

static const char *keep(ht_ledger_subject *ls, const char *s)
{
    arena *a = &ls->strings;
    if (!s)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **p = realloc(a->items, cap * sizeof(char *));
        if (!p)
            return NULL;
        a->items = p;
        a->cap = cap;
    }
    char *copy = strdup(s);
    if (copy)
        a->items[a->n++] = copy;
    return copy;
}

static int grow(void **p, int *cap, int n, size_t size, int extra)
{
    if (n + extra <= *cap)
        return 0;
    int c = *cap ? *cap : 16;
    while (c < n + extra)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
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
    int k = kind_of(f->kind);
    if (k == K_TIMEPOINT) {
        if (grow((void **)&ls->tps, &ls->cap_tp, ls->ntp, sizeof(*ls->tps), 1) ||
            grow((void **)&ls->dates, &ls->cap_dates, ls->ntp, sizeof(*ls->dates), 1))
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
        char *date = ls->dates[ls->ntp];
        snprintf(date, 11, "%s", f->text[HT_LF_DATE] ? f->text[HT_LF_DATE] : "");
        const char *uids = f->text[HT_LF_STUDY_UIDS];
        if (uids && strcmp(uids, "[]") != 0) {
            json_t *list = json_loads(uids, 0, NULL);
            size_t i;
            json_t *uid;
            int found = 0;
            json_array_foreach(list, i, uid)
            {
                char d[11];
                int32_t day;
                if (ht_store_study_date(store, json_string_value(uid), d) == HT_OK &&
                    ht_date_parse(d, &day) == HT_OK && (!found || strcmp(d, date) < 0)) {
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
        if (grow((void **)&ls->lesions, &ls->cap_l, ls->nl, sizeof(*ls->lesions), 1))
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
        if (grow((void **)&ls->assessments, &ls->cap_a, ls->na, sizeof(*ls->assessments), 1) ||
            grow((void **)&ls->names, &ls->cap_names, ls->na, sizeof(*ls->names), 1))
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
            if (grow((void **)&ls->fragments, &ls->cap_frag, ls->nfrag, sizeof(int32_t), 1))
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
        if (grow((void **)&ls->reads, &ls->cap_reads, ls->nreads, sizeof(*ls->reads), 1))
            return HT_ENOMEM;
        ls->reads[ls->nreads].label = keep(ls, f->key);
        ls->reads[ls->nreads].status = keep(ls, f->text[HT_LF_STATUS]);
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
    ls->read_status = calloc((size_t)ls->ntp + 1, sizeof(char *));
    if (!ls->read_status)
        return HT_ENOMEM;
    for (int i = 0; i < ls->ntp; i++) {
        ls->read_status[i] = "draft";
        for (int r = 0; r < ls->nreads; r++)
            if (ls->reads[r].label && !strcmp(ls->reads[r].label, ls->tps[i].label) &&
                ls->reads[r].status)
                ls->read_status[i] = ls->reads[r].status;
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
        free(ls->strings.items[i]);
    free(ls->strings.items);
    free(ls->id);
    free(ls->tps);
    free(ls->lesions);
    free(ls->assessments);
    free(ls->fragments);
    free(ls->dates);
    free(ls->read_status);
    free(ls->names);
    free(ls->reads);
    free(ls);
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
    return ls->dates[index];
}

const char *ht_ledger_read_status(const ht_ledger_subject *ls, int index)
{
    return ls->read_status[index];
}

ht_ledger_dates ht_ledger_subject_dates(const ht_ledger_subject *ls)
{
    return ls->subject_dates;
}

/* ---- signing a read ------------------------------------------------------------------------ */

int ht_ledger_sign(ht_store *store, const char *subject_id, const char *label, const char *reader)
{
    state current;
    int64_t subject;
    char now[32];
    int err;
    where w = {subject_id, NULL, label};

    if (!reader || !*reader)
        return fail(&w, "signing needs the reader's name");
    if ((err = ht_store_subject_find(store, subject_id, &subject)) < 0)
        return err;
    state_init(&current);
    if ((err = ht_store_ledger_current(store, subject, load_current, &current)) < 0)
        goto done;
    json_t *tp = body_of(&current, K_TIMEPOINT, label);
    if (!tp) {
        err = fail(&w, "the subject has no such time point");
        goto done;
    }
    /* Every target and non-target has its record at this time point. */
    const char *key;
    json_t *e;
    char missing[400] = "";
    json_object_foreach(current.kinds[K_LESION], key, e)
    {
        json_t *l = body_of(&current, K_LESION, key);
        char k[300];
        if (!l || !strcmp(str(l, "role"), "new") || !flag(tp, "imaging_performed"))
            continue;
        snprintf(k, sizeof(k), "%s\t%s", key, label);
        if (!body_of(&current, K_ASSESSMENT, k)) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", key);
        }
    }
    if (missing[0]) {
        err = fail(&w, "cannot sign: no record yet for %s", missing);
        goto done;
    }
    json_t *read = body_of(&current, K_READ, label);
    if (read && str(read, "status") && !strcmp(str(read, "status"), "signed")) {
        err =
            fail(&w, "the read is already signed (by %s)", str(read, "by") ? str(read, "by") : "?");
        goto done;
    }
    ht_time_now_iso(now, sizeof(now));
    char *text = read_body("signed", reader, now);
    if (!text) {
        err = HT_ENOMEM;
        goto done;
    }
    if ((err = ht_store_begin(store)) == HT_OK &&
        (err = append_version(store, subject, subject_id, K_READ, label,
                              version_after(&current, K_READ, label), text, reader, "", now, "sign",
                              NULL)) == HT_OK)
        err = ht_store_commit(store);
    if (err < 0)
        ht_store_rollback(store);
    free(text);
done:
    state_free(&current);
    return err;
}

/* ---- trial parameters (spec 13.1) ---------------------------------------------------------- */

static const struct {
    const char *key;
    int numeric; /* 1 a day count, 2 a boolean, 0 text */
} param_keys[] = {{"study_id", 0},
                  {"reader_role", 0},
                  {"confirmation_required", 2},
                  {"confirmation_min_days", 1},
                  {"sd_min_days", 1},
                  {"assessment_interval_days", 1}};

static int int_param(ht_store *store, const char *key, int fallback, int *out)
{
    char v[64];
    int err = ht_store_param_get(store, key, v, sizeof(v));
    if (err == HT_ENOTFOUND) {
        *out = fallback;
        return HT_OK;
    }
    if (err < 0)
        return err;
    *out = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : atoi(v);
    return HT_OK;
}

int ht_ledger_params(ht_store *store, ht_rs_params *p, int32_t *interval)
{
    static const ht_rs_params defaults = HT_RS_PARAMS_INIT;
    int err, iv;
    *p = defaults;
    if ((err = int_param(store, "confirmation_required", 1, &p->confirmation_required)) < 0 ||
        (err = int_param(store, "confirmation_min_days", 28, &p->confirmation_min_days)) < 0 ||
        (err = int_param(store, "sd_min_days", 42, &p->sd_min_days)) < 0 ||
        (err = int_param(store, "assessment_interval_days", -1, &iv)) < 0)
        return err;
    if (interval)
        *interval = iv > 0 ? iv : HT_NO_VALUE;
    return HT_OK;
}

int ht_ledger_param_set(ht_store *store, const char *key, const char *value, const char *user)
{
    char now[32], *detail;
    int err;
    for (size_t i = 0; i < sizeof(param_keys) / sizeof(param_keys[0]); i++) {
        if (strcmp(param_keys[i].key, key) != 0)
            continue;
        if (param_keys[i].numeric == 2 && strcmp(value, "true") && strcmp(value, "false"))
            return ht_error_set(HT_EINVALID, "%s must be true or false (got '%s')", key, value);
        if (param_keys[i].numeric == 1) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 0 || v > 3650)
                return ht_error_set(
                    HT_EINVALID, "%s must be a number of days, 0 to 3650 (got '%s')", key, value);
        }
        if (param_keys[i].numeric == 0 && (!*value || strlen(value) > 64))
            return ht_error_set(HT_EINVALID, "%s must be 1 to 64 characters", key);
        ht_time_now_iso(now, sizeof(now));
        detail = ht_strprintf("%s = %s", key, value);
        if ((err = ht_store_begin(store)) == HT_OK &&
            (err = ht_store_param_set(store, key, value)) == HT_OK &&
            (err = ht_store_audit_add(store, now, user, "trial set", "", detail ? detail : key)) ==
                HT_OK)
            err = ht_store_commit(store);
        if (err < 0)
            ht_store_rollback(store);
        free(detail);
        return err;
    }
    return ht_error_set(HT_EINVALID,
                        "unknown trial parameter '%s' (study_id, reader_role, "
                        "confirmation_required, confirmation_min_days, sd_min_days, "
                        "assessment_interval_days)",
                        key);
}
