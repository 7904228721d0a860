# The one entry point for running, testing and checking jobu-serverless.
# Each target installs what it needs (a Python 3.12 virtual environment at .venv) on first use.
SHELL := /bin/bash
PYTHON312 ?= $(shell command -v python3.12 2>/dev/null || echo /root/.pyenv/versions/3.12.1/bin/python3.12)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help demo test test-fast lint manifest migrate services bench clean

# Plain `make` lists the targets: each one's comment line above it.
help:
	@echo "jobu-serverless: make TARGET"
	@awk '/^# / { text = substr($$0, 3) } /^[a-z][a-z-]*:/ && text { sub(/:.*/, "", $$1); \
		printf "  %-15s %s\n", $$1, text } !/^# / { text = "" }' $(MAKEFILE_LIST)
	@echo "The \`jobu\` command: .venv/bin/jobu (after any target that installs .venv; \`jobu --help\`)."

$(STAMP): requirements-dev.txt layers/core/requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	# the layer, the worker's handlers and the local tools importable as Lambda sees them
	printf '%s\n' $(CURDIR) $(CURDIR)/layers/core/python $(CURDIR)/functions/worker $(CURDIR)/tools \
		> $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/jobu-paths.pth
	# the `jobu` command in .venv/bin, running this checkout's code (an editable install)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . -c constraints.txt
	touch $(STAMP)

# Deployment tools (sam, cfn-lint) live in their own environment: aws-sam-cli pins many packages.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
AWS_REGION ?= us-east-1
# The tools venv first on PATH: sam build needs a real python3.12 (not a pyenv shim, which fails in
# the scratch folders sam builds in) to install the layers and functions.
SAM := PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$(AWS_REGION) \
	AWS_REGION=$(AWS_REGION) $(TOOLS_VENV)/bin/sam
.PHONY: tools build sizes build-x86_64 rie

$(TOOLS_STAMP): requirements-tools.txt requirements-tools.lock
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON312) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-tools.txt -c requirements-tools.lock
	touch $(TOOLS_STAMP)

# The deployment tools' environment (.venv-tools: sam, cfn-lint).
tools: $(TOOLS_STAMP)

# The `jobu` command (tools/jobu_local): local runtime, produce, logs, runs, cron, demo.
JOBU := $(VENV)/bin/jobu
.PHONY: local

# The whole flow on embedded defaults (moto server, Tansu, SQLite): cron job + Kafka message -> runs -> logs.
demo: $(STAMP) kcat
	$(JOBU) demo $(ARGS)

# Run the functions of template.yaml locally until Ctrl-C (`make local ARGS="worker"` for some only).
local: $(STAMP) kcat
	$(JOBU) local up $(ARGS)

.PHONY: kcat
# kcat, the Kafka client the README's examples produce with (installed with apt if missing).
kcat:
	scripts/kcat.sh

# `make test` runs in TEST_WORKERS xdist processes: most of a test's time is waiting on servers and
# subprocesses. A file's tests run in one process (its module-scoped servers start once); files go in
# collection order, so the slow e2e files start first and the many short unit files even out the end.
TEST_WORKERS ?= 2

# Every test (unit, integration on PostgreSQL and MariaDB, e2e through the local runtime, the dashboard in Chromium).
test: $(STAMP) services rie browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The unit tier only (nothing running, sockets blocked; well under 2 minutes): the edit loop.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -q

