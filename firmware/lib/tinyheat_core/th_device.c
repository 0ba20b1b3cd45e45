/* The one device loop. See th_device.h. */
#include "th_device.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "th_frame.h"
#include "th_labels.h"
#include "th_store.h"

static th_device_t *g_running; /* the device th_debug_log queues into */

int th_device_is_32x24(const th_device_t *d) { return d->cfg.rows == 24 && d->cfg.cols == 32; }

void th_device_repeat2(const float in[192], float out[768])
{
    for (int r = 0; r < 24; r++)
        for (int c = 0; c < 32; c++) out[r * 32 + c] = in[(r / 2) * 16 + c / 2];
}

void th_device_default_config(th_device_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fw_version = "0.1.0";
    cfg->emissivity = 0.95f;
    cfg->rows = 24;
    cfg->cols = 32;
    th_app_default_config(&cfg->app);
}

void th_device_model_id(const char *name, const unsigned char *tflite, unsigned int len, char *buf, size_t cap)
{
    uint32_t crc = th_link_crc32(0, tflite, len);
    snprintf(buf, cap, "%.40s crc32:%08lx", name && name[0] ? name : "model", (unsigned long)crc);
}

/* ---- serial link ------------------------------------------------------------------------ */

/* Messages go out only while a host has the port open (PROTOCOL.md section 1: each connection
 * starts with the unsolicited HELLO, seq 0); others are dropped whole and counted. */
static size_t link_write(void *ctx, const uint8_t *data, size_t n)
{
    th_device_t *d = ctx;
    if (!d->host_open) return 0;
    return th_device_tx_whole(d, data, n);
}

size_t th_device_tx_whole(th_device_t *d, const uint8_t *frame, size_t n)
{
    static const uint8_t delimiter = 0x00;
    const th_port_t *p = d->port;
    size_t need = n + (d->tx_resync ? 1u : 0u), w;
    if (!p->link_write) return 0;
    if (p->link_tx_room && p->link_tx_room(p->ctx) < need) return 0; /* no room: dropped whole, untouched */
    if (d->tx_resync) {
        if (p->link_write(p->ctx, &delimiter, 1) != 1) return 0;
        d->tx_resync = 0; /* the receiver's cut frame ends here: counted there as one corrupt frame */
    }
    w = p->link_write(p->ctx, frame, n);
    if (w == n) return n;
    if (w != 0) {
        d->stats.tx_cut++; /* part of it went out (a transport timeout mid-frame) */
        d->tx_resync = 1;
    }
    return 0;
}

/* A host opened the port (or the device booted with one attached): the connection's first
 * message is HELLO status 0xFF with seq 0, then the LOG line that waited for a host. */
static void host_connected(th_device_t *d)
{
    d->host_open = 1;
    d->link.tx_seq = 0;
    th_link_device_send_hello(&d->link, TH_LINK_ST_UNSOLICITED, 0);
    d->stats.connections++;
}

static void queue_log(th_device_t *d, int level, const char *text)
{
    snprintf(d->pending_log, sizeof d->pending_log, "%s", text);
    d->pending_log_level = (uint8_t)level;
}

static int reply_room(const th_device_t *d)
{
    const th_port_t *p = d->port;
    return !p->link_tx_room || p->link_tx_room(p->ctx) >= TH_DEVICE_REPLY_ROOM;
}

static int log_level(th_status_level_t l)
{
    return l == TH_STATUS_ERROR ? 3 : l == TH_STATUS_WARN ? 2 : 1; /* PROTOCOL.md LOG levels */
}

static void link_stats(void *owner, th_link_hello_t *h)
{
    const th_device_t *d = owner;
    th_sensor_counters_t c = {TH_LINK_STAT_UNKNOWN, TH_LINK_STAT_UNKNOWN};
    if (d->port->sensor_counters) d->port->sensor_counters(d->port->ctx, &c);
    h->has_stats = 1;
    h->fps_x100 = d->stats.fps_x100;
    h->frames = d->stats.frames;
    h->dropped_subpages = c.dropped_subpages;
    h->i2c_errors = c.i2c_errors;
    h->sensor_errors = d->stats.sensor_errors;
    h->sensor_reinits = (uint16_t)(d->stats.sensor_reinits > 0xFFFFu ? 0xFFFFu : d->stats.sensor_reinits);
    h->tx_dropped = d->link.tx_dropped;
}

