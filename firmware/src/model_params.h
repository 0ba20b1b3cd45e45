/**
 * @file model_params.h
 * The exported model's pre/post-processing parameters (firmware/lib/tinyheat_model/
 * tinyheat_model.h, written by `tinyheat export`) as a th_model_params_t for the core.
 * Plain C: also compiled into the host test tests/firmware/test_fw_model.py.
 */
#ifndef MODEL_PARAMS_H
#define MODEL_PARAMS_H
#include "th_classify.h"
#ifdef __cplusplus
extern "C" {
#endif
/** Labels, input mode/window/span, input and output scale and zero point of the model. */
const th_model_params_t *model_params(void);
#ifdef __cplusplus
}
#endif
#endif
