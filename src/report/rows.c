/* A row of the index listings as a JSON object, for every front end (CLI, HTTP). */
#include "hepatrack/report.h"

#include <stdlib.h>

/* "1.5\\2.5" (a multi-valued DICOM decimal) as [1.5, 2.5]. */
static json_t *numbers_to_json(const char *text)
{
    json_t *arr = json_array();
    const char *p = text;
    while (arr && *p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            break;
        json_array_append_new(arr, json_real(v));
        p = *end == '\\' ? end + 1 : end;
        if (*end != '\\')
            break;
    }
    return arr;
}

json_t *ht_report_row_json(const ht_row *row)
{
    json_t *obj = json_object();
    for (int i = 0; obj && i < row->ncols; i++) {
        const char *v = row->values[i];
        json_t *value;
        switch (row->types[i]) {
        case HT_VALUE_NULL:
            value = json_null();
            break;
        case HT_VALUE_INT:
            value = json_integer(strtoll(v, NULL, 10));
            break;
        case HT_VALUE_REAL:
            value = json_real(strtod(v, NULL));
            break;
        case HT_VALUE_NUMBERS:
            value = numbers_to_json(v);
            break;
        default:
            value = json_string(v);
            break;
        }
        json_object_set_new(obj, row->names[i], value);
    }
    return obj;
}
