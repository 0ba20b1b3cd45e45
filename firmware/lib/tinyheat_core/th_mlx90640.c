/* MLX90640 compensation in float32. See th_mlx90640.h.
 * Section numbers refer to the MLX90640 datasheet rev 12, section 11 "Calculation"
 * (11.1: restoring the calibration parameters from the EEPROM, 11.2: temperature calculation).
 * Only single-precision arithmetic: every constant has an f suffix, powers of two are built
 * exactly from their IEEE-754 bits (exp2i), x^4 and x^3 are products, x^(1/4) is sqrtf(sqrtf()). */
#include "th_mlx90640.h"

#include <math.h>
#include <string.h>

#define KELVIN 273.15f

/* 2^n as a float, exact, for -126 <= n <= 127 (the EEPROM scales are 0..45). */
static float exp2i(int n)
{
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Two's-complement sign extension of an n-bit field (the datasheet's "if x > 2^(n-1)-1: x -= 2^n"). */
static int sext(unsigned v, unsigned nbits)
{
    unsigned m = 1u << (nbits - 1u);
    v &= (1u << nbits) - 1u;
    return (int)(v ^ m) - (int)m;
}

static int s16(uint16_t v) { return sext(v, 16); }

int th_mlx_pixel_in_subpage(int i, int subpage, int chess)
{
    int row = i >> 5, col = i & 31;
    int page = chess ? ((row + col) & 1) : (row & 1);
    return page == subpage;
}

