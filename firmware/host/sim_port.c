/* Host stand-ins for the Wio Terminal's hardware behind th_port_t. See sim_port.h. */
#define _POSIX_C_SOURCE 200809L
#include "sim_port.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_jpeg.h"
#include "th_link.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t p_millis(void *ctx)
{
    sim_port_t *s = ctx;
    if (s->sim_clock) return s->now_ms;
    return 1000u + (uint32_t)((mono_s() - s->t0_s) * 1000.0); /* a device that booted 1 s ago */
}

static uint8_t p_keys(void *ctx) { return ((sim_port_t *)ctx)->keys; }

/* ---- MLX90640 model ---- */

static double sensor_now(sim_port_t *s)
{
    uint32_t now = p_millis(s);
    s->t_ms += (double)(uint32_t)(now - s->last_ms);
    s->last_ms = now;
    return s->t_ms;
}

static double subpage_ms(uint8_t code) { return 1000.0 / th_refresh_hz(code); }

static void restart_timing(sim_port_t *s)
{
    s->next_subpage_ms = sensor_now(s) + subpage_ms(s->rate_code);
    s->produced = 0;
    s->have_sub0 = 0;
}

static int p_sensor_begin(void *ctx, uint8_t code)
{
    sim_port_t *s = ctx;
    if (s->bus_stuck) { /* the bus clear (9 clocks + STOP) did not free the line */
        s->bus_clears++;
        s->i2c_errors++;
        s->begun = 0;
        return s->bus_stuck == 2 ? TH_SENSOR_BEGIN_SCL_STUCK : TH_SENSOR_BEGIN_SDA_STUCK;
    }
    if (!s->present) {
        s->i2c_errors++; /* the ACK probe is NACKed */
        s->begun = 0;
        return 0;
    }
    s->rate_code = code & 7u;
    s->begun = 1;
    s->begins++;
    /* synthetic EEPROM image: a fixed pattern with the device ID in words 7..9 (0x2407..0x2409) */
    for (int i = 0; i < 832; i++) s->eeprom[i] = (uint16_t)(0x1000u + (unsigned)i * 37u);
    memcpy(&s->eeprom[7], s->eeprom_id, sizeof s->eeprom_id);
    restart_timing(s);
    return 1;
}

static int p_sensor_poll(void *ctx, float temps[768], float *ta)
{
    sim_port_t *s = ctx;
    double now = sensor_now(s), per = subpage_ms(s->rate_code);
    if (!s->begun) return TH_SENSOR_ERROR;
    if (!s->present || s->bus_stuck) { /* a stuck bus: every transfer times out (SERCOM LOWTOUT) */
        s->i2c_errors++;
        s->begun = 0;
        return TH_SENSOR_ERROR;
    }
    if (s->nack_polls > 0) { /* NACK in the middle of a subpage read: the partial frame is lost */
        s->nack_polls--;
        s->i2c_errors++;
        s->have_sub0 = 0;
        return TH_SENSOR_ERROR;
    }
    if (now < s->next_subpage_ms) return TH_SENSOR_NONE;
    uint32_t k = (uint32_t)floor((now - s->next_subpage_ms) / per) + 1u; /* subpages produced since */
    s->dropped_subpages += k - 1u;
    s->produced += k;
    s->next_subpage_ms += (double)k * per;
    if (s->frames->px == 192) { /* MLX90641: every subpage is a complete 16 x 12 image */
        sim_frames_next(s->frames, s->frame);
        memcpy(temps, s->frame, 192 * sizeof(float));
        *ta = s->ta_degc;
        return TH_SENSOR_FRAME;
    }
    if ((s->produced - 1u) % 2u == 0u) { /* subpage 0: the first half of a new frame */
        sim_frames_next(s->frames, s->frame);
        s->have_sub0 = 1;
        return TH_SENSOR_NONE;
    }
    if (!s->have_sub0) return TH_SENSOR_NONE; /* its first half was dropped */
    s->have_sub0 = 0;
    memcpy(temps, s->frame, sizeof s->frame);
    *ta = s->ta_degc;
    return TH_SENSOR_FRAME;
}

