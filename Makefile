# Newcomer entry points (see README): `make demo` runs the main job, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test bench install clean

$(BIN)/tinyheat: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --pre -e '.[dev]'
	touch $@

install: $(BIN)/tinyheat

## Main job: train on the bundled demo dataset, quantize, check in TFLM, export into firmware/.
demo: install
	$(BIN)/tinyheat run datasets/demo --out runs/demo --firmware firmware --force

## All tests: Python, the firmware's portable C core on the host, the serial link, the size report.
test: install
	$(BIN)/python -m pytest

## Benchmark on the real presence recording in ../shared (not part of the tests).
bench: install
	rm -rf runs/presence-data
	$(BIN)/tinyheat import-frames ../shared/datasets/mlx90640-presence/person.csv --label person --dataset runs/presence-data
	$(BIN)/tinyheat import-frames ../shared/datasets/mlx90640-presence/empty.csv --label empty --dataset runs/presence-data
	$(BIN)/tinyheat bench runs/presence-data --folds 5 --json runs/bench-presence.json

clean:
	rm -rf runs build firmware/build
