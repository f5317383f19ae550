# The two commands:  make run  (build the warehouse on demo data)   make test  (run the tests)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
SPARK_STAMP := $(VENV)/.spark-$(shell cat requirements.txt requirements-spark.txt | cksum | cut -d' ' -f1)

.PHONY: run test demo-data docs clean help spark-setup spark-run

help:
	@echo "make run        set up, generate demo data, build the warehouse (TRANSACTIONS=file.csv.gz for your own)"
	@echo "make test       run the test suite"
	@echo "make demo-data  (re)generate warehouse/demo/transactions.parquet (ROWS=300000)"
	@echo "make clean      remove the built warehouse (keeps the virtual environment)"
	@echo "make spark-setup  install the optional Spark extra (dbt-spark, pyspark; needs Java 17+)"
	@echo "make spark-run    build the SQL layers and marts on local Spark (after make run on the same input)"

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	@rm -f $(VENV)/.spark-* && touch $@

spark-setup: $(SPARK_STAMP)
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || echo "note: no Java found; Spark needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"

spark-run: $(SPARK_STAMP)
	$(BIN)/python scripts/run_warehouse.py --target spark $(ARGS)

run: $(STAMP)
	$(BIN)/python scripts/run_warehouse.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo-data: $(STAMP)
	$(BIN)/python scripts/generate_transactions.py --rows $(or $(ROWS),300000) --output warehouse/demo/transactions.parquet

clean:
	rm -rf warehouse/retention.duckdb* warehouse/docs warehouse/dbt_target warehouse/logs warehouse/spark
