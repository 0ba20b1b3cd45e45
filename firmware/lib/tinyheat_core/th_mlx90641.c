/* MLX90641 compensation in float32. See th_mlx90641.h; formulas as MLX90641_API.cpp. */
#include "th_mlx90641.h"

#include <math.h>
#include <string.h>

static float s11(uint16_t v) { return (float)(v > 1023u ? (int)v - 2048 : (int)v); }
static float pow2f(int e) { return ldexpf(1.0f, e); }

int th_mlx41_hamming_decode(uint16_t ee[TH_MLX41_EE_WORDS])
{
    /* syndrome -> data bit to flip (the driver's switch) */
    static const int8_t flip[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                    15, 11, 12, 0, 13, 1, 2, 3, 14, 4, 5, 6, 7, 8, 9, 10};
    int result = 0;
    if (!ee) return TH_MLX41_E_ARG;
    for (int a = 16; a < TH_MLX41_EE_WORDS; a++) {
        uint16_t d = ee[a];
        int D[16], p0, p1, p2, p3, p4, check;
        for (int i = 0; i < 16; i++) D[i] = (d >> i) & 1;
        p0 = D[0] ^ D[1] ^ D[3] ^ D[4] ^ D[6] ^ D[8] ^ D[10] ^ D[11];
        p1 = D[0] ^ D[2] ^ D[3] ^ D[5] ^ D[6] ^ D[9] ^ D[10] ^ D[12];
        p2 = D[1] ^ D[2] ^ D[3] ^ D[7] ^ D[8] ^ D[9] ^ D[10] ^ D[13];
        p3 = D[4] ^ D[5] ^ D[6] ^ D[7] ^ D[8] ^ D[9] ^ D[10] ^ D[14];
        p4 = 0;
        for (int i = 0; i < 16; i++) p4 ^= D[i];
        check = p0 | p1 << 1 | p2 << 2 | p3 << 3 | p4 << 4;
        if (check) {
            if (check > 15 && flip[check] >= 0) {
                d ^= (uint16_t)(1u << flip[check]);
                if (result == 0) result = 1;
            } else {
                result = TH_MLX41_E_EEPROM;
            }
        }
        ee[a] = d & 0x07FFu;
    }
    return result;
}

/* Quantise v[] as the driver: scale = the smallest k with max|v| * 2^k >= limit, q = round half
 * away from zero (float), returns the value q / 2^k. */
static void quantise(float *v, int n, float limit, int is_abs)
{
    float m = is_abs ? fabsf(v[0]) : v[0], t;
    int k = 0;
    for (int i = 1; i < n; i++) {
        float a = is_abs ? fabsf(v[i]) : v[i];
        if (a > m) m = a;
    }
    t = m;
    while (t < limit && k < 60) {
        t *= 2.0f;
        k++;
    }
    for (int i = 0; i < n; i++) {
        float x = v[i] * pow2f(k);
        float q = x < 0 ? (float)(int32_t)(x - 0.5f) : (float)(int32_t)(x + 0.5f);
        v[i] = q / pow2f(k);
    }
}

