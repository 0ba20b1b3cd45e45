"""Command-line tools: CLI, sample format, ingest, import, simulator, serial link."""
