/*
 * th_model_check: the device's model-parameter path (firmware/src/model_params.c over the
 * exported tinyheat_model.h/.c) on the host, for tests/firmware/test_fw_model.py.
 *
 *   info              -> "key=value" lines: labels, mode, window, span, scales, zero points, tflite_len, check
 *   quant             n*768 float32 (stdin) -> n*768*C int8 (th_preprocess with the model's parameters)
 *   post K THRESH     m*N int8 -> m*(int32 label, int32 top, float32 conf) (th_postprocess)
 *   dump              -> the th_model_tflite bytes (th_model_tflite_len)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_params.h"
#include "tinyheat_model.h"

int main(int argc, char **argv)
{
    const th_model_params_t *p = model_params();
    if (argc >= 2 && !strcmp(argv[1], "info")) {
        int i;
        printf("num_labels=%d\nlabels=", p->num_labels);
        for (i = 0; i < p->num_labels; i++) printf("%s%s", i ? "," : "", p->labels[i]);
        printf("\ninput_mode=%d\nwindow_lo=%.9g\nwindow_hi=%.9g\nspan=%.9g\n", p->input_mode, (double)p->window_lo_degc,
               (double)p->window_hi_degc, (double)p->relative_span_k);
        printf("clip_lo=%.9g\nclip_hi=%.9g\ninput_channels=%d\n", (double)p->clip_lo, (double)p->clip_hi, p->input_channels);
        printf("input_scale=%.9g\ninput_zero_point=%d\noutput_scale=%.9g\noutput_zero_point=%d\n", (double)p->input_scale,
               p->input_zero_point, (double)p->output_scale, p->output_zero_point);
        printf("tflite_len=%u\narena_bytes=%d\nnum_ops=%d\naligned16=%d\ncheck=%d\n", th_model_tflite_len,
               TH_MODEL_ARENA_BYTES, TH_MODEL_NUM_OPS, (int)(((size_t)th_model_tflite) % 16 == 0),
               th_model_params_check(p));
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "dump")) {
        fwrite(th_model_tflite, 1, th_model_tflite_len, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "quant")) {
        static float f[768];
        static int8_t q[TH_MAX_INPUT_BYTES];
        while (fread(f, sizeof(float), 768, stdin) == 768) {
            if (th_preprocess(f, p, q) != 0) return 1;
            fwrite(q, 1, (size_t)768 * (size_t)p->input_channels, stdout);
        }
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "post")) {
        th_smoother_t s;
        int8_t q[TH_MAX_CLASSES];
        int k = atoi(argv[2]);
        float thr = strtof(argv[3], NULL);
        th_smoother_init(&s, k, p->num_labels);
        while (fread(q, 1, (size_t)p->num_labels, stdin) == (size_t)p->num_labels) {
            th_prediction_t r = th_postprocess(q, p, k > 0 ? &s : NULL, thr);
            int32_t li = r.label_index, ti = r.top_index;
            fwrite(&li, 4, 1, stdout);
            fwrite(&ti, 4, 1, stdout);
            fwrite(&r.confidence, 4, 1, stdout);
        }
        return 0;
    }
    fprintf(stderr, "usage: th_model_check info|dump|quant|post K THRESH\n");
    return 2;
}
