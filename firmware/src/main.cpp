// tinyheat firmware for the Seeed Wio Terminal: glue between the portable core
// (lib/tinyheat_core: th_app state machine, rendering, storage policy, pre/post-processing)
// and the thin adapters (sensor, LCD, SD, JPEG, TFLM, serial link). All decisions are made by
// th_app_step(); this file only reads inputs and executes the returned actions.
#include <SPI.h>
#include <Arduino.h>
#include <math.h>
#include <string.h>

#include "classifier_tflm.h"
#include "display_tft.h"
#include "jpeg_grey.h"
#include "sensor_mlx90640.h"
#include "serial_link.h"
#include "storage_sd.h"
#include "th_app.h"
#include "th_frame.h"
#include "tinyheat_config.h"

static th_app_t g_app;
static float g_temps[768];                  // latest complete frame, degC
static float g_ta = NAN;                    // its ambient temperature Ta, degC
static uint8_t g_jpeg[TH_JPEG_BUF_BYTES];   // encoded sample

static const struct { uint32_t pin; uint8_t bit; } k_keys[] = {
    {WIO_KEY_A, TH_KEY_A},       {WIO_KEY_B, TH_KEY_B},        {WIO_KEY_C, TH_KEY_C},
    {WIO_5S_LEFT, TH_KEY_LEFT},  {WIO_5S_RIGHT, TH_KEY_RIGHT}, {WIO_5S_PRESS, TH_KEY_PRESS},
};

static uint8_t read_keys(void)
{
    uint8_t bits = 0;
    for (const auto &k : k_keys)
        if (digitalRead(k.pin) == LOW) bits |= k.bit;  // keys pull to ground when pressed
    return bits;
}

static void rescan_card(void)
{
    if (storage_ok()) th_store_rescan(&g_app.store, storage_fs());
}

static void do_capture(const th_app_actions_t &act, uint32_t now)
{
    uint8_t grey[768];
    th_save_result_t res;
    th_frame_to_grey(g_temps, TH_WINDOW_LO_DEGC, TH_WINDOW_HI_DEGC, grey);
    size_t n = jpeg_grey_encode(grey, g_jpeg, sizeof g_jpeg);
    if (n == 0) {
        memset(&res, 0, sizeof res);
        res.result = TH_FS_IO;
    } else {
        th_store_save(&g_app.store, storage_fs(), act.capture_key, act.capture_label, g_jpeg, n, g_temps, now, g_ta,
                      &res);
    }
    th_app_capture_done(&g_app, &res, act.capture_label);
    if (act.capture_key < 0 || g_app.mode == TH_MODE_STREAM)
        serial_link_send_capture(act.capture_label, res.result == TH_FS_OK ? (int)res.index : -1,
                                 res.result == TH_FS_OK);
}

void setup()
{
    serial_link_begin();
    for (const auto &k : k_keys) pinMode(k.pin, INPUT_PULLUP);
    display_begin();

    th_app_config_t cfg;
    th_app_default_config(&cfg);
    bool sensor = sensor_begin(cfg.refresh_code);
    storage_begin();

    th_labels_t labels;
    char label_status[96];
    storage_read_labels(&labels, label_status, sizeof label_status);
    th_store_t store;
    th_store_init(&store, &labels, storage_next_session());
    th_app_init(&g_app, &cfg, &store);
    rescan_card();

    bool model = classifier_begin();
    th_app_set_model_ok(&g_app, model);
    th_app_set_status(&g_app, TH_STATUS_INFO, model ? label_status : classifier_error());
    if (!sensor) display_message("No MLX90640 found at I2C 0x33", "Check the Grove I2C cable; retrying");
}

void loop()
{
    th_app_input_t in;
    th_app_actions_t act;
    uint32_t now = millis();

    in.now_ms = now;
    in.keys = read_keys();
    in.sd_ok = storage_ok();
    in.frame_ready = sensor_poll(g_temps, &g_ta);
    in.sensor_ok = sensor_ok();
    serial_link_poll(&g_app, now);  // host commands are accepted in every mode (tinyheat_link PROTOCOL.md)
    th_app_step(&g_app, &in, &act);

    if (act.set_refresh) sensor_set_refresh(act.refresh_code);
    if (act.retry_sensor && sensor_begin(g_app.refresh_code)) display_layout(g_app.mode, &g_app.store.labels);
    if (act.retry_sd && storage_begin()) rescan_card();
    if (act.rescan) rescan_card();
    if (act.mode_changed) display_layout(g_app.mode, &g_app.store.labels);
    if (!in.sensor_ok && (act.mode_changed || act.retry_sensor))
        display_message("No MLX90640 found at I2C 0x33", "Check the Grove I2C cable; retrying");

    if (act.render) display_frame(g_temps, g_ta);
    if (act.infer) {
        th_prediction_t p;
        uint32_t us = 0;
        if (classifier_run(g_temps, &p, &us)) {
            const th_model_params_t *mp = classifier_params();
            display_prediction(&p, p.label_index >= 0 ? mp->labels[p.label_index] : "uncertain", us);
            if (g_app.mode == TH_MODE_STREAM) serial_link_send_prediction(p.label_index, p.confidence, us);
        }
    }
    if (act.stream_frame) serial_link_send_frame(now, g_ta, g_temps);
    if (act.capture) do_capture(act, now);
    if (act.capture_refused && (act.capture_key < 0 || g_app.mode == TH_MODE_STREAM))
        serial_link_send_capture(act.capture_label, -1, 0);
    if (act.redraw_status) {
        display_status(g_app.status, g_app.status_level);
        if (g_app.mode == TH_MODE_STREAM) serial_link_send_log(g_app.status_level, g_app.status);
    }
}