int th_mlx_extract(const uint16_t ee[TH_MLX_EE_WORDS], th_mlx_params_t *p)
{
    int acc_row[24], acc_col[32], occ_row[24], occ_col[32];
    int i, j, n_zero = 0, n_ones = 0;
    int acc_rem_scale, acc_col_scale, acc_row_scale, alpha_scale, alpha_ref;
    int occ_rem_scale, occ_col_scale, occ_row_scale, offset_ref;
    int kta_scale1, kta_scale2, kv_scale, kta_rc[4], kv_rc[4], step, ksto_scale;
    float inv_alpha_scale, inv_kta_scale1, inv_kv_scale;

    if (!ee || !p) return TH_MLX_E_ARG;
    memset(p, 0, sizeof *p);
    for (i = 0; i < TH_MLX_EE_WORDS; i++) {
        n_zero += ee[i] == 0x0000;
        n_ones += ee[i] == 0xFFFF;
    }
    if (n_zero == TH_MLX_EE_WORDS || n_ones == TH_MLX_EE_WORDS) return TH_MLX_E_EEPROM;
    /* device-select bit (0x240A bit 6) must be clear: the driver's CheckEEPROMValid (-7) */
    if (ee[10] & 0x0040) return TH_MLX_E_EEPROM;

    /* 11.1.1 Vdd: K_Vdd = signed MSB of 0x2433 * 2^5; Vdd_25 = (LSB - 256) * 2^5 - 2^13 */
    p->kVdd = (int16_t)(sext(ee[51] >> 8, 8) * 32);
    p->vdd25 = (int16_t)(((int)(ee[51] & 0xFF) - 256) * 32 - 8192);

    /* 11.1.2 Ta: Kv_PTAT = 6-bit signed / 2^12, Kt_PTAT = 10-bit signed / 2^3, V_PTAT25 = 0x2431,
     * alpha_PTAT = 0x2410[15:12] / 2^2 + 8 */
    p->KvPTAT = (float)sext(ee[50] >> 10, 6) * exp2i(-12);
    p->KtPTAT = (float)sext(ee[50] & 0x03FF, 10) * exp2i(-3);
    p->vPTAT25 = (float)ee[49];
    p->alphaPTAT = (float)(ee[16] >> 12) * 0.25f + 8.0f;

    /* 11.1.3 gain: GAIN = 0x2430 (signed) */
    p->gainEE = (float)s16(ee[48]);

    /* 11.1.13 TGC = signed LSB of 0x243C / 2^5; 11.1.10 KsTa = signed MSB of 0x243C / 2^13 */
    p->tgc = (float)sext(ee[60] & 0xFF, 8) * exp2i(-5);
    p->KsTa = (float)sext(ee[60] >> 8, 8) * exp2i(-13);

    /* 11.1.15 resolution control at calibration: 0x2438[13:12] */
    p->resolutionEE = (uint8_t)((ee[56] >> 12) & 0x3);

    /* 11.1.11 KsTo and corner temperatures: step = 0x243F[13:12] * 10 degC,
     * CT3 = 0x243F[7:4] * step, CT4 = CT3 + 0x243F[11:8] * step, scale = 2^(0x243F[3:0] + 8) */
    step = (int)((ee[63] >> 12) & 0x3) * 10;
    p->ct[0] = -40.0f;
    p->ct[1] = 0.0f;
    p->ct[2] = (float)((int)((ee[63] >> 4) & 0xF) * step);
    p->ct[3] = p->ct[2] + (float)((int)((ee[63] >> 8) & 0xF) * step);
    ksto_scale = (int)(ee[63] & 0xF) + 8;
    p->ksTo[0] = (float)sext(ee[61] & 0xFF, 8) * exp2i(-ksto_scale);
    p->ksTo[1] = (float)sext(ee[61] >> 8, 8) * exp2i(-ksto_scale);
    p->ksTo[2] = (float)sext(ee[62] & 0xFF, 8) * exp2i(-ksto_scale);
    p->ksTo[3] = (float)sext(ee[62] >> 8, 8) * exp2i(-ksto_scale);
    /* 11.2.2.9 sensitivity correction per range (range 1 = 0..CT3 is the reference) */
    p->alphaCorrR[0] = 1.0f / (1.0f + p->ksTo[0] * 40.0f);
    p->alphaCorrR[1] = 1.0f;
    p->alphaCorrR[2] = 1.0f + p->ksTo[2] * p->ct[2];
    p->alphaCorrR[3] = p->alphaCorrR[2] * (1.0f + p->ksTo[3] * (p->ct[3] - p->ct[2]));

    /* 11.1.6 alpha: scales in 0x2420, reference 0x2421, row/column 4-bit corrections in
     * 0x2422..0x2427 / 0x2428..0x242F, per-pixel 6-bit remainder in bits 9:4 of 0x2440 + i */
    acc_rem_scale = ee[32] & 0xF;
    acc_col_scale = (ee[32] >> 4) & 0xF;
    acc_row_scale = (ee[32] >> 8) & 0xF;
    alpha_scale = (ee[32] >> 12) + 30;
    alpha_ref = ee[33];
    /* 11.1.4 offset: scales in 0x2410, reference 0x2411 (signed), row/column corrections in
     * 0x2412..0x2417 / 0x2418..0x241F, per-pixel 6-bit remainder in bits 15:10 */
    occ_rem_scale = ee[16] & 0xF;
    occ_col_scale = (ee[16] >> 4) & 0xF;
    occ_row_scale = (ee[16] >> 8) & 0xF;
    offset_ref = s16(ee[17]);
    for (i = 0; i < 24; i++) {
        acc_row[i] = sext((unsigned)(ee[34 + i / 4] >> (4 * (i % 4))), 4) * (1 << acc_row_scale);
        occ_row[i] = sext((unsigned)(ee[18 + i / 4] >> (4 * (i % 4))), 4) * (1 << occ_row_scale);
    }
    for (j = 0; j < 32; j++) {
        acc_col[j] = sext((unsigned)(ee[40 + j / 4] >> (4 * (j % 4))), 4) * (1 << acc_col_scale);
        occ_col[j] = sext((unsigned)(ee[24 + j / 4] >> (4 * (j % 4))), 4) * (1 << occ_col_scale);
    }
    inv_alpha_scale = exp2i(-alpha_scale);

    /* 11.1.5 Kta: row-odd/even x column-odd/even averages in 0x2436/0x2437, scales 0x2438[7:4]+8
     * and [3:0], per-pixel 3-bit value in bits 3:1. Index split = 2 * (row % 2) + column % 2,
     * rows/columns counted from 0, so "odd" in the datasheet's 1-based terms is index % 2 == 0. */
    kta_rc[0] = sext(ee[54] >> 8, 8);   /* row odd, column odd */
    kta_rc[2] = sext(ee[54] & 0xFF, 8); /* row even, column odd */
    kta_rc[1] = sext(ee[55] >> 8, 8);   /* row odd, column even */
    kta_rc[3] = sext(ee[55] & 0xFF, 8); /* row even, column even */
    kta_scale1 = ((ee[56] >> 4) & 0xF) + 8;
    kta_scale2 = ee[56] & 0xF;
    inv_kta_scale1 = exp2i(-kta_scale1);
    /* 11.1.7 Kv: four 4-bit values in 0x2434, scale 0x2438[11:8] */
    kv_rc[0] = sext(ee[52] >> 12, 4);
    kv_rc[2] = sext(ee[52] >> 8, 4);
    kv_rc[1] = sext(ee[52] >> 4, 4);
    kv_rc[3] = sext(ee[52], 4);
    kv_scale = (ee[56] >> 8) & 0xF;
    inv_kv_scale = exp2i(-kv_scale);

    for (i = 0; i < 24; i++) {
        for (j = 0; j < 32; j++) {
            int px = 32 * i + j, split = 2 * (i & 1) + (j & 1);
            unsigned w = ee[64 + px];
            /* integers below 2^24: the float products are exact, as in the driver */
            p->alpha[px] = (float)(alpha_ref + acc_row[i] + acc_col[j] +
                                   sext(w >> 4, 6) * (1 << acc_rem_scale)) * inv_alpha_scale;
            p->offset[px] = (float)(int16_t)(offset_ref + occ_row[i] + occ_col[j] +
                                             sext(w >> 10, 6) * (1 << occ_rem_scale));
            p->kta[px] = (float)(kta_rc[split] + sext(w >> 1, 3) * (1 << kta_scale2)) * inv_kta_scale1;
            p->kv[px] = (float)kv_rc[split] * inv_kv_scale;
            /* deviating pixels (driver ExtractDeviatingPixels): word 0 = broken, bit 0 = outlier */
            if (w == 0 || (w & 1u)) {
                if (p->n_bad >= TH_MLX_MAX_BAD) return TH_MLX_E_BAD_PIXELS;
                p->bad[p->n_bad++] = (uint16_t)px;
                if (w == 0) p->n_broken++;
            }
        }
    }

    /* 11.1.12 compensation pixels: alpha scale = 0x2420[15:12] + 27; 0x2439 alpha CP0 (10 bit)
     * and the CP1/CP0 ratio (6 bit / 2^7); 0x243A offset CP0 (10 bit) and CP1 - CP0 (6 bit);
     * 0x243B Kta_CP (LSB, / 2^kta_scale1) and Kv_CP (MSB, / 2^kv_scale) */
    p->cpAlpha[0] = (float)sext(ee[57] & 0x03FF, 10) * exp2i(-((ee[32] >> 12) + 27));
    p->cpAlpha[1] = (1.0f + (float)sext(ee[57] >> 10, 6) * exp2i(-7)) * p->cpAlpha[0];
    p->cpOffset[0] = (float)sext(ee[58] & 0x03FF, 10);
    p->cpOffset[1] = p->cpOffset[0] + (float)sext(ee[58] >> 10, 6);
    p->cpKta = (float)sext(ee[59] & 0xFF, 8) * inv_kta_scale1;
    p->cpKv = (float)sext(ee[59] >> 8, 8) * inv_kv_scale;

    /* 11.1.14 interleaved/chess correction: calibration mode = NOT 0x240A bit 11 (1 = chess);
     * IL_CHESS_C1 = 6 bit / 2^4, C2 = 5 bit / 2, C3 = 5 bit / 2^3 (0x2435) */
    p->chess_calibrated = (uint8_t)((ee[10] & 0x0800) == 0);
    p->ilChessC[0] = (float)sext(ee[53] & 0x3F, 6) * exp2i(-4);
    p->ilChessC[1] = (float)sext(ee[53] >> 6, 5) * 0.5f;
    p->ilChessC[2] = (float)sext(ee[53] >> 11, 5) * exp2i(-3);

    if (p->kVdd == 0 || p->KtPTAT == 0.0f || p->gainEE == 0.0f) return TH_MLX_E_EEPROM;
    return TH_MLX_OK;
}

