// MLX90641 (16 x 12) adapter, built instead of sensor_mlx90640.cpp with -DTH_SENSOR_MLX90641
// (platformio.ini env seeed_wio_terminal_mlx90641); the same interface (sensor_mlx90640.h), so
// main.cpp and the device loop do not change. I2C as the MLX90640 (address 0x33, status 0x8000
// bit 3 = new data / bit 0 = subpage, control 0x800D bits 7..9 = refresh code, EEPROM
// 0x2400..0x273F); every subpage is a complete 16 x 12 image: its 192 pixels in six 32-word
// blocks (subpage 0 at 0x0400, 0x0440, ..., 0x0540; subpage 1 at 0x0420, ..., 0x0560) and the
// auxiliary words 0x0580..0x05AF (Melexis MLX90641_GetFrameData). Compensation:
// lib/tinyheat_core/th_mlx90641 (float32, Hamming-decoded EEPROM).
#ifdef TH_SENSOR_MLX90641
#include <Arduino.h>
#include <Wire.h>
#include <math.h>
#include <string.h>

#include "i2c_bounded.h"
#include "sensor_mlx90640.h"
#include "th_mlx90641.h"
#include "th_port.h"
#include "tinyheat_config.h"

#define MLX_MAX_READ_WORDS 127
#define MLX_REG_STATUS 0x8000
#define MLX_REG_CTRL1 0x800D
#define MLX_EEPROM 0x2400
#define FPS_WINDOW_MS 2000u

static th_mlx41_params_t s_params;  // ~4.7 KB
static uint16_t s_ee[TH_MLX41_EE_WORDS];       // raw image (Hamming coded), as backed up on the card
static uint16_t s_ee_work[TH_MLX41_EE_WORDS];  // second read, then decoded
static bool s_ee_valid;
static uint16_t s_frame[TH_MLX41_FRAME_WORDS];
static uint16_t s_ctrl1;
static bool s_ok;
static uint8_t s_errors;
static uint32_t s_last_data_ms, s_fps_t0, s_fps_frames0;
static sensor_stats_t s_stats;

static void fail(int code)
{
    s_stats.last_error = code;
    if (code == -1 || code == -2 || code == -9) s_stats.i2c_errors++;
}

