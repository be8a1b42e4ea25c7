# The README's commands. Everything runs from a local venv that `install` creates.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 1

.PHONY: install run test lint bench clean wheelhouse image

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

# The container image (see the Containerfile): `make image` installs from PyPI during the build; where the
# build cannot reach an index, `make wheelhouse image WHEELS=local` installs from ./wheels instead.
ENGINE ?= $(shell command -v docker || command -v podman)
WHEELS ?= pypi
IMAGE ?= ske-sandbox

wheelhouse: install
	rm -f wheels/*.whl
	$(BIN)/pip wheel -q --wheel-dir wheels .

image:
	$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker) --build-arg WHEELS=$(WHEELS) -t $(IMAGE) -f Containerfile .

clean:
	rm -rf $(VENV) build dist wheels/*.whl
