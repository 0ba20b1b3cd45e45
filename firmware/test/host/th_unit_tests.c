/*
 * Unit tests of the portable core: labels.txt parsing, sample naming, the never-overwrite
 * storage policy on a real directory (argv[1], an empty temp dir acting as the SD card),
 * captures.csv rows, session ids, the app state machine driven by key sequences with a fake
 * clock, smoothing/post-processing and heat-map rendering on known values.
 * Prints "FAIL <file>:<line>: <expr>" for each failed check and exits non-zero.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "th_app.h"
#include "th_classify.h"
#include "th_fs_posix.h"
#include "th_i2c_bus.h"
#include "th_labels.h"
#include "th_palette.h"
#include "th_render.h"
#include "th_store.h"
#include "th_text.h"

static int g_checks, g_fail;
#define CHECK(e) do { g_checks++; if (!(e)) { g_fail++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #e); } } while (0)
#define CHECK_STR(a, b) do { g_checks++; if (strcmp((a), (b)) != 0) { g_fail++; printf("FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, (a), (b)); } } while (0)

/* ---------- labels.txt ---------- */
/* th_fmt_fixed (float/integer maths) against the double-precision formula it replaced
 * (floor(|v| * 10^d + 0.5), exact in double for a float v), on 200,000 pseudo-random floats. */
static void fmt_fixed_vs_double_reference(void)
{
    static const double p10[5] = {1, 10, 100, 1000, 10000};
    uint32_t x = 12345u;
    int i, bad = 0;
    for (i = 0; i < 200000 && bad < 5; i++) {
        char got[32], want[32];
        uint32_t bits;
        float v;
        double a;
        long long scaled;
        int d, neg;
        x = x * 1664525u + 1013904223u;
        bits = (x & 0x807FFFFFu) | ((uint32_t)(112 + (x >> 23) % 40) << 23); /* |v| ~ 2^-15 .. 2^24 */
        memcpy(&v, &bits, sizeof v);
        if (i % 4 == 0) v = (float)((int)(x % 200001u) - 100000) / 1000.0f; /* decimal ties nearby */
        d = (int)(x >> 5) % 5;
        a = (double)v;
        neg = a < 0.0;
        if (neg) a = -a;
        scaled = (long long)floor(a * p10[d] + 0.5);
        if (d == 0) snprintf(want, sizeof want, "%s%lld", (neg && scaled) ? "-" : "", scaled);
        else snprintf(want, sizeof want, "%s%lld.%0*lld", (neg && scaled) ? "-" : "", scaled / (long long)p10[d], d,
                      scaled % (long long)p10[d]);
        th_fmt_fixed(got, sizeof got, v, d);
        if (strcmp(got, want) != 0) {
            printf("th_fmt_fixed(%.9g, %d) = %s, double reference %s\n", (double)v, d, got, want);
            bad++;
        }
    }
    CHECK(bad == 0);
}

static void test_labels(void)
{
    th_labels_t l;
    char st[160];
    const char *crlf = "cat\r\ndog\r\nempty\r\n";
    const char *blank = "\n\n  person \n\n\t\n#comment\nnobody\n";
    const char *bad = "ok_1\nhas space\nthis-label-is-way-too-long-for-the-format\n";
    const char *dots = "a.b\nfine\n";
    const char *extra = "a\nb\nc\nd\ne\n";
    const char *cr_only = "x\ry\rz";
    const char nul[] = {'p', '\n', '\0', 'q', '\n'};

    CHECK(th_labels_parse(NULL, 0, &l, st, sizeof st) == 0);
    CHECK_STR(l.name[0], "face0"); CHECK_STR(l.name[1], "face1"); CHECK_STR(l.name[2], "env");
    CHECK(strstr(st, "no labels.txt") != NULL);

    CHECK(th_labels_parse(crlf, strlen(crlf), &l, st, sizeof st) == 3);
    CHECK_STR(l.name[0], "cat"); CHECK_STR(l.name[1], "dog"); CHECK_STR(l.name[2], "empty");

    CHECK(th_labels_parse(blank, strlen(blank), &l, st, sizeof st) == 2);
    CHECK_STR(l.name[0], "person"); CHECK_STR(l.name[1], "nobody"); CHECK_STR(l.name[2], "env");
    CHECK(strstr(st, "2 of 3") != NULL);

    CHECK(th_labels_parse(bad, strlen(bad), &l, st, sizeof st) == 1);
    CHECK_STR(l.name[0], "ok_1"); CHECK_STR(l.name[1], "face1"); CHECK_STR(l.name[2], "env");
    CHECK(strstr(st, "line 2 invalid") != NULL && strstr(st, "line 3 invalid") != NULL);

    CHECK(th_labels_parse(dots, strlen(dots), &l, st, sizeof st) == 1);
    CHECK_STR(l.name[0], "face0"); CHECK_STR(l.name[1], "fine");

    CHECK(th_labels_parse(extra, strlen(extra), &l, st, sizeof st) == 3);
    CHECK_STR(l.name[2], "c"); CHECK(strstr(st, "2 extra") != NULL);

    CHECK(th_labels_parse(cr_only, strlen(cr_only), &l, st, sizeof st) == 3);
    CHECK_STR(l.name[0], "x"); CHECK_STR(l.name[1], "y"); CHECK_STR(l.name[2], "z");

    CHECK(th_labels_parse(nul, sizeof nul, &l, st, sizeof st) == 1);
    CHECK_STR(l.name[0], "p"); CHECK_STR(l.name[1], "face1");

    /* a 31-char label is fine, 32 is not; tiny status buffer is safe */
    {
        const char *edge = "abcdefghijklmnopqrstuvwxyz01234\nabcdefghijklmnopqrstuvwxyz012345\n";
        char tiny[8];
        CHECK(th_labels_parse(edge, strlen(edge), &l, tiny, sizeof tiny) == 1);
        CHECK(strlen(l.name[0]) == 31);
        CHECK_STR(l.name[1], "face1");
        CHECK(strlen(tiny) < sizeof tiny);
    }
    CHECK(th_label_valid("a") && th_label_valid("A-z_9") && !th_label_valid("") && !th_label_valid("a b") && !th_label_valid(NULL));
}

