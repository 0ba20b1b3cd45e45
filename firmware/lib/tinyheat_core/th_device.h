/**
 * @file th_device.h
 * The ONE device loop of tinyheat: boot (th_device_init) and one loop pass (th_device_step)
 * that read the inputs through the porting interface (th_port.h), run the application state
 * machine (th_app.h) and execute its actions: sensor (re)initialisation and polling, capture
 * (greyscale mapping, JPEG, never-overwrite storage), rendering, classification, the serial
 * link (tinyheat_link/PROTOCOL.md), status and statistics. The Wio Terminal's main.cpp and the
 * simulated device (firmware/host/sim_main.c) both call these two functions and nothing else
 * of the loop.
 *
 * Healing (issue 9 item 3), all in this file so the simulator tests exactly what the board runs:
 *  - I2C bus held low (sensor_begin reports it after its bus clear): status line, LCD and an
 *    error LOG name the stuck line, retried every sensor_retry_ms until it heals;
 *  - sensor: TH_DEVICE_MAX_SENSOR_ERRORS consecutive failed polls -> re-initialise at once
 *    (sensor_begin); if that fails the sensor is "absent" and re-initialised every
 *    sensor_retry_ms (th_app) until it answers again (unplugged and re-plugged: resumes, no reset);
 *  - SD card: a removal is seen by storage_present; remounted every sd_retry_ms; on mount the
 *    counters are rescanned, the session id is taken if the boot had no card, and the EEPROM
 *    backup is written if missing; a failing card (an operation over TH_DEVICE_CARD_SLOW_MS, or
 *    TH_DEVICE_CARD_PASS_MS of card time in one pass) is unmounted at once and remounted with
 *    back-off (2, 4, ... 32 s), so card work per pass is bounded and the screen stays live;
 *  - serial link: host commands are read only while the transport has room for their replies
 *    (flow control), so a command burst is never answered with silently lost replies.
 * Memory is static (one th_device_t, ~12 KB incl. the link's 4.9 KB); no malloc anywhere.
 */
#ifndef TH_DEVICE_H
#define TH_DEVICE_H

#include <stdint.h>

#include "th_app.h"
#include "th_classify.h"
#include "th_link_app.h"
#include "th_link_device.h"
#include "th_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Consecutive failed frame reads before the sensor is re-initialised. */
#define TH_DEVICE_MAX_SENSOR_ERRORS 3
/** Statistics period: frames/s window, stats line on screen, LOG message in stream mode, ms. */
#define TH_DEVICE_STATS_MS 5000u
/** Host bytes taken from the transport per read (the rest waits in the transport: flow control). */
#define TH_DEVICE_RX_CHUNK 64
/** Room a reply may need: HELLO + two EEPROM messages (GET_EEPROM), bytes on the wire. */
#define TH_DEVICE_REPLY_ROOM (3u * TH_LINK_MAX_WIRE)
/** A card operation slower than this marks the card as failing, ms: the rest of the pass skips
 *  the card (operations fail at once), the card is unmounted and remounted with back-off, so a
 *  dying card costs at most one slow operation per mount attempt and the screen stays live. */
#define TH_DEVICE_CARD_SLOW_MS 250u
/** Card time allowed in one loop pass, ms (the capture's remaining files are not attempted). */
#define TH_DEVICE_CARD_PASS_MS 400u
/** Longest remount period after repeated card failures, ms (2 s doubling up to this). */
#define TH_DEVICE_CARD_BACKOFF_MAX_MS 32000u
/** JPEG output buffer, bytes. */
#define TH_DEVICE_JPEG_BYTES 4096
/** EEPROM backup file on the card: "mlx90640_ee_<ID>.bin", ID = 12 hex digits of EEPROM words
 *  0x2407..0x2409 (the sensor's device ID); 1664 bytes, the 832 words little-endian. */
#define TH_EEPROM_FILE_PREFIX "mlx90640_ee_"

typedef struct {
    const char *fw_version;          /**< HELLO fw_version, e.g. "0.1.0" */
    float emissivity;                /**< HELLO emissivity */
    int n_model;                     /**< model output labels (0 = no model) */
    const char *const *model_labels; /**< n_model labels */
    const char *model_id;            /**< HELLO identity: "<name> crc32:<hex>" of the model (th_device_model_id), or NULL */
    uint8_t rows, cols;              /**< sensor frame geometry for HELLO (default 24 x 32) */
    th_app_config_t app;             /**< state machine configuration (th_app_default_config) */
} th_device_config_t;

/** Run statistics (all since boot unless noted). */
typedef struct {
    uint32_t frames;           /**< full frames read */
    uint32_t sensor_errors;    /**< failed polls (TH_SENSOR_ERROR) */
    uint32_t sensor_reinits;   /**< successful re-initialisations after the first */
    uint32_t sd_mounts;        /**< successful card mounts */
    uint32_t captures_ok, captures_failed;
    uint32_t inferences;
    uint32_t last_invoke_us;   /**< time of the model alone in the last inference, us */
    uint16_t fps_x100;         /**< full frames/s x 100 over the last TH_DEVICE_STATS_MS */
    uint32_t eeprom_backups;   /**< EEPROM backup files written */
    uint32_t debug_logs_dropped; /**< th_debug_log lines lost because one was still queued */
    uint32_t connections;      /**< host connections (port opened) since boot, incl. one at boot */
    uint32_t tx_cut;           /**< messages the transport cut (partial write): followed by a 0x00 */
    uint32_t bus_stuck;        /**< times the I2C bus was found held low (sensor_begin) */
    uint32_t card_slow;        /**< card operations over TH_DEVICE_CARD_SLOW_MS (card marked failing) */
    uint32_t card_skipped;     /**< card operations not attempted because the card was failing or the pass budget spent */
    uint32_t longest_card_ms;  /**< the slowest card operation or mount seen, ms */
} th_device_stats_t;

