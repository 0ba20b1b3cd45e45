/* The one device loop (tinyheat_core/th_device.h) under the simulator's port (firmware/host/
 * sim_port.h) with a simulated clock and injected faults: sensor NACK mid-frame, unplugged and
 * re-plugged sensor, SD card pulled mid-write and re-inserted, full card, a 1000-command burst
 * through a small transmit buffer, CAPTURE of the next frame, HELLO session without a card,
 * EEPROM backup and GET_EEPROM, debug text as LOG, and hours of simulated time.
 *
 * Usage: th_device_tests CARD_DIR   (an empty directory; prints "N checks, F failures") */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_faults.h"
#include "sim_frames.h"
#include "sim_port.h"
#include "th_device.h"
#include "th_link.h"

static int g_checks, g_fail;
#define CHECK(c) do { g_checks++; if (!(c)) { g_fail++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

/* ---- a host on the in-memory link: decodes what the device sent ---- */
typedef struct {
    th_link_decoder_t dec;
    unsigned n[256];
    unsigned hello_acks, hello_ok, hello_refused;
    uint16_t last_ack;
    uint32_t last_session;
    int hello_has_stats;
    uint32_t hello_frames, hello_i2c, hello_dropped;
    uint16_t hello_fps, hello_reinits;
    uint16_t eeprom[832];
    unsigned eeprom_words;
    int capture_ok[64], capture_index[64];
    unsigned captures;
    char last_log[256], last_error_log[256];
    int last_log_level;
    int seen_seq;
    uint16_t last_seq;
    unsigned gaps;
    unsigned msgs;                 /* messages decoded */
    uint8_t first_type[4], first_status[4];
    uint16_t first_seq[4];         /* the first 4 messages: type, seq, HELLO status */
} host_t;

static void host_init(host_t *h)
{
    memset(h, 0, sizeof *h);
    th_link_decoder_init(&h->dec);
}

static void on_msg(host_t *h, const th_link_msg_t *m)
{
    th_link_reader_t r;
    h->n[m->type]++;
    if (h->seen_seq) h->gaps += (uint16_t)(m->seq - h->last_seq - 1u);
    h->seen_seq = 1;
    h->last_seq = m->seq;
    th_link_r_init(&r, m->payload, m->len);
    if (h->msgs < 4) {
        h->first_type[h->msgs] = m->type;
        h->first_seq[h->msgs] = m->seq;
        h->first_status[h->msgs] = m->len > 1 ? m->payload[1] : 0;
    }
    h->msgs++;
    if (m->type == TH_LINK_T_HELLO) {
        char s[40];
        uint8_t st, n;
        th_link_r_u8(&r);
        st = th_link_r_u8(&r);
        h->last_ack = th_link_r_u16(&r);
        th_link_r_u8(&r);
        th_link_r_u8(&r);
        th_link_r_f32(&r);
        h->last_session = th_link_r_u32(&r);
        th_link_r_str8(&r, s, sizeof s);
        n = th_link_r_u8(&r);
        for (uint8_t i = 0; i < n; i++) th_link_r_str8(&r, s, sizeof s);
        n = th_link_r_u8(&r);
        for (uint8_t i = 0; i < n; i++) th_link_r_str8(&r, s, sizeof s);
        th_link_r_u8(&r);
        h->hello_has_stats = r.pos < r.len;
        if (h->hello_has_stats) {
            h->hello_fps = th_link_r_u16(&r);
            h->hello_frames = th_link_r_u32(&r);
            h->hello_dropped = th_link_r_u32(&r);
            h->hello_i2c = th_link_r_u32(&r);
            th_link_r_u32(&r);
            h->hello_reinits = th_link_r_u16(&r);
            th_link_r_u32(&r);
        }
        if (st != TH_LINK_ST_UNSOLICITED) h->hello_acks++;
        if (st == TH_LINK_ST_OK) h->hello_ok++;
        if (st == TH_LINK_ST_REFUSED) h->hello_refused++;
    } else if (m->type == TH_LINK_T_EEPROM) {
        uint16_t off = th_link_r_u16(&r);
        while (r.pos + 2 <= r.len && off < 832) {
            h->eeprom[off++] = th_link_r_u16(&r);
            h->eeprom_words++;
        }
    } else if (m->type == TH_LINK_T_CAPTURE && h->captures < 64) {
        h->capture_ok[h->captures] = th_link_r_u8(&r);
        h->capture_index[h->captures] = (int)th_link_r_u32(&r);
        h->captures++;
    } else if (m->type == TH_LINK_T_LOG && m->len >= 1) {
        size_t n = m->len - 1u < sizeof h->last_log - 1u ? m->len - 1u : sizeof h->last_log - 1u;
        h->last_log_level = m->payload[0];
        memcpy(h->last_log, m->payload + 1, n);
        h->last_log[n] = '\0';
        if (h->last_log_level == 3) memcpy(h->last_error_log, h->last_log, n + 1);
    }
}

