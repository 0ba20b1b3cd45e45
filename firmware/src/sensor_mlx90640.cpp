// MLX90640 adapter. See sensor_mlx90640.h.
#include <Arduino.h>
#include <Wire.h>
#include <string.h>

#include "MLX90640_API.h"
#include "MLX9064X_I2C_Driver.h"
#include "sensor_mlx90640.h"
#include "tinyheat_config.h"

static paramsMLX90640 s_params;     // calibration, ~11 KB
static uint16_t s_frame[834];       // one subpage of raw data + control/status words
static float s_work[768];           // CalculateTo writes the pixels of one subpage here
static uint8_t s_subpages_seen;     // bit 0 / bit 1: subpage 0 / 1 computed since the last frame
static bool s_ok;
static bool s_wire_started;
static uint8_t s_errors;

// The driver's read returns 0 even when the sensor NACKs, so presence is an explicit ACK probe.
static bool ack(void)
{
    Wire.beginTransmission((uint8_t)TH_MLX_I2C_ADDR);
    return Wire.endTransmission() == 0;
}

bool sensor_begin(uint8_t refresh_code)
{
    static uint16_t ee[832];  // EEPROM image, only needed here
    if (!s_wire_started) {
        Wire.begin();
        s_wire_started = true;
    }
    Wire.setClock(TH_MLX_EEPROM_I2C_HZ);
    s_ok = false;
    s_subpages_seen = 0;
    s_errors = 0;
    if (!ack()) return false;
    if (MLX90640_DumpEE(TH_MLX_I2C_ADDR, ee) != 0) return false;
    if (!ack()) return false;  // a NACK during the dump leaves ee unfilled
    if (MLX90640_ExtractParameters(ee, &s_params) != 0) return false;
    if (MLX90640_SetRefreshRate(TH_MLX_I2C_ADDR, refresh_code & 0x07) != 0) return false;
    Wire.setClock(TH_MLX_RUN_I2C_HZ);
    s_ok = true;
    return true;
}

bool sensor_ok(void) { return s_ok; }

bool sensor_set_refresh(uint8_t code)
{
    if (!s_ok || code > 7 || !ack()) return false;
    s_subpages_seen = 0;
    return MLX90640_SetRefreshRate(TH_MLX_I2C_ADDR, code) == 0;
}

static void count_error(void)
{
    if (++s_errors >= TH_MLX_MAX_ERRORS) s_ok = false;
}

bool sensor_poll(float temps[768], float *ta_degc)
{
    uint16_t status = 0;
    if (!s_ok) return false;
    if (!ack()) {
        s_ok = false;  // unplugged
        return false;
    }
    // status register 0x8000 bit 3: a new subpage is in RAM (datasheet 11.2.2.1)
    if (MLX9064x_I2CRead(TH_MLX_I2C_ADDR, 0x8000, 1, &status) != 0) {
        count_error();
        return false;
    }
    if ((status & 0x0008) == 0) return false;
    int subpage = MLX90640_GetFrameData(TH_MLX_I2C_ADDR, s_frame);  // 0 or 1, < 0 on error
    if (subpage < 0 || subpage > 1) {
        count_error();
        return false;
    }
    s_errors = 0;
    float ta = MLX90640_GetTa(s_frame, &s_params);
    MLX90640_CalculateTo(s_frame, &s_params, TH_MLX_EMISSIVITY, ta - TH_MLX_TA_SHIFT, s_work);
    s_subpages_seen |= (uint8_t)(1u << subpage);
    if (s_subpages_seen != 0x03) return false;
    s_subpages_seen = 0;
    memcpy(temps, s_work, sizeof s_work);
    *ta_degc = ta;
    return true;
}
