// MLX90640 adapter (the default sensor; -DTH_SENSOR_MLX90641 builds sensor_mlx90641.cpp instead). See sensor_mlx90640.h.
// I2C protocol (MLX90640 datasheet section 8 / 10): write the 16-bit register address, repeated
// start, read big-endian words. Status register 0x8000: bit 3 = new data in RAM, bit 0 = the
// subpage it belongs to; writing 0x0030 clears bit 3 (the Melexis driver's GetFrameData does the same).
#ifndef TH_SENSOR_MLX90641
#include <Arduino.h>
#include <Wire.h>
#include <math.h>
#include <string.h>

#include "sensor_mlx90640.h"
#include "i2c_bounded.h"
#include "th_i2c_bus.h"
#include "th_mlx90640.h"
#include "th_port.h"
#include "tinyheat_config.h"

// ArduinoCore-samd's TwoWire buffers in RingBufferN<256> (255 bytes usable) and requestFrom()
// returns a uint8_t count: 254 bytes = 127 words per read (RAM: 7 reads instead of the Seeed
// driver's 52 reads of 32 bytes).
#define MLX_MAX_READ_WORDS 127
#define MLX_REG_STATUS 0x8000
#define MLX_REG_CTRL1 0x800D
#define MLX_EEPROM 0x2400
#define MLX_RAM 0x0400
#define FPS_WINDOW_MS 2000u

static th_mlx_params_t s_params;     // calibration, ~12 KB
static uint16_t s_ee[TH_MLX_EE_WORDS];
static uint16_t s_ee_check[TH_MLX_EE_WORDS];
static bool s_ee_valid;
static uint16_t s_frame[TH_MLX_FRAME_WORDS];  // one subpage of raw data + control/subpage words
static float s_work[768];             // both subpages' pixels accumulate here
static uint16_t s_ctrl1;              // control register 1 as last written/read
static uint8_t s_subpages_seen;       // bit 0 / bit 1: subpage 0 / 1 computed since the last frame
static int8_t s_last_subpage = -1;
static bool s_ok;
static uint8_t s_errors;              // consecutive failed polls
static uint32_t s_last_data_ms;
static uint32_t s_fps_t0, s_fps_frames0;
static sensor_stats_t s_stats;

static void fail(int code)
{
    s_stats.last_error = code;
    if (code == -1 || code == -2 || code == -9) s_stats.i2c_errors++;
}

// Read n words from register address `reg`. NACK of the address/register (endTransmission != 0)
// or of the read address (requestFrom returns 0) or a short read -> -1.
static int read_words(uint16_t reg, uint16_t n, uint16_t *dst)
{
    while (n > 0) {
        uint16_t chunk = n > MLX_MAX_READ_WORDS ? MLX_MAX_READ_WORDS : n;
        size_t bytes = (size_t)chunk * 2u;
        Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
        Wire.write((uint8_t)(reg >> 8));
        Wire.write((uint8_t)(reg & 0xFF));
        if (Wire.endTransmission(false) != 0 || i2c_timed_out()) return -1;  // repeated start follows
        if (Wire.requestFrom((uint8_t)TH_MLX_I2C_ADDR, bytes, true) != bytes || i2c_timed_out()) return -1;
        if ((size_t)Wire.available() < bytes) return -1;
        for (uint16_t i = 0; i < chunk; i++) {
            uint16_t hi = (uint16_t)Wire.read();
            uint16_t lo = (uint16_t)Wire.read();
            dst[i] = (uint16_t)((hi << 8) | lo);
        }
        dst += chunk;
        reg = (uint16_t)(reg + chunk);
        n = (uint16_t)(n - chunk);
    }
    return 0;
}

// Write one word and read it back (the sensor ignores writes to read-only bits: mask them).
static int write_word(uint16_t reg, uint16_t value, uint16_t check_mask)
{
    uint16_t back = 0;
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    Wire.write((uint8_t)(reg >> 8));
    Wire.write((uint8_t)(reg & 0xFF));
    Wire.write((uint8_t)(value >> 8));
    Wire.write((uint8_t)(value & 0xFF));
    if (Wire.endTransmission() != 0 || i2c_timed_out()) return -1;
    if (read_words(reg, 1, &back) != 0) return -1;
    return ((back ^ value) & check_mask) ? -2 : 0;
}

static bool ack(void)
{
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    return Wire.endTransmission() == 0 && !i2c_timed_out();
}

static uint32_t subpage_period_ms(void)
{
    return 2000u >> ((s_ctrl1 >> 7) & 0x7);  // code 0 = 0.5 Hz ... 7 = 64 Hz (datasheet 8.2.1)
}

