/* tinyheat simulated device: the firmware's one device loop (tinyheat_core/th_device.h: the
 * same th_device_init / th_device_step the Wio Terminal's main.cpp calls) on the host, through
 * sim_port.h instead of the board's hardware:
 *   USB CDC Serial -> a pseudo-terminal (its path is printed on stdout as "pty /dev/pts/N");
 *   MLX90640       -> frames replayed from a CSV / .npy file (sim_frames.h) at the refresh rate;
 *   SD card        -> a directory (th_fs_posix.h), JPEG via host libjpeg;
 *   TFLM model     -> the exported model (firmware/lib/tinyheat_model, linked in as on the board)
 *                     in the real TFLM interpreter of a helper process (sim_tflm.h), with the
 *                     core's pre/post-processing; without --tflm-helper there is no model.
 *
 * Usage: tinyheat_sim --version   (firmware version, sensor, the compiled-in model's name and CRC-32)
 *        tinyheat_sim [--sensor mlx90640|mlx90641] [--frames CSV|NPY] [--sd DIR] [--rate-code 0..7] [--mode collect|classify|stream]
 *                     [--max-seconds S] [--tflm-helper "CMD"] [--faults FIFO|SCRIPT]
 *   --faults: fault lines (sim_faults.h: sensor NACK, unplug/plug, stuck bus, card pull/full/slow,
 *             USB cut/slow) read at run time from a FIFO, or a script with "@SECONDS" times
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_params.h"
#include "sim_faults.h"
#include "sim_frames.h"
#include "sim_port.h"
#include "sim_pty.h"
#include "sim_tflm.h"
#include "th_device.h"
#include "tinyheat_config.h"
#include "tinyheat_model.h"

#define SIM_FW_VERSION "sim-" TINYHEAT_VERSION /* the package version, passed in by host/Makefile */
#ifndef TH_MODEL_NAME
#define TH_MODEL_NAME "tinyheat_model" /* the Makefile passes the exported run's name */
#endif

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

