# Two commands for a newcomer: `make run` (the demo) and `make test` (the suite).
# Both build .venv in the checkout from requirements.lock first; nothing else needs installing.

PYTHON ?= python3
# These targets are for development: debug mode unless told otherwise (production is the settings' default).
export DEBUG ?= 1
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test fuzz bench lint fmt lock clean venv schema lint-api verify-rollups

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SLA Portal needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@bash slaportal/run_demo.sh $(PY)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Deeper, random schemathesis exploration of the API than the suite's fixed run (FUZZ_EXAMPLES per operation).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(PY) -m pytest tests/api/test_schema_fuzz.py -q

# Figures at 100,000 and 1,000,000 leads on PostgreSQL and Redis, and their ratios (README, Performance);
# loads each size's data on first run. BENCH_SIZES=1000000 measures one size.
bench: $(STAMP)
	$(PY) -m bench.sizes

# Check the tallies the dashboard and the reports read against the events of the database DATABASE_URL names.
verify-rollups: $(STAMP)
	$(PY) manage.py tallies --verify

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The OpenAPI document, as /api/schema/ serves it, written to var/openapi.yaml.
schema: $(STAMP)
	@mkdir -p var
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

# The schema through Redocly (recommended rules) and Spectral (spectral:oas), as CI runs them. Needs Node.js
# and npm; the linters' exact versions come from .ci/schema-lint/package-lock.json.
LINTERS := .ci/schema-lint/node_modules/.bin
lint-api: schema
	npm ci --prefix .ci/schema-lint --no-audit --no-fund --loglevel=error
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(LINTERS)/redocly lint var/openapi.yaml
	$(LINTERS)/spectral lint --ruleset .ci/schema-lint/.spectral.yaml --fail-severity=warn var/openapi.yaml

fmt: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Rebuild the lock from pyproject.toml's ranges in a throwaway environment.
lock:
	rm -rf var/lockenv && mkdir -p var && $(PYTHON) -m venv var/lockenv
	$(PYTHON) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	  print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > var/lock-input.txt
	var/lockenv/bin/pip install --quiet --disable-pip-version-check -r var/lock-input.txt
	{ echo '# Exact versions that `make run` and `make test` install (runtime and test tools alike).'; \
	  echo '# Regenerate with `make lock` after changing the ranges in pyproject.toml.'; \
	  var/lockenv/bin/pip freeze --exclude pip; } > requirements.lock
	rm -rf var/lockenv var/lock-input.txt

clean:
	rm -rf $(VENV) var/db.sqlite3 var/celery
