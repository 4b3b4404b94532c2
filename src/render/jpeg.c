/*
 * 8-bit pictures as baseline JPEG through libjpeg-turbo, for DICOMweb's rendered resources.
 * libjpeg reports errors by calling error_exit, which must not return: it longjmps back here.
 */
#include "render_internal.h"

#include "hepatrack/util.h"

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>

#include <jpeglib.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void fail(j_common_ptr cinfo)
{
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, f->message);
    longjmp(f->back, 1);
}

int ht_render__jpeg(const uint8_t *pixels,
                    uint32_t width,
                    uint32_t height,
                    int channels,
                    int quality,
                    uint8_t **out,
                    size_t *len)
{
    struct jpeg_compress_struct cinfo;
    jpeg_failure failure;
    /* what the longjmp may leave: on the heap or volatile */
    unsigned char *volatile buffer = NULL;
    unsigned long size = 0;
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = fail;
    if (setjmp(failure.back)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return ht_error_set(HT_EIO, "libjpeg failed to encode a %ux%u picture: %s", width, height,
                            failure.message);
    }
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    jpeg_mem_dest(&cinfo, &mem, &size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * (size_t)channels);
        jpeg_write_scanlines(&cinfo, &row, 1);
        buffer = mem; /* libjpeg may have grown it */
    }
    jpeg_finish_compress(&cinfo);
    buffer = mem;
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *len = size;
    return HT_OK;
}
