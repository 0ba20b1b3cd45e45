"""From a trained float model to the device: int8 quantization, the TFLM check, C export under the budget."""
