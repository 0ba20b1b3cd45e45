/* Unit tests of the portable link library (th_link + th_link_device). Exit code 0 = pass;
 * prints one line per failed check. Run by tests/link/test_c_link.py. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "th_link.h"
#include "th_link_device.h"

static int failures, checks;
#define CHECK(c)                                                      \
    do {                                                              \
        checks++;                                                     \
        if (!(c)) {                                                   \
            failures++;                                               \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);       \
        }                                                             \
    } while (0)

/* ---- a fake app and a captured byte sink ------------------------------------------- */
static uint8_t sent[1 << 16];
static size_t sent_len;
static size_t accept_limit = (size_t)-1;

static size_t sink(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (n > accept_limit || sent_len + n > sizeof sent)
        return 0;
    memcpy(sent + sent_len, data, n);
    sent_len += n;
    return n;
}

typedef struct {
    uint8_t mode, rate;
    int n_labels;
    char labels[TH_LINK_MAX_LABELS][TH_LINK_LABEL_CAP];
    char captured[TH_LINK_LABEL_CAP];
    int captures;
} fake_app_t;

static int app_mode(void *a, uint8_t m) { ((fake_app_t *)a)->mode = m; return TH_LINK_ST_OK; }
static int app_capture(void *a, const char *l)
{
    fake_app_t *app = a;
    strcpy(app->captured, l);
    app->captures++;
    return TH_LINK_ST_OK;
}
static int app_labels(void *a, const char (*l)[TH_LINK_LABEL_CAP], int n)
{
    fake_app_t *app = a;
    if (n > 3)
        return TH_LINK_ST_REFUSED; /* three keys */
    app->n_labels = n;
    for (int i = 0; i < n; i++)
        strcpy(app->labels[i], l[i]);
    return TH_LINK_ST_OK;
}
static int app_rate(void *a, uint8_t r) { ((fake_app_t *)a)->rate = r; return TH_LINK_ST_OK; }
static void app_status(void *a, th_link_hello_t *h)
{
    fake_app_t *app = a;
    h->mode = app->mode;
    h->rate_code = app->rate;
    h->emissivity = 0.95f;
    h->session = 42;
    strcpy(h->fw_version, "test");
    h->n_capture = (uint8_t)app->n_labels;
    for (int i = 0; i < app->n_labels; i++)
        strcpy(h->capture_labels[i], app->labels[i]);
    h->current = 0;
}
static const th_link_commands_t cmds = {app_mode, app_capture, app_labels, app_rate, app_status, NULL};

/* decode everything in sent[] into msgs */
static th_link_decoder_t rx;
static uint8_t got_type[64], got_payload[64][TH_LINK_MAX_PAYLOAD];
static uint16_t got_seq[64], got_len[64];
static int got;

static void drain(void)
{
    th_link_msg_t m;
    th_link_decoder_init(&rx);
    got = 0;
    for (size_t i = 0; i < sent_len; i++)
        if (th_link_decoder_feed(&rx, sent[i], &m) && got < 64) {
            got_type[got] = m.type;
            got_seq[got] = m.seq;
            got_len[got] = m.len;
            memcpy(got_payload[got], m.payload, m.len);
            got++;
        }
    sent_len = 0;
}

static size_t cmd(uint8_t type, uint16_t seq, const char *payload, size_t n, uint8_t *wire)
{
    return th_link_frame(type, seq, (const uint8_t *)payload, n, wire, TH_LINK_MAX_WIRE);
}

static th_link_device_t dev;
static fake_app_t app;

static void test_dispatch(void)
{
    uint8_t wire[TH_LINK_MAX_WIRE];
    size_t n;
    memset(&app, 0, sizeof app);
    th_link_device_init(&dev, sink, NULL, &cmds, &app);

    n = cmd(TH_LINK_T_SET_MODE, 10, "\x02", 1, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.mode == 2);
    drain();
    CHECK(got == 1 && got_type[0] == TH_LINK_T_HELLO);
    /* HELLO: proto status ack_seq(2) mode rate */
    CHECK(got_payload[0][0] == 1 && got_payload[0][1] == TH_LINK_ST_OK);
    CHECK(got_payload[0][2] == 10 && got_payload[0][3] == 0 && got_payload[0][4] == 2);

    n = cmd(TH_LINK_T_SET_LABELS, 11, "\x03\x03""cat\x03""dog\x05human", 15, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.n_labels == 3 && !strcmp(app.labels[2], "human"));
    drain();
    CHECK(got == 1 && got_payload[0][1] == TH_LINK_ST_OK);

    /* four labels: the app refuses (status 2), labels unchanged */
    n = cmd(TH_LINK_T_SET_LABELS, 12, "\x04\x01""a\x01""b\x01""c\x01""d", 9, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.n_labels == 3);
    drain();
    CHECK(got == 1 && got_payload[0][1] == TH_LINK_ST_REFUSED);

    /* invalid label: bad argument, callback not called */
    n = cmd(TH_LINK_T_CAPTURE_NOW, 13, "\x03""a.b", 4, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.captures == 0 && dev.bad_payload == 1);
    drain();
    CHECK(got == 1 && got_payload[0][1] == TH_LINK_ST_BAD_ARG && got_payload[0][2] == 13);

    n = cmd(TH_LINK_T_CAPTURE_NOW, 14, "\x00", 1, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.captures == 1 && app.captured[0] == '\0');
    drain();

    /* rate out of range, mode out of range */
    n = cmd(TH_LINK_T_SET_RATE, 15, "\x09", 1, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.rate == 0);
    n = cmd(TH_LINK_T_SET_RATE, 16, "\x06", 1, wire);
    th_link_device_rx(&dev, wire, n);
    CHECK(app.rate == 6);
    drain();
    CHECK(got == 2 && got_payload[0][1] == TH_LINK_ST_BAD_ARG && got_payload[1][1] == TH_LINK_ST_OK);

    /* unknown type: ignored, no reply; device messages from the host are ignored too */
    n = cmd(0x99, 17, "xyz", 3, wire);
    th_link_device_rx(&dev, wire, n);
    n = cmd(TH_LINK_T_FRAME, 18, "", 0, wire);
    th_link_device_rx(&dev, wire, n);
    drain();
    CHECK(got == 0 && dev.unknown == 2);

    /* garbage without a final delimiter swallows the next command; a leading 0x00 (as the
     * host client sends before each command) flushes it; byte-by-byte delivery works */
    n = cmd(TH_LINK_T_PING, 19, "", 0, wire);
    th_link_device_rx(&dev, (const uint8_t *)"\x05\x01\x02\xff\x00\x07", 6);
    th_link_device_rx(&dev, wire, n);
    drain();
    CHECK(got == 0);
    th_link_device_rx(&dev, (const uint8_t *)"\x07\x07", 2);
    th_link_device_rx(&dev, (const uint8_t *)"", 1);
    for (size_t i = 0; i < n; i++)
        th_link_device_rx(&dev, wire + i, 1);
    drain();
    CHECK(got == 1 && got_payload[0][2] == 19);
}

