# idsync — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= idsync-demo
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit system-deps bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	@touch $@

## demo: create .venv, install idsync with every extra, write and run the quickstart workspace
demo: $(STAMP)
	$(VENV)/bin/idsync quickstart --replace $(DEMO)

## test: install what the tests need (Debian packages included), then lint, type-check and run the suite
test: system-deps $(STAMP) lint typecheck unit

system-deps:
	@sh scripts/install-test-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check idsync tests bench
	$(VENV)/bin/ruff format --check idsync tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## bench: every benchmark; bench-<area> runs bench/bench_<area>.py. Figures go to docs/benchmarks.md.
BENCHES := $(patsubst bench/bench_%.py,bench-%,$(wildcard bench/bench_*.py))

bench: $(BENCHES)

bench-%: system-deps $(STAMP)
	$(PY) bench/bench_$*.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
