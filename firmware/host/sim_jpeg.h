/* Greyscale 32x24 baseline JPEG encoder of the simulated device (host libjpeg; on the Wio
 * Terminal main.cpp uses its own encoder). Returns the byte count written to out, 0 on error. */
#ifndef SIM_JPEG_H
#define SIM_JPEG_H
#include <stddef.h>
#include <stdint.h>
size_t sim_jpeg_grey(const uint8_t grey[768], uint8_t *out, size_t cap, int quality);
#endif
