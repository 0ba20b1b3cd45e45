/* The exported model's parameters as a th_model_params_t. See model_params.h. */
#include "model_params.h"
#include "tinyheat_model.h"

static const char *const k_labels[TH_MODEL_NUM_LABELS] = TH_MODEL_LABELS;

static const th_model_params_t k_params = {
    TH_MODEL_NUM_LABELS,
    k_labels,
    TH_MODEL_INPUT_MODE,
    TH_MODEL_WINDOW_LO_DEGC,
    TH_MODEL_WINDOW_HI_DEGC,
    TH_MODEL_RELATIVE_SPAN_K,
    TH_MODEL_CLIP_LO,
    TH_MODEL_CLIP_HI,
    TH_MODEL_INPUT_CHANNELS,
    TH_MODEL_INPUT_SCALE,
    TH_MODEL_INPUT_ZERO_POINT,
    TH_MODEL_OUTPUT_SCALE,
    TH_MODEL_OUTPUT_ZERO_POINT,
};

const th_model_params_t *model_params(void) { return &k_params; }
