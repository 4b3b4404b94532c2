/*
 * QIDO-RS (PS3.18 10.6): a request's parameters as an index query, and the index's rows as
 * DICOM JSON. The attributes come from DCMTK's data dictionary (through the dicom module), so
 * a key may be named by keyword or by tag.
 */
#define _GNU_SOURCE
#include "hepatrack/dicomweb.h"

#include "hepatrack/dicom.h"
#include "hepatrack/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ht_qido_init(ht_qido *q, ht_find_level level)
{
    memset(q, 0, sizeof(*q));
    q->query.level = level;
    q->query.keys = q->keys;
    q->query.names_ignore_case = 1;
    q->query.limit = HT_QIDO_DEFAULT_LIMIT;
}

/* One more reason for the Warning header, after those before. */
static void warn(ht_qido *q, const char *what)
{
    size_t n = strlen(q->warning);
    snprintf(q->warning + n, sizeof(q->warning) - n, "%s%s", n ? "; " : "", what);
}

static int number_param(const char *name, const char *value, long min, long max, size_t *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || v < min || v > max)
        return ht_error_set(HT_EINVALID, "%s must be a whole number from %ld to %ld (got '%s')",
                            name, min, max, value);
    *out = (size_t)v;
    return HT_OK;
}

/* A keyword or tag (a tag the dictionary lacks is still one); HT_EINVALID otherwise. */
static int lookup(const char *name, const char *what, ht_dicom_attribute *attr)
{
    int found = ht_dicom_attribute_lookup(name, attr);
    if (found == HT_ENOMEM)
        return found;
    if (found < 0 && !attr->keyword[0])
        return ht_error_set(HT_EINVALID, "%s: '%s' is not a DICOM keyword or tag", what, name);
    ht_error_clear();
    return HT_OK;
}

/* includefield: each name must be an attribute, or "all". */
static int include_fields(const char *value)
{
    char *copy = ht_strdup(value), *save = NULL;
    int err = copy ? HT_OK : ht_error_set(HT_ENOMEM, "out of memory");
    for (char *f = copy ? strtok_r(copy, ",", &save) : NULL; f && err == HT_OK;
         f = strtok_r(NULL, ",", &save)) {
        ht_dicom_attribute attr;
        if (strcmp(f, "all"))
            err = lookup(f, "includefield", &attr);
    }
    free(copy);
    return err;
}

static int matching_key(ht_qido *q, const char *name, const char *value)
{
    ht_dicom_attribute attr;
    if (strchr(name, '.'))
        return ht_error_set(
            HT_EINVALID, "%s: matching inside sequences is not supported (PS3.18 8.3.4.1)", name);
    int err = lookup(name, "matching key", &attr);
    if (err < 0)
        return err;
    if (!ht_store_find_matchable(q->query.level, attr.keyword)) {
        char what[200];
        snprintf(what, sizeof(what), "%s (%04X%04X) is not matched at this level: ignored",
                 attr.keyword, attr.group, attr.element);
        warn(q, what);
        return HT_OK;
    }
    if (q->query.nkeys == HT_QIDO_MAX_KEYS)
        return ht_error_set(HT_EINVALID, "more than %d matching keys", HT_QIDO_MAX_KEYS);
    size_t k = q->query.nkeys++;
    snprintf(q->keywords[k], sizeof(q->keywords[k]), "%s", attr.keyword);
    q->keys[k].keyword = q->keywords[k];
    q->keys[k].value = value;
    return HT_OK;
}

int ht_qido_param(ht_qido *q, const char *name, const char *value)
{
    if (!value)
        value = "";
    if (!strcmp(name, "limit")) {
        q->limit_given = 1;
        return number_param(name, value, 1, HT_QIDO_MAX_LIMIT, &q->query.limit);
    }
    if (!strcmp(name, "offset"))
        return number_param(name, value, 0, 1L << 30, &q->query.offset);
    if (!strcmp(name, "fuzzymatching")) {
        if (strcasecmp(value, "true") && strcasecmp(value, "false"))
            return ht_error_set(HT_EINVALID, "fuzzymatching is true or false (got '%s')", value);
        if (!strcasecmp(value, "true"))
            warn(q, "fuzzymatching is not supported: ignored");
        return HT_OK;
    }
    if (!strcmp(name, "includefield"))
        return include_fields(value);
    return matching_key(q, name, value);
}

/* ---- rows as DICOM JSON ---------------------------------------------------------------------- */

typedef struct member {
    uint32_t tag;
    char key[9];
    json_t *value;
} member;

static int by_tag(const void *a, const void *b)
{
    uint32_t x = ((const member *)a)->tag, y = ((const member *)b)->tag;
    return x < y ? -1 : x > y;
}

static int is_number_vr(const char *vr)
{
    static const char *const numbers[] = {"IS", "DS", "US", "UL", "SS",
                                          "SL", "FL", "FD", "SV", "UV"};
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (!strcmp(vr, numbers[i]))
            return 1;
    return 0;
}

/* One value as its VR has it in DICOM JSON. */
static json_t *value_json(const char *vr, const char *text, size_t len)
{
    char *one = strndup(text, len);
    json_t *v = NULL;
    if (!one)
        return NULL;
    if (!strcmp(vr, "PN")) {
        v = json_pack("{s:s}", "Alphabetic", one);
    } else if (is_number_vr(vr)) {
        char *end;
        double d = strtod(one, &end);
        if (end != one && !*end)
            v = (!strcmp(vr, "DS") || !strcmp(vr, "FL") || !strcmp(vr, "FD")) && d != (long long)d
                    ? json_real(d)
                    : json_integer((json_int_t)d);
    }
    if (!v)
        v = json_string(one);
    free(one);
    return v;
}

/* {"vr": VR, "Value": [...]}, multiple values split at backslashes. */
static json_t *attribute_json(const ht_dicom_attribute *attr, const char *text)
{
    json_t *values = json_array();
    for (const char *p = text; values;) {
        size_t n = strcspn(p, "\\");
        json_array_append_new(values, value_json(attr->vr, p, n));
        if (!p[n])
            break;
        p += n + 1;
    }
    return values ? json_pack("{s:s,s:o}", "vr", attr->vr, "Value", values) : NULL;
}

json_t *ht_dicomweb_row_json(const ht_row *row)
{
    member members[64];
    size_t n = 0;
    json_t *out = json_object();
    for (int i = 0; i < row->ncols && n < 64 && out; i++) {
        ht_dicom_attribute attr;
        if (!row->values[i] || ht_dicom_attribute_lookup(row->names[i], &attr) != HT_OK)
            continue;
        member *m = &members[n++];
        m->tag = (uint32_t)attr.group << 16 | attr.element;
        snprintf(m->key, sizeof(m->key), "%08X", m->tag);
        m->value = attribute_json(&attr, row->values[i]);
    }
    ht_error_clear();
    qsort(members, n, sizeof(members[0]), by_tag);
    for (size_t k = 0; k < n; k++)
        if (out && json_object_set_new(out, members[k].key, members[k].value) < 0) {
            json_decref(out);
            out = NULL;
        }
    return out;
}
