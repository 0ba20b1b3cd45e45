/**
 * @file th_app.h
 * The tinyheat application state machine and the host-command API.
 *
 * The app is a pure function of events: each loop the device fills th_app_input_t (time in
 * ms, raw key states, SD/sensor status, "a new frame was read") and calls th_app_step(), which
 * returns th_app_actions_t (capture label X, render, run inference, stream the frame, retry the
 * SD card or sensor, apply a refresh rate, redraw the status line). The device executes the
 * actions and reports capture results back with th_app_capture_done(). No I/O happens here, so
 * host tests drive key sequences with a fake clock.
 *
 * Modes (cycled with the 5-way switch: press or right = next, left = previous):
 *  - COLLECT:  keys A/B/C save the next frame under the label of that key; holding a key
 *              captures repeatedly (first repeat after burst_delay_ms, then every
 *              burst_interval_ms), never twice from the same frame.
 *  - CLASSIFY: the model runs on each frame.
 *  - STREAM:   like CLASSIFY, and every frame and prediction is sent over the USB serial link.
 *  Host commands (the th_app_cmd_* functions below) arrive over the serial link in every mode
 *  (main.cpp polls it each loop); hosts send set-mode STREAM first.
 *
 * Errors: missing SD card and absent sensor are shown on the status line and retried
 * periodically (retry_sd / retry_sensor actions); a capture without a card or frame is refused
 * with a visible message and no counter moves; failed writes are reported, nothing is
 * overwritten (th_store.h).
 *
 * Serial-link usage: from serial_link_poll(app, now_ms) call th_app_cmd_*; each
 * returns TH_APP_OK or a negative th_app_err_t (th_app_err_str() gives text for the host).
 * The commands only queue work; it happens in the next th_app_step() of the main loop. A
 * queued host capture is reported by main.cpp through serial_link_send_capture().
 * Not thread/ISR-safe: call everything from the Arduino loop context.
 */
#ifndef TH_APP_H
#define TH_APP_H

#include <stdint.h>

#include "th_labels.h"
#include "th_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TH_MODE_COLLECT = 0, TH_MODE_CLASSIFY = 1, TH_MODE_STREAM = 2, TH_MODE_COUNT = 3 } th_mode_t;

/** Key bits of th_app_input_t.keys (1 = held down; raw, not debounced). */
#define TH_KEY_A 0x01u     /**< top key A (WIO_KEY_A): capture labels[0] */
#define TH_KEY_B 0x02u     /**< key B: labels[1] */
#define TH_KEY_C 0x04u     /**< key C: labels[2] */
#define TH_KEY_LEFT 0x08u  /**< 5-way switch left: previous mode */
#define TH_KEY_RIGHT 0x10u /**< 5-way switch right: next mode */
#define TH_KEY_PRESS 0x20u /**< 5-way switch press: next mode */
#define TH_NUM_INPUT_KEYS 6

/** Error codes of the host-command API. */
typedef enum {
    TH_APP_OK = 0,
    TH_APP_EINVAL = -1, /**< argument out of range / invalid label */
    TH_APP_EBUSY = -2   /**< a capture is already queued */
} th_app_err_t;

/** Status line severity. */
typedef enum { TH_STATUS_INFO = 0, TH_STATUS_WARN = 1, TH_STATUS_ERROR = 2 } th_status_level_t;

typedef struct {
    uint32_t debounce_ms;       /**< key must be stable this long, ms (default 30) */
    uint32_t burst_delay_ms;    /**< hold this long before repeating, ms (default 600) */
    uint32_t burst_interval_ms; /**< repeat period while held, ms (default 250) */
    uint32_t sd_retry_ms;       /**< retry period for a missing card, ms (default 2000) */
    uint32_t sensor_retry_ms;   /**< retry period for an absent sensor, ms (default 1000) */
    th_mode_t start_mode;       /**< mode after boot (default COLLECT) */
    uint8_t refresh_code;       /**< MLX90640 refresh-rate code at boot, 0x00..0x07 (default 0x04 = 8 Hz per subpage) */
    uint32_t capture_timeout_ms; /**< a queued capture waits this long for the next frame, ms; 0 (default) =
                                      two full-frame periods of the current refresh rate + 1000 ms */
} th_app_config_t;

typedef struct {
    uint32_t now_ms;     /**< ms since boot (millis(); wraps after 49.7 days, handled) */
    uint8_t keys;        /**< TH_KEY_* bits, raw */
    uint8_t sd_ok;       /**< 1 if the card is mounted */
    uint8_t sensor_ok;   /**< 1 if the sensor answers */
    uint8_t frame_ready; /**< 1 if a new complete frame was read since the previous step */
} th_app_input_t;

