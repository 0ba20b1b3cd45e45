/*
 * Render-cost benchmark of the portable core on a Cortex-M4F model: QEMU mps2-an386 with
 * -icount shift=0 (1 instruction = 1 ns of virtual time) and semihosting for the output.
 * Time is read from SysTick on the CPU clock (25 MHz in QEMU's MPS2 model: 1 tick = 40 ns =
 * 40 instructions), extended past 24 bits by its interrupt.
 * Prints the instructions per frame of th_heatmap_prepare + 192 rows of 256 px (the device's
 * 8x heat map), of th_frame_to_grey and of th_preprocess, and per subpage of the float32
 * MLX90640 compensation th_mlx_to (chess and interleaved; th_mlx_extract once per boot).
 * Built with the device's flags (-Os, hard float, -ffp-contract=off; the Makefile's ARM_CFLAGS).
 * Instructions, not cycles: the M4 runs most of these in 1 cycle, VDIV/VSQRT 14, loads/stores 2,
 * so cycles ~ 1.2-1.5x instructions.
 * Run: make -C firmware/test/host bench-qemu
 */
#include <stdint.h>
#include <string.h>

#include "th_classify.h"
#include "th_frame.h"
#include "th_mlx90640.h"
#include "th_mlx90641.h"
#include "th_render.h"

#include "../mlx_example.h"

/* ---- semihosting (ARM DUI 0471, "Semihosting operations") ---- */
static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
static void put(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TICK_NS 40u /* 25 MHz */
static volatile uint32_t s_wraps;
static void SysTick_Handler(void) { s_wraps++; }
static uint64_t ticks(void)
{
    uint32_t w, v;
    do { w = s_wraps; v = SYST_CVR; } while (w != s_wraps);
    return (uint64_t)w * 0x1000000u + (0xFFFFFFu - v);
}
static void put_u(const char *label, uint32_t v, const char *unit)
{
    char buf[16];
    int i = 15;
    buf[i] = '\0';
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
    put(label); put(buf + i); put(unit); put("\n");
}

/* ---- start-up: vector table, .data/.bss, FPU on ---- */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);
void Reset_Handler(void)
{
    uint32_t *s = &_sidata, *d = &_sdata;
    while (d < &_edata) *d++ = *s++;
    for (d = &_sbss; d < &_ebss; d++) *d = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n isb");
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* enable, interrupt, processor clock */
    main();
    semihost(0x18, (const void *)0x20026); /* SYS_EXIT, AArch32: r1 = ADP_Stopped_ApplicationExit */
    for (;;) {}
}
static void Default_Handler(void) { for (;;) {} }
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_stack_top, (void *)Reset_Handler, (void *)Default_Handler, (void *)Default_Handler,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (void *)SysTick_Handler,
};

#define REPS 100
static float frame[TH_PIXELS];
static th_heatmap_t hm;
static uint16_t row[256];
static uint8_t grey[TH_PIXELS];
static int8_t q[TH_PIXELS];
volatile uint32_t sink;

static uint32_t per_rep_insns(uint64_t t0, uint64_t t1) { return (uint32_t)((t1 - t0) * TICK_NS / REPS); }

static uint16_t ee[TH_MLX_EE_WORDS], mlx_frame[TH_MLX_FRAME_WORDS];
static th_mlx_params_t mlx_params;

static void mlx_bench(void)
{
    uint64_t t0, t1;
    int r, chess;
    mlx_example_images(ee, mlx_frame); /* datasheet 11.2 example words, spread pixels */
    t0 = ticks();
    r = th_mlx_extract(ee, &mlx_params);
    t1 = ticks();
    put_u("th_mlx_extract (once per boot): instructions ~ ", (uint32_t)((t1 - t0) * TICK_NS), r == 0 ? "" : " (FAILED)");
    for (chess = 1; chess >= 0; chess--) {
        mlx_frame[832] = chess ? 0x1901 : 0x0901;
        t0 = ticks();
        for (r = 0; r < REPS; r++) {
            mlx_frame[833] = (uint16_t)(r & 1);
            if (th_mlx_to(mlx_frame, &mlx_params, 0.95f, 31.0f, TH_MLX_BAD_INTERPOLATE, frame, NULL) != (r & 1))
                put("th_mlx_to FAILED\n");
        }
        t1 = ticks();
        put_u(chess ? "th_mlx_to chess (float32): instructions/subpage ~ "
                    : "th_mlx_to interleaved (float32): instructions/subpage ~ ", per_rep_insns(t0, t1), "");
    }
    sink += (uint32_t)frame[100];
}

/* MLX90641: a decoded synthetic EEPROM (the field values of tests/firmware/mlx90641_images.py)
 * and a frame near room temperature; th_mlx41_extract once, th_mlx41_to per subpage (= image). */
static uint16_t ee41[TH_MLX41_EE_WORDS], frame41[TH_MLX41_FRAME_WORDS];
static th_mlx41_params_t p41;
static float to41[TH_MLX41_PIXELS];

