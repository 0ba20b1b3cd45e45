"""tinyheat: MLX90640 thermal samples to an int8 TFLite-Micro classifier (laptop side)."""
#: The one version of the kit: pyproject.toml reads it (dynamic version), ``tinyheat --version``
#: prints it, and the simulated device reports ``sim-<version>`` in HELLO (firmware/host/Makefile).
__version__ = "0.1.0"
