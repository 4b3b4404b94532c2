/*
 * Queries by DICOM attributes, for QIDO-RS and C-FIND: matching keys become one SQL statement
 * over the index (PS3.4 C.2.2.2: universal, single value, wildcard, range and UID list
 * matching), and each row comes back with the level's return attributes as DICOM keywords.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include "hepatrack/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum match {
    MATCH_NONE = 0, /* returned, never matched (counts) */
    MATCH_TEXT,
    MATCH_NAME, /* a person name: case-insensitive when the query asks */
    MATCH_DATE,
    MATCH_TIME,
    MATCH_UID,
    MATCH_NUMBER,
    MATCH_MODALITIES /* any series of the study */
} match;

typedef struct attribute {
    const char *keyword;
    ht_find_level level;
    const char *sql; /* over p (patients), s (studies), se (series), i (instances) */
    match how;
    int computed; /* a count or a summary: returned only at its own level */
    int number;   /* an integer, never '' */
} attribute;

#define COUNT_SQL(what) "(SELECT count(*) FROM " what ")"

static const attribute ATTRIBUTES[] = {
    {"PatientID", HT_FIND_PATIENT, "p.patient_id", MATCH_TEXT, 0, 0},
    {"IssuerOfPatientID", HT_FIND_PATIENT, "p.issuer", MATCH_TEXT, 0, 0},
    {"PatientName", HT_FIND_PATIENT, "p.name", MATCH_NAME, 0, 0},
    {"PatientBirthDate", HT_FIND_PATIENT, "p.birth_date", MATCH_DATE, 0, 0},
    {"PatientSex", HT_FIND_PATIENT, "p.sex", MATCH_TEXT, 0, 0},
    {"NumberOfPatientRelatedStudies", HT_FIND_PATIENT,
     COUNT_SQL("studies x WHERE x.patient = p.id"), MATCH_NONE, 1, 1},
    {"NumberOfPatientRelatedSeries", HT_FIND_PATIENT,
     COUNT_SQL("series x JOIN studies y ON x.study = y.id WHERE y.patient = p.id"), MATCH_NONE, 1,
     1},
    {"NumberOfPatientRelatedInstances", HT_FIND_PATIENT,
     COUNT_SQL("instances x JOIN series y ON x.series = y.id JOIN studies z ON y.study = z.id"
               " WHERE z.patient = p.id"),
     MATCH_NONE, 1, 1},
    {"StudyInstanceUID", HT_FIND_STUDY, "s.study_uid", MATCH_UID, 0, 0},
    {"StudyDate", HT_FIND_STUDY, "s.study_date", MATCH_DATE, 0, 0},
    {"StudyTime", HT_FIND_STUDY, "s.study_time", MATCH_TIME, 0, 0},
    {"AccessionNumber", HT_FIND_STUDY, "s.accession", MATCH_TEXT, 0, 0},
    {"StudyDescription", HT_FIND_STUDY, "s.description", MATCH_TEXT, 0, 0},
    {"ModalitiesInStudy", HT_FIND_STUDY,
     "(SELECT string_agg(m, '\\') FROM (SELECT DISTINCT x.modality AS m FROM series x"
     " WHERE x.study = s.id AND x.modality != '' ORDER BY 1) AS d)",
     MATCH_MODALITIES, 1, 0},
    {"NumberOfStudyRelatedSeries", HT_FIND_STUDY, COUNT_SQL("series x WHERE x.study = s.id"),
     MATCH_NONE, 1, 1},
    {"NumberOfStudyRelatedInstances", HT_FIND_STUDY,
     COUNT_SQL("instances x JOIN series y ON x.series = y.id WHERE y.study = s.id"), MATCH_NONE, 1,
     1},
    {"SeriesInstanceUID", HT_FIND_SERIES, "se.series_uid", MATCH_UID, 0, 0},
    {"Modality", HT_FIND_SERIES, "se.modality", MATCH_TEXT, 0, 0},
    {"SeriesNumber", HT_FIND_SERIES, "se.series_number", MATCH_NUMBER, 0, 1},
    {"SeriesDescription", HT_FIND_SERIES, "se.description", MATCH_TEXT, 0, 0},
    {"BodyPartExamined", HT_FIND_SERIES, "se.body_part", MATCH_TEXT, 0, 0},
    {"NumberOfSeriesRelatedInstances", HT_FIND_SERIES,
     COUNT_SQL("instances x WHERE x.series = se.id"), MATCH_NONE, 1, 1},
    {"SOPInstanceUID", HT_FIND_INSTANCE, "i.sop_uid", MATCH_UID, 0, 0},
    {"SOPClassUID", HT_FIND_INSTANCE, "i.sop_class", MATCH_UID, 0, 0},
    {"InstanceNumber", HT_FIND_INSTANCE, "i.instance_number", MATCH_NUMBER, 0, 1},
    {"Rows", HT_FIND_INSTANCE, "i.rows", MATCH_NUMBER, 0, 1},
    {"Columns", HT_FIND_INSTANCE, "i.columns", MATCH_NUMBER, 0, 1},
    {"NumberOfFrames", HT_FIND_INSTANCE, "i.frames", MATCH_NUMBER, 0, 1},
    {"AvailableTransferSyntaxUID", HT_FIND_INSTANCE, "i.transfer_syntax", MATCH_NONE, 0, 0},
};

