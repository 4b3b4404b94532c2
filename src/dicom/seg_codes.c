/*
 * Codes of segmentations: the legacy SNOMED-RT codes that dcmqi and older highdicom write,
 * mapped to SNOMED CT (PS3.16 lists both for each concept), so that a liver is found whichever
 * scheme named it; the names of the slice spacing sources.
 */
#include "hepatrack/seg.h"

#include <stdio.h>
#include <string.h>

typedef struct code_pair {
    const char *srt, *sct, *meaning;
} code_pair;

/* PS3.16's equivalents for the concepts segmentations and TID 1500 reports use (spec 11 names
 * the last four); a code outside the table is left as it is, never guessed. */
static const code_pair srt_to_sct[] = {
    {"T-62000", "10200004", "Liver"},
    {"T-D0050", "85756007", "Tissue"},
    {"T-D000A", "91723000", "Anatomical Structure"},
    {"M-01000", "49755003", "Morphologically Altered Structure"},
    {"M-03000", "4147007", "Mass"},
    {"M-80000", "108369006", "Neoplasm"},
    {"M-80003", "86049000", "Neoplasm, Primary"},
    {"M-80006", "14799000", "Neoplasm, Metastatic"},
    {"R-42019", "309825002", "Spatial and Relational Concept"},
    {"G-D705", "118565006", "Volume"},
    {"G-A185", "103339001", "Long Axis"},
    {"G-A186", "103340004", "Short Axis"},
    {"R-00317", "373098007", "Mean"},
};

/* The schemes that name SNOMED-RT (SNM3 and 99SDM are older designators of the same codes). */
static int is_snomed_rt(const char *scheme)
{
    return strcmp(scheme, "SRT") == 0 || strcmp(scheme, "SNM3") == 0 ||
           strcmp(scheme, "99SDM") == 0;
}

int ht_seg_map_code(char scheme[17], char value[65])
{
    if (!is_snomed_rt(scheme))
        return 0;
    for (size_t i = 0; i < sizeof(srt_to_sct) / sizeof(srt_to_sct[0]); i++)
        if (strcmp(value, srt_to_sct[i].srt) == 0) {
            snprintf(scheme, 17, "SCT");
            snprintf(value, 65, "%s", srt_to_sct[i].sct);
            return 1;
        }
    return 0;
}

int ht_seg_code_is_liver(const ht_seg_code *code)
{
    return (strcmp(code->scheme, "SCT") == 0 && strcmp(code->value, "10200004") == 0) ||
           (is_snomed_rt(code->original_scheme) && strcmp(code->original_value, "T-62000") == 0);
}

const char *ht_seg_spacing_source_name(ht_seg_spacing_source source)
{
    switch (source) {
    case HT_SEG_SPACING_POSITIONS:
        return "frame positions";
    case HT_SEG_SPACING_BETWEEN_SLICES:
        return "spacing between slices";
    case HT_SEG_SPACING_SLICE_THICKNESS:
        return "slice thickness";
    default:
        return "none";
    }
}
