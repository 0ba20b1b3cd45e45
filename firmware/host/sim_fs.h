/* th_fs_ops_t (tinyheat_core/th_store.h) on a host directory: the simulated device's SD card. */
#ifndef SIM_FS_H
#define SIM_FS_H

#include "th_store.h"

typedef struct {
    char root[512]; /* "" = no card */
} sim_fs_t;

/** Fill ops for the directory root (NULL = no card: every call answers TH_FS_NO_CARD). */
void sim_fs_init(sim_fs_t *fs, const char *root, th_fs_ops_t *ops);
/** Read a whole small file into buf (NUL-terminated); returns bytes read or -1. */
long sim_fs_read(const sim_fs_t *fs, const char *name, char *buf, size_t cap);
/** Replace a small file (used for /session.txt, which the device rewrites each boot). */
int sim_fs_replace(const sim_fs_t *fs, const char *name, const char *text);

#endif