int th_mlx41_extract(const uint16_t ee[TH_MLX41_EE_WORDS], th_mlx41_params_t *p)
{
    float rowmax[6];
    int scale_offset, kta_s1, kta_s2, kv_s1, kv_s2;
    float offset_ref, kta_avg, kv_avg;
    if (!ee || !p) return TH_MLX41_E_ARG;
    if ((ee[10] & 0x0040u) == 0) return TH_MLX41_E_EEPROM; /* device select (driver CheckEEPROMValid) */
    memset(p, 0, sizeof *p);
    p->kVdd = 32.0f * s11(ee[39]);
    p->vdd25 = 32.0f * s11(ee[38]);
    p->KvPTAT = s11(ee[43]) / 4096.0f;
    p->KtPTAT = s11(ee[42]) / 8.0f;
    p->vPTAT25 = 32.0f * (float)ee[40] + (float)ee[41];
    p->alphaPTAT = (float)ee[44] / 128.0f;
    p->gainEE = (float)(int16_t)(uint16_t)(32u * ee[36] + ee[37]);
    {
        float tgc = (float)(ee[51] & 0x01FFu);
        p->tgc = (tgc > 255.0f ? tgc - 512.0f : tgc) / 64.0f;
    }
    p->emissivityEE = s11(ee[35]) / 512.0f;
    p->resolutionEE = (uint8_t)((ee[51] & 0x0600u) >> 9);
    p->KsTa = s11(ee[34]) / 32768.0f;
    {
        static const uint8_t k_idx[8] = {53, 54, 55, 56, 57, 59, 61, 63};
        float scale = pow2f((int)(ee[52] & 0x1Fu));
        p->ct[0] = -40.0f;
        p->ct[1] = -20.0f;
        p->ct[2] = 0.0f;
        p->ct[3] = 80.0f;
        p->ct[4] = 120.0f;
        p->ct[5] = (float)ee[58];
        p->ct[6] = (float)ee[60];
        p->ct[7] = (float)ee[62];
        for (int i = 0; i < 8; i++) p->ksTo[i] = s11(ee[k_idx[i]]) / scale;
    }
    /* CP (datasheet: before alpha, which needs alpha_CP; Kta/Kv of the CP 6-bit signed) */
    {
        float cp_kta = (float)(ee[49] & 0x3Fu), cp_kv = (float)(ee[50] & 0x3Fu);
        p->cpAlpha = s11(ee[45]) / pow2f((int)(ee[46] & 0x3Fu));
        p->cpOffset = (float)(int16_t)(uint16_t)(32u * ee[47] + ee[48]);
        if (cp_kta > 31.0f) cp_kta -= 64.0f;
        if (cp_kv > 31.0f) cp_kv -= 64.0f;
        p->cpKta = cp_kta / pow2f((int)(ee[49] >> 6));
        p->cpKv = cp_kv / pow2f((int)(ee[50] >> 6));
    }
    /* alpha: rows of 32 pixels (= 2 sensor rows) with their own scale */
    for (int r = 0; r < 6; r++) {
        uint16_t w = ee[25 + r / 2];
        int scale = (int)((r % 2 == 0) ? (w >> 5) : (w & 0x1Fu)) + 20;
        rowmax[r] = (float)ee[28 + r] / pow2f(scale) / 2047.0f;
    }
    for (int i = 0; i < TH_MLX41_MAX_BROKEN; i++) p->broken[i] = 0xFFFFu;
    for (int i = 0; i < TH_MLX41_PIXELS && p->n_broken < TH_MLX41_MAX_BROKEN; i++)
        if (ee[64 + i] == 0 && ee[256 + i] == 0 && ee[448 + i] == 0 && ee[640 + i] == 0) p->broken[p->n_broken++] = (uint16_t)i;
    for (int i = 0; i < TH_MLX41_PIXELS; i++) {
        float a = (float)ee[256 + i] * rowmax[i / 32] - p->tgc * p->cpAlpha;
        p->alpha[i] = a != 0.0f ? 1e-6f / a : 0.0f; /* the driver's alphaTemp (SCALEALPHA / alpha) */
    }
    for (int b = 0; b < p->n_broken; b++) p->alpha[p->broken[b]] = 0.0f; /* interpolated later */
    {
        /* the driver stores round(alphaTemp * 2^s) as uint16 (s: max * 2^s >= 32768) and later
         * uses SCALEALPHA * 2^s / that: reproduce the quantised value. A broken pixel (alpha word
         * 0) would make the driver's maximum infinite; it is left out here. */
        float m = p->alpha[0], t;
        int s = 0;
        for (int i = 1; i < TH_MLX41_PIXELS; i++)
            if (p->alpha[i] > m) m = p->alpha[i];
        t = m;
        while (t < 32768.0f && s < 60) {
            t *= 2.0f;
            s++;
        }
        if (!(m > 0.0f) || !isfinite(m)) return TH_MLX41_E_EEPROM;
        for (int i = 0; i < TH_MLX41_PIXELS; i++) {
            float x = p->alpha[i] * pow2f(s) + 0.5f;
            float q = x < 65535.0f ? (float)(uint16_t)x : 65535.0f;
            if (q == 0.0f) q = 1.0f; /* broken pixels only (m > 0): their To is replaced */
            p->alpha[i] = 1e-6f * pow2f(s) / q;
        }
    }
    scale_offset = 1 << (ee[16] >> 5);
    offset_ref = (float)(int16_t)(uint16_t)(32u * ee[17] + ee[18]);
    for (int i = 0; i < TH_MLX41_PIXELS; i++) {
        p->offset[0][i] = s11(ee[64 + i]) * (float)scale_offset + offset_ref;
        p->offset[1][i] = s11(ee[640 + i]) * (float)scale_offset + offset_ref;
    }
    kta_avg = s11(ee[21]);
    kta_s1 = ee[22] >> 5;
    kta_s2 = ee[22] & 0x1F;
    kv_avg = s11(ee[23]);
    kv_s1 = ee[24] >> 5;
    kv_s2 = ee[24] & 0x1F;
    for (int i = 0; i < TH_MLX41_PIXELS; i++) {
        int k = ee[448 + i] >> 5, v = ee[448 + i] & 0x1F;
        if (k > 31) k -= 64;
        if (v > 15) v -= 32;
        p->kta[i] = ((float)k * pow2f(kta_s2) + kta_avg) / pow2f(kta_s1);
        p->kv[i] = ((float)v * pow2f(kv_s2) + kv_avg) / pow2f(kv_s1);
    }
    quantise(p->kta, TH_MLX41_PIXELS, 64.0f, 1);
    quantise(p->kv, TH_MLX41_PIXELS, 64.0f, 1);
    if (p->kVdd == 0.0f || p->KtPTAT == 0.0f || p->gainEE == 0.0f) return TH_MLX41_E_EEPROM;
    return TH_MLX41_OK;
}