/* Read everything the device sent (the host drains the transport). */
static void host_read(host_t *h, sim_port_t *sp, size_t max_bytes)
{
    th_link_msg_t m;
    size_t n = sp->d2h_len < max_bytes ? sp->d2h_len : max_bytes;
    for (size_t i = 0; i < n; i++)
        if (th_link_decoder_feed(&h->dec, sp->dev_to_host[i], &m)) on_msg(h, &m);
    memmove(sp->dev_to_host, sp->dev_to_host + n, sp->d2h_len - n);
    sp->d2h_len -= n;
}

static void host_cmd(sim_port_t *sp, uint8_t type, uint16_t seq, const uint8_t *payload, size_t n)
{
    uint8_t wire[TH_LINK_MAX_WIRE];
    size_t len = th_link_frame(type, seq, payload, n, wire, sizeof wire);
    sim_port_host_send(sp, wire, len);
}

/* ---- fixture ---- */
typedef struct {
    sim_frames_t frames;
    sim_port_t sp;
    th_port_t port;
    th_device_t dev;
    host_t host;
    uint32_t longest_pass_ms; /* simulated time one th_device_step took (a slow card advances the clock) */
} rig_t;

static void rig_boot(rig_t *g, const char *card, int mode)
{
    th_device_config_t cfg;
    static const char *const labels[] = {"empty", "person"};
    memset(g, 0, sizeof *g);
    sim_frames_load(&g->frames, NULL); /* synthetic: every frame differs */
    sim_port_init(&g->sp, &g->port, &g->frames, card, NULL);
    g->sp.sim_clock = 1;
    g->port.classify = NULL; /* the model is tested end to end in tests/link (real TFLM) */
    th_device_default_config(&cfg);
    cfg.fw_version = "test";
    cfg.n_model = 2;
    cfg.model_labels = labels;
    cfg.app.start_mode = (th_mode_t)mode;
    host_init(&g->host);
    th_device_init(&g->dev, &g->port, &cfg);
}

static void rig_free(rig_t *g)
{
    sim_port_free(&g->sp);
    sim_frames_free(&g->frames);
}

/* Advance simulated time by ms in steps of dt, the host reading everything. */
static void run(rig_t *g, uint32_t ms, uint32_t dt)
{
    for (uint32_t t = 0; t < ms; t += dt) {
        g->sp.now_ms += dt;
        uint32_t t0 = g->sp.now_ms;
        th_device_step(&g->dev);
        if (g->sp.now_ms - t0 > g->longest_pass_ms) g->longest_pass_ms = g->sp.now_ms - t0;
        host_read(&g->host, &g->sp, (size_t)-1);
    }
}

static int file_exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static long file_size(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void clean(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) printf("cannot reset %s\n", dir);
}

/* ---- tests ---- */

