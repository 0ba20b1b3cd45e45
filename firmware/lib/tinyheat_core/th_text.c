/* Number formatting. See th_text.h. */
#include "th_text.h"

#include <math.h>
#include <stdio.h>

int th_fmt_fixed(char *buf, size_t cap, float v, int decimals)
{
    static const long pow10[5] = {1, 10, 100, 1000, 10000};
    double a;
    long scaled, unit;
    int neg, n;
    if (cap == 0) return -1;
    if (decimals < 0) decimals = 0;
    if (decimals > 4) decimals = 4;
    if (isnan(v)) n = snprintf(buf, cap, "nan");
    else if (isinf(v)) n = snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else {
        a = (double)v;
        neg = a < 0.0;
        if (neg) a = -a;
        if (a > 1e9) a = 1e9; /* keep within long */
        unit = pow10[decimals];
        scaled = (long)floor(a * (double)unit + 0.5);
        if (decimals == 0)
            n = snprintf(buf, cap, "%s%ld", (neg && scaled) ? "-" : "", scaled);
        else
            n = snprintf(buf, cap, "%s%ld.%0*ld", (neg && scaled) ? "-" : "", scaled / unit, decimals, scaled % unit);
    }
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return -1;
    }
    return n;
}