/* 11.2.2.2: delta Vdd = (resolution_corr * Vdd_pix - Vdd_25) / K_Vdd, in volts;
 * resolution_corr = 2^resolutionEE / 2^resolutionRAM (control register 1 bits 11:10). */
static float delta_vdd(const uint16_t *frame, const th_mlx_params_t *p)
{
    int res_ram = (frame[TH_MLX_IDX_CTRL1] >> 10) & 0x3;
    float corr = exp2i((int)p->resolutionEE - res_ram);
    return (corr * (float)s16(frame[TH_MLX_IDX_VDD_PIX]) - (float)p->vdd25) / (float)p->kVdd;
}

float th_mlx_vdd(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p)
{
    return delta_vdd(frame, p) + 3.3f;
}

/* 11.2.2.3: V_PTAT_art = V_PTAT / (V_PTAT * alpha_PTAT + V_BE) * 2^18;
 * Ta = (V_PTAT_art / (1 + Kv_PTAT * dVdd) - V_PTAT25) / Kt_PTAT + 25 */
static float ta_from(const uint16_t *frame, const th_mlx_params_t *p, float dv)
{
    float ptat = (float)s16(frame[TH_MLX_IDX_TA_PTAT]);
    float vbe = (float)s16(frame[TH_MLX_IDX_TA_VBE]);
    float ptat_art = ptat / (ptat * p->alphaPTAT + vbe) * 262144.0f;
    return (ptat_art / (1.0f + p->KvPTAT * dv) - p->vPTAT25) / p->KtPTAT + 25.0f;
}

