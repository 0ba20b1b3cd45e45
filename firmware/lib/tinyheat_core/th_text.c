/* Number formatting. See th_text.h.
 * Single precision and integers only: no double, no floor(), so the Cortex-M4F build links no
 * soft-float double routines (__aeabi_d*). The rounding is exact: |v| is split into its integer
 * part and its fraction, the fraction (a float, so an exact binary fraction) is scaled to a
 * 2^-40 fixed-point integer, and the decimals are rounded half up in 64-bit integer arithmetic,
 * which gives the same digits as rounding the exact value of v. */
#include "th_text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define FRAC_BITS 40

int th_fmt_fixed(char *buf, size_t cap, float v, int decimals)
{
    static const uint32_t pow10[5] = {1u, 10u, 100u, 1000u, 10000u};
    float a, frac;
    uint32_t ip, unit, fpart, hi, lo;
    uint64_t f, q;
    int neg, n;
    if (cap == 0) return -1;
    if (decimals < 0) decimals = 0;
    if (decimals > 4) decimals = 4;
    if (isnan(v)) n = snprintf(buf, cap, "nan");
    else if (isinf(v)) n = snprintf(buf, cap, v > 0.0f ? "inf" : "-inf");
    else {
        neg = v < 0.0f;
        a = neg ? -v : v;
        if (a > 1e9f) a = 1e9f; /* exactly representable; keeps the integer part in 32 bits */
        unit = pow10[decimals];
        ip = (uint32_t)a;            /* truncation: exact */
        frac = a - (float)ip;        /* exact: the fraction bits of a */
        /* f = frac * 2^40, in two 20-bit halves: float -> uint32 is one VCVT, while a float ->
         * uint64 cast calls libgcc's __aeabi_f2ulz, which converts through double. Exact when
         * frac >= 2^-17 (a >= frac, so a's last bit is >= 2^-40); a smaller frac loses bits below
         * 2^-40 but rounds to 0 at 4 decimals either way. */
        frac *= 1048576.0f;          /* 2^20: exact */
        hi = (uint32_t)frac;         /* integer bits: exact */
        lo = (uint32_t)((frac - (float)hi) * 1048576.0f);
        f = ((uint64_t)hi << 20) | lo;
        q = (f * unit + (1ull << (FRAC_BITS - 1))) >> FRAC_BITS; /* round half up */
        if (q >= unit) { /* carry into the integer part */
            q -= unit;
            ip++;
        }
        fpart = (uint32_t)q;
        if (decimals == 0)
            n = snprintf(buf, cap, "%s%lu", (neg && ip) ? "-" : "", (unsigned long)ip);
        else
            n = snprintf(buf, cap, "%s%lu.%0*lu", (neg && (ip || fpart)) ? "-" : "", (unsigned long)ip, decimals,
                         (unsigned long)fpart);
    }
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return -1;
    }
    return n;
}