static void test_send(void)
{
    float temps[TH_LINK_PIXELS];
    for (int i = 0; i < TH_LINK_PIXELS; i++)
        temps[i] = 20.0f + 0.01f * (float)i;
    temps[5] = NAN;
    th_link_device_init(&dev, sink, NULL, &cmds, &app);
    CHECK(th_link_device_send_frame(&dev, 1000, 25.5f, temps) == 1);
    CHECK(th_link_device_send_prediction(&dev, 1001, 1, 0.75f, 40000) == 1);
    CHECK(th_link_device_send_capture(&dev, "face0", 7, 1) == 1);
    char longtext[400];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CHECK(th_link_device_send_log(&dev, 2, longtext) == 1);
    drain();
    CHECK(got == 4);
    CHECK(got_type[0] == TH_LINK_T_FRAME && got_len[0] == 1542 && got_seq[0] == 0);
    int16_t c5 = (int16_t)(got_payload[0][6 + 10] | (got_payload[0][6 + 11] << 8));
    int16_t c6 = (int16_t)(got_payload[0][6 + 12] | (got_payload[0][6 + 13] << 8));
    CHECK(c5 == TH_LINK_CDEGC_INVALID && c6 == 2006);
    CHECK(got_type[3] == TH_LINK_T_LOG && got_len[3] == 1 + TH_LINK_MAX_LOG_TEXT && got_seq[3] == 3);

    /* a transport that refuses: dropped, seq still advances so the host sees the gap */
    accept_limit = 10;
    CHECK(th_link_device_send_frame(&dev, 1002, 25.5f, temps) == 0);
    accept_limit = (size_t)-1;
    CHECK(dev.tx_dropped == 1);
    CHECK(th_link_device_send_log(&dev, 1, "after") == 1);
    drain();
    CHECK(got == 1 && got_seq[0] == 5);
}

static void test_decoder_limits(void)
{
    static uint8_t big[5000];
    uint8_t wire[TH_LINK_MAX_WIRE];
    th_link_msg_t m;
    th_link_decoder_t d;
    int ok = 0;
    th_link_decoder_init(&d);
    memset(big, 0x41, sizeof big);
    for (size_t i = 0; i < sizeof big; i++)
        th_link_decoder_feed(&d, big[i], &m);
    th_link_decoder_feed(&d, 0, &m);
    CHECK(d.stats.oversize == 1);
    /* largest legal payload fits; one more byte is refused by the encoder */
    static uint8_t payload[TH_LINK_MAX_PAYLOAD + 1];
    memset(payload, 0xAB, sizeof payload);
    size_t n = th_link_frame(1, 2, payload, TH_LINK_MAX_PAYLOAD, wire, sizeof wire);
    CHECK(n > 0 && n <= TH_LINK_MAX_WIRE);
    CHECK(th_link_frame(1, 2, payload, TH_LINK_MAX_PAYLOAD + 1, wire, sizeof wire) == 0);
    CHECK(th_link_frame(1, 2, payload, 10, wire, 12) == 0);
    for (size_t i = 0; i < n; i++)
        ok += th_link_decoder_feed(&d, wire[i], &m);
    CHECK(ok == 1 && m.len == TH_LINK_MAX_PAYLOAD);
    CHECK(th_link_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u);
}

static void test_fields(void)
{
    CHECK(th_link_label_ok("face0") && th_link_label_ok("a-b_C9"));
    CHECK(!th_link_label_ok("") && !th_link_label_ok("a.b") && !th_link_label_ok("a b"));
    CHECK(th_link_label_ok("abcdefghijabcdefghijabcdefghija"));   /* 31 */
    CHECK(!th_link_label_ok("abcdefghijabcdefghijabcdefghijab")); /* 32 */
    CHECK(th_link_cdegc(24.61f) == 2461 && th_link_cdegc(-0.004f) == 0 && th_link_cdegc(-40.0f) == -4000);
    CHECK(th_link_cdegc(INFINITY) == TH_LINK_CDEGC_INVALID && th_link_cdegc(400.0f) == TH_LINK_CDEGC_INVALID);
}

int main(void)
{
    test_dispatch();
    test_send();
    test_decoder_limits();
    test_fields();
    printf("test_link: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
