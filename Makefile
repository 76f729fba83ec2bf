# AutoIndex: `make run` serves the product on its embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PORT ?= 3000
export TEST_DATABASE_URL ?= postgresql+pg8000://postgres@127.0.0.1:5432/postgres
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-unit install install-local lock cloud-check bench-built services lint typecheck imports pytest bench template-check clean web

# `make run` installs the product and the local runner only (the `local` extra); `make test` adds the
# test and lint tools (the `dev` extra). Each marker remembers what was installed.
# Both install exactly the hashed pins of requirements/ (`make lock` writes them), then the project without deps.
$(BIN)/.installed-local: requirements/local.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/local.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(BIN)/.installed: requirements/dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@ $(BIN)/.installed-local

install: $(BIN)/.installed

install-local: $(BIN)/.installed-local

## lock: pin every dependency with hashes (infra/lock.py, uv, needs PyPI): requirements/{dev,local,lambda-runtime}.txt,
## shared/requirements.txt, layers/numpy/requirements.txt, functions/migrate/requirements.txt.
## Rerun it after ANY change to pyproject.toml's dependencies (tests/unit/test_lock.py fails until you do), and commit.
lock: $(BIN)/.installed
	$(BIN)/python infra/lock.py $(BIN)/uv

## run: create .venv, install the product and its local runner, migrate the embedded database, seed demo prices once, serve on http://127.0.0.1:$(PORT)
run: install-local web
	$(BIN)/autoindex migrate
	$(BIN)/autoindex refresh --if-empty
	$(BIN)/autoindex share-counts --if-empty
	PORT=$(PORT) $(BIN)/autoindex serve

## test: create .venv, install, make sure PostgreSQL and Redis run, then lint, type-check, layering and the whole suite
test: install services web lint typecheck imports pytest

## test-unit: the fast tier: lint, layering and every test that needs no PostgreSQL, Redis or network
test-unit: install lint imports
	$(BIN)/pytest tests/unit

services:
	@bash infra/ensure-services.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy shared/autoindex dev/autoindex_dev tests bench
	@# Each function folder is its own code root in Lambda (`from routes import router`), so check each alone.
	@for fn in functions/*/; do MYPYPATH=shared:$$fn $(BIN)/mypy --config-file pyproject.toml $$fn*.py || exit 1; done

## imports: the layering contracts of pyproject.toml (docs/architecture.md)
imports:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest

## bench: the benchmarks, printed as ratios against a baseline measured in the same run
bench: install services
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.index_cold_start
	$(BIN)/python -m bench.index_history_latency
	$(BIN)/python -m bench.ratelimit_latency
	$(BIN)/python -m bench.auth_latency
	$(BIN)/python -m bench.compute
	$(BIN)/python -m bench.ingest_throughput
	$(BIN)/python -m bench.refresh_budget
	$(BIN)/python -m bench.refresh_credits
	$(BIN)/python -m bench.edgar_refresh
	$(BIN)/python -m bench.backtest_job
	$(BIN)/python -m bench.webhook_fanout
	$(BIN)/python -m bench.web_dashboard

## template-check: cfn-lint, sam validate (plain and --lint) and sam build, with SAM CLI in its own venv
$(SAM_VENV)/.installed: infra/sam-requirements.txt
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r infra/sam-requirements.txt
	@touch $@

# The Lambda runtime is python3.13: sam build needs that interpreter on PATH (pyenv has it here).
# (pyenv's shim for python3.13 fails unless 3.13 is selected, so the real interpreter is looked up first.)
RUNTIME_PY ?= $(shell (pyenv root >/dev/null 2>&1 && ls -d $$(pyenv root)/versions/3.13*/bin/python3.13 2>/dev/null | head -1) || command -v python3.13)

template-check: $(SAM_VENV)/.installed web
	@test -n "$(RUNTIME_PY)" || { echo "python3.13 (the Lambda runtime) is needed for sam build" >&2; exit 1; }
	$(SAM_VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint
	$(SAM_VENV)/bin/sam validate --region us-east-1
	PATH="$(dir $(RUNTIME_PY)):$$PATH" $(SAM_VENV)/bin/sam build --build-dir .aws-sam/build
	@# NumPy's own test suites (about 10 MB with their bytecode) never run in Lambda.
	find .aws-sam/build/NumpyLayer/python/numpy -type d -name tests -prune -exec rm -rf {} +
	@# /opt is read-only in Lambda: without bytecode in the artefact every cold start compiles the layer again.
	$(RUNTIME_PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build
	$(RUNTIME_PY) infra/smoke_build.py

## bench-built: cold start of each API function from .aws-sam/build on Python 3.13 against a bare FastAPI+Mangum app
bench-built: $(BIN)/.installed
	@test -f .aws-sam/build/template.yaml || $(MAKE) template-check
	RUNTIME_PY="$(RUNTIME_PY)" $(BIN)/python -m bench.built_cold_start

## cloud-check: the built artefacts in an emulated AWS: moto on 127.0.0.1, sam package into its S3, the SAM-translated
## template through CloudFormation, each function in its own Python 3.13 process from .aws-sam/build, and the whole
## chain schedule -> refresh -> SQS -> ingest -> compute -> warm -> a cached read over HTTP (docs/operations.md)
cloud-check: $(BIN)/.installed $(SAM_VENV)/.installed services
	@test -f .aws-sam/build/template.yaml || $(MAKE) template-check
	RUNTIME_PY="$(RUNTIME_PY)" $(BIN)/python -m autoindex_dev.cloud.check

## web: the dashboard (docs/web.md): npm ci from the lock file, type-check, bundle into functions/web/static/
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/tsconfig.json

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

functions/web/static/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run --silent check && npm run --silent build

web: functions/web/static/index.html

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache var web/node_modules functions/web/static
