/* tinyheat simulated device: the firmware's portable core (tinyheat_core: app state machine,
 * sample storage, greyscale/PGM encoding) and the serial-link library (tinyheat_link) on the
 * host, with host adapters instead of the Wio Terminal's hardware:
 *   USB CDC Serial -> a pseudo-terminal (its path is printed on stdout as "pty /dev/pts/N");
 *   MLX90640       -> frames replayed from a CSV / .npy file (sim_frames.h), paced in real time
 *                     at the refresh rate (a full frame = two subpages);
 *   SD card        -> a directory (sim_fs.h), JPEG via host libjpeg (sim_jpeg.h);
 *   TFLM model     -> a stand-in rule (max temperature > 30 degC = "person"), clearly not the
 *                     trained model, so the host tools' prediction display can be exercised.
 * The loop mirrors what main.cpp does with th_app_step() actions.
 *
 * Usage: tinyheat_sim [--frames CSV|NPY] [--sd DIR] [--rate-code 0..7] [--mode collect|classify|stream]
 *                     [--max-seconds S]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_frames.h"
#include "sim_fs.h"
#include "sim_jpeg.h"
#include "sim_pty.h"
#include "th_app.h"
#include "th_frame.h"
#include "th_labels.h"
#include "th_link_app.h"
#include "th_link_device.h"
#include "th_store.h"

#define SIM_FW_VERSION "sim-0.1.0"
#define SIM_TA_DEGC 25.0f
#define SIM_EMISSIVITY 0.95f /* Melexis driver default */

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double frame_period_ms(int code)
{
    float hz = th_refresh_hz(code);
    return hz > 0 ? 2000.0 / hz : 250.0;
}

static void stand_in_prediction(const float *t, int *label, float *conf)
{
    float mx = -1e9f;
    for (int i = 0; i < 768; i++)
        if (!th_pixel_invalid(t[i]) && t[i] > mx) mx = t[i];
    float p = 1.0f / (1.0f + expf(-(mx - 30.0f)));
    *label = p >= 0.5f ? 1 : 0;
    *conf = p >= 0.5f ? p : 1.0f - p;
}