static void test_frames_and_sensor_nack(void)
{
    static rig_t g;
    rig_boot(&g, NULL, TH_MODE_STREAM);
    run(&g, 10000, 5); /* 8 Hz subpages = 4 frames/s */
    CHECK(g.dev.stats.frames >= 39 && g.dev.stats.frames <= 41);
    CHECK(g.host.n[TH_LINK_T_FRAME] == g.dev.stats.frames);
    CHECK(g.dev.stats.fps_x100 >= 390 && g.dev.stats.fps_x100 <= 410);
    /* NACK in the middle of a frame, twice: the frame is lost, counted, no re-init */
    uint32_t f0 = g.dev.stats.frames;
    g.sp.nack_polls = 2;
    run(&g, 2000, 5);
    CHECK(g.dev.stats.sensor_errors == 2 && g.dev.stats.sensor_reinits == 0 && g.sp.i2c_errors == 2);
    CHECK(g.dev.stats.frames - f0 >= 6);
    /* a run of errors re-initialises the sensor at once, frames resume */
    f0 = g.dev.stats.frames;
    g.sp.nack_polls = 5;
    run(&g, 3000, 5);
    CHECK(g.dev.stats.sensor_reinits >= 1 && g.sp.begins >= 2);
    CHECK(g.dev.stats.frames - f0 >= 9);
    /* stats line and HELLO trailer carry frames/s, dropped subpages, I2C errors */
    host_cmd(&g.sp, TH_LINK_T_PING, 7, NULL, 0);
    run(&g, 10, 5);
    CHECK(g.host.last_ack == 7 && g.host.hello_has_stats && g.host.hello_i2c == g.sp.i2c_errors);
    CHECK(g.host.hello_frames == g.dev.stats.frames && g.host.hello_dropped == 0);
    /* a slow loop (a step every 300 ms at 8 Hz subpages) drops subpages: counted */
    run(&g, 3000, 300);
    CHECK(g.sp.dropped_subpages > 0);
    host_cmd(&g.sp, TH_LINK_T_PING, 8, NULL, 0);
    run(&g, 10, 5);
    CHECK(g.host.hello_dropped == g.sp.dropped_subpages && g.host.hello_dropped > 0);
    CHECK(g.host.gaps == 0); /* nothing lost on the link */
    rig_free(&g);
}

static void test_sensor_unplugged_and_replugged(void)
{
    static rig_t g;
    rig_boot(&g, NULL, TH_MODE_CLASSIFY);
    run(&g, 2000, 5);
    uint32_t f0 = g.dev.stats.frames;
    g.sp.present = 0; /* unplugged */
    run(&g, 5000, 5);
    CHECK(!g.dev.sensor_ok && strstr(g.dev.app.status, "No MLX90640") != NULL);
    CHECK(g.dev.stats.frames - f0 <= 1);
    uint32_t begins = g.sp.begins;
    g.sp.present = 1; /* plugged back: resumes within the 1 s retry, no reset */
    run(&g, 3000, 5);
    CHECK(g.dev.sensor_ok && g.sp.begins == begins + 1);
    CHECK(g.dev.stats.frames - f0 >= 8);
    CHECK(strcmp(g.dev.app.status, "sensor OK") == 0);
    rig_free(&g);
}

/* A sensor or cable that holds the I2C bus low: every transfer fails (bounded: SERCOM timeouts),
 * the bus clear cannot free it; the status line, the LCD and an error LOG say so; it heals. */
static void test_stuck_bus(void)
{
    static rig_t g;
    rig_boot(&g, NULL, TH_MODE_STREAM);
    run(&g, 2000, 5);
    uint32_t f0 = g.dev.stats.frames;
    char err[160];
    CHECK(sim_faults_apply(&g.sp, "bus stuck sda", err, sizeof err) == 0 && g.sp.bus_stuck == 1);
    CHECK(sim_faults_apply(&g.sp, "bus stuck pc", err, sizeof err) == -1 && strstr(err, "unknown fault") != NULL);
    CHECK(sim_faults_apply(&g.sp, "sensor nack x", err, sizeof err) == -1 && g.sp.nack_polls == 0);
    run(&g, 3000, 5);
    CHECK(!g.dev.sensor_ok && g.dev.bus_stuck == 1 && g.dev.stats.bus_stuck == 1);
    CHECK(strstr(g.dev.app.status, "I2C bus stuck: SDA held low") != NULL);
    CHECK(strstr(g.host.last_error_log, "I2C bus stuck: SDA held low") != NULL);
    CHECK(g.sp.bus_clears >= 2); /* retried every second */
    CHECK(g.dev.stats.frames - f0 <= 1);
    g.sp.bus_stuck = 2;
    run(&g, 1500, 5);
    CHECK(g.dev.bus_stuck == 2 && strstr(g.dev.app.status, "SCL held low") != NULL);
    CHECK(sim_faults_apply(&g.sp, "bus free", err, sizeof err) == 0); /* the line is free again: resumes, no reset */
    run(&g, 2000, 5);
    CHECK(g.dev.sensor_ok && g.dev.bus_stuck == 0 && strcmp(g.dev.app.status, "sensor OK") == 0);
    CHECK(g.dev.stats.frames - f0 >= 4 && g.host.gaps == 0);
    rig_free(&g);
}