static const uint16_t *link_eeprom(void *owner)
{
    const th_device_t *d = owner;
    return d->port->sensor_eeprom ? d->port->sensor_eeprom(d->port->ctx) : NULL;
}

/* Decode host bytes while the transport has room for replies; bytes already taken wait in
 * dev->rx, the rest in the transport (flow control towards the host). */
static void link_poll(th_device_t *d)
{
    const th_port_t *p = d->port;
    int reads = 0;
    d->link_ctx.app = &d->app;
    if (!p->link_read) return;
    for (;;) {
        if (d->rx_pos == d->rx_len) {
            if (reads++ >= 4 || !reply_room(d)) return; /* at most 256 bytes per pass */
            d->rx_len = (uint16_t)p->link_read(p->ctx, d->rx, sizeof d->rx);
            d->rx_pos = 0;
            if (d->rx_len == 0) return;
        }
        while (d->rx_pos < d->rx_len) {
            if (!reply_room(d)) return;
            th_link_device_rx(&d->link, &d->rx[d->rx_pos++], 1);
        }
    }
}

/* ---- display helpers -------------------------------------------------------------------- */

static void show_status(th_device_t *d)
{
    const th_port_t *p = d->port;
    if (p->display_status) p->display_status(p->ctx, d->app.status, d->app.status_level);
    th_link_device_send_log(&d->link, log_level(d->app.status_level), d->app.status);
}

static const char *bus_text(const th_device_t *d)
{
    return d->bus_stuck == 1 ? "I2C bus stuck: SDA held low; bus clear every second"
                             : "I2C bus stuck: SCL held low; bus clear every second";
}

static void show_no_sensor(th_device_t *d)
{
    const th_port_t *p = d->port;
    if (!p->display_message) return;
    if (d->bus_stuck)
        p->display_message(p->ctx, d->bus_stuck == 1 ? "I2C bus stuck: SDA held low" : "I2C bus stuck: SCL held low",
                           "9 clocks + STOP every second; check the cable");
    else
        p->display_message(p->ctx, "No MLX90640 found at I2C 0x33", "Check the Grove I2C cable; retrying");
}

static void layout(th_device_t *d)
{
    const th_port_t *p = d->port;
    if (p->display_layout) p->display_layout(p->ctx, d->app.mode, &d->app.store.labels);
    if (!d->sensor_ok) show_no_sensor(d);
}

/* ---- storage ---------------------------------------------------------------------------- */

/* The card behind a time guard: each operation is timed with port->millis; a slow one marks the
 * card failing for the rest of the pass (later operations fail at once, nothing is half-done:
 * th_store's never-overwrite rules hold for whatever did or did not get written). */
static int card_usable(th_device_t *d)
{
    if (d->card_failing || d->card_pass_ms >= TH_DEVICE_CARD_PASS_MS) {
        d->stats.card_skipped++;
        return 0;
    }
    return 1;
}

static void card_timed(th_device_t *d, uint32_t t0)
{
    uint32_t dt = d->port->millis(d->port->ctx) - t0;
    d->card_pass_ms += dt;
    if (dt > d->stats.longest_card_ms) d->stats.longest_card_ms = dt;
    if (dt > TH_DEVICE_CARD_SLOW_MS) {
        d->card_failing = 1;
        d->stats.card_slow++;
    }
}

static int g_exists(void *ctx, const char *name)
{
    th_device_t *d = ctx;
    const th_fs_ops_t *fs = d->port->fs;
    uint32_t t0 = d->port->millis(d->port->ctx);
    int r;
    if (!card_usable(d)) return 0;
    r = fs->exists(fs->ctx, name);
    card_timed(d, t0);
    return r;
}

static int g_create(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    th_device_t *d = ctx;
    const th_fs_ops_t *fs = d->port->fs;
    uint32_t t0 = d->port->millis(d->port->ctx);
    int r;
    if (!card_usable(d)) return TH_FS_IO;
    r = fs->create_exclusive(fs->ctx, name, data, len);
    card_timed(d, t0);
    return r;
}

static int g_append(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    th_device_t *d = ctx;
    const th_fs_ops_t *fs = d->port->fs;
    uint32_t t0 = d->port->millis(d->port->ctx);
    int r;
    if (!card_usable(d)) return TH_FS_IO;
    r = fs->append(fs->ctx, name, data, len);
    card_timed(d, t0);
    return r;
}

