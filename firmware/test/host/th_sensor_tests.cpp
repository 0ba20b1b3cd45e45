/*
 * Host tests of the device's MLX90640 adapter (firmware/src/sensor_mlx90640.cpp) on a fake
 * I2C bus with an MLX90640 register model behind it (fake_arduino/, fake_mlx.cpp): transfer
 * sizes, NACK detection, EEPROM double read, subpage assembly, dropped/overwritten subpages,
 * stalls, re-initialisation after repeated errors, the counters. The pixels must equal the
 * portable core's th_mlx_to() on the same words (the maths itself is tested against the
 * Melexis drivers in tests/firmware/test_fw_mlx90640.py).
 * Run: make -C firmware/test/host sensor && firmware/test/host/build/th_sensor_tests
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "Wire.h"
#include "mlx_example.h"
#include "sensor_mlx90640.h"
#include "th_port.h"
#include "th_mlx90640.h"
#include "tinyheat_config.h"

extern uint32_t fake_millis_now, fake_micros_now;
static int g_checks, g_failures;
#define CHECK(c)                                                          \
    do {                                                                  \
        g_checks++;                                                       \
        if (!(c)) {                                                       \
            g_failures++;                                                 \
            printf("FAIL th_sensor_tests.cpp:%d: %s\n", __LINE__, #c);    \
        }                                                                 \
    } while (0)

static void reset_sensor(void)
{
    memset(&fake_mlx, 0, sizeof fake_mlx);
    mlx_example_images(fake_mlx.ee, fake_mlx.ram);
    fake_mlx.ctrl1 = 0x1901;  // factory default: chess, 18 bit, 2 Hz
    fake_mlx.present = true;
    fake_mlx.nack_after = -1;
    fake_mlx.corrupt_ee_read = -1;
}

// the sensor measured a new subpage
static void new_subpage(int subpage)
{
    fake_mlx.status = (uint16_t)(0x0008 | (subpage & 1));
    fake_mlx.ram[100] = (uint16_t)(0x0200 + subpage * 40);  // something that differs per subpage
}

static void advance(uint32_t ms)
{
    fake_millis_now += ms;
    fake_micros_now += ms * 1000u;
}

int main(void)
{
    static float temps[768], expect[768];
    static uint16_t frame[TH_MLX_FRAME_WORDS];
    static th_mlx_params_t params;
    sensor_stats_t st;
    float ta = NAN, ta_expect = NAN;
    int i;

    /* ---- absent sensor: begin fails at the ACK probe, nothing else on the bus ---- */
    reset_sensor();
    fake_mlx.present = false;
    fake_millis_now = 1000;
    CHECK(!sensor_begin(TH_MLX_DEFAULT_REFRESH));
    CHECK(!sensor_ok() && sensor_eeprom() == NULL);
    CHECK(!sensor_poll(temps, &ta));

    /* ---- EEPROM copies that differ: refused ---- */
    reset_sensor();
    fake_mlx.corrupt_ee_read = 8;  // a chunk of the second copy (7 reads per copy)
    CHECK(!sensor_begin(TH_MLX_DEFAULT_REFRESH));
    sensor_stats(&st);
    CHECK(st.last_error == -3 && sensor_eeprom() == NULL);

    /* ---- begin: two EEPROM reads of 7 transfers <= 254 bytes, refresh code written ---- */
    reset_sensor();
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH));
    CHECK(sensor_ok());
    CHECK(fake_mlx.ee_reads == 14);
    CHECK(fake_mlx.max_read_bytes <= 254);
    CHECK(((fake_mlx.ctrl1 >> 7) & 7) == TH_MLX_DEFAULT_REFRESH && (fake_mlx.ctrl1 & 0x1000));
    CHECK(sensor_eeprom() != NULL && memcmp(sensor_eeprom(), fake_mlx.ee, sizeof fake_mlx.ee) == 0);
    CHECK(Wire.clock == TH_MLX_RUN_I2C_HZ);
    CHECK(th_mlx_extract(fake_mlx.ee, &params) == TH_MLX_OK);

    /* ---- no new data: no frame, no error (i2c_errors counts since boot: 1 from the absent sensor) ---- */
    sensor_stats(&st);
    CHECK(st.i2c_errors == 1);
    advance(10);
    CHECK(!sensor_poll(temps, &ta));
    sensor_stats(&st);
    CHECK(st.i2c_errors == 1 && st.subpages == 0);

    /* ---- subpage 0 then 1: one frame, pixels = th_mlx_to on the same words ---- */
    for (i = 0; i < 768; i++) expect[i] = NAN;
    for (int sp = 0; sp < 2; sp++) {
        new_subpage(sp);
        unsigned ram_reads0 = fake_mlx.ram_reads, max0;
        fake_mlx.max_read_bytes = 0;
        advance(62);
        bool done = sensor_poll(temps, &ta);
        max0 = fake_mlx.max_read_bytes;
        CHECK(done == (sp == 1));
        CHECK(fake_mlx.ram_reads - ram_reads0 == 7);  // 832 words in 254-byte reads
        CHECK(max0 == 254);
        CHECK((fake_mlx.status & 0x0008) == 0);        // "new data" cleared
        memcpy(frame, fake_mlx.ram, sizeof fake_mlx.ram);
        frame[TH_MLX_IDX_CTRL1] = fake_mlx.ctrl1;
        frame[TH_MLX_IDX_SUBPAGE] = (uint16_t)sp;
        float t = th_mlx_ta(frame, &params);
        CHECK(th_mlx_to(frame, &params, TH_MLX_EMISSIVITY, t - TH_MLX_TA_SHIFT, TH_MLX_BAD_INTERPOLATE, expect, &ta_expect) == sp);
    }
    CHECK(ta == ta_expect);
    CHECK(memcmp(temps, expect, sizeof temps) == 0);
    sensor_stats(&st);
    CHECK(st.subpages == 2 && st.frames == 1 && st.dropped_subpages == 0 && st.begins == 1);

    /* ---- a new subpage during the read: dropped, counted, no frame ---- */
    new_subpage(0);
    fake_mlx.overwrite_during_ram_read = true;
    advance(62);
    CHECK(!sensor_poll(temps, &ta));
    fake_mlx.overwrite_during_ram_read = false;
    sensor_stats(&st);
    CHECK(st.dropped_subpages == 1 && st.last_error == -5 && sensor_ok());

    /* ---- the same subpage twice in a row: the other one was missed ---- */
    new_subpage(0);
    advance(62);
    CHECK(!sensor_poll(temps, &ta));
    new_subpage(0);
    advance(62);
    CHECK(!sensor_poll(temps, &ta));
    sensor_stats(&st);
    CHECK(st.dropped_subpages == 2);
    new_subpage(1);
    advance(62);
    CHECK(sensor_poll(temps, &ta));  // an errors-free subpage resets the error run

    /* ---- frame rate: 8 full frames/s for 4 s ---- */
    for (i = 0; i < 64; i++) {
        new_subpage(i & 1);
        advance(62);
        if (i & 1) advance(1);  // 125 ms per frame
        sensor_poll(temps, &ta);
    }
    advance(1);
    sensor_poll(temps, &ta);
    sensor_stats(&st);
    CHECK(st.frames_per_s > 7.5f && st.frames_per_s < 8.5f);

    /* ---- unplugged mid-frame: the RAM read NACKs; 3 failed polls -> not ok ---- */
    uint32_t errors0 = st.i2c_errors;
    new_subpage(0);
    fake_mlx.nack_after = 3;  // status read, clear write, first RAM chunk's address ... then NACK
    for (i = 0; i < TH_MLX_MAX_ERRORS; i++) {
        CHECK(sensor_ok());
        advance(62);
        CHECK(!sensor_poll(temps, &ta));
    }
    CHECK(!sensor_ok());
    sensor_stats(&st);
    CHECK(st.i2c_errors == errors0 + TH_MLX_MAX_ERRORS && st.last_error == -1);
    CHECK(!sensor_begin(TH_MLX_DEFAULT_REFRESH));   // still unplugged

    /* ---- plugged back in (sensor at its defaults again): re-initialised, frames resume ---- */
    reset_sensor();
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH) && sensor_ok());
    sensor_stats(&st);
    CHECK(st.begins == 2);
    new_subpage(0);
    advance(62);
    CHECK(!sensor_poll(temps, &ta));
    new_subpage(1);
    advance(62);
    CHECK(sensor_poll(temps, &ta));

    /* ---- stall: no new subpage for 3 refresh periods, 3 times -> not ok ---- */
    uint32_t period = 2000u >> TH_MLX_DEFAULT_REFRESH;
    for (i = 0; i < TH_MLX_MAX_ERRORS; i++) {
        advance(3 * period + 51);
        CHECK(!sensor_poll(temps, &ta));
    }
    sensor_stats(&st);
    CHECK(st.stalls == TH_MLX_MAX_ERRORS && st.last_error == -6 && !sensor_ok());

    /* ---- a sensor reset mid-byte holds SDA low: every transfer fails until the re-init's bus
     * clear (5 SCL clocks here, then STOP) frees it; then frames resume ---- */
    reset_sensor();
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH) == 1);
    fake_mlx.hold_sda = 5;
    for (i = 0; i < TH_MLX_MAX_ERRORS; i++) {
        advance(62);
        CHECK(!sensor_poll(temps, &ta));
    }
    CHECK(!sensor_ok());
    unsigned clocks0 = fake_mlx.scl_clocks, stops0 = fake_mlx.stops;
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH) == 1 && sensor_ok());
    printf("bus clear: %u clocks, %u stops\n", fake_mlx.scl_clocks - clocks0, fake_mlx.stops - stops0);
    CHECK(fake_mlx.hold_sda == 0 && fake_mlx.scl_clocks - clocks0 == 5 + 1 && fake_mlx.stops - stops0 == 1); // + the STOP's own SCL low
    sensor_stats(&st);
    CHECK(st.bus_clears == 1);
    new_subpage(0);
    advance(62);
    CHECK(!sensor_poll(temps, &ta));
    new_subpage(1);
    advance(62);
    CHECK(sensor_poll(temps, &ta));
    /* held for good (a shorted cable): reported as a stuck bus, bounded, and it heals */
    fake_mlx.hold_sda = -1;
    uint32_t us0 = fake_micros_now;
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH) == TH_SENSOR_BEGIN_SDA_STUCK && !sensor_ok());
    CHECK(fake_micros_now - us0 < 2000);
    fake_mlx.hold_sda = 0;
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH) == 1);

    /* ---- refresh change: written and read back ---- */
    reset_sensor();
    CHECK(sensor_begin(TH_MLX_DEFAULT_REFRESH));
    CHECK(sensor_set_refresh(5) && ((fake_mlx.ctrl1 >> 7) & 7) == 5);
    CHECK(!sensor_set_refresh(8));
    fake_mlx.present = false;
    CHECK(!sensor_set_refresh(4));

    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
