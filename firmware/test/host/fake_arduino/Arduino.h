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

// GPIO of the two Grove I2C pins (the bus clear drives them): fake_mlx.cpp models the lines.
#define LOW 0
#define HIGH 1
#define INPUT 0
#define OUTPUT 1
#define INPUT_PULLUP 2
#define PIN_WIRE_SDA 46u
#define PIN_WIRE_SCL 45u
void pinMode(uint32_t pin, uint32_t mode);
void digitalWrite(uint32_t pin, uint32_t level);
int digitalRead(uint32_t pin);
static inline void delayMicroseconds(unsigned us) { fake_micros_now += us; }
