# The README's commands. Everything runs from a local venv that `install` creates.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 1

.PHONY: install run test lint bench reliability clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: install
	$(BIN)/ske-sandbox serve --host $(HOST) --port $(PORT) --seed $(SEED)

test: install
	$(BIN)/ruff check mockserver tests examples bench
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check mockserver tests examples bench

bench: install
	$(BIN)/python bench/run.py

# hostile clients against a real server on loopback; SIZE=--small for the CI size
reliability: install
	$(BIN)/python bench/reliability.py $(SIZE)

clean:
	rm -rf $(VENV) build dist
