# The two commands: `make run` (the demo: web, worker, beat, sandbox systems) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint venv migrate demo clean static

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Integration Hub needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# Front-end libraries (Chart.js) from the npm registry, pinned by package-lock.json, copied into static/vendor/
# (gitignored): the pages load them from our own static files, never from a CDN.
VENDOR_JS := static/vendor/chart.umd.min.js
$(VENDOR_JS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Integration Hub needs Node.js and npm (apt-get install nodejs npm) for its charts"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@mkdir -p static/vendor
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR_JS)

static: $(VENDOR_JS)

venv: $(STAMP) $(VENDOR_JS)

migrate: venv
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py setup_demo

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Integration Hub: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo "  Sandbox CRM (HubSpot API): http://127.0.0.1:8101   Sandbox ERP (NetSuite API): http://127.0.0.1:8102"
	@echo "  Logins: printed above on first run; kept in data/demo-logins.txt. Ctrl-C stops everything."
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile 2>&1 || true

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the layers of docs/architecture.md (.importlinter)
	$(BIN)/python manage.py makemigrations --check --dry-run --verbosity 1
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache node_modules static/vendor
