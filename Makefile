# The two commands:  make run  (build the warehouse on demo data)   make test  (run the tests)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: run test demo-data docs clean help

help:
	@echo "make run        set up, generate demo data, build the warehouse (TRANSACTIONS=file.csv.gz for your own)"
	@echo "make test       run the test suite"
	@echo "make demo-data  (re)generate warehouse/demo/transactions.parquet (ROWS=300000)"
	@echo "make clean      remove the built warehouse (keeps the virtual environment)"

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/python scripts/run_warehouse.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo-data: $(STAMP)
	$(BIN)/python scripts/generate_transactions.py --rows $(or $(ROWS),300000) --output warehouse/demo/transactions.parquet

clean:
	rm -rf warehouse/retention.duckdb* warehouse/docs warehouse/dbt_target warehouse/logs
