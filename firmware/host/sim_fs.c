/* POSIX th_fs_ops_t for the simulated device: exclusive create with O_CREAT | O_EXCL. */
#define _POSIX_C_SOURCE 200809L
#include "sim_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_of(const sim_fs_t *fs, const char *name, char *out, size_t cap)
{
    if (!fs->root[0]) return TH_FS_NO_CARD;
    if (!name[0] || strchr(name, '/')) return TH_FS_BAD_ARG;
    int n = snprintf(out, cap, "%s/%s", fs->root, name);
    return (n > 0 && (size_t)n < cap) ? TH_FS_OK : TH_FS_BAD_ARG;
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w <= 0) return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static int fs_exists(void *ctx, const char *name)
{
    char p[600];
    struct stat st;
    return path_of(ctx, name, p, sizeof p) == TH_FS_OK && stat(p, &st) == 0;
}

static int fs_create_exclusive(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    char p[600];
    int r = path_of(ctx, name, p, sizeof p);
    if (r != TH_FS_OK) return r;
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return errno == EEXIST ? TH_FS_EXISTS : TH_FS_IO;
    if (write_all(fd, data, len) != 0 || close(fd) != 0) {
        unlink(p); /* nothing may be left under name */
        return TH_FS_IO;
    }
    return TH_FS_OK;
}

static int fs_append(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    char p[600];
    int r = path_of(ctx, name, p, sizeof p);
    if (r != TH_FS_OK) return r;
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return TH_FS_IO;
    r = write_all(fd, data, len);
    return (close(fd) == 0 && r == 0) ? TH_FS_OK : TH_FS_IO;
}

static int fs_list(void *ctx, void (*on_name)(void *, const char *), void *cb_ctx)
{
    sim_fs_t *fs = ctx;
    if (!fs->root[0]) return TH_FS_NO_CARD;
    DIR *d = opendir(fs->root);
    if (!d) return TH_FS_IO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') on_name(cb_ctx, e->d_name);
    closedir(d);
    return TH_FS_OK;
}

void sim_fs_init(sim_fs_t *fs, const char *root, th_fs_ops_t *ops)
{
    snprintf(fs->root, sizeof fs->root, "%s", root ? root : "");
    ops->ctx = fs;
    ops->exists = fs_exists;
    ops->create_exclusive = fs_create_exclusive;
    ops->append = fs_append;
    ops->list = fs_list;
}

long sim_fs_read(const sim_fs_t *fs, const char *name, char *buf, size_t cap)
{
    char p[600];
    if (path_of(fs, name, p, sizeof p) != TH_FS_OK || cap == 0) return -1;
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

int sim_fs_replace(const sim_fs_t *fs, const char *name, const char *text)
{
    char p[600];
    if (path_of(fs, name, p, sizeof p) != TH_FS_OK) return -1;
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