# ruff, ruff format --check, mypy (strict), the layers (import-linter), dead code (vulture), sam validate --lint, cfn-lint.
lint: $(STAMP) $(TOOLS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture
	$(SAM) validate --lint
	$(TOOLS_VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

# sam build: functions and layers into .aws-sam/build (layers via layers/Makefile; no Docker needed).
build: $(TOOLS_STAMP)
	$(SAM) build

# sam build for x86_64 into .aws-sam/x86_64/build, for `jobu local up --rie` on this x86_64 machine.
# The template's arm64 (Architectures, CompatibleArchitectures) becomes x86_64 in a copy; MAKEFLAGS
# gives layers/Makefile the same ARCH (make variables passed that way win over its `ARCH :=`).
X86_DIR := .aws-sam/x86_64
$(X86_DIR)/build/template.yaml: template.yaml $(TOOLS_STAMP) layers/Makefile layers/core/requirements.txt \
		$(shell find functions layers -name '*.py' -o -name '*.sql' -o -name '*.json' -o -name 'requirements.txt' | grep -v __pycache__)
	mkdir -p $(X86_DIR)
	sed -e 's/Architectures: \[arm64\]/Architectures: [x86_64]/' template.yaml > $(X86_DIR)/template.yaml
	MAKEFLAGS="ARCH=x86_64" $(SAM) build --template-file $(X86_DIR)/template.yaml --base-dir $(CURDIR) \
		--build-dir $(X86_DIR)/build
build-x86_64: $(X86_DIR)/build/template.yaml

# Lambda's runtime interface client (awslambdaric) and the SDK the python3.12 runtime provides, in an
# environment of their own: the interpreter `jobu local up --rie` runs the built functions with.
RIE_VENV := .venv-rie
RIE_STAMP := $(RIE_VENV)/.installed
$(RIE_STAMP): requirements-rie.txt requirements-rie.lock
	test -x $(RIE_VENV)/bin/python || $(PYTHON312) -m venv $(RIE_VENV)
	$(RIE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-rie.txt -c requirements-rie.lock
	touch $(RIE_STAMP)
# What `jobu local up --rie` needs: the x86_64 build, the runtime client's environment, the emulator.
rie: build-x86_64 $(RIE_STAMP)

# Each function's unzipped size (code + layers) from the build; fails above Lambda's 250 MB.
sizes: build $(STAMP)
	$(PY) scripts/sizes.py

# Start PostgreSQL and MariaDB on loopback if they are down (and install kcat if missing).
services:
	scripts/services.sh

.PHONY: browser
# What the dashboard's browser tests need: Debian's Chromium and axe-core (scripts/browser.sh).
browser:
	scripts/browser.sh

# Rewrite jobu/handler_manifest.json from the worker's handlers.
manifest: $(STAMP)
	$(PY) -m jobu.handler_manifest --write
	$(PY) -m jobu.store.tables --write

# Apply the schema to JOBU_DATABASE_URL.
migrate: $(STAMP)
	$(PY) -m jobu.migrate

# Performance benchmarks, each against its floor in the same run, then one table (bench/run_all.py).
bench: $(STAMP) services
	$(PY) bench/run_all.py

.PHONY: soak soak-full
# The fault-injection soak (bench/soak.py), a few hundred events on each backend.
soak: $(STAMP) services
	$(PY) bench/soak.py --short

# The long soak: 10,000 events on PostgreSQL, 2,000 on MariaDB and SQLite.
soak-full: $(STAMP) services
	$(PY) bench/soak.py --backend postgres --events 10000
	$(PY) bench/soak.py --backend mysql --events 2000
	$(PY) bench/soak.py --backend sqlite --events 2000

.PHONY: bench-pipeline bench-local bench-start
# The data pipeline's benchmarks: CSV -> Parquet and Parquet -> PostgreSQL, each against its baseline.
bench-pipeline: $(STAMP) services
	$(PY) bench/pipeline_csv.py
	$(PY) bench/pipeline_load.py --mysql

# Remove the virtual environments and build and tool caches.
clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(RIE_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# The local runtime end to end (bench/local_e2e.py): 300 messages produce -> SUCCESS, vs one container per function.
bench-local: $(STAMP) services
	$(PY) bench/local_e2e.py

# Scheduled-to-started latency through the local runtime, warm (bench/start_latency.py): Kafka records
# and cron slots to RUNNING, p50/p99 against the floor of an SQS hop and one statement.
bench-start: $(STAMP)
	$(PY) bench/start_latency.py