#define NATTRIBUTES (sizeof(ATTRIBUTES) / sizeof(ATTRIBUTES[0]))

static const char *const FROM[] = {
    [HT_FIND_PATIENT] = " FROM patients p",
    [HT_FIND_STUDY] = " FROM studies s JOIN patients p ON s.patient = p.id",
    [HT_FIND_SERIES] = " FROM series se JOIN studies s ON se.study = s.id"
                       " JOIN patients p ON s.patient = p.id",
    [HT_FIND_INSTANCE] = " FROM instances i JOIN series se ON i.series = se.id"
                         " JOIN studies s ON se.study = s.id JOIN patients p ON s.patient = p.id",
};

static const char *const ORDER[] = {
    [HT_FIND_PATIENT] = " ORDER BY p.patient_id, p.issuer",
    [HT_FIND_STUDY] = " ORDER BY s.study_date, s.study_time, s.study_uid",
    /* numbers may be NULL: first, as SQLite orders them (PostgreSQL would put them last) */
    [HT_FIND_SERIES] = (" ORDER BY s.study_date, s.study_uid, se.series_number NULLS FIRST,"
                        " se.series_uid"),
    [HT_FIND_INSTANCE] = " ORDER BY se.series_uid, i.instance_number NULLS FIRST, i.sop_uid",
};

static const char *const LEVEL_NAMES[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};

static const attribute *attribute_named(const char *keyword)
{
    for (size_t k = 0; k < NATTRIBUTES; k++)
        if (!strcmp(ATTRIBUTES[k].keyword, keyword))
            return &ATTRIBUTES[k];
    return NULL;
}

int ht_store_find_matchable(ht_find_level level, const char *keyword)
{
    const attribute *a = attribute_named(keyword);
    return a && a->how != MATCH_NONE && a->level <= level;
}

/* ---- the statement --------------------------------------------------------------------------- */

#define MAX_PARAMS 2000 /* a C-MOVE may name hundreds of instances */

typedef struct statement {
    char *sql;
    size_t len, cap;
    char *params[MAX_PARAMS]; /* text, owned; bound as ?1, ?2... */
    int nparams;
    int failed;     /* out of memory or of parameters */
    int too_many;   /* of parameters */
    int postgresql; /* for PostgreSQL: LIKE for GLOB, LIMIT ALL for LIMIT -1 */
} statement;

