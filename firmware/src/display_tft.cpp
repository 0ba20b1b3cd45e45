// LCD adapter. See display_tft.h. Keep TFT_eSPI out of the TFLM translation unit: TFT_eSPI.h
// defines a min(a,b) macro that breaks the TFLM headers.
#include <SPI.h>  // first: TFT_eSPI in the Seeed core expects it
#include <TFT_eSPI.h>
#include <stdio.h>

#include "display_tft.h"
#include "th_palette.h"
#include "th_render.h"
#include "th_text.h"
#include "tinyheat_config.h"

static TFT_eSPI tft;
static th_heatmap_t s_hm;          // 3 KB: palette coordinates of the current frame
static uint16_t s_row[TH_MAP_W];   // one rendered row, 512 B

void display_begin(void)
{
    tft.begin();
    tft.setRotation(TH_LCD_ROTATION);
    tft.setSwapBytes(true);  // rows are native uint16 RGB565; the panel wants big-endian
    tft.fillScreen(TFT_BLACK);
}

static void text_box(int32_t x, int32_t y, int32_t w, int32_t h, const char *s, uint16_t fg)
{
    tft.fillRect(x, y, w, h, TFT_BLACK);
    tft.setTextColor(fg, TFT_BLACK);
    tft.drawString(s, x + 2, y + 4, 2);  // font 2: 16 px high
}

void display_layout(th_mode_t mode, const th_labels_t *labels)
{
    char top[112];
    tft.fillScreen(TFT_BLACK);
    if (mode == TH_MODE_COLLECT)
        snprintf(top, sizeof top, "COLLECT  A:%s B:%s C:%s", labels->name[0], labels->name[1], labels->name[2]);
    else
        snprintf(top, sizeof top, "%s", mode == TH_MODE_STREAM ? "STREAM (USB)" : "CLASSIFY");
    text_box(0, 0, 320, TH_TOP_BAR_H, top, TFT_CYAN);
}

void display_frame(const float temps[768], float ta_degc)
{
    th_range_cfg_t cfg = {TH_AUTO_RANGE ? TH_RANGE_AUTO : TH_RANGE_FIXED, TH_FIXED_LO_DEGC, TH_FIXED_HI_DEGC,
                          TH_AUTO_MIN_SPAN_K};
    char buf[24];
    th_heatmap_prepare_n(&s_hm, temps, TH_SENSOR_ROWS, TH_SENSOR_COLS, &cfg);
    for (int y = 0; y < TH_MAP_H; y++) {
        th_heatmap_row(&s_hm, TH_MAP_W, TH_MAP_H, y, TH_MIRROR_VIEW, s_row);
        tft.pushImage(TH_MAP_X, TH_MAP_Y + y, TH_MAP_W, 1, s_row);
    }
    // legend: colour bar hi (top) .. lo (bottom), 12 px wide, 128 px high
    for (int i = 0; i < 128; i++) {
        uint16_t c = th_palette_inferno[255 - i * 2];
        tft.drawFastHLine(TH_LEGEND_X, TH_MAP_Y + 24 + i, 12, c);
    }
    // centre: mean of the 4 valid centre pixels (th_frame_stats' centre_degc, for either geometry)
    float centre = 0.0f;
    int n_centre = 0;
    for (int r = TH_SENSOR_ROWS / 2 - 1; r <= TH_SENSOR_ROWS / 2; r++)
        for (int c = TH_SENSOR_COLS / 2 - 1; c <= TH_SENSOR_COLS / 2; c++)
            if (!th_pixel_invalid(temps[r * TH_SENSOR_COLS + c])) {
                centre += temps[r * TH_SENSOR_COLS + c];
                n_centre++;
            }
    centre = n_centre ? centre / (float)n_centre : NAN;
    tft.setTextColor(TFT_WHITE, TFT_BLACK);
    th_fmt_fixed(buf, sizeof buf, s_hm.hi_degc, 1);
    tft.fillRect(TH_LEGEND_X, TH_MAP_Y, 56, 20, TFT_BLACK);
    tft.drawString(buf, TH_LEGEND_X, TH_MAP_Y + 4, 2);
    th_fmt_fixed(buf, sizeof buf, s_hm.lo_degc, 1);
    tft.fillRect(TH_LEGEND_X, TH_MAP_Y + 154, 56, 18, TFT_BLACK);
    tft.drawString(buf, TH_LEGEND_X, TH_MAP_Y + 156, 2);
    // centre temperature and Ta beside the bar
    tft.fillRect(TH_LEGEND_X + 16, TH_MAP_Y + 60, 40, 60, TFT_BLACK);
    tft.drawString("ctr", TH_LEGEND_X + 18, TH_MAP_Y + 60, 1);
    th_fmt_fixed(buf, sizeof buf, centre, 1);
    tft.drawString(buf, TH_LEGEND_X + 18, TH_MAP_Y + 70, 2);
    tft.drawString("Ta", TH_LEGEND_X + 18, TH_MAP_Y + 92, 1);
    th_fmt_fixed(buf, sizeof buf, ta_degc, 1);
    tft.drawString(buf, TH_LEGEND_X + 18, TH_MAP_Y + 102, 2);
}

