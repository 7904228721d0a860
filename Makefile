# The one entry point for running, testing and checking jobu-serverless.
# Each target installs what it needs (a Python 3.12 virtual environment at .venv) on first use.
SHELL := /bin/bash
PYTHON312 ?= $(shell command -v python3.12 2>/dev/null || echo /root/.pyenv/versions/3.12.1/bin/python3.12)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit lint manifest migrate services bench clean

$(STAMP): requirements-dev.txt layers/core/requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	# the layer, the worker's handlers and the local tools importable as Lambda sees them
	printf '%s\n' $(CURDIR) $(CURDIR)/layers/core/python $(CURDIR)/functions/worker $(CURDIR)/tools \
		> $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/jobu-paths.pth
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m jobu.demo

test: $(STAMP) services
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

services:
	scripts/services.sh

manifest: $(STAMP)
	$(PY) -m jobu.handler_manifest --write

migrate: $(STAMP)
	$(PY) -m jobu.migrate

bench: $(STAMP) services
	$(PY) bench/queue_dispatch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
