/* Fault control of the simulated device at run time (issue 17 item 7): text lines, one fault
 * each, read from a FIFO or a script file (`tinyheat_sim --faults PATH`) while the device loop
 * runs, so laptop-side tests drive the whole chain (device loop -> pty -> host tools) through
 * the faults the C tests inject directly. A line "@SECONDS COMMAND" waits until the simulator
 * has run that long (scripts); "#" lines and blank lines are ignored.
 *
 *   sensor nack N        the next N sensor polls fail (NACK mid-frame)
 *   sensor unplug|plug   the MLX90640 disappears / comes back
 *   bus stuck sda|scl    a slave holds that I2C line low (the bus clear cannot free it)
 *   bus free             the line is released
 *   card pull|insert     the SD card is removed / inserted
 *   card full|ok         the card is full (writes fail) / has room again
 *   card slow MS|ok      every card operation takes MS (a dying card) / normal again
 *   usb cut N            the next message longer than N bytes is cut after N bytes (a USB timeout)
 *   usb slow BPS|ok      the host takes at most BPS bytes/s (whole messages beyond are dropped)
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <stddef.h>

#include "sim_port.h"

typedef struct {
    int fd, keep_fd;   /* read side; a write side kept open on a FIFO so no writer means EAGAIN, not EOF */
    char buf[512];
    size_t len;
    char pending[256]; /* a "@SECONDS" line waiting for its time ("" none) */
    double pending_at_ms;
    unsigned long applied, rejected;
} sim_faults_t;

/** Apply one command line to the simulated hardware. @return 0, or -1 with a reason in err. */
int sim_faults_apply(sim_port_t *s, const char *line, char *err, size_t cap);
/** Open PATH (a FIFO or a regular file). @return 0, or -1 (errno set). */
int sim_faults_open(sim_faults_t *f, const char *path);
/** Read and apply the lines available now (non-blocking); t_ms = time since start. */
void sim_faults_poll(sim_faults_t *f, sim_port_t *s, double t_ms);
void sim_faults_close(sim_faults_t *f);

#endif