static void mlx41_bench(void)
{
    uint64_t t0, t1;
    int r, i;
    ee41[10] = 0x0040; ee41[16] = 2 << 5; ee41[17] = 2010; ee41[18] = 16;
    ee41[21] = 100; ee41[22] = (13 << 5) | 3; ee41[23] = 200; ee41[24] = (12 << 5) | 2;
    ee41[25] = ee41[26] = ee41[27] = (14 << 5) | 14;
    for (i = 0; i < 6; i++) ee41[28 + i] = (uint16_t)(1700 + 40 * i);
    ee41[34] = 2038; ee41[35] = 512; ee41[36] = 181; ee41[37] = 8; ee41[38] = 1648; ee41[39] = 1948;
    ee41[40] = 381; ee41[41] = 8; ee41[42] = 336; ee41[43] = 25; ee41[44] = 1152; ee41[45] = 1000; ee41[46] = 38;
    ee41[47] = 2046; ee41[48] = 4; ee41[49] = (8 << 6) | 10; ee41[50] = (3 << 6) | 5; ee41[51] = (2 << 9) | 32;
    ee41[52] = 17;
    for (i = 53; i < 64; i++) ee41[i] = 2000;
    ee41[58] = 200; ee41[60] = 300; ee41[62] = 400;
    for (i = 0; i < 192; i++) {
        ee41[64 + i] = (uint16_t)((i * 37) % 200);
        ee41[640 + i] = (uint16_t)((i * 53) % 200);
        ee41[256 + i] = (uint16_t)(1200 + (i * 29) % 800);
        ee41[448 + i] = (uint16_t)((((i * 7) % 40) << 5) | ((i * 3) % 16));
    }
    frame41[192] = 19000; frame41[200] = 65496; frame41[202] = 5840; frame41[224] = 1600;
    frame41[234] = (uint16_t)(65536 - 12800); frame41[240] = (2 << 10) | 0x0100 | (4 << 7);
    for (i = 0; i < 192; i++) frame41[i] = (uint16_t)(65536 - 1200 + (i * 11) % 300);
    t0 = ticks();
    r = th_mlx41_extract(ee41, &p41);
    t1 = ticks();
    put_u("th_mlx41_extract (MLX90641, once per boot): instructions ~ ", (uint32_t)((t1 - t0) * TICK_NS), r == 0 ? "" : " (FAILED)");
    t0 = ticks();
    for (r = 0; r < REPS; r++) {
        frame41[241] = (uint16_t)(r & 1);
        if (th_mlx41_to(frame41, &p41, 0.95f, 25.0f, to41, NULL) != 0) put("th_mlx41_to FAILED\n");
    }
    t1 = ticks();
    put_u("th_mlx41_to (MLX90641, float32): instructions/image ~ ", per_rep_insns(t0, t1), "");
    sink += (uint32_t)to41[100];
    t0 = ticks();
    for (r = 0; r < REPS; r++) {
        th_range_cfg_t cfg = {TH_RANGE_AUTO, 0.0f, 0.0f, 2.0f};
        int y;
        th_heatmap_prepare_n(&hm, to41, 12, 16, &cfg);
        for (y = 0; y < 192; y++) {
            th_heatmap_row(&hm, 256, 192, y, 0, row);
            sink += row[y];
        }
    }
    t1 = ticks();
    put_u("render 16x12 -> 256x192: instructions/frame ~ ", per_rep_insns(t0, t1), "");
}

int main(void)
{
    th_range_cfg_t cfg = {TH_RANGE_AUTO, 0.0f, 0.0f, 2.0f};
    th_model_params_t p;
    uint64_t t0, t1;
    int r, y, i;
    mlx_bench();
    mlx41_bench();
    for (i = 0; i < TH_PIXELS; i++) frame[i] = 22.0f + (float)((i * 37) % 150) * 0.1f;
    memset(&p, 0, sizeof p);
    p.num_labels = 3; p.input_mode = TH_INPUT_RELATIVE; p.relative_span_k = 8.0f; p.input_channels = 1;
    p.input_scale = 1.0f / 255.0f; p.input_zero_point = -128; p.output_scale = 1.0f / 256.0f; p.output_zero_point = -128;

    t0 = ticks();
    for (r = 0; r < REPS; r++) {
        th_heatmap_prepare(&hm, frame, &cfg);
        for (y = 0; y < 192; y++) {
            th_heatmap_row(&hm, 256, 192, y, 0, row);
            sink += row[y];
        }
    }
    t1 = ticks();
    put_u("render 256x192 (prepare + 192 rows): instructions/frame ~ ", per_rep_insns(t0, t1), "");
    t0 = ticks();
    for (r = 0; r < REPS; r++) { th_frame_to_grey(frame, 22.0f, 37.0f, grey); sink += grey[r]; }
    t1 = ticks();
    put_u("th_frame_to_grey: instructions/frame ~ ", per_rep_insns(t0, t1), "");
    t0 = ticks();
    for (r = 0; r < REPS; r++) { th_preprocess(frame, &p, q); sink += (uint32_t)q[r]; }
    t1 = ticks();
    put_u("th_preprocess (relative): instructions/frame ~ ", per_rep_insns(t0, t1), "");
    put("(instructions, QEMU -icount shift=0, -Os; Cortex-M4 cycles are ~1.2-1.5x; at 120 MHz 1.2M cycles = 10 ms)\n");
    return 0;
}
