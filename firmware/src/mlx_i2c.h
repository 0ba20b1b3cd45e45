/**
 * @file mlx_i2c.h
 * What the two Melexis sensor adapters (sensor_mlx90640.cpp, sensor_mlx90641.cpp; one of them is
 * built) share: 16-bit register access over Arduino `Wire` at TH_MLX_I2C_ADDR, and the run
 * bookkeeping behind sensor_begin/sensor_poll/sensor_set_refresh (error codes and counters of
 * sensor_stats_t, consecutive-error health, frames-per-second window, stall detection).
 * This file also implements sensor_ok() and sensor_stats() of sensor_mlx90640.h for both.
 *
 * Register access (MLX90640 datasheet rev. 11, 10.2.1.4 "I2C command format", figures 4 and 5;
 * the MLX90641 uses the same frames): addresses and data are 16-bit words, sent and received
 * most significant byte first. Read: START, SA+W, address high, address low, repeated START,
 * SA+R, n words, STOP; the sensor advances the address by one per word. Write: START, SA+W,
 * address high, address low, data high, data low, STOP.
 *
 * Return codes of the register functions: 0 done, -1 NACK / short read / SERCOM time-out
 * (i2c_bounded.h), -2 the written word did not read back. They are also the sensor_stats_t
 * last_error codes.
 */
#pragma once
#include <stdint.h>

#include "sensor_mlx90640.h"

#define MLX_REG_STATUS 0x8000 /**< status register: bit 3 new subpage in RAM, bit 0 its subpage */
#define MLX_REG_CTRL1 0x800D  /**< control register 1: bits 7..9 refresh-rate code */
#define MLX_EEPROM 0x2400     /**< first EEPROM word */

/** Read n words starting at register `reg` into dst (n x uint16_t, host order), in reads of
 *  at most 127 words (254 bytes: the core's TwoWire buffer holds 255 and requestFrom() counts in
 *  uint8_t). @return 0, or -1 on a NACK of the address or register, a short read or a time-out. */
int mlx_read_words(uint16_t reg, uint16_t n, uint16_t *dst);

/** Write one word to `reg`, then read it back. @return 0, -1 (as mlx_read_words), -2 read back differs. */
int mlx_write_word(uint16_t reg, uint16_t value);

/** Record a failure in sensor_stats_t: last_error = code; -1, -2 and -9 also count as i2c_errors. */
void mlx_fail(int code);

/** A failed poll: mlx_fail(code), and after TH_MLX_MAX_ERRORS in a row sensor_ok() turns false
 *  (the caller re-initialises). @return false, for `return mlx_count_error(code);` in sensor_poll. */
bool mlx_count_error(int code);

/** The counters. The adapter's sensor_poll adds frames, and for the MLX90640 a missed subpage to dropped_subpages. */
extern sensor_stats_t mlx_stats;

/** Control register 1 (0x800D) as last written by mlx_begin_finish() / mlx_set_refresh(). */
uint16_t mlx_ctrl1(void);

/** sensor_begin, first part: mark the sensor down, restart the bus at TH_MLX_EEPROM_I2C_HZ with the
 *  bus clear, probe TH_MLX_I2C_ADDR with an ACK.
 *  @return 1 go on, 0 no ACK (last_error -1), TH_SENSOR_BEGIN_SDA_STUCK / _SCL_STUCK (last_error -8). */
int mlx_begin_bus(void);

/** Read the n-word EEPROM (MLX_EEPROM) into a and into b; the copies must agree.
 *  @return true if they do; false with last_error -1 (read failed) or -3 (copies differ). */
bool mlx_read_eeprom_twice(uint16_t n, uint16_t *a, uint16_t *b);

/** sensor_begin, last part: set the refresh-rate code (0..7 = 0.5..64 Hz per subpage, control
 *  register bits 7..9, the other bits kept) with read-back, switch I2C to TH_MLX_RUN_I2C_HZ,
 *  mark the sensor up. @return true, or false with last_error -1 / -2. */
bool mlx_begin_finish(uint8_t refresh_code);

/** sensor_set_refresh: write the refresh-rate code 0..7 (read back) and restart the stall timer.
 *  @return false if the sensor is down, the code > 7 or the write failed (last_error -1 / -2). */
bool mlx_set_refresh(uint8_t code);

/** sensor_poll, first part (never waits): update the frames-per-second window, read the status
 *  register; with a new subpage clear its flag (write 0x0030, as Melexis' GetFrameData) and start
 *  the read_us clock. No new subpage for 3 refresh periods + 50 ms is a stall (last_error -6,
 *  once per period). @param status the status register read (bit 0 = subpage)
 *  @return true if the caller should now read the subpage's RAM; errors are already counted. */
bool mlx_poll_start(uint16_t *status);

/** sensor_poll, after the RAM read: read the status again; new data meanwhile means the RAM was
 *  overwritten (dropped_subpages, last_error -5). Sets read_us (clear + RAM + status, us).
 *  @return true if the RAM read is one whole subpage; errors are already counted. */
bool mlx_poll_read_done(void);

/** sensor_poll, after the compensation started at micros() = t_us: set compensate_us; on success
 *  reset the consecutive-error count and count the subpage. @return ok (false: last_error -7). */
bool mlx_poll_compensated(uint32_t t_us, bool ok);
