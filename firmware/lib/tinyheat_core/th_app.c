/* Application state machine. See th_app.h. */
#include "th_app.h"

#include <stdio.h>
#include <string.h>

static const uint8_t k_key_bits[TH_NUM_INPUT_KEYS] = {TH_KEY_A, TH_KEY_B, TH_KEY_C,
                                                      TH_KEY_LEFT, TH_KEY_RIGHT, TH_KEY_PRESS};

void th_app_default_config(th_app_config_t *cfg)
{
    cfg->debounce_ms = 30;
    cfg->burst_delay_ms = 600;
    cfg->burst_interval_ms = 250;
    cfg->sd_retry_ms = 2000;
    cfg->sensor_retry_ms = 1000;
    cfg->start_mode = TH_MODE_COLLECT;
    cfg->refresh_code = 0x04;
    cfg->capture_timeout_ms = 0;
}

void th_app_init(th_app_t *app, const th_app_config_t *cfg, const th_store_t *store)
{
    memset(app, 0, sizeof *app);
    if (cfg) app->cfg = *cfg;
    else th_app_default_config(&app->cfg);
    if (app->cfg.start_mode >= TH_MODE_COUNT) app->cfg.start_mode = TH_MODE_COLLECT;
    if (app->cfg.refresh_code > 7) app->cfg.refresh_code = 0x04;
    app->mode = app->cfg.start_mode;
    app->store = *store;
    app->refresh_code = app->cfg.refresh_code;
    app->pending_refresh = 1; /* apply the boot refresh rate once */
    app->mode_dirty = 1;
    th_app_set_status(app, TH_STATUS_INFO, "starting");
}

void th_app_set_status(th_app_t *app, th_status_level_t level, const char *text)
{
    app->status_level = level;
    strncpy(app->status, text, sizeof app->status - 1);
    app->status[sizeof app->status - 1] = '\0';
    app->status_dirty = 1;
}

void th_app_set_model_ok(th_app_t *app, int ok)
{
    app->model_ok = ok ? 1 : 0;
}

const char *th_app_mode_name(th_mode_t mode)
{
    switch (mode) {
    case TH_MODE_COLLECT: return "collect";
    case TH_MODE_CLASSIFY: return "classify";
    case TH_MODE_STREAM: return "stream";
    default: return "?";
    }
}

float th_refresh_hz(int code)
{
    static const float hz[8] = {0.5f, 1.0f, 2.0f, 4.0f, 8.0f, 16.0f, 32.0f, 64.0f};
    return (code >= 0 && code <= 7) ? hz[code] : 0.0f;
}

const char *th_app_err_str(int err)
{
    switch (err) {
    case TH_APP_OK: return "ok";
    case TH_APP_EINVAL: return "invalid argument";
    case TH_APP_EBUSY: return "busy: a capture is already queued";
    default: return "unknown error";
    }
}

static void set_mode(th_app_t *app, th_mode_t mode)
{
    char msg[40];
    if (mode == app->mode) return;
    app->mode = mode;
    app->mode_dirty = 1;
    app->pending = app->pending && app->pending_key < 0; /* key captures do not survive a mode change */
    snprintf(msg, sizeof msg, "mode: %s", th_app_mode_name(mode));
    th_app_set_status(app, TH_STATUS_INFO, msg);
}

int th_app_cmd_set_mode(th_app_t *app, int mode)
{
    if (mode < 0 || mode >= TH_MODE_COUNT) return TH_APP_EINVAL;
    set_mode(app, (th_mode_t)mode);
    return TH_APP_OK;
}

int th_app_cmd_capture(th_app_t *app, const char *label)
{
    if (!th_label_valid(label)) return TH_APP_EINVAL;
    if (app->pending) return TH_APP_EBUSY;
    app->pending = 1;
    app->pending_key = -1;
    app->pending_burst = 0;
    app->pending_after_seq = app->frame_seq;
    app->pending_since_ms = app->last_now_ms;
    strncpy(app->pending_label, label, TH_LABEL_MAX);
    app->pending_label[TH_LABEL_MAX] = '\0';
    return TH_APP_OK;
}

