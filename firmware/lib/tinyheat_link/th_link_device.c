/* tinyheat USB serial link: device side. Spec: PROTOCOL.md. */
#include "th_link_device.h"

#include <string.h>

void th_link_device_init(th_link_device_t *dev, th_link_write_fn write, void *write_ctx,
                         const th_link_commands_t *cmds, void *app)
{
    memset(dev, 0, sizeof *dev);
    th_link_decoder_init(&dev->rx);
    dev->write = write;
    dev->write_ctx = write_ctx;
    dev->cmds = cmds;
    dev->app = app;
}

static int send(th_link_device_t *dev, uint8_t type, size_t payload_len)
{
    size_t n = th_link_frame(type, dev->tx_seq, dev->payload, payload_len, dev->wire, sizeof dev->wire);
    dev->tx_seq++; /* a dropped message still uses its seq, so the host sees the gap */
    if (n == 0 || !dev->write || dev->write(dev->write_ctx, dev->wire, n) != n) {
        dev->tx_dropped++;
        return 0;
    }
    return 1;
}

int th_link_device_send_hello(th_link_device_t *dev, uint8_t status, uint16_t ack_seq)
{
    static th_link_hello_t h; /* 0.6 KB: keep it off the stack */
    memset(&h, 0, sizeof h);
    h.current = 0xFF;
    h.emissivity = 1.0f;
    if (dev->cmds && dev->cmds->get_status)
        dev->cmds->get_status(dev->app, &h);
    h.status = status;
    h.ack_seq = ack_seq;
    return send(dev, TH_LINK_T_HELLO, th_link_build_hello(&h, dev->payload, sizeof dev->payload));
}

int th_link_device_send_frame(th_link_device_t *dev, uint32_t t_ms, float ta_degc, const float *temps)
{
    return send(dev, TH_LINK_T_FRAME, th_link_build_frame(t_ms, ta_degc, temps, dev->payload, sizeof dev->payload));
}

int th_link_device_send_frame_n(th_link_device_t *dev, uint32_t t_ms, float ta_degc, const float *temps, int n)
{
    return send(dev, TH_LINK_T_FRAME, th_link_build_frame_n(t_ms, ta_degc, temps, n, dev->payload, sizeof dev->payload));
}

int th_link_device_send_prediction(th_link_device_t *dev, uint32_t t_ms, int label_index,
                                   float confidence, uint32_t inference_us)
{
    return send(dev, TH_LINK_T_PREDICTION,
                th_link_build_prediction(t_ms, label_index, confidence, inference_us, dev->payload, sizeof dev->payload));
}

int th_link_device_send_capture(th_link_device_t *dev, const char *label, int index, int ok)
{
    return send(dev, TH_LINK_T_CAPTURE, th_link_build_capture(ok, index, label, dev->payload, sizeof dev->payload));
}

int th_link_device_send_log(th_link_device_t *dev, int level, const char *text)
{
    return send(dev, TH_LINK_T_LOG, th_link_build_log(level, text, dev->payload, sizeof dev->payload));
}

int th_link_device_send_eeprom(th_link_device_t *dev, const uint16_t words[TH_LINK_EEPROM_WORDS])
{
    int ok = 1;
    for (uint16_t off = 0; off < TH_LINK_EEPROM_WORDS; off += TH_LINK_EEPROM_CHUNK)
        ok &= send(dev, TH_LINK_T_EEPROM,
                   th_link_build_eeprom(off, words + off, TH_LINK_EEPROM_CHUNK, dev->payload, sizeof dev->payload));
    return ok;
}

static void dispatch(th_link_device_t *dev, const th_link_msg_t *msg)
{
    static th_link_cmd_t cmd; /* 0.3 KB: keep it off the stack */
    const th_link_commands_t *c = dev->cmds;
    int st = TH_LINK_ST_REFUSED;
    int parsed = th_link_parse_command(msg, &cmd);
    if (parsed == TH_LINK_PARSE_UNKNOWN) {
        dev->unknown++;
        return;
    }
    if (parsed == TH_LINK_PARSE_BAD) {
        dev->bad_payload++;
        th_link_device_send_hello(dev, TH_LINK_ST_BAD_ARG, msg->seq);
        return;
    }
    dev->commands++;
    switch (cmd.type) {
    case TH_LINK_T_SET_MODE:
        if (c && c->set_mode) st = c->set_mode(dev->app, cmd.mode);
        break;
    case TH_LINK_T_CAPTURE_NOW:
        if (c && c->capture) st = c->capture(dev->app, cmd.label);
        break;
    case TH_LINK_T_SET_LABELS:
        if (c && c->set_labels) st = c->set_labels(dev->app, (const char (*)[TH_LINK_LABEL_CAP])cmd.labels, cmd.n_labels);
        break;
    case TH_LINK_T_SET_RATE:
        if (c && c->set_rate) st = c->set_rate(dev->app, cmd.rate_code);
        break;
    case TH_LINK_T_PING:
        st = TH_LINK_ST_OK;
        break;
    case TH_LINK_T_GET_EEPROM: {
        const uint16_t *ee = (c && c->eeprom) ? c->eeprom(dev->app) : NULL;
        th_link_device_send_hello(dev, ee ? TH_LINK_ST_OK : TH_LINK_ST_REFUSED, cmd.seq);
        if (ee)
            th_link_device_send_eeprom(dev, ee); /* the answer's data follow its HELLO */
        return;
    }
    default:
        break;
    }
    th_link_device_send_hello(dev, (uint8_t)st, cmd.seq);
}

void th_link_device_rx(th_link_device_t *dev, const uint8_t *data, size_t n)
{
    th_link_msg_t msg;
    for (size_t i = 0; i < n; i++)
        if (th_link_decoder_feed(&dev->rx, data[i], &msg))
            dispatch(dev, &msg);
}