static void test_card_faults(const char *card)
{
    static rig_t g;
    char csv[4096];
    clean(card);
    rig_boot(&g, card, TH_MODE_COLLECT);
    run(&g, 1000, 5);
    CHECK(g.dev.sd_ok && g.dev.app.store.session == 1);
    /* CAPTURE takes the NEXT frame: the sample's millis is later than the command */
    uint32_t t_cmd = g.sp.now_ms;
    uint32_t held = g.dev.frame_ms;
    uint8_t pl[8] = {5, 'h', 'u', 'm', 'a', 'n'};
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 1, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 1 && g.host.capture_ok[0] == 1 && g.host.capture_index[0] == 0);
    CHECK(file_exists(card, "human.0.jpg") && file_exists(card, "human.0.pgm"));
    long n = th_fs_posix_read(&g.sp.fs, "captures.csv", csv, sizeof csv);
    unsigned long millis = 0;
    char *row = n > 0 ? strstr(csv, "human.0.jpg,human,0,00000001,") : NULL;
    CHECK(row != NULL);
    if (row) millis = strtoul(row + strlen("human.0.jpg,human,0,00000001,"), NULL, 10);
    CHECK(millis > t_cmd && millis != held);

    /* SD card pulled in the middle of writing the sample: failure reported, no partial sample,
     * the card is remounted when it answers again and the same N is used */
    g.sp.fs.pull_after = 100;
    g.sp.card_detect = 1;
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 2, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 2 && g.host.capture_ok[1] == 0 && g.host.capture_index[1] == -1);
    CHECK(!file_exists(card, "human.1.jpg"));
    CHECK(!g.dev.sd_ok || g.dev.stats.sd_mounts >= 2);
    run(&g, 2500, 5); /* sd_retry_ms = 2000 */
    CHECK(g.dev.sd_ok && g.dev.stats.sd_mounts >= 2);
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 3, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 3 && g.host.capture_ok[2] == 1 && g.host.capture_index[2] == 1);
    CHECK(file_exists(card, "human.1.jpg") && file_size(card, "human.1.pgm") == (long)TH_PGM_BYTES);

    /* card removed: refused with a visible error; re-inserted: resumes */
    sim_port_set_card(&g.sp, 0);
    run(&g, 100, 5);
    CHECK(!g.dev.sd_ok && strstr(g.dev.app.status, "No SD card") != NULL);
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 4, pl, 6);
    run(&g, 300, 5);
    CHECK(g.host.captures == 4 && g.host.capture_ok[3] == 0);
    sim_port_set_card(&g.sp, 1);
    run(&g, 2500, 5);
    CHECK(g.dev.sd_ok);
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 5, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 5 && g.host.capture_ok[4] == 1 && g.host.capture_index[4] == 2);

    /* full card: write fails, nothing under the name, same N next time */
    g.sp.fs.capacity = 1;
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 6, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 6 && g.host.capture_ok[5] == 0 && !file_exists(card, "human.3.jpg"));
    CHECK(strstr(g.dev.app.status, "NOT saved") != NULL);
    g.sp.fs.capacity = 0;
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 7, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 7 && g.host.capture_ok[6] == 1 && g.host.capture_index[6] == 3);
    CHECK(g.host.gaps == 0);
    /* "human" is on no key: its next N was found by ONE card listing, then cached (and raised by
     * the rescans after each re-insertion), not listed again per capture */
    CHECK(g.dev.app.store.label_listings == 1);
    rig_free(&g);
}

