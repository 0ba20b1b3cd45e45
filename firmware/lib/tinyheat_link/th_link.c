/* tinyheat USB serial link: portable codec. Spec: PROTOCOL.md. */
#include "th_link.h"

#include <math.h>
#include <string.h>

/* CRC-32/ISO-HDLC (zlib's crc32): reflected polynomial 0xEDB88320, init and xorout 0xFFFFFFFF.
 * Nibble table (16 entries, 64 bytes) to keep flash small. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t th_link_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

size_t th_link_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap)
{
    size_t code_pos = 0, o = 1;
    uint8_t code = 1;
    if (out_cap < 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_pos] = code;
            code_pos = o++;
            code = 1;
            if (code_pos >= out_cap)
                return 0;
        } else {
            if (o >= out_cap)
                return 0;
            out[o++] = in[i];
            code++;
            if (code == 0xFF) {
                out[code_pos] = code;
                code = 1;
                if (i + 1 == n)
                    return o; /* a final full block gets no trailing 0x01 (Python cobs) */
                code_pos = o++;
                if (code_pos >= out_cap)
                    return 0;
            }
        }
    }
    out[code_pos] = code;
    return o;
}

size_t th_link_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n,
                     uint8_t *wire, size_t wire_cap)
{
    /* Build the raw message at the tail of wire, then COBS it in place to the head: COBS
     * output (<= raw_len + ceil(raw_len/254) bytes) never overtakes the unread input, which
     * starts at least ceil(raw_len/254) + 1 bytes later. */
    size_t raw_len = TH_LINK_HEADER_LEN + n + TH_LINK_CRC_LEN;
    size_t overhead = (raw_len + 253u) / 254u;
    if (n > TH_LINK_MAX_PAYLOAD || wire_cap < raw_len + overhead + 1u)
        return 0;
    uint8_t *raw = wire + (wire_cap - raw_len);
    raw[0] = type;
    raw[1] = (uint8_t)(seq & 0xFFu);
    raw[2] = (uint8_t)(seq >> 8);
    if (n)
        memmove(raw + TH_LINK_HEADER_LEN, payload, n);
    uint32_t crc = th_link_crc32(0, raw, TH_LINK_HEADER_LEN + n);
    for (int i = 0; i < 4; i++)
        raw[TH_LINK_HEADER_LEN + n + (size_t)i] = (uint8_t)(crc >> (8 * i));
    size_t enc = th_link_cobs_encode(raw, raw_len, wire, wire_cap - 1u);
    if (enc == 0)
        return 0;
    wire[enc] = 0x00;
    return enc + 1u;
}

void th_link_decoder_init(th_link_decoder_t *d)
{
    memset(d, 0, sizeof *d);
}

static void decoder_reset(th_link_decoder_t *d)
{
    d->len = 0;
    d->code_left = 0;
    d->last_code = 0;
    d->discarding = 0;
}

static void decoder_put(th_link_decoder_t *d, uint8_t b)
{
    if (d->len >= TH_LINK_MAX_RAW) {
        d->discarding = 1;
        return;
    }
    d->buf[d->len++] = b;
}

int th_link_decoder_feed(th_link_decoder_t *d, uint8_t byte, th_link_msg_t *msg)
{
    if (byte == 0x00) {
        int result = 0;
        if (d->discarding) {
            d->stats.oversize++;
        } else if (d->last_code == 0) {
            /* empty frame: ignored */
        } else if (d->code_left != 0) {
            d->stats.cobs_errors++;
        } else if (d->len < TH_LINK_HEADER_LEN + TH_LINK_CRC_LEN) {
            d->stats.short_frames++;
        } else {
            size_t body = (size_t)d->len - TH_LINK_CRC_LEN;
            uint32_t want = (uint32_t)d->buf[body] | ((uint32_t)d->buf[body + 1] << 8) |
                            ((uint32_t)d->buf[body + 2] << 16) | ((uint32_t)d->buf[body + 3] << 24);
            if (th_link_crc32(0, d->buf, body) != want) {
                d->stats.crc_errors++;
            } else {
                d->stats.ok++;
                msg->type = d->buf[0];
                msg->seq = (uint16_t)(d->buf[1] | (d->buf[2] << 8));
                msg->payload = d->buf + TH_LINK_HEADER_LEN;
                msg->len = (uint16_t)(body - TH_LINK_HEADER_LEN);
                result = 1;
            }
        }
        decoder_reset(d);
        return result;
    }
    if (d->discarding)
        return 0;
    if (d->code_left == 0) { /* a code byte */
        if (d->last_code != 0 && d->last_code != 0xFF)
            decoder_put(d, 0x00);
        d->last_code = byte;
        d->code_left = (uint8_t)(byte - 1u);
    } else {
        decoder_put(d, byte);
        d->code_left--;
    }
    return 0;
}