float th_mlx_ta(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p)
{
    return ta_from(frame, p, delta_vdd(frame, p));
}

static float median4(float a, float b, float c, float d)
{
    float lo1 = a < b ? a : b, hi1 = a < b ? b : a, lo2 = c < d ? c : d, hi2 = c < d ? d : c;
    float mid_lo = lo1 > lo2 ? lo1 : lo2, mid_hi = hi1 < hi2 ? hi1 : hi2;
    return (mid_lo + mid_hi) * 0.5f;
}

static int is_bad(const th_mlx_params_t *p, int px)
{
    int k;
    for (k = 0; k < p->n_bad; k++)
        if (p->bad[k] == px) return 1;
    return 0;
}

/* Deviating pixels of one subpage: the Melexis driver's MLX90640_BadPixelsCorrection,
 * neighbours that are deviating themselves skipped (see the header). */
static void fix_bad(const th_mlx_params_t *p, int subpage, int chess, th_mlx_bad_policy_t policy,
                    float *to)
{
    int k;
    for (k = 0; k < p->n_bad; k++) {
        int px = p->bad[k], row = px >> 5, col = px & 31, n = 0;
        float v[4];
        if (!th_mlx_pixel_in_subpage(px, subpage, chess)) continue;
        if (policy == TH_MLX_BAD_NAN) {
            to[px] = NAN;
            continue;
        }
        if (chess) {
            /* diagonal neighbours belong to the same subpage */
            static const int dr[4] = {-1, -1, 1, 1}, dc[4] = {-1, 1, -1, 1};
            int d;
            for (d = 0; d < 4; d++) {
                int r = row + dr[d], c = col + dc[d];
                if (r < 0 || r > 23 || c < 0 || c > 31 || is_bad(p, r * 32 + c)) continue;
                v[n++] = to[r * 32 + c];
            }
            if (n == 4) to[px] = median4(v[0], v[1], v[2], v[3]);
            else if (n == 3) to[px] = (v[0] + v[1] + v[2]) * (1.0f / 3.0f);
            else if (n == 2) to[px] = (v[0] + v[1]) * 0.5f;
            else if (n == 1) to[px] = v[0];
            else to[px] = NAN;
        } else {
            /* interleaved: the same row is one subpage */
            int l1 = col >= 1 && !is_bad(p, px - 1), r1 = col <= 30 && !is_bad(p, px + 1);
            int l2 = col >= 2 && !is_bad(p, px - 2), r2 = col <= 29 && !is_bad(p, px + 2);
            if (l1 && r1 && l2 && r2 && col != 1 && col != 30) {
                float ap0 = to[px + 1] - to[px + 2], ap1 = to[px - 1] - to[px - 2];
                to[px] = fabsf(ap0) > fabsf(ap1) ? to[px - 1] + ap1 : to[px + 1] + ap0;
            } else if (l1 && r1) {
                to[px] = (to[px - 1] + to[px + 1]) * 0.5f;
            } else if (l1) {
                to[px] = to[px - 1];
            } else if (r1) {
                to[px] = to[px + 1];
            } else {
                to[px] = NAN;
            }
        }
    }
}

