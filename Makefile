# The README's commands. Every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SOURCES := models workflows activities clinical readmodel runtime service delivery cli api bench fhir_r4b worker.py
# Bytecode for our own packages, written even when PYTHONDONTWRITEBYTECODE is set: the workflow
# sandbox imports the workflow module afresh for every journey it loads, and without a .pyc it
# compiles the source each time. Only changed files are compiled again.
BYTECODE := $(BIN)/python -m compileall -q $(SOURCES)

.PHONY: run test lint format lock clean bench

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## run: start embedded Temporal (or connect to TEMPORAL_ADDRESS), the worker, and print the URLs
run: $(STAMP)
	@$(BYTECODE)
	$(BIN)/journeys up

# Browser tests drive Debian's Chromium; install it when it is missing (needs root, as here).
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## test: every test, no skips
test: $(STAMP) $(CHROMIUM)
	@$(BYTECODE)
	$(BIN)/pytest -p no:cacheprovider

## bench: measure throughput, latency, cost and scale on the embedded server; writes docs/benchmarks.md
bench: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python -m bench.run

## lint: ruff (lint + format check) and mypy strict
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## lock: re-resolve requirements.lock from pyproject.toml
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^recovery-journeys' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
