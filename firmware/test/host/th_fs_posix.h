/* POSIX implementation of th_fs_ops_t on a directory (the "card" in host tests). */
#ifndef TH_FS_POSIX_H
#define TH_FS_POSIX_H
#include "th_store.h"
typedef struct {
    const char *dir;   /* card root */
    int fail_writes;   /* test hook: 1 = every write fails with TH_FS_IO (full card) */
    int no_card;       /* test hook: 1 = every call fails with TH_FS_NO_CARD */
} th_fs_posix_t;
/* Fill ops for ctx (ctx must outlive ops). */
void th_fs_posix_ops(th_fs_posix_t *ctx, th_fs_ops_t *ops);
#endif