/* A failing card (every operation takes 600 ms, e.g. a card retrying internally): one slow
 * operation per mount attempt at most, the card is unmounted with a clear status, remounts back
 * off (2, 4, 8 ... s), frames keep coming (the screen stays live), and a healed card resumes. */
static void test_failing_card(const char *card)
{
    static rig_t g;
    uint8_t pl[8] = {5, 'h', 'u', 'm', 'a', 'n'};
    clean(card);
    rig_boot(&g, card, TH_MODE_COLLECT);
    run(&g, 1000, 5);
    CHECK(g.dev.sd_ok && g.longest_pass_ms == 0);
    g.sp.fs.op_delay_ms = 600;
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 1, pl, 6);
    uint32_t f0 = g.dev.stats.frames;
    run(&g, 30000, 5);
    CHECK(g.host.captures == 1 && g.host.capture_ok[0] == 0);
    CHECK(!g.dev.sd_ok && strstr(g.dev.app.status, "SD card not responding") != NULL);
    CHECK(g.longest_pass_ms <= 600 + 5);        /* one slow operation, never a chain of them */
    CHECK(g.dev.stats.card_skipped >= 1 && g.dev.stats.card_slow >= 2);
    CHECK(g.dev.stats.card_slow <= 6);          /* back-off: ~5 attempts in 30 s, not 15 */
    uint32_t frames = g.dev.stats.frames - f0;  /* 4 frames/s nominal: 120 in 30 s */
    printf("  failing card: longest loop pass %lu ms, %lu slow card operations in 30 s, %lu frames (120 nominal)\n",
           (unsigned long)g.longest_pass_ms, (unsigned long)g.dev.stats.card_slow, (unsigned long)frames);
    CHECK(frames >= 100);
    g.sp.fs.op_delay_ms = 0;                    /* card healed (or replaced) */
    run(&g, 35000, 5);
    CHECK(g.dev.sd_ok && strcmp(g.dev.app.status, "SD card OK") == 0);
    host_cmd(&g.sp, TH_LINK_T_CAPTURE_NOW, 2, pl, 6);
    run(&g, 600, 5);
    CHECK(g.host.captures == 2 && g.host.capture_ok[1] == 1 && g.host.capture_index[1] == 0);
    rig_free(&g);
}

