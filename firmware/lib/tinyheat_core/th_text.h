/**
 * @file th_text.h
 * Number formatting without printf's %f (newlib-nano, the Arduino SAMD default, omits float
 * formatting unless linked with -u _printf_float).
 */
#ifndef TH_TEXT_H
#define TH_TEXT_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
/**
 * Format v with `decimals` (0..4) digits after the point, rounded half away from zero
 * ("24.61", "-3.46", "0.00"); "nan"/"inf"/"-inf" for non-finite values.
 * @return length written (buf always NUL-terminated if cap > 0), or -1 if cap is too small.
 */
int th_fmt_fixed(char *buf, size_t cap, float v, int decimals);
#ifdef __cplusplus
}
#endif
#endif
