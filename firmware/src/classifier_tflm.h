/**
 * @file classifier_tflm.h
 * TFLite-Micro adapter (tflite-micro-arduino-examples at be370f0): the int8 model from
 * firmware/lib/tinyheat_model (tinyheat_model.h), pre/post-processing from the core
 * (th_classify.h). This header is plain C types only, so callers need no TFLM headers.
 */
#pragma once
#include <stdint.h>

#include "th_classify.h"

/** Build the interpreter (static arena of TH_MODEL_ARENA_BYTES, 16-byte aligned), check the
 *  tensor shapes/types against tinyheat_model.h. @return true if the model is ready. */
bool classifier_begin(void);
/** Text of the last classifier_begin() failure ("" when fine). */
const char *classifier_error(void);
/** The model's parameters (labels, input mode, scales and zero points) from tinyheat_model.h. */
const th_model_params_t *classifier_params(void);
/** Arena bytes actually used (after classifier_begin). */
uint32_t classifier_arena_used(void);
/**
 * Classify one frame (768 degC): th_preprocess -> Invoke -> th_postprocess with smoothing
 * over TH_SMOOTH_FRAMES and the TH_UNCERTAIN_BELOW threshold.
 * @param invoke_us  time of Invoke() alone, microseconds (may be NULL)
 * @return false if the model is not ready or Invoke failed.
 */
bool classifier_run(const float temps[768], th_prediction_t *out, uint32_t *invoke_us);

/**
 * Hook for TFLM's diagnostic text (DebugLog: error reporter messages, in fragments without
 * guaranteed line ends). TFLM output never goes raw onto the USB serial port, which carries the
 * COBS-framed link protocol. The default definition (weak, in classifier_tflm.cpp) drops the
 * text; a strong definition elsewhere, e.g. in the serial link turning lines into LOG messages,
 * replaces it. Called from the main loop only (no interrupts), may be called before setup ends.
 */
#ifdef __cplusplus
extern "C"
#endif
void th_debug_log(const char *s);
