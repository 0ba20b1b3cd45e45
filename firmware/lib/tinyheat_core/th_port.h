/**
 * @file th_port.h
 * The porting interface of the tinyheat device: everything the one device loop (th_device.h)
 * needs from a platform, as a table of function pointers (like the Edge Impulse SDK's
 * `porting/` layer or MicroPython's `mphalport.h`). Implementations:
 *  - the Wio Terminal: firmware/src/main.cpp (Arduino millis, keys, MLX90640 over I2C, SD card,
 *    JPEGENC, TFLM, TFT_eSPI, USB CDC Serial);
 *  - the simulated device: firmware/host/sim_port.c (POSIX clock or a simulated one, frames from
 *    a file with fault injection, a directory as the SD card with fault injection, libjpeg, the
 *    exported model in the real TFLM interpreter through a helper process, a pseudo-terminal).
 *
 * Rules for implementations: every function returns within a bounded time (no unbounded waits:
 * a missing sensor or card is an error return, never a hang); all are called from one thread
 * (the loop); `ctx` is passed back unchanged. A NULL display function is skipped.
 */
#ifndef TH_PORT_H
#define TH_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "th_app.h"
#include "th_classify.h"
#include "th_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** sensor_poll results. */
enum {
    TH_SENSOR_NONE = 0,  /**< nothing new (subpage not ready, or only the first subpage of a frame) */
    TH_SENSOR_FRAME = 1, /**< temps and Ta hold a new complete frame (both subpages) */
    TH_SENSOR_ERROR = -1 /**< a read failed (I2C NACK, timeout, bad frame data); temps untouched */
};

/** sensor_begin results besides 1 (ready) and 0 (absent or failed): the I2C bus is held low
 *  (the adapter ran the bus clear of th_i2c_bus.h and the line stayed low). */
enum {
    TH_SENSOR_BEGIN_SDA_STUCK = -1,
    TH_SENSOR_BEGIN_SCL_STUCK = -2
};

/** Words of the MLX90640 EEPROM image (addresses 0x2400..0x273F, datasheet 11.1). */
#define TH_EEPROM_WORDS 832

/** Sensor counters an adapter may know (UINT32_MAX = not known). */
typedef struct {
    uint32_t i2c_errors;       /**< failed I2C transactions since boot */
    uint32_t dropped_subpages; /**< subpages the sensor produced that were never read (overwritten) */
} th_sensor_counters_t;

typedef struct th_port {
    void *ctx;

    /* ---- clock ---- */
    /** ms since boot (wraps after 49.7 days; the core handles the wrap). */
    uint32_t (*millis)(void *ctx);

    /* ---- keys ---- */
    /** TH_KEY_* bits (th_app.h), raw (1 = held); NULL = no keys. */
    uint8_t (*read_keys)(void *ctx);

    /* ---- sensor (MLX90640) ---- */
    /** Clear the bus if a slave holds it (th_i2c_bus.h), probe, read the EEPROM and calibration,
     *  set the refresh code 0..7. Bounded time. Called again to re-initialise.
     *  @return 1 ready, 0 absent or failed, TH_SENSOR_BEGIN_SDA_STUCK / _SCL_STUCK bus held low. */
    int (*sensor_begin)(void *ctx, uint8_t refresh_code);
    /** Non-blocking poll. @return TH_SENSOR_FRAME (temps: 768 degC row-major, *ta_degc: Ta in degC),
     *  TH_SENSOR_NONE or TH_SENSOR_ERROR. */
    int (*sensor_poll)(void *ctx, float temps[768], float *ta_degc);
    /** Apply refresh code 0..7. @return 1 ok, 0 failed. */
    int (*sensor_set_refresh)(void *ctx, uint8_t code);
    /** The 832-word EEPROM image read by the last successful sensor_begin, or NULL if none. */
    const uint16_t *(*sensor_eeprom)(void *ctx);
    /** Fill counters; NULL or fields UINT32_MAX when the adapter does not count them. */
    void (*sensor_counters)(void *ctx, th_sensor_counters_t *out);

    /* ---- storage (SD card) ---- */
    /** (Re)mount the card. Bounded time. @return 1 mounted. */
    int (*storage_mount)(void *ctx);
    /** Cheap check each loop (card detect): 1 mounted and present, 0 not (unmount after a removal). */
    int (*storage_present)(void *ctx);
    /** Read a small file of the card root into buf (NUL-terminated). @return bytes, -1 missing/no card. */
    long (*storage_read)(void *ctx, const char *name, char *buf, size_t cap);
    /** Replace a file of our own (session.txt) with these bytes. @return th_fs_result_t. */
    int (*storage_replace)(void *ctx, const char *name, const uint8_t *data, size_t len);
    /** The card's file operations for the storage policy (th_store.h). */
    const th_fs_ops_t *fs;

    /* ---- JPEG ---- */
    /** 32x24 one-channel JPEG of grey (768 bytes) into out[cap]. @return bytes, 0 on error. */
    size_t (*jpeg_grey)(void *ctx, const uint8_t grey[768], uint8_t *out, size_t cap);

    /* ---- classifier ---- */
    /** th_preprocess -> the int8 model -> th_postprocess (th_classify.h) on 768 degC.
     *  @return 1 and *out, *invoke_us (time of the model alone, us); 0 no model / failed. */
    int (*classify)(void *ctx, const float temps[768], th_prediction_t *out, uint32_t *invoke_us);

    /* ---- display (all optional) ---- */
    void (*display_layout)(void *ctx, th_mode_t mode, const th_labels_t *labels);
    void (*display_frame)(void *ctx, const float temps[768], float ta_degc);
    void (*display_prediction)(void *ctx, const th_prediction_t *p, const char *label, uint32_t invoke_us);
    void (*display_status)(void *ctx, const char *text, int level);
    void (*display_message)(void *ctx, const char *line1, const char *line2);
    /** Run statistics every TH_DEVICE_STATS_MS: full frames/s x 100, dropped subpages and I2C
     *  errors since boot (UINT32_MAX = not known). */
    void (*display_stats)(void *ctx, uint16_t fps_x100, uint32_t dropped_subpages, uint32_t i2c_errors);

    /* ---- serial link (PROTOCOL.md) ---- */
    /** Non-blocking read of host bytes. @return bytes read (0 none). */
    size_t (*link_read)(void *ctx, uint8_t *buf, size_t cap);
    /** Write bytes of one wire frame. @return bytes the transport took: n, 0 (nothing went out),
     *  or a part (a timeout mid-frame; any other value != n counts as a part). The core sends
     *  whole messages or nothing over this (th_device_tx_whole: room check before, a 0x00
     *  delimiter after a cut frame). */
    size_t (*link_write)(void *ctx, const uint8_t *data, size_t n);
    /** Bytes link_write accepts now without waiting; NULL = unknown (always tried). A frame that
     *  does not fit is dropped whole before any byte goes out. The loop also reads host commands
     *  only while this leaves room for their replies (flow control, PROTOCOL.md 3). */
    size_t (*link_tx_room)(void *ctx);
    /** 1 while a host has the port open (DTR); NULL = always. An unsolicited HELLO goes out on open. */
    int (*link_host_open)(void *ctx);
} th_port_t;

#ifdef __cplusplus
}
#endif
#endif /* TH_PORT_H */
