/*
 * Hepatic tumour load at one time point (spec 7): liver lesion count, sum and largest long
 * axis, tumour burden score, ellipsoid volume, liver replacement and Couinaud segments.
 */
#include "response_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- hepatic tumour load (spec 7) ---------------------------------------------------------- */

int ht_response_segment(const char *location, char *out)
{
    static const char *const numerals[] = {"VIII", "VII", "VI", "IV", "V", "III", "II", "I"};
    char buf[32];
    size_t n = 0;
    const char *p = location;

    if (!p)
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "segment", 7) == 0) {
        p += 7;
        while (isspace((unsigned char)*p))
            p++;
    }
    while (*p && !isspace((unsigned char)*p) && n + 1 < sizeof(buf))
        buf[n++] = *p++;
    buf[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p || n == 0)
        return 0;
    for (size_t k = 0; k < sizeof(numerals) / sizeof(numerals[0]); k++) {
        size_t len = strlen(numerals[k]);
        if (strncasecmp(buf, numerals[k], len) != 0)
            continue;
        const char *rest = buf + len;
        if (*rest && !((*rest == 'a' || *rest == 'A' || *rest == 'b' || *rest == 'B') && !rest[1]))
            return 0;
        snprintf(out, 16, "%s", numerals[k]);
        if (*rest) {
            out[len] = (char)tolower((unsigned char)*rest);
            out[len + 1] = '\0';
        }
        return 1;
    }
    return 0;
}

/* Is liver lesion k visible at pos (spec 7, liver_lesion_count)? */
static int visible(const ctx *c, int k, int pos)
{
    const ht_rs_assessment *a = ht_rs__at(c, k, pos);
    if (!a)
        return 0;
    switch (ht_rs__lesion(c, k)->role) {
    case HT_ROLE_TARGET: {
        if (a->state == HT_STATE_TOO_SMALL)
            return 1;
        if (a->state != HT_STATE_MEASURED)
            return 0;
        if (a->nfragments > 0)
            return 1;
        int32_t v = ht_rs__lesion(c, k)->nodal ? a->short_axis : a->long_axis;
        return v != HT_NO_VALUE && v > 0;
    }
    case HT_ROLE_NON_TARGET:
        return a->state == HT_STATE_PRESENT || a->state == HT_STATE_UNEQUIVOCAL_PROGRESSION;
    default:
        return a->state == HT_STATE_EQUIVOCAL || a->state == HT_STATE_UNEQUIVOCAL;
    }
}

int32_t ht_rs__long_axis_of(const ht_rs_assessment *a)
{
    if (a->long_axis != HT_NO_VALUE)
        return a->long_axis;
    if (a->nfragments > 0) {
        int32_t s = 0;
        for (int f = 0; f < a->nfragments; f++)
            s += a->fragments[f];
        return s;
    }
    return HT_NO_VALUE;
}

void ht_rs__hepatic(const ctx *c, int pos, ht_rs_hepatic *h)
{
    const ht_rs_timepoint *tp = &c->s->timepoints[c->order[pos]];
    memset(h, 0, sizeof(*h));
    if (pos > 0 && !tp->imaging_performed)
        return;
    h->present = 1;
    h->sum_complete = 1;
    h->volume_complete = 1;
    double volume_mm3 = 0;
    for (int k = 0; k < c->s->nlesions; k++) {
        if (!ht_rs__lesion(c, k)->liver || !visible(c, k, pos))
            continue;
        const ht_rs_assessment *a = ht_rs__at(c, k, pos);
        int32_t la = ht_rs__long_axis_of(a);
        h->lesion_count++;
        if (la == HT_NO_VALUE) {
            h->sum_complete = 0;
            h->volume_complete = 0;
        } else {
            h->sum_mm10 += la;
            if (!h->largest_mm10.has || la > h->largest_mm10.v)
                h->largest_mm10 = ht_rs__some(la);
            if (a->perpendicular == HT_NO_VALUE) {
                h->volume_complete = 0;
            } else {
                double b = a->perpendicular / 10.0;
                double cc = a->craniocaudal != HT_NO_VALUE ? a->craniocaudal / 10.0 : b; /* A13 */
                volume_mm3 += M_PI / 6.0 * (la / 10.0) * b * cc;
            }
        }
        char seg[16];
        if (ht_response_segment(ht_rs__lesion(c, k)->segment, seg)) {
            int s = 0;
            while (s < h->nsegments && strcmp(h->segments[s].name, seg) != 0)
                s++;
            if (s == h->nsegments && h->nsegments < 12)
                snprintf(h->segments[h->nsegments++].name, 16, "%s", seg);
            if (s < h->nsegments) {
                h->segments[s].count++;
                if (la != HT_NO_VALUE)
                    h->segments[s].sum_mm10 += la;
            }
        }
    }
    double largest_cm = h->largest_mm10.has ? h->largest_mm10.v / 100.0 : 0.0;
    h->tumour_burden_score =
        sqrt(largest_cm * largest_cm + (double)h->lesion_count * h->lesion_count);
    h->volume_ml = volume_mm3 / 1000.0;
    if (tp->liver_volume_ml10 != HT_NO_VALUE && tp->liver_volume_ml10 > 0) {
        h->has_replacement = 1;
        h->replacement_pct = 100.0 * h->volume_ml / (tp->liver_volume_ml10 / 10.0);
    }
}
