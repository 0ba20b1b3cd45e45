/* The simulated device's th_port_t (tinyheat_core/th_port.h): host stand-ins for the Wio
 * Terminal's hardware, each with fault injection, so the one device loop (th_device.h) runs
 * unchanged in the simulator (sim_main.c) and in the host tests (firmware/test/host).
 *
 *   clock   : real (CLOCK_MONOTONIC since start + 1000 ms) or simulated (sim_clock = 1: millis
 *             returns now_ms, which the test advances);
 *   sensor  : MLX90640 model: subpages at the refresh rate (0.5 * 2^code Hz), a full frame every
 *             second subpage, frames from sim_frames (file or synthetic); subpages not read within
 *             their period are overwritten (counted as dropped); faults: present = 0 (unplugged:
 *             begin fails, polls fail), nack_polls = N (the next N polls fail: NACK mid-frame);
 *             every failed transaction counts as an I2C error; EEPROM image: synthetic, 832 words
 *             with device ID words 0x2407..0x2409 = eeprom_id (not a real calibration);
 *   card    : th_fs_posix.h (missing card, full card, failed writes, pulled mid-write);
 *   JPEG    : host libjpeg (sim_jpeg.h);
 *   model   : sim_tflm.h (real TFLM in a helper process), or none;
 *   keys    : `keys` bits, set by the test;
 *   link    : a pseudo-terminal (sim_pty.h) or, with pty = NULL, in-memory buffers (tests:
 *             host_to_dev is read by the device, dev_to_host collects what it sent;
 *             tx_cap limits the bytes the transport holds, like a host that does not read);
 *             "host has the port open" (USB DTR) = the pty's slave side is open, or host_open. */
#ifndef SIM_PORT_H
#define SIM_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "sim_frames.h"
#include "sim_pty.h"
#include "sim_tflm.h"
#include "th_fs_posix.h"
#include "th_port.h"

#define SIM_MEM_LINK_BYTES (1u << 20)

typedef struct {
    /* clock */
    int sim_clock;
    uint32_t now_ms;
    double t0_s;
    uint32_t last_ms;         /* millis at the previous sensor call */
    double t_ms;              /* sensor time: millis unwrapped (the model runs across the wrap) */
    /* sensor */
    sim_frames_t *frames;
    int present;
    int nack_polls;
    uint8_t rate_code;
    int begun;
    double next_subpage_ms;   /* when the next subpage is in the sensor's RAM */
    uint32_t produced;        /* subpages produced since begin */
    int have_sub0;            /* subpage 0 of the current frame was read */
    float frame[768];
    uint32_t i2c_errors, dropped_subpages, begins;
    uint16_t eeprom[832];
    uint16_t eeprom_id[3];
    float ta_degc;
    /* card */
    th_fs_posix_t fs;
    th_fs_ops_t fs_ops;
    int card_detect; /* 1 = a card sits in the slot (fs.no_card mirrors it at mount) */
    int mounted;
    /* JPEG, model */
    sim_tflm_t *tflm;
    float uncertain_below;
    /* keys */
    uint8_t keys;
    /* link */
    sim_pty_t *pty;
    uint8_t *host_to_dev; size_t h2d_len, h2d_pos;
    uint8_t *dev_to_host; size_t d2h_len, tx_cap; /* tx_cap 0 = SIM_MEM_LINK_BYTES */
    unsigned long tx_dropped_frames;
    int host_open;            /* in-memory link: 1 = a host has the port open (DTR), default 1 */
    int bus_stuck;            /* fault: 1 SDA / 2 SCL held low (bus clear fails until cleared) */
    unsigned long bus_clears; /* sensor_begin calls that found the bus held */
    long tx_cut_after;
    long usb_bps;             /* fault: > 0 = the host takes at most this many bytes/s (slow USB) */
    double usb_tokens;        /* bytes it would take now */
    uint32_t usb_last_ms;        /* fault: > 0 = the next longer write takes only this many bytes (USB timeout) */
} sim_port_t;

/** Initialise s and fill port. card_dir NULL = no card slot content; frames must be loaded;
 *  pty NULL = in-memory link (buffers malloc'ed, freed by sim_port_free). */
void sim_port_init(sim_port_t *s, th_port_t *port, sim_frames_t *frames, const char *card_dir, sim_pty_t *pty);
void sim_port_free(sim_port_t *s);
/** In-memory link: queue host bytes for the device. */
void sim_port_host_send(sim_port_t *s, const uint8_t *data, size_t n);
/** Card detect: remove (0) or insert (1) the card. */
void sim_port_set_card(sim_port_t *s, int inserted);
/** ms until the next subpage is due (for the loop's sleep). */
uint32_t sim_port_ms_to_subpage(const sim_port_t *s);

#endif