/* ---- fields ------------------------------------------------------------------------ */

void th_link_w_init(th_link_writer_t *w, uint8_t *buf, size_t cap)
{
    w->p = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void th_link_w_bytes(th_link_writer_t *w, const void *data, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->p + w->len, data, n);
    w->len += n;
}

void th_link_w_u8(th_link_writer_t *w, uint8_t v) { th_link_w_bytes(w, &v, 1); }

void th_link_w_u16(th_link_writer_t *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    th_link_w_bytes(w, b, 2);
}

void th_link_w_u32(th_link_writer_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    th_link_w_bytes(w, b, 4);
}

void th_link_w_f32(th_link_writer_t *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    th_link_w_u32(w, u);
}

void th_link_w_str8(th_link_writer_t *w, const char *s, size_t max_len)
{
    size_t n = 0;
    if (max_len > 255)
        max_len = 255;
    while (s && s[n] && n < max_len)
        n++;
    th_link_w_u8(w, (uint8_t)n);
    th_link_w_bytes(w, s, n);
}

void th_link_r_init(th_link_reader_t *r, const uint8_t *buf, size_t len)
{
    r->p = buf;
    r->len = len;
    r->pos = 0;
    r->error = 0;
}

static const uint8_t *r_take(th_link_reader_t *r, size_t n)
{
    if (r->error || n > r->len - r->pos) {
        r->error = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

uint8_t th_link_r_u8(th_link_reader_t *r)
{
    const uint8_t *q = r_take(r, 1);
    return q ? q[0] : 0;
}

uint16_t th_link_r_u16(th_link_reader_t *r)
{
    const uint8_t *q = r_take(r, 2);
    if (!q)
        return 0;
    return (uint16_t)(q[0] | (q[1] << 8));
}

uint32_t th_link_r_u32(th_link_reader_t *r)
{
    const uint8_t *q = r_take(r, 4);
    return q ? ((uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24)) : 0;
}

float th_link_r_f32(th_link_reader_t *r)
{
    uint32_t u = th_link_r_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void th_link_r_str8(th_link_reader_t *r, char *out, size_t cap)
{
    uint8_t n = th_link_r_u8(r);
    const uint8_t *q = r->error ? NULL : r_take(r, n);
    if (!q || (size_t)n + 1u > cap) {
        r->error = 1;
        if (cap)
            out[0] = '\0';
        return;
    }
    memcpy(out, q, n);
    out[n] = '\0';
}

int16_t th_link_cdegc(float t_degc)
{
    if (!isfinite(t_degc))
        return (int16_t)TH_LINK_CDEGC_INVALID;
    float c = floorf(t_degc * 100.0f + 0.5f);
    if (!(c >= -32767.0f && c <= 32767.0f))
        return (int16_t)TH_LINK_CDEGC_INVALID;
    return (int16_t)c;
}

int th_link_label_ok(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        if (!ok || n >= 31)
            return 0;
    }
    return n >= 1;
}

/* ---- messages ---------------------------------------------------------------------- */

static size_t w_done(const th_link_writer_t *w) { return w->overflow ? 0 : w->len; }

size_t th_link_build_hello(const th_link_hello_t *h, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    uint8_t nm = h->n_model > TH_LINK_MAX_LABELS ? TH_LINK_MAX_LABELS : h->n_model;
    uint8_t nc = h->n_capture > TH_LINK_MAX_LABELS ? TH_LINK_MAX_LABELS : h->n_capture;
    th_link_w_init(&w, buf, cap);
    th_link_w_u8(&w, (uint8_t)TH_LINK_PROTO_VERSION);
    th_link_w_u8(&w, h->status);
    th_link_w_u16(&w, h->ack_seq);
    th_link_w_u8(&w, h->mode);
    th_link_w_u8(&w, h->rate_code);
    th_link_w_f32(&w, h->emissivity);
    th_link_w_u32(&w, h->session);
    th_link_w_str8(&w, h->fw_version, TH_LINK_FW_VERSION_CAP - 1);
    th_link_w_u8(&w, nm);
    for (uint8_t i = 0; i < nm; i++)
        th_link_w_str8(&w, h->model_labels[i], TH_LINK_LABEL_CAP - 1);
    th_link_w_u8(&w, nc);
    for (uint8_t i = 0; i < nc; i++)
        th_link_w_str8(&w, h->capture_labels[i], TH_LINK_LABEL_CAP - 1);
    th_link_w_u8(&w, h->current);
    if (h->has_stats) {
        th_link_w_u16(&w, h->fps_x100);
        th_link_w_u32(&w, h->frames);
        th_link_w_u32(&w, h->dropped_subpages);
        th_link_w_u32(&w, h->i2c_errors);
        th_link_w_u32(&w, h->sensor_errors);
        th_link_w_u16(&w, h->sensor_reinits);
        th_link_w_u32(&w, h->tx_dropped);
        if (h->has_identity) {
            th_link_w_u8(&w, h->rows);
            th_link_w_u8(&w, h->cols);
            th_link_w_str8(&w, h->model_id, TH_LINK_MODEL_ID_CAP - 1);
        }
    }
    return w_done(&w);
}

size_t th_link_build_eeprom(uint16_t offset, const uint16_t *words, size_t count, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    if (count == 0 || count > TH_LINK_EEPROM_CHUNK)
        return 0;
    th_link_w_init(&w, buf, cap);
    th_link_w_u16(&w, offset);
    for (size_t i = 0; i < count; i++)
        th_link_w_u16(&w, words[i]);
    return w_done(&w);
}

size_t th_link_build_frame_n(uint32_t t_ms, float ta_degc, const float *temps, int n, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    if (n != TH_LINK_PIXELS && n != TH_LINK_PIXELS_16X12)
        return 0;
    th_link_w_init(&w, buf, cap);
    th_link_w_u32(&w, t_ms);
    th_link_w_u16(&w, (uint16_t)th_link_cdegc(ta_degc));
    for (int i = 0; i < n; i++)
        th_link_w_u16(&w, (uint16_t)th_link_cdegc(temps[i]));
    return w_done(&w);
}

size_t th_link_build_frame(uint32_t t_ms, float ta_degc, const float *temps, uint8_t *buf, size_t cap)
{
    return th_link_build_frame_n(t_ms, ta_degc, temps, TH_LINK_PIXELS, buf, cap);
}

size_t th_link_build_prediction(uint32_t t_ms, int label_index, float confidence,
                                uint32_t inference_us, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    if (label_index < -1 || label_index > 32767)
        label_index = -1;
    th_link_w_init(&w, buf, cap);
    th_link_w_u32(&w, t_ms);
    th_link_w_u16(&w, (uint16_t)(int16_t)label_index);
    th_link_w_f32(&w, confidence);
    th_link_w_u32(&w, inference_us);
    return w_done(&w);
}

size_t th_link_build_capture(int ok, int32_t index, const char *label, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    th_link_w_init(&w, buf, cap);
    th_link_w_u8(&w, ok ? 1 : 0);
    th_link_w_u32(&w, (uint32_t)index);
    th_link_w_str8(&w, label ? label : "", TH_LINK_LABEL_CAP - 1);
    return w_done(&w);
}

size_t th_link_build_log(int level, const char *text, uint8_t *buf, size_t cap)
{
    th_link_writer_t w;
    size_t n = 0;
    while (text && text[n] && n < TH_LINK_MAX_LOG_TEXT)
        n++;
    th_link_w_init(&w, buf, cap);
    th_link_w_u8(&w, (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level));
    th_link_w_bytes(&w, text, n);
    return w_done(&w);
}

int th_link_parse_command(const th_link_msg_t *msg, th_link_cmd_t *cmd)
{
    th_link_reader_t r;
    memset(cmd, 0, sizeof *cmd);
    cmd->type = msg->type;
    cmd->seq = msg->seq;
    th_link_r_init(&r, msg->payload, msg->len);
    switch (msg->type) {
    case TH_LINK_T_SET_MODE:
        cmd->mode = th_link_r_u8(&r);
        if (r.error || cmd->mode >= TH_LINK_MODE_COUNT)
            return TH_LINK_PARSE_BAD;
        return TH_LINK_PARSE_OK;
    case TH_LINK_T_CAPTURE_NOW:
        th_link_r_str8(&r, cmd->label, sizeof cmd->label);
        if (r.error || (cmd->label[0] && !th_link_label_ok(cmd->label)))
            return TH_LINK_PARSE_BAD;
        return TH_LINK_PARSE_OK;
    case TH_LINK_T_SET_LABELS:
        cmd->n_labels = th_link_r_u8(&r);
        if (r.error || cmd->n_labels == 0 || cmd->n_labels > TH_LINK_MAX_LABELS)
            return TH_LINK_PARSE_BAD;
        for (uint8_t i = 0; i < cmd->n_labels; i++) {
            th_link_r_str8(&r, cmd->labels[i], TH_LINK_LABEL_CAP);
            if (r.error || !th_link_label_ok(cmd->labels[i]))
                return TH_LINK_PARSE_BAD;
        }
        return TH_LINK_PARSE_OK;
    case TH_LINK_T_SET_RATE:
        cmd->rate_code = th_link_r_u8(&r);
        if (r.error || cmd->rate_code > 7)
            return TH_LINK_PARSE_BAD;
        return TH_LINK_PARSE_OK;
    case TH_LINK_T_PING:
    case TH_LINK_T_GET_EEPROM:
        return TH_LINK_PARSE_OK;
    default:
        return TH_LINK_PARSE_UNKNOWN;
    }
}
