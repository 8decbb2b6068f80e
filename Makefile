# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo margin-example test bench mql clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/mtbridge demo --seed 7

margin-example: $(STAMP_RUN)
	$(BIN)/mtbridge margin --steps --leverage 1000 --currency USD \
	    buy 1 GBPUSD@1.4584 buy 5 EURUSD@1.3175 buy 10 GBPUSD@1.4590 \
	    buy 30 EURUSD@1.3164 buy 20 EURUSD@1.3188 close 3

test: $(STAMP_TEST)
	bash scripts/install-browser.sh
	bash scripts/install-mql-toolchain.sh
	bash scripts/install-postgres.sh
	$(BIN)/python -m pytest

# The two installable MetaTrader trees and their zips, from the one source in mql/
mql:
	$(PYTHON) mql/tools/build_dist.py --out dist/mql

bench: $(STAMP_RUN)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info

# The real EAs built natively, end to end against the simulated server and a real daemon,
# compared with the Python simulated terminals (docs/mql-e2e.md)
.PHONY: mql-e2e
mql-e2e: $(STAMP_TEST)
	bash scripts/install-mql-toolchain.sh
	$(BIN)/python -m mqlnative.e2e