int th_app_cmd_set_labels(th_app_t *app, const char *a, const char *b, const char *c)
{
    th_labels_t l;
    const char *v[TH_NUM_KEYS];
    char msg[128];
    int k;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    for (k = 0; k < TH_NUM_KEYS; k++) {
        if (!th_label_valid(v[k])) return TH_APP_EINVAL;
        strcpy(l.name[k], v[k]);
    }
    th_store_set_labels(&app->store, &l);
    app->pending_rescan = 1;
    snprintf(msg, sizeof msg, "A=%s B=%s C=%s", l.name[0], l.name[1], l.name[2]);
    th_app_set_status(app, TH_STATUS_INFO, msg);
    return TH_APP_OK;
}

int th_app_cmd_set_refresh(th_app_t *app, int code)
{
    if (code < 0 || code > 7) return TH_APP_EINVAL;
    app->refresh_code = (uint8_t)code;
    app->pending_refresh = 1;
    return TH_APP_OK;
}

/* Debounce key i; return +1 on an accepted press, -1 on an accepted release, 0 otherwise. */
static int debounce(th_app_t *app, int i, int raw, uint32_t now)
{
    th_key_state_t *k = &app->keys[i];
    if (raw != k->raw) {
        k->raw = (uint8_t)raw;
        k->t_change = now;
        return 0;
    }
    if (raw != k->stable && (uint32_t)(now - k->t_change) >= app->cfg.debounce_ms) {
        k->stable = (uint8_t)raw;
        return raw ? 1 : -1;
    }
    return 0;
}

static void request_key_capture(th_app_t *app, int key, int burst)
{
    app->pending = 1;
    app->pending_burst = (uint8_t)burst;
    app->pending_key = (int8_t)key;
    app->pending_after_seq = app->frame_seq;
    app->pending_since_ms = app->last_now_ms;
    strcpy(app->pending_label, app->store.labels.name[key]);
}

static void refuse(th_app_t *app, th_app_actions_t *out, const char *why)
{
    th_app_set_status(app, TH_STATUS_ERROR, why);
    app->captures_failed++;
    out->capture_refused = 1;
    out->capture_key = app->pending_key;
    strcpy(out->capture_label, app->pending_label);
    app->pending = 0;
}

