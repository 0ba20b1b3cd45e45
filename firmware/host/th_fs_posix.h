/* The one POSIX storage backend of the host builds: th_fs_ops_t (tinyheat_core/th_store.h) on a
 * directory standing in for the SD card, with fault injection. Used by the simulated device
 * (sim_main.c, sim_port.c) and the host tests (firmware/test/host).
 *
 * Faults (all off when the struct is zeroed; change them at any time):
 *   no_card       1 = card removed: every call answers TH_FS_NO_CARD (exists: 0);
 *   fail_writes   1 = every write fails with TH_FS_IO (a card that stopped accepting writes);
 *   capacity      > 0: the card holds this many bytes of files; a write that would exceed it
 *                 fails with TH_FS_IO (a full card), nothing is left under the name;
 *   pull_after    > 0: the card is pulled while writing: after this many more bytes have been
 *                 written the write stops, the partial file stays (as on a real card whose
 *                 directory entry was already written, it may hold a truncated file) and
 *                 no_card becomes 1. create_exclusive writes TH_FS_POSIX_SCRATCH first and
 *                 links it to the name (exclusive), as the board does, so a sample name never
 *                 holds a partial file. Names are bare names in the root ("face0.3.jpg");
 *   op_delay_ms   > 0: every operation takes this long (delay(delay_ctx, ms): the simulator's
 *                 clock), a card that answers but slowly (a dying card's retries). */
#ifndef TH_FS_POSIX_H
#define TH_FS_POSIX_H

#include <stddef.h>
#include <stdint.h>

#include "th_store.h"

#define TH_FS_POSIX_SCRATCH "th_tmp.bin" /* the board's scratch name (storage_sd.cpp) */

typedef struct {
    const char *dir;      /* card root (kept by pointer); NULL = no card slot at all */
    int no_card;
    int fail_writes;
    long capacity;        /* bytes, 0 = unlimited */
    long pull_after;      /* bytes, 0 = off */
    unsigned long writes, write_errors; /* counters: write calls, failed writes */
    unsigned op_delay_ms; /* a slow/failing card: every operation takes this long (via delay) */
    void (*delay)(void *delay_ctx, unsigned ms);
    void *delay_ctx;
} th_fs_posix_t;

/** Fill ops for ctx (ctx must outlive ops). */
void th_fs_posix_ops(th_fs_posix_t *ctx, th_fs_ops_t *ops);
/** Read a small file into buf (NUL-terminated). @return bytes, -1 if missing or no card. */
long th_fs_posix_read(th_fs_posix_t *ctx, const char *name, char *buf, size_t cap);
/** Replace a file (write a temp file, rename). @return th_fs_result_t. */
int th_fs_posix_replace(th_fs_posix_t *ctx, const char *name, const uint8_t *data, size_t len);

#endif
