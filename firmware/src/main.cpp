// tinyheat firmware for the Seeed Wio Terminal: the board's port (lib/tinyheat_core/th_port.h)
// over the thin adapters (sensor, LCD, SD, JPEG, TFLM) and USB CDC Serial, and the Arduino
// entry points, which only call the core's one device loop (th_device_init / th_device_step,
// lib/tinyheat_core/th_device.h). The simulator (firmware/host/sim_main.c) calls the same two
// functions through its own port, so every decision tested there is the board's.
#include <SPI.h>
#include <Arduino.h>
#include <string.h>

#include "classifier_tflm.h"
#include "display_tft.h"
#include "jpeg_grey.h"
#include "model_params.h"
#include "sensor_mlx90640.h"
#include "storage_sd.h"
#include "th_device.h"
#include "tinyheat_model.h"
#include "tinyheat_config.h"
#include "watchdog_samd51.h"

#ifndef TH_FW_VERSION
#define TH_FW_VERSION "unknown" /* a build without tools/pio_version.py */
#endif
#ifndef TH_MODEL_NAME
#define TH_MODEL_NAME "tinyheat_model"
#endif

static th_device_t g_dev;
static th_port_t g_port;

static const struct { uint32_t pin; uint8_t bit; } k_keys[] = {
    {WIO_KEY_A, TH_KEY_A},       {WIO_KEY_B, TH_KEY_B},        {WIO_KEY_C, TH_KEY_C},
    {WIO_5S_LEFT, TH_KEY_LEFT},  {WIO_5S_RIGHT, TH_KEY_RIGHT}, {WIO_5S_PRESS, TH_KEY_PRESS},
};

// ---- the board's port ----------------------------------------------------------------------

static uint32_t p_millis(void *) { return millis(); }

static uint8_t p_keys(void *)
{
    uint8_t bits = 0;
    for (const auto &k : k_keys)
        if (digitalRead(k.pin) == LOW) bits |= k.bit;  // keys pull to ground when pressed
    return bits;
}

static int p_sensor_begin(void *, uint8_t code) { return sensor_begin(code); }  // 1, 0 or TH_SENSOR_BEGIN_*_STUCK

static uint32_t s_i2c_errors_seen;

static int p_sensor_poll(void *, float temps[768], float *ta)
{
    bool frame = sensor_poll(temps, ta);
    sensor_stats_t st;
    sensor_stats(&st);
    bool failed = st.i2c_errors != s_i2c_errors_seen;  // this poll had a failed transfer
    s_i2c_errors_seen = st.i2c_errors;
    if (frame) return TH_SENSOR_FRAME;
    return (failed || !sensor_ok()) ? TH_SENSOR_ERROR : TH_SENSOR_NONE;
}

static void p_sensor_counters(void *, th_sensor_counters_t *out)
{
    sensor_stats_t st;
    sensor_stats(&st);
    out->i2c_errors = st.i2c_errors;
    out->dropped_subpages = st.dropped_subpages;
}

static int p_sensor_set_refresh(void *, uint8_t code) { return sensor_set_refresh(code) ? 1 : 0; }
static const uint16_t *p_sensor_eeprom(void *) { return sensor_eeprom(); }

static int p_storage_mount(void *) { return storage_begin() ? 1 : 0; }
static int p_storage_present(void *) { return storage_ok() ? 1 : 0; }
static long p_storage_read(void *, const char *name, char *buf, size_t cap) { return storage_read_file(name, buf, cap); }
static int p_storage_replace(void *, const char *name, const uint8_t *data, size_t len)
{
    return storage_replace_file(name, data, len);
}

static size_t p_jpeg(void *, const uint8_t grey[768], uint8_t *out, size_t cap) { return jpeg_grey_encode(grey, out, cap); }

static int p_classify(void *, const float temps[768], th_prediction_t *out, uint32_t *us)
{
    return classifier_run(temps, out, us) ? 1 : 0;
}

static void p_layout(void *, th_mode_t mode, const th_labels_t *labels) { display_layout(mode, labels); }
static void p_frame(void *, const float temps[768], float ta) { display_frame(temps, ta); }
static void p_prediction(void *, const th_prediction_t *p, const char *label, uint32_t us) { display_prediction(p, label, us); }
static void p_status(void *, const char *text, int level) { display_status(text, level); }
static void p_message(void *, const char *l1, const char *l2) { display_message(l1, l2); }
static void p_stats(void *, uint16_t fps_x100, uint32_t dropped, uint32_t i2c) { display_stats(fps_x100, dropped, i2c); }

