/**
 * @file th_classify.h
 * Classifier pre- and post-processing around the int8 TFLite-Micro model
 * (FORMAT.md section 5; Python side: tinyheat.training.preprocess.quantize_input).
 *
 * Pre:  768 degC -> invalid pixels replaced by the median of the valid ones -> normalised by the
 *       input mode (all in float32; m = median of the repaired frame, c0/c1 = clip_lo/clip_hi):
 *         0 window           x = clamp((T - lo) / (hi - lo), 0, 1)
 *         1 relative         x = (T - m) / span
 *         2 relative-clipped x = clamp((T - m) / span, c0, c1)
 *         3 two-channel      x0 = clamp((T - m) / span, c0, c1),
 *                            x1 = clamp((T - lo) / s + c0, c0, c1), s = (hi - lo) / (c1 - c0)
 *       -> int8 q = clamp(floor(x / scale + 0.5f) + zero_point, -128, 127) (one scale for all
 *       channels). Output layout = the model input [1, 24, 32, C], row-major like the frame,
 *       channels innermost: out[pixel * C + channel]. C = th_input_channels(p).
 * Post: int8 logits -> z = (q - zero_point) * scale -> p = softmax(z) (float32, max subtracted)
 *       -> optional mean over the last K frames -> top-1 (first index of the maximum) ->
 *       "uncertain" below a confidence threshold. The model has no SOFTMAX op (FORMAT.md
 *       section 5): TFLM's int8 softmax is not bit-exact with TFLite's reference kernel.
 *
 * Parameters come in th_model_params_t (on the device filled from tinyheat_model.h), never
 * from macros here, so host tests can use any values. The device's smoothing window and
 * "uncertain" threshold are TH_SMOOTH_FRAMES and TH_UNCERTAIN_BELOW in
 * firmware/include/tinyheat_config.h: the one definition, also read by the laptop's
 * tinyheat.deploy.device_view (FORMAT.md section 5, "What the device shows").
 */
#ifndef TH_CLASSIFY_H
#define TH_CLASSIFY_H

#include <stdint.h>

#include "th_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TH_MAX_CLASSES 16  /**< most output classes supported by the smoother */
#define TH_SMOOTH_MAX_K 16 /**< longest smoothing window, frames */

typedef enum {
    TH_INPUT_WINDOW = 0,           /**< 1 channel: fixed window of absolute temperature */
    TH_INPUT_RELATIVE = 1,         /**< 1 channel: (T - median) / span, unclipped */
    TH_INPUT_RELATIVE_CLIPPED = 2, /**< 1 channel: relative, clipped to [clip_lo, clip_hi] */
    TH_INPUT_TWO_CHANNEL = 3       /**< 2 channels: relative clipped + window mapped onto [clip_lo, clip_hi] */
} th_input_mode_t;

#define TH_MAX_INPUT_CHANNELS 2                              /**< most model input channels */
#define TH_MAX_INPUT_BYTES (TH_PIXELS * TH_MAX_INPUT_CHANNELS) /**< largest int8 model input, bytes */

typedef struct {
    int num_labels;            /**< output classes N, 1..TH_MAX_CLASSES */
    const char *const *labels; /**< N label strings */
    int input_mode;            /**< th_input_mode_t (TH_MODEL_INPUT_MODE) */
    float window_lo_degc;      /**< window mode lower bound, degC */
    float window_hi_degc;      /**< window mode upper bound, degC (> lo) */
    float relative_span_k;     /**< relative modes' span, K (> 0) */
    float clip_lo;             /**< modes 2, 3: lower clip of x (FORMAT.md: -0.5) */
    float clip_hi;             /**< modes 2, 3: upper clip of x (FORMAT.md: 2.0), > clip_lo */
    int input_channels;        /**< C of the input tensor [1, 24, 32, C]: 1, or 2 for mode 3 */
    float input_scale;         /**< input tensor quantization scale (> 0) */
    int input_zero_point;      /**< input tensor zero point, -128..127 */
    float output_scale;        /**< output tensor scale */
    int output_zero_point;     /**< output tensor zero point */
} th_model_params_t;

/** 0 if the parameters are usable, else -1 (bad N, scale <= 0, window hi <= lo, span <= 0, unknown mode,
 *  clip_hi <= clip_lo in modes 2-3, input_channels not the mode's channel count). */
int th_model_params_check(const th_model_params_t *p);

/**
 * Median as FORMAT.md section 5 defines it (mean of the two middle values for an even count),
 * of the valid pixels of temps. @return NaN if no pixel is valid.
 * Uses an internal static 3 KB scratch buffer (not reentrant).
 */
float th_median_valid(const float temps[TH_PIXELS]);

/** Channels C of the model input for input mode `mode` (2 for TH_INPUT_TWO_CHANNEL, else 1; 0 if unknown). */
int th_input_channels_of_mode(int mode);

/**
 * Model input from a frame (temps 768 degC -> out 768 * C int8, layout [1, 24, 32, C], C =
 * p->input_channels; out must hold TH_PIXELS * C bytes, at most TH_MAX_INPUT_BYTES).
 * @return 0, or -1 if params are invalid (out untouched).
 * A frame with no valid pixel (a sensor fault) is treated as all 0 degC.
 */
int th_preprocess(const float temps[TH_PIXELS], const th_model_params_t *p, int8_t *out);

/** Dequantize N int8 logits: z[i] = (q[i] - zero_point) * scale. */
void th_dequantize(const int8_t *q, int n, const th_model_params_t *p, float *z);

/** Softmax of n logits (n >= 1) in float32: p[i] = exp(z[i] - max z) / sum; z and p may alias. */
void th_softmax(const float *z, int n, float *p);

/** First index of the maximum of n values (n >= 1). */
int th_argmax(const float *v, int n);

/** Mean of the last K probability vectors. */
typedef struct {
    int k, n_classes, count, pos;
    float hist[TH_SMOOTH_MAX_K][TH_MAX_CLASSES];
} th_smoother_t;

/** k: window 1..TH_SMOOTH_MAX_K (clamped); n_classes 1..TH_MAX_CLASSES (clamped). */
void th_smoother_init(th_smoother_t *s, int k, int n_classes);
/** Add one probability vector and write the mean of the last min(count, K) into mean_out. */
void th_smoother_push(th_smoother_t *s, const float *probs, float *mean_out);

/** One classification decision. */
typedef struct {
    int label_index;  /**< top-1 of the smoothed probabilities, or -1 when uncertain */
    int top_index;    /**< top-1 even when uncertain */
    float confidence; /**< smoothed probability of top_index, 0..1 */
} th_prediction_t;

/**
 * Full post-processing: dequantize q_out (N int8), push into the smoother (may be NULL for
 * no smoothing), take top-1, mark uncertain (label_index = -1) when confidence < threshold.
 */
th_prediction_t th_postprocess(const int8_t *q_out, const th_model_params_t *p, th_smoother_t *s, float threshold);

#ifdef __cplusplus
}
#endif
#endif
