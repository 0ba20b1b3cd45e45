/* The simulated device's classifier: the exported model (firmware/lib/tinyheat_model, the same
 * bytes the board compiles in) in the real TensorFlow Lite Micro interpreter. TFLM is available
 * on the host only as the `tflite-micro` Python package, so the interpreter runs in a helper
 * process (`python -m tinyheat.link.tflm_helper`) on two pipes; pre- and post-processing are the
 * core's th_preprocess / th_postprocess (th_classify.h), exactly as firmware/src/classifier_tflm.cpp.
 *
 * Pipe protocol (binary, little-endian; spec in tools/tinyheat/link/tflm_helper.py):
 *   sim -> helper: "THM1" u32 n, n model bytes          (once)
 *   helper -> sim: "THOK" u8 n_out u8 channels | "THER" u8 len, text (model loaded / failed)
 *   sim -> helper: 768 * channels int8 (the input tensor [1,24,32,C])
 *   helper -> sim: n_out int8 (output tensor) u32 invoke_us (interpreter time, measured by the helper)
 * Every read is bounded (poll with a timeout): a dead helper makes classify fail, never hang. */
#ifndef SIM_TFLM_H
#define SIM_TFLM_H

#include <stddef.h>
#include <stdint.h>

#include "th_classify.h"

typedef struct {
    int pid, to_helper, from_helper; /* -1 when not running */
    int n_out;
    th_smoother_t smoother;
    const th_model_params_t *params;
    unsigned long invokes;
    char error[160];
} sim_tflm_t;

/** Start `cmd` (run by /bin/sh -c) and load model[len] into it. 0 ok, -1 (error text in t->error). */
int sim_tflm_start(sim_tflm_t *t, const char *cmd, const unsigned char *model, size_t len,
                   const th_model_params_t *params, int smooth_frames);
/** th_preprocess -> helper (TFLM Invoke) -> th_postprocess (smoothing, threshold). 1 ok, 0 failed. */
int sim_tflm_classify(sim_tflm_t *t, const float temps[768], float uncertain_below, th_prediction_t *out,
                      uint32_t *invoke_us);
void sim_tflm_stop(sim_tflm_t *t);

#endif
