/*
 * th_mlx41_vectors: the float32 MLX90641 compensation (th_mlx90641.c) on binary vectors for
 * tests/firmware/test_fw_mlx90641.py. Native byte order on stdin/stdout.
 *
 *   to EMISSIVITY TR_OFFSET
 *        stdin : 832 uint16 raw EEPROM image (Hamming coded, as read from 0x2400), then n frames
 *                of 242 uint16 (th_mlx90641.h layout)
 *        stdout: int32 decode/extract result, then per frame: float32 Ta, float32 Vdd,
 *                192 float32 To degC (tr = Ta + TR_OFFSET)
 *   raw EMISSIVITY TR_OFFSET
 *        stdin : EEPROM as above, one 242-word frame template (auxiliary words), 192 float32
 *                wanted To degC
 *        stdout: the template with pixel words [0..191] set so that To lands near the wanted
 *                values (the model inverted without the KsTo range correction; test images only)
 *
 * Built with -DTH_MELEXIS_REFERENCE and C++ against the pinned Melexis MLX90641_API.cpp, the
 * same program is the reference of tests/firmware/make_mlx41_vectors.py (`to` only).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TH_MELEXIS_REFERENCE
#include <stdint.h>
#include "MLX90641_API.h"
int MLX90641_HammingDecode(uint16_t *eeData); /* not in the header; defined in MLX90641_API.cpp */
#else
#include "th_mlx90641.h"
#endif

static void put_f(float v) { fwrite(&v, sizeof v, 1, stdout); }
static void put_i(int v)
{
    int32_t x = (int32_t)v;
    fwrite(&x, sizeof x, 1, stdout);
}

#ifdef TH_MELEXIS_REFERENCE
static paramsMLX90641 g_ref;
#else
static th_mlx41_params_t g_p;
#endif

int main(int argc, char **argv)
{
    static uint16_t ee[832], frame[242];
    float e, tr_off;
    int r;
    if (argc != 4) {
        fprintf(stderr, "usage: th_mlx41_vectors to|raw EMISSIVITY TR_OFFSET\n");
        return 2;
    }
    e = strtof(argv[2], NULL);
    tr_off = strtof(argv[3], NULL);
    if (fread(ee, sizeof ee[0], 832, stdin) != 832) {
        fprintf(stderr, "short EEPROM image\n");
        return 1;
    }
#ifdef TH_MELEXIS_REFERENCE
    r = MLX90641_HammingDecode(ee);
    if (r == 0 || r == -9) {
        /* twice: the driver extracts alpha before alpha_CP; the second pass uses it (datasheet) */
        r = MLX90641_ExtractParameters(ee, &g_ref);
        r = MLX90641_ExtractParameters(ee, &g_ref);
    }
    put_i(r);
    while (fread(frame, sizeof frame[0], 242, stdin) == 242) {
        float to[192];
        float ta = MLX90641_GetTa(frame, &g_ref), vdd = MLX90641_GetVdd(frame, &g_ref);
        MLX90641_CalculateTo(frame, &g_ref, e, ta + tr_off, to);
        put_f(ta);
        put_f(vdd);
        fwrite(to, sizeof to[0], 192, stdout);
    }
#else
    r = th_mlx41_hamming_decode(ee);
    if (r >= 0) r = th_mlx41_extract(ee, &g_p);
    if (!strcmp(argv[1], "raw")) {
        float want[192], ta, vdd, ta4, tr4, taTr, gain, cp;
        if (r != 0 || fread(frame, sizeof frame[0], 242, stdin) != 242 || fread(want, sizeof want[0], 192, stdin) != 192)
            return 1;
        ta = th_mlx41_ta(frame, &g_p);
        vdd = th_mlx41_vdd(frame, &g_p);
        ta4 = powf(ta + 273.15f, 4.0f);
        tr4 = powf(ta + tr_off + 273.15f, 4.0f);
        taTr = tr4 - (tr4 - ta4) / e;
        gain = g_p.gainEE / (float)(int16_t)frame[202];
        cp = (float)(int16_t)frame[200] * gain - g_p.cpOffset * (1 + g_p.cpKta * (ta - 25)) * (1 + g_p.cpKv * (vdd - 3.3f));
        for (int i = 0; i < 192; i++) {
            float a = g_p.alpha[i] * (1 + g_p.KsTa * (ta - 25));
            float ir = a * (powf(want[i] + 273.15f, 4.0f) - taTr) * e;
            float raw = (ir + g_p.tgc * cp + g_p.offset[frame[241]][i] * (1 + g_p.kta[i] * (ta - 25)) *
                                                (1 + g_p.kv[i] * (vdd - 3.3f))) / gain;
            long q = lroundf(raw);
            if (q > 32767) q = 32767;
            if (q < -32768) q = -32768;
            frame[i] = (uint16_t)(int16_t)q;
        }
        fwrite(frame, sizeof frame[0], 242, stdout);
        return 0;
    }
    put_i(r);
    while (fread(frame, sizeof frame[0], 242, stdin) == 242) {
        float to[192], ta = NAN;
        for (int i = 0; i < 192; i++) to[i] = NAN;
        if (r >= 0) th_mlx41_to(frame, &g_p, e, th_mlx41_ta(frame, &g_p) + tr_off, to, &ta);
        put_f(ta);
        put_f(r >= 0 ? th_mlx41_vdd(frame, &g_p) : NAN);
        fwrite(to, sizeof to[0], 192, stdout);
    }
#endif
    return 0;
}