static void test_session_and_eeprom(const char *card)
{
    static rig_t g;
    char name[64];
    uint8_t ee[1664];
    clean(card);
    /* no card at boot: HELLO session 0; the card inserted later gets the session id */
    {
        th_device_config_t cfg;
        sim_frames_load(&g.frames, NULL);
        sim_port_init(&g.sp, &g.port, &g.frames, card, NULL);
        g.sp.sim_clock = 1;
        g.sp.card_detect = 0;
        th_device_default_config(&cfg);
        host_init(&g.host);
        th_device_init(&g.dev, &g.port, &cfg);
    }
    host_read(&g.host, &g.sp, (size_t)-1);
    CHECK(g.host.n[TH_LINK_T_HELLO] == 1 && g.host.last_session == 0);
    th_device_eeprom_name(g.sp.eeprom, name, sizeof name);
    CHECK(strcmp(name, "mlx90640_ee_53494d000001.bin") == 0);
    CHECK(!file_exists(card, name));
    sim_port_set_card(&g.sp, 1);
    run(&g, 2500, 5);
    host_cmd(&g.sp, TH_LINK_T_PING, 1, NULL, 0);
    run(&g, 10, 5);
    CHECK(g.dev.sd_ok && g.host.last_session == 1);
    /* first boot with a card: the EEPROM image is on the card, little-endian words */
    CHECK(file_size(card, name) == 1664);
    {
        char p[1024];
        FILE *f;
        snprintf(p, sizeof p, "%s/%s", card, name);
        f = fopen(p, "rb");
        CHECK(f && fread(ee, 1, sizeof ee, f) == sizeof ee);
        if (f) fclose(f);
        int same = 1;
        for (int i = 0; i < 832; i++) same &= (ee[2 * i] | ee[2 * i + 1] << 8) == g.sp.eeprom[i];
        CHECK(same);
    }
    /* GET_EEPROM: HELLO ok, then the 832 words in two EEPROM messages */
    host_cmd(&g.sp, TH_LINK_T_GET_EEPROM, 2, NULL, 0);
    run(&g, 10, 5);
    CHECK(g.host.last_ack == 2 && g.host.n[TH_LINK_T_EEPROM] == 2 && g.host.eeprom_words == 832);
    CHECK(memcmp(g.host.eeprom, g.sp.eeprom, sizeof g.host.eeprom) == 0);
    /* debug text of a library: a LOG message (level 0), line end stripped */
    th_debug_log("AllocateTensors failed");
    th_debug_log("\r\n");
    run(&g, 10, 5);
    CHECK(g.host.last_log_level == 0 && strcmp(g.host.last_log, "AllocateTensors failed") == 0);
    rig_free(&g);

    /* next boot: session 2; the backup file is never overwritten */
    {
        char p[1024];
        FILE *f;
        snprintf(p, sizeof p, "%s/%s", card, name);
        f = fopen(p, "wb");
        if (f) { fputs("KEEP", f); fclose(f); }
    }
    rig_boot(&g, card, TH_MODE_COLLECT);
    run(&g, 100, 5);
    CHECK(g.dev.app.store.session == 2 && g.dev.stats.eeprom_backups == 0 && file_size(card, name) == 4);
    /* a different sensor gets its own backup */
    g.sp.eeprom_id[2] = 0x0002;
    g.sp.present = 0;
    run(&g, 100, 5);
    g.sp.present = 1;
    run(&g, 1500, 5);
    CHECK(g.dev.stats.eeprom_backups == 1 && file_size(card, "mlx90640_ee_53494d000002.bin") == 1664);
    rig_free(&g);
    /* no sensor ever: GET_EEPROM is refused */
    memset(&g, 0, sizeof g);
    {
        th_device_config_t cfg;
        sim_frames_load(&g.frames, NULL);
        sim_port_init(&g.sp, &g.port, &g.frames, NULL, NULL);
        g.sp.sim_clock = 1;
        g.sp.present = 0;
        th_device_default_config(&cfg);
        host_init(&g.host);
        th_device_init(&g.dev, &g.port, &cfg);
    }
    host_cmd(&g.sp, TH_LINK_T_GET_EEPROM, 3, NULL, 0);
    run(&g, 10, 5);
    CHECK(g.host.last_ack == 3 && g.host.hello_refused == 1 && g.host.n[TH_LINK_T_EEPROM] == 0);
    rig_free(&g);
}

/* PROTOCOL.md section 1: the first message a host sees on a connection is HELLO status 0xFF
 * with seq 0, also on a first boot with a new card (EEPROM backup LOG) and on every re-open
 * of the port (DTR); nothing is sent while no host has the port open. */
