// src/sensor_mlx90641.cpp (built with -DTH_SENSOR_MLX90641) on the fake Wire bus with an
// MLX90641 behind it (tests/firmware/test_fw_mlx90641.py): stdin = 832 raw EEPROM words + one
// 242-word frame (th_mlx90641.h layout; the fake places its pixels in the subpage's six 32-word
// RAM blocks and its auxiliary words at 0x0580); stdout = int32 sensor_begin result, int32
// "frame delivered", float32 Ta, 192 float32 To degC, then uint32 I2C transactions of the read.
#include <stdio.h>
#include <string.h>

#include "Arduino.h"
#include "Wire.h"
#include "sensor_mlx90640.h"

int main(void)
{
    static uint16_t ee[832], frame[242];
    float temps[768], ta = 0.0f;
    if (fread(ee, 2, 832, stdin) != 832 || fread(frame, 2, 242, stdin) != 242) return 2;
    memset(&fake_mlx, 0, sizeof fake_mlx);
    memcpy(fake_mlx.ee, ee, sizeof ee);
    int sp = frame[241] & 1;
    for (int b = 0; b < 6; b++)  // pixel blocks of this subpage: 0x0400 + 0x40 b + 0x20 sp
        memcpy(&fake_mlx.ram[0x40 * b + 0x20 * sp], &frame[32 * b], 64);
    memcpy(&fake_mlx.ram[0x180], &frame[192], 48 * 2);  // 0x0580..0x05AF
    fake_mlx.ctrl1 = frame[240];
    fake_mlx.present = true;
    fake_mlx.nack_after = -1;
    fake_mlx.corrupt_ee_read = -1;
    fake_millis_now = 1000;
    int32_t begun = sensor_begin((uint8_t)((frame[240] >> 7) & 7));
    fake_mlx.ctrl1 = frame[240];  // the resolution bits as in the vector (begin wrote the refresh code)
    fake_mlx.status = (uint16_t)(0x0008 | sp);
    unsigned t0 = fake_mlx.transactions;
    fake_millis_now += 10;
    int32_t got = sensor_poll(temps, &ta) ? 1 : 0;
    uint32_t n = fake_mlx.transactions - t0;
    fwrite(&begun, 4, 1, stdout);
    fwrite(&got, 4, 1, stdout);
    fwrite(&ta, 4, 1, stdout);
    fwrite(temps, 4, 192, stdout);
    fwrite(&n, 4, 1, stdout);
    return 0;
}
