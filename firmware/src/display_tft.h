/**
 * @file display_tft.h
 * LCD adapter (TFT_eSPI bundled in the Seeed SAMD core, 320x240 ILI9341). The heat map is
 * pushed one rendered row at a time (th_render.h), no full-screen sprite.
 * Layout (tinyheat_config.h): top bar 24 px (mode, key labels or prediction), heat map
 * 256x192 at (0,24), legend at x 264 (colour bar, max/centre/min degC), status line at y 216.
 */
#pragma once
#include <stdint.h>

#include "th_app.h"
#include "th_classify.h"

void display_begin(void);
/** Clear and draw the static parts for a mode; labels for the top bar in collect mode. */
void display_layout(th_mode_t mode, const th_labels_t *labels);
/** Heat map + legend of a frame (768 degC), Ta in degC (NaN if unknown). */
void display_frame(const float temps[768], float ta_degc);
/** Prediction in the top bar: label (or "uncertain"), confidence %, inference time in us. */
void display_prediction(const th_prediction_t *p, const char *label, uint32_t inference_us);
/** Status line; level th_status_level_t picks the colour (white / yellow / red). */
void display_status(const char *text, int level);
/** Big message over the heat-map area (e.g. the sensor is absent). */
void display_message(const char *line1, const char *line2);
/** Run statistics under the colour bar: full frames/s (x 100) and "D<dropped subpages>
 *  E<I2C errors>" ("?" when UINT32_MAX = not known). */
void display_stats(uint16_t fps_x100, uint32_t dropped_subpages, uint32_t i2c_errors);