/* ---------- names, csv, session ---------- */
static void test_names(void)
{
    char lab[32], buf[64];
    uint32_t n;
    CHECK(th_parse_sample_name("face0.12.jpg", lab, &n) && n == 12); CHECK_STR(lab, "face0");
    CHECK(th_parse_sample_name("env.0.pgm", lab, &n) && n == 0);
    CHECK(!th_parse_sample_name("env.01.jpg", lab, &n));       /* leading zero */
    CHECK(!th_parse_sample_name("env.1.jpeg", lab, &n));
    CHECK(!th_parse_sample_name("env.1.jpg.tmp", lab, &n));
    CHECK(!th_parse_sample_name(".1.jpg", lab, &n));
    CHECK(!th_parse_sample_name("e v.1.jpg", lab, &n));
    CHECK(!th_parse_sample_name("env.1234567890.jpg", lab, &n)); /* > 9 digits */
    CHECK(th_parse_sample_name("env.999999999.jpg", lab, &n) && n == 999999999u);
    CHECK(th_sample_name(buf, sizeof buf, "face0", 7, "jpg") == 11); CHECK_STR(buf, "face0.7.jpg");
    CHECK(th_sample_name(buf, sizeof buf, "bad label", 7, "jpg") == -1);
    CHECK(th_sample_name(buf, 5, "face0", 7, "jpg") == -1);

    CHECK(th_captures_row(buf, sizeof buf, "face0.12.jpg", "face0", 12, 0x2a, 183422, 24.61f) > 0);
    CHECK_STR(buf, "face0.12.jpg,face0,12,0000002a,183422,24.61\n");
    th_captures_row(buf, sizeof buf, "env.0.jpg", "env", 0, 0xdeadbeefu, 5, NAN);
    CHECK_STR(buf, "env.0.jpg,env,0,deadbeef,5,\n");
    th_captures_row(buf, sizeof buf, "env.0.jpg", "env", 0, 1, 5, -0.004f);
    CHECK_STR(buf, "env.0.jpg,env,0,00000001,5,0.00\n");
    th_captures_row(buf, sizeof buf, "env.0.jpg", "env", 0, 1, 5, -3.456f);
    CHECK_STR(buf, "env.0.jpg,env,0,00000001,5,-3.46\n");
    CHECK(th_captures_row(buf, 10, "env.0.jpg", "env", 0, 1, 5, 1.0f) == -1);

    CHECK(th_fmt_fixed(buf, sizeof buf, 24.615f, 1) == 4); CHECK_STR(buf, "24.6");
    th_fmt_fixed(buf, sizeof buf, -0.5f, 0); CHECK_STR(buf, "-1");
    th_fmt_fixed(buf, sizeof buf, 7.0f, 3); CHECK_STR(buf, "7.000");
    th_fmt_fixed(buf, sizeof buf, NAN, 2); CHECK_STR(buf, "nan");
    CHECK(th_fmt_fixed(buf, 3, 123.0f, 0) == -1 && buf[0] == '\0');
    th_fmt_fixed(buf, sizeof buf, 2.675f, 2); CHECK_STR(buf, "2.67"); /* 2.67499995... */
    th_fmt_fixed(buf, sizeof buf, 0.125f, 2); CHECK_STR(buf, "0.13"); /* exact tie: half up */
    th_fmt_fixed(buf, sizeof buf, -0.004f, 2); CHECK_STR(buf, "0.00");
    th_fmt_fixed(buf, sizeof buf, 9.99996f, 4); CHECK_STR(buf, "10.0000");
    th_fmt_fixed(buf, sizeof buf, 3e9f, 1); CHECK_STR(buf, "1000000000.0");
    fmt_fixed_vs_double_reference();
    CHECK(th_session_next(NULL, 0) == 1);
    CHECK(th_session_next("0000002a\n", 9) == 0x2b);
    CHECK(th_session_next("  ff", 4) == 0x100);
    CHECK(th_session_next("garbage", 7) == 1);
    CHECK(th_session_next("ffffffff", 8) == 0);
    th_session_format(0x2b, buf); CHECK_STR(buf, "0000002b");
}

