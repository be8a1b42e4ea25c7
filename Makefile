# The README's commands. Everything runs from a local venv: `run` installs what the server needs, `test`
# adds the kit's and the development tools.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 1

.PHONY: install install-runtime run test test-fast lint bench reliability clean wheelhouse image

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install-runtime: $(VENV)/.runtime

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.runtime $@

run: install-runtime
	$(BIN)/ske-sandbox serve --host $(HOST) --port $(PORT) --seed $(SEED)

test: install
	$(BIN)/ruff check mockserver tests examples bench
	$(BIN)/mypy
	$(BIN)/pytest -q

# in-process tests only; the markers are declared in pyproject.toml
test-fast: install
	$(BIN)/pytest -q -m "not slow and not subprocess and not browser and not container"

lint: install
	$(BIN)/ruff check mockserver tests examples bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

# hostile clients against a real server on loopback; SIZE=--small for the CI size
reliability: install
	$(BIN)/python bench/reliability.py $(SIZE)

# The container image (see the Containerfile): `make image` installs from PyPI during the build on a
# python slim base; where the build cannot reach an index or a registry, `make wheelhouse` and
# `make image BASE=localhost/ske-sandbox-base:bookworm WHEELS=local` (docs/deploy.md). The engine is docker
# when its daemon answers, else podman (podman gets --format docker: the OCI format drops the HEALTHCHECK).
ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; \
	elif command -v podman >/dev/null; then echo podman; else echo docker; fi)
BASE ?= python:3.12-slim
WHEELS ?= pypi
IMAGE ?= ske-sandbox

wheelhouse: install
	rm -f wheels/*.whl
	$(BIN)/pip wheel -q --wheel-dir wheels .

image:
	$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker )--build-arg BASE=$(BASE) --build-arg WHEELS=$(WHEELS) -t $(IMAGE) .

clean:
	rm -rf $(VENV) build dist wheels/*.whl