int main(int argc, char **argv)
{
    const char *frames_path = NULL, *sd = NULL, *helper = NULL, *faults_path = NULL;
    int rate_code = TH_MLX_DEFAULT_REFRESH, mode = TH_MODE_COLLECT, rows = 24, cols = 32;
    double max_s = 0;
    static char model_id[TH_LINK_MODEL_ID_CAP];
    th_device_model_id(TH_MODEL_NAME, th_model_tflite, th_model_tflite_len, model_id, sizeof model_id);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--version")) {
            printf("tinyheat_sim %s, MLX90640 32x24 or MLX90641 16x12 (--sensor), model %s (%u bytes, %d labels)\n",
                   SIM_FW_VERSION, model_id, th_model_tflite_len, model_params()->num_labels);
            return 0;
        }
        if (!strcmp(a, "--sensor") && v) {
            v = argv[++i];
            if (!strcmp(v, "mlx90641")) rows = 12, cols = 16;
            else if (strcmp(v, "mlx90640") != 0) {
                fprintf(stderr, "--sensor must be mlx90640 or mlx90641\n");
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "--frames") && v) frames_path = argv[++i];
        else if (!strcmp(a, "--sd") && v) sd = argv[++i];
        else if (!strcmp(a, "--rate-code") && v) rate_code = atoi(argv[++i]);
        else if (!strcmp(a, "--max-seconds") && v) max_s = atof(argv[++i]);
        else if (!strcmp(a, "--tflm-helper") && v) helper = argv[++i];
        else if (!strcmp(a, "--faults") && v) faults_path = argv[++i];
        else if (!strcmp(a, "--mode") && v) {
            v = argv[++i];
            mode = !strcmp(v, "stream") ? TH_MODE_STREAM : !strcmp(v, "classify") ? TH_MODE_CLASSIFY : TH_MODE_COLLECT;
        } else {
            fprintf(stderr, "usage: %s [--frames CSV|NPY] [--sd DIR] [--rate-code 0..7] "
                            "[--mode collect|classify|stream] [--max-seconds S] [--tflm-helper CMD] [--faults FIFO|SCRIPT]\n", argv[0]);
            return 2;
        }
    }
    if (rate_code < 0 || rate_code > 7) {
        fprintf(stderr, "--rate-code must be 0..7\n");
        return 2;
    }
    static sim_frames_t src;
    if (sim_frames_load_n(&src, frames_path, rows, cols) != 0) return 1;
    /* 16x12: the model gets each frame repeated 2 x 2 (th_device_repeat2), as the laptop trains */

    static sim_tflm_t tflm;
    int have_model = 0;
    if (helper) {
        if (sim_tflm_start(&tflm, helper, th_model_tflite, th_model_tflite_len, model_params(), TH_SMOOTH_FRAMES) != 0) {
            fprintf(stderr, "sim: %s\n", tflm.error);
            return 1;
        }
        have_model = 1;
    }

    static sim_faults_t faults = {.fd = -1, .keep_fd = -1};
    if (faults_path && sim_faults_open(&faults, faults_path) != 0) {
        perror(faults_path);
        return 1;
    }
    static sim_pty_t pty;
    if (sim_pty_open(&pty) != 0) {
        perror("pseudo-terminal");
        return 1;
    }
    static sim_port_t sp;
    static th_port_t port;
    sim_port_init(&sp, &port, &src, sd, &pty);
    sp.rate_code = (uint8_t)rate_code;
    sp.tflm = have_model ? &tflm : NULL;
    sp.uncertain_below = TH_UNCERTAIN_BELOW;

    static th_device_t dev;
    th_device_config_t cfg;
    th_device_default_config(&cfg);
    cfg.fw_version = SIM_FW_VERSION;
    cfg.emissivity = TH_MLX_EMISSIVITY;
    cfg.n_model = have_model ? model_params()->num_labels : 0;
    cfg.model_labels = model_params()->labels;
    cfg.model_id = have_model ? model_id : "";
    cfg.app.start_mode = (th_mode_t)mode;
    cfg.app.refresh_code = (uint8_t)rate_code;
    cfg.rows = (uint8_t)rows;
    cfg.cols = (uint8_t)cols;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    pid_t parent = getppid(); /* a parent that dies without stopping us (SIGKILL): we stop too */
    signal(SIGPIPE, SIG_IGN);
    printf("pty %s\n", pty.path);
    fflush(stdout);
    th_device_init(&dev, &port, &cfg);
    char hex[9];
    th_session_format(dev.app.store.session, hex);
    printf("session %s, %s, SD %s, frames %s, mode %s, rate code %d, model %s\n", hex,
           rows == 24 ? "MLX90640 32x24" : "MLX90641 16x12", sd ? sd : "(none)",
           frames_path ? frames_path : "(synthetic)", th_app_mode_name(dev.app.mode), rate_code,
           have_model ? model_id : "(none)");
    fflush(stdout);

    double t_end = max_s > 0 ? max_s * 1000.0 + 1000.0 : 0;
    uint32_t t_start = port.millis(&sp);
    while (!g_stop && getppid() == parent) {
        sim_faults_poll(&faults, &sp, (double)(uint32_t)(port.millis(&sp) - t_start));
        th_device_step(&dev);
        sim_pty_flush(&pty);
        if (t_end > 0 && port.millis(&sp) > t_end) break;
        if (dev.app.status_dirty) continue;
        /* sleep until the next subpage or host bytes (or room to send, when replies wait) */
        int room = sizeof pty.tx - pty.tx_len >= TH_DEVICE_REPLY_ROOM;
        struct pollfd pfd = {pty.master, (short)(room ? POLLIN : POLLOUT), 0};
        uint32_t wait = sim_port_ms_to_subpage(&sp);
        if (dev.rx_pos < dev.rx_len && room) wait = 0;
        if (!pty.host_open) pfd.fd = -1; /* no host: the master only reports POLLHUP; just sleep */
        poll(&pfd, 1, wait > 20 ? 20 : (int)wait);
    }
    char stats[160];
    th_device_stats_text(&dev, stats, sizeof stats);
    fprintf(stderr, "sim: %lu frames, %lu captures, %lu inferences (last Invoke %lu us host time), %lu messages "
                    "dropped (host not reading), rx ok %lu crc %lu cobs %lu oversize %lu short %lu, commands %lu; %s\n",
            (unsigned long)dev.stats.frames, (unsigned long)dev.stats.captures_ok, (unsigned long)dev.stats.inferences,
            (unsigned long)dev.stats.last_invoke_us, (unsigned long)dev.link.tx_dropped,
            (unsigned long)dev.link.rx.stats.ok, (unsigned long)dev.link.rx.stats.crc_errors,
            (unsigned long)dev.link.rx.stats.cobs_errors, (unsigned long)dev.link.rx.stats.oversize,
            (unsigned long)dev.link.rx.stats.short_frames, (unsigned long)dev.link.commands, stats);
    sim_faults_close(&faults);
    if (have_model) sim_tflm_stop(&tflm);
    sim_pty_close(&pty);
    sim_frames_free(&src);
    return 0;
}