/* ---------- storage policy on a directory ---------- */
static void put(const char *dir, const char *name, const char *content)
{
    char p[512];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "wb");
    fputs(content, f);
    fclose(f);
}

static long file_size(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int file_is(const char *dir, const char *name, const char *content)
{
    char p[512], buf[256] = "";
    FILE *f;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "rb");
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, content) == 0;
}

static void test_store(const char *card)
{
    th_fs_posix_t fsx;
    memset(&fsx, 0, sizeof fsx);
    fsx.dir = card;
    th_fs_ops_t fs;
    th_store_t st;
    th_labels_t l;
    th_save_result_t r;
    static float temps[TH_PIXELS];
    const uint8_t jpg[] = {0xFF, 0xD8, 0xFF, 0xD9};
    int i;
    for (i = 0; i < TH_PIXELS; i++) temps[i] = 25.0f;
    th_fs_posix_ops(&fsx, &fs);
    /* existing files on the card: user samples, a stray sidecar, unrelated files */
    put(card, "face0.0.jpg", "USER0");
    put(card, "face0.3.jpg", "USER3");
    put(card, "face0.5.pgm", "STRAY5");   /* .pgm without .jpg: its N is taken too */
    put(card, "face0.7.jpg.tmp", "x");
    put(card, "env.2.jpg", "ENV2");
    put(card, "notes.txt", "hello");
    th_labels_default(&l);
    th_store_init(&st, &l, 0x2a);
    CHECK(th_store_rescan(&st, &fs) == TH_FS_OK);
    CHECK(st.next_index[0] == 6 && st.next_index[1] == 0 && st.next_index[2] == 3);

    /* key A: face0.6 */
    CHECK(th_store_save(&st, &fs, 0, NULL, jpg, sizeof jpg, temps, 1000, 24.5f, &r) == TH_FS_OK);
    CHECK(r.index == 6); CHECK_STR(r.jpg_name, "face0.6.jpg");
    CHECK(r.sidecar_result == TH_FS_OK && r.log_result == TH_FS_OK);
    CHECK(file_size(card, "face0.6.jpg") == 4);
    CHECK(file_size(card, "face0.6.pgm") == (long)TH_PGM_BYTES);
    CHECK(st.next_index[0] == 7);

    /* a file appears behind our back at the next index (another writer): skipped, not overwritten */
    put(card, "face0.7.jpg", "SNEAKY");
    CHECK(th_store_save(&st, &fs, 0, NULL, jpg, sizeof jpg, NULL, 2000, NAN, &r) == TH_FS_OK);
    CHECK(r.index == 8);
    CHECK(file_is(card, "face0.7.jpg", "SNEAKY"));
    CHECK(file_size(card, "face0.8.pgm") == -1); /* no temps -> no sidecar */
    CHECK(st.next_index[0] == 9);

    /* user files untouched */
    CHECK(file_is(card, "face0.0.jpg", "USER0") && file_is(card, "face0.3.jpg", "USER3") && file_is(card, "face0.5.pgm", "STRAY5"));

    /* host-command label not on a key: max existing + 1 from a listing */
    put(card, "cat.4.jpg", "CAT4");
    CHECK(th_store_save(&st, &fs, -1, "cat", jpg, sizeof jpg, temps, 3000, 20.0f, &r) == TH_FS_OK);
    CHECK(r.index == 5);
    CHECK(th_store_save(&st, &fs, -1, "cat", jpg, sizeof jpg, temps, 3100, 20.0f, &r) == TH_FS_OK);
    CHECK(r.index == 6);
    /* host label equal to a key label uses that key's counter */
    CHECK(th_store_save(&st, &fs, -1, "env", jpg, sizeof jpg, temps, 3200, 20.0f, &r) == TH_FS_OK);
    CHECK(r.index == 3 && st.next_index[2] == 4);
    CHECK(th_store_save(&st, &fs, -1, "bad.label", jpg, sizeof jpg, temps, 0, 0, &r) == TH_FS_BAD_ARG);

    /* captures.csv: header once, then one row per saved sample */
    {
        char p[512], line[128];
        FILE *f;
        int rows = 0;
        snprintf(p, sizeof p, "%s/%s", card, TH_CAPTURES_CSV);
        f = fopen(p, "r");
        CHECK(f != NULL);
        if (f) {
            CHECK(fgets(line, sizeof line, f) && strcmp(line, TH_CAPTURES_HEADER) == 0);
            CHECK(fgets(line, sizeof line, f) && strcmp(line, "face0.6.jpg,face0,6,0000002a,1000,24.50\n") == 0);
            rows = 1;
            while (fgets(line, sizeof line, f)) rows++;
            fclose(f);
        }
        CHECK(rows == 5);
    }

    /* full card: error, nothing left behind, counter unchanged so a retry reuses the index */
    fsx.fail_writes = 1;
    CHECK(th_store_save(&st, &fs, 1, NULL, jpg, sizeof jpg, temps, 4000, 20.0f, &r) == TH_FS_IO);
    CHECK(st.next_index[1] == 0);
    CHECK(file_size(card, "face1.0.jpg") == -1);
    /* card removed */
    fsx.fail_writes = 0;
    fsx.no_card = 1;
    CHECK(th_store_save(&st, &fs, 1, NULL, jpg, sizeof jpg, temps, 4000, 20.0f, &r) == TH_FS_NO_CARD);
    CHECK(th_store_rescan(&st, &fs) == TH_FS_NO_CARD);
    CHECK(st.next_index[0] == 9); /* counters survive a missing card */
    fsx.no_card = 0;
    CHECK(th_store_save(&st, &fs, 1, NULL, jpg, sizeof jpg, temps, 4100, 20.0f, &r) == TH_FS_OK && r.index == 0);

    /* counters never go down on rescan (e.g. a different card with fewer files) */
    st.next_index[2] = 100;
    th_store_rescan(&st, &fs);
    CHECK(st.next_index[2] == 100);

    /* relabel: changed key restarts at 0, rescan finds existing files */
    {
        th_labels_t l2 = st.labels;
        strcpy(l2.name[1], "cat");
        th_store_set_labels(&st, &l2);
        CHECK(st.next_index[1] == 0 && st.next_index[0] == 9);
        th_store_rescan(&st, &fs);
        CHECK(st.next_index[1] == 7);
    }
}

