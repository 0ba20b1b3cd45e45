// Greyscale JPEG encoder adapter. See jpeg_grey.h. API: bitbank2/JPEGENC 1.1.0 src/JPEGENC.h.
#include <Arduino.h>
#include <JPEGENC.h>
#include <string.h>

#include "jpeg_grey.h"

static JPEGENC s_enc;        // holds a 2 KB file buffer and Huffman state: keep it static
static uint8_t s_pixels[768];  // addFrame takes a non-const pointer

size_t jpeg_grey_encode(const uint8_t grey[768], uint8_t *out, size_t cap)
{
    JPEGENCODE enc;
    if (cap <= 512) return 0;  // JPEGENC keeps 512 B of headroom (pHighWater)
    memcpy(s_pixels, grey, sizeof s_pixels);
    if (s_enc.open(out, (int)cap) != JPEGE_SUCCESS) return 0;
    if (s_enc.encodeBegin(&enc, 32, 24, JPEGE_PIXEL_GRAYSCALE, JPEGE_SUBSAMPLE_444, JPEGE_Q_BEST) != JPEGE_SUCCESS)
        return 0;
    if (s_enc.addFrame(&enc, s_pixels, 32) != JPEGE_SUCCESS) return 0;  // pitch: 32 bytes per row
    int size = s_enc.close();
    if (s_enc.getLastError() != JPEGE_SUCCESS || size <= 0 || (size_t)size > cap) return 0;
    return (size_t)size;
}