// USB CDC (the Seeed core's own stack, cores/arduino/USB): Serial.write sends 64-byte packets,
// waiting up to TX_TIMEOUT_MS = 70 ms per packet for the host to take the previous one
// (USBCore.cpp USBDeviceClass::send); on a timeout it returns (size_t)-1 although earlier packets
// of the message may have gone out. Serial.availableForWrite() is a constant EPX_SIZE - 1 = 63 in
// this core (CDC.cpp), so it cannot say whether a 1.6 KB frame fits. Whole messages or nothing
// (th_device_tx_whole): after a timeout the port reports no room (every frame dropped whole,
// without a 70 ms stall) until the host takes the pending packet again (the IN endpoint's bank 1
// no longer BK1RDY, SAMD51 datasheet 38.8.3.7 EPSTATUS); a frame that was cut is followed by a
// 0x00 delimiter from the core. Serial.dtr() reads the line state without the 10 ms delay of
// Serial_::operator bool() in ArduinoCore-samd's CDC.cpp.
static size_t p_link_read(void *, uint8_t *buf, size_t cap)
{
    int avail = Serial.available();
    if (avail <= 0) return 0;
    int n = Serial.readBytes((char *)buf, (size_t)avail < cap ? (size_t)avail : cap);
    return n > 0 ? (size_t)n : 0;
}

static bool s_tx_stalled;  // the last write timed out: the host is not taking packets

static bool usb_in_bank_busy(void)
{
    return USB->DEVICE.DeviceEndpoint[CDC_ENDPOINT_IN].EPSTATUS.bit.BK1RDY;
}

static size_t p_link_write(void *, const uint8_t *data, size_t n)
{
    if (!Serial.dtr()) return 0;  // no terminal open: the message is dropped whole (seq gap)
    size_t w = Serial.write(data, n);
    if (w == n) return n;
    s_tx_stalled = true;
    return w == 0 ? 0 : 1;  // (size_t)-1 = timed out after an unknown part: the core resyncs
}

static size_t p_link_tx_room(void *)
{
    if (!Serial.dtr()) return 0;
    if (s_tx_stalled) {
        if (usb_in_bank_busy()) return 0;  // still not read: drop whole, no 70 ms wait per message
        s_tx_stalled = false;
    }
    return 65535;  // the host is reading: its driver buffers far more than a few frames
}

static int p_link_open(void *) { return Serial.dtr() ? 1 : 0; }

void setup()
{
    watchdog_begin();  // also covers a boot that hangs (card, sensor)
    Serial.begin(115200);  // the rate is ignored by native USB CDC
    Serial.setTimeout(0);  // readBytes never waits: only available bytes are read
    for (const auto &k : k_keys) pinMode(k.pin, INPUT_PULLUP);
    display_begin();
    bool model = classifier_begin();
    const th_model_params_t *mp = classifier_params();

    g_port.millis = p_millis;
    g_port.read_keys = p_keys;
    g_port.sensor_begin = p_sensor_begin;
    g_port.sensor_poll = p_sensor_poll;
    g_port.sensor_set_refresh = p_sensor_set_refresh;
    g_port.sensor_eeprom = p_sensor_eeprom;
    g_port.sensor_counters = p_sensor_counters;
    g_port.storage_mount = p_storage_mount;
    g_port.storage_present = p_storage_present;
    g_port.storage_read = p_storage_read;
    g_port.storage_replace = p_storage_replace;
    g_port.fs = storage_fs();
    g_port.jpeg_grey = p_jpeg;
    g_port.classify = p_classify;
    g_port.display_layout = p_layout;
    g_port.display_frame = p_frame;
    g_port.display_prediction = p_prediction;
    g_port.display_status = p_status;
    g_port.display_message = p_message;
    g_port.display_stats = p_stats;
    g_port.link_read = p_link_read;
    g_port.link_write = p_link_write;
    g_port.link_tx_room = p_link_tx_room;
    g_port.link_host_open = p_link_open;

    th_device_config_t cfg;
    th_device_default_config(&cfg);
    cfg.fw_version = TH_FW_VERSION;
    cfg.emissivity = TH_MLX_EMISSIVITY;
    cfg.n_model = model && mp ? mp->num_labels : 0;
    cfg.model_labels = mp ? mp->labels : nullptr;
    static char model_id[TH_LINK_MODEL_ID_CAP];
    th_device_model_id(TH_MODEL_NAME, th_model_tflite, th_model_tflite_len, model_id, sizeof model_id);
    cfg.model_id = model ? model_id : "";
    cfg.app.refresh_code = TH_MLX_DEFAULT_REFRESH;
    cfg.rows = TH_SENSOR_ROWS;  // HELLO geometry; 16 x 12 streams 192 values, no samples, no 32x24 model
    cfg.cols = TH_SENSOR_COLS;
    th_device_init(&g_dev, &g_port, &cfg);
    if (!model) th_app_set_status(&g_dev.app, TH_STATUS_ERROR, classifier_error());
    else if (watchdog_caused_reset())
        th_app_set_status(&g_dev.app, TH_STATUS_WARN, "restarted by the watchdog (a loop pass hung > 8 s)");
}

void loop()
{
    watchdog_feed();
    th_device_step(&g_dev);
}