static void test_boot_hello_first(const char *card)
{
    static rig_t g;
    clean(card);
    rig_boot(&g, card, TH_MODE_COLLECT); /* a new card: session 1 and the EEPROM backup at boot */
    host_read(&g.host, &g.sp, (size_t)-1);
    run(&g, 20, 5);
    CHECK(g.dev.stats.eeprom_backups == 1);
    CHECK(g.host.msgs >= 2 && g.host.first_type[0] == TH_LINK_T_HELLO && g.host.first_seq[0] == 0 &&
          g.host.first_status[0] == TH_LINK_ST_UNSOLICITED && g.host.last_session == 1);
    CHECK(g.host.first_type[1] == TH_LINK_T_LOG && g.host.first_seq[1] == 1);
    rig_free(&g);

    /* no host at boot (board: DTR low): nothing goes out; the host that opens the port later
     * sees HELLO 0xFF seq 0 first, then the LOG that waited for it */
    clean(card);
    memset(&g, 0, sizeof g);
    {
        th_device_config_t cfg;
        sim_frames_load(&g.frames, NULL);
        sim_port_init(&g.sp, &g.port, &g.frames, card, NULL);
        g.sp.sim_clock = 1;
        g.sp.host_open = 0;
        th_device_default_config(&cfg);
        cfg.app.start_mode = TH_MODE_STREAM;
        host_init(&g.host);
        th_device_init(&g.dev, &g.port, &cfg);
    }
    run(&g, 3000, 5);
    CHECK(g.host.msgs == 0 && g.sp.d2h_len == 0 && g.dev.stats.frames >= 11);
    g.sp.host_open = 1;
    run(&g, 600, 5);
    CHECK(g.host.first_type[0] == TH_LINK_T_HELLO && g.host.first_seq[0] == 0 &&
          g.host.first_status[0] == TH_LINK_ST_UNSOLICITED);
    CHECK(g.host.first_type[1] == TH_LINK_T_LOG && g.host.first_seq[1] == 1 && g.host.gaps == 0);
    CHECK(g.host.n[TH_LINK_T_FRAME] >= 2);
    /* the host closes and re-opens the port: a new connection, again HELLO 0xFF seq 0 first */
    g.sp.host_open = 0;
    run(&g, 500, 5);
    host_init(&g.host);
    g.sp.d2h_len = 0;
    g.sp.host_open = 1;
    run(&g, 600, 5);
    CHECK(g.host.first_type[0] == TH_LINK_T_HELLO && g.host.first_seq[0] == 0 &&
          g.host.first_status[0] == TH_LINK_ST_UNSOLICITED && g.host.gaps == 0);
    CHECK(g.host.n[TH_LINK_T_FRAME] >= 2 && g.dev.stats.connections == 2);
    rig_free(&g);
}

/* Whole messages or nothing: a transport that takes only part of a frame (USB timeout) costs
 * that frame alone (the next starts with 0x00); a frame without room is dropped untouched. */
static void test_tx_whole_or_nothing(void)
{
    static rig_t g;
    rig_boot(&g, NULL, TH_MODE_STREAM);
    run(&g, 1000, 5);
    unsigned frames0 = g.host.n[TH_LINK_T_FRAME];
    CHECK(g.host.dec.stats.ok > 2 && g.host.gaps == 0);
    g.sp.tx_cut_after = 100; /* the next FRAME: 100 bytes go out, then the transport gives up */
    run(&g, 1000, 5);
    CHECK(g.dev.stats.tx_cut == 1 && g.dev.tx_resync == 0);
    uint32_t corrupt = g.host.dec.stats.crc_errors + g.host.dec.stats.cobs_errors + g.host.dec.stats.short_frames;
    CHECK(corrupt == 1);        /* the cut frame, ended by the 0x00 the device sent before the next */
    CHECK(g.host.gaps == 1);    /* ... and only it: the message after it arrived intact */
    CHECK(g.host.n[TH_LINK_T_FRAME] >= frames0 + 3);
    /* no room for a FRAME (a host that stopped reading): dropped whole before any byte */
    g.sp.tx_cap = g.sp.d2h_len + 600;
    uint32_t dropped0 = g.dev.link.tx_dropped;
    run(&g, 1000, 5);
    CHECK(g.dev.link.tx_dropped > dropped0 && g.sp.d2h_len == 0);
    g.sp.tx_cap = 0;
    host_cmd(&g.sp, TH_LINK_T_PING, 9, NULL, 0);
    run(&g, 500, 5);
    CHECK(g.host.last_ack == 9 && g.host.dec.stats.crc_errors + g.host.dec.stats.cobs_errors +
          g.host.dec.stats.short_frames == corrupt); /* nothing else damaged */
    rig_free(&g);
}

