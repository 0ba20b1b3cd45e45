// USB serial link adapter: Arduino `Serial` <-> lib/tinyheat_link. All protocol logic is in the
// portable library; this file only moves bytes. See serial_link.h.
#include "serial_link.h"

#include <Arduino.h>

#include "model_params.h"
#include "th_link_app.h"
#include "th_link_device.h"
#include "tinyheat_config.h"

#ifndef TH_FW_VERSION
#define TH_FW_VERSION "0.1.0"
#endif

static th_link_device_t g_link;
static th_link_app_ctx_t g_ctx;
static bool g_host_was_open;

// Is a terminal open on the USB CDC port? Not `if (Serial)`: in ArduinoCore-samd
// (cores/arduino/USB/CDC.cpp) Serial_::operator bool() ends with delay(10), which cost 10 ms per
// loop pass and per message. The same test without the delay: DTR set by the host, and not in
// the first 500 ms after reset (operator bool's guard against a spurious open after upload).
static bool host_open(void)
{
    return millis() >= 500 && Serial.dtr();
}

static size_t serial_write(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (!host_open()) return 0;  // no terminal open (DTR low): drop the whole message
    // Serial.write never waits for a host that stopped reading for more than the core's
    // TX_TIMEOUT_MS (70 ms, USBCore.cpp), and after one timeout returns at once until the host reads again.
    return Serial.write(data, n);
}

void serial_link_begin(void)
{
    Serial.begin(115200);  // the rate is ignored by native USB CDC
    const th_model_params_t *mp = model_params();
    g_ctx.app = NULL;
    g_ctx.fw_version = TH_FW_VERSION;
    g_ctx.emissivity = TH_MLX_EMISSIVITY;
    g_ctx.n_model = mp ? mp->num_labels : 0;
    g_ctx.model_labels = mp ? mp->labels : NULL;
    th_link_device_init(&g_link, serial_write, NULL, th_link_app_commands(), &g_ctx);
}

void serial_link_poll(th_app_t *app, uint32_t now_ms)
{
    (void)now_ms;
    uint8_t buf[64];
    g_ctx.app = app;
    bool open = host_open();
    if (open && !g_host_was_open) th_link_device_send_hello(&g_link, TH_LINK_ST_UNSOLICITED, 0);
    g_host_was_open = open;
    int avail;
    while ((avail = Serial.available()) > 0) {
        int n = Serial.readBytes((char *)buf, avail < (int)sizeof buf ? avail : (int)sizeof buf);
        if (n <= 0) break;
        th_link_device_rx(&g_link, buf, (size_t)n);
    }
}

void serial_link_send_frame(uint32_t t_ms, float ta_degc, const float temps_degc[768])
{
    th_link_device_send_frame(&g_link, t_ms, ta_degc, temps_degc);
}

void serial_link_send_prediction(int label_index, float confidence, uint32_t inference_us)
{
    th_link_device_send_prediction(&g_link, millis(), label_index, confidence, inference_us);
}

void serial_link_send_capture(const char *label, int index, int ok)
{
    th_link_device_send_capture(&g_link, label, index, ok);
}

void serial_link_send_log(int level, const char *text)
{
    th_link_device_send_log(&g_link, level + 1, text);
}
