/**
 * @file th_frame.h
 * MLX90640 frame handling: statistics, invalid pixels, the greyscale mapping and the
 * 16-bit PGM sidecar, exactly as datasets/FORMAT.md sections 1-3 specify.
 *
 * A frame is 768 float32 temperatures in degC, 32 columns x 24 rows, row-major
 * (index i = row i/32, column i%32, row 0 at the top), as MLX90640_CalculateTo writes it.
 *
 * Bit-exact parity with tinyheat.dataset.sample_format needs IEEE-754 single precision with no
 * fused multiply-add: build with -ffp-contract=off (platformio.ini and the host Makefile do;
 * the Cortex-M4F FPU has VFMA, which would change the rounding of (T + 273.15f) * 100 + 0.5f).
 * Portable C99, no allocation, no Arduino headers.
 */
#ifndef TH_FRAME_H
#define TH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_COLS 32
#define TH_ROWS 24
#define TH_PIXELS (TH_COLS * TH_ROWS)

/** Valid object temperature range, degC (MLX90640 datasheet section 1, "Object temperature range"). */
#define TH_VALID_MIN_DEGC (-40.0f)
#define TH_VALID_MAX_DEGC (300.0f)
/** Default greyscale window, degC (FORMAT.md section 2: the original Wio Terminal sketch). */
#define TH_WINDOW_LO_DEGC 22.0f
#define TH_WINDOW_HI_DEGC 37.0f
/** 0 degC in kelvin, for the centikelvin sidecar. */
#define TH_ZERO_DEGC_IN_K 273.15f

/** PGM sidecar header (FORMAT.md section 3), 15 bytes, no terminating NUL written. */
#define TH_PGM_HEADER "P5\n32 24\n65535\n"
#define TH_PGM_HEADER_BYTES 15u
/** Total sidecar size in bytes: header + 768 big-endian uint16 = 1551. */
#define TH_PGM_BYTES (TH_PGM_HEADER_BYTES + 2u * TH_PIXELS)

/** Frame statistics over the valid pixels (degC). */
typedef struct {
    float min_degc;    /**< minimum valid temperature; NaN if no valid pixel */
    float max_degc;    /**< maximum valid temperature; NaN if no valid pixel */
    float mean_degc;   /**< mean of valid pixels (float32 running sum); NaN if none */
    float centre_degc; /**< mean of the 4 centre pixels (rows 11-12, cols 15-16) that are valid; NaN if none */
    int n_invalid;     /**< number of invalid pixels, 0..768 */
} th_frame_stats_t;

/** 1 if t is NaN/inf or outside -40..300 degC (FORMAT.md section 1), else 0. */
int th_pixel_invalid(float t);

/** Statistics of a frame (temps: 768 degC). Never fails; see th_frame_stats_t for NaN cases. */
void th_frame_stats(const float temps[TH_PIXELS], th_frame_stats_t *out);

/** Greyscale of one temperature: g = clamp(floor((T-lo)*255/(hi-lo) + 0.5), 0, 255) in float32;
 *  0 for an invalid pixel (FORMAT.md section 2). Requires hi > lo. */
uint8_t th_grey_pixel(float t, float lo, float hi);

/** Greyscale mapping of a frame: temps 768 degC -> grey 768 uint8, window lo..hi degC (hi > lo). */
void th_frame_to_grey(const float temps[TH_PIXELS], float lo, float hi, uint8_t grey[TH_PIXELS]);

/** Centikelvin of one temperature: clamp(floor((T + 273.15f) * 100 + 0.5f), 1, 65535); 0 if invalid. */
uint16_t th_centikelvin_pixel(float t);

/** Centikelvin of a frame: temps 768 degC -> 768 uint16. */
void th_frame_to_centikelvin(const float temps[TH_PIXELS], uint16_t ck[TH_PIXELS]);

/**
 * Encode the 16-bit PGM sidecar (FORMAT.md section 3) into buf.
 * @param cap  size of buf in bytes; must be >= TH_PGM_BYTES (1551).
 * @return number of bytes written (1551), or 0 if cap is too small (buf untouched).
 */
size_t th_pgm_encode(const float temps[TH_PIXELS], uint8_t *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TH_FRAME_H */
