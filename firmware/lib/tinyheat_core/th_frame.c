/* Frame handling, FORMAT.md sections 1-3. See th_frame.h. */
#include "th_frame.h"

#include <math.h>
#include <string.h>

int th_pixel_invalid(float t)
{
    /* NaN fails every comparison, so test "inside" and negate. */
    if (!(t >= TH_VALID_MIN_DEGC && t <= TH_VALID_MAX_DEGC)) return 1;
    return 0;
}

void th_frame_stats(const float temps[TH_PIXELS], th_frame_stats_t *out)
{
    static const int centre[4] = {11 * TH_COLS + 15, 11 * TH_COLS + 16, 12 * TH_COLS + 15, 12 * TH_COLS + 16};
    float mn = NAN, mx = NAN, sum = 0.0f, csum = 0.0f;
    int n_valid = 0, c_valid = 0, i;
    for (i = 0; i < TH_PIXELS; i++) {
        float t = temps[i];
        if (th_pixel_invalid(t)) continue;
        if (n_valid == 0 || t < mn) mn = t;
        if (n_valid == 0 || t > mx) mx = t;
        sum += t;
        n_valid++;
    }
    for (i = 0; i < 4; i++) {
        float t = temps[centre[i]];
        if (!th_pixel_invalid(t)) { csum += t; c_valid++; }
    }
    out->min_degc = mn;
    out->max_degc = mx;
    out->mean_degc = n_valid ? sum / (float)n_valid : NAN;
    out->centre_degc = c_valid ? csum / (float)c_valid : NAN;
    out->n_invalid = TH_PIXELS - n_valid;
}

uint8_t th_grey_pixel(float t, float lo, float hi)
{
    float x, g;
    if (th_pixel_invalid(t)) return 0;
    x = (t - lo) * 255.0f / (hi - lo); /* left to right, float32 (FORMAT.md section 2) */
    g = floorf(x + 0.5f);              /* round half up */
    if (!(g > 0.0f)) return 0;         /* also catches NaN from hi == lo */
    if (g > 255.0f) return 255;
    return (uint8_t)g;
}

void th_frame_to_grey(const float temps[TH_PIXELS], float lo, float hi, uint8_t grey[TH_PIXELS])
{
    int i;
    for (i = 0; i < TH_PIXELS; i++) grey[i] = th_grey_pixel(temps[i], lo, hi);
}

uint16_t th_centikelvin_pixel(float t)
{
    float ck;
    if (th_pixel_invalid(t)) return 0;
    ck = floorf((t + TH_ZERO_DEGC_IN_K) * 100.0f + 0.5f);
    if (ck < 1.0f) return 1;
    if (ck > 65535.0f) return 65535;
    return (uint16_t)ck;
}

void th_frame_to_centikelvin(const float temps[TH_PIXELS], uint16_t ck[TH_PIXELS])
{
    int i;
    for (i = 0; i < TH_PIXELS; i++) ck[i] = th_centikelvin_pixel(temps[i]);
}

size_t th_pgm_encode(const float temps[TH_PIXELS], uint8_t *buf, size_t cap)
{
    size_t off = TH_PGM_HEADER_BYTES;
    int i;
    if (buf == NULL || cap < TH_PGM_BYTES) return 0;
    memcpy(buf, TH_PGM_HEADER, TH_PGM_HEADER_BYTES);
    for (i = 0; i < TH_PIXELS; i++) {
        uint16_t v = th_centikelvin_pixel(temps[i]);
        buf[off++] = (uint8_t)(v >> 8); /* big-endian (Netpbm) */
        buf[off++] = (uint8_t)(v & 0xFF);
    }
    return off;
}
