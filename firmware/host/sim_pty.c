/* Pseudo-terminal adapter of the simulated device: posix_openpt + raw termios. */
#define _XOPEN_SOURCE 700
#include "sim_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        /* cfmakeraw equivalent (POSIX): no echo, no line editing, no CR/LF translation */
        t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_oflag &= ~(tcflag_t)OPOST;
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
        t.c_cflag |= CS8;
        tcsetattr(fd, TCSANOW, &t);
    }
}

int sim_pty_open(sim_pty_t *p)
{
    memset(p, 0, sizeof *p);
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0 || grantpt(p->master) != 0 || unlockpt(p->master) != 0)
        return -1;
    const char *name = ptsname(p->master);
    if (!name)
        return -1;
    snprintf(p->path, sizeof p->path, "%s", name);
    /* raw mode on the slave side once (the setting stays with the pty), then closed: a host
     * program opening the slave is the simulated DTR (sim_pty_host_open) */
    int slave = open(p->path, O_RDWR | O_NOCTTY);
    if (slave < 0)
        return -1;
    make_raw(slave);
    close(slave);
    p->slave_keep = -1;
    make_raw(p->master);
    fcntl(p->master, F_SETFL, fcntl(p->master, F_GETFL) | O_NONBLOCK);
    return 0;
}

size_t sim_pty_write(void *ctx, const uint8_t *data, size_t n)
{
    sim_pty_t *p = ctx;
    if (n > sizeof p->tx - p->tx_len) {
        p->frames_dropped++; /* like a USB host that does not read: drop whole messages */
        return 0;
    }
    memcpy(p->tx + p->tx_len, data, n);
    p->tx_len += n;
    sim_pty_flush(p);
    return n;
}

size_t sim_pty_write_part(sim_pty_t *p, const uint8_t *data, size_t n)
{
    if (n > sizeof p->tx - p->tx_len) return 0;
    memcpy(p->tx + p->tx_len, data, n);
    p->tx_len += n;
    sim_pty_flush(p);
    return n;
}

void sim_pty_flush(sim_pty_t *p)
{
    while (p->tx_len > 0) {
        ssize_t w = write(p->master, p->tx, p->tx_len);
        if (w <= 0)
            return; /* EAGAIN: the pty buffer is full; try again later */
        memmove(p->tx, p->tx + w, p->tx_len - (size_t)w);
        p->tx_len -= (size_t)w;
    }
}

size_t sim_pty_read(sim_pty_t *p, uint8_t *buf, size_t cap)
{
    ssize_t r = read(p->master, buf, cap);
    return r > 0 ? (size_t)r : 0;
}

int sim_pty_host_open(sim_pty_t *p)
{
    /* Linux/BSD: the master reports POLLHUP while no file descriptor of the slave is open */
    struct pollfd pfd = {p->master, POLLIN, 0};
    int open_now = poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
    if (!open_now && p->host_open) {
        p->tx_len = 0; /* the host went away: what it did not read is gone (as on USB) */
        tcflush(p->master, TCIOFLUSH);
    }
    p->host_open = open_now;
    return open_now;
}

void sim_pty_close(sim_pty_t *p)
{
    if (p->master >= 0)
        close(p->master);
    if (p->slave_keep >= 0)
        close(p->slave_keep);
}
