# The two commands: `make run` and `make test`; `make demo` and `make invoke` work with a running
# `make run`. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FN ?=
EVENT ?=

.PHONY: run test lint format invoke demo install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m infra.local.run

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# FN and EVENT reach the command through the environment, so any quoting in them survives.
invoke: $(STAMP)
	@test -n "$$FN" || (echo "usage: make invoke FN=<function> [EVENT=<json file>]" >&2; exit 2)
	@$(BIN)/python -m infra.local.invoke "$$FN" --event "$$EVENT"

demo: $(STAMP)
	@$(BIN)/python -m infra.local.demo

clean:
	rm -rf $(VENV) build .run
