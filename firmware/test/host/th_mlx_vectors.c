/*
 * th_mlx_vectors: runs the float32 MLX90640 compensation (th_mlx90640.c) on binary vectors for
 * tests/firmware/test_fw_mlx90640.py. Native byte order on stdin/stdout.
 *
 *   to EMISSIVITY TR_MODE TR POLICY
 *        stdin : 832 uint16 EEPROM image, then n frames of 834 uint16 (th_mlx90640.h layout)
 *        stdout: th_mlx_extract() result as int32, then per frame: int32 th_mlx_to() result,
 *                float32 Ta degC, float32 Vdd V, 768 float32 To degC (pixels of the other
 *                subpage are NaN). TR_MODE "abs": tr = TR degC; "ta": tr = Ta + TR (e.g. -8).
 *                POLICY 0 = interpolate deviating pixels, 1 = NaN.
 *   params
 *        stdin : 832 uint16 EEPROM image
 *        stdout: int32 result, 768 float32 alpha, offset, kta, kv; then float32 kVdd, vdd25,
 *                KvPTAT, KtPTAT, vPTAT25, alphaPTAT, gainEE, tgc, cpKv, cpKta, KsTa,
 *                ksTo[4], ct[4], cpAlpha[2], cpOffset[2], ilChessC[3]; int32 resolutionEE,
 *                chess_calibrated, n_bad, bad[16]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_mlx90640.h"

static th_mlx_params_t g_p;

static void put_f(float v) { fwrite(&v, sizeof v, 1, stdout); }
static void put_i(int v)
{
    int32_t x = (int32_t)v;
    fwrite(&x, sizeof x, 1, stdout);
}

int main(int argc, char **argv)
{
    static uint16_t ee[TH_MLX_EE_WORDS], frame[TH_MLX_FRAME_WORDS];
    int r, i;
    if (argc < 2) goto usage;
    if (fread(ee, sizeof ee[0], TH_MLX_EE_WORDS, stdin) != TH_MLX_EE_WORDS) {
        fprintf(stderr, "short EEPROM image\n");
        return 1;
    }
    r = th_mlx_extract(ee, &g_p);
    put_i(r);
    if (!strcmp(argv[1], "to") && argc == 6) {
        float e = strtof(argv[2], NULL), tr = strtof(argv[4], NULL);
        int rel = !strcmp(argv[3], "ta");
        th_mlx_bad_policy_t pol = atoi(argv[5]) ? TH_MLX_BAD_NAN : TH_MLX_BAD_INTERPOLATE;
        while (fread(frame, sizeof frame[0], TH_MLX_FRAME_WORDS, stdin) == TH_MLX_FRAME_WORDS) {
            float to[TH_MLX_PIXELS], ta = NAN, vdd = NAN;
            for (i = 0; i < TH_MLX_PIXELS; i++) to[i] = NAN;
            if (r == TH_MLX_OK) {
                ta = th_mlx_ta(frame, &g_p);
                vdd = th_mlx_vdd(frame, &g_p);
                put_i(th_mlx_to(frame, &g_p, e, rel ? ta + tr : tr, pol, to, NULL));
            } else {
                put_i(r);
            }
            put_f(ta);
            put_f(vdd);
            fwrite(to, sizeof to[0], TH_MLX_PIXELS, stdout);
        }
        return 0;
    }
    if (!strcmp(argv[1], "params") && argc == 2) {
        const th_mlx_params_t *p = &g_p;
        fwrite(p->alpha, 4, TH_MLX_PIXELS, stdout);
        fwrite(p->offset, 4, TH_MLX_PIXELS, stdout);
        fwrite(p->kta, 4, TH_MLX_PIXELS, stdout);
        fwrite(p->kv, 4, TH_MLX_PIXELS, stdout);
        put_f((float)p->kVdd); put_f((float)p->vdd25); put_f(p->KvPTAT); put_f(p->KtPTAT);
        put_f(p->vPTAT25); put_f(p->alphaPTAT); put_f(p->gainEE); put_f(p->tgc); put_f(p->cpKv);
        put_f(p->cpKta); put_f(p->KsTa);
        for (i = 0; i < 4; i++) put_f(p->ksTo[i]);
        for (i = 0; i < 4; i++) put_f(p->ct[i]);
        for (i = 0; i < 2; i++) put_f(p->cpAlpha[i]);
        for (i = 0; i < 2; i++) put_f(p->cpOffset[i]);
        for (i = 0; i < 3; i++) put_f(p->ilChessC[i]);
        put_i(p->resolutionEE); put_i(p->chess_calibrated); put_i(p->n_bad);
        for (i = 0; i < TH_MLX_MAX_BAD; i++) put_i(i < p->n_bad ? p->bad[i] : -1);
        return 0;
    }
usage:
    fprintf(stderr, "usage: th_mlx_vectors to E abs|ta TR POLICY | params  (see source)\n");
    return 2;
}
