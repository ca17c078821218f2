# regcalc: every command a user needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SAMPLE ?= sample
SAMPLE_DEALS ?= 20000
BENCH_DEALS ?= 1000000
RECALC_BENCH_DEALS ?= 300000
THRIFT_PORT ?= 10000
THRIFT_HOME ?= .regcalc/thrift-server

.DEFAULT_GOAL := help
.PHONY: help setup run sample test test-cluster thrift lint bench bench-recalc docs redshift-check rules-check clean

help: ## list the commands
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH, or make PYTHON=/path/to/python3.11"; exit 1; }
	@command -v java >/dev/null || { echo "need Java 17 (java on PATH) for Spark"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(INSTALLED) ## create .venv and install regcalc with its dev tools

$(SAMPLE)/entities.csv: | $(INSTALLED)
	$(BIN)/regcalc generate --deals $(SAMPLE_DEALS) --entities 3 --dates 2 --out $(SAMPLE)

sample: $(SAMPLE)/entities.csv ## generate the sample bank (SAMPLE_DEALS deals) into ./sample

run: setup sample ## set up, then run jobs + dbt build on the sample bank (local Spark, ./lake) and print the LCR
	$(BIN)/regcalc run --input $(SAMPLE)

test: setup lint browser ## set up, lint, and run the whole test suite
	$(BIN)/pytest

test-cluster: setup ## only the tests on Spark outside this process: spark-submit to local-cluster, a Thrift server
	$(BIN)/pytest -m cluster

thrift: setup ## start a Spark Thrift server on 127.0.0.1:THRIFT_PORT for --target spark (Ctrl-C stops it)
	$(BIN)/python -m regcalc.spark_submit thrift --home $(THRIFT_HOME) --port $(THRIFT_PORT)

.PHONY: browser
browser: ## install Debian's chromium (headless docs-site test) if it is not on PATH
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

lint: setup ## ruff on the Python code
	$(BIN)/ruff check python tests
	$(BIN)/ruff format --check python tests

bench: setup ## benchmark the pipeline on BENCH_DEALS deals (default 1M; make bench BENCH_DEALS=10000000 for 10M)
	$(BIN)/python -m regcalc.bench --deals $(BENCH_DEALS)

bench-recalc: setup ## incremental recalc vs full rebuild: 30 dates of history, one rule changed on one date
	$(BIN)/python -m regcalc.bench --recalc --deals $(RECALC_BENCH_DEALS) --dates 30

docs: setup ## build the dbt docs site (one static file: target/static_index.html) with lineage
	$(BIN)/dbt docs generate --static --project-dir . --profiles-dir profiles
	@echo "open target/static_index.html"

redshift-check: setup ## compile every model for Redshift offline and parse the SQL with sqlglot
	$(BIN)/python -m regcalc.redshift_check

rules-check: setup ## validate the adjustment rule CSVs (file, line and column for every problem)
	$(BIN)/regcalc rules check

clean: ## remove generated state (venv kept)
	rm -rf target logs .regcalc lake sample bench-out spark-warehouse metastore_db derby.log