static int g_list(void *ctx, void (*on_name)(void *, const char *), void *cb_ctx)
{
    th_device_t *d = ctx;
    const th_fs_ops_t *fs = d->port->fs;
    uint32_t t0 = d->port->millis(d->port->ctx);
    int r;
    if (!card_usable(d)) return TH_FS_IO;
    r = fs->list(fs->ctx, on_name, cb_ctx);
    card_timed(d, t0);
    return r;
}

static int card_mount(th_device_t *d)
{
    const th_port_t *p = d->port;
    uint32_t t0 = p->millis(p->ctx);
    int ok = p->storage_mount && p->storage_mount(p->ctx);
    card_timed(d, t0);
    return ok && !d->card_failing;
}

/* End of a pass that found the card failing: unmount it (captures refused, status says so) and
 * remount later with back-off. */
static void card_pass_end(th_device_t *d, uint32_t now)
{
    if (d->card_failing) {
        uint32_t wait = d->cfg.app.sd_retry_ms ? d->cfg.app.sd_retry_ms : 2000u;
        uint8_t k = d->card_fail_run < 5 ? d->card_fail_run : 5;
        wait <<= k;
        if (wait > TH_DEVICE_CARD_BACKOFF_MAX_MS) wait = TH_DEVICE_CARD_BACKOFF_MAX_MS;
        if (d->card_fail_run < 255) d->card_fail_run++;
        d->card_retry_at = now + wait;
        if (d->sd_ok) {
            d->sd_ok = 0;
            d->eeprom_on_card = 0;
        }
        d->card_msg = 1; /* shown after the next th_app_step (which reports the card as gone) */
    }
    d->card_failing = 0;
    d->card_pass_ms = 0;
}

void th_device_eeprom_name(const uint16_t ee[TH_EEPROM_WORDS], char *buf, size_t cap)
{
    /* EEPROM 0x2407..0x2409: device ID (MLX90640 datasheet, EEPROM map, section 11.1) */
    snprintf(buf, cap, TH_EEPROM_FILE_PREFIX "%04x%04x%04x.bin", ee[7], ee[8], ee[9]);
}

/* Save the sensor's EEPROM image on the card once per sensor (exclusive create: never overwritten). */
static void eeprom_backup(th_device_t *d)
{
    const th_port_t *p = d->port;
    static uint8_t bytes[2 * TH_EEPROM_WORDS];
    char name[40], msg[80];
    const uint16_t *ee;
    int r, i;
    if (d->eeprom_on_card || !d->sd_ok || !d->sensor_ok || !p->sensor_eeprom || !p->fs || !card_usable(d)) return;
    ee = p->sensor_eeprom(p->ctx);
    if (!ee) return;
    th_device_eeprom_name(ee, name, sizeof name);
    for (i = 0; i < TH_EEPROM_WORDS; i++) {
        bytes[2 * i] = (uint8_t)(ee[i] & 0xFFu);
        bytes[2 * i + 1] = (uint8_t)(ee[i] >> 8);
    }
    r = d->fs_guard.create_exclusive(d->fs_guard.ctx, name, bytes, sizeof bytes);
    if (r == TH_FS_OK) {
        d->stats.eeprom_backups++;
        snprintf(msg, sizeof msg, "EEPROM backup saved: %s", name);
        queue_log(d, 1, msg); /* sent after the HELLO of a connection, never before it */
    }
    if (r == TH_FS_OK || r == TH_FS_EXISTS) d->eeprom_on_card = 1; /* else: retried at the next mount */
}

/* Card (re)mounted: session id if the boot had none, counters, EEPROM backup. */
static void card_mounted(th_device_t *d)
{
    const th_port_t *p = d->port;
    d->sd_ok = 1;
    d->stats.sd_mounts++;
    if (d->app.store.session == 0 && p->storage_read) {
        char text[24], hex[10];
        long n = p->storage_read(p->ctx, "session.txt", text, sizeof text);
        d->app.store.session = th_session_next(n > 0 ? text : NULL, n > 0 ? (size_t)n : 0);
        th_session_format(d->app.store.session, hex);
        hex[8] = '\n';
        if (p->storage_replace) p->storage_replace(p->ctx, "session.txt", (const uint8_t *)hex, 9);
    }
    if (p->fs) th_store_rescan(&d->app.store, &d->fs_guard);
    eeprom_backup(d);
}

