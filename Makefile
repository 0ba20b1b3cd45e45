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
	$(BIN)/python -m pytest -n 2 --dist loadfile   # 2 workers, a test file each at a time (about 90 s on 2 cores)

## Benchmark: recipe selection vs default vs seed-style on every real set in ../shared and the demo set.
bench: install
	mkdir -p runs
	$(BIN)/tinyheat bench --shared ../shared/datasets --demo datasets/demo --json runs/bench.json --force

clean:
	rm -rf runs build firmware/build