void th_app_step(th_app_t *app, const th_app_input_t *in, th_app_actions_t *out)
{
    uint32_t now = in->now_ms;
    int i;
    memset(out, 0, sizeof *out);
    out->capture_key = -1;
    app->last_now_ms = now;

    /* sensor and card status: report transitions, retry periodically */
    if (!in->sensor_ok) {
        if (app->sensor_ok || !app->started) {
            th_app_set_status(app, TH_STATUS_ERROR, "No MLX90640 at I2C 0x33: check Grove cable; retrying");
            app->last_sensor_retry_ms = now;
        } else if ((uint32_t)(now - app->last_sensor_retry_ms) >= app->cfg.sensor_retry_ms) {
            out->retry_sensor = 1;
            app->last_sensor_retry_ms = now;
        }
    } else if (!app->sensor_ok && app->started) {
        th_app_set_status(app, TH_STATUS_INFO, "sensor OK");
    }
    if (!in->sd_ok) {
        if (app->sd_ok || !app->started) {
            th_app_set_status(app, app->mode == TH_MODE_COLLECT ? TH_STATUS_ERROR : TH_STATUS_WARN,
                              "No SD card: insert a card to save samples");
            app->last_sd_retry_ms = now;
        } else if ((uint32_t)(now - app->last_sd_retry_ms) >= app->cfg.sd_retry_ms) {
            out->retry_sd = 1;
            app->last_sd_retry_ms = now;
        }
    } else if (!app->sd_ok && app->started) {
        th_app_set_status(app, TH_STATUS_INFO, "SD card OK");
    }
    app->sensor_ok = in->sensor_ok ? 1 : 0;
    app->sd_ok = in->sd_ok ? 1 : 0;
    app->started = 1;

    /* keys */
    for (i = 0; i < TH_NUM_INPUT_KEYS; i++) {
        int edge = debounce(app, i, (in->keys & k_key_bits[i]) != 0, now);
        th_key_state_t *k = &app->keys[i];
        if (i < TH_NUM_KEYS) {
            if (edge > 0) {
                if (app->mode == TH_MODE_COLLECT) {
                    request_key_capture(app, i, 0);
                    k->next_burst_ms = now + app->cfg.burst_delay_ms;
                } else {
                    th_app_set_status(app, TH_STATUS_WARN, "capture keys work in collect mode");
                }
            } else if (edge < 0) {
                /* a repeat still waiting for a frame is dropped on release; a single press is kept */
                if (app->pending && app->pending_key == i && app->pending_burst) app->pending = 0;
            } else if (k->stable && app->mode == TH_MODE_COLLECT && (int32_t)(now - k->next_burst_ms) >= 0) {
                request_key_capture(app, i, 1);
                k->next_burst_ms += app->cfg.burst_interval_ms;
                if ((int32_t)(now - k->next_burst_ms) >= 0) k->next_burst_ms = now + app->cfg.burst_interval_ms;
            }
        } else if (edge > 0) {
            int m = (int)app->mode;
            if (k_key_bits[i] == TH_KEY_LEFT) m = (m + TH_MODE_COUNT - 1) % TH_MODE_COUNT;
            else m = (m + 1) % TH_MODE_COUNT;
            set_mode(app, (th_mode_t)m);
        }
    }

    /* frames */
    if (in->frame_ready && in->sensor_ok) {
        app->frame_seq++;
        out->render = 1;
        out->infer = (app->mode != TH_MODE_COLLECT) && app->model_ok;
        out->stream_frame = app->mode == TH_MODE_STREAM;
    }

    /* a queued capture runs on the first frame read after it was queued (never on the frame
     * already held, never twice on one frame), or is refused after capture_timeout_ms */
    if (app->pending) {
        uint32_t timeout = app->cfg.capture_timeout_ms;
        if (timeout == 0) {
            float hz = th_refresh_hz(app->refresh_code);
            timeout = (uint32_t)(2.0f * 2000.0f / (hz > 0.0f ? hz : 0.5f)) + 1000u;
        }
        if (!in->sd_ok) {
            refuse(app, out, "No SD card: sample NOT saved");
            out->retry_sd = 1;
            app->last_sd_retry_ms = now;
        } else if (!in->sensor_ok) {
            refuse(app, out, "No frame from sensor: sample NOT saved");
        } else if (app->frame_seq != app->pending_after_seq && app->frame_seq != app->captured_seq) {
            out->capture = 1;
            out->capture_key = app->pending_key;
            strcpy(out->capture_label, app->pending_label);
            app->captured_seq = app->frame_seq;
            app->pending = 0;
        } else if ((uint32_t)(now - app->pending_since_ms) >= timeout) {
            refuse(app, out, "No new frame from sensor: sample NOT saved");
        }
    }

    if (app->pending_refresh) {
        out->set_refresh = 1;
        out->refresh_code = app->refresh_code;
        app->pending_refresh = 0;
    }
    if (app->pending_rescan) {
        out->rescan = in->sd_ok ? 1 : 0;
        app->pending_rescan = 0;
    }
    out->mode_changed = app->mode_dirty;
    app->mode_dirty = 0;
    out->redraw_status = app->status_dirty;
    app->status_dirty = 0;
}

void th_app_capture_done(th_app_t *app, const th_save_result_t *res, const char *label)
{
    char msg[128];
    if (res->result == TH_FS_OK) {
        app->captures_ok++;
        if (res->sidecar_result != TH_FS_OK || res->log_result != TH_FS_OK)
            snprintf(msg, sizeof msg, "saved %s (sidecar/log failed)", res->jpg_name);
        else
            snprintf(msg, sizeof msg, "saved %s (%lu this boot)", res->jpg_name, (unsigned long)app->captures_ok);
        th_app_set_status(app, res->sidecar_result == TH_FS_OK && res->log_result == TH_FS_OK ? TH_STATUS_INFO : TH_STATUS_WARN, msg);
    } else {
        app->captures_failed++;
        snprintf(msg, sizeof msg, "%s NOT saved: %s", label ? label : "sample",
                 res->result == TH_FS_NO_CARD ? "no SD card" :
                 res->result == TH_FS_BAD_ARG ? "invalid label" : "write failed (card full?)");
        th_app_set_status(app, TH_STATUS_ERROR, msg);
    }
}
