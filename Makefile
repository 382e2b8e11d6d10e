# Two entry points, both from a fresh clone: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test setup browser wordnet screenshots lint typecheck clean

# The venv is rebuilt when pyproject.toml changes. torch goes first, pinned, so pip
# takes the CPU wheel on disk instead of pulling a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The browser tests drive Debian's chromium (never `playwright install`: it downloads).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get install -y -qq chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

browser: $(CHROMIUM)

# WordNet 3.0 (Debian's wordnet-base): synonyms in answering, off unless ASSISTANT_WORDNET_DIR
# is set; the tests use it.
WORDNET := /usr/share/wordnet/index.noun
$(WORDNET):
	$(SUDO) apt-get install -y -qq --no-install-recommends wordnet-base || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends wordnet-base; }

wordnet: $(WORDNET)

# Pictures of the pages at desktop and phone width, light and dark, into docs/screenshots/.
screenshots: setup browser
	ASSISTANT_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -m browser tests/http/test_browser.py tests/http/test_browser_news.py

run: setup
	$(BIN)/assistant serve

lint: setup
	$(BIN)/ruff check assistant tests bench
	$(BIN)/ruff format --check assistant tests bench

typecheck: setup
	$(BIN)/mypy

test: setup browser wordnet lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) index/*