static void do_capture(th_device_t *d, const th_app_actions_t *act)
{
    const th_port_t *p = d->port;
    uint8_t grey[768];
    th_save_result_t res;
    size_t n = 0;
    memset(&res, 0, sizeof res);
    if (!th_device_is_32x24(d)) { /* samples are 32 x 24 (datasets/FORMAT.md): not from a 16 x 12 sensor */
        res.result = TH_FS_BAD_ARG;
        th_app_capture_done(&d->app, &res, act->capture_label);
        th_app_set_status(&d->app, TH_STATUS_WARN, "16x12 sensor: samples are 32x24; use tinyheat record");
        d->stats.captures_failed++;
        th_link_device_send_capture(&d->link, act->capture_label, -1, 0);
        return;
    }
    th_frame_to_grey(d->temps, TH_WINDOW_LO_DEGC, TH_WINDOW_HI_DEGC, grey);
    if (p->jpeg_grey) n = p->jpeg_grey(p->ctx, grey, d->jpeg, sizeof d->jpeg);
    if (n == 0 || !p->fs) res.result = TH_FS_IO;
    else th_store_save(&d->app.store, &d->fs_guard, act->capture_key, act->capture_label, d->jpeg, n, d->temps,
                       d->frame_ms, d->ta_degc, &res);
    th_app_capture_done(&d->app, &res, act->capture_label);
    if (res.result == TH_FS_OK) d->stats.captures_ok++;
    else d->stats.captures_failed++;
    /* every capture, key or host, is reported (PROTOCOL.md CAPTURE) */
    th_link_device_send_capture(&d->link, act->capture_label, res.result == TH_FS_OK ? (int)res.index : -1,
                                res.result == TH_FS_OK);
}

/* ---- sensor ----------------------------------------------------------------------------- */

static int sensor_start(th_device_t *d)
{
    const th_port_t *p = d->port;
    int r = p->sensor_begin ? p->sensor_begin(p->ctx, d->app.refresh_code) : 0;
    int ok = r == 1;
    uint8_t stuck = (uint8_t)(r == TH_SENSOR_BEGIN_SDA_STUCK ? 1 : r == TH_SENSOR_BEGIN_SCL_STUCK ? 2 : 0);
    if (stuck != d->bus_stuck) {
        d->bus_stuck = stuck;
        d->bus_changed = 1; /* status line + LOG at the end of this pass */
        if (stuck) d->stats.bus_stuck++;
    }
    d->sensor_err_run = 0;
    d->sensor_ok = (uint8_t)(ok ? 1 : 0);
    if (ok) {
        d->eeprom_on_card = 0; /* maybe another sensor: its own backup if missing */
        eeprom_backup(d);
    }
    return ok;
}