/* ---------- app state machine ---------- */
typedef struct {
    th_app_t app;
    th_app_input_t in;
    th_app_actions_t out;
    int captures[TH_NUM_KEYS];
    int host_captures, refused, renders, infers, streams, retry_sd, retry_sensor, refresh_sets;
} sim_t;

static void sim_init(sim_t *s)
{
    th_store_t st;
    th_labels_t l;
    memset(s, 0, sizeof *s);
    th_labels_default(&l);
    th_store_init(&st, &l, 1);
    th_app_init(&s->app, NULL, &st);
    s->in.sd_ok = 1;
    s->in.sensor_ok = 1;
}

/* Run the loop from the current time to t_end in steps of dt ms; a frame every frame_ms. */
static void sim_run(sim_t *s, uint32_t t_end, uint32_t dt, uint32_t frame_ms)
{
    while (s->in.now_ms < t_end) {
        s->in.now_ms += dt;
        s->in.frame_ready = frame_ms && (s->in.now_ms % frame_ms) < dt;
        th_app_step(&s->app, &s->in, &s->out);
        if (s->out.capture) {
            th_save_result_t r;
            memset(&r, 0, sizeof r);
            if (s->out.capture_key >= 0) s->captures[s->out.capture_key]++;
            else s->host_captures++;
            snprintf(r.jpg_name, sizeof r.jpg_name, "%s.0.jpg", s->out.capture_label);
            th_app_capture_done(&s->app, &r, s->out.capture_label);
        }
        s->refused += s->out.capture_refused;
        s->renders += s->out.render;
        s->infers += s->out.infer;
        s->streams += s->out.stream_frame;
        s->retry_sd += s->out.retry_sd;
        s->retry_sensor += s->out.retry_sensor;
        s->refresh_sets += s->out.set_refresh;
    }
}

