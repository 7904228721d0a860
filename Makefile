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

# Deployment tools (sam, cfn-lint) live in their own environment: aws-sam-cli pins many packages.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
AWS_REGION ?= us-east-1
# The tools venv first on PATH: sam build needs a real python3.12 (not a pyenv shim, which fails in
# the scratch folders sam builds in) to install the layers and functions.
SAM := PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$(AWS_REGION) \
	AWS_REGION=$(AWS_REGION) $(TOOLS_VENV)/bin/sam
.PHONY: tools build sizes

$(TOOLS_STAMP): requirements-tools.txt requirements-tools.lock
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON312) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-tools.txt -c requirements-tools.lock
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# The `jobu` command (tools/jobu_local): local runtime, produce, logs, runs, cron, demo.
JOBU := PYTHONPATH=$(CURDIR)/tools:$(CURDIR)/layers/core/python $(PY) -m jobu_local
.PHONY: local

# The whole flow on embedded defaults (moto server, Tansu, SQLite): cron job + Kafka message -> runs -> logs.
demo: $(STAMP)
	$(JOBU) demo

# Run the functions of template.yaml locally until Ctrl-C (`make local ARGS="worker"` for some only).
local: $(STAMP)
	$(JOBU) local up $(ARGS)

test: $(STAMP) services
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

lint: $(STAMP) $(TOOLS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(SAM) validate --lint
	$(TOOLS_VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

# sam build: functions and layers into .aws-sam/build (layers via layers/Makefile; no Docker needed).
build: $(TOOLS_STAMP)
	$(SAM) build

# Each function's unzipped size (code + layers) from the build; fails above Lambda's 250 MB.
sizes: build $(STAMP)
	$(PY) scripts/sizes.py

services:
	scripts/services.sh

manifest: $(STAMP)
	$(PY) -m jobu.handler_manifest --write
	$(PY) -m jobu.store.tables --write

migrate: $(STAMP)
	$(PY) -m jobu.migrate

bench: $(STAMP) services
	$(PY) bench/queue_dispatch.py

# The fault-injection soak (bench/soak.py): short on every backend, or the issue's full counts.
.PHONY: soak soak-full
soak: $(STAMP) services
	$(PY) bench/soak.py --short

soak-full: $(STAMP) services
	$(PY) bench/soak.py --backend postgres --events 10000
	$(PY) bench/soak.py --backend mysql --events 2000
	$(PY) bench/soak.py --backend sqlite --events 2000

# The data pipeline's benchmarks (issue 5): CSV -> Parquet and Parquet -> PostgreSQL, each against its baseline.
.PHONY: bench-pipeline
bench-pipeline: $(STAMP) services
	$(PY) bench/pipeline_csv.py
	$(PY) bench/pipeline_load.py --mysql

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
