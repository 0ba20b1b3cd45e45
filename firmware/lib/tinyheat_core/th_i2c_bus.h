/**
 * @file th_i2c_bus.h
 * I2C bus clear for a bus held low by a slave (e.g. a sensor reset or unplugged mid-byte keeps
 * SDA low, so every START fails): the "bus clear" of the I2C specification (NXP UM10204 rev. 7,
 * section 3.1.16): with SDA released, clock SCL up to 9 times until the slave releases SDA, then
 * generate a STOP (SDA low -> high while SCL is high). A line held low for longer than the
 * allowed clock stretch is reported, never waited for without bound.
 *
 * Portable: the pins are driven through th_i2c_pins_t (open drain: "release" lets the pull-up
 * raise the line, "low" drives it to ground). The board's adapter (src/sensor_mlx90640.cpp) runs
 * it on the Grove I2C pins before (re)initialising Wire; the host tests run it on a model of a
 * slave that holds SDA (firmware/test/host/th_unit_tests.c).
 */
#ifndef TH_I2C_BUS_H
#define TH_I2C_BUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *ctx;
    void (*scl_low)(void *ctx);      /**< drive SCL to ground */
    void (*scl_release)(void *ctx);  /**< release SCL (input; the pull-up raises it) */
    void (*sda_low)(void *ctx);
    void (*sda_release)(void *ctx);
    int (*scl_read)(void *ctx);      /**< 1 high, 0 low */
    int (*sda_read)(void *ctx);
    void (*delay_us)(void *ctx, unsigned us);
} th_i2c_pins_t;

/** Half of an SCL period during the bus clear, us (100 kHz standard mode: 5 us). */
#define TH_I2C_CLEAR_HALF_US 5u
/** Longest clock stretch accepted while SCL is released, us (SMBus tTIMEOUT min is 25 ms; the
 *  MLX90640 does not stretch). */
#define TH_I2C_STRETCH_MAX_US 1000u

typedef enum {
    TH_I2C_BUS_IDLE = 0,      /**< both lines were high: nothing to do (a STOP was sent anyway) */
    TH_I2C_BUS_CLEARED = 1,   /**< SDA was held low and was released after `pulses` clocks */
    TH_I2C_BUS_SDA_STUCK = -1,/**< SDA still low after 9 clocks (a slave or the cable holds it) */
    TH_I2C_BUS_SCL_STUCK = -2 /**< SCL stays low when released (held by a slave or shorted) */
} th_i2c_bus_result_t;

/** Run the bus clear. pulses (may be NULL): SCL clocks given. Bounded: at most
 *  9 clocks + STOP and TH_I2C_STRETCH_MAX_US of waiting per released clock, about 10 ms worst case. */
th_i2c_bus_result_t th_i2c_bus_clear(const th_i2c_pins_t *pins, int *pulses);

/** Text for the status line / LOG: "I2C bus stuck: SDA held low" etc. ("" for IDLE/CLEARED). */
const char *th_i2c_bus_text(th_i2c_bus_result_t r);

#ifdef __cplusplus
}
#endif
#endif /* TH_I2C_BUS_H */
