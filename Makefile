# regcalc: every command a user needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Airflow and cosmos (orchestration/): their own virtualenv, README "Airflow" says why
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_INSTALLED := $(AIRFLOW_VENV)/.installed
AIRFLOW_MANIFEST ?= target/airflow
SAMPLE ?= sample
SAMPLE_DEALS ?= 20000
BENCH_DEALS ?= 1000000
BENCH_ENTITIES ?= 3
BENCH_DATES ?= 1
BENCH_SEED ?= 42
RECALC_BENCH_DEALS ?= 300000
JARS ?= jars
THRIFT_PORT ?= 10000
THRIFT_HOME ?= .regcalc/thrift-server

.DEFAULT_GOAL := help
.PHONY: help setup jars run sample test test-cluster thrift lint bench bench-recalc bench-warehouse docs redshift-check rules-check postgres-server clean airflow airflow-manifest

help: ## list the commands
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH, or make PYTHON=/path/to/python3.11"; exit 1; }
	@command -v java >/dev/null || { echo "need Java 17 (java on PATH) for Spark"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(INSTALLED) ## create .venv and install regcalc with its dev tools

$(AIRFLOW_INSTALLED): orchestration/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH, or make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r orchestration/requirements.txt
	touch $@

airflow: $(AIRFLOW_INSTALLED) ## create .venv-airflow: Airflow 3 + astronomer-cosmos for the DAG in orchestration/

airflow-manifest: setup ## dbt parse into target/airflow: the manifest the DAG renders its dbt tasks from
	$(BIN)/dbt parse --project-dir . --profiles-dir profiles --target-path $(AIRFLOW_MANIFEST)

# hadoop-aws must match the Hadoop inside the pyspark wheel; Maven resolves the AWS SDK bundle its POM names.
jars: setup ## Spark's S3A connector for s3a:// lakes (hadoop-aws + AWS SDK bundle) from Maven Central into ./jars
	@version=$$($(BIN)/python -m regcalc.s3a) || exit 1; \
	if [ -f "$(JARS)/hadoop-aws-$$version.jar" ]; then echo "S3A connector: $(JARS)/hadoop-aws-$$version.jar"; exit 0; fi; \
	command -v mvn >/dev/null || { echo "need Maven (mvn) on PATH to fetch the S3A connector (Debian: apt-get install maven)"; exit 1; }; \
	rm -rf "$(JARS)" && \
	mvn -B -q -Dstyle.color=never -f maven/pom.xml -Dhadoop.version=$$version dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory="$(abspath $(JARS))" && \
	ls "$(JARS)"

$(SAMPLE)/entities.csv: | $(INSTALLED)
	$(BIN)/regcalc generate --deals $(SAMPLE_DEALS) --entities 3 --dates 2 --out $(SAMPLE)

sample: $(SAMPLE)/entities.csv ## generate the sample bank (SAMPLE_DEALS deals) into ./sample

run: setup sample ## set up, then run jobs + dbt build on the sample bank (local Spark, ./lake) and print the LCR
	$(BIN)/regcalc run --input $(SAMPLE)

test: setup airflow lint browser jars postgres ## set up (.venv, .venv-airflow), lint, fetch the S3A connector, run every test
	$(BIN)/pytest --durations=25

test-cluster: setup ## only the tests on Spark outside this process: spark-submit to local-cluster, a Thrift server
	$(BIN)/pytest -m cluster

thrift: setup ## start a Spark Thrift server on 127.0.0.1:THRIFT_PORT for --target spark (Ctrl-C stops it)
	$(BIN)/python -m regcalc.spark_submit thrift --home $(THRIFT_HOME) --port $(THRIFT_PORT)

.PHONY: browser postgres
browser: ## install Debian's chromium (headless docs-site test) if it is not on PATH
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

postgres: ## install Debian's PostgreSQL server binaries (the tests start a throwaway server) if missing
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq postgresql)

postgres-server: setup postgres ## start a throwaway PostgreSQL set up like Redshift (target postgres); Ctrl-C stops it
	$(BIN)/python -m regcalc.pgserver

# sqlfluff compiles every model with dbt on the local target (a Spark session, in a state folder of
# its own so that it never meets a run's metastore lock); it fails the build on any violation.
lint: setup ## ruff on the Python code, sqlfluff (dbt templater, .sqlfluff) on the SQL
	$(BIN)/ruff check python tests orchestration
	$(BIN)/ruff format --check python tests orchestration
	REGCALC_HOME=$(CURDIR)/.regcalc/lint $(BIN)/sqlfluff lint models tests/dbt analyses

bench: setup ## issue 11's ratios on BENCH_DEALS deals (1M; 10M: BENCH_DEALS=10000000): jobs vs plain PySpark, dbt vs jobs, fixed cost, run vs DuckDB, memory
	$(BIN)/python -m regcalc.bench --deals $(BENCH_DEALS) --entities $(BENCH_ENTITIES) --dates $(BENCH_DATES) --seed $(BENCH_SEED)

bench-recalc: setup ## recalc with its data tests as a fraction of a full build (target <= 10%): 30 dates, one rule on one date
	$(BIN)/python -m regcalc.bench --recalc --deals $(RECALC_BENCH_DEALS) --dates 30

bench-warehouse: setup postgres ## dbt build on local Spark vs on PostgreSQL (load included), same SAMPLE_DEALS lake
	$(BIN)/python -m regcalc.bench --warehouse --deals $(SAMPLE_DEALS) --dates 2

docs: setup ## build the dbt docs site (one static file: target/static_index.html) with lineage
	$(BIN)/dbt docs generate --static --project-dir . --profiles-dir profiles
	@echo "open target/static_index.html"

redshift-check: setup ## compile every model for Redshift offline and parse the SQL with sqlglot
	$(BIN)/python -m regcalc.redshift_check

rules-check: setup ## validate the adjustment rule CSVs (file, line and column for every problem)
	$(BIN)/regcalc rules check

clean: ## remove generated state (venv kept)
	rm -rf target logs .regcalc lake sample bench-out spark-warehouse metastore_db derby.log
