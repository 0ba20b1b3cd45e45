/* tinyheat USB serial link: device side (message sending and host-command dispatch).
 *
 * Portable: the byte sink and the application are reached through callbacks, so the same code
 * runs in the firmware (firmware/src/serial_link.cpp over Arduino `Serial`) and in the
 * simulated device (firmware/host/, over a pseudo-terminal). Spec: PROTOCOL.md.
 * Memory: one th_link_device_t is ~4.9 KB (rx decoder 1.6 KB, tx payload 1.6 KB, tx wire 1.6 KB),
 * no malloc.
 */
#ifndef TH_LINK_DEVICE_H
#define TH_LINK_DEVICE_H

#include "th_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Write n bytes of one complete wire frame. Return the number accepted; a short count means
 *  the frame was dropped by the transport (counted in tx_dropped). */
typedef size_t (*th_link_write_fn)(void *ctx, const uint8_t *data, size_t n);

/** Application callbacks; each command callback returns a HELLO status
 *  (TH_LINK_ST_OK, TH_LINK_ST_BAD_ARG or TH_LINK_ST_REFUSED). NULL callbacks answer REFUSED. */
typedef struct {
    int (*set_mode)(void *ctx, uint8_t mode);
    /** label: "" for the current capture label. The app later reports the result with
     *  th_link_device_send_capture(). */
    int (*capture)(void *ctx, const char *label);
    int (*set_labels)(void *ctx, const char (*labels)[TH_LINK_LABEL_CAP], int n);
    int (*set_rate)(void *ctx, uint8_t rate_code);
    /** Fill every HELLO field except status and ack_seq (required). */
    void (*get_status)(void *ctx, th_link_hello_t *out);
    /** GET_EEPROM: the sensor's 832-word EEPROM image, or NULL (answered REFUSED). */
    const uint16_t *(*eeprom)(void *ctx);
} th_link_commands_t;

typedef struct {
    th_link_decoder_t rx;
    uint16_t tx_seq;
    uint8_t payload[TH_LINK_MAX_PAYLOAD];
    uint8_t wire[TH_LINK_MAX_WIRE];
    th_link_write_fn write;
    void *write_ctx;
    const th_link_commands_t *cmds;
    void *app;
    uint32_t unknown;     /* messages of an unknown type, ignored */
    uint32_t bad_payload; /* host commands with a malformed payload (answered status 1) */
    uint32_t tx_dropped;  /* frames the transport did not accept completely */
    uint32_t commands;    /* valid host commands handled */
} th_link_device_t;

void th_link_device_init(th_link_device_t *dev, th_link_write_fn write, void *write_ctx,
                         const th_link_commands_t *cmds, void *app);

/** Feed bytes received from the host; complete commands are applied through the callbacks and
 *  answered with HELLO. Never blocks except inside the write callback. */
void th_link_device_rx(th_link_device_t *dev, const uint8_t *data, size_t n);

/** Senders: return 1 if the transport accepted the whole frame, 0 otherwise. */
int th_link_device_send_hello(th_link_device_t *dev, uint8_t status, uint16_t ack_seq);
/** temps: 768 degC (24 x 32 row-major); ta_degc ambient Ta; t_ms ms since boot. */
int th_link_device_send_frame(th_link_device_t *dev, uint32_t t_ms, float ta_degc, const float *temps);
/** FRAME of n = 768 or 192 (16 x 12) values (PROTOCOL.md FRAME). */
int th_link_device_send_frame_n(th_link_device_t *dev, uint32_t t_ms, float ta_degc, const float *temps, int n);
int th_link_device_send_prediction(th_link_device_t *dev, uint32_t t_ms, int label_index,
                                   float confidence, uint32_t inference_us);
int th_link_device_send_capture(th_link_device_t *dev, const char *label, int index, int ok);
int th_link_device_send_log(th_link_device_t *dev, int level, const char *text);
/** The 832-word EEPROM image as two EEPROM messages (offsets 0 and 416). 1 if both were accepted. */
int th_link_device_send_eeprom(th_link_device_t *dev, const uint16_t words[TH_LINK_EEPROM_WORDS]);

#ifdef __cplusplus
}
#endif
#endif /* TH_LINK_DEVICE_H */
