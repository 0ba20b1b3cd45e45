"""Training pipeline: dataset, preprocessing, model, training, quantization, evaluation, export."""
