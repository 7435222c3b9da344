# The two commands: `make run` and `make test`; `make demo` and `make invoke` work with a running
# `make run`. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FN ?=
EVENT ?=

.PHONY: run test lint format invoke demo install browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m infra.local.run

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q

# The browser tests (tests/h5/test_browser.py) drive Debian's chromium with a CJK font, never a
# downloaded browser: installed here when missing and we are root, else one line says how.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei
browser:
	@if dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(BROWSER_PACKAGES) for the browser tests" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	else echo "the browser tests need Debian's chromium: sudo apt-get install -y $(BROWSER_PACKAGES)" >&2; fi

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
