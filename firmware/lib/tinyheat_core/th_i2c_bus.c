/* I2C bus clear (UM10204 section 3.1.16). See th_i2c_bus.h. */
#include "th_i2c_bus.h"

#include <stddef.h>

/* Release SCL and wait (bounded) for it to rise: a slave may stretch the clock. */
static int scl_rise(const th_i2c_pins_t *p)
{
    unsigned waited = 0;
    p->scl_release(p->ctx);
    p->delay_us(p->ctx, TH_I2C_CLEAR_HALF_US);
    while (!p->scl_read(p->ctx)) {
        if (waited >= TH_I2C_STRETCH_MAX_US) return 0;
        p->delay_us(p->ctx, 10);
        waited += 10;
    }
    return 1;
}

th_i2c_bus_result_t th_i2c_bus_clear(const th_i2c_pins_t *p, int *pulses)
{
    int n = 0, was_low;
    if (pulses) *pulses = 0;
    p->sda_release(p->ctx);
    if (!scl_rise(p)) return TH_I2C_BUS_SCL_STUCK;
    was_low = !p->sda_read(p->ctx);
    /* clock until the slave lets SDA go high: it finishes the byte it was sending (<= 8 bits +
     * the acknowledge slot = 9 clocks) */
    while (!p->sda_read(p->ctx) && n < 9) {
        p->scl_low(p->ctx);
        p->delay_us(p->ctx, TH_I2C_CLEAR_HALF_US);
        n++;
        if (!scl_rise(p)) {
            if (pulses) *pulses = n;
            return TH_I2C_BUS_SCL_STUCK;
        }
    }
    if (pulses) *pulses = n;
    if (!p->sda_read(p->ctx)) return TH_I2C_BUS_SDA_STUCK;
    /* STOP: SCL low, SDA low, SCL high, then SDA high while SCL is high */
    p->scl_low(p->ctx);
    p->delay_us(p->ctx, TH_I2C_CLEAR_HALF_US);
    p->sda_low(p->ctx);
    p->delay_us(p->ctx, TH_I2C_CLEAR_HALF_US);
    if (!scl_rise(p)) return TH_I2C_BUS_SCL_STUCK;
    p->sda_release(p->ctx);
    p->delay_us(p->ctx, TH_I2C_CLEAR_HALF_US);
    if (!p->sda_read(p->ctx)) return TH_I2C_BUS_SDA_STUCK;
    return was_low ? TH_I2C_BUS_CLEARED : TH_I2C_BUS_IDLE;
}

const char *th_i2c_bus_text(th_i2c_bus_result_t r)
{
    switch (r) {
    case TH_I2C_BUS_SDA_STUCK: return "I2C bus stuck: SDA held low";
    case TH_I2C_BUS_SCL_STUCK: return "I2C bus stuck: SCL held low";
    default: return "";
    }
}
