/* POSIX th_fs_ops_t with fault injection. See th_fs_posix.h. */
#define _POSIX_C_SOURCE 200809L
#include "th_fs_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_of(const th_fs_posix_t *c, const char *name, char *buf, size_t cap)
{
    int n;
    if (!c->dir || c->no_card) return TH_FS_NO_CARD;
    if (!name[0] || strchr(name, '/')) return TH_FS_BAD_ARG;
    n = snprintf(buf, cap, "%s/%s", c->dir, name);
    return (n > 0 && (size_t)n < cap) ? TH_FS_OK : TH_FS_BAD_ARG;
}

static long used_bytes(const th_fs_posix_t *c)
{
    long total = 0;
    char p[1024];
    struct stat st;
    struct dirent *e;
    DIR *d = opendir(c->dir);
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        snprintf(p, sizeof p, "%s/%s", c->dir, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) total += (long)st.st_size;
    }
    closedir(d);
    return total;
}

/* Write with the injected faults. 0 ok, TH_FS_IO / TH_FS_NO_CARD on failure. */
static int write_faulty(th_fs_posix_t *c, int fd, const uint8_t *data, size_t len)
{
    size_t todo = len;
    c->writes++;
    if (c->fail_writes || (c->capacity > 0 && used_bytes(c) + (long)len > c->capacity)) {
        c->write_errors++;
        return TH_FS_IO;
    }
    if (c->pull_after > 0 && (long)len >= c->pull_after) todo = (size_t)(c->pull_after - 1);
    while (todo) {
        ssize_t n = write(fd, data, todo);
        if (n <= 0) {
            c->write_errors++;
            return TH_FS_IO;
        }
        data += n;
        todo -= (size_t)n;
    }
    if (c->pull_after > 0) {
        if ((long)len >= c->pull_after) {
            c->pull_after = 0;
            c->no_card = 1; /* pulled mid-write */
            c->write_errors++;
            return TH_FS_NO_CARD;
        }
        c->pull_after -= (long)len;
    }
    return TH_FS_OK;
}

/* A slow card: every operation takes op_delay_ms (simulated or real time, through `delay`). */
static void slow(th_fs_posix_t *c)
{
    if (c->op_delay_ms && c->delay) c->delay(c->delay_ctx, c->op_delay_ms);
}

static int p_exists(void *ctx, const char *name)
{
    slow((th_fs_posix_t *)ctx);
    char p[1024];
    struct stat st;
    return path_of(ctx, name, p, sizeof p) == TH_FS_OK && stat(p, &st) == 0;
}

/* As the board's storage_sd.cpp: write a scratch file, then give it the name exclusively
 * (link() fails with EEXIST, as FatFs f_rename with FR_EXIST), so a sample name never holds a
 * partial file, even when the card is pulled mid-write. */
static int p_create_exclusive(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    slow((th_fs_posix_t *)ctx);
    th_fs_posix_t *c = ctx;
    char p[1024], tmp[1024];
    int fd, r = path_of(c, name, p, sizeof p);
    if (r != TH_FS_OK) return r;
    path_of(c, TH_FS_POSIX_SCRATCH, tmp, sizeof tmp);
    if (access(p, F_OK) == 0) return TH_FS_EXISTS;
    unlink(tmp); /* our own scratch file from an interrupted write */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return TH_FS_IO;
    r = write_faulty(c, fd, data, len);
    if (close(fd) != 0 && r == TH_FS_OK) r = TH_FS_IO;
    if (r == TH_FS_OK && link(tmp, p) != 0) r = errno == EEXIST ? TH_FS_EXISTS : TH_FS_IO;
    if (r == TH_FS_OK || !c->no_card) unlink(tmp); /* a pulled card keeps the scratch file */
    return r;
}

static int p_append(void *ctx, const char *name, const uint8_t *data, size_t len)
{
    slow((th_fs_posix_t *)ctx);
    th_fs_posix_t *c = ctx;
    char p[1024];
    int fd, r = path_of(c, name, p, sizeof p);
    if (r != TH_FS_OK) return r;
    fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return TH_FS_IO;
    r = write_faulty(c, fd, data, len);
    return (close(fd) == 0 || r != TH_FS_OK) ? r : TH_FS_IO;
}

static int p_list(void *ctx, void (*on_name)(void *, const char *), void *cb_ctx)
{
    slow((th_fs_posix_t *)ctx);
    th_fs_posix_t *c = ctx;
    DIR *d;
    struct dirent *e;
    if (!c->dir || c->no_card) return TH_FS_NO_CARD;
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

long th_fs_posix_read(th_fs_posix_t *c, const char *name, char *buf, size_t cap)
{
    slow(c);
    char p[1024];
    FILE *f;
    size_t n;
    if (cap == 0 || path_of(c, name, p, sizeof p) != TH_FS_OK) return -1;
    f = fopen(p, "rb");
    if (!f) return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

int th_fs_posix_replace(th_fs_posix_t *c, const char *name, const uint8_t *data, size_t len)
{
    slow(c);
    char p[1024], tmp[1100];
    int fd, r = path_of(c, name, p, sizeof p);
    if (r != TH_FS_OK) return r;
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return TH_FS_IO;
    r = write_faulty(c, fd, data, len);
    if (close(fd) != 0 && r == TH_FS_OK) r = TH_FS_IO;
    if (r == TH_FS_OK && rename(tmp, p) != 0) r = TH_FS_IO;
    if (r != TH_FS_OK) unlink(tmp);
    return r;
}
