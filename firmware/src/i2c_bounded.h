/**
 * @file i2c_bounded.h
 * Bounded I2C for the sensor adapters (sensor_mlx90640.cpp, sensor_mlx90641.cpp) on the Grove
 * I2C port (Wire, SERCOM3): the SAMD51 SERCOM bus time-outs after every Wire (re)start, so
 * none of the pinned core's Wire waits is unbounded, and the I2C bus clear (th_i2c_bus.h: up to
 * 9 SCL clocks + STOP on the pins as GPIO) before Wire is started again.
 */
#pragma once
#include <stdint.h>

#include "th_i2c_bus.h"

/** Wire.setClock(hz), then the SERCOM time-outs again (setClock resets CTRLA). */
void i2c_wire_clock(uint32_t hz);
/** Stop Wire, run the bus clear on the pins, start Wire at hz with the time-outs.
 *  @return the bus clear's result (< 0: a line stays low). */
th_i2c_bus_result_t i2c_bus_restart(uint32_t hz);
/** true if the last transfer ended by a SERCOM time-out or bus error (then cleared). */
bool i2c_timed_out(void);
/** Bus clears that freed a held SDA line; transfers ended by a time-out or bus error. */
uint32_t i2c_bus_clears(void);
uint32_t i2c_bus_timeouts(void);
