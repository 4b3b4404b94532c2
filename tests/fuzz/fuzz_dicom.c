/* libFuzzer: the file layer on arbitrary bytes — parse, read every attribute, decode frames,
 * read an SR Measurement Report. */
#include "hepatrack/dicom.h"
#include "hepatrack/sr.h"
#include "hepatrack/util.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ht_dicom *dcm = NULL;
    if (ht_dicom_open_memory(&dcm, data, size) != HT_OK)
        return 0;
    const ht_dicom_info *info = ht_dicom_get_info(dcm);
    char *s = NULL;
    if (ht_dicom_get_string(dcm, 0x0010, 0x0010, &s) == HT_OK)
        ht_free(s);
    for (uint32_t k = 0; info->has_pixel_data && k < info->number_of_frames && k < 4; k++) {
        ht_frame *f = NULL;
        if (ht_dicom_frame_decode(dcm, k, &f) == HT_OK)
            ht_frame_free(f);
    }
    ht_dicom_free(dcm);
    ht_sr_report report;
    if (ht_sr_read(data, size, &report) == HT_OK)
        ht_sr_report_free(&report);
    return 0;
}