static void test_command_burst(void)
{
    static rig_t g;
    rig_boot(&g, NULL, TH_MODE_STREAM);
    uint8_t code = 7; /* 64 Hz subpages: 32 FRAMEs/s compete for the transport */
    host_cmd(&g.sp, TH_LINK_T_SET_RATE, 0, &code, 1);
    run(&g, 100, 1);
    /* 1000 PINGs at once; the transport holds 8 KB and the host reads 300 bytes per 1-ms pass */
    for (uint16_t s = 1; s <= 1000; s++) host_cmd(&g.sp, TH_LINK_T_PING, s, NULL, 0);
    g.sp.tx_cap = 8192;
    for (int i = 0; i < 60000 && g.host.hello_acks < 1001; i++) {
        g.sp.now_ms += 1;
        th_device_step(&g.dev);
        host_read(&g.host, &g.sp, 300);
    }
    CHECK(g.host.hello_acks == 1001 && g.host.hello_ok == 1001);
    CHECK(g.dev.link.commands == 1001);
    /* streamed frames that did not fit were dropped whole, counted, and seen as seq gaps */
    CHECK(g.host.gaps == g.dev.link.tx_dropped);
    printf("  1000-PING burst: 1000 replies, %lu FRAMEs dropped whole (counted), %u frames sent\n",
           (unsigned long)g.dev.link.tx_dropped, g.host.n[TH_LINK_T_FRAME]);
    rig_free(&g);
}

static long rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_long_run(const char *card, double hours)
{
    static rig_t g;
    clean(card);
    rig_boot(&g, card, TH_MODE_STREAM);
    g.sp.now_ms = 0xFFFFFFFFu - 1800000u; /* crosses the 49.7-day millis() wrap after 30 min */
    g.dev.stats_t0 = g.sp.now_ms;
    g.dev.app.last_sd_retry_ms = g.dev.app.last_sensor_retry_ms = g.sp.now_ms;
    uint32_t frames0 = g.dev.stats.frames, mounts0 = g.dev.stats.sd_mounts;
    long rss_mid = 0;
    int faults = 0;
    uint32_t period_ms = 600000u; /* every 10 min: unplug the sensor 3 s, pull the card 3 s */
    uint32_t total = (uint32_t)(hours * 3600000.0);
    for (uint32_t t = 0; t < total; t += period_ms) {
        g.sp.present = 0;
        sim_port_set_card(&g.sp, 0);
        run(&g, 3000, 5);
        g.sp.present = 1;
        sim_port_set_card(&g.sp, 1);
        run(&g, period_ms - 3000u, 5);
        faults++;
        if (t >= total / 2 && !rss_mid) rss_mid = rss_kb();
    }
    double expected = (double)total / 250.0; /* 8 Hz subpages = 4 full frames/s */
    uint32_t got = g.dev.stats.frames - frames0;
    printf("  %.1f simulated hours: %lu frames (%.0f expected without faults), %lu re-inits, %lu mounts, "
           "fps %u.%02u, max RSS %ld -> %ld KB\n", hours, (unsigned long)got, expected,
           (unsigned long)g.dev.stats.sensor_reinits, (unsigned long)(g.dev.stats.sd_mounts - mounts0),
           g.dev.stats.fps_x100 / 100u, g.dev.stats.fps_x100 % 100u, rss_mid, rss_kb());
    CHECK(got > (uint32_t)(expected * 0.98) && got <= (uint32_t)(expected + 2));
    CHECK(g.dev.stats.sensor_reinits == (uint32_t)faults);
    CHECK(g.dev.stats.sd_mounts - mounts0 == (uint32_t)faults);
    CHECK(g.dev.stats.fps_x100 >= 390 && g.dev.stats.fps_x100 <= 410);
    CHECK(g.dev.sensor_err_run == 0 && g.dev.rx_pos == g.dev.rx_len);
    CHECK(g.sp.dropped_subpages == 0 && g.dev.link.tx_dropped == 0 && g.host.gaps == 0);
    CHECK(rss_kb() == rss_mid); /* memory flat over the second half */
    CHECK(g.dev.sd_ok && g.dev.sensor_ok);
    rig_free(&g);
}

int main(int argc, char **argv)
{
    const char *card = argc > 1 ? argv[1] : "/tmp/th_device_card";
    double hours = argc > 2 ? atof(argv[2]) : 2.0;
    test_frames_and_sensor_nack();
    test_sensor_unplugged_and_replugged();
    test_stuck_bus();
    test_card_faults(card);
    test_session_and_eeprom(card);
    test_failing_card(card);
    test_boot_hello_first(card);
    test_tx_whole_or_nothing();
    test_command_burst();
    test_long_run(card, hours);
    printf("%d checks, %d failures\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
