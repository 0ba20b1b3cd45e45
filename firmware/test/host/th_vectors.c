/*
 * th_vectors: runs the portable core on binary vectors for the Python parity tests
 * (tests/firmware/test_parity.py). Input on stdin, output on stdout, native byte order.
 *
 *   grey LO HI                         n*768 float32 -> n*768 uint8      (th_frame_to_grey)
 *   ck                                 n*768 float32 -> n*768 uint16     (th_frame_to_centikelvin)
 *   pgm                                768 float32   -> 1551 bytes       (th_pgm_encode)
 *   stats                              n*768 float32 -> n*(4 float32 + int32) min max mean centre n_invalid
 *   median                             n*768 float32 -> n float32        (th_median_valid)
 *   quant MODE LO HI SPAN SCALE ZP [CLIP_LO CLIP_HI]
 *                                      n*768 float32 -> n*768*C int8     (th_preprocess, C by MODE;
 *                                      clip default -0.5 2.0)
 *   post N SCALE ZP K THRESH           m*N int8      -> m*(int32 label, int32 top, float32 conf)
 *   render W H MIRROR MODE LO HI SPAN  768 float32   -> 2 float32 (lo, hi) + W*H uint16 RGB565
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_classify.h"
#include "th_frame.h"
#include "th_render.h"

static int read_frame(float *f)
{
    return fread(f, sizeof(float), TH_PIXELS, stdin) == TH_PIXELS;
}

static int usage(void)
{
    fprintf(stderr, "usage: th_vectors grey|ck|pgm|stats|median|quant|post|render ARGS (see source)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static float f[TH_PIXELS];
    const char *cmd;
    if (argc < 2) return usage();
    cmd = argv[1];
    if (!strcmp(cmd, "grey") && argc == 4) {
        float lo = strtof(argv[2], NULL), hi = strtof(argv[3], NULL);
        uint8_t g[TH_PIXELS];
        while (read_frame(f)) {
            th_frame_to_grey(f, lo, hi, g);
            fwrite(g, 1, sizeof g, stdout);
        }
    } else if (!strcmp(cmd, "ck") && argc == 2) {
        uint16_t ck[TH_PIXELS];
        while (read_frame(f)) {
            th_frame_to_centikelvin(f, ck);
            fwrite(ck, 2, TH_PIXELS, stdout);
        }
    } else if (!strcmp(cmd, "pgm") && argc == 2) {
        uint8_t buf[TH_PGM_BYTES];
        if (!read_frame(f)) return 1;
        fwrite(buf, 1, th_pgm_encode(f, buf, sizeof buf), stdout);
    } else if (!strcmp(cmd, "stats") && argc == 2) {
        th_frame_stats_t st;
        while (read_frame(f)) {
            float v[4];
            int32_t n;
            th_frame_stats(f, &st);
            v[0] = st.min_degc; v[1] = st.max_degc; v[2] = st.mean_degc; v[3] = st.centre_degc;
            n = st.n_invalid;
            fwrite(v, 4, 4, stdout);
            fwrite(&n, 4, 1, stdout);
        }
    } else if (!strcmp(cmd, "median") && argc == 2) {
        while (read_frame(f)) {
            float m = th_median_valid(f);
            fwrite(&m, 4, 1, stdout);
        }
    } else if (!strcmp(cmd, "quant") && (argc == 8 || argc == 10)) {
        th_model_params_t p;
        static int8_t q[TH_MAX_INPUT_BYTES];
        memset(&p, 0, sizeof p);
        p.num_labels = 1;
        p.output_scale = 1.0f;
        p.input_mode = atoi(argv[2]);
        p.window_lo_degc = strtof(argv[3], NULL);
        p.window_hi_degc = strtof(argv[4], NULL);
        p.relative_span_k = strtof(argv[5], NULL);
        p.input_scale = strtof(argv[6], NULL);
        p.input_zero_point = atoi(argv[7]);
        p.clip_lo = argc == 10 ? strtof(argv[8], NULL) : -0.5f;
        p.clip_hi = argc == 10 ? strtof(argv[9], NULL) : 2.0f;
        p.input_channels = th_input_channels_of_mode(p.input_mode);
        while (read_frame(f)) {
            if (th_preprocess(f, &p, q) != 0) {
                fprintf(stderr, "invalid model parameters\n");
                return 1;
            }
            fwrite(q, 1, (size_t)TH_PIXELS * (size_t)p.input_channels, stdout);
        }
    } else if (!strcmp(cmd, "post") && argc == 7) {
        th_model_params_t p;
        th_smoother_t s;
        int8_t q[TH_MAX_CLASSES];
        int k;
        float thr;
        memset(&p, 0, sizeof p);
        p.num_labels = atoi(argv[2]);
        p.output_scale = strtof(argv[3], NULL);
        p.output_zero_point = atoi(argv[4]);
        k = atoi(argv[5]);
        thr = strtof(argv[6], NULL);
        if (p.num_labels < 1 || p.num_labels > TH_MAX_CLASSES) return usage();
        th_smoother_init(&s, k, p.num_labels);
        while (fread(q, 1, (size_t)p.num_labels, stdin) == (size_t)p.num_labels) {
            th_prediction_t r = th_postprocess(q, &p, k > 0 ? &s : NULL, thr);
            int32_t li = r.label_index, ti = r.top_index;
            fwrite(&li, 4, 1, stdout);
            fwrite(&ti, 4, 1, stdout);
            fwrite(&r.confidence, 4, 1, stdout);
        }
    } else if (!strcmp(cmd, "render") && argc == 9) {
        static th_heatmap_t hm;
        th_range_cfg_t cfg;
        int w = atoi(argv[2]), h = atoi(argv[3]), mirror = atoi(argv[4]), y;
        uint16_t *row;
        if (w < 1 || h < 1 || w > 4096) return usage();
        cfg.mode = (th_range_mode_t)atoi(argv[5]);
        cfg.lo_degc = strtof(argv[6], NULL);
        cfg.hi_degc = strtof(argv[7], NULL);
        cfg.min_span_k = strtof(argv[8], NULL);
        if (!read_frame(f)) return 1;
        th_heatmap_prepare(&hm, f, &cfg);
        fwrite(&hm.lo_degc, 4, 1, stdout);
        fwrite(&hm.hi_degc, 4, 1, stdout);
        row = (uint16_t *)malloc((size_t)w * 2);
        for (y = 0; y < h; y++) {
            th_heatmap_row(&hm, w, h, y, mirror, row);
            fwrite(row, 2, (size_t)w, stdout);
        }
        free(row);
    } else {
        return usage();
    }
    return 0;
}
