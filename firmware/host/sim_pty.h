/* Pseudo-terminal standing in for the Wio Terminal's USB CDC port (host simulation only). */
#ifndef SIM_PTY_H
#define SIM_PTY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int master;         /* non-blocking master fd */
    int slave_keep;     /* -1: the slave is only open while a host program has it (simulated DTR) */
    int host_open;      /* last sim_pty_host_open result */
    char path[128];     /* slave path, e.g. /dev/pts/3 */
    uint8_t tx[24576];  /* outgoing bytes not yet accepted by the pty */
    size_t tx_len;
    unsigned long frames_dropped;
} sim_pty_t;

/** Open a pty pair in raw mode. Returns 0, or -1 with errno set. */
int sim_pty_open(sim_pty_t *p);
/** th_link_write_fn: queue one whole wire frame, or drop it (return 0) if it does not fit. */
size_t sim_pty_write(void *ctx, const uint8_t *data, size_t n);
/** Queue the first n bytes of a frame (a transport cut mid-frame); 0 if they do not fit. */
size_t sim_pty_write_part(sim_pty_t *p, const uint8_t *data, size_t n);
/** Push queued bytes into the pty (non-blocking). */
void sim_pty_flush(sim_pty_t *p);
/** Read available host bytes (non-blocking); returns count (0 if none). */
size_t sim_pty_read(sim_pty_t *p, uint8_t *buf, size_t cap);
/** 1 while a host program has the slave side open (the simulated USB DTR line), else 0;
 *  on the falling edge the bytes not yet read are discarded. */
int sim_pty_host_open(sim_pty_t *p);
void sim_pty_close(sim_pty_t *p);

#endif
