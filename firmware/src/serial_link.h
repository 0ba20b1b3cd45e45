/**
 * @file serial_link.h
 * USB serial link of the Wio Terminal (native USB CDC `Serial`): a thin adapter over the
 * portable link library (lib/tinyheat_link: th_link_device.h for framing/sending/dispatch,
 * th_link_app.h for applying host commands through th_app.h). Protocol:
 * lib/tinyheat_link/PROTOCOL.md. Memory: one static th_link_device_t (~4.9 KB), no malloc.
 *
 * Sending never blocks on an absent host: when no terminal is open (DTR low) messages are
 * dropped whole and the host sees the gap in the sequence numbers.
 * Call everything from the Arduino loop context (not ISR-safe).
 */
#ifndef SERIAL_LINK_H
#define SERIAL_LINK_H

#include <stdint.h>

#include "th_app.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Serial.begin, once in setup(). */
void serial_link_begin(void);
/** Read host bytes and apply complete commands through th_app.h (answered with HELLO).
 *  Sends an unsolicited HELLO on the first call and whenever a host opens the port.
 *  Call every loop, in every mode, so the host can switch modes. */
void serial_link_poll(th_app_t *app, uint32_t now_ms);
/** FRAME: t_ms ms since boot, ta_degc ambient Ta (degC, NaN unknown), 768 degC row-major. */
void serial_link_send_frame(uint32_t t_ms, float ta_degc, const float temps_degc[768]);
/** PREDICTION: label_index into the model labels (-1 uncertain), confidence 0..1, Invoke() time in us. */
void serial_link_send_prediction(int label_index, float confidence, uint32_t inference_us);
/** CAPTURE: label, index N of <label>.<N>.jpg (-1 if none), ok 1 saved / 0 failed. */
void serial_link_send_capture(const char *label, int index, int ok);
/** LOG: level is th_status_level_t (0 info, 1 warn, 2 error), sent as protocol level 1..3. */
void serial_link_send_log(int level, const char *text);

#ifdef __cplusplus
}
#endif
#endif
