/* Frame source of the simulated device: replays 768-value frames (degC) from a CSV file
 * (one frame per line, comma-separated, e.g. /work/shared/datasets/mlx90640-presence/person.csv)
 * or an .npy float32 (n, 24, 32) array (the `frames` member of a tinyheat recording), looped;
 * without a file, a synthetic warm blob moving over a 23 degC background. */
#ifndef SIM_FRAMES_H
#define SIM_FRAMES_H

#include <stddef.h>

typedef struct {
    float *frames; /* n x px degC, malloc'ed (host only) */
    int rows, cols, px; /* 24 x 32 (MLX90640) or 12 x 16 (MLX90641) */
    size_t n, next;
    unsigned long t;
} sim_frames_t;

/** Load path (NULL = synthetic). Returns 0, or -1 with a message on stderr. */
int sim_frames_load(sim_frames_t *s, const char *path);
/** Load frames of rows x cols values (24 x 32 or 12 x 16). */
int sim_frames_load_n(sim_frames_t *s, const char *path, int rows, int cols);
/** Next frame (px degC) into out; loops over the file. */
void sim_frames_next(sim_frames_t *s, float out[768]);
void sim_frames_free(sim_frames_t *s);

#endif
