#define _POSIX_C_SOURCE 200809L
/* Drives the C link codec from text commands on stdin so tests/link/test_c_link.py can check it
 * against tests/link/vectors.json (the same vectors the Python codec is checked against).
 *
 * One command per line, hex byte strings ("-" = empty), floats as the hex of their
 * little-endian binary32 bytes:
 *   crc <hex>                     -> crc <decimal>
 *   cobs <hex>                    -> cobs <hex>
 *   cdegc <f32>                   -> cdegc <int>
 *   hello <seq> <status> <ack> <mode> <rate> <emis f32> <session> <fw hex> <nm> <hex>*nm <nc> <hex>*nc <current>
 *   frame <seq> <t_ms> <ta f32> <768 x f32 concatenated>
 *   prediction <seq> <t_ms> <index> <conf f32> <us>
 *   capture <seq> <ok> <index> <label hex>
 *   log <seq> <level> <text hex>
 *         (the five builders answer "wire <hex>")
 *   command <wire hex>            -> cmd <type> <seq> <result> <mode> <rate> <label hex> <n> <label hex>*n
 *   stream <hex>                  -> msg <type> <seq> <payload hex> ... then
 *                                    stats <ok> <crc> <cobs> <oversize> <short>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_link.h"

static char line[1 << 20];
static uint8_t bin[1 << 19];
static uint8_t out[1 << 19];

static size_t unhex(const char *s, uint8_t *dst, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            break;
        dst[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void put_hex(const uint8_t *b, size_t n)
{
    if (n == 0)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static float f32(const char *hex)
{
    uint8_t b[4] = {0};
    float f;
    unhex(hex, b, 4);
    memcpy(&f, b, 4); /* host is little-endian (x86-64 / ARM) */
    return f;
}

static void str_from_hex(const char *hex, char *dst, size_t cap)
{
    size_t n = unhex(hex, (uint8_t *)dst, cap - 1);
    dst[n] = '\0';
}

static void emit_wire(uint8_t type, unsigned seq, size_t plen)
{
    static uint8_t wire[TH_LINK_MAX_WIRE];
    size_t n = th_link_frame(type, (uint16_t)seq, out, plen, wire, sizeof wire);
    fputs("wire ", stdout);
    put_hex(wire, n);
    putchar('\n');
}

