/**
 * @file th_render.h
 * Heat-map rendering of a 32x24 frame into RGB565 rows, one output row at a time, so the
 * device never needs a full-screen buffer (a 320x240 16-bit sprite would be 153,600 bytes).
 *
 * Pipeline: th_heatmap_prepare() maps each of the 768 temperatures to a palette coordinate
 * u in [0, 255] (auto-range or fixed range, degC); th_heatmap_row() bilinearly upscales u to
 * out_w x out_h (pixel centres aligned: source coordinate = (x + 0.5) * 32 / out_w - 0.5,
 * clamped at the edges, the convention of Pillow's BILINEAR resize for upscaling) and looks
 * each pixel up in the inferno palette (th_palette.h). Invalid pixels (th_pixel_invalid) show
 * as the coldest colour.
 */
#ifndef TH_RENDER_H
#define TH_RENDER_H

#include <stdint.h>
#include "th_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Range mode: auto = frame min..max (widened to min_span_k), fixed = lo..hi. */
typedef enum { TH_RANGE_AUTO = 0, TH_RANGE_FIXED = 1 } th_range_mode_t;

typedef struct {
    th_range_mode_t mode;
    float lo_degc;    /**< fixed mode: temperature shown as palette index 0, degC */
    float hi_degc;    /**< fixed mode: temperature shown as index 255, degC; must be > lo_degc */
    float min_span_k; /**< auto mode: the range is widened around its centre to at least this (K), so sensor noise on a uniform scene is not amplified; e.g. 2.0 */
} th_range_cfg_t;

typedef struct {
    float lo_degc, hi_degc; /**< range actually used for this frame, degC */
    int rows, cols;         /**< source geometry: 24 x 32 (MLX90640) or 12 x 16 (MLX90641) */
    float u[TH_PIXELS];     /**< palette coordinate per source pixel, 0..255 (rows * cols used) */
} th_heatmap_t;             /* 3,088 bytes */

/**
 * Compute the range and palette coordinates of a frame.
 * @return 0 on success; -1 if cfg is invalid (fixed range with hi <= lo, or NaN bounds):
 *         then the default window 22..37 degC is used so something sensible is still shown.
 */
int th_heatmap_prepare(th_heatmap_t *hm, const float temps[TH_PIXELS], const th_range_cfg_t *cfg);

/** th_heatmap_prepare for a rows x cols frame (rows * cols <= 768, row-major degC), e.g. the
 *  MLX90641's 12 x 16; the same bilinear upscaling then fills out_w x out_h. -1 (and 24 x 32
 *  used) for a bad geometry or a bad cfg. */
int th_heatmap_prepare_n(th_heatmap_t *hm, const float *temps, int rows, int cols, const th_range_cfg_t *cfg);

/**
 * Render output row y (0..out_h-1) of an out_w x out_h upscaled heat map into row[out_w]
 * (RGB565, native uint16). mirror != 0 flips left-right (a selfie view).
 * out_w, out_h >= 1; y outside 0..out_h-1 is clamped.
 */
void th_heatmap_row(const th_heatmap_t *hm, int out_w, int out_h, int y, int mirror, uint16_t *row);

/** Palette index 0..255 for a temperature with this heat map's range (for a colour-bar legend). */
uint8_t th_heatmap_index(const th_heatmap_t *hm, float t_degc);

#ifdef __cplusplus
}
#endif
#endif