typedef struct {
    uint8_t capture;            /**< save the latest frame under capture_label */
    int8_t capture_key;         /**< 0..2 = key A..C, -1 = host command */
    uint8_t capture_refused;    /**< a queued capture was dropped (no card / no frame): report failure */
    char capture_label[TH_LABEL_MAX + 1]; /**< label of capture or capture_refused */
    uint8_t render;             /**< draw the latest frame */
    uint8_t infer;              /**< run the classifier on the latest frame */
    uint8_t stream_frame;       /**< send the latest frame (and prediction) over the serial link */
    uint8_t retry_sd;           /**< call SD.begin() again, then th_store_rescan() */
    uint8_t rescan;             /**< labels changed: th_store_rescan() (card present) */
    uint8_t retry_sensor;       /**< try to (re)initialise the sensor */
    uint8_t set_refresh;        /**< apply refresh_code to the sensor */
    uint8_t refresh_code;       /**< MLX90640 refresh-rate code 0x00..0x07 */
    uint8_t redraw_status;      /**< the status text changed */
    uint8_t mode_changed;       /**< the mode changed: redraw the layout */
} th_app_actions_t;

typedef struct {
    uint8_t raw, stable;        /* debounce */
    uint32_t t_change;
    uint32_t next_burst_ms;     /* hold-to-burst */
} th_key_state_t;

/** The whole application state (plain data; keep one instance, e.g. a global). */
typedef struct th_app {
    th_app_config_t cfg;
    th_mode_t mode;
    th_store_t store;           /**< labels, per-label counters, session id */
    th_key_state_t keys[TH_NUM_INPUT_KEYS];
    uint8_t sd_ok, sensor_ok, model_ok, started;
    uint32_t last_sd_retry_ms, last_sensor_retry_ms;
    uint32_t last_now_ms;       /**< now_ms of the latest th_app_step (time of host commands) */
    uint32_t frame_seq;         /**< frames seen */
    uint32_t pending_after_seq; /**< the queued capture takes the first frame with frame_seq > this (the NEXT frame) */
    uint32_t pending_since_ms;  /**< when the capture was queued (timeout) */
    uint32_t captured_seq;      /**< frame_seq of the last capture (never two captures of one frame) */
    uint32_t captures_ok, captures_failed; /**< this boot */
    uint8_t pending;            /**< a capture is queued */
    uint8_t pending_burst;      /**< ... and it is a hold-to-burst repeat */
    int8_t pending_key;
    char pending_label[TH_LABEL_MAX + 1];
    uint8_t pending_refresh, refresh_code, pending_rescan, status_dirty, mode_dirty;
    th_status_level_t status_level;
    char status[64];            /**< status line text */
} th_app_t;

/** Defaults listed in th_app_config_t. */
void th_app_default_config(th_app_config_t *cfg);

/** Initialise. cfg NULL = defaults. store: labels, counters (from the boot listing) and session. */
void th_app_init(th_app_t *app, const th_app_config_t *cfg, const th_store_t *store);

/** Advance the state machine by one loop iteration. Never fails; out is fully overwritten. */
void th_app_step(th_app_t *app, const th_app_input_t *in, th_app_actions_t *out);

/** Report the outcome of a capture action (res from th_store_save). Updates status/counters. */
void th_app_capture_done(th_app_t *app, const th_save_result_t *res, const char *label);

/** Tell the app whether a model is loaded (infer actions only when 1) . */
void th_app_set_model_ok(th_app_t *app, int ok);

/** Set the status line (e.g. device-side errors); level th_status_level_t. */
void th_app_set_status(th_app_t *app, th_status_level_t level, const char *text);

/** Mode name: "collect", "classify", "stream" ("?" if out of range). */
const char *th_app_mode_name(th_mode_t mode);

/** Subpage rate in Hz of an MLX90640 refresh-rate code 0x00..0x07 (0.5 * 2^code); 0 if invalid.
 *  A full frame (two subpages) arrives at half this rate. MLX90640 datasheet, control register 0x800D bits 7..9. */
float th_refresh_hz(int code);

/* ---- host-command API (serial link, stream mode) ---- */

/** Switch mode (0 collect, 1 classify, 2 stream). TH_APP_EINVAL if out of range. */
int th_app_cmd_set_mode(th_app_t *app, int mode);

/** Queue a capture of the NEXT frame (the first one read after this call, PROTOCOL.md CAPTURE)
 *  under `label` (valid label, any mode). The result comes back through the capture action ->
 *  th_app_capture_done, or a capture_refused action (no card, no sensor, or no new frame within
 *  capture_timeout_ms). TH_APP_EBUSY if one is queued. */
int th_app_cmd_capture(th_app_t *app, const char *label);

/** Replace the labels of keys A, B, C (all three valid, else nothing changes: TH_APP_EINVAL).
 *  Counters of changed labels are re-found from the card (rescan action). Not saved to labels.txt. */
int th_app_cmd_set_labels(th_app_t *app, const char *a, const char *b, const char *c);

/** Set the MLX90640 refresh-rate code 0x00..0x07 (0.5..64 Hz per subpage). TH_APP_EINVAL otherwise. */
int th_app_cmd_set_refresh(th_app_t *app, int code);

/** Short English text of a th_app_err_t. */
const char *th_app_err_str(int err);

#ifdef __cplusplus
}
#endif
#endif
