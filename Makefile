# Stamina: `make run` (everything, zero setup) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMINA_PORT ?= 8000
export STAMINA_PORT

.PHONY: run test lint bench venv clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Stamina is starting (web + worker + beat, embedded broker unless REDIS_URL is set):"
	@echo "  ops console   http://127.0.0.1:$(STAMINA_PORT)/admin/"
	@echo "  API docs      http://127.0.0.1:$(STAMINA_PORT)/api/docs/"
	@echo "  health        http://127.0.0.1:$(STAMINA_PORT)/health"
	@echo "  round trip    $(BIN)/python manage.py ping_worker"
	@echo "Ctrl-C stops everything."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=core.settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/check_import_cycles.py
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/run.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) var
