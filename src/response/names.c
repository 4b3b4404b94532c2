/*
 * Names of responses, new-lesion categories and criteria, the criterion parser, and the
 * percentage change in tenths that every figure of the engine uses (spec 0.4).
 */
#include "response_internal.h"

#include <strings.h>

/* ---- names --------------------------------------------------------------------------------- */

const char *ht_response_name(ht_response r)
{
    static const char *const names[] = {NULL, "CR", "PR", "SD", "PD", "NE", "NA", "non-CR/non-PD"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

const char *ht_new_lesions_name(ht_new_lesions n)
{
    static const char *const names[] = {NULL, "none", "equivocal", "unequivocal"};
    return (unsigned)n < 4 ? names[n] : NULL;
}

const char *ht_criterion_name(ht_criterion c)
{
    static const char *const names[] = {"recist1.1", "mrecist", "choi"};
    return (unsigned)c < 3 ? names[c] : "recist1.1";
}

int ht_criterion_parse(const char *text, ht_criterion *out)
{
    for (int c = HT_RECIST11; c <= HT_CHOI; c++) {
        if (strcasecmp(text, ht_criterion_name((ht_criterion)c)) == 0) {
            *out = (ht_criterion)c;
            return HT_OK;
        }
    }
    if (strcasecmp(text, "recist") == 0) {
        *out = HT_RECIST11;
        return HT_OK;
    }
    return ht_error_set(HT_EINVALID, "criteria must be recist1.1, mrecist or choi (got '%s')",
                        text);
}

/* ---- arithmetic ---------------------------------------------------------------------------- */

ht_opt ht_response_pct10(int64_t value, int64_t reference)
{
    ht_opt out = {0, 0};
    if (reference == 0)
        return out;
    int64_t num = 1000 * (value - reference);
    int64_t mag = num < 0 ? -num : num;
    int64_t ref = reference < 0 ? -reference : reference;
    int64_t q = (2 * mag + ref) / (2 * ref);
    out.has = 1;
    out.v = ((num < 0) != (reference < 0) && q != 0) ? -q : q;
    return out;
}

ht_opt ht_rs__some(int64_t v)
{
    ht_opt o = {1, v};
    return o;
}