static void test_app(void)
{
    sim_t s;

    /* boot: applies the refresh rate once, starts in collect mode */
    sim_init(&s);
    sim_run(&s, 100, 10, 125);
    CHECK(s.refresh_sets == 1 && s.app.mode == TH_MODE_COLLECT);
    CHECK(s.renders == 0 || s.renders == 1);

    /* single short press of A (80 ms): exactly one capture of face0 */
    s.in.keys = TH_KEY_A;
    sim_run(&s, 180, 10, 125);
    s.in.keys = 0;
    sim_run(&s, 1000, 10, 125);
    CHECK(s.captures[0] == 1 && s.captures[1] == 0 && s.captures[2] == 0);
    CHECK(strstr(s.app.status, "saved face0") != NULL);

    /* bouncing contact (1 ms toggles) shorter than the debounce time: no capture */
    {
        int i;
        for (i = 0; i < 10; i++) {
            s.in.keys = (i % 2) ? 0 : TH_KEY_B;
            sim_run(&s, s.in.now_ms + 2, 2, 0);
        }
        s.in.keys = 0;
        sim_run(&s, s.in.now_ms + 200, 10, 0);
        CHECK(s.captures[1] == 0);
    }

    /* hold C for 2 s with frames every 50 ms: 1 + repeats at 600 ms then every 250 ms */
    {
        uint32_t t0 = s.in.now_ms;
        s.in.keys = TH_KEY_C;
        sim_run(&s, t0 + 2000, 10, 50);
        s.in.keys = 0;
        sim_run(&s, t0 + 3000, 10, 50);
        /* press accepted at ~t0+40; repeats at +640, 890, 1140, 1390, 1640, 1890 -> 7 */
        CHECK(s.captures[2] == 7);
        if (s.captures[2] != 7) printf("  hold burst captures: %d\n", s.captures[2]);
    }

    /* hold with slow frames (every 500 ms): never two captures of the same frame */
    {
        uint32_t t0 = s.in.now_ms;
        int before = s.captures[0];
        s.in.keys = TH_KEY_A;
        sim_run(&s, t0 + 3000, 10, 500);
        s.in.keys = 0;
        sim_run(&s, t0 + 4000, 10, 500);
        CHECK(s.captures[0] - before <= 7 && s.captures[0] - before >= 4);
        if (!(s.captures[0] - before <= 7 && s.captures[0] - before >= 4)) printf("  slow-frame hold captures: %d\n", s.captures[0] - before);
    }

    /* mode switching: right, press -> next; left -> previous; wraps */
    s.in.keys = TH_KEY_RIGHT; sim_run(&s, s.in.now_ms + 100, 10, 0);
    s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 0);
    CHECK(s.app.mode == TH_MODE_CLASSIFY);
    s.in.keys = TH_KEY_PRESS; sim_run(&s, s.in.now_ms + 100, 10, 0);
    s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 0);
    CHECK(s.app.mode == TH_MODE_STREAM);
    s.in.keys = TH_KEY_RIGHT; sim_run(&s, s.in.now_ms + 100, 10, 0);
    s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 0);
    CHECK(s.app.mode == TH_MODE_COLLECT);
    s.in.keys = TH_KEY_LEFT; sim_run(&s, s.in.now_ms + 100, 10, 0);
    s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 0);
    CHECK(s.app.mode == TH_MODE_STREAM);
    CHECK(strstr(s.app.status, "stream") != NULL);

    /* stream mode: frames stream; inference only with a model; A does not capture */
    {
        int st0 = s.streams, inf0 = s.infers, cap0 = s.captures[0];
        sim_run(&s, s.in.now_ms + 1000, 10, 125);
        CHECK(s.streams - st0 == 8 && s.infers == inf0);
        th_app_set_model_ok(&s.app, 1);
        sim_run(&s, s.in.now_ms + 1000, 10, 125);
        CHECK(s.infers - inf0 == 8);
        s.in.keys = TH_KEY_A; sim_run(&s, s.in.now_ms + 100, 10, 125);
        s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 125);
        CHECK(s.captures[0] == cap0);
        CHECK(strstr(s.app.status, "collect mode") != NULL);
    }

    /* host commands */
    CHECK(th_app_cmd_set_mode(&s.app, 3) == TH_APP_EINVAL);
    CHECK(th_app_cmd_set_mode(&s.app, -1) == TH_APP_EINVAL);
    CHECK(th_app_cmd_set_refresh(&s.app, 8) == TH_APP_EINVAL);
    CHECK(th_app_cmd_set_refresh(&s.app, 0x05) == TH_APP_OK);
    sim_run(&s, s.in.now_ms + 20, 10, 0);
    CHECK(s.out.set_refresh == 0 && s.refresh_sets == 2 && s.app.refresh_code == 5);
    CHECK(th_refresh_hz(0) == 0.5f && th_refresh_hz(4) == 8.0f && th_refresh_hz(7) == 64.0f && th_refresh_hz(8) == 0.0f);
    CHECK(th_app_cmd_capture(&s.app, "no way") == TH_APP_EINVAL);
    CHECK(th_app_cmd_capture(&s.app, "cat") == TH_APP_OK);
    CHECK(th_app_cmd_capture(&s.app, "cat") == TH_APP_EBUSY);
    sim_run(&s, s.in.now_ms + 300, 10, 125);
    CHECK(s.host_captures == 1 && s.app.pending == 0);
    CHECK(th_app_cmd_set_labels(&s.app, "x", "y z", "w") == TH_APP_EINVAL);
    CHECK_STR(s.app.store.labels.name[1], "face1");
    CHECK(th_app_cmd_set_labels(&s.app, "x", "y", "w") == TH_APP_OK);
    sim_run(&s, s.in.now_ms + 10, 10, 0);
    CHECK(s.out.rescan == 1);
    CHECK_STR(s.app.store.labels.name[2], "w");
    CHECK(th_app_cmd_set_mode(&s.app, TH_MODE_COLLECT) == TH_APP_OK);
    s.in.keys = TH_KEY_B; sim_run(&s, s.in.now_ms + 100, 10, 125);
    CHECK(s.out.capture == 0 || strcmp(s.out.capture_label, "y") == 0);
    s.in.keys = 0; sim_run(&s, s.in.now_ms + 200, 10, 125);
    CHECK(s.captures[1] == 1);

    /* missing SD card: visible error, capture refused, counter not lost, periodic retry */
    {
        uint32_t counter = s.app.store.next_index[0] = 42;
        int ref0 = s.refused, cap0 = s.captures[0];
        s.in.sd_ok = 0;
        sim_run(&s, s.in.now_ms + 50, 10, 125);
        CHECK(s.app.status_level == TH_STATUS_ERROR && strstr(s.app.status, "SD") != NULL);
        s.retry_sd = 0;
        s.in.keys = TH_KEY_A; sim_run(&s, s.in.now_ms + 100, 10, 125);
        s.in.keys = 0; sim_run(&s, s.in.now_ms + 5000, 10, 125);
        CHECK(s.captures[0] == cap0 && s.refused == ref0 + 1);
        CHECK(s.retry_sd >= 3 && s.retry_sd <= 4); /* the refusal + every 2 s */
        CHECK(s.app.store.next_index[0] == counter);
        s.in.sd_ok = 1;
        sim_run(&s, s.in.now_ms + 50, 10, 125);
        CHECK(strstr(s.app.status, "SD card OK") != NULL);
        s.in.keys = TH_KEY_A; sim_run(&s, s.in.now_ms + 100, 10, 125);
        s.in.keys = 0; sim_run(&s, s.in.now_ms + 300, 10, 125);
        CHECK(s.captures[0] == cap0 + 1);
    }

    /* absent sensor: error message, retries every second, no render, capture refused */
    {
        int r0 = s.renders, ref0 = s.refused;
        s.in.sensor_ok = 0;
        s.retry_sensor = 0;
        sim_run(&s, s.in.now_ms + 3050, 10, 125);
        CHECK(s.app.status_level == TH_STATUS_ERROR && strstr(s.app.status, "MLX90640") != NULL);
        CHECK(s.retry_sensor == 3);
        CHECK(s.renders == r0);
        s.in.keys = TH_KEY_C; sim_run(&s, s.in.now_ms + 100, 10, 125);
        s.in.keys = 0; sim_run(&s, s.in.now_ms + 100, 10, 125);
        CHECK(s.refused == ref0 + 1);
        s.in.sensor_ok = 1;
        sim_run(&s, s.in.now_ms + 300, 10, 125);
        CHECK(s.renders > r0 && strstr(s.app.status, "sensor OK") != NULL);
    }

    /* failed write reported as an error */
    {
        th_save_result_t r;
        memset(&r, 0, sizeof r);
        r.result = TH_FS_IO;
        th_app_capture_done(&s.app, &r, "face0");
        CHECK(s.app.status_level == TH_STATUS_ERROR && strstr(s.app.status, "NOT saved") != NULL);
    }

    /* millis() wrap-around keeps debounce and burst working */
    {
        sim_t w;
        sim_init(&w);
        w.in.now_ms = 0xFFFFFF00u;
        sim_run(&w, 0xFFFFFF80u, 10, 0);
        w.in.keys = TH_KEY_A;
        {   /* run across the wrap */
            int i;
            for (i = 0; i < 100; i++) {
                w.in.now_ms += 10;
                w.in.frame_ready = (i % 5) == 0;
                th_app_step(&w.app, &w.in, &w.out);
                if (w.out.capture) w.captures[0]++;
            }
        }
        CHECK(w.captures[0] >= 2 && w.captures[0] <= 3);
    }
}

