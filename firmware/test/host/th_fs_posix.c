/* POSIX th_fs_ops_t for host tests: exclusive create with O_CREAT|O_EXCL. */
#define _POSIX_C_SOURCE 200809L
#include "th_fs_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void path_of(const th_fs_posix_t *c, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", c->dir, name);
}

static int p_exists(void *ctx, const char *name)
{
    th_fs_posix_t *c = (th_fs_posix_t *)ctx;
    char p[1024];
    struct stat st;
    if (c->no_card) return 0;
    path_of(c, name, p, sizeof p);
    return stat(p, &st) == 0;
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int p_create_exclusive(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    th_fs_posix_t *c = (th_fs_posix_t *)ctx;
    char p[1024];
    int fd;
    if (c->no_card) return TH_FS_NO_CARD;
    path_of(c, name, p, sizeof p);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return errno == EEXIST ? TH_FS_EXISTS : TH_FS_IO;
    if (c->fail_writes || write_all(fd, data, len) != 0) {
        close(fd);
        unlink(p); /* nothing left under name on failure */
        return TH_FS_IO;
    }
    return close(fd) == 0 ? TH_FS_OK : TH_FS_IO;
}

static int p_append(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    th_fs_posix_t *c = (th_fs_posix_t *)ctx;
    char p[1024];
    int fd, rc;
    if (c->no_card) return TH_FS_NO_CARD;
    if (c->fail_writes) return TH_FS_IO;
    path_of(c, name, p, sizeof p);
    fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return TH_FS_IO;
    rc = write_all(fd, data, len);
    return (close(fd) == 0 && rc == 0) ? TH_FS_OK : TH_FS_IO;
}

static int p_list(void *ctx, void (*on_name)(void *, const char *), void *cb_ctx)
{
    th_fs_posix_t *c = (th_fs_posix_t *)ctx;
    DIR *d;
    struct dirent *e;
    if (c->no_card) return TH_FS_NO_CARD;
    d = opendir(c->dir);
    if (!d) return TH_FS_IO;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') on_name(cb_ctx, e->d_name);
    closedir(d);
    return TH_FS_OK;
}

void th_fs_posix_ops(th_fs_posix_t *ctx, th_fs_ops_t *ops)
{
    ops->ctx = ctx;
    ops->exists = p_exists;
    ops->create_exclusive = p_create_exclusive;
    ops->append = p_append;
    ops->list = p_list;
}
