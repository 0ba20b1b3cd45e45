// Bounded I2C on the Wio Terminal's Grove port. See i2c_bounded.h.
#include <Arduino.h>
#include <Wire.h>

#include "i2c_bounded.h"

static bool s_wire_started;
static uint32_t s_bus_clears, s_bus_timeouts;

// ---- bounded bus: SERCOM timeouts and the bus clear ------------------------------------------
// The pinned core's Wire waits on INTFLAG.MB / SB without a bound (SERCOM.cpp
// startTransmissionWIRE, sendDataMasterWIRE, readDataWIRE). With the SAMD51 I2C master
// time-outs enabled (datasheet DS60001507, 36.6.2.4.5 / CTRLA) the hardware ends a transfer whose
// SCL is held low for 25-35 ms (LOWTOUTEN), whose master or slave clock-extend exceeds 10 / 25 ms
// (MEXTTOEN, SEXTTOEN), sends a STOP and sets MB/SB, so those waits end; INACTOUT = 3 turns a
// silent "busy" bus back to idle after 205 us. The time-outs count GCLK_SERCOM_SLOW, which the
// core sets to the 48 MHz core source (SERCOM::initClockNVIC): it must be the 32.768 kHz
// generator (GCLK3 = XOSC32K, cores/arduino/startup.c) for these times. Wire.begin/setClock
// reset CTRLA, so this is applied after each.
#if defined(__SAMD51__)
#define I2C_SERCOM SERCOM3  // PERIPH_WIRE = sercom3 (variants/wio_terminal/variant.h)
#define I2C_SLOW_GCLK_ID SERCOM3_GCLK_ID_SLOW
static void i2c_timeouts(void)
{
    Sercom *hw = I2C_SERCOM;
    GCLK->PCHCTRL[I2C_SLOW_GCLK_ID].reg = GCLK_PCHCTRL_GEN_GCLK3 | GCLK_PCHCTRL_CHEN;
    while (!GCLK->PCHCTRL[I2C_SLOW_GCLK_ID].bit.CHEN) {}
    hw->I2CM.CTRLA.bit.ENABLE = 0;  // CTRLA is enable-protected
    while (hw->I2CM.SYNCBUSY.bit.ENABLE) {}
    hw->I2CM.CTRLA.reg |= SERCOM_I2CM_CTRLA_LOWTOUTEN | SERCOM_I2CM_CTRLA_MEXTTOEN | SERCOM_I2CM_CTRLA_SEXTTOEN |
                          SERCOM_I2CM_CTRLA_INACTOUT(3);
    hw->I2CM.CTRLA.bit.ENABLE = 1;
    while (hw->I2CM.SYNCBUSY.bit.ENABLE) {}
    hw->I2CM.STATUS.reg = SERCOM_I2CM_STATUS_BUSSTATE(1);  // force "idle" (as SERCOM::enableWIRE)
    while (hw->I2CM.SYNCBUSY.bit.SYSOP) {}
}

// 1 if the last transfer ended by a time-out or bus error (then cleared: write-one-to-clear).
bool i2c_timed_out(void)
{
    const uint16_t bits = SERCOM_I2CM_STATUS_LOWTOUT | SERCOM_I2CM_STATUS_MEXTTOUT | SERCOM_I2CM_STATUS_SEXTTOUT |
                          SERCOM_I2CM_STATUS_BUSERR;
    uint16_t st = I2C_SERCOM->I2CM.STATUS.reg & bits;
    if (!st) return false;
    I2C_SERCOM->I2CM.STATUS.reg = st;
    while (I2C_SERCOM->I2CM.SYNCBUSY.bit.SYSOP) {}
    s_bus_timeouts++;
    return true;
}
#else  // host test build (fake Wire): no SERCOM
static void i2c_timeouts(void) {}
bool i2c_timed_out(void) { return false; }
#endif

void i2c_wire_clock(uint32_t hz)
{
    Wire.setClock(hz);
    i2c_timeouts();
}

// The Grove I2C pins as open-drain GPIO for th_i2c_bus_clear: "release" = input with pull-up.
static void pin_low(uint32_t pin)
{
    digitalWrite(pin, LOW);
    pinMode(pin, OUTPUT);
}
static void scl_low(void *) { pin_low(PIN_WIRE_SCL); }
static void scl_release(void *) { pinMode(PIN_WIRE_SCL, INPUT_PULLUP); }
static void sda_low(void *) { pin_low(PIN_WIRE_SDA); }
static void sda_release(void *) { pinMode(PIN_WIRE_SDA, INPUT_PULLUP); }
static int scl_read(void *) { return digitalRead(PIN_WIRE_SCL) == HIGH; }
static int sda_read(void *) { return digitalRead(PIN_WIRE_SDA) == HIGH; }
static void wait_us(void *, unsigned us) { delayMicroseconds(us); }
static const th_i2c_pins_t k_grove_pins = {nullptr, scl_low, scl_release, sda_low, sda_release, scl_read, sda_read, wait_us};

// Bus clear on the pins (SERCOM off), then Wire again (Wire.begin re-muxes the pins).
th_i2c_bus_result_t i2c_bus_restart(uint32_t hz)
{
    if (s_wire_started) Wire.end();
    th_i2c_bus_result_t r = th_i2c_bus_clear(&k_grove_pins, nullptr);
    if (r == TH_I2C_BUS_CLEARED) s_bus_clears++;
    Wire.begin();
    s_wire_started = true;
    i2c_wire_clock(hz);
    return r;
}

uint32_t i2c_bus_clears(void) { return s_bus_clears; }
uint32_t i2c_bus_timeouts(void) { return s_bus_timeouts; }
