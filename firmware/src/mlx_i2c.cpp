// Register access and run bookkeeping shared by the MLX90640 and MLX90641 adapters. See mlx_i2c.h.
#include <Arduino.h>
#include <Wire.h>
#include <string.h>

#include "mlx_i2c.h"
#include "i2c_bounded.h"
#include "th_port.h"
#include "tinyheat_config.h"

// ArduinoCore-samd's TwoWire buffers in RingBufferN<256> (255 bytes usable) and requestFrom()
// returns a uint8_t count: 254 bytes = 127 words per read (the MLX90640 RAM in 7 reads instead of
// the Seeed driver's 52 reads of 32 bytes).
#define MLX_MAX_READ_WORDS 127
#define FPS_WINDOW_MS 2000u

sensor_stats_t mlx_stats;
static uint16_t s_ctrl1;         // control register 1 as last written
static bool s_ok;
static uint8_t s_errors;         // consecutive failed polls
static uint32_t s_last_data_ms;  // last new subpage (or stall report, refresh change, begin)
static uint32_t s_poll_ms;       // millis() at the start of the current poll
static uint32_t s_read_t0_us;    // micros() before the status clear of the current poll
static uint32_t s_fps_t0, s_fps_frames0;

// ---- 16-bit register access (datasheet 10.2.1.4) -----------------------------------------------
int mlx_read_words(uint16_t reg, uint16_t n, uint16_t *dst)
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

// One word, no read-back: 0 or -1 (NACK / time-out).
static int write_word_unchecked(uint16_t reg, uint16_t value)
{
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    Wire.write((uint8_t)(reg >> 8));
    Wire.write((uint8_t)(reg & 0xFF));
    Wire.write((uint8_t)(value >> 8));
    Wire.write((uint8_t)(value & 0xFF));
    return Wire.endTransmission() != 0 || i2c_timed_out() ? -1 : 0;
}

int mlx_write_word(uint16_t reg, uint16_t value)
{
    uint16_t back = 0;
    if (write_word_unchecked(reg, value) != 0) return -1;
    if (mlx_read_words(reg, 1, &back) != 0) return -1;
    return back == value ? 0 : -2;
}

// ---- bookkeeping --------------------------------------------------------------------------------
void mlx_fail(int code)
{
    mlx_stats.last_error = code;
    if (code == -1 || code == -2 || code == -9) mlx_stats.i2c_errors++;
}

bool mlx_count_error(int code)
{
    mlx_fail(code);
    if (++s_errors >= TH_MLX_MAX_ERRORS) s_ok = false;  // the caller re-initialises
    return false;
}

uint16_t mlx_ctrl1(void) { return s_ctrl1; }

bool sensor_ok(void) { return s_ok; }

void sensor_stats(sensor_stats_t *out)
{
    mlx_stats.bus_clears = i2c_bus_clears();
    mlx_stats.bus_timeouts = i2c_bus_timeouts();
    if (out) *out = mlx_stats;
}

static uint32_t subpage_period_ms(void)
{
    return 2000u >> ((s_ctrl1 >> 7) & 0x7);  // code 0 = 0.5 Hz ... 7 = 64 Hz (MLX90640 datasheet 8.2.1)
}

static void update_fps(uint32_t now)
{
    uint32_t dt = now - s_fps_t0;
    if (s_fps_t0 == 0) {
        s_fps_t0 = now;
        s_fps_frames0 = mlx_stats.frames;
    } else if (dt >= FPS_WINDOW_MS) {
        mlx_stats.frames_per_s = (float)(mlx_stats.frames - s_fps_frames0) * 1000.0f / (float)dt;
        s_fps_t0 = now;
        s_fps_frames0 = mlx_stats.frames;
    }
}

// write control register 1 (read back); on failure last_error -1 / -2
static bool write_ctrl1(uint16_t ctrl)
{
    int w = mlx_write_word(MLX_REG_CTRL1, ctrl);
    if (w != 0) {
        mlx_fail(w);
        return false;
    }
    s_ctrl1 = ctrl;
    return true;
}