/* ---------- classifier post-processing ---------- */
static void test_classify(void)
{
    static const char *const names[3] = {"a", "b", "c"};
    th_model_params_t p;
    th_smoother_t s;
    th_prediction_t r;
    int8_t q1[3] = {-128, 127, -128}, q2[3] = {127, -128, -128};
    float probs[3];
    memset(&p, 0, sizeof p);
    p.num_labels = 3;
    p.labels = names;
    p.input_mode = TH_INPUT_RELATIVE;
    p.relative_span_k = 8.0f;
    p.input_channels = 1;
    p.input_scale = 1.0f / 255.0f;
    p.input_zero_point = -128;
    p.output_scale = 1.0f / 256.0f;
    p.output_zero_point = -128;
    CHECK(th_model_params_check(&p) == 0);
    th_dequantize(q1, 3, &p, probs);
    CHECK(probs[0] == 0.0f && fabsf(probs[1] - 255.0f / 256.0f) < 1e-7f);
    {   /* softmax of logits (0, ln 2, 0) -> (1/4, 1/2, 1/4) */
        float z[3] = {0.0f, 0.69314718f, 0.0f};
        th_softmax(z, 3, z);
        CHECK(fabsf(z[0] - 0.25f) < 1e-6f && fabsf(z[1] - 0.5f) < 1e-6f && fabsf(z[2] - 0.25f) < 1e-6f);
    }
    p.output_scale = 0.1f; /* logits span 25.5: a clear winner */
    r = th_postprocess(q1, &p, NULL, 0.5f);
    CHECK(r.label_index == 1 && r.top_index == 1 && r.confidence > 0.999f);
    /* smoothing K=2: b then a -> tie ~0.5 each -> first index (a) but uncertain at 0.6 */
    th_smoother_init(&s, 2, 3);
    r = th_postprocess(q1, &p, &s, 0.6f);
    CHECK(r.label_index == 1);
    r = th_postprocess(q2, &p, &s, 0.6f);
    CHECK(r.label_index == -1 && r.top_index == 0 && fabsf(r.confidence - 0.5f) < 1e-6f);
    r = th_postprocess(q2, &p, &s, 0.6f);
    CHECK(r.label_index == 0);
    p.output_scale = 1.0f / 256.0f;
    {   /* argmax ties -> first */
        float v[4] = {0.1f, 0.4f, 0.4f, 0.1f};
        CHECK(th_argmax(v, 4) == 1);
    }
    p.input_scale = 0.0f;
    CHECK(th_model_params_check(&p) != 0);
    {
        static float f[TH_PIXELS];
        int8_t q[TH_PIXELS];
        q[0] = 7;
        CHECK(th_preprocess(f, &p, q) == -1 && q[0] == 7);
    }
    p.input_scale = 1.0f / 255.0f;
    p.input_mode = 5;
    CHECK(th_model_params_check(&p) != 0);
    /* two-channel: needs 2 channels, a window and clip_hi > clip_lo */
    p.input_mode = TH_INPUT_TWO_CHANNEL;
    p.window_lo_degc = 20.0f;
    p.window_hi_degc = 30.0f;
    p.clip_lo = -0.5f;
    p.clip_hi = 2.0f;
    CHECK(th_model_params_check(&p) != 0); /* still 1 channel */
    p.input_channels = 2;
    CHECK(th_model_params_check(&p) == 0);
    p.clip_hi = -0.5f;
    CHECK(th_model_params_check(&p) != 0);
    p.clip_hi = 2.0f;
    p.input_mode = TH_INPUT_RELATIVE_CLIPPED;
    CHECK(th_model_params_check(&p) != 0); /* 1-channel mode with 2 channels */
    p.input_channels = 1;
    CHECK(th_model_params_check(&p) == 0);
}

