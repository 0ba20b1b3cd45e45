"""tinyheat: MLX90640 thermal samples to an int8 TFLite-Micro classifier (laptop side)."""
__version__ = "0.1.0"
