# The two commands a new user needs: `make demo` and `make test`.
# Everything else is for developers.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install services test lint typecheck pytest fuzz bench bench-codec bench-server bench-storage bench-collection demo clean

help:
	@echo "make test   - create the virtualenv, install, lint, type-check and run the tests"
	@echo "make demo   - run the head-end with a simulator fleet (see README)"
	@echo "make lint   - ruff and mypy only"
	@echo "make fuzz   - long fuzz run of the codecs (FUZZ_EXAMPLES=200000)"
	@echo "make bench  - benchmarks; results are written to docs/benchmarks.md"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The programs the tests start privately: PostgreSQL 15, TimescaleDB, Mosquitto.
# The first run builds TimescaleDB (about a minute); later runs are a no-op.
services:
	bash scripts/test-services.sh

pytest: $(STAMP) services
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint pytest

FUZZ_EXAMPLES ?= 200000
fuzz: $(STAMP)
	HEADEND_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -o timeout=0 -q tests/protocols/test_fuzz.py

bench: bench-codec bench-server bench-storage bench-collection

bench-codec: $(STAMP)
	$(PY) -m benchmarks.codec --output docs/benchmarks.md

# About ten minutes: 19,000 and 38,000 concentrators on loopback.
bench-server: $(STAMP)
	$(PY) -m benchmarks.server --output docs/benchmarks.md

# Readings into PostgreSQL and TimescaleDB (private clusters) against raw COPY.
BENCH_STORAGE_ARGS ?= --rows 1000000 --runs 3
bench-storage: $(STAMP) services
	$(PY) -m benchmarks.storage $(BENCH_STORAGE_ARGS) --output docs/benchmarks.md

# Daily frozen readings of 100,000 and 1,000,000 simulated meters collected end to end
# (head-end, fleet and a private PostgreSQL on this machine); about 15 minutes.
BENCH_COLLECTION_ARGS ?=
bench-collection: $(STAMP) services
	$(PY) -m benchmarks.collection $(BENCH_COLLECTION_ARGS) --output docs/benchmarks.md

DEMO_ARGS ?= --concentrators 50 --meters 8 --duration 60
demo: $(STAMP)
	$(VENV)/bin/headend demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