/* ---------- rendering on known values ---------- */
static void test_render(void)
{
    static float f[TH_PIXELS];
    static th_heatmap_t hm;
    uint16_t row[320];
    th_range_cfg_t cfg = {TH_RANGE_FIXED, 20.0f, 30.0f, 2.0f};
    int i, x, ok;
    CHECK(th_palette_inferno[0] == 0x0000);           /* black */
    CHECK((th_palette_inferno[255] >> 11) >= 29);      /* bright red channel at the hot end */
    /* uniform frame at lo/hi/mid */
    for (i = 0; i < TH_PIXELS; i++) f[i] = 30.0f;
    CHECK(th_heatmap_prepare(&hm, f, &cfg) == 0);
    th_heatmap_row(&hm, 320, 240, 100, 0, row);
    ok = 1;
    for (x = 0; x < 320; x++) ok &= row[x] == th_palette_inferno[255];
    CHECK(ok);
    for (i = 0; i < TH_PIXELS; i++) f[i] = 25.0f;
    th_heatmap_prepare(&hm, f, &cfg);
    th_heatmap_row(&hm, 288, 216, 0, 0, row);
    CHECK(row[0] == th_palette_inferno[128] && row[287] == th_palette_inferno[128]); /* 127.5 rounds up */
    /* invalid pixels show as coldest */
    f[0] = NAN;
    th_heatmap_prepare(&hm, f, &cfg);
    CHECK(hm.u[0] == 0.0f);
    th_heatmap_row(&hm, 320, 240, 0, 0, row);
    CHECK(row[0] == th_palette_inferno[0]);  /* centre of output pixel 0 is clamped onto source pixel 0 */
    th_heatmap_row(&hm, 320, 240, 0, 1, row);
    CHECK(row[319] == th_palette_inferno[0] && row[0] == th_palette_inferno[128]);  /* mirrored */
    /* horizontal ramp: column c at 20 + c * 10/31 -> u = c * 255/31; at 10x, the centre between two source centres */
    for (i = 0; i < TH_PIXELS; i++) f[i] = 20.0f + (float)(i % TH_COLS) * 10.0f / 31.0f;
    th_heatmap_prepare(&hm, f, &cfg);
    th_heatmap_row(&hm, 320, 240, 10, 0, row);
    /* output x = 10c + 4.5 is source c exactly; x=10c+4 -> c - 0.05 */
    CHECK(row[4] == th_palette_inferno[0] && row[314] == th_palette_inferno[255]);
    CHECK(row[5 * 10 + 4] == th_palette_inferno[(int)(5 * 255.0f / 31.0f + 0.5f) - 0] ||
          row[5 * 10 + 4] == th_palette_inferno[(int)(5 * 255.0f / 31.0f)]);
    /* monotone ramp -> non-decreasing palette index along the row */
    /* auto range with min span: uniform 25 degC -> 24..26 */
    cfg.mode = TH_RANGE_AUTO;
    for (i = 0; i < TH_PIXELS; i++) f[i] = 25.0f;
    th_heatmap_prepare(&hm, f, &cfg);
    CHECK(hm.lo_degc == 24.0f && hm.hi_degc == 26.0f);
    f[5] = 40.0f; f[6] = 10.0f;
    th_heatmap_prepare(&hm, f, &cfg);
    CHECK(hm.lo_degc == 10.0f && hm.hi_degc == 40.0f);
    CHECK(th_heatmap_index(&hm, 40.0f) == 255 && th_heatmap_index(&hm, 10.0f) == 0 && th_heatmap_index(&hm, 25.0f) == 128);
    /* bad fixed range falls back to 22..37 and reports -1 */
    cfg.mode = TH_RANGE_FIXED; cfg.lo_degc = 30.0f; cfg.hi_degc = 30.0f;
    CHECK(th_heatmap_prepare(&hm, f, &cfg) == -1 && hm.lo_degc == 22.0f && hm.hi_degc == 37.0f);
}

