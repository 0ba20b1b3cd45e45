/* Fuzz harness of the C link decoder and device command dispatch.
 *
 * LLVMFuzzerTestOneInput() is libFuzzer's entry point (clang -fsanitize=fuzzer -DTH_LIBFUZZER).
 * Without libFuzzer (Debian gcc), main() is a deterministic driver: it generates inputs from a
 * seeded xorshift PRNG (valid frames, bit flips, truncations, splices, random bytes, long
 * zero-free runs) for a time budget, under ASan/UBSan. Usage: fuzz_decoder [seconds] [seed].
 * Invariants checked (abort on violation):
 *   - every delimited non-empty frame is counted exactly once (ok + 5 error counters);
 *   - every delivered message has len <= TH_LINK_MAX_PAYLOAD and a payload inside the buffer;
 *   - a frame built by th_link_frame() from the input decodes back to the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "th_link.h"
#include "th_link_device.h"

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "fuzz invariant failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                               \
        }                                                                          \
    } while (0)

static size_t sink(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    (void)data;
    return n;
}
static int cb_mode(void *a, uint8_t m) { (void)a; return m < TH_LINK_MODE_COUNT ? 0 : 1; }
static int cb_capture(void *a, const char *l) { (void)a; return l[0] == '\0' || th_link_label_ok(l) ? 0 : 1; }
static int cb_labels(void *a, const char (*l)[TH_LINK_LABEL_CAP], int n)
{
    (void)a;
    for (int i = 0; i < n; i++)
        CHECK(th_link_label_ok(l[i]));
    return 0;
}
static int cb_rate(void *a, uint8_t r) { (void)a; return r <= 7 ? 0 : 1; }
static void cb_status(void *a, th_link_hello_t *h)
{
    (void)a;
    strcpy(h->fw_version, "fuzz");
    h->n_capture = 1;
    strcpy(h->capture_labels[0], "env");
}
static const th_link_commands_t cmds = {cb_mode, cb_capture, cb_labels, cb_rate, cb_status, NULL};

static th_link_decoder_t dec;
static th_link_device_t dev;
static uint8_t wire[2 * TH_LINK_MAX_WIRE]; /* room for the oversize generator */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    th_link_msg_t msg;
    uint32_t frames = 0;
    int in_frame = 0;
    th_link_decoder_init(&dec);
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0) {
            frames += (uint32_t)in_frame;
            in_frame = 0;
        } else {
            in_frame = 1;
        }
        if (th_link_decoder_feed(&dec, data[i], &msg)) {
            CHECK(msg.len <= TH_LINK_MAX_PAYLOAD);
            CHECK(msg.payload >= dec.buf && msg.payload + msg.len <= dec.buf + sizeof dec.buf);
            th_link_cmd_t c;
            int r = th_link_parse_command(&msg, &c);
            CHECK(r >= 0 && r <= 2);
        }
    }
    CHECK(dec.stats.ok + dec.stats.crc_errors + dec.stats.cobs_errors + dec.stats.oversize +
              dec.stats.short_frames == frames);

    /* the device side on the same bytes */
    th_link_device_init(&dev, sink, NULL, &cmds, NULL);
    th_link_device_rx(&dev, data, size);

    /* round trip: input as a payload */
    size_t n = size > TH_LINK_MAX_PAYLOAD ? TH_LINK_MAX_PAYLOAD : size;
    uint8_t type = size ? data[0] : 0;
    size_t w = th_link_frame(type, 0xBEEF, data, n, wire, sizeof wire);
    CHECK(w > 0 && w <= TH_LINK_MAX_WIRE);
    CHECK(memchr(wire, 0, w - 1) == NULL && wire[w - 1] == 0);
    th_link_decoder_init(&dec);
    int got = 0;
    for (size_t i = 0; i < w; i++)
        if (th_link_decoder_feed(&dec, wire[i], &msg)) {
            got++;
            CHECK(msg.type == type && msg.seq == 0xBEEF && msg.len == n);
            CHECK(n == 0 || memcmp(msg.payload, data, n) == 0);
        }
    CHECK(got == 1);
    return 0;
}

#ifndef TH_LIBFUZZER
static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static uint8_t input[4 * TH_LINK_MAX_WIRE];

static size_t gen(void)
{
    size_t len = 0;
    int parts = 1 + (int)(rnd() % 6);
    for (int p = 0; p < parts; p++) {
        size_t room = sizeof input - len;
        uint8_t payload[TH_LINK_MAX_PAYLOAD];
        size_t pl = rnd() % 3 == 0 ? 1542 : rnd() % 64;
        for (size_t i = 0; i < pl; i++)
            payload[i] = (uint8_t)(rnd() % 4 == 0 ? 0 : rnd());
        uint8_t type = (uint8_t)(rnd() % 2 ? 0x81 + rnd() % 6 : rnd());
        size_t w = th_link_frame(type, (uint16_t)rnd(), payload, pl, wire, sizeof wire);
        switch (rnd() % 7) {
        case 0: /* valid */
            break;
        case 1: /* bit flips */
            for (int k = 1 + (int)(rnd() % 3); k > 0; k--)
                wire[rnd() % w] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 2: /* truncation */
            w = rnd() % w;
            break;
        case 3: /* random bytes */
            w = rnd() % 512;
            for (size_t i = 0; i < w; i++)
                wire[i] = (uint8_t)rnd();
            break;
        case 4: /* long zero-free run (oversize) */
            w = TH_LINK_MAX_WIRE - 2 + rnd() % 8;
            for (size_t i = 0; i < w; i++)
                wire[i] = (uint8_t)(1 + rnd() % 255);
            break;
        case 5: /* a valid command with random payload bytes */
            pl = rnd() % 40;
            for (size_t i = 0; i < pl; i++)
                payload[i] = (uint8_t)(rnd() % 3 == 0 ? 1 + rnd() % 40 : 'a' + rnd() % 26);
            w = th_link_frame((uint8_t)(0x81 + rnd() % 5), (uint16_t)rnd(), payload, pl, wire, sizeof wire);
            break;
        default: /* splice: drop a byte in the middle */
            if (w > 2) {
                size_t i = 1 + rnd() % (w - 2);
                memmove(wire + i, wire + i + 1, w - i - 1);
                w--;
            }
        }
        if (w > room)
            break;
        memcpy(input + len, wire, w);
        len += w;
    }
    return len;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 88172645463325252ull;
    if (rng_state == 0)
        rng_state = 1;
    clock_t end = clock() + (clock_t)(budget * CLOCKS_PER_SEC);
    unsigned long runs = 0, bytes = 0;
    while (clock() < end) {
        for (int k = 0; k < 64; k++) {
            size_t n = gen();
            LLVMFuzzerTestOneInput(input, n);
            runs++;
            bytes += n;
        }
    }
    printf("fuzz_decoder: %lu inputs, %lu bytes, 0 failures\n", runs, bytes);
    return 0;
}
#endif
