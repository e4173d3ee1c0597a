# One-command set-up on a fresh machine: `make demo` (a report on the packaged models) and
# `make test` (the test suite). Both create .venv first if it is missing or out of date.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_CORPUS ?= ../shared/data/banking77.jsonl.gz
DEMO_OUT ?= reports/demo

.PHONY: setup demo test lint format bench clean

$(BIN)/labeler: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: 2.13.0 is a local CPU wheel; without it pip would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/labeler

# Fits 2,000 documents, then labels each topic with the packaged 1.5B LLM (a few minutes on 2 cores).
demo: setup
	$(BIN)/labeler run $(DEMO_CORPUS) --sample 2000 --out $(DEMO_OUT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python docs/check_links.py
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/prepare.py
	$(BIN)/python benchmarks/fit_vs_bertopic.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
