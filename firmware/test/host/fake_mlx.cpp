// The fake I2C bus + MLX90640 register model behind fake_arduino/Wire.h.
#include "Arduino.h"
#include "Wire.h"

FakeMlx fake_mlx;
TwoWire Wire;
uint32_t fake_millis_now, fake_micros_now;

// The two lines as GPIO (bus clear): master side released (1) or driven low (0); the sensor
// holds SDA low while hold_sda != 0 and lets go after hold_sda SCL clocks.
static int g_scl_m = 1, g_sda_m = 1;
static int scl_line(void) { return g_scl_m; }
static int sda_line(void) { return g_sda_m && fake_mlx.hold_sda == 0; }

static void set_lines(int scl, int sda)
{
    int scl0 = scl_line(), sda0 = sda_line();
    g_scl_m = scl;
    g_sda_m = sda;
    if (scl0 && !scl_line()) {
        fake_mlx.scl_clocks++;
        if (fake_mlx.hold_sda > 0) fake_mlx.hold_sda--;
    }
    if (scl_line() && !sda0 && sda_line()) fake_mlx.stops++;
}

void pinMode(uint32_t pin, uint32_t mode)
{
    int level = mode == OUTPUT ? 0 : 1;  // digitalWrite(LOW) comes first in the adapter
    if (pin == PIN_WIRE_SCL) set_lines(level, g_sda_m);
    else if (pin == PIN_WIRE_SDA) set_lines(g_scl_m, level);
}

void digitalWrite(uint32_t, uint32_t) {}

int digitalRead(uint32_t pin)
{
    return pin == PIN_WIRE_SCL ? scl_line() : pin == PIN_WIRE_SDA ? sda_line() : 1;
}

static bool answers(uint8_t address)
{
    if (fake_mlx.hold_sda != 0) return false;  // SDA held low: no START gets through
    if (address != 0x33 || !fake_mlx.present) return false;
    fake_mlx.transactions++;
    if (fake_mlx.nack_after == 0) return false;
    if (fake_mlx.nack_after > 0) fake_mlx.nack_after--;
    return true;
}

void TwoWire::beginTransmission(uint8_t address)
{
    addr = address;
    tx_len = 0;
}

size_t TwoWire::write(uint8_t b)
{
    if (tx_len >= sizeof tx) return 0;
    tx[tx_len++] = b;
    return 1;
}

uint8_t TwoWire::endTransmission(bool stopBit)
{
    (void)stopBit;
    if (!answers(addr)) return 2;  // NACK on address
    if (tx_len >= 2) reg = (uint16_t)(tx[0] << 8 | tx[1]);
    if (tx_len == 4) {
        uint16_t v = (uint16_t)(tx[2] << 8 | tx[3]);
        if (reg == 0x8000) fake_mlx.status = (uint16_t)((fake_mlx.status & 0x0007u) | (v & 0x0030u));  // bit 3 cleared
        else if (reg == 0x800D) fake_mlx.ctrl1 = v;
    }
    return 0;
}

static uint16_t reg_value(uint16_t r)
{
    if (r >= 0x2400 && r < 0x2400 + 832) return fake_mlx.ee[r - 0x2400];
    if (r >= 0x0400 && r < 0x0400 + 832) return fake_mlx.ram[r - 0x0400];
    if (r == 0x8000) return fake_mlx.status;
    if (r == 0x800D) return fake_mlx.ctrl1;
    return 0;
}

uint8_t TwoWire::requestFrom(uint8_t address, size_t quantity, bool stopBit)
{
    (void)stopBit;
    rx_len = rx_pos = 0;
    if (quantity == 0 || !answers(address)) return 0;
    if (quantity > fake_mlx.max_read_bytes) fake_mlx.max_read_bytes = (unsigned)quantity;
    if (quantity > 255) quantity = 255;  // RingBufferN<256> keeps 255 bytes
    bool ee = reg >= 0x2400 && reg < 0x2400 + 832, ram = reg >= 0x0400 && reg < 0x0400 + 832;
    if (ee) fake_mlx.ee_reads++;
    if (ram) fake_mlx.ram_reads++;
    for (size_t i = 0; i < quantity / 2; i++) {
        uint16_t v = reg_value((uint16_t)(reg + i));
        if (ee && fake_mlx.ee_reads - 1 == fake_mlx.corrupt_ee_read && i == 3) v ^= 0x0100;
        rx[rx_len++] = (uint8_t)(v >> 8);
        rx[rx_len++] = (uint8_t)(v & 0xFF);
    }
    if (ram && fake_mlx.overwrite_during_ram_read) fake_mlx.status |= 0x0008;
    return (uint8_t)rx_len;
}