void display_prediction(const th_prediction_t *p, const char *label, uint32_t inference_us)
{
    char pct[8], line[96];
    th_fmt_fixed(pct, sizeof pct, p->confidence * 100.0f, 0);
    snprintf(line, sizeof line, "%s %s%%  %lu us", p->label_index >= 0 ? label : "uncertain", pct,
             (unsigned long)inference_us);
    text_box(96, 0, 224, TH_TOP_BAR_H, line, p->label_index >= 0 ? TFT_GREEN : TFT_YELLOW);
}

void display_status(const char *text, int level)
{
    uint16_t fg = level == TH_STATUS_ERROR ? TFT_RED : (level == TH_STATUS_WARN ? TFT_YELLOW : TFT_WHITE);
    text_box(0, TH_STATUS_Y, 320, 240 - TH_STATUS_Y, text, fg);
}

void display_message(const char *line1, const char *line2)
{
    tft.fillRect(TH_MAP_X, TH_MAP_Y, TH_MAP_W, TH_MAP_H, TFT_BLACK);
    tft.setTextColor(TFT_RED, TFT_BLACK);
    tft.drawString(line1, TH_MAP_X + 8, TH_MAP_Y + 70, 2);
    tft.setTextColor(TFT_WHITE, TFT_BLACK);
    tft.drawString(line2, TH_MAP_X + 8, TH_MAP_Y + 96, 2);
}

void display_stats(uint16_t fps_x100, uint32_t dropped_subpages, uint32_t i2c_errors)
{
    char l1[16], l2[32], d[12], e[12];
    snprintf(l1, sizeof l1, "%u.%02u f/s", (unsigned)(fps_x100 / 100u), (unsigned)(fps_x100 % 100u));
    if (dropped_subpages == UINT32_MAX) snprintf(d, sizeof d, "?");
    else snprintf(d, sizeof d, "%lu", (unsigned long)dropped_subpages);
    if (i2c_errors == UINT32_MAX) snprintf(e, sizeof e, "?");
    else snprintf(e, sizeof e, "%lu", (unsigned long)i2c_errors);
    snprintf(l2, sizeof l2, "D%s E%s", d, e);
    // below the legend's low value (y 180..196), above the status line (y 216): font 1, 8 px
    tft.fillRect(TH_LEGEND_X - 4, TH_MAP_Y + 174, 320 - TH_LEGEND_X + 4, 18, TFT_BLACK);
    tft.setTextColor(TFT_LIGHTGREY, TFT_BLACK);
    tft.drawString(l1, TH_LEGEND_X - 4, TH_MAP_Y + 174, 1);
    tft.drawString(l2, TH_LEGEND_X - 4, TH_MAP_Y + 183, 1);
}