/* Poll once: 1 = new frame. Errors re-initialise the sensor after a run of them. */
static int sensor_read(th_device_t *d, uint32_t now)
{
    const th_port_t *p = d->port;
    int r;
    if (!d->sensor_ok || !p->sensor_poll) return 0;
    r = p->sensor_poll(p->ctx, d->temps, &d->ta_degc);
    if (r == TH_SENSOR_FRAME) {
        d->sensor_err_run = 0;
        d->stats.frames++;
        d->frame_ms = now;
        return 1;
    }
    if (r == TH_SENSOR_ERROR) {
        d->stats.sensor_errors++;
        if (++d->sensor_err_run >= TH_DEVICE_MAX_SENSOR_ERRORS) {
            d->sensor_ok = 0;
            if (sensor_start(d)) d->stats.sensor_reinits++;
        }
    }
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------- */

void th_device_stats_text(const th_device_t *d, char *buf, size_t cap)
{
    th_sensor_counters_t c = {TH_LINK_STAT_UNKNOWN, TH_LINK_STAT_UNKNOWN};
    char dropped[16], i2c[16];
    if (d->port->sensor_counters) d->port->sensor_counters(d->port->ctx, &c);
    if (c.dropped_subpages == TH_LINK_STAT_UNKNOWN) strcpy(dropped, "?");
    else snprintf(dropped, sizeof dropped, "%lu", (unsigned long)c.dropped_subpages);
    if (c.i2c_errors == TH_LINK_STAT_UNKNOWN) strcpy(i2c, "?");
    else snprintf(i2c, sizeof i2c, "%lu", (unsigned long)c.i2c_errors);
    snprintf(buf, cap, "%u.%02u fps, %s dropped subpages, %s I2C errors, %lu sensor re-inits", d->stats.fps_x100 / 100u,
             d->stats.fps_x100 % 100u, dropped, i2c, (unsigned long)d->stats.sensor_reinits);
}

static void stats_tick(th_device_t *d, uint32_t now)
{
    const th_port_t *p = d->port;
    uint32_t dt = now - d->stats_t0;
    char text[120];
    if (dt < TH_DEVICE_STATS_MS) return;
    /* frames * 100 * 1000 / dt without overflow for any realistic rate */
    d->stats.fps_x100 = (uint16_t)(((uint64_t)(d->stats.frames - d->stats_frames0) * 100000u) / dt);
    d->stats_t0 = now;
    d->stats_frames0 = d->stats.frames;
    th_device_stats_text(d, text, sizeof text);
    if (p->display_stats) {
        th_sensor_counters_t c = {TH_LINK_STAT_UNKNOWN, TH_LINK_STAT_UNKNOWN};
        if (p->sensor_counters) p->sensor_counters(p->ctx, &c);
        p->display_stats(p->ctx, d->stats.fps_x100, c.dropped_subpages, c.i2c_errors);
    }
    if (d->app.mode == TH_MODE_STREAM) th_link_device_send_log(&d->link, 1, text);
}

/* ---- boot and loop ---------------------------------------------------------------------- */

void th_device_init(th_device_t *d, const th_port_t *port, const th_device_config_t *cfg)
{
    th_labels_t labels;
    th_store_t store;
    char label_status[96] = "";
    static char text[1024];
    long n = -1;
    memset(d, 0, sizeof *d);
    d->port = port;
    if (cfg) d->cfg = *cfg;
    else th_device_default_config(&d->cfg);
    if (!((d->cfg.rows == 24 && d->cfg.cols == 32) || (d->cfg.rows == 12 && d->cfg.cols == 16))) {
        d->cfg.rows = 24; /* the two geometries of PROTOCOL.md */
        d->cfg.cols = 32;
    }
    d->ta_degc = NAN;
    g_running = d;

    d->link_ctx.fw_version = d->cfg.fw_version;
    d->link_ctx.emissivity = d->cfg.emissivity;
    d->link_ctx.n_model = d->cfg.n_model;
    d->link_ctx.model_labels = d->cfg.model_labels;
    d->link_ctx.model_id = d->cfg.model_id;
    d->link_ctx.rows = d->cfg.rows;
    d->link_ctx.cols = d->cfg.cols;
    d->link_ctx.stats = link_stats;
    d->link_ctx.eeprom = link_eeprom;
    d->link_ctx.owner = d;
    d->fs_guard.ctx = d;
    d->fs_guard.exists = g_exists;
    d->fs_guard.create_exclusive = g_create;
    d->fs_guard.append = g_append;
    d->fs_guard.list = g_list;
    d->link_ctx.app = &d->app;
    th_link_device_init(&d->link, link_write, d, th_link_app_commands(), &d->link_ctx);

    /* card: labels now; session, counters and EEPROM backup in card_mounted() */
    d->sd_ok = (uint8_t)card_mount(d);
    if (d->sd_ok && port->storage_read) n = port->storage_read(port->ctx, "labels.txt", text, sizeof text);
    th_labels_parse(n > 0 ? text : NULL, n > 0 ? (size_t)n : 0, &labels, label_status, sizeof label_status);
    th_store_init(&store, &labels, 0); /* session 0 = unknown until a card is mounted */
    th_app_init(&d->app, &d->cfg.app, &store);
    th_app_set_model_ok(&d->app, d->cfg.n_model > 0 && port->classify != NULL);
    sensor_start(d);
    if (d->sd_ok) card_mounted(d);
    d->stats.sd_mounts = d->sd_ok;
    card_pass_end(d, port->millis(port->ctx));
    d->stats_t0 = port->millis(port->ctx);
    if (label_status[0]) th_app_set_status(&d->app, TH_STATUS_INFO, label_status);
    /* nothing was sent so far (host_open = 0): the boot HELLO is the first message, seq 0 */
    if (!port->link_host_open || port->link_host_open(port->ctx)) host_connected(d);
}

void th_device_step(th_device_t *d)
{
    const th_port_t *p = d->port;
    th_app_input_t in;
    th_app_actions_t act;
    uint32_t now = p->millis(p->ctx);

    g_running = d;
    d->link_ctx.app = &d->app;
    if (p->link_host_open) {
        int open = p->link_host_open(p->ctx) ? 1 : 0;
        if (open && !d->host_open) host_connected(d);
        d->host_open = (uint8_t)open;
    }
    if (d->pending_log[0] && d->host_open) {
        th_link_device_send_log(&d->link, d->pending_log_level, d->pending_log);
        d->pending_log[0] = '\0';
    }
    if (d->debug_log[0]) {
        th_link_device_send_log(&d->link, 0, d->debug_log);
        d->debug_log[0] = '\0';
    }

    in.now_ms = now;
    in.keys = p->read_keys ? p->read_keys(p->ctx) : 0;
    if (d->sd_ok && !(p->storage_present && p->storage_present(p->ctx))) {
        d->sd_ok = 0;
        d->eeprom_on_card = 0; /* another card may come back */
    }
    in.sd_ok = d->sd_ok;
    in.frame_ready = (uint8_t)sensor_read(d, now);
    in.sensor_ok = d->sensor_ok;
    link_poll(d); /* host commands in every mode (PROTOCOL.md) */
    th_app_step(&d->app, &in, &act);
    if (d->card_msg && !in.sd_ok) {
        d->card_msg = 0;
        th_app_set_status(&d->app, TH_STATUS_ERROR, "SD card not responding: saving paused, retrying");
    }

    if (act.set_refresh && d->sensor_ok && p->sensor_set_refresh) p->sensor_set_refresh(p->ctx, act.refresh_code);
    if (act.retry_sensor && sensor_start(d)) {
        d->stats.sensor_reinits++;
        layout(d);
    }
    if (act.retry_sd && (d->card_fail_run == 0 || (int32_t)(now - d->card_retry_at) >= 0)) {
        if (card_mount(d)) {
            card_mounted(d);
            if (!d->card_failing) d->card_fail_run = 0;
        }
    }
    if (act.rescan && p->fs && d->sd_ok) th_store_rescan(&d->app.store, &d->fs_guard);
    if (act.mode_changed) layout(d);
    else if (!in.sensor_ok && act.retry_sensor) show_no_sensor(d);

    if (act.render && p->display_frame) p->display_frame(p->ctx, d->temps, d->ta_degc);
    if (act.infer && p->classify) { /* the model input is [1, 24, 32, C] */
        th_prediction_t pr;
        uint32_t us = 0;
        const float *model_frame = d->temps;
        if (!th_device_is_32x24(d)) { /* 16 x 12: each pixel repeated 2 x 2, as the laptop trains on it */
            th_device_repeat2(d->temps, d->model_in);
            model_frame = d->model_in;
        }
        if (p->classify(p->ctx, model_frame, &pr, &us)) {
            d->stats.inferences++;
            d->stats.last_invoke_us = us;
            if (p->display_prediction)
                p->display_prediction(p->ctx, &pr, pr.label_index >= 0 && pr.label_index < d->cfg.n_model
                                                       ? d->cfg.model_labels[pr.label_index] : "uncertain", us);
            if (act.stream_frame) th_link_device_send_prediction(&d->link, d->frame_ms, pr.label_index, pr.confidence, us);
        }
    }
    if (act.stream_frame)
        th_link_device_send_frame_n(&d->link, d->frame_ms, d->ta_degc, d->temps, (int)d->cfg.rows * d->cfg.cols);
    if (act.capture) do_capture(d, &act);
    if (act.capture_refused) th_link_device_send_capture(&d->link, act.capture_label, -1, 0);
    if (act.redraw_status) show_status(d);
    card_pass_end(d, now);
    if (d->bus_changed) { /* a stuck bus is shown (LCD, status, LOG) until it heals */
        d->bus_changed = 0;
        if (d->bus_stuck) th_app_set_status(&d->app, TH_STATUS_ERROR, bus_text(d));
        else if (!d->sensor_ok)
            th_app_set_status(&d->app, TH_STATUS_ERROR, "No MLX90640 at I2C 0x33: check Grove cable; retrying");
        if (!d->sensor_ok) show_no_sensor(d);
    }
    stats_tick(d, now);
}

void th_debug_log(const char *text)
{
    th_device_t *d = g_running;
    size_t have, add;
    if (!d || !text) return;
    have = strlen(d->debug_log);
    if (have && have >= TH_LINK_MAX_LOG_TEXT) {
        d->stats.debug_logs_dropped++;
        return;
    }
    add = strlen(text);
    if (add > TH_LINK_MAX_LOG_TEXT - have) add = TH_LINK_MAX_LOG_TEXT - have;
    memcpy(d->debug_log + have, text, add);
    d->debug_log[have + add] = '\0';
    /* strip line ends: TFLM sends the text and "\r\n" in two calls */
    have += add;
    while (have && (d->debug_log[have - 1] == '\n' || d->debug_log[have - 1] == '\r')) d->debug_log[--have] = '\0';
}
