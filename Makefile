# The two commands:  make run  (build the warehouse on demo data)   make test  (run the tests)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
SPARK_STAMP := $(VENV)/.spark-$(shell cat requirements.txt requirements-spark.txt | cksum | cut -d' ' -f1)
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test test-fast demo-data serve docs clean help spark-setup spark-run

help:
	@echo "make run        set up, generate demo data, build the warehouse (TRANSACTIONS=file.csv.gz for your own)"
	@echo "make test       run the test suite (make test-fast: without the slow end-to-end tests)"
	@echo "make demo-data  (re)generate warehouse/demo/transactions.parquet (ROWS=300000)"
	@echo "make serve      serve the dashboard and the REST API (PORT=8000 HOST=127.0.0.1)"
	@echo "make clean      remove the built warehouse (keeps the virtual environment)"
	@echo "make spark-setup  install the optional Spark extra (dbt-spark, pyspark; needs Java 17+)"
	@echo "make spark-run    the whole job on local Spark (no DuckDB build needed)"

# pip's own output goes to .venv/install.log (shown only when the install fails)
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[retention] installing the pinned dependencies into $(VENV) (log: $(VENV)/install.log) ..."
	@($(BIN)/python -m pip install --quiet --upgrade pip \
	  && $(BIN)/python -m pip install --quiet -r requirements.txt \
	  && $(BIN)/python -m pip install --quiet --no-deps -e .) > $(VENV)/install.log 2>&1 \
	  || (cat $(VENV)/install.log; exit 1)
	@rm -f $(VENV)/.installed-* && touch $@

$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	@($(BIN)/python -m pip install --quiet -r requirements-spark.txt) > $(VENV)/install-spark.log 2>&1 \
	  || (cat $(VENV)/install-spark.log; exit 1)
	@rm -f $(VENV)/.spark-* && touch $@

spark-setup: $(SPARK_STAMP)
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || echo "note: no Java found; Spark needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"

spark-run: $(SPARK_STAMP)
	$(BIN)/retention build --target spark $(ARGS)

run: $(STAMP)
	@$(BIN)/retention build $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

demo-data: $(STAMP)
	$(BIN)/retention demo-data --rows $(or $(ROWS),300000) --output warehouse/demo/transactions.parquet

serve: $(STAMP)
	$(BIN)/retention serve --host $(HOST) --port $(PORT) $(ARGS)

clean:
	rm -rf warehouse/retention.duckdb* warehouse/models warehouse/docs warehouse/dbt_target warehouse/logs warehouse/spark
