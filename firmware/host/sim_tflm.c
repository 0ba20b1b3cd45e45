/* Bridge to the TFLM interpreter in a helper process. See sim_tflm.h. */
#define _POSIX_C_SOURCE 200809L
#include "sim_tflm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HELPER_TIMEOUT_MS 20000 /* model load: the helper imports tflite_micro first */
#define INVOKE_TIMEOUT_MS 2000

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n, int timeout_ms)
{
    uint8_t *p = buf;
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t got = read(fd, p, n);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int sim_tflm_start(sim_tflm_t *t, const char *cmd, const unsigned char *model, size_t len,
                   const th_model_params_t *params, int smooth_frames)
{
    int in[2], out[2];
    uint8_t hdr[8], n_out, n_ch = 0;
    memset(t, 0, sizeof *t);
    t->pid = t->to_helper = t->from_helper = -1;
    t->params = params;
    if (pipe(in) != 0 || pipe(out) != 0) {
        snprintf(t->error, sizeof t->error, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(t->error, sizeof t->error, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    t->pid = (int)pid;
    t->to_helper = in[1];
    t->from_helper = out[0];
    memcpy(hdr, "THM1", 4);
    hdr[4] = (uint8_t)len; hdr[5] = (uint8_t)(len >> 8); hdr[6] = (uint8_t)(len >> 16); hdr[7] = (uint8_t)(len >> 24);
    if (write_all(t->to_helper, hdr, 8) != 0 || write_all(t->to_helper, model, len) != 0 ||
        read_all(t->from_helper, hdr, 5, HELPER_TIMEOUT_MS) != 0) {
        snprintf(t->error, sizeof t->error, "TFLM helper did not start (%s)", cmd);
        sim_tflm_stop(t);
        return -1;
    }
    n_out = hdr[4];
    if (memcmp(hdr, "THOK", 4) == 0 && read_all(t->from_helper, &n_ch, 1, 1000) != 0) {
        snprintf(t->error, sizeof t->error, "TFLM helper: truncated reply");
        sim_tflm_stop(t);
        return -1;
    }
    if (memcmp(hdr, "THOK", 4) != 0) {
        char text[256] = "";
        if (read_all(t->from_helper, text, n_out, 1000) != 0) text[0] = '\0';
        text[n_out] = '\0';
        snprintf(t->error, sizeof t->error, "TFLM helper: %s", text);
        sim_tflm_stop(t);
        return -1;
    }
    if (n_out != params->num_labels) {
        snprintf(t->error, sizeof t->error, "model has %d outputs, tinyheat_model.h says %d", n_out, params->num_labels);
        sim_tflm_stop(t);
        return -1;
    }
    if (n_ch != params->input_channels) {
        snprintf(t->error, sizeof t->error, "model has %d input channels, tinyheat_model.h says %d", n_ch,
                 params->input_channels);
        sim_tflm_stop(t);
        return -1;
    }
    t->n_out = n_out;
    th_smoother_init(&t->smoother, smooth_frames, n_out);
    return 0;
}

int sim_tflm_classify(sim_tflm_t *t, const float temps[768], float uncertain_below, th_prediction_t *out,
                      uint32_t *invoke_us)
{
    int8_t in[TH_MAX_INPUT_BYTES], q[TH_MAX_CLASSES];
    uint8_t us[4];
    if (t->to_helper < 0 || th_preprocess(temps, t->params, in) != 0) return 0;
    if (write_all(t->to_helper, in, (size_t)768 * (size_t)t->params->input_channels) != 0 || read_all(t->from_helper, q, (size_t)t->n_out, INVOKE_TIMEOUT_MS) != 0 ||
        read_all(t->from_helper, us, 4, INVOKE_TIMEOUT_MS) != 0) {
        snprintf(t->error, sizeof t->error, "TFLM helper stopped answering");
        sim_tflm_stop(t);
        return 0;
    }
    t->invokes++;
    if (invoke_us) *invoke_us = (uint32_t)us[0] | (uint32_t)us[1] << 8 | (uint32_t)us[2] << 16 | (uint32_t)us[3] << 24;
    *out = th_postprocess(q, t->params, &t->smoother, uncertain_below);
    return 1;
}

void sim_tflm_stop(sim_tflm_t *t)
{
    if (t->to_helper >= 0) close(t->to_helper); /* EOF: the helper exits */
    if (t->from_helper >= 0) close(t->from_helper);
    t->to_helper = t->from_helper = -1;
    if (t->pid > 0) {
        int st;
        struct timespec ten_ms = {0, 10000000L};
        for (int i = 0; i < 100 && waitpid(t->pid, &st, WNOHANG) == 0; i++) nanosleep(&ten_ms, NULL);
        if (waitpid(t->pid, &st, WNOHANG) == 0) {
            kill(t->pid, SIGKILL);
            waitpid(t->pid, &st, 0);
        }
    }
    t->pid = -1;
}
