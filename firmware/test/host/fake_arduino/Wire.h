// Host stand-in for ArduinoCore-samd's TwoWire with an MLX90640 behind it, for
// firmware/test/host/th_sensor_tests.cpp. Same signatures as libraries/Wire/Wire.h of the
// Seeed core; same limits (requestFrom returns uint8_t, 255 bytes usable in its RingBufferN<256>).
#pragma once
#include <stddef.h>
#include <stdint.h>

struct FakeMlx {
    uint16_t ee[832];
    uint16_t ram[832];
    uint16_t status;            // 0x8000
    uint16_t ctrl1;             // 0x800D
    bool present;
    int nack_after;             // >= 0: transactions left before the sensor stops answering (-1: never)
    int ee_reads;               // EEPROM read transactions so far
    int corrupt_ee_read;        // flip a bit in the EEPROM data of this EEPROM read transaction (-1: never)
    bool overwrite_during_ram_read;  // a new subpage arrives while the RAM is read (sets bit 3)
    unsigned transactions, max_read_bytes, ram_reads;
    int hold_sda;               // > 0: SDA held low for this many more SCL clocks (a byte cut off); -1: for good
    unsigned scl_clocks;        // SCL falling edges driven as GPIO (bus clear)
    unsigned stops;             // STOP conditions seen on the GPIO lines
};
extern FakeMlx fake_mlx;

class TwoWire {
public:
    void begin(void) { begins++; }
    void end(void) {}
    unsigned begins = 0;
    void setClock(uint32_t hz) { clock = hz; }
    void beginTransmission(uint8_t address);
    size_t write(uint8_t b);
    uint8_t endTransmission(bool stopBit = true);
    uint8_t requestFrom(uint8_t address, size_t quantity, bool stopBit = true);
    int available(void) { return (int)(rx_len - rx_pos); }
    int read(void) { return rx_pos < rx_len ? rx[rx_pos++] : -1; }
    uint32_t clock = 100000;

private:
    uint8_t addr = 0, tx[8] = {0}, rx[256] = {0};
    size_t tx_len = 0, rx_len = 0, rx_pos = 0;
    uint16_t reg = 0;
};
extern TwoWire Wire;