// ---- sensor_begin / sensor_set_refresh / sensor_poll steps ---------------------------------------
int mlx_begin_bus(void)
{
    s_ok = false;
    s_errors = 0;
    th_i2c_bus_result_t bus = i2c_bus_restart(TH_MLX_EEPROM_I2C_HZ);
    if (bus < 0) {
        mlx_fail(-8);
        return bus == TH_I2C_BUS_SCL_STUCK ? TH_SENSOR_BEGIN_SCL_STUCK : TH_SENSOR_BEGIN_SDA_STUCK;
    }
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);  // ACK probe
    if (Wire.endTransmission() != 0 || i2c_timed_out()) {
        mlx_fail(-1);
        return 0;
    }
    return 1;
}

bool mlx_read_eeprom_twice(uint16_t n, uint16_t *a, uint16_t *b)
{
    if (mlx_read_words(MLX_EEPROM, n, a) != 0 || mlx_read_words(MLX_EEPROM, n, b) != 0) {
        mlx_fail(-1);
        return false;
    }
    if (memcmp(a, b, (size_t)n * sizeof *a) != 0) {
        mlx_fail(-3);
        return false;
    }
    return true;
}

bool mlx_begin_finish(uint8_t refresh_code)
{
    uint16_t ctrl = 0;
    if (mlx_read_words(MLX_REG_CTRL1, 1, &ctrl) != 0) {
        mlx_fail(-1);
        return false;
    }
    if (!write_ctrl1((uint16_t)((ctrl & 0xFC7F) | ((refresh_code & 0x07) << 7)))) return false;
    i2c_wire_clock(TH_MLX_RUN_I2C_HZ);
    s_last_data_ms = millis();
    s_ok = true;
    mlx_stats.begins++;
    return true;
}

bool mlx_set_refresh(uint8_t code)
{
    if (!s_ok || code > 7) return false;
    if (!write_ctrl1((uint16_t)((s_ctrl1 & 0xFC7F) | (code << 7)))) return false;
    s_last_data_ms = millis();
    return true;
}

bool mlx_poll_start(uint16_t *status)
{
    if (!s_ok) return false;
    uint32_t now = millis();
    s_poll_ms = now;
    update_fps(now);
    if (mlx_read_words(MLX_REG_STATUS, 1, status) != 0) return mlx_count_error(-1);
    if ((*status & 0x0008) == 0) {
        // no new subpage: only a stall (3 refresh periods) is an error, and only once per period
        if (now - s_last_data_ms > 3u * subpage_period_ms() + 50u) {
            mlx_stats.stalls++;
            s_last_data_ms = now;
            return mlx_count_error(-6);
        }
        return false;
    }
    s_read_t0_us = micros();
    // clear "new data" (write 0x0030 as the Melexis driver); mlx_poll_read_done() then checks that
    // no new subpage overwrote the RAM meanwhile (the bit would be set again)
    if (write_word_unchecked(MLX_REG_STATUS, 0x0030) != 0) return mlx_count_error(-1);
    return true;
}

bool mlx_poll_read_done(void)
{
    uint16_t status2 = 0;
    if (mlx_read_words(MLX_REG_STATUS, 1, &status2) != 0) return mlx_count_error(-1);  // also catches an unplug mid-read
    mlx_stats.read_us = micros() - s_read_t0_us;
    s_last_data_ms = s_poll_ms;
    if (status2 & 0x0008) {
        mlx_stats.dropped_subpages++;
        return mlx_count_error(-5);
    }
    return true;
}

bool mlx_poll_compensated(uint32_t t_us, bool ok)
{
    mlx_stats.compensate_us = micros() - t_us;
    if (!ok) return mlx_count_error(-7);
    s_errors = 0;
    mlx_stats.subpages++;
    return true;
}
