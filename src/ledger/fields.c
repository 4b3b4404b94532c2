/*
 * Reading the fields of the import format: strings, labels, reasons, dates, booleans and
 * lengths in integer tenths (spec 0.4), each refused with a message naming it.
 */
#define _GNU_SOURCE
#include "ledger_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ht_ledger__note(ht_ledger_import_summary *s, const char *fmt, ...)
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
int ht_ledger__to_tenths(const json_t *v, int64_t *out, int *rounded)
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

int ht_ledger__only_keys(const where *w,
                         const json_t *obj,
                         const char *what,
                         const char *const *keys)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        int known = 0;
        for (const char *const *k = keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            return ht_ledger__fail(w, "%s has an unknown field '%s'", what, key);
    }
    return HT_OK;
}

int ht_ledger__get_string(
    const where *w, const json_t *obj, const char *key, int required, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return ht_ledger__fail(w, "%s is required", key);
        return HT_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return ht_ledger__fail(w, "%s must be a non-empty string", key);
    if (json_string_length(v) > 128)
        return ht_ledger__fail(w, "%s must be at most 128 characters", key);
    for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return ht_ledger__fail(w, "%s must be one line without control characters", key);
    *out = json_string_value(v);
    return HT_OK;
}

/* ---- labels and reasons -------------------------------------------------------------------- */

/*
 * Labels (subject ids, lesion ids, time point labels) are 1 to 64 of A-Z a-z 0-9 . _ -,
 * starting with a letter or digit: "T1 ", "Т1" (Cyrillic) and "T1" with a zero-width space
 * would otherwise be other lesions that look the same. NULL for a good label, else what is
 * wrong (in why).
 */
static const char *label_problem(const char *s, char *why, size_t size)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) {
        snprintf(why, size, "must be 1 to 64 characters (got %zu)", n);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = c < 0x80 && (isalnum(c) || (i > 0 && (c == '.' || c == '_' || c == '-')));
        if (!ok) {
            snprintf(why, size,
                     "may hold only A-Z, a-z, 0-9, '.', '_' and '-', and starts with a letter or "
                     "digit (byte %zu is 0x%02X)",
                     i + 1, c);
            return why;
        }
    }
    return NULL;
}

/* A label field: present when required, and well formed. */
int ht_ledger__get_label(const where *w,
                         const json_t *obj,
                         const char *key,
                         int required,
                         const char *what,
                         const char **out)
{
    char why[200];
    int err = ht_ledger__get_string(w, obj, key, required, out);
    if (err < 0)
        return err;
    if (*out && label_problem(*out, why, sizeof(why)))
        return ht_ledger__fail(w, "%s %s", what, why);
    return HT_OK;
}

/* The next code point of UTF-8 text (jansson has checked it), advancing *p. */
static uint32_t next_code_point(const unsigned char **p)
{
    const unsigned char *s = *p;
    int n = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    uint32_t c = n == 1 ? s[0] : s[0] & (0x3Fu >> (n - 1));
    int i = 1;
    for (; i < n && s[i]; i++)
        c = c << 6 | (s[i] & 0x3Fu);
    *p += i;
    return c;
}

/* White space, controls and the invisible format characters: nothing a reader sees. */
static int invisible(uint32_t c)
{
    return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
           (c >= 0x205F && c <= 0x2064) || c == 0x3000 || c == 0xFEFF;
}

/*
 * A correction's reason: a string with something visible in it, kept without the white space
 * and invisible characters around it (it replaces the object's value). Absent: *out is NULL.
 */
int ht_ledger__get_reason(const where *w, json_t *obj, const char **out)
{
    int err = ht_ledger__get_string(w, obj, "reason", 0, out);
    if (err < 0 || !*out)
        return err;
    const unsigned char *p = (const unsigned char *)*out, *first = NULL, *end = p;
    while (*p) {
        const unsigned char *at = p;
        if (!invisible(next_code_point(&p))) {
            first = first ? first : at;
            end = p;
        }
    }
    if (!first)
        return ht_ledger__fail(w, "reason must say something: it holds only white space or "
                                  "invisible characters");
    json_object_set_new(obj, "reason", json_stringn((const char *)first, (size_t)(end - first)));
    *out = json_string_value(json_object_get(obj, "reason"));
    return HT_OK;
}

int ht_ledger__get_bool(const where *w, const json_t *obj, const char *key, int fallback, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (fallback < 0)
            return ht_ledger__fail(w, "%s is required (true or false)", key);
        *out = fallback;
        return HT_OK;
    }
    if (!json_is_boolean(v))
        return ht_ledger__fail(w, "%s must be true or false", key);
    *out = json_is_true(v);
    return HT_OK;
}

int ht_ledger__get_date(
    const where *w, const json_t *obj, const char *key, int required, const char **out)
{
    int32_t day;
    int err = ht_ledger__get_string(w, obj, key, required, out);
    if (err < 0 || !*out)
        return err;
    if (ht_date_parse(*out, &day) < 0)
        return ht_ledger__fail(w, "%s must be a date YYYY-MM-DD (got '%s')", key, *out);
    return HT_OK;
}

/* A length in mm into tenths; 0 allowed only when allow_zero. Sets the body key to the tenths,
 * or null when absent. */
int ht_ledger__get_length(const where *w,
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
        return ht_ledger__fail(w, "%s must be a number in mm", key);
    /* 500 is a hard bound: 500.01 is refused, not rounded down to 500.0 */
    if (ht_ledger__to_tenths(v, &t, &rounded) < 0 || t < 0 || (t == 0 && !allow_zero) ||
        t > MAX_MM10 || json_number_value(v) > MAX_MM10 / 10.0) {
        char shown[32];
        snprintf(shown, sizeof(shown), "%g", json_number_value(v));
        return ht_ledger__fail(w, "%s must be %s and <= 500 (got %s)", key,
                               allow_zero ? ">= 0" : "> 0", shown);
    }
    if (rounded)
        ht_ledger__note(sum, "%s%s%s %s %g rounded to %.1f mm", w->lesion ? w->lesion : "",
                        w->timepoint ? " at " : "", w->timepoint ? w->timepoint : "", key,
                        json_number_value(v), (double)t / 10.0);
    json_object_set_new(body, body_key, json_integer(t));
    return HT_OK;
}
