// SAMD51 watchdog. See watchdog_samd51.h. Registers: DS60001507 20.8 (WDT) and 16.8.1 (RSTC.RCAUSE).
#include <Arduino.h>

#include "watchdog_samd51.h"

void watchdog_begin(void)
{
    WDT->CTRLA.reg = 0;  // disabled while configured (CONFIG is enable-protected)
    while (WDT->SYNCBUSY.reg) {}
    WDT->CONFIG.reg = WDT_CONFIG_PER_CYC8192;  // 8192 / 1024 Hz = 8 s
    WDT->EWCTRL.reg = 0;
    WDT->CTRLA.reg = WDT_CTRLA_ENABLE;
    while (WDT->SYNCBUSY.reg) {}
}

void watchdog_feed(void)
{
    if (!WDT->SYNCBUSY.bit.CLEAR) WDT->CLEAR.reg = WDT_CLEAR_CLEAR_KEY;  // a clear in sync is enough
}

bool watchdog_caused_reset(void) { return (RSTC->RCAUSE.reg & RSTC_RCAUSE_WDT) != 0; }
