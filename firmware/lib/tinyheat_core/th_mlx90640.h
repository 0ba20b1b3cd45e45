/**
 * @file th_mlx90640.h
 * MLX90640 compensation in single precision: EEPROM parameter extraction, supply voltage Vdd,
 * ambient temperature Ta and object temperatures To of one subpage, as the Melexis datasheet
 * (MLX90640 datasheet rev 12, section 11 "Calculation") and the Melexis reference driver
 * (MLX90640_API: MLX90640_ExtractParameters / MLX90640_GetVdd / MLX90640_GetTa /
 * MLX90640_CalculateTo) compute them, but in float32 only: no double constants, no pow(),
 * so the Cortex-M4F runs it on its single-precision FPU (no soft-float double routines).
 *
 * Shapes and layouts (same as the Melexis driver, so the device adapter fills the arrays
 * straight from I2C):
 * - EEPROM image `ee`: TH_MLX_EE_WORDS = 832 uint16 words read from 0x2400..0x273F.
 * - Frame `frame`: TH_MLX_FRAME_WORDS = 834 uint16: [0..831] RAM 0x0400..0x073F (768 pixels,
 *   row-major 24 rows x 32 columns, then the auxiliary words: Ta_VBE at [768], CP subpage 0 at
 *   [776], GAIN at [778], Ta_PTAT at [800], CP subpage 1 at [808], Vdd_pix at [810]);
 *   [832] = control register 1 (0x800D: bit 12 chess/interleaved mode, bits 10-11 ADC
 *   resolution); [833] = subpage number (status register 0x8000 bit 0) of the data in RAM.
 * - Output `to`: 768 float32, degC, row-major (index = row * 32 + column, row 0 at the top),
 *   as th_frame.h expects. th_mlx_to() writes only the 384 pixels of the frame's subpage
 *   (chess pattern: (row + column) % 2 == subpage; interleaved: row % 2 == subpage).
 *
 * Deviating pixels (the per-pixel EEPROM words of datasheet 11.1; the driver's
 * ExtractDeviatingPixels): a pixel word of 0 is a broken pixel, bit 0 set marks an outlier. Both are listed in the parameters
 * (up to TH_MLX_MAX_BAD). th_mlx_to() replaces them according to the `bad` policy:
 * TH_MLX_BAD_INTERPOLATE (default) does what the Melexis driver's MLX90640_BadPixelsCorrection
 * does: chess mode, the median of the diagonal neighbours (same subpage; mean of two on an
 * edge, the single one in a corner); interleaved mode, from the left/right neighbours of the
 * same row (gradient extrapolation from +-1/+-2, the mean of +-1 at columns 1/30, the one
 * neighbour at columns 0/31). Neighbours that are themselves deviating are skipped; with none
 * left the pixel is NaN. TH_MLX_BAD_NAN writes NaN (th_frame's "invalid pixel") instead.
 * Unlike the driver, more than 4 or adjacent deviating pixels are not an extraction error:
 * they are handled the same way (a sensor with 5 outliers still images).
 *
 * Precision: float32 agrees with the Melexis C driver within 0.1 mK for To in -40..400 degC
 * on the test images (tests/firmware/test_fw_mlx90640.py asserts 0.01 K).
 * Build with -ffp-contract=off like the rest of the core. Portable C99, no allocation,
 * no Arduino headers.
 */
#ifndef TH_MLX90640_H
#define TH_MLX90640_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_MLX_PIXELS 768
#define TH_MLX_EE_WORDS 832      /**< EEPROM 0x2400..0x273F */
#define TH_MLX_RAM_WORDS 832     /**< RAM 0x0400..0x073F */
#define TH_MLX_FRAME_WORDS 834   /**< RAM + control register 1 + subpage number */
#define TH_MLX_MAX_BAD 16        /**< deviating pixels handled; more -> TH_MLX_E_BAD_PIXELS */

/* frame[] indices of the auxiliary words (datasheet 11.2.2: RAM address - 0x0400) */
#define TH_MLX_IDX_TA_VBE 768    /**< 0x0700 */
#define TH_MLX_IDX_CP_SP0 776    /**< 0x0708 */
#define TH_MLX_IDX_GAIN 778      /**< 0x070A */
#define TH_MLX_IDX_TA_PTAT 800   /**< 0x0720 */
#define TH_MLX_IDX_CP_SP1 808    /**< 0x0728 */
#define TH_MLX_IDX_VDD_PIX 810   /**< 0x072A */
#define TH_MLX_IDX_CTRL1 832     /**< control register 1 (0x800D) */
#define TH_MLX_IDX_SUBPAGE 833   /**< status register (0x8000) bit 0 */

/** Error codes (negative; 0 = success). */
enum {
    TH_MLX_OK = 0,
    TH_MLX_E_ARG = -1,         /**< NULL pointer, emissivity outside (0, 1], subpage not 0/1 */
    TH_MLX_E_EEPROM = -2,      /**< EEPROM image unusable: device-select bit set (driver error -7),
                                    all words 0x0000 or 0xFFFF (bus read failure), or a zero
                                    divisor (kVdd, KtPTAT, GAIN_EE, alpha scale) */
    TH_MLX_E_BAD_PIXELS = -3,  /**< more than TH_MLX_MAX_BAD deviating pixels (EEPROM corrupt?) */
    TH_MLX_E_FRAME = -4        /**< frame unusable: GAIN word 0, or Ta/Vdd not finite */
};