int th_mlx_to(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p, float emissivity,
              float tr_degc, th_mlx_bad_policy_t bad, float to[TH_MLX_PIXELS], float *ta_degc)
{
    float dv, ta, dta, tak, trk, ta4, tr4, tatr, gain, ir_cp, inv_e, ks_ta, cp_alpha, off_cp_scale;
    float ksto1 = p ? p->ksTo[1] : 0.0f;
    int subpage, chess, il_correct, row, col;

    if (!frame || !p || !to || !(emissivity > 0.0f && emissivity <= 1.0f)) return TH_MLX_E_ARG;
    subpage = frame[TH_MLX_IDX_SUBPAGE];
    if (subpage > 1) return TH_MLX_E_ARG;
    if (frame[TH_MLX_IDX_GAIN] == 0) return TH_MLX_E_FRAME;

    /* 11.2.2.2 Vdd and 11.2.2.3 Ta */
    dv = delta_vdd(frame, p);
    ta = ta_from(frame, p, dv);
    if (!isfinite(ta) || !isfinite(dv)) return TH_MLX_E_FRAME;
    dta = ta - 25.0f;

    /* 11.2.2.9 (reflected temperature): T_a-r = Tr^4 - (Tr^4 - Ta^4) / emissivity, kelvin */
    tak = ta + KELVIN;
    trk = tr_degc + KELVIN;
    ta4 = (tak * tak) * (tak * tak);
    tr4 = (trk * trk) * (trk * trk);
    tatr = tr4 - (tr4 - ta4) / emissivity;

    /* 11.2.2.5.1 gain compensation: K_gain = GAIN_EE / GAIN_RAM */
    gain = p->gainEE / (float)s16(frame[TH_MLX_IDX_GAIN]);

    /* 11.2.2.6 compensation pixel of this subpage: gain, offset with Ta/Vdd dependence, and in
     * the mode not used at calibration the IL_CHESS_C1 correction of subpage 1 */
    chess = (frame[TH_MLX_IDX_CTRL1] & 0x1000) != 0;
    il_correct = chess != p->chess_calibrated;
    off_cp_scale = (1.0f + p->cpKta * dta) * (1.0f + p->cpKv * dv);
    if (subpage == 0) {
        ir_cp = (float)s16(frame[TH_MLX_IDX_CP_SP0]) * gain - p->cpOffset[0] * off_cp_scale;
    } else {
        float off1 = p->cpOffset[1] + (il_correct ? p->ilChessC[0] : 0.0f);
        ir_cp = (float)s16(frame[TH_MLX_IDX_CP_SP1]) * gain - off1 * off_cp_scale;
    }
    ir_cp *= p->tgc;                 /* 11.2.2.7: TGC * pix_OS_CP */
    inv_e = 1.0f / emissivity;       /* 11.2.2.5.5 emissivity compensation */
    ks_ta = 1.0f + p->KsTa * dta;    /* 11.2.2.8 alpha_comp factor */
    cp_alpha = p->tgc * p->cpAlpha[subpage];

    for (row = 0; row < 24; row++) {
        /* the subpage's pixels of this row: chess -> every other column starting at
         * (row + subpage) % 2; interleaved -> the whole row when row % 2 == subpage */
        int c0, cstep;
        if (chess) {
            c0 = (row + subpage) & 1;
            cstep = 2;
        } else {
            if ((row & 1) != subpage) continue;
            c0 = 0;
            cstep = 1;
        }
        for (col = c0; col < 32; col += cstep) {
            int px = row * 32 + col;
            float ir, alpha_c, sx, t, tk4;
            int range;
            /* 11.2.2.5.1 gain; 11.2.2.5.3 offset: pix_os = offset * (1 + Kta dTa) (1 + Kv dVdd) */
            ir = (float)s16(frame[px]) * gain -
                 p->offset[px] * (1.0f + p->kta[px] * dta) * (1.0f + p->kv[px] * dv);
            if (il_correct) {
                /* 11.2.2.5.4 IL/chess correction: + IL_CHESS_C3 * (2 * ilPattern - 1)
                 * - IL_CHESS_C2 * conversionPattern (the driver's integer expressions) */
                int il = row & 1;
                int conv = ((px + 2) / 4 - (px + 3) / 4 + (px + 1) / 4 - px / 4) * (1 - 2 * il);
                ir += p->ilChessC[2] * (float)(2 * il - 1) - p->ilChessC[1] * (float)conv;
            }
            /* 11.2.2.5.5 emissivity, 11.2.2.7 gradient compensation */
            ir = ir * inv_e - ir_cp;
            /* 11.2.2.8 normalising to sensitivity: alpha_comp = (alpha - TGC alpha_CP) (1 + KsTa dTa) */
            alpha_c = (p->alpha[px] - cp_alpha) * ks_ta;
            /* 11.2.2.9 To, basic range: Sx = KsTo1 * (alpha_c^3 (V_IR + alpha_c T_a-r))^(1/4),
             * To = (V_IR / (alpha_c (1 - KsTo1 * 273.15) + Sx) + T_a-r)^(1/4) - 273.15 */
            sx = (alpha_c * alpha_c * alpha_c) * (ir + alpha_c * tatr);
            sx = sqrtf(sqrtf(sx)) * ksto1;
            t = sqrtf(sqrtf(ir / (alpha_c * (1.0f - ksto1 * KELVIN) + sx) + tatr)) - KELVIN;
            /* 11.2.2.9.1 extended ranges: pick the range by the first estimate, then
             * To = (V_IR / (alpha_c alphaCorrR (1 + KsTo_r (To - CT_r))) + T_a-r)^(1/4) - 273.15 */
            range = t < p->ct[1] ? 0 : t < p->ct[2] ? 1 : t < p->ct[3] ? 2 : 3;
            tk4 = ir / (alpha_c * p->alphaCorrR[range] * (1.0f + p->ksTo[range] * (t - p->ct[range]))) + tatr;
            to[px] = sqrtf(sqrtf(tk4)) - KELVIN;
        }
    }
    if (p->n_bad) fix_bad(p, subpage, chess, bad, to);
    if (ta_degc) *ta_degc = ta;
    return subpage;
}
