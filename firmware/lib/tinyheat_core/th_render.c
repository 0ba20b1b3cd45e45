/* Heat-map rendering, row by row. See th_render.h. */
#include "th_render.h"
#include "th_palette.h"

#include <math.h>

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

int th_heatmap_prepare(th_heatmap_t *hm, const float temps[TH_PIXELS], const th_range_cfg_t *cfg)
{
    return th_heatmap_prepare_n(hm, temps, TH_ROWS, TH_COLS, cfg);
}

int th_heatmap_prepare_n(th_heatmap_t *hm, const float *temps, int rows, int cols, const th_range_cfg_t *cfg)
{
    int rc = 0, i, n;
    if (rows < 1 || cols < 1 || rows * cols > TH_PIXELS) {
        rows = TH_ROWS;
        cols = TH_COLS;
        rc = -1;
    }
    n = rows * cols;
    hm->rows = rows;
    hm->cols = cols;
    float lo = TH_WINDOW_LO_DEGC, hi = TH_WINDOW_HI_DEGC, scale;
    if (cfg->mode == TH_RANGE_FIXED) {
        if (cfg->hi_degc > cfg->lo_degc) { /* false for NaN too */
            lo = cfg->lo_degc;
            hi = cfg->hi_degc;
        } else {
            rc = -1;
        }
    } else {
        float mn = 0.0f, mx = 0.0f;
        int valid = 0;
        for (i = 0; i < n; i++) { /* min and max of the valid pixels (th_frame_stats for 768) */
            float t = temps[i];
            if (th_pixel_invalid(t)) continue;
            if (!valid || t < mn) mn = t;
            if (!valid || t > mx) mx = t;
            valid = 1;
        }
        if (valid) {
            float span = mx - mn;
            float min_span = cfg->min_span_k > 0.0f ? cfg->min_span_k : 0.1f;
            lo = mn;
            hi = mx;
            if (span < min_span) {
                float c = 0.5f * (lo + hi);
                lo = c - 0.5f * min_span;
                hi = c + 0.5f * min_span;
            }
        }
    }
    hm->lo_degc = lo;
    hm->hi_degc = hi;
    scale = 255.0f / (hi - lo);
    for (i = 0; i < n; i++) {
        float t = temps[i];
        hm->u[i] = th_pixel_invalid(t) ? 0.0f : clampf((t - lo) * scale, 0.0f, 255.0f);
    }
    return rc;
}

uint8_t th_heatmap_index(const th_heatmap_t *hm, float t_degc)
{
    float u;
    if (th_pixel_invalid(t_degc)) return 0;
    u = clampf((t_degc - hm->lo_degc) * 255.0f / (hm->hi_degc - hm->lo_degc), 0.0f, 255.0f);
    return (uint8_t)(u + 0.5f);
}

/* Source coordinate of output pixel centre i: s = (i + 0.5) * step - 0.5 with step = src / n,
 * clamped to [0, src - 1]; i0 = floor(s), i1 = i0 + 1 (clamped), f = s - i0. */
static void src_coord(int i, float step, int src, int *i0, int *i1, float *f)
{
    float s = ((float)i + 0.5f) * step - 0.5f;
    int k;
    if (s < 0.0f) s = 0.0f;
    if (s > (float)(src - 1)) s = (float)(src - 1);
    k = (int)s; /* s >= 0, so truncation is floor */
    *i0 = k;
    *i1 = k + 1 < src ? k + 1 : src - 1;
    *f = s - (float)k;
}

void th_heatmap_row(const th_heatmap_t *hm, int out_w, int out_h, int y, int mirror, uint16_t *row)
{
    float line[TH_COLS + 1];
    int y0, y1, x, c, rows = hm->rows, cols = hm->cols;
    float fy, sx, step_x;
    if (out_w < 1 || out_h < 1) return;
    if (y < 0) y = 0;
    if (y >= out_h) y = out_h - 1;
    src_coord(y, (float)rows / (float)out_h, rows, &y0, &y1, &fy);
    /* vertical pass once per output row: one lerp per source column */
    for (c = 0; c < cols; c++) {
        int col = mirror ? (cols - 1 - c) : c;
        float a = hm->u[y0 * cols + col], b = hm->u[y1 * cols + col];
        line[c] = a + (b - a) * fy;
    }
    line[cols] = line[cols - 1]; /* so x1 = x0 + 1 needs no clamp at the right edge */
    /* horizontal pass: incremental source coordinate, no division per pixel */
    step_x = (float)cols / (float)out_w;
    sx = 0.5f * step_x - 0.5f;
    for (x = 0; x < out_w; x++, sx += step_x) {
        float s = sx < 0.0f ? 0.0f : (sx > (float)(cols - 1) ? (float)(cols - 1) : sx);
        int x0 = (int)s, idx;
        float v = line[x0] + (line[x0 + 1] - line[x0]) * (s - (float)x0);
        idx = (int)(v + 0.5f);
        if (idx < 0) idx = 0;
        if (idx > 255) idx = 255;
        row[x] = th_palette_inferno[idx];
    }
}