/** Deviating-pixel policy of th_mlx_to(). */
typedef enum { TH_MLX_BAD_INTERPOLATE = 0, TH_MLX_BAD_NAN = 1 } th_mlx_bad_policy_t;

/** Calibration parameters extracted from the EEPROM (datasheet 11.1). ~10.8 KB. */
typedef struct {
    int16_t kVdd, vdd25;        /**< 11.1.1: Vdd slope (LSB/V) and value at 25 degC, 3.3 V */
    float KvPTAT, KtPTAT;       /**< 11.1.2: PTAT supply (1/V) and temperature (LSB/K) coefficients */
    float vPTAT25;              /**< 11.1.2: PTAT at 25 degC (LSB, unsigned as in the driver) */
    float alphaPTAT;            /**< 11.1.2 */
    float gainEE;               /**< 11.1.3: gain coefficient */
    float tgc;                  /**< 11.1.13: temperature-gradient coefficient */
    float cpKv, cpKta;          /**< 11.1.12: compensation-pixel Kv (1/V) and Kta (1/K) */
    uint8_t resolutionEE;       /**< 11.1.15: ADC resolution at calibration (0..3) */
    uint8_t chess_calibrated;   /**< 11.1.14: 1 = calibrated in chess mode, 0 = interleaved */
    float KsTa;                 /**< 11.1.10: sensitivity Ta coefficient (1/K) */
    float ksTo[4];              /**< 11.1.11: sensitivity To coefficients per range (1/K) */
    float ct[4];                /**< 11.1.11: range corner temperatures, degC (-40, 0, CT3, CT4) */
    float alphaCorrR[4];        /**< 11.2.2.9: sensitivity correction per range (derived) */
    float cpAlpha[2];           /**< 11.1.12: compensation-pixel sensitivities, subpage 0/1 */
    float cpOffset[2];          /**< 11.1.12: compensation-pixel offsets, subpage 0/1 (LSB) */
    float ilChessC[3];          /**< 11.1.14: interleaved/chess correction coefficients */
    float alpha[TH_MLX_PIXELS]; /**< 11.1.6: pixel sensitivities */
    float offset[TH_MLX_PIXELS];/**< 11.1.4: pixel offsets at 25 degC, 3.3 V (LSB) */
    float kta[TH_MLX_PIXELS];   /**< 11.1.5: pixel offset Ta coefficients (1/K) */
    float kv[TH_MLX_PIXELS];    /**< 11.1.7: pixel offset Vdd coefficients (1/V) */
    uint16_t bad[TH_MLX_MAX_BAD]; /**< deviating pixel indices (broken or outlier), ascending */
    uint8_t n_bad;              /**< entries used in bad[] */
    uint8_t n_broken;           /**< of which broken (EEPROM word 0) */
} th_mlx_params_t;

/**
 * Extract the calibration from an EEPROM image (datasheet 11.1, driver MLX90640_ExtractParameters).
 * @param ee  832 words from 0x2400 (see file comment)
 * @return TH_MLX_OK, TH_MLX_E_ARG, TH_MLX_E_EEPROM or TH_MLX_E_BAD_PIXELS (p is then unusable).
 */
int th_mlx_extract(const uint16_t ee[TH_MLX_EE_WORDS], th_mlx_params_t *p);

/** Supply voltage Vdd in volts of a frame (datasheet 11.2.2.2, with the resolution correction). */
float th_mlx_vdd(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p);

/** Ambient (sensor die) temperature Ta in degC of a frame (datasheet 11.2.2.3). */
float th_mlx_ta(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p);

/**
 * Object temperatures of the frame's subpage (datasheet 11.2.2.4-11.2.2.9, the driver's
 * MLX90640_CalculateTo), then the deviating pixels of that subpage per `bad`.
 * @param frame      834 words (see file comment); frame[833] selects the subpage (0/1)
 * @param emissivity object emissivity, (0, 1] (the firmware uses TH_MLX_EMISSIVITY = 0.95)
 * @param tr_degc    reflected temperature, degC (open air: Ta - 8, the driver examples' TA_SHIFT)
 * @param to         768 floats, degC; only the subpage's 384 pixels are written
 * @param ta_degc    optional (may be NULL): receives Ta, degC
 * @return the subpage (0 or 1), or TH_MLX_E_ARG / TH_MLX_E_FRAME (to is then unchanged).
 */
int th_mlx_to(const uint16_t frame[TH_MLX_FRAME_WORDS], const th_mlx_params_t *p, float emissivity,
              float tr_degc, th_mlx_bad_policy_t bad, float to[TH_MLX_PIXELS], float *ta_degc);

/** 1 if pixel i (0..767) belongs to `subpage` in chess (chess = 1) or interleaved (0) mode. */
int th_mlx_pixel_in_subpage(int i, int subpage, int chess);

#ifdef __cplusplus
}
#endif
#endif
