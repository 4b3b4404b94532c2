/* Calendar dates as day numbers: the civil-from-days algorithms of H. Hinnant, exact for the
 * proleptic Gregorian calendar. */
#include "hepatrack/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ht_date_parse(const char *text, int32_t *day)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return HT_EINVALID;
    for (int i = 0; i < 10; i++) /* digits only: no sign, no space (sscanf took both) */
        if (i != 4 && i != 7 && !isdigit((unsigned char)text[i]))
            return HT_EINVALID;
#define DIGIT(i) (text[i] - '0')
    int y = DIGIT(0) * 1000 + DIGIT(1) * 100 + DIGIT(2) * 10 + DIGIT(3);
    int m = DIGIT(5) * 10 + DIGIT(6), d = DIGIT(8) * 10 + DIGIT(9);
#undef DIGIT
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || y < 1900 || y > 2200)
        return HT_EINVALID;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return HT_EINVALID;
    *day = days_from_civil(y, m, d);
    return HT_OK;
}

void ht_date_format(int32_t z, char *out)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = 0;
    snprintf(out, 11, "%04d-%02d-%02d", y % 10000, (m % 13 + 13) % 13, (d % 32 + 32) % 32);
}

int32_t ht_date_today(void)
{
    const char *fixed = getenv("HEPATRACK_NOW");
    int32_t day;
    if (fixed && ht_date_parse(fixed, &day) == HT_OK)
        return day;
    return (int32_t)(time(NULL) / 86400);
}
