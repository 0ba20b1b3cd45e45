// MLX90640 adapter (the default sensor; -DTH_SENSOR_MLX90641 builds sensor_mlx90641.cpp instead). See sensor_mlx90640.h.
// 16-bit register access over Wire and the run bookkeeping: mlx_i2c.h (shared with the MLX90641).
// Status register 0x8000: bit 3 = new data in RAM, bit 0 = the subpage it belongs to; writing
// 0x0030 clears bit 3 (the Melexis driver's GetFrameData does the same). RAM 0x0400..0x073F.
#ifndef TH_SENSOR_MLX90641
#include <Arduino.h>
#include <math.h>
#include <string.h>

#include "sensor_mlx90640.h"
#include "mlx_i2c.h"
#include "th_mlx90640.h"
#include "tinyheat_config.h"

#define MLX_RAM 0x0400

static th_mlx_params_t s_params;     // calibration, ~12 KB
static uint16_t s_ee[TH_MLX_EE_WORDS];
static uint16_t s_ee_check[TH_MLX_EE_WORDS];
static bool s_ee_valid;
static uint16_t s_frame[TH_MLX_FRAME_WORDS];  // one subpage of raw data + control/subpage words
static float s_work[768];             // both subpages' pixels accumulate here
static uint8_t s_subpages_seen;       // bit 0 / bit 1: subpage 0 / 1 computed since the last frame
static int8_t s_last_subpage = -1;

// I2C, error codes, counters, sensor_ok() and sensor_stats(): mlx_i2c.cpp (shared with the MLX90641)
int sensor_begin(uint8_t refresh_code)
{
    s_subpages_seen = 0;
    s_last_subpage = -1;
    int bus = mlx_begin_bus();
    if (bus != 1) return bus;
    // two reads of the EEPROM must agree (s_frame holds the second): a glitch or an unplugged
    // cable mid-dump is caught here
    if (!mlx_read_eeprom_twice(TH_MLX_EE_WORDS, s_ee_check, s_frame)) return 0;
    if (th_mlx_extract(s_ee_check, &s_params) != TH_MLX_OK) {
        mlx_fail(-4);
        return 0;
    }
    memcpy(s_ee, s_ee_check, sizeof s_ee);
    s_ee_valid = true;
    if (!mlx_begin_finish(refresh_code)) return 0;
    for (int i = 0; i < 768; i++) s_work[i] = NAN;
    return 1;
}

bool sensor_set_refresh(uint8_t code)
{
    if (!mlx_set_refresh(code)) return false;
    s_subpages_seen = 0;
    s_last_subpage = -1;
    return true;
}

bool sensor_poll(float temps[768], float *ta_degc)
{
    uint16_t status = 0;
    if (!mlx_poll_start(&status)) return false;  // status read, "new data" cleared
    if (mlx_read_words(MLX_RAM, TH_MLX_RAM_WORDS, s_frame) != 0) return mlx_count_error(-1);
    if (!mlx_poll_read_done()) return false;
    int subpage = status & 0x0001;
    s_frame[TH_MLX_IDX_CTRL1] = mlx_ctrl1();
    s_frame[TH_MLX_IDX_SUBPAGE] = (uint16_t)subpage;
    float ta = 0.0f;
    uint32_t t1 = micros();
    // reflected temperature Ta - TH_MLX_TA_SHIFT needs this subpage's Ta first
    float ta_now = th_mlx_ta(s_frame, &s_params);
    int r = th_mlx_to(s_frame, &s_params, TH_MLX_EMISSIVITY, ta_now - TH_MLX_TA_SHIFT, TH_MLX_BAD_INTERPOLATE, s_work, &ta);
    if (!mlx_poll_compensated(t1, r >= 0)) return false;
    if (s_last_subpage == subpage) mlx_stats.dropped_subpages++;  // the other subpage was missed
    s_last_subpage = (int8_t)subpage;
    s_subpages_seen |= (uint8_t)(1u << subpage);
    if (s_subpages_seen != 0x03) return false;
    s_subpages_seen = 0;
    memcpy(temps, s_work, sizeof s_work);
    *ta_degc = ta;
    mlx_stats.frames++;
    return true;
}

const uint16_t *sensor_eeprom(void) { return s_ee_valid ? s_ee : NULL; }
#endif  // !TH_SENSOR_MLX90641