static int read_words(uint16_t reg, uint16_t n, uint16_t *dst)
{
    while (n > 0) {
        uint16_t chunk = n > MLX_MAX_READ_WORDS ? MLX_MAX_READ_WORDS : n;
        size_t bytes = (size_t)chunk * 2u;
        Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
        Wire.write((uint8_t)(reg >> 8));
        Wire.write((uint8_t)(reg & 0xFF));
        if (Wire.endTransmission(false) != 0 || i2c_timed_out()) return -1;
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

static int write_word(uint16_t reg, uint16_t value)
{
    uint16_t back = 0;
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    Wire.write((uint8_t)(reg >> 8));
    Wire.write((uint8_t)(reg & 0xFF));
    Wire.write((uint8_t)(value >> 8));
    Wire.write((uint8_t)(value & 0xFF));
    if (Wire.endTransmission() != 0 || i2c_timed_out()) return -1;
    if (read_words(reg, 1, &back) != 0) return -1;
    return back == value ? 0 : -2;
}

static uint32_t subpage_period_ms(void) { return 2000u >> ((s_ctrl1 >> 7) & 0x7); }

int sensor_begin(uint8_t refresh_code)
{
    s_ok = false;
    s_errors = 0;
    th_i2c_bus_result_t bus = i2c_bus_restart(TH_MLX_EEPROM_I2C_HZ);
    if (bus < 0) {
        fail(-8);
        return bus == TH_I2C_BUS_SCL_STUCK ? TH_SENSOR_BEGIN_SCL_STUCK : TH_SENSOR_BEGIN_SDA_STUCK;
    }
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    if (Wire.endTransmission() != 0 || i2c_timed_out()) {
        fail(-1);
        return 0;
    }
    // two reads must agree (a glitch or an unplugged cable mid-dump): s_ee keeps the raw image
    s_ee_valid = false;
    if (read_words(MLX_EEPROM, TH_MLX41_EE_WORDS, s_ee) != 0 || read_words(MLX_EEPROM, TH_MLX41_EE_WORDS, s_ee_work) != 0) {
        fail(-1);
        return 0;
    }
    if (memcmp(s_ee, s_ee_work, sizeof s_ee) != 0) {
        fail(-3);
        return 0;
    }
    if (th_mlx41_hamming_decode(s_ee_work) < 0 || th_mlx41_extract(s_ee_work, &s_params) != TH_MLX41_OK) {
        fail(-4);
        return 0;
    }
    s_ee_valid = true;
    uint16_t ctrl = 0;
    if (read_words(MLX_REG_CTRL1, 1, &ctrl) != 0) {
        fail(-1);
        return 0;
    }
    ctrl = (uint16_t)((ctrl & 0xFC7F) | ((refresh_code & 0x07) << 7));
    int w = write_word(MLX_REG_CTRL1, ctrl);
    if (w != 0) {
        fail(w);
        return 0;
    }
    s_ctrl1 = ctrl;
    i2c_wire_clock(TH_MLX_RUN_I2C_HZ);
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
    int w = write_word(MLX_REG_CTRL1, ctrl);
    if (w != 0) {
        fail(w);
        return false;
    }
    s_ctrl1 = ctrl;
    s_last_data_ms = millis();
    return true;
}

static bool count_error(int code)
{
    fail(code);
    if (++s_errors >= TH_MLX_MAX_ERRORS) s_ok = false;
    return false;
}

bool sensor_poll(float temps[768], float *ta_degc)
{
    uint16_t status = 0;
    if (!s_ok) return false;
    uint32_t now = millis();
    if (s_fps_t0 == 0) {
        s_fps_t0 = now;
        s_fps_frames0 = s_stats.frames;
    } else if (now - s_fps_t0 >= FPS_WINDOW_MS) {
        s_stats.frames_per_s = (float)(s_stats.frames - s_fps_frames0) * 1000.0f / (float)(now - s_fps_t0);
        s_fps_t0 = now;
        s_fps_frames0 = s_stats.frames;
    }
    if (read_words(MLX_REG_STATUS, 1, &status) != 0) return count_error(-1);
    if ((status & 0x0008) == 0) {
        if (now - s_last_data_ms > 3u * subpage_period_ms() + 50u) {
            s_stats.stalls++;
            s_last_data_ms = now;
            return count_error(-6);
        }
        return false;
    }
    uint32_t t0 = micros();
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    Wire.write((uint8_t)(MLX_REG_STATUS >> 8));
    Wire.write((uint8_t)(MLX_REG_STATUS & 0xFF));
    Wire.write((uint8_t)0x00);
    Wire.write((uint8_t)0x30);
    if (Wire.endTransmission() != 0 || i2c_timed_out()) return count_error(-1);
    int subpage = status & 0x0001;
    for (int b = 0; b < 6; b++)  // the subpage's six 32-word pixel blocks
        if (read_words((uint16_t)(0x0400 + 0x40 * b + 0x20 * subpage), 32, s_frame + 32 * b) != 0) return count_error(-1);
    if (read_words(0x0580, 48, s_frame + TH_MLX41_PIXELS) != 0) return count_error(-1);
    uint16_t status2 = 0;
    if (read_words(MLX_REG_STATUS, 1, &status2) != 0) return count_error(-1);
    s_stats.read_us = micros() - t0;
    s_last_data_ms = now;
    if (status2 & 0x0008) {
        s_stats.dropped_subpages++;
        return count_error(-5);
    }
    s_frame[TH_MLX41_IDX_CTRL1] = s_ctrl1;
    s_frame[TH_MLX41_IDX_SUBPAGE] = (uint16_t)subpage;
    uint32_t t1 = micros();
    float ta = th_mlx41_ta(s_frame, &s_params);
    int r = th_mlx41_to(s_frame, &s_params, TH_MLX_EMISSIVITY, ta - TH_MLX41_TA_SHIFT, temps, ta_degc);
    s_stats.compensate_us = micros() - t1;
    if (r != TH_MLX41_OK) return count_error(-7);
    s_errors = 0;
    s_stats.subpages++;
    s_stats.frames++;
    return true;  // every MLX90641 subpage is a complete image
}

void sensor_stats(sensor_stats_t *out)
{
    s_stats.bus_clears = i2c_bus_clears();
    s_stats.bus_timeouts = i2c_bus_timeouts();
    if (out) *out = s_stats;
}

const uint16_t *sensor_eeprom(void) { return s_ee_valid ? s_ee : NULL; }
#endif  // TH_SENSOR_MLX90641