int sensor_begin(uint8_t refresh_code)
{
    s_ok = false;
    s_subpages_seen = 0;
    s_last_subpage = -1;
    s_errors = 0;
    th_i2c_bus_result_t bus = i2c_bus_restart(TH_MLX_EEPROM_I2C_HZ);
    if (bus < 0) {
        fail(-8);
        return bus == TH_I2C_BUS_SCL_STUCK ? TH_SENSOR_BEGIN_SCL_STUCK : TH_SENSOR_BEGIN_SDA_STUCK;
    }
    if (!ack()) {
        fail(-1);
        return 0;
    }
    // two reads of the EEPROM must agree: a glitch or an unplugged cable mid-dump is caught here
    if (read_words(MLX_EEPROM, TH_MLX_EE_WORDS, s_ee_check) != 0 || read_words(MLX_EEPROM, TH_MLX_EE_WORDS, s_frame) != 0) {
        fail(-1);
        return 0;
    }
    if (memcmp(s_ee_check, s_frame, sizeof s_ee_check) != 0) {
        fail(-3);
        return 0;
    }
    if (th_mlx_extract(s_ee_check, &s_params) != TH_MLX_OK) {
        fail(-4);
        return 0;
    }
    memcpy(s_ee, s_ee_check, sizeof s_ee);
    s_ee_valid = true;
    uint16_t ctrl = 0;
    if (read_words(MLX_REG_CTRL1, 1, &ctrl) != 0) {
        fail(-1);
        return 0;
    }
    ctrl = (uint16_t)((ctrl & 0xFC7F) | ((refresh_code & 0x07) << 7));
    int w = write_word(MLX_REG_CTRL1, ctrl, 0xFFFF);
    if (w != 0) {
        fail(w);
        return 0;
    }
    s_ctrl1 = ctrl;
    i2c_wire_clock(TH_MLX_RUN_I2C_HZ);
    for (int i = 0; i < 768; i++) s_work[i] = NAN;
    s_last_data_ms = millis();
    s_ok = true;
    s_stats.begins++;
    return 1;
}

bool sensor_ok(void) { return s_ok; }

bool sensor_set_refresh(uint8_t code)
{
    if (!s_ok || code > 7) return false;
    uint16_t ctrl = (uint16_t)((s_ctrl1 & 0xFC7F) | (code << 7));
    int w = write_word(MLX_REG_CTRL1, ctrl, 0xFFFF);
    if (w != 0) {
        fail(w);
        return false;
    }
    s_ctrl1 = ctrl;
    s_subpages_seen = 0;
    s_last_subpage = -1;
    s_last_data_ms = millis();
    return true;
}

static bool count_error(int code)
{
    fail(code);
    if (++s_errors >= TH_MLX_MAX_ERRORS) s_ok = false;  // the caller re-initialises
    return false;
}

static void update_fps(uint32_t now)
{
    uint32_t dt = now - s_fps_t0;
    if (s_fps_t0 == 0) {
        s_fps_t0 = now;
        s_fps_frames0 = s_stats.frames;
    } else if (dt >= FPS_WINDOW_MS) {
        s_stats.frames_per_s = (float)(s_stats.frames - s_fps_frames0) * 1000.0f / (float)dt;
        s_fps_t0 = now;
        s_fps_frames0 = s_stats.frames;
    }
}

bool sensor_poll(float temps[768], float *ta_degc)
{
    uint16_t status = 0;
    if (!s_ok) return false;
    uint32_t now = millis();
    update_fps(now);
    if (read_words(MLX_REG_STATUS, 1, &status) != 0) return count_error(-1);
    if ((status & 0x0008) == 0) {
        // no new subpage: only a stall (3 refresh periods) is an error, and only once per period
        if (now - s_last_data_ms > 3u * subpage_period_ms() + 50u) {
            s_stats.stalls++;
            s_last_data_ms = now;
            return count_error(-6);
        }
        return false;
    }
    uint32_t t0 = micros();
    // clear "new data" (write 0x0030 as the Melexis driver), read the RAM, then check that no
    // new subpage overwrote it meanwhile (the bit would be set again)
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    Wire.write((uint8_t)(MLX_REG_STATUS >> 8));
    Wire.write((uint8_t)(MLX_REG_STATUS & 0xFF));
    Wire.write((uint8_t)0x00);
    Wire.write((uint8_t)0x30);
    if (Wire.endTransmission() != 0 || i2c_timed_out()) return count_error(-1);
    if (read_words(MLX_RAM, TH_MLX_RAM_WORDS, s_frame) != 0) return count_error(-1);
    uint16_t status2 = 0;
    if (read_words(MLX_REG_STATUS, 1, &status2) != 0) return count_error(-1);  // also catches an unplug mid-read
    s_stats.read_us = micros() - t0;
    s_last_data_ms = now;
    if (status2 & 0x0008) {
        s_stats.dropped_subpages++;
        return count_error(-5);
    }
    int subpage = status & 0x0001;
    s_frame[TH_MLX_IDX_CTRL1] = s_ctrl1;
    s_frame[TH_MLX_IDX_SUBPAGE] = (uint16_t)subpage;
    float ta = 0.0f;
    uint32_t t1 = micros();
    // reflected temperature Ta - TH_MLX_TA_SHIFT needs this subpage's Ta first
    float ta_now = th_mlx_ta(s_frame, &s_params);
    int r = th_mlx_to(s_frame, &s_params, TH_MLX_EMISSIVITY, ta_now - TH_MLX_TA_SHIFT, TH_MLX_BAD_INTERPOLATE, s_work, &ta);
    s_stats.compensate_us = micros() - t1;
    if (r < 0) return count_error(-7);
    s_errors = 0;
    s_stats.subpages++;
    if (s_last_subpage == subpage) s_stats.dropped_subpages++;  // the other subpage was missed
    s_last_subpage = (int8_t)subpage;
    s_subpages_seen |= (uint8_t)(1u << subpage);
    if (s_subpages_seen != 0x03) return false;
    s_subpages_seen = 0;
    memcpy(temps, s_work, sizeof s_work);
    *ta_degc = ta;
    s_stats.frames++;
    return true;
}

void sensor_stats(sensor_stats_t *out)
{
    s_stats.bus_clears = i2c_bus_clears();
    s_stats.bus_timeouts = i2c_bus_timeouts();
    if (out) *out = s_stats;
}

const uint16_t *sensor_eeprom(void) { return s_ee_valid ? s_ee : NULL; }
#endif  // !TH_SENSOR_MLX90641