typedef struct th_device {
    const th_port_t *port;
    th_device_config_t cfg;
    th_app_t app;
    th_link_device_t link;
    th_link_app_ctx_t link_ctx;
    float temps[768];          /**< latest complete frame, degC (rows x cols used) */
    float model_in[768];       /**< a 16 x 12 frame repeated 2 x 2 for the model */
    float ta_degc;             /**< its ambient temperature */
    uint32_t frame_ms;         /**< when it was read */
    uint8_t sensor_ok, sd_ok, host_open, eeprom_on_card;
    uint8_t sensor_err_run;    /**< consecutive failed polls */
    uint8_t rx[TH_DEVICE_RX_CHUNK];
    uint16_t rx_len, rx_pos;   /**< host bytes taken from the transport, not yet decoded */
    uint8_t jpeg[TH_DEVICE_JPEG_BYTES];
    uint32_t stats_t0, stats_frames0;
    char debug_log[TH_LINK_MAX_LOG_TEXT + 1]; /**< one queued th_debug_log line ("" none) */
    char pending_log[96];      /**< one info LOG waiting for a host (EEPROM backup), "" none */
    uint8_t pending_log_level;
    uint8_t tx_resync;
    uint8_t bus_stuck;         /**< 0 bus fine, 1 SDA held low, 2 SCL held low (last sensor_begin) */
    uint8_t bus_changed;
    th_fs_ops_t fs_guard;      /**< port->fs behind the time guard (what th_store uses) */
    uint8_t card_failing;      /**< a slow or failed card operation in this pass */
    uint32_t card_pass_ms;     /**< card time spent in this pass */
    uint8_t card_fail_run;     /**< consecutive failing mounts/passes (back-off exponent) */
    uint32_t card_retry_at;    /**< no remount before this millis while card_fail_run > 0 */
    uint8_t card_msg;          /**< "SD card not responding" to show */         /**< a message was cut: the next one starts with a 0x00 delimiter */
    th_device_stats_t stats;
} th_device_t;

/** 1 for a 32 x 24 sensor (MLX90640); 0 for 16 x 12 (MLX90641): frames are streamed (192
 *  values) and shown, captures are refused (samples are 32 x 24), and the model gets the frame
 *  with each pixel repeated 2 x 2 (th_device_repeat2). */
int th_device_is_32x24(const th_device_t *d);

/** 12 x 16 -> 24 x 32 by repeating each pixel 2 x 2: numpy `a.repeat(2, 0).repeat(2, 1)`, the
 *  mapping the laptop trains 16 x 12 recordings with (tinyheat.workflow.realsets.den16x12). */
void th_device_repeat2(const float in[192], float out[768]);

/** Defaults: fw "0.1.0", emissivity 0.95, no model, 24 x 32, th_app_default_config. */
void th_device_default_config(th_device_config_t *cfg);

/** Boot: mount the card, session id (0 without a card), labels.txt, sample counters, sensor,
 *  EEPROM backup, state machine; then, if a host has the port open (or the port cannot tell),
 *  the unsolicited HELLO with seq 0 as the first message (PROTOCOL.md section 1). A host that
 *  opens the port later gets its own HELLO 0xFF, seq 0, from th_device_step. port must outlive dev. */
void th_device_init(th_device_t *dev, const th_port_t *port, const th_device_config_t *cfg);

/** One loop pass: inputs -> th_app_step -> actions. Never blocks except inside port calls. */
void th_device_step(th_device_t *dev);

/** The model identity HELLO carries: "<name> crc32:<8 hex digits>" (CRC-32 = zlib.crc32 of the
 *  .tflite bytes, PROTOCOL.md HELLO) into buf (>= TH_LINK_MODEL_ID_CAP bytes). */
void th_device_model_id(const char *name, const unsigned char *tflite, unsigned int len, char *buf, size_t cap);

/**
 * Whole messages or nothing (PROTOCOL.md section 3): write one encoded wire frame through
 * port->link_write. If port->link_tx_room reports less room than the frame needs, nothing is
 * written (the frame is dropped whole). If the transport takes only part of it (a USB transmit
 * timeout mid-frame), the frame counts as lost (stats.tx_cut) and the next frame is preceded by
 * a 0x00 delimiter, so the receiver loses only the cut frame (one COBS/CRC error), never the next.
 * @return n if the whole frame was written, else 0 (the link counts it in tx_dropped).
 */
size_t th_device_tx_whole(th_device_t *d, const uint8_t *frame, size_t n);

/** "stats: 3.98 frames/s, 0 dropped subpages, 0 I2C errors, ..." into buf. */
void th_device_stats_text(const th_device_t *dev, char *buf, size_t cap);

/** Name of the EEPROM backup file of an image into buf (>= 32 bytes). */
void th_device_eeprom_name(const uint16_t ee[TH_EEPROM_WORDS], char *buf, size_t cap);

/**
 * Debug text hook (C linkage) for libraries that print diagnostics, e.g. TFLM's DebugLog in
 * firmware/src/classifier_tflm.cpp: the text is never written raw onto the serial link; it is
 * queued (pieces are appended to one pending line of at most 240 bytes, line ends stripped;
 * text beyond that is counted in stats.debug_logs_dropped) and sent as one LOG message
 * (level 0 = debug) by the next th_device_step of the running device.
 */
void th_debug_log(const char *text);

#ifdef __cplusplus
}
#endif
#endif /* TH_DEVICE_H */
