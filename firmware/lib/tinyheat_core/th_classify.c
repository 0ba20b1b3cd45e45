/* Classifier pre/post-processing, FORMAT.md section 5. See th_classify.h. */
#include "th_classify.h"

#include <math.h>
#include <string.h>

static float s_scratch[TH_PIXELS];

int th_input_channels_of_mode(int mode)
{
    if (mode == TH_INPUT_TWO_CHANNEL) return 2;
    if (mode == TH_INPUT_WINDOW || mode == TH_INPUT_RELATIVE || mode == TH_INPUT_RELATIVE_CLIPPED) return 1;
    return 0;
}

int th_model_params_check(const th_model_params_t *p)
{
    if (p == NULL || p->num_labels < 1 || p->num_labels > TH_MAX_CLASSES) return -1;
    if (!(p->input_scale > 0.0f) || !(p->output_scale > 0.0f)) return -1;
    if (p->input_zero_point < -128 || p->input_zero_point > 127) return -1;
    if (th_input_channels_of_mode(p->input_mode) == 0 || p->input_channels != th_input_channels_of_mode(p->input_mode))
        return -1;
    if (p->input_mode == TH_INPUT_WINDOW || p->input_mode == TH_INPUT_TWO_CHANNEL) {
        if (!(p->window_hi_degc > p->window_lo_degc)) return -1;
    }
    if (p->input_mode != TH_INPUT_WINDOW) {
        if (!(p->relative_span_k > 0.0f)) return -1;
    }
    if (p->input_mode == TH_INPUT_RELATIVE_CLIPPED || p->input_mode == TH_INPUT_TWO_CHANNEL) {
        if (!(p->clip_hi > p->clip_lo)) return -1;
    }
    return 0;
}

/* k-th smallest (0-based) of a[0..n-1], Hoare quickselect; reorders a. */
static float select_kth(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/* Median of a[0..n-1] (n >= 1): middle value, or mean of the two middle values. Reorders a. */
static float median_of(float *a, int n)
{
    float hi_mid = select_kth(a, n, n / 2), lo_mid;
    int i;
    if (n % 2) return hi_mid;
    /* the (n/2 - 1)-th smallest is the maximum of the part left of n/2 after selection */
    lo_mid = a[0];
    for (i = 1; i < n / 2; i++)
        if (a[i] > lo_mid) lo_mid = a[i];
    return (lo_mid + hi_mid) / 2.0f;
}

float th_median_valid(const float temps[TH_PIXELS])
{
    int i, n = 0;
    for (i = 0; i < TH_PIXELS; i++)
        if (!th_pixel_invalid(temps[i])) s_scratch[n++] = temps[i];
    if (n == 0) return NAN;
    return median_of(s_scratch, n);
}

static int8_t quantize(float x, float scale, int zp)
{
    float q = floorf(x / scale + 0.5f) + (float)zp;
    if (!(q > -128.0f)) return -128; /* also NaN */
    if (q > 127.0f) return 127;
    return (int8_t)q;
}

static float clampf(float x, float lo, float hi)
{
    if (x < lo) x = lo;
    if (x > hi) x = hi;
    return x;
}

/* FORMAT.md section 5. Every step is one float32 operation (no multiply-add that a compiler could
 * fuse into an FMA on the Cortex-M4F and round differently from the laptop). */
int th_preprocess(const float temps[TH_PIXELS], const th_model_params_t *p, int8_t *out)
{
    float fill, centre = 0.0f, lo = p ? p->window_lo_degc : 0.0f;
    float span = 1.0f, abs_step = 1.0f;
    int i, mode, ch;
    if (th_model_params_check(p) != 0) return -1;
    mode = p->input_mode;
    ch = p->input_channels;
    fill = th_median_valid(temps);
    if (isnan(fill)) fill = 0.0f;
    if (mode != TH_INPUT_WINDOW) {
        /* median of the repaired frame (768 values: mean of the 384th and 385th smallest) */
        for (i = 0; i < TH_PIXELS; i++) s_scratch[i] = th_pixel_invalid(temps[i]) ? fill : temps[i];
        centre = median_of(s_scratch, TH_PIXELS);
    }
    if (mode == TH_INPUT_WINDOW) span = p->window_hi_degc - p->window_lo_degc;
    if (mode == TH_INPUT_TWO_CHANNEL) abs_step = (p->window_hi_degc - p->window_lo_degc) / (p->clip_hi - p->clip_lo);
    for (i = 0; i < TH_PIXELS; i++) {
        float t = th_pixel_invalid(temps[i]) ? fill : temps[i];
        float x;
        if (mode == TH_INPUT_WINDOW) {
            x = clampf((t - lo) / span, 0.0f, 1.0f);
        } else {
            x = (t - centre) / p->relative_span_k;
            if (mode != TH_INPUT_RELATIVE) x = clampf(x, p->clip_lo, p->clip_hi);
        }
        out[i * ch] = quantize(x, p->input_scale, p->input_zero_point);
        if (mode == TH_INPUT_TWO_CHANNEL) {
            float x1 = clampf((t - lo) / abs_step + p->clip_lo, p->clip_lo, p->clip_hi);
            out[i * ch + 1] = quantize(x1, p->input_scale, p->input_zero_point);
        }
    }
    return 0;
}

void th_dequantize(const int8_t *q, int n, const th_model_params_t *p, float *z)
{
    int i;
    for (i = 0; i < n; i++) z[i] = (float)((int)q[i] - p->output_zero_point) * p->output_scale;
}

void th_softmax(const float *z, int n, float *p)
{
    int i;
    float zmax = z[0], sum = 0.0f;
    for (i = 1; i < n; i++)
        if (z[i] > zmax) zmax = z[i];
    for (i = 0; i < n; i++) {
        p[i] = expf(z[i] - zmax);
        sum += p[i];
    }
    for (i = 0; i < n; i++) p[i] /= sum;
}

int th_argmax(const float *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

void th_smoother_init(th_smoother_t *s, int k, int n_classes)
{
    memset(s, 0, sizeof *s);
    s->k = k < 1 ? 1 : (k > TH_SMOOTH_MAX_K ? TH_SMOOTH_MAX_K : k);
    s->n_classes = n_classes < 1 ? 1 : (n_classes > TH_MAX_CLASSES ? TH_MAX_CLASSES : n_classes);
}

void th_smoother_push(th_smoother_t *s, const float *probs, float *mean_out)
{
    int c, j;
    memcpy(s->hist[s->pos], probs, (size_t)s->n_classes * sizeof(float));
    s->pos = (s->pos + 1) % s->k;
    if (s->count < s->k) s->count++;
    for (c = 0; c < s->n_classes; c++) {
        float sum = 0.0f;
        for (j = 0; j < s->count; j++) sum += s->hist[j][c];
        mean_out[c] = sum / (float)s->count;
    }
}

th_prediction_t th_postprocess(const int8_t *q_out, const th_model_params_t *p, th_smoother_t *s, float threshold)
{
    float probs[TH_MAX_CLASSES] = {0}, mean[TH_MAX_CLASSES] = {0};
    const float *use = probs;
    th_prediction_t r;
    int n = p->num_labels > TH_MAX_CLASSES ? TH_MAX_CLASSES : p->num_labels;
    th_dequantize(q_out, n, p, probs);
    th_softmax(probs, n, probs);
    if (s != NULL) {
        th_smoother_push(s, probs, mean);
        use = mean;
    }
    r.top_index = th_argmax(use, n);
    r.confidence = use[r.top_index];
    r.label_index = r.confidence >= threshold ? r.top_index : -1;
    return r;
}
