/* Greyscale JPEG via libjpeg(-turbo) into a memory buffer. See sim_jpeg.h. */
#include "sim_jpeg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

size_t sim_jpeg_grey(const uint8_t grey[768], uint8_t *out, size_t cap, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = 32;
    c.image_height = 24;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(grey + 32 * c.next_scanline);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    size_t n = (len <= cap) ? (size_t)len : 0;
    if (n) memcpy(out, mem, n);
    free(mem);
    return n;
}
