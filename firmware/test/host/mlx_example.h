/* MLX90640 datasheet rev 12, section 11.2 worked example: EEPROM words 0x2410..0x243F and the
 * auxiliary RAM words (Ta_VBE, CP subpage 0, GAIN, Ta_PTAT, CP subpage 1, Vdd_pix). The same
 * values are in tests/firmware/mlx90640_images.py. Used by the QEMU benchmark and the adapter tests
 * to build plausible EEPROM/RAM images (pixel words spread around the example's 0x08A0 / 0x0261). */
#ifndef MLX_EXAMPLE_H
#define MLX_EXAMPLE_H
#include <stdint.h>

static const uint16_t mlx_example_ee_16_63[48] = {
    0x4210, 0xFFBB, 0x0202, 0x0202, 0xF202, 0xF2F2, 0xE2E2, 0xD1E1, 0xB1D1, 0xF10F, 0xF00F, 0xE0EF,
    0xE0EF, 0xE1E1, 0xF3F2, 0xF404, 0x79A6, 0x2F44, 0xFFDD, 0x2210, 0x3333, 0x2233, 0xEF01, 0x9ACC,
    0xEEDC, 0x10FF, 0x2221, 0x3333, 0x2333, 0x0112, 0xEEFF, 0xBBDD, 0x18EF, 0x2FF1, 0x5952, 0x9D68,
    0x5454, 0x0994, 0x6956, 0x5354, 0x2363, 0xE446, 0xFBB5, 0x044B, 0xF020, 0x9797, 0x9797, 0x2889,
};

/* Fill ee[832] and ram[832] (RAM 0x0400..0x073F) with the example's calibration words, pixel words
 * pseudo-randomly spread around the example's (bit 0 clear: no outliers) and raw pixels 512..767
 * (about 40..120 degC with the example's calibration). */
static void mlx_example_images(uint16_t ee[832], uint16_t ram[832])
{
    uint32_t x = 1u;
    int i;
    for (i = 0; i < 832; i++) ee[i] = 0;
    for (i = 0; i < 48; i++) ee[16 + i] = mlx_example_ee_16_63[i];
    for (i = 0; i < 768; i++) {
        x = x * 1664525u + 1013904223u;
        ee[64 + i] = (uint16_t)((0x08A0u ^ ((x >> 16) & 0xFCF0u)) & 0xFFFEu);
        ram[i] = (uint16_t)(0x0200u + ((x >> 8) & 0xFFu));
    }
    for (i = 768; i < 832; i++) ram[i] = 0;
    ram[768] = 0x4BF2; ram[776] = 0xFFCA; ram[778] = 0x1881;
    ram[800] = 0x06AF; ram[808] = 0xFFC8; ram[810] = 0xCCC5;
}
#endif
