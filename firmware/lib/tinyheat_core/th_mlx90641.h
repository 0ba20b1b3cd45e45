/**
 * @file th_mlx90641.h
 * MLX90641 (16 x 12 pixels) compensation in single precision: Hamming decoding of the EEPROM,
 * parameter extraction, supply voltage Vdd, ambient temperature Ta and object temperatures To,
 * as the Melexis reference driver MLX90641_API (Seeed_Arduino_MLX9064x @ 17db92f:
 * MLX90641_HammingDecode, MLX90641_ExtractParameters, MLX90641_GetVdd, MLX90641_GetTa,
 * MLX90641_CalculateTo; MLX90641 datasheet section 11) computes them, in float32 only (no double,
 * no pow()), for the Cortex-M4F's single-precision FPU. The driver's integer quantisation of
 * alpha, Kta and Kv (alphaScale, ktaScale, kvScale) is reproduced, so results agree with it.
 *
 * Where the driver departs from the datasheet, this follows the datasheet (documented, and the
 * parity vectors avoid those inputs; tests/firmware/test_fw_mlx90641.py):
 *  - alpha uses TGC x alpha_CP with alpha_CP already extracted (the driver extracts the CP
 *    parameters after alpha, so its first ExtractParameters call on a zeroed struct omits the
 *    term; a second call includes it);
 *  - the CP Kta / Kv are 6-bit signed (datasheet), the driver masks 5 bits;
 *  - broken pixels (all four per-pixel words 0) are interpolated on a 16-column row; the
 *    driver's MLX90641_BadPixelsCorrection indexes them as 32-column rows.
 *
 * Layouts (as the driver's, so the adapter fills them straight from I2C):
 * - raw EEPROM `ee_raw`: TH_MLX41_EE_WORDS = 832 words 0x2400..0x273F (words 16.. Hamming coded);
 * - frame: TH_MLX41_FRAME_WORDS = 242 uint16: [0..191] the subpage's 192 pixels (RAM
 *   0x0400.. in 32-word blocks, subpage 0 at 0x0400/0x0440/..., subpage 1 at 0x0420/0x0460/...,
 *   row-major 12 x 16), [192..239] RAM 0x0580..0x05AF (Ta_VBE [192], CP [200], GAIN [202],
 *   Ta_PTAT [224], Vdd [234]), [240] control register 1 (0x800D), [241] subpage (0x8000 bit 0).
 *   Every MLX90641 subpage is a complete 16 x 12 image (its own offsets).
 * - output: 192 float32 degC, row-major (index = row * 16 + column).
 */
#ifndef TH_MLX90641_H
#define TH_MLX90641_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_MLX41_ROWS 12
#define TH_MLX41_COLS 16
#define TH_MLX41_PIXELS 192
#define TH_MLX41_EE_WORDS 832
#define TH_MLX41_FRAME_WORDS 242
#define TH_MLX41_IDX_TA_VBE 192
#define TH_MLX41_IDX_CP 200
#define TH_MLX41_IDX_GAIN 202
#define TH_MLX41_IDX_TA_PTAT 224
#define TH_MLX41_IDX_VDD 234
#define TH_MLX41_IDX_CTRL1 240
#define TH_MLX41_IDX_SUBPAGE 241
#define TH_MLX41_MAX_BROKEN 3

enum {
    TH_MLX41_OK = 0,
    TH_MLX41_E_ARG = -1,      /**< NULL, emissivity outside (0, 1], subpage not 0/1 */
    TH_MLX41_E_EEPROM = -2,   /**< device-select bit clear (driver -7), a word with 2 bit errors
                                   (driver -10), or a zero divisor (kVdd, KtPTAT, GAIN_EE) */
    TH_MLX41_E_FRAME = -4     /**< GAIN word 0, or Ta/Vdd not finite */
};

/** Calibration parameters (driver's paramsMLX90641, in float32). ~4.7 KB. */
typedef struct {
    float kVdd, vdd25;          /**< LSB/V, LSB (x32 as the driver) */
    float KvPTAT, KtPTAT, vPTAT25, alphaPTAT;
    float gainEE, tgc, cpKv, cpKta, KsTa, emissivityEE;
    uint8_t resolutionEE;
    float ksTo[8], ct[8];
    float alpha[TH_MLX41_PIXELS];     /**< 1e-6 * 2^alphaScale / alpha_q: the driver's quantised sensitivity, 1/LSB... */
    float offset[2][TH_MLX41_PIXELS]; /**< per subpage */
    float kta[TH_MLX41_PIXELS], kv[TH_MLX41_PIXELS]; /**< quantised as the driver (kta_q / 2^ktaScale) */
    float cpAlpha, cpOffset;
    uint16_t broken[TH_MLX41_MAX_BROKEN]; /**< broken pixel indices, 0xFFFF = none */
    int n_broken;
} th_mlx41_params_t;

/** Hamming-decode words 16..831 in place (driver's MLX90641_HammingDecode: single-bit errors
 *  corrected, 11 data bits kept). @return 0, 1 if a bit was corrected, TH_MLX41_E_EEPROM for a
 *  double error. */
int th_mlx41_hamming_decode(uint16_t ee[TH_MLX41_EE_WORDS]);

/** Extract parameters from a DECODED EEPROM image. @return TH_MLX41_OK or an error. */
int th_mlx41_extract(const uint16_t ee[TH_MLX41_EE_WORDS], th_mlx41_params_t *p);

/** Supply voltage, V (driver's MLX90641_GetVdd). */
float th_mlx41_vdd(const uint16_t frame[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p);
/** Ambient temperature Ta, degC (driver's MLX90641_GetTa). */
float th_mlx41_ta(const uint16_t frame[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p);

/** Object temperatures of one subpage (a complete image): 192 degC into `to`, broken pixels
 *  interpolated from their row neighbours. emissivity in (0, 1]; tr = reflected temperature,
 *  degC (e.g. Ta - 5). *ta_out (may be NULL) = Ta. @return TH_MLX41_OK or an error. */
int th_mlx41_to(const uint16_t frame[TH_MLX41_FRAME_WORDS], const th_mlx41_params_t *p, float emissivity, float tr,
                float to[TH_MLX41_PIXELS], float *ta_out);

#ifdef __cplusplus
}
#endif
#endif /* TH_MLX90641_H */
