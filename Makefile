# The two commands a fresh machine needs: `make serve` and `make test`.
# Everything they need is installed here: a virtualenv with the Python packages, and
# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser of its own).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ROOT   ?= .

.PHONY: serve build check test lint bench setup chromium clean

serve: $(BIN)/.installed                  ## build the handbook and serve it on http://127.0.0.1:8000/
	$(BIN)/csbp serve --root $(ROOT)

build: $(BIN)/.installed                  ## build the public site into site/
	$(BIN)/csbp build --root $(ROOT)

check: $(BIN)/.installed                  ## validate every entry
	$(BIN)/csbp check --root $(ROOT)

test: $(BIN)/.installed chromium          ## lint, then the whole test suite (unit, build, browser)
	$(BIN)/ruff check generator site_tests
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check generator site_tests

SIZES ?= 100,1000,5000
bench: $(BIN)/.installed                  ## performance benchmark, figures beside targets (benchmarks/README.md)
	$(BIN)/python benchmarks/run.py --sizes $(SIZES) --json benchmarks/out/results.json

setup: $(BIN)/.installed chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

chromium:
	@sh scripts/install-chromium.sh

clean:
	rm -rf build site .site-staging-* .site-previous-* .pytest_cache .ruff_cache