static void append(statement *st, const char *fmt, ...) HT_PRINTF_(2, 3);
static void append(statement *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (st->failed || n < 0 || HT_GROW(st->sql, st->cap, st->len + (size_t)n + 1) < 0) {
        st->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(st->sql + st->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    st->len += (size_t)n;
}

/* A parameter, taken (NULL means out of memory); its number for the SQL. */
static int param(statement *st, char *value)
{
    if (!value || st->nparams == MAX_PARAMS) {
        st->too_many |= value != NULL;
        free(value);
        st->failed = 1;
        return 0;
    }
    st->params[st->nparams++] = value;
    return st->nparams;
}

static void statement_free(statement *st)
{
    free(st->sql);
    for (int i = 0; i < st->nparams; i++)
        free(st->params[i]);
}

/* ---- matching ------------------------------------------------------------------------------ */

/* DICOM's * and ? are GLOB's; a literal [ must be written [[] for GLOB. */
static char *glob_pattern(const char *value)
{
    size_t n = strlen(value), brackets = 0;
    for (size_t k = 0; k < n; k++)
        brackets += value[k] == '[';
    char *out = malloc(n + 2 * brackets + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        if (value[k] == '[') {
            memcpy(o, "[[]", 3);
            o += 3;
        } else {
            *o++ = value[k];
        }
    }
    *o = '\0';
    return out;
}

/* DICOM's * and ? are LIKE's % and _ (PostgreSQL, which has no GLOB); a literal %, _ or \ is
 * escaped with a backslash (ESCAPE '\'). */
static char *like_pattern(const char *value)
{
    size_t n = strlen(value), escaped = 0;
    for (size_t k = 0; k < n; k++)
        escaped += strchr("%_\\", value[k]) != NULL;
    char *out = malloc(n + escaped + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        char c = value[k];
        if (c == '*') {
            *o++ = '%';
        } else if (c == '?') {
            *o++ = '_';
        } else {
            if (c == '%' || c == '_' || c == '\\')
                *o++ = '\\';
            *o++ = c;
        }
    }
    *o = '\0';
    return out;
}

/* The wildcard match of the statement's database: the operator, the pattern for a DICOM value
 * and what follows the pattern's parameter. */
static const char *wildcard_op(const statement *st)
{
    return st->postgresql ? "LIKE" : "GLOB";
}

static char *wildcard_pattern(const statement *st, const char *value)
{
    return st->postgresql ? like_pattern(value) : glob_pattern(value);
}

static const char *wildcard_end(const statement *st)
{
    return st->postgresql ? " ESCAPE '\\'" : "";
}

static int has_wildcard(const char *v)
{
    return strpbrk(v, "*?") != NULL;
}

static int all_of(const char *v, size_t n, const char *allowed)
{
    for (size_t k = 0; k < n; k++)
        if (!strchr(allowed, v[k]))
            return 0;
    return 1;
}

static int bad_value(const attribute *a, const char *value, const char *why)
{
    return ht_error_set(HT_EINVALID, "%s: '%s' %s", a->keyword, value, why);
}

/* One bound of a date or time range: YYYYMMDD, or HHMMSS.FFFFFF and its prefixes. */
static int valid_bound(const attribute *a, const char *v, size_t n)
{
    if (a->how == MATCH_DATE)
        return n == 8 && all_of(v, n, "0123456789");
    return n >= 2 && n <= 13 && all_of(v, n, "0123456789.") && v[0] != '.';
}

/* Text, names and the bounds of a range compare as stored; a date or time range is "A-B",
 * "-B" or "A-" (PS3.4 C.2.2.2.5). */
static void match_range(statement *st, const attribute *a, const char *value, const char *dash)
{
    size_t nlo = (size_t)(dash - value);
    const char *hi = dash + 1;
    if (nlo)
        append(st, " AND %s >= ?%d", a->sql, param(st, strndup(value, nlo)));
    if (*hi)
        append(st, " AND %s <= ?%d", a->sql, param(st, strdup(hi)));
}

static int match_uids(statement *st, const attribute *a, const char *value)
{
    if (has_wildcard(value))
        return bad_value(a, value, "is a UID: UIDs match whole, without wildcards");
    append(st, " AND %s IN (", a->sql);
    for (const char *p = value;;) {
        size_t n = strcspn(p, "\\");
        if (n == 0 || n > 64 || !all_of(p, n, "0123456789."))
            return bad_value(a, value, "is not a UID or a list of UIDs separated by backslashes");
        append(st, "%s?%d", p == value ? "" : ", ", param(st, strndup(p, n)));
        if (!p[n])
            break;
        p += n + 1;
    }
    append(st, ")");
    return HT_OK;
}

static int match_number(statement *st, const attribute *a, const char *value)
{
    char *end;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end)
        return bad_value(a, value, "is not an integer");
    append(st, " AND %s = ?%d", a->sql, param(st, ht_strprintf("%lld", v)));
    return HT_OK;
}

/* Any of the listed modalities, each perhaps with wildcards. */
static void match_modalities(statement *st, const char *value)
{
    append(st, " AND EXISTS (SELECT 1 FROM series x WHERE x.study = s.id AND (");
    for (const char *p = value;;) {
        size_t n = strcspn(p, "\\");
        char *one = strndup(p, n);
        append(st, "%sx.modality %s ?%d%s", p == value ? "" : " OR ", wildcard_op(st),
               param(st, one ? wildcard_pattern(st, one) : NULL), wildcard_end(st));
        free(one);
        if (!p[n])
            break;
        p += n + 1;
    }
    append(st, "))");
}

static int match_key(statement *st, const attribute *a, const char *value, int ignore_case)
{
    const char *dash = strchr(value, '-');
    switch (a->how) {
    case MATCH_UID:
        return match_uids(st, a, value);
    case MATCH_NUMBER:
        return match_number(st, a, value);
    case MATCH_MODALITIES:
        match_modalities(st, value);
        return HT_OK;
    case MATCH_DATE:
    case MATCH_TIME:
        if (dash) {
            if (strchr(dash + 1, '-') || (dash == value && !dash[1]) ||
                (dash > value && !valid_bound(a, value, (size_t)(dash - value))) ||
                (dash[1] && !valid_bound(a, dash + 1, strlen(dash + 1))))
                return bad_value(a, value,
                                 a->how == MATCH_DATE
                                     ? "is not a date (YYYYMMDD) or a range of dates"
                                     : "is not a time (HHMMSS) or a range of times");
            match_range(st, a, value, dash);
            return HT_OK;
        }
        if (!has_wildcard(value) && !valid_bound(a, value, strlen(value)))
            return bad_value(a, value,
                             a->how == MATCH_DATE ? "is not a date (YYYYMMDD)"
                                                  : "is not a time (HHMMSS)");
        break;
    default:
        break;
    }
    int fold = a->how == MATCH_NAME && ignore_case, wild = has_wildcard(value);
    int n = param(st, wild ? wildcard_pattern(st, value) : strdup(value));
    const char *op = wild ? wildcard_op(st) : "=", *end = wild ? wildcard_end(st) : "";
    if (fold)
        append(st, " AND lower(%s) %s lower(?%d)%s", a->sql, op, n, end);
    else
        append(st, " AND %s %s ?%d%s", a->sql, op, n, end);
    return HT_OK;
}

/* ---- the query ----------------------------------------------------------------------------- */

static void select_columns(statement *st, ht_find_level level)
{
    int first = 1;
    append(st, "SELECT ");
    for (size_t k = 0; k < NATTRIBUTES; k++) {
        const attribute *a = &ATTRIBUTES[k];
        if (a->level > level || (a->computed && a->level != level))
            continue;
        /* "" is how the index keeps an absent value: a query answers it as absent (a number
         * is NULL when absent); the keyword quoted, for PostgreSQL would fold it */
        if (a->number)
            append(st, "%s%s AS \"%s\"", first ? "" : ", ", a->sql, a->keyword);
        else
            append(st, "%snullif(%s, '') AS \"%s\"", first ? "" : ", ", a->sql, a->keyword);
        first = 0;
    }
    append(st, "%s WHERE 1 = 1", FROM[level]);
}

static int build(statement *st, const ht_find_query *q)
{
    select_columns(st, q->level);
    for (size_t k = 0; k < q->nkeys; k++) {
        const ht_find_key *key = &q->keys[k];
        const attribute *a = attribute_named(key->keyword);
        if (!ht_store_find_matchable(q->level, key->keyword))
            return ht_error_set(HT_EINVALID,
                                a ? "%s is not matched in a query at the %s level"
                                  : "%s is not an attribute hepatrack can match (%s level)",
                                key->keyword, LEVEL_NAMES[q->level]);
        if (!key->value || !*key->value || !strcmp(key->value, "*"))
            continue; /* universal matching */
        int err = match_key(st, a, key->value, q->names_ignore_case);
        if (err < 0)
            return err;
    }
    if (q->limit)
        append(st, "%s LIMIT %lld", ORDER[q->level], (long long)q->limit);
    else /* none: PostgreSQL takes no negative limit, SQLite needs one before an offset */
        append(st, "%s LIMIT %s", ORDER[q->level], st->postgresql ? "ALL" : "-1");
    append(st, " OFFSET %lld", (long long)q->offset);
    if (st->too_many)
        return ht_error_set(HT_EINVALID, "a query may hold at most %d values", MAX_PARAMS);
    return st->failed ? ht_error_set(HT_ENOMEM, "out of memory building a query") : HT_OK;
}

int ht_store_find(ht_store *s, const ht_find_query *q, ht_row_cb cb, void *payload)
{
    statement st = {0};
    ht_db_stmt *prepared;
    int err;

    if ((unsigned)q->level > HT_FIND_INSTANCE)
        return ht_error_set(HT_EINVALID, "unknown query level %d", (int)q->level);
    st.postgresql = ht_db_backend_of(s->db) == HT_DB_POSTGRESQL;
    if ((err = build(&st, q)) < 0) {
        statement_free(&st);
        return err;
    }
    if ((err = ht_store__query(s, st.sql, "querying the index", &prepared)) < 0) {
        statement_free(&st);
        return err;
    }
    for (int i = 0; i < st.nparams; i++)
        ht_db_bind_text(prepared, i + 1, st.params[i]);
    err = ht_store__rows(s, prepared, cb, payload, NULL);
    statement_free(&st);
    return err;
}
