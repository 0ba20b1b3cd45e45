/* Frame source of the simulated device. See sim_frames.h. */
#include "sim_frames.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_csv(sim_frames_t *s, FILE *f, const char *path)
{
    size_t cap = 64, line = 0;
    static char buf[1 << 16];
    s->frames = malloc(cap * (size_t)s->px * sizeof(float));
    while (s->frames && fgets(buf, sizeof buf, f)) {
        char *p = buf, *end;
        int k = 0;
        line++;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#')
            continue;
        if (s->n == cap) {
            float *g = realloc(s->frames, 2 * cap * (size_t)s->px * sizeof(float));
            if (!g) break;
            s->frames = g;
            cap *= 2;
        }
        for (k = 0; k < s->px; k++) {
            float v = strtof(p, &end);
            if (end == p) break;
            s->frames[s->n * (size_t)s->px + (size_t)k] = v;
            p = end;
            while (*p == ',' || *p == ' ' || *p == '\t') p++;
        }
        if (k != s->px) {
            fprintf(stderr, "%s:%zu: %d values, expected %d degC; line skipped\n", path, line, k, s->px);
            continue;
        }
        s->n++;
    }
    return s->n > 0 ? 0 : -1;
}

static int load_npy(sim_frames_t *s, FILE *f, const char *path)
{
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fprintf(stderr, "%s: not a NumPy 1.0 .npy file\n", path);
        return -1;
    }
    size_t hl = (size_t)pre[8] | ((size_t)pre[9] << 8);
    char hdr[1024];
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) return -1;
    hdr[hl] = '\0';
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True")) {
        fprintf(stderr, "%s: need little-endian float32, C order\n", path);
        return -1;
    }
    long pos = ftell(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)(ftell(f) - pos) / ((size_t)s->px * sizeof(float));
    fseek(f, pos, SEEK_SET);
    s->frames = malloc((n ? n : 1) * (size_t)s->px * sizeof(float));
    if (!s->frames) return -1;
    s->n = fread(s->frames, (size_t)s->px * sizeof(float), n, f);
    return s->n > 0 ? 0 : -1;
}

int sim_frames_load(sim_frames_t *s, const char *path) { return sim_frames_load_n(s, path, 24, 32); }

int sim_frames_load_n(sim_frames_t *s, const char *path, int rows, int cols)
{
    memset(s, 0, sizeof *s);
    s->rows = rows;
    s->cols = cols;
    s->px = rows * cols;
    if (!path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t len = strlen(path);
    int r = (len > 4 && !strcmp(path + len - 4, ".npy")) ? load_npy(s, f, path) : load_csv(s, f, path);
    fclose(f);
    if (r != 0)
        fprintf(stderr, "%s: no frames loaded\n", path);
    return r;
}

void sim_frames_next(sim_frames_t *s, float out[768])
{
    if (s->n) {
        memcpy(out, s->frames + s->next * (size_t)s->px, (size_t)s->px * sizeof(float));
        s->next = (s->next + 1) % s->n;
        return;
    }
    /* synthetic: a 34 degC blob circling over a 23 degC background */
    float k = (float)s->cols / 32.0f;
    float cx = k * (16.0f + 8.0f * cosf(0.05f * (float)s->t)), cy = k * (12.0f + 5.0f * sinf(0.05f * (float)s->t));
    for (int i = 0; i < s->px; i++) {
        float dx = (float)(i % s->cols) - cx, dy = (float)(i / s->cols) - cy;
        out[i] = 23.0f + 11.0f * expf(-(dx * dx + dy * dy) / 18.0f) + 0.05f * (float)((i * 7 + (int)s->t) % 5);
    }
    s->t++;
}

void sim_frames_free(sim_frames_t *s)
{
    free(s->frames);
    s->frames = NULL;
}