int main(void)
{
    static float temps[TH_LINK_PIXELS];
    while (fgets(line, sizeof line, stdin)) {
        char *save = NULL;
        char *op = strtok_r(line, " \n", &save);
        if (!op)
            continue;
#define NEXT() strtok_r(NULL, " \n", &save)
        if (!strcmp(op, "crc")) {
            size_t n = unhex(NEXT(), bin, sizeof bin);
            printf("crc %lu\n", (unsigned long)th_link_crc32(0, bin, n));
        } else if (!strcmp(op, "cobs")) {
            size_t n = unhex(NEXT(), bin, sizeof bin);
            size_t m = th_link_cobs_encode(bin, n, out, sizeof out);
            fputs("cobs ", stdout);
            put_hex(out, m);
            putchar('\n');
        } else if (!strcmp(op, "cdegc")) {
            printf("cdegc %d\n", th_link_cdegc(f32(NEXT())));
        } else if (!strcmp(op, "hello")) {
            static th_link_hello_t h;
            memset(&h, 0, sizeof h);
            unsigned seq = (unsigned)atoi(NEXT());
            h.status = (uint8_t)atoi(NEXT());
            h.ack_seq = (uint16_t)atoi(NEXT());
            h.mode = (uint8_t)atoi(NEXT());
            h.rate_code = (uint8_t)atoi(NEXT());
            h.emissivity = f32(NEXT());
            h.session = (uint32_t)strtoul(NEXT(), NULL, 10);
            str_from_hex(NEXT(), h.fw_version, sizeof h.fw_version);
            h.n_model = (uint8_t)atoi(NEXT());
            for (int i = 0; i < h.n_model; i++)
                str_from_hex(NEXT(), h.model_labels[i], TH_LINK_LABEL_CAP);
            h.n_capture = (uint8_t)atoi(NEXT());
            for (int i = 0; i < h.n_capture; i++)
                str_from_hex(NEXT(), h.capture_labels[i], TH_LINK_LABEL_CAP);
            h.current = (uint8_t)atoi(NEXT());
            emit_wire(TH_LINK_T_HELLO, seq, th_link_build_hello(&h, out, TH_LINK_MAX_PAYLOAD));
        } else if (!strcmp(op, "frame")) {
            unsigned seq = (unsigned)atoi(NEXT());
            uint32_t t = (uint32_t)strtoul(NEXT(), NULL, 10);
            float ta = f32(NEXT());
            const char *hex = NEXT();
            for (int i = 0; i < TH_LINK_PIXELS; i++) {
                char tmp[9];
                memcpy(tmp, hex + 8 * i, 8);
                tmp[8] = '\0';
                temps[i] = f32(tmp);
            }
            emit_wire(TH_LINK_T_FRAME, seq, th_link_build_frame(t, ta, temps, out, TH_LINK_MAX_PAYLOAD));
        } else if (!strcmp(op, "prediction")) {
            unsigned seq = (unsigned)atoi(NEXT());
            uint32_t t = (uint32_t)strtoul(NEXT(), NULL, 10);
            int idx = atoi(NEXT());
            float conf = f32(NEXT());
            uint32_t us = (uint32_t)strtoul(NEXT(), NULL, 10);
            emit_wire(TH_LINK_T_PREDICTION, seq, th_link_build_prediction(t, idx, conf, us, out, TH_LINK_MAX_PAYLOAD));
        } else if (!strcmp(op, "capture")) {
            char label[64];
            unsigned seq = (unsigned)atoi(NEXT());
            int ok = atoi(NEXT());
            int32_t index = (int32_t)atol(NEXT());
            str_from_hex(NEXT(), label, sizeof label);
            emit_wire(TH_LINK_T_CAPTURE, seq, th_link_build_capture(ok, index, label, out, TH_LINK_MAX_PAYLOAD));
        } else if (!strcmp(op, "log")) {
            static char text[1024];
            unsigned seq = (unsigned)atoi(NEXT());
            int level = atoi(NEXT());
            str_from_hex(NEXT(), text, sizeof text);
            emit_wire(TH_LINK_T_LOG, seq, th_link_build_log(level, text, out, TH_LINK_MAX_PAYLOAD));
        } else if (!strcmp(op, "command") || !strcmp(op, "stream")) {
            static th_link_decoder_t d;
            th_link_msg_t msg;
            int is_cmd = !strcmp(op, "command");
            size_t n = unhex(NEXT(), bin, sizeof bin);
            th_link_decoder_init(&d);
            for (size_t i = 0; i < n; i++) {
                if (!th_link_decoder_feed(&d, bin[i], &msg))
                    continue;
                if (is_cmd) {
                    static th_link_cmd_t c;
                    int r = th_link_parse_command(&msg, &c);
                    printf("cmd %u %u %d %u %u ", c.type, c.seq, r, c.mode, c.rate_code);
                    put_hex((const uint8_t *)c.label, strlen(c.label));
                    printf(" %u", c.n_labels);
                    for (int k = 0; k < c.n_labels; k++) {
                        putchar(' ');
                        put_hex((const uint8_t *)c.labels[k], strlen(c.labels[k]));
                    }
                    putchar('\n');
                } else {
                    printf("msg %u %u ", msg.type, msg.seq);
                    put_hex(msg.payload, msg.len);
                    putchar('\n');
                }
            }
            if (!is_cmd)
                printf("stats %lu %lu %lu %lu %lu\n", (unsigned long)d.stats.ok, (unsigned long)d.stats.crc_errors,
                       (unsigned long)d.stats.cobs_errors, (unsigned long)d.stats.oversize,
                       (unsigned long)d.stats.short_frames);
        } else {
            printf("error unknown op %s\n", op);
        }
        fflush(stdout);
    }
    return 0;
}
