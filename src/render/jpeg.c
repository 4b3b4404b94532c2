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
    /* Our own buffer, larger than any JPEG of these pixels can be: libjpeg then never makes one
     * of its own, which it would not hand back if it failed (nor free). */
    size_t room = (size_t)width * height * (size_t)channels * 2 + 65536;
    unsigned char *own = malloc(room);
    unsigned char *mem = own;
    unsigned long size = room;
    if (!own)
        return ht_error_set(HT_ENOMEM, "out of memory encoding a JPEG");
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = fail;
    if (setjmp(failure.back)) {
        jpeg_destroy_compress(&cinfo);
        free(own);
        return ht_error_set(HT_EIO, "libjpeg failed to encode a %ux%u picture: %s", width, height,
                            failure.message);
    }
    jpeg_create_compress(&cinfo);
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
    }
    jpeg_finish_compress(&cinfo); /* mem and size now say where the JPEG is, and how long */
    jpeg_destroy_compress(&cinfo);
    if (mem != own) /* libjpeg needed more after all: its buffer is the answer */
        free(own);
    *out = mem;
    *len = size;
    return HT_OK;
}
