/**
 * @file jpeg_grey.h
 * 32x24 one-channel (true greyscale) baseline JPEG of the FORMAT.md section 2 mapping, with
 * bitbank2 JPEGENC 1.1.0 (JPEGE_PIXEL_GRAYSCALE, 4:4:4 8x8 MCUs, JPEGE_Q_BEST) into RAM.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/** Encode grey (768 bytes, row-major 32x24) into out[cap] (cap > 512, e.g. 4096).
 *  @return JPEG size in bytes, or 0 on an encoder error. */
size_t jpeg_grey_encode(const uint8_t grey[768], uint8_t *out, size_t cap);
