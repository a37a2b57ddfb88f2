# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's chromium (Playwright never downloads a browser of its own).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@echo "chromium is missing; installing Debian's package for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

demo: $(STAMP)
	$(BIN)/matterline demo

# The suite runs in four worker processes, one test file each at a time (module fixtures stay shared):
# browser and server tests spend much of their time waiting, so four keep two cores busy (three left them
# half idle: 549 s against 479 s for the whole suite on this 2-core machine).
PYTEST_WORKERS ?= 4

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/pytest tests/bench -s -p no:cacheprovider -o addopts=""

clean:
	rm -rf $(VENV) .matterline-demo .pytest_cache .mypy_cache .ruff_cache
