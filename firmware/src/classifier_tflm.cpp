// TFLite-Micro adapter. See classifier_tflm.h.
// This is the only translation unit that includes TFLM headers. Arduino.h defines min/max/abs/
// round macros that break them, so they are removed first; TFT_eSPI is never included here.
// Every file that includes TFLM headers must see the same ARDUINO define (it changes the
// layout of TfLiteTensor in c/common.h): PlatformIO defines it for all files of the build.
#include <Arduino.h>
#undef min
#undef max
#undef abs
#undef round
#include <string.h>

#include "tensorflow/lite/micro/micro_error_reporter.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "classifier_tflm.h"
#include "model_params.h"
#include "tinyheat_config.h"
#include "tinyheat_model.h"

// be370f0 implements DebugLog only for the Nano 33 BLE (system_setup.cpp): provide it. Never
// Serial.print: the USB port carries COBS frames, raw text would corrupt the stream. The text
// goes to th_debug_log() (classifier_tflm.h), which by default drops it.
extern "C" __attribute__((weak)) void th_debug_log(const char *s) { (void)s; }
extern "C" void DebugLog(const char *s) { th_debug_log(s); }

alignas(16) static uint8_t s_arena[TH_MODEL_ARENA_BYTES];
static tflite::MicroErrorReporter s_reporter;
static tflite::MicroInterpreter *s_interp;
static th_smoother_t s_smoother;
static const char *s_error = "not started";

static tflite::MicroMutableOpResolver<TH_MODEL_NUM_OPS> &resolver(void)
{
    static tflite::MicroMutableOpResolver<TH_MODEL_NUM_OPS> r(&s_reporter);
    static bool added = false;
    if (!added) {
#define TH_ADD_OP(op) r.Add##op();
        TH_MODEL_OPS(TH_ADD_OP)
#undef TH_ADD_OP
        added = true;
    }
    return r;
}

static bool fail(const char *why)
{
    s_error = why;
    return false;
}

bool classifier_begin(void)
{
    s_interp = nullptr;
    if (th_model_params_check(model_params()) != 0) return fail("bad model parameters in tinyheat_model.h");
    const tflite::Model *model = tflite::GetModel(th_model_tflite);
    if (model->version() != TFLITE_SCHEMA_VERSION) return fail("model schema version mismatch");
    // one interpreter for the program's lifetime, static storage, no heap
    static tflite::MicroInterpreter interp(model, resolver(), s_arena, sizeof s_arena, &s_reporter);
    if (interp.AllocateTensors() != kTfLiteOk) return fail("AllocateTensors failed: arena too small?");
    TfLiteTensor *in = interp.input(0), *out = interp.output(0);
    if (in->type != kTfLiteInt8 || in->bytes != (size_t)768 * TH_MODEL_INPUT_CHANNELS)
        return fail("model input is not int8 [1,24,32,C] with C = TH_MODEL_INPUT_CHANNELS");
    if (out->type != kTfLiteInt8 || out->bytes != (size_t)TH_MODEL_NUM_LABELS) return fail("model output is not int8 [1,N]");
    th_smoother_init(&s_smoother, TH_SMOOTH_FRAMES, TH_MODEL_NUM_LABELS);
    s_interp = &interp;
    s_error = "";
    return true;
}

const char *classifier_error(void) { return s_error; }
const th_model_params_t *classifier_params(void) { return model_params(); }
uint32_t classifier_arena_used(void) { return s_interp ? (uint32_t)s_interp->arena_used_bytes() : 0; }

bool classifier_run(const float temps[768], th_prediction_t *out, uint32_t *invoke_us)
{
    if (!s_interp) return false;
    TfLiteTensor *in = s_interp->input(0);
    if (th_preprocess(temps, model_params(), in->data.int8) != 0) return false;
    uint32_t t0 = micros();
    TfLiteStatus st = s_interp->Invoke();
    uint32_t dt = micros() - t0;
    if (invoke_us) *invoke_us = dt;
    if (st != kTfLiteOk) return false;
    *out = th_postprocess(s_interp->output(0)->data.int8, model_params(), &s_smoother, TH_UNCERTAIN_BELOW);
    return true;
}
