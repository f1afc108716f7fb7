# Everything runs from a project-local virtual environment that the first target creates.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test lint typecheck check fixtures bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/customer-session-mock serve --host $(HOST) --port $(PORT)

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: test

# Regenerate the committed fixtures from fixtures/recipes.sh.
fixtures: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" sh fixtures/recipes.sh

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	touch $(BENCH_STAMP)

# Minutes of load on loopback, never part of `make test`. Prism joins when npx is available.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/http_load.py
	$(BIN)/python benchmarks/offline.py
	$(BIN)/python benchmarks/fixtures_bench.py
	$(BIN)/python -m benchmarks.stores
	$(BIN)/python -m benchmarks.proxy_latency

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
