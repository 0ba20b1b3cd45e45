// Host stand-in for the few Arduino core functions the MLX90640 adapter uses
// (firmware/test/host/th_sensor_tests.cpp). Time is a variable the test advances.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern uint32_t fake_millis_now;
extern uint32_t fake_micros_now;
static inline uint32_t millis(void) { return fake_millis_now; }
static inline uint32_t micros(void) { return fake_micros_now; }
