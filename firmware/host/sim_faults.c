/* Fault control lines for the simulated device. See sim_faults.h. */
#define _POSIX_C_SOURCE 200809L
#include "sim_faults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (!s) return -1;
    v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int sim_faults_apply(sim_port_t *s, const char *line, char *err, size_t cap)
{
    char w[3][32] = {"", "", ""};
    long v = 0;
    int n = sscanf(line, " %31s %31s %31s", w[0], w[1], w[2]);
    const char *a = w[0], *b = w[1], *c = n >= 3 ? w[2] : NULL;
    err[0] = '\0';
    if (n < 2) goto bad;
    if (!strcmp(a, "sensor")) {
        if (!strcmp(b, "nack") && number(c, 1, 1000000, &v) == 0) s->nack_polls = (int)v;
        else if (!strcmp(b, "unplug")) s->present = 0;
        else if (!strcmp(b, "plug")) s->present = 1;
        else goto bad;
    } else if (!strcmp(a, "bus")) {
        if (!strcmp(b, "stuck") && c && !strcmp(c, "sda")) s->bus_stuck = 1;
        else if (!strcmp(b, "stuck") && c && !strcmp(c, "scl")) s->bus_stuck = 2;
        else if (!strcmp(b, "free")) s->bus_stuck = 0;
        else goto bad;
    } else if (!strcmp(a, "card")) {
        if (!strcmp(b, "pull")) sim_port_set_card(s, 0);
        else if (!strcmp(b, "insert")) sim_port_set_card(s, 1);
        else if (!strcmp(b, "full")) s->fs.capacity = 1;
        else if (!strcmp(b, "ok")) { s->fs.capacity = 0; s->fs.op_delay_ms = 0; }
        else if (!strcmp(b, "slow") && c && !strcmp(c, "ok")) s->fs.op_delay_ms = 0;
        else if (!strcmp(b, "slow") && number(c, 1, 60000, &v) == 0) s->fs.op_delay_ms = (unsigned)v;
        else goto bad;
    } else if (!strcmp(a, "usb")) {
        if (!strcmp(b, "cut") && number(c, 1, 100000, &v) == 0) s->tx_cut_after = v;
        else if (!strcmp(b, "slow") && c && !strcmp(c, "ok")) s->usb_bps = 0;
        else if (!strcmp(b, "slow") && number(c, 1, 100000000, &v) == 0) s->usb_bps = v;
        else goto bad;
    } else {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, cap, "unknown fault command \"%.80s\" (see firmware/host/sim_faults.h)", line);
    return -1;
}

int sim_faults_open(sim_faults_t *f, const char *path)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    f->keep_fd = -1;
    f->fd = open(path, O_RDONLY | O_NONBLOCK);
    if (f->fd < 0) return -1;
    if (fstat(f->fd, &st) == 0 && S_ISFIFO(st.st_mode)) f->keep_fd = open(path, O_WRONLY | O_NONBLOCK);
    return 0;
}

static void run_line(sim_faults_t *f, sim_port_t *s, const char *line)
{
    char err[160];
    if (sim_faults_apply(s, line, err, sizeof err) == 0) {
        f->applied++;
        fprintf(stderr, "sim: fault: %s\n", line);
    } else {
        f->rejected++;
        fprintf(stderr, "sim: %s\n", err);
    }
}

void sim_faults_poll(sim_faults_t *f, sim_port_t *s, double t_ms)
{
    if (f->fd < 0) return;
    for (;;) {
        char *nl, *line;
        if (f->pending[0]) {
            if (t_ms < f->pending_at_ms) return; /* later lines wait behind it (a script's order) */
            run_line(f, s, f->pending);
            f->pending[0] = '\0';
        }
        nl = memchr(f->buf, '\n', f->len);
        if (!nl) {
            ssize_t r;
            if (f->len == sizeof f->buf - 1) f->len = 0; /* an over-long line: dropped */
            r = read(f->fd, f->buf + f->len, sizeof f->buf - 1 - f->len);
            if (r <= 0) return; /* nothing now (EAGAIN) or end of a script */
            f->len += (size_t)r;
            continue;
        }
        *nl = '\0';
        line = f->buf;
        while (*line == ' ' || *line == '\t') line++;
        if (*line && *line != '#') {
            size_t l = strlen(line);
            if (l && line[l - 1] == '\r') line[l - 1] = '\0';
            if (*line == '@') {
                char *rest;
                f->pending_at_ms = strtod(line + 1, &rest) * 1000.0;
                while (*rest == ' ') rest++;
                snprintf(f->pending, sizeof f->pending, "%s", rest);
            } else {
                run_line(f, s, line);
            }
        }
        f->len -= (size_t)(nl + 1 - f->buf);
        memmove(f->buf, nl + 1, f->len);
    }
}

void sim_faults_close(sim_faults_t *f)
{
    if (f->fd >= 0) close(f->fd);
    if (f->keep_fd >= 0) close(f->keep_fd);
    f->fd = f->keep_fd = -1;
}
