/**
 * @file watchdog_samd51.h
 * The SAMD51 watchdog (WDT, datasheet DS60001507 section 20): armed in setup() with a
 * WATCHDOG_PERIOD_MS period and fed once per loop pass, so a pass that hangs (a wait the
 * bounded-time rules of th_port.h missed) resets the board instead of freezing it. After such a
 * reset the device says so on its status line and in a LOG (main.cpp).
 */
#pragma once
#include <stdbool.h>

/** Watchdog period, ms: 8192 cycles of the 1.024 kHz CLK_WDT_OSC (CONFIG.PER = CYC8192). The
 *  longest legitimate pass (sensor re-init ~90 ms + bus clear <= 10 ms, a USB frame at most
 *  25 x 70 ms, SD card mount and a sample write) stays well below it. */
#define WATCHDOG_PERIOD_MS 8000u

/** Arm the watchdog (no early-warning interrupt, no window mode). */
void watchdog_begin(void);
/** Restart the period; never waits for register synchronisation. */
void watchdog_feed(void);
/** true if the last reset was caused by the watchdog (RSTC.RCAUSE.WDT). */
bool watchdog_caused_reset(void);
