"""The data contract (datasets/FORMAT.md): sample files and names, the dataset folder and its manifest.

Bottom of the package: imports nothing else from tinyheat."""
