# maskloop: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs the whole suite.
# Needs GNU make and Python 3.11 with venv + pip (uv and poetry would download the CUDA torch build).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_DATA ?= ../shared/data/dsb2018

.DEFAULT_GOAL := help
.PHONY: help venv run test lint format bench clean distclean

help:
	@echo "make run    install, load the demo collection, serve on http://$(HOST):$(PORT)"
	@echo "make test   install, run the whole test suite (browser and slow tests included)"
	@echo "make lint   ruff check + ruff format --check"
	@echo "make bench  model benchmark on $(BENCH_DATA) (skipped if absent)"
	@echo "make clean  remove caches and build output (distclean also removes $(VENV))"

# Reinstall only when pyproject.toml changes, so a second `make test` starts at once.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

# load-demo is idempotent: it creates the demo collection from backend/demo/ only if missing.
run: venv
	$(BIN)/maskloop load-demo
	$(BIN)/maskloop serve --host $(HOST) --port $(PORT)

# `python -m pytest` puts the repository root on sys.path so `tests.support` imports.
# pytest's own exit status is make's: 1 = a test failed, 5 = no test was collected.
test: venv
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	@if [ -d "$(BENCH_DATA)" ]; then \
		$(BIN)/python -m models.bench --data "$(BENCH_DATA)" --labels 1,2,4,8,16; \
	else \
		echo "bench: $(BENCH_DATA) not found, nothing to run"; \
	fi

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache test-artifacts bench-out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
