/**
 * @file sensor_mlx90640.h
 * MLX90640 adapter over Seeed_Arduino_MLX9064x (Melexis driver): presence check, EEPROM
 * calibration, refresh rate, and a non-blocking frame poll that combines the two subpages
 * into one 32x24 frame of degC (row-major, FORMAT.md section 1).
 */
#pragma once
#include <stdint.h>

/** Probe 0x33 with an I2C ACK, dump the EEPROM and extract the calibration at 400 kHz, set
 *  the refresh-rate code (0x00..0x07 = 0.5..64 Hz per subpage), then run I2C at 1 MHz.
 *  @return true if the sensor answered and the calibration was extracted. Safe to call again (retry). */
bool sensor_begin(uint8_t refresh_code);

/** true while the sensor answers (set false after TH_MLX_MAX_ERRORS consecutive errors or a NACK). */
bool sensor_ok(void);

/** Apply a refresh-rate code 0x00..0x07. @return false if absent or the write failed. */
bool sensor_set_refresh(uint8_t code);

/**
 * Non-blocking: if the sensor has a new subpage, read it and compute its pixels
 * (MLX90640_GetFrameData + MLX90640_CalculateTo, emissivity 0.95, reflected temperature Ta - 8).
 * @param temps  768 floats, degC; written only when a full frame (both subpages) is complete
 * @param ta_degc ambient temperature Ta of the sensor, degC (MLX90640 datasheet 11.2.2.3)
 * @return true when temps holds a new complete frame.
 */
bool sensor_poll(float temps[768], float *ta_degc);
