// MLX90641 (16 x 12) adapter, built instead of sensor_mlx90640.cpp with -DTH_SENSOR_MLX90641
// (platformio.ini env seeed_wio_terminal_mlx90641); the same interface (sensor_mlx90640.h), so
// main.cpp and the device loop do not change. I2C as the MLX90640 (address 0x33, status 0x8000
// bit 3 = new data / bit 0 = subpage, control 0x800D bits 7..9 = refresh code, EEPROM
// 0x2400..0x273F); every subpage is a complete 16 x 12 image: its 192 pixels in six 32-word
// blocks (subpage 0 at 0x0400, 0x0440, ..., 0x0540; subpage 1 at 0x0420, ..., 0x0560) and the
// auxiliary words 0x0580..0x05AF (Melexis MLX90641_GetFrameData). Compensation:
// lib/tinyheat_core/th_mlx90641 (float32, Hamming-decoded EEPROM).
#ifdef TH_SENSOR_MLX90641
#include <Arduino.h>

#include "sensor_mlx90640.h"
#include "mlx_i2c.h"
#include "th_mlx90641.h"
#include "tinyheat_config.h"

static th_mlx41_params_t s_params;  // ~4.7 KB
static uint16_t s_ee[TH_MLX41_EE_WORDS];       // raw image (Hamming coded), as backed up on the card
static uint16_t s_ee_work[TH_MLX41_EE_WORDS];  // second read, then decoded
static bool s_ee_valid;
static uint16_t s_frame[TH_MLX41_FRAME_WORDS];

// I2C, error codes, counters, sensor_ok() and sensor_stats(): mlx_i2c.cpp (shared with the MLX90640)
int sensor_begin(uint8_t refresh_code)
{
    int bus = mlx_begin_bus();
    if (bus != 1) return bus;
    // two reads must agree (a glitch or an unplugged cable mid-dump): s_ee keeps the raw image
    s_ee_valid = false;
    if (!mlx_read_eeprom_twice(TH_MLX41_EE_WORDS, s_ee, s_ee_work)) return 0;
    if (th_mlx41_hamming_decode(s_ee_work) < 0 || th_mlx41_extract(s_ee_work, &s_params) != TH_MLX41_OK) {
        mlx_fail(-4);
        return 0;
    }
    s_ee_valid = true;
    return mlx_begin_finish(refresh_code) ? 1 : 0;
}

bool sensor_set_refresh(uint8_t code) { return mlx_set_refresh(code); }

bool sensor_poll(float temps[768], float *ta_degc)
{
    uint16_t status = 0;
    if (!mlx_poll_start(&status)) return false;  // status read, "new data" cleared
    int subpage = status & 0x0001;
    for (int b = 0; b < 6; b++)  // the subpage's six 32-word pixel blocks
        if (mlx_read_words((uint16_t)(0x0400 + 0x40 * b + 0x20 * subpage), 32, s_frame + 32 * b) != 0) return mlx_count_error(-1);
    if (mlx_read_words(0x0580, 48, s_frame + TH_MLX41_PIXELS) != 0) return mlx_count_error(-1);
    if (!mlx_poll_read_done()) return false;
    s_frame[TH_MLX41_IDX_CTRL1] = mlx_ctrl1();
    s_frame[TH_MLX41_IDX_SUBPAGE] = (uint16_t)subpage;
    uint32_t t1 = micros();
    float ta = th_mlx41_ta(s_frame, &s_params);
    int r = th_mlx41_to(s_frame, &s_params, TH_MLX_EMISSIVITY, ta - TH_MLX41_TA_SHIFT, temps, ta_degc);
    if (!mlx_poll_compensated(t1, r == TH_MLX41_OK)) return false;
    mlx_stats.frames++;
    return true;  // every MLX90641 subpage is a complete image
}

const uint16_t *sensor_eeprom(void) { return s_ee_valid ? s_ee : NULL; }
#endif  // TH_SENSOR_MLX90641