/* ---- I2C bus clear (th_i2c_bus.h) on a model of a slave holding SDA low ---- */
typedef struct {
    int m_scl, m_sda;       /* master: 1 released, 0 driven low */
    int slave_bits;         /* SCL falling edges until the slave releases SDA (-1: never) */
    int scl_stuck;          /* something holds SCL low */
    int stops, falls;
    unsigned long us;
} bus_model_t;

static int bm_scl(const bus_model_t *b) { return b->m_scl && !b->scl_stuck; }
static int bm_sda(const bus_model_t *b) { return b->m_sda && b->slave_bits == 0; }
static void bm_set(bus_model_t *b, int scl, int sda)
{
    int scl0 = bm_scl(b), sda0 = bm_sda(b);
    b->m_scl = scl;
    b->m_sda = sda;
    if (scl0 && !bm_scl(b)) {
        b->falls++;
        if (b->slave_bits > 0) b->slave_bits--; /* the slave shifts its next bit out; 0 = released */
    }
    if (bm_scl(b) && !sda0 && bm_sda(b)) b->stops++; /* SDA rises while SCL is high: STOP */
}
static void bm_scl_low(void *c) { bus_model_t *b = c; bm_set(b, 0, b->m_sda); }
static void bm_scl_rel(void *c) { bus_model_t *b = c; bm_set(b, 1, b->m_sda); }
static void bm_sda_low(void *c) { bus_model_t *b = c; bm_set(b, b->m_scl, 0); }
static void bm_sda_rel(void *c) { bus_model_t *b = c; bm_set(b, b->m_scl, 1); }
static int bm_scl_read(void *c) { return bm_scl(c); }
static int bm_sda_read(void *c) { return bm_sda(c); }
static void bm_delay(void *c, unsigned us) { ((bus_model_t *)c)->us += us; }

static th_i2c_bus_result_t bus_clear(bus_model_t *b, int *pulses)
{
    th_i2c_pins_t p = {b, bm_scl_low, bm_scl_rel, bm_sda_low, bm_sda_rel, bm_scl_read, bm_sda_read, bm_delay};
    b->m_scl = b->m_sda = 1;
    return th_i2c_bus_clear(&p, pulses);
}

static void test_i2c_bus_clear(void)
{
    bus_model_t b;
    int pulses;
    /* idle bus: no clocks, a STOP, both lines high */
    memset(&b, 0, sizeof b);
    CHECK(bus_clear(&b, &pulses) == TH_I2C_BUS_IDLE && pulses == 0 && b.stops == 1);
    /* a slave mid-byte holds SDA for k more bits: released after exactly k clocks, then STOP */
    for (int k = 1; k <= 9; k++) {
        memset(&b, 0, sizeof b);
        b.slave_bits = k;
        CHECK(bus_clear(&b, &pulses) == TH_I2C_BUS_CLEARED && pulses == k && b.stops == 1);
        CHECK(bm_scl(&b) && bm_sda(&b) && b.us < 1000);
    }
    /* SDA held for good (shorted, or a slave that never lets go): 9 clocks, reported */
    memset(&b, 0, sizeof b);
    b.slave_bits = -1;
    CHECK(bus_clear(&b, &pulses) == TH_I2C_BUS_SDA_STUCK && pulses == 9 && b.stops == 0);
    CHECK(strcmp(th_i2c_bus_text(TH_I2C_BUS_SDA_STUCK), "I2C bus stuck: SDA held low") == 0);
    /* SCL held low: bounded wait (one stretch limit), no clocks */
    memset(&b, 0, sizeof b);
    b.scl_stuck = 1;
    CHECK(bus_clear(&b, &pulses) == TH_I2C_BUS_SCL_STUCK && pulses == 0);
    CHECK(b.us <= TH_I2C_STRETCH_MAX_US + 2 * TH_I2C_CLEAR_HALF_US + 10);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: th_unit_tests EMPTY_TEMP_DIR\n");
        return 2;
    }
    test_labels();
    test_names();
    test_store(argv[1]);
    test_app();
    test_classify();
    test_render();
    test_i2c_bus_clear();
    printf("%d checks, %d failures\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
