# idsync — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= idsync-demo
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit system-deps bench bench-engine bench-expressions bench-graph clean

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

## bench: every benchmark; bench-<area> one of them. Figures go to docs/benchmarks.md.
bench: bench-engine bench-expressions bench-graph

bench-engine: $(STAMP)
	$(PY) bench/bench_engine.py

bench-expressions: $(STAMP)
	$(PY) bench/bench_expressions.py

bench-graph: $(STAMP)
	$(PY) bench/bench_graph.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
