"""MLX90640 simulator: scenes (``scene``), the sensor model (``sensor``), demo datasets (``simulate``)."""