int main(int argc, char **argv)
{
    const char *frames_path = NULL, *sd = NULL;
    int rate_code = 4, mode = TH_MODE_COLLECT;
    double max_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--frames") && v) frames_path = argv[++i];
        else if (!strcmp(a, "--sd") && v) sd = argv[++i];
        else if (!strcmp(a, "--rate-code") && v) rate_code = atoi(argv[++i]);
        else if (!strcmp(a, "--max-seconds") && v) max_s = atof(argv[++i]);
        else if (!strcmp(a, "--mode") && v) {
            v = argv[++i];
            mode = !strcmp(v, "stream") ? TH_MODE_STREAM : !strcmp(v, "classify") ? TH_MODE_CLASSIFY : TH_MODE_COLLECT;
        } else {
            fprintf(stderr, "usage: %s [--frames CSV|NPY] [--sd DIR] [--rate-code 0..7] "
                            "[--mode collect|classify|stream] [--max-seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (rate_code < 0 || rate_code > 7) {
        fprintf(stderr, "--rate-code must be 0..7\n");
        return 2;
    }

    static sim_frames_t src;
    if (sim_frames_load(&src, frames_path) != 0)
        return 1;

    /* SD card: session id, labels, counters */
    static sim_fs_t fs;
    th_fs_ops_t ops;
    sim_fs_init(&fs, sd, &ops);
    char text[1024];
    long n = sd ? sim_fs_read(&fs, "session.txt", text, sizeof text) : -1;
    uint32_t session = th_session_next(n > 0 ? text : NULL, n > 0 ? (size_t)n : 0);
    char hex[9];
    th_session_format(session, hex);
    if (sd) {
        char line[16];
        snprintf(line, sizeof line, "%s\n", hex);
        sim_fs_replace(&fs, "session.txt", line);
    }
    th_labels_t labels;
    char lstatus[96] = "";
    n = sd ? sim_fs_read(&fs, "labels.txt", text, sizeof text) : -1;
    if (n >= 0) th_labels_parse(text, (size_t)n, &labels, lstatus, sizeof lstatus);
    else th_labels_default(&labels);
    static th_store_t store;
    th_store_init(&store, &labels, session);
    if (sd) th_store_rescan(&store, &ops);

    static th_app_t app;
    th_app_config_t cfg;
    th_app_default_config(&cfg);
    cfg.start_mode = (th_mode_t)mode;
    cfg.refresh_code = (uint8_t)rate_code;
    th_app_init(&app, &cfg, &store);
    th_app_set_model_ok(&app, 1);

    static sim_pty_t pty;
    if (sim_pty_open(&pty) != 0) {
        perror("pseudo-terminal");
        return 1;
    }
    static const char *const model_labels[] = {"empty", "person"};
    static th_link_app_ctx_t ctx;
    ctx.app = &app;
    ctx.fw_version = SIM_FW_VERSION;
    ctx.emissivity = SIM_EMISSIVITY;
    ctx.n_model = 2;
    ctx.model_labels = model_labels;
    static th_link_device_t dev;
    th_link_device_init(&dev, sim_pty_write, &pty, th_link_app_commands(), &ctx);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("pty %s\n", pty.path);
    printf("session %s, SD %s, frames %s, mode %s, rate code %d\n", hex, sd ? sd : "(none)",
           frames_path ? frames_path : "(synthetic)", th_app_mode_name(app.mode), rate_code);
    fflush(stdout);
    th_link_device_send_hello(&dev, TH_LINK_ST_UNSOLICITED, 0);

    static float temps[768];
    static uint8_t grey[768], jpg[4096], rx[4096];
    double t0 = now_s(), period = frame_period_ms(rate_code), next_frame = 0;
    unsigned long frames = 0, captures = 0;
    int have_frame = 0, pred_label = -1;
    float pred_conf = 0;
    while (!g_stop) {
        double now_ms = (now_s() - t0) * 1000.0;
        if (max_s > 0 && now_ms > max_s * 1000.0) break;
        uint32_t t_ms = 1000u + (uint32_t)now_ms; /* "millis()" of a device that booted 1 s ago */
        th_app_input_t in = {t_ms, 0, (uint8_t)(sd != NULL), 1, 0};
        if (now_ms >= next_frame) {
            sim_frames_next(&src, temps);
            have_frame = 1;
            in.frame_ready = 1;
            frames++;
            next_frame += period;
            if (next_frame < now_ms) next_frame = now_ms + period; /* fell behind: no burst */
        }
        size_t got;
        while ((got = sim_pty_read(&pty, rx, sizeof rx)) > 0) {
            ctx.app = &app;
            th_link_device_rx(&dev, rx, got);
        }
        th_app_actions_t act;
        th_app_step(&app, &in, &act);

        if (act.set_refresh) {
            period = frame_period_ms(act.refresh_code);
            next_frame = now_ms + period;
        }
        if (act.rescan) th_store_rescan(&app.store, &ops);
        if (act.infer && have_frame) stand_in_prediction(temps, &pred_label, &pred_conf);
        if (act.stream_frame) {
            th_link_device_send_frame(&dev, t_ms, SIM_TA_DEGC, temps);
            if (act.infer) th_link_device_send_prediction(&dev, t_ms, pred_label, pred_conf, 1000);
        }
        if (act.capture && have_frame) {
            th_save_result_t res;
            memset(&res, 0, sizeof res);
            th_frame_to_grey(temps, TH_WINDOW_LO_DEGC, TH_WINDOW_HI_DEGC, grey);
            size_t jl = sim_jpeg_grey(grey, jpg, sizeof jpg, 95);
            if (jl == 0) res.result = TH_FS_IO;
            else th_store_save(&app.store, &ops, act.capture_key, act.capture_label, jpg, jl, temps, t_ms,
                               SIM_TA_DEGC, &res);
            th_app_capture_done(&app, &res, act.capture_label);
            th_link_device_send_capture(&dev, act.capture_label, res.result == TH_FS_OK ? (int)res.index : -1,
                                        res.result == TH_FS_OK);
            captures += res.result == TH_FS_OK;
        }
        if (act.capture_refused)
            th_link_device_send_capture(&dev, act.capture_label, -1, 0);
        if (act.redraw_status) {
            th_link_device_send_log(&dev, app.status_level == TH_STATUS_ERROR ? 3 : app.status_level == TH_STATUS_WARN ? 2 : 1,
                                    app.status);
            fprintf(stderr, "[%8.3f s] %s\n", now_ms / 1000.0, app.status);
        }
        sim_pty_flush(&pty);

        double wait = next_frame - (now_s() - t0) * 1000.0;
        struct pollfd pfd = {pty.master, POLLIN, 0};
        poll(&pfd, 1, wait <= 0 ? 0 : wait > 20 ? 20 : (int)wait + 1);
    }
    fprintf(stderr, "sim: %lu frames read, %lu captures, %lu messages dropped (host not reading), "
                    "rx ok %lu crc %lu cobs %lu oversize %lu short %lu, commands %lu\n",
            frames, captures, (unsigned long)dev.tx_dropped, (unsigned long)dev.rx.stats.ok,
            (unsigned long)dev.rx.stats.crc_errors, (unsigned long)dev.rx.stats.cobs_errors,
            (unsigned long)dev.rx.stats.oversize, (unsigned long)dev.rx.stats.short_frames,
            (unsigned long)dev.commands);
    sim_pty_close(&pty);
    sim_frames_free(&src);
    return 0;
}