static int p_sensor_set_refresh(void *ctx, uint8_t code)
{
    sim_port_t *s = ctx;
    if (!s->begun || !s->present) return 0;
    s->rate_code = code & 7u;
    restart_timing(s);
    return 1;
}

static const uint16_t *p_sensor_eeprom(void *ctx)
{
    sim_port_t *s = ctx;
    return s->begins ? s->eeprom : NULL;
}

static void p_sensor_counters(void *ctx, th_sensor_counters_t *out)
{
    sim_port_t *s = ctx;
    out->i2c_errors = s->i2c_errors;
    out->dropped_subpages = s->dropped_subpages;
}

/* ---- SD card ---- */

/* Time passes: the simulated clock advances, or the process sleeps (real-time simulator). */
static void sim_delay(void *ctx, unsigned ms)
{
    sim_port_t *s = ctx;
    if (s->sim_clock) {
        s->now_ms += ms;
    } else {
        struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int p_storage_mount(void *ctx)
{
    sim_port_t *s = ctx;
    if (s->card_detect && s->fs.op_delay_ms) sim_delay(s, s->fs.op_delay_ms); /* SD.begin on a slow card */
    s->mounted = s->fs.dir != NULL && s->card_detect;
    s->fs.no_card = !s->mounted;
    return s->mounted;
}

static int p_storage_present(void *ctx)
{
    sim_port_t *s = ctx;
    if (s->mounted && (!s->card_detect || s->fs.no_card)) s->mounted = 0;
    return s->mounted;
}

static long p_storage_read(void *ctx, const char *name, char *buf, size_t cap)
{
    return th_fs_posix_read(&((sim_port_t *)ctx)->fs, name, buf, cap);
}

static int p_storage_replace(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    return th_fs_posix_replace(&((sim_port_t *)ctx)->fs, name, data, len);
}

void sim_port_set_card(sim_port_t *s, int inserted)
{
    s->card_detect = inserted ? 1 : 0;
    if (!inserted) s->fs.no_card = 1;
}

/* ---- JPEG, model ---- */

static size_t p_jpeg(void *ctx, const uint8_t grey[768], uint8_t *out, size_t cap)
{
    (void)ctx;
    return sim_jpeg_grey(grey, out, cap, 95);
}

static int p_classify(void *ctx, const float temps[768], th_prediction_t *out, uint32_t *us)
{
    sim_port_t *s = ctx;
    return s->tflm && sim_tflm_classify(s->tflm, temps, s->uncertain_below, out, us);
}

/* ---- link ---- */

static size_t p_link_read(void *ctx, uint8_t *buf, size_t cap)
{
    sim_port_t *s = ctx;
    size_t n;
    if (s->pty) return sim_pty_read(s->pty, buf, cap);
    n = s->h2d_len - s->h2d_pos;
    if (n > cap) n = cap;
    memcpy(buf, s->host_to_dev + s->h2d_pos, n);
    s->h2d_pos += n;
    return n;
}

static size_t mem_cap(const sim_port_t *s) { return s->tx_cap ? s->tx_cap : SIM_MEM_LINK_BYTES; }

static size_t p_link_write(void *ctx, const uint8_t *data, size_t n)
{
    sim_port_t *s = ctx;
    if (s->usb_bps > 0) s->usb_tokens -= (double)n;
    if (s->tx_cut_after > 0 && n > (size_t)s->tx_cut_after) { /* a USB transmit timeout mid-frame */
        n = (size_t)s->tx_cut_after;
        s->tx_cut_after = 0;
        if (s->pty) return sim_pty_write_part(s->pty, data, n);
    }
    if (s->pty) return sim_pty_write(s->pty, data, n);
    if (s->d2h_len + n > mem_cap(s)) {
        s->tx_dropped_frames++;
        return 0;
    }
    memcpy(s->dev_to_host + s->d2h_len, data, n);
    s->d2h_len += n;
    return n;
}

/* Slow USB: a token bucket of usb_bps bytes/s (at most 2 maximal messages or 250 ms banked). */
static size_t usb_budget(sim_port_t *s)
{
    uint32_t now = p_millis(s);
    double cap = (double)s->usb_bps / 4.0;
    if (cap < 2.0 * TH_LINK_MAX_WIRE) cap = 2.0 * TH_LINK_MAX_WIRE;
    s->usb_tokens += (double)(uint32_t)(now - s->usb_last_ms) * (double)s->usb_bps / 1000.0;
    s->usb_last_ms = now;
    if (s->usb_tokens > cap) s->usb_tokens = cap;
    return s->usb_tokens > 0 ? (size_t)s->usb_tokens : 0;
}

static size_t p_link_tx_room(void *ctx)
{
    sim_port_t *s = ctx;
    size_t room;
    if (s->pty) {
        sim_pty_flush(s->pty);
        room = sizeof s->pty->tx - s->pty->tx_len;
    } else {
        room = mem_cap(s) - s->d2h_len;
    }
    if (s->usb_bps > 0) {
        size_t b = usb_budget(s);
        if (b < room) room = b;
    }
    return room;
}

/* DTR of the simulated USB port: the pty's slave side is open (a host program has the port), or
 * the in-memory link's host_open flag. */
static int p_link_host_open(void *ctx)
{
    sim_port_t *s = ctx;
    if (s->pty) return sim_pty_host_open(s->pty);
    return s->host_open;
}

void sim_port_host_send(sim_port_t *s, const uint8_t *data, size_t n)
{
    if (s->h2d_pos == s->h2d_len) s->h2d_pos = s->h2d_len = 0;
    if (s->h2d_len + n > SIM_MEM_LINK_BYTES) n = SIM_MEM_LINK_BYTES - s->h2d_len;
    memcpy(s->host_to_dev + s->h2d_len, data, n);
    s->h2d_len += n;
}

uint32_t sim_port_ms_to_subpage(const sim_port_t *s)
{
    double d = s->next_subpage_ms - (s->t_ms + (double)(uint32_t)(p_millis((void *)s) - s->last_ms));
    return d <= 0 ? 0 : (uint32_t)d + 1u;
}

void sim_port_init(sim_port_t *s, th_port_t *port, sim_frames_t *frames, const char *card_dir, sim_pty_t *pty)
{
    memset(s, 0, sizeof *s);
    memset(port, 0, sizeof *port);
    s->t0_s = mono_s();
    s->now_ms = 1000;
    s->last_ms = p_millis(s);
    s->t_ms = (double)s->last_ms;
    s->frames = frames;
    s->present = 1;
    s->rate_code = 4;
    s->ta_degc = 25.0f;
    s->eeprom_id[0] = 0x5349; /* "SI" */
    s->eeprom_id[1] = 0x4d00; /* "M"  */
    s->eeprom_id[2] = 0x0001;
    s->uncertain_below = 0.6f;
    s->host_open = 1;
    s->fs.dir = card_dir;
    s->fs.no_card = 1;
    s->card_detect = card_dir != NULL;
    th_fs_posix_ops(&s->fs, &s->fs_ops);
    s->fs.delay = sim_delay;
    s->fs.delay_ctx = s;
    s->pty = pty;
    if (!pty) {
        s->host_to_dev = malloc(SIM_MEM_LINK_BYTES);
        s->dev_to_host = malloc(SIM_MEM_LINK_BYTES);
    }
    port->ctx = s;
    port->millis = p_millis;
    port->read_keys = p_keys;
    port->sensor_begin = p_sensor_begin;
    port->sensor_poll = p_sensor_poll;
    port->sensor_set_refresh = p_sensor_set_refresh;
    port->sensor_eeprom = p_sensor_eeprom;
    port->sensor_counters = p_sensor_counters;
    port->storage_mount = p_storage_mount;
    port->storage_present = p_storage_present;
    port->storage_read = p_storage_read;
    port->storage_replace = p_storage_replace;
    port->fs = &s->fs_ops;
    port->jpeg_grey = p_jpeg;
    port->classify = p_classify;
    port->link_read = p_link_read;
    port->link_write = p_link_write;
    port->link_tx_room = p_link_tx_room;
    port->link_host_open = p_link_host_open;
}

void sim_port_free(sim_port_t *s)
{
    free(s->host_to_dev);
    free(s->dev_to_host);
    s->host_to_dev = s->dev_to_host = NULL;
}
