# UPAIR Explorer — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
CORPUS ?= demo
STAMP  := $(VENV)/.installed
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install run serve build test test-fast bench clean-cache screenshots fetch fetch-background

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP) ## create .venv (if missing) and install the pinned requirements

build: $(STAMP) ## build the default corpus and its indices (cached; only missing work is done)
	$(PY) -m core build --corpus $(CORPUS)

fetch: $(STAMP) ## download the UPAIR baseline CLIP (ViT-B-16, laion400m_e32) now (needs the network once)
	$(PY) -m core fetch clip-baseline

fetch-background: $(STAMP)
	@$(PY) -m core fetch clip-baseline --background || true

run: fetch-background build ## set up everything (the baseline CLIP downloads in the background unless OFFLINE=1), then launch the single-user workbench on http://127.0.0.1:$(PORT) (this machine only)
	$(PY) -m streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port $(PORT) --server.fileWatcherType none --server.headless true

serve: build ## serve a room: served mode on the address/port of .streamlit/secrets.toml or UPAIR_SERVE_ADDRESS/PORT
	@UPAIR_SERVE=1 $(PY) -m dashboard.serve args >/dev/null
	UPAIR_SERVE=1 $(PY) -m streamlit run dashboard/app.py $$(UPAIR_SERVE=1 $(PY) -m dashboard.serve args)

test: $(STAMP) ## run the whole test suite (slow and browser tests included) on $(TEST_WORKERS) workers (TEST_WORKERS=0: one process)
	@command -v chromium >/dev/null || echo "note: chromium not on PATH; browser tests will skip (apt-get install -y chromium)"
	@start=$$(date +%s); $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup; rc=$$?; \
	  echo "make test: $$(( $$(date +%s) - start )) s wall (load: $$(cut -d' ' -f1-3 /proc/loadavg); per-test durations in .pytest_cache/upair-durations.json)"; \
	  exit $$rc

test-fast: $(STAMP) ## the suite without slow and browser tests
	$(PY) -m pytest -q -m "not slow and not browser"

bench: $(STAMP) ## run the performance benchmark; writes bench/report.md and bench/report.json
	$(PY) -m bench.run

screenshots: $(STAMP) ## screenshot every page in headless Chromium (tests/screenshots/) and refresh docs/*.png
	UPAIR_DOCS_SHOTS=1 $(PY) -m pytest -q -m browser

clean-cache: ## delete every cached embedding, index, map and the generated demo corpus
	rm -rf cache/*