static float sraw(uint16_t v) { return (float)(int16_t)v; }

float th_mlx41_vdd(const uint16_t f[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p)
{
    int res_ram = (f[TH_MLX41_IDX_CTRL1] & 0x0C00u) >> 10;
    float corr = pow2f((int)p->resolutionEE) / pow2f(res_ram);
    return (corr * sraw(f[TH_MLX41_IDX_VDD]) - p->vdd25) / p->kVdd + 3.3f;
}

float th_mlx41_ta(const uint16_t f[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p)
{
    float vdd = th_mlx41_vdd(f, p);
    float ptat = sraw(f[TH_MLX41_IDX_TA_PTAT]), vbe = sraw(f[TH_MLX41_IDX_TA_VBE]);
    float art = (ptat / (ptat * p->alphaPTAT + vbe)) * 262144.0f; /* 2^18 */
    return (art / (1.0f + p->KvPTAT * (vdd - 3.3f)) - p->vPTAT25) / p->KtPTAT + 25.0f;
}

int th_mlx41_to(const uint16_t f[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p, float emissivity, float tr,
                float to[TH_MLX41_PIXELS], float *ta_out)
{
    float vdd, ta, ta4, tr4, taTr, gain, cp, corr[8], kt;
    int sp;
    if (!f || !p || !to || !(emissivity > 0.0f && emissivity <= 1.0f)) return TH_MLX41_E_ARG;
    sp = f[TH_MLX41_IDX_SUBPAGE];
    if (sp > 1) return TH_MLX41_E_ARG;
    if (f[TH_MLX41_IDX_GAIN] == 0) return TH_MLX41_E_FRAME;
    vdd = th_mlx41_vdd(f, p);
    ta = th_mlx41_ta(f, p);
    if (!isfinite(vdd) || !isfinite(ta)) return TH_MLX41_E_FRAME;
    if (ta_out) *ta_out = ta;
    ta4 = ta + 273.15f;
    ta4 = ta4 * ta4;
    ta4 = ta4 * ta4;
    tr4 = tr + 273.15f;
    tr4 = tr4 * tr4;
    tr4 = tr4 * tr4;
    taTr = tr4 - (tr4 - ta4) / emissivity;
    corr[1] = 1.0f / (1.0f + p->ksTo[1] * 20.0f);
    corr[0] = corr[1] / (1.0f + p->ksTo[0] * 20.0f);
    corr[2] = 1.0f;
    corr[3] = 1.0f + p->ksTo[2] * p->ct[3];
    for (int r = 4; r < 8; r++) corr[r] = corr[r - 1] * (1.0f + p->ksTo[r - 1] * (p->ct[r] - p->ct[r - 1]));
    gain = p->gainEE / sraw(f[TH_MLX41_IDX_GAIN]);
    cp = sraw(f[TH_MLX41_IDX_CP]) * gain;
    cp -= p->cpOffset * (1.0f + p->cpKta * (ta - 25.0f)) * (1.0f + p->cpKv * (vdd - 3.3f));
    kt = 1.0f + p->KsTa * (ta - 25.0f);
    for (int i = 0; i < TH_MLX41_PIXELS; i++) {
        float ir = sraw(f[i]) * gain, a, sx, t;
        int r;
        ir -= p->offset[sp][i] * (1.0f + p->kta[i] * (ta - 25.0f)) * (1.0f + p->kv[i] * (vdd - 3.3f));
        ir -= p->tgc * cp;
        ir /= emissivity;
        a = p->alpha[i] * kt;
        sx = a * a * a * (ir + a * taTr);
        sx = sqrtf(sqrtf(sx)) * p->ksTo[2];
        t = sqrtf(sqrtf(ir / (a * (1.0f - p->ksTo[2] * 273.15f) + sx) + taTr)) - 273.15f;
        for (r = 0; r < 7 && t >= p->ct[r + 1]; r++) {}
        to[i] = sqrtf(sqrtf(ir / (a * corr[r] * (1.0f + p->ksTo[r] * (t - p->ct[r]))) + taTr)) - 273.15f;
    }
    /* broken pixels: from the neighbours of their row (16 columns) */
    for (int b = 0; b < p->n_broken; b++) {
        int i = p->broken[b], c = i % TH_MLX41_COLS;
        if (c == 0) to[i] = to[i + 1];
        else if (c == TH_MLX41_COLS - 1) to[i] = to[i - 1];
        else if (c == 1 || c == TH_MLX41_COLS - 2) to[i] = (to[i - 1] + to[i + 1]) / 2.0f;
        else {
            float a0 = to[i + 1] - to[i + 2], a1 = to[i - 1] - to[i - 2];
            to[i] = fabsf(a0) > fabsf(a1) ? to[i - 1] + a1 : to[i + 1] + a0;
        }
    }
    return TH_MLX41_OK;
}
