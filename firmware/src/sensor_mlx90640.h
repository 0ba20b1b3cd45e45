/**
 * @file sensor_mlx90640.h
 * MLX90640 adapter: its own I2C transfers over Arduino `Wire` (mlx_i2c.h, shared with the
 * MLX90641 adapter: NACK detection, reads as large as the Wire buffer allows, no unbounded
 * waits) and the portable float32 compensation lib/tinyheat_core/th_mlx90640 (datasheet
 * section 11) instead of the Melexis driver's double MLX90640_CalculateTo. A non-blocking frame
 * poll combines the two subpages into one 32x24 frame of degC (row-major, FORMAT.md section 1).
 */
#pragma once
#include <stdint.h>

/** Clear the I2C bus if a slave holds SDA (th_i2c_bus.h: up to 9 SCL clocks + STOP on the
 *  Grove pins as GPIO), (re)start Wire with the SAMD51 SERCOM bus timeouts (SCL low 25-35 ms,
 *  master/slave clock-extend, bus inactivity 205 us: every Wire wait of the core ends), probe
 *  0x33 with an I2C ACK, read the EEPROM twice at 400 kHz (the two copies must agree), extract
 *  the calibration, set the refresh-rate code (0x00..0x07 = 0.5..64 Hz per subpage), then run
 *  I2C at 1 MHz. Takes ~ 90 ms with a sensor, ~ 1 ms without, <= ~10 ms more for a bus clear.
 *  @return 1 if the sensor answered and the calibration was extracted, 0 absent or failed,
 *  TH_SENSOR_BEGIN_SDA_STUCK / TH_SENSOR_BEGIN_SCL_STUCK (th_port.h) if a line stays low after
 *  the bus clear. Safe to call again (retry / re-initialisation after sensor_ok() turned false). */
int sensor_begin(uint8_t refresh_code);

/** true while the sensor answers. Turns false after TH_MLX_MAX_ERRORS consecutive failed polls
 *  (NACK, short read, subpage overwritten during the read, no new subpage for 3 refresh periods):
 *  the caller then re-initialises with sensor_begin() (main.cpp does, every second). */
bool sensor_ok(void);

/** Apply a refresh-rate code 0x00..0x07 (written and read back). @return false if absent or the write failed. */
bool sensor_set_refresh(uint8_t code);

/**
 * Non-blocking: if the sensor has a new subpage, read it (status register, RAM 0x0400..0x073F in
 * 254-byte reads, status again) and compute its pixels with th_mlx_to() (emissivity
 * TH_MLX_EMISSIVITY, reflected temperature Ta - TH_MLX_TA_SHIFT, deviating pixels interpolated
 * as the Melexis driver does). Never waits for the sensor.
 * @param temps  768 floats, degC; written only when a full frame (both subpages) is complete
 * @param ta_degc ambient temperature Ta of the sensor, degC (MLX90640 datasheet 11.2.2.3)
 * @return true when temps holds a new complete frame.
 */
bool sensor_poll(float temps[768], float *ta_degc);

/** Counters for the frame rate and fault reports (HELLO/LOG, status line). */
typedef struct {
    uint32_t subpages;         /**< subpages read and compensated since boot */
    uint32_t frames;           /**< complete frames delivered by sensor_poll() since boot */
    uint32_t dropped_subpages; /**< subpages lost: same subpage twice in a row, or overwritten during the read */
    uint32_t i2c_errors;       /**< NACKs, short reads, failed writes since boot */
    uint32_t stalls;           /**< no new subpage for 3 refresh periods */
    uint32_t begins;           /**< successful sensor_begin() calls (1 = first start; more = re-initialisations) */
    uint32_t bus_clears;       /**< bus clears that freed a held SDA line */
    uint32_t bus_timeouts;     /**< transfers ended by a SERCOM timeout or bus error (STATUS LOWTOUT/MEXTTOUT/SEXTTOUT/BUSERR) */
    float frames_per_s;        /**< complete frames per second over the last window of >= 2 s (0 before) */
    uint32_t read_us;          /**< last subpage: I2C time (status + RAM + status), microseconds */
    uint32_t compensate_us;    /**< last subpage: th_mlx_to() time, microseconds */
    int last_error;            /**< last failure: 0 none, -1 NACK/short read, -2 write not accepted,
                                    -3 EEPROM copies differ, -4 calibration rejected (th_mlx_extract),
                                    -5 subpage overwritten during the read, -6 stall, -7 th_mlx_to failed,
                                    -8 bus held low after the bus clear, -9 SERCOM bus timeout */
} sensor_stats_t;

/** Copy the counters (never blocks). */
void sensor_stats(sensor_stats_t *out);

/** The 832-word EEPROM image (0x2400..0x273F) read by the last successful sensor_begin(), or
 *  NULL before the first one. Valid for the program's lifetime (static storage). */
const uint16_t *sensor_eeprom(void);
