# Thin wrappers; everything installs into a local virtualenv (.venv) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-virtuoso lint check bench eval-linking eval-search clean static browser axe ldes-client

install: $(STAMP) static

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The query page's editor: @zazuko/yasgui from the npm registry, copied into the package
# (sparql/static/yasgui/, not in git). Without npm (or the registry) the page keeps its plain
# editor, so this step never fails the build.
YASGUI_VERSION := 4.6.2
YASGUI_DIR     := sparql/static/yasgui

static: $(YASGUI_DIR)/yasgui.min.js

$(YASGUI_DIR)/yasgui.min.js:
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && \
	  if (cd $$tmp && npm install --silent --no-audit --no-fund --no-save \
	        @zazuko/yasgui@$(YASGUI_VERSION) >/dev/null 2>&1); then \
	    mkdir -p $(YASGUI_DIR) && \
	    cp $$tmp/node_modules/@zazuko/yasgui/build/yasgui.min.css $(YASGUI_DIR)/ && \
	    cp $$tmp/node_modules/@zazuko/yasgui/build/yasgui.min.js $(YASGUI_DIR)/; \
	  else echo "npm install @zazuko/yasgui failed: the query page uses its plain editor"; fi; \
	  rm -rf $$tmp; \
	else echo "npm not found: the query page uses its plain editor"; fi

# The browser test (tests/test_query_page.py) drives Debian's chromium; it is skipped, with the
# reason, where chromium is missing and cannot be installed (not root, no apt-get).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
	    || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium not found: the browser test will be skipped"; fi; }

# The analyst pages' accessibility check (tests/test_pages_browser.py) runs axe-core, from the
# npm registry, in the browser; its script is copied into the virtualenv ($(AXE_DIR), not in
# git). Without npm (or the registry) that one check is skipped, with the reason.
AXE_VERSION := 4.14.1
AXE_DIR     := $(VENV)/share/axe-core

axe: $(AXE_DIR)/axe.min.js

$(AXE_DIR)/axe.min.js:
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && \
	  if (cd $$tmp && npm install --silent --no-audit --no-fund --no-save \
	        axe-core@$(AXE_VERSION) >/dev/null 2>&1); then \
	    mkdir -p $(AXE_DIR) && \
	    cp $$tmp/node_modules/axe-core/axe.min.js $$tmp/node_modules/axe-core/LICENSE $(AXE_DIR)/; \
	  else echo "npm install axe-core failed: the accessibility check will be skipped"; fi; \
	  rm -rf $$tmp; \
	else echo "npm not found: the accessibility check will be skipped"; fi

# The change feed's consumer test (tests/test_feed_client.py, issue 15) replays /ldes with the
# LDES client from the npm registry (ldes-client), installed into the virtualenv
# ($(LDES_CLIENT_DIR), not in git). Without npm (or the registry) that test is skipped, with
# the reason.
LDES_CLIENT_VERSION := 0.3.0
LDES_CLIENT_DIR     := $(VENV)/share/ldes-client

ldes-client: $(LDES_CLIENT_DIR)/node_modules/.bin/ldes-client

$(LDES_CLIENT_DIR)/node_modules/.bin/ldes-client:
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(LDES_CLIENT_DIR) && \
	  if ! (cd $(LDES_CLIENT_DIR) && npm install --silent --no-audit --no-fund --no-save \
	        ldes-client@$(LDES_CLIENT_VERSION) >/dev/null 2>&1); then \
	    echo "npm install ldes-client failed: the LDES client test will be skipped"; fi; \
	else echo "npm not found: the LDES client test will be skipped"; fi

## make run: harvest the bundled demo source into the embedded store, then serve SPARQL
run: install
	$(BIN)/meahub demo

## make test: lint, type-check and the whole test suite
test: install browser axe ldes-client check
	$(BIN)/python -m pytest

## make test-virtuoso: the remote-store tests against OpenLink Virtuoso (Debian package
## virtuoso-opensource, installed when missing), started on loopback over a temporary database
test-virtuoso: install
	sh scripts/virtuoso-test.sh $(BIN)/python

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: the issue-6 suite (bench/suite.py), one run on the same generated data: harvest from a
## mock provider process (default mix: 50,000 decisions, 200,000 reports, 30,000 focal points) against
## pyoxigraph bulk_load of the same quads, peak RSS at two sizes, linking, user-story query latency and
## throughput against `oxigraph serve`, the analyst pages, full-text search against the CONTAINS scan
## (and the harvest cost of its index), export, and the remote backend. Writes bench/results/suite.*
## and latency-ratio.png. BENCH_ARGS="--scale 0.25" for a quicker run. The parts also run alone:
## python -m bench.harvest_bench | endpoint_bench | linking_bench | pages_bench | search_bench | remote_bench
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m bench.suite $(BENCH_ARGS)

## make soak (not part of make test): 30 minutes of scheduled harvests every 10 s against a mock
## with injected faults while queries run; RSS growth, failed queries, harvest outcomes
SOAK_MINUTES ?= 30
soak: install
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

## make eval-linking: precision, recall and F1 of the Aichi linker on the tuning and held-out sets
eval-linking: install
	$(BIN)/python -m harvester.linking.evaluate

## make eval-search: precision@10 and recall@50 of full-text search on the labelled set
## (tests/data/search/: 41 queries in six languages over 40 judged records; see docs/search.md)
eval-search: install
	$(BIN)/python -m harvester.search.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
