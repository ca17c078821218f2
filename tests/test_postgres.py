"""The warehouse half, executed on a real PostgreSQL (the session's server, set up like Redshift).

One small generated bank goes through the Spark jobs once. From that lake the project is built twice:
on the local Spark target (the reference; its data tests run in the other modules), and on PostgreSQL
after `COPY ... FROM STDIN` of the lake (regcalc.warehouse): every seed, model, data test and unit test,
the delete+insert incrementals and the materialized views. The two builds must agree row for row
(fct_lcr, fct_adjustment_audit) and in the star facts' totals. Then a rule changes and `regcalc recalc`
rebuilds on PostgreSQL; the result must equal a full rebuild.

The project copy carries one extra approved rule whose override value holds a quote, a double quote and
a backslash: it reaches the SQL only through macro string_literal, so the audit shows whether each
engine read the literal back exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
from decimal import Decimal

import pytest

from regcalc.dbt import DbtError, copy_project, invoke_dbt
from regcalc.lake import Lake
from regcalc.pipeline import run_jobs
from regcalc.recalc import lake_runs, plan_recalc, run_recalc, save_state
from regcalc.rules import set_rule_cells
from regcalc.settings import Settings
from regcalc.spectrum import LakeDataset, lake_datasets
from regcalc.warehouse import connect_postgres, load_lake, load_postgres

SCHEMA = "warehouse_compare"  # the marts' schema, on Spark and on PostgreSQL
LAKE_SCHEMA = "warehouse_compare_lake"
EXTRA = {"lake_schema": LAKE_SCHEMA}
FIRST_DATE = dt.date(2026, 9, 29)
HOSTILE_VALUE = """BCBS 238 para 1\\2 "it's" -- ; {{ x }} ${y} 100%"""
HOSTILE_RULE = {
    "rule_id": "ADJ-T01",
    "description": "Test: a paragraph text that only string_literal can carry",
    "injection_point": "deal",
    "scenario": "base",
    "effective_from": "2026-09-01",
    "expiry": "",
    "priority": "40",
    "author": "t.tester",
    "approver": "r.reviewer",
    "approved_at": "2026-09-01",
    "reference": "TEST-1",
}
pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
AMOUNT_PLACES = 4  # fct_lcr rounds amounts to 4 decimals and the ratio to 6
LCR_PLACES = 6


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _append_rows(path, rows: list[dict]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, header, lineterminator="\n").writerows(rows)


# The key of each table compared; a recalculation rewrites or rebuilds all of them.
KEYS = {
    "int_deal_liquidity__adjusted": ("scenario", "as_of_date", "deal_id"),
    "int_lcr_category_totals__adjusted": ("scenario", "as_of_date", "entity_id", "category_code"),
    "int_lcr_components__adjusted": ("scenario", "as_of_date", "entity_id"),
    "fct_lcr": ("scenario", "as_of_date", "entity_id"),
    "fct_adjustment_audit": ("injection_point", "rule_id", "scenario", "as_of_date", "row_key", "field"),
    "fct_lcr_category": ("scenario", "as_of_date", "entity_id", "category_code"),
    "fct_deal_liquidity": ("scenario", "as_of_date", "deal_id"),
    "rpt_adjustment_rule_status": ("rule_id", "as_of_date", "scenario"),
    "dim_adjustment_rule": ("rule_id",),
    "bridge_deal_adjustment": ("deal_row_key", "adjustment_key"),
    "mv_lcr_summary": ("scenario", "as_of_date", "entity_id", "category_code"),
}


def pg_rows(query: str, params=()) -> list[dict]:
    import psycopg2.extras

    connection = connect_postgres("postgres")
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(query, params)
            return [dict(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def spark_rows(spark, query: str) -> list[dict]:
    return [row.asDict() for row in spark.sql(query).collect()]


@pytest.fixture(scope="module")
def built(spark, postgres, tmp_path_factory, monkeypatch_module):
    from regcalc.generate import generate_bank

    work = tmp_path_factory.mktemp("postgres")
    generate_bank(
        spark, work / "input", deals=1200, entities=2, dates=2, seed=11, fmt="csv", first_date=FIRST_DATE
    )
    project = copy_project(work / "project")
    adjustments = project / "seeds" / "adjustments"
    _append_rows(adjustments / "adjustment_rules.csv", [HOSTILE_RULE])
    _append_rows(
        adjustments / "adjustment_conditions.csv",
        [{"rule_id": "ADJ-T01", "field": "product_type", "operator": "=", "value": "loan"}],
    )
    _append_rows(
        adjustments / "adjustment_actions.csv",
        [{"rule_id": "ADJ-T01", "field": "bcbs_paragraph", "operation": "override", "value": HOSTILE_VALUE}],
    )
    # the settings of this module go through the environment: these are restored after the module
    for name, value in (("REGCALC_SCHEMA", SCHEMA), ("REGCALC_TARGET", "local"), ("REGCALC_LAKE", "")):
        monkeypatch_module.setenv(name, value)
    lake = str(work / "lake")
    local = Settings.from_env(lake=lake, target="local")
    warehouse = Settings.from_env(lake=lake, target="postgres")
    run_jobs(spark, lake, work / "input", max_reject_rate=1.0)

    # The Spark build is the reference here: its data tests run in the other modules, not again.
    started = time.monotonic()
    load_lake(spark, local, schema=LAKE_SCHEMA, project_dir=project)
    invoke_dbt(["build", "--exclude-resource-type", "test", "unit_test"], local, EXTRA, project_dir=project)
    spark_seconds = time.monotonic() - started

    started = time.monotonic()
    loaded = load_lake(spark, warehouse, schema=LAKE_SCHEMA)
    load_seconds = time.monotonic() - started
    started = time.monotonic()
    invoke_dbt(["build"], warehouse, EXTRA, project_dir=project)
    postgres_seconds = time.monotonic() - started
    save_state(warehouse, project, lake_runs(lake))  # as `regcalc run` does: what recalc compares with
    print(
        f"\nbuild on local Spark without data tests {spark_seconds:.1f} s; load into PostgreSQL "
        f"{load_seconds:.1f} s, build on PostgreSQL with every test {postgres_seconds:.1f} s"
    )
    return {"project": project, "lake": lake, "loaded": loaded, "local": local, "warehouse": warehouse}


# --- the lake in PostgreSQL ------------------------------------------------------------------------------


def _sorted(rows) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((value is None, str(value)) for value in row))


def test_lake_tables_hold_every_published_row_exactly(spark, built):
    lake = Lake(spark, built["lake"])
    for dataset in lake_datasets():
        columns = [name for name, _ in dataset.columns] + ["as_of_date"]
        published = _sorted(tuple(row) for row in lake.read(dataset.name).select(*columns).collect())
        loaded = pg_rows(f'select {", ".join(columns)} from {LAKE_SCHEMA}."{dataset.name}"')
        assert built["loaded"].rows[dataset.name] == len(published) > 0, dataset.name
        assert _sorted(tuple(row[column] for column in columns) for row in loaded) == published, dataset.name


def test_loading_dates_replaces_only_those_dates_and_keeps_hostile_text(spark, postgres, tmp_path):
    """COPY's CSV carries quotes, backslashes, separators, line breaks, unicode, and tells an empty
    string from null; loading one date leaves the other dates as they were."""
    from pyspark.sql import functions as F

    values = [
        'O\'Brien "Capital"',
        "back\\slash",
        "a,b;c",
        "line\nbreak\r\n",
        "",
        None,
        "Zürich €",
        "\\N",
        "  padded ",
        "cr\ronly",
    ]
    first, second = FIRST_DATE, FIRST_DATE + dt.timedelta(days=1)
    lake = Lake(spark, str(tmp_path / "lake"))
    frame = spark.createDataFrame(
        [(index, value, day) for day in (first, second) for index, value in enumerate(values)],
        "entity_id int, entity_name string, as_of_date date",
    ).withColumn("entity_id", F.col("entity_id").cast("string"))
    lake.stage(frame, "r1", "entities")
    lake.publish("r1", ["entities"], {"run_id": "r1"})
    dataset = LakeDataset("entities", (("entity_id", "varchar(65535)"), ("entity_name", "varchar(65535)")))
    connection = connect_postgres("postgres")

    def loaded() -> list[tuple]:
        rows = pg_rows("select entity_id, entity_name, as_of_date from hostile_lake.entities")
        return sorted((row["as_of_date"], int(row["entity_id"]), row["entity_name"]) for row in rows)

    try:
        rows, _ = load_postgres(lake, connection, "hostile_lake", None, [dataset])
        assert rows == {"entities": 2 * len(values)}
        expected = [(day, index, value) for day in (first, second) for index, value in enumerate(values)]
        assert loaded() == expected

        changed = frame.where(F.col("as_of_date") == F.lit(second)).withColumn("entity_name", F.lit("new"))
        lake.stage(changed, "r2", "entities")
        lake.publish("r2", ["entities"], {"run_id": "r2"})
        rows, _ = load_postgres(lake, connection, "hostile_lake", [second], [dataset])
        assert rows == {"entities": len(values)}
        assert loaded() == [row for row in expected if row[0] == first] + [
            (second, index, "new") for index in range(len(values))
        ]
    finally:
        connection.close()


# --- the same build on both engines ----------------------------------------------------------------------


def _number(value):
    """A value as a number when it is one. The audit keeps values as text, and the engines print a
    double differently (Spark 1.0E7, PostgreSQL 10000000)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return float(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else value


def assert_same_table(expected: list[dict], actual: list[dict], key: tuple[str, ...], name: str) -> None:
    """The same rows by `key`, the same columns, every value equal; numbers equal at fct_lcr's precision
    (4 decimals, the ratio 6). Sums of doubles differ in their last bits when the rows are added in
    another order (another engine, or another physical order after an incremental rewrite), and a
    rounded value may then differ by one in its last decimal."""
    expected_by_key = {tuple(row[column] for column in key): row for row in expected}
    actual_by_key = {tuple(row[column] for column in key): row for row in actual}
    assert len(expected_by_key) == len(expected) > 0 and len(actual_by_key) == len(actual), name
    assert sorted(expected_by_key, key=str) == sorted(actual_by_key, key=str), name
    assert set(expected[0]) == set(actual[0]), name
    for row_key, expected_row in expected_by_key.items():
        for column, value in expected_row.items():
            want, got = _number(value), _number(actual_by_key[row_key][column])
            label = f"{name} {row_key} {column}: expected {value!r}, got {actual_by_key[row_key][column]!r}"
            if isinstance(want, float) and isinstance(got, float):
                places = LCR_PLACES if column == "lcr" else AMOUNT_PLACES
                assert math.isclose(want, got, rel_tol=0, abs_tol=10**-places), label
            else:
                assert got == want, label


def test_fct_lcr_equals_the_spark_build_row_for_row(spark, built):
    spark_table = spark_rows(spark, f"select * from {SCHEMA}.fct_lcr")
    assert {row["scenario"] for row in spark_table} == {"base", "stress_retail"}
    assert len(spark_table) == 2 * 2 * 2  # scenarios x entities x dates
    postgres_table = pg_rows(f"select * from {SCHEMA}.fct_lcr")
    assert_same_table(spark_table, postgres_table, KEYS["fct_lcr"], "fct_lcr")


def test_fct_adjustment_audit_equals_the_spark_build_row_for_row(spark, built):
    spark_table = spark_rows(spark, f"select * from {SCHEMA}.fct_adjustment_audit")
    assert {row["rule_id"] for row in spark_table} >= {"ADJ-001", "ADJ-003", "ADJ-005", "ADJ-T01"}
    postgres_table = pg_rows(f"select * from {SCHEMA}.fct_adjustment_audit")
    assert_same_table(spark_table, postgres_table, KEYS["fct_adjustment_audit"], "fct_adjustment_audit")
    # The override went through string_literal on each engine and came back as written in the CSV.
    hostile = {row["value_after"] for row in postgres_table if row["rule_id"] == "ADJ-T01"}
    assert hostile == {HOSTILE_VALUE}


STAR_TOTALS = {
    "fct_deal_liquidity": (
        ("scenario", "as_of_date", "date_key", "entity_key"),
        ("amount", "amount_reporting_ccy", "weighted_amount", "unwind_level1", "unwind_level2a",
         "unwind_level2b"),
    ),
    "fct_lcr": (
        ("scenario", "as_of_date", "date_key", "entity_key"),
        ("hqla", "total_outflows", "total_inflows", "capped_inflows", "net_cash_outflows", "lcr",
         "deal_count"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("fact", sorted(STAR_TOTALS))
def test_star_fact_totals_equal_the_spark_build(spark, built, fact):
    """Per scenario, date and entity (surrogate keys included: dbt.hash gives the same md5 on both)."""
    group, measures = STAR_TOTALS[fact]
    query = (
        f"select {', '.join(group)}, count(*) as row_count, "
        + ", ".join(f"sum({measure}) as {measure}" for measure in measures)
        + f" from {SCHEMA}.{fact} group by {', '.join(group)}"
    )
    spark_table, postgres_table = spark_rows(spark, query), pg_rows(query)
    assert len(spark_table) == 2 * 2 * 2
    assert_same_table(spark_table, postgres_table, group, fact)


def test_the_bi_views_are_materialized_views_on_postgres(built):
    kinds = pg_rows(
        "select matviewname from pg_matviews where schemaname = %s order by matviewname", (SCHEMA,)
    )
    assert [row["matviewname"] for row in kinds] == ["mv_lcr_current", "mv_lcr_summary"]


# --- incremental recalculation on PostgreSQL -------------------------------------------------------------


def test_analyst_commands_give_the_same_output_on_both_targets(spark, built):
    """`regcalc lcr` and `regcalc explain` read the marts through the target's dbt adapter (regcalc.marts):
    on PostgreSQL they print exactly what they print on the local Spark target from the same lake, for
    every scenario, and explain every component of one entity's LCR."""
    from regcalc import render
    from regcalc.explain import explain
    from regcalc.marts import Marts, lcr_report

    scenarios = sorted(
        row["scenario"] for row in spark_rows(spark, f"select distinct scenario from {SCHEMA}.fct_lcr")
    )
    assert len(scenarios) > 1  # the shipped rules' scenarios beside base
    printed = {}
    for target, settings in (("local", built["local"]), ("postgres", built["warehouse"])):
        with Marts(settings, built["project"]) as marts:
            tables = [render.rows(*lcr_report(marts, None, None, scenario), "csv") for scenario in scenarios]
            first = lcr_report(marts, None, None, "base")[0][0]
            document = explain(marts, first["entity_id"], first["as_of_date"], "base", "lcr", 3)
        printed[target] = (tables, render.to_json(document), render.explain_text(document, 3))
    assert printed["postgres"] == printed["local"]
    assert all(len(table.splitlines()) == 5 for table in printed["local"][0])  # header + 2 entities x 2 dates
    assert '"components"' in printed["local"][1]


def test_recalc_after_a_rule_change_equals_a_full_rebuild(spark, built, monkeypatch):
    project, warehouse = built["project"], built["warehouse"]
    before = {
        (row["entity_id"], row["as_of_date"], row["scenario"]): row["lcr"]
        for row in pg_rows(f"select * from {SCHEMA}.fct_lcr")
    }
    # ADJ-001 (deal point: run-off weight of E01's operational deposits) from the second date on.
    second = (FIRST_DATE + dt.timedelta(days=1)).isoformat()
    set_rule_cells(project / "seeds" / "adjustments", "ADJ-001", effective_from=second)
    set_rule_cells(project / "seeds" / "adjustments", "ADJ-001", value="0.95")

    plan = plan_recalc(warehouse, project, EXTRA, spark)
    assert (plan.changes, plan.points, plan.full_refresh) == (["rule ADJ-001 changed"], ["deal"], None)
    assert plan.dates == [FIRST_DATE.isoformat(), second]  # the old range and the new one
    run_recalc(plan, warehouse, project, EXTRA, spark)
    assert plan_recalc(warehouse, project, EXTRA, spark).is_empty  # the new state is recorded

    monkeypatch.setenv("REGCALC_SCHEMA", f"{SCHEMA}_full")
    full = Settings.from_env(lake=built["lake"], target="postgres")
    first_build = plan_recalc(full, project, EXTRA, spark)
    assert first_build.full_refresh == "first build"
    first_build.skip_tests = True  # the reference; the recalculation above ran the tests
    run_recalc(first_build, full, project, EXTRA, spark)

    for table, key in KEYS.items():
        full_rows = pg_rows(f"select * from {SCHEMA}_full.{table}")
        assert_same_table(full_rows, pg_rows(f"select * from {SCHEMA}.{table}"), key, table)
    after = {
        (row["entity_id"], row["as_of_date"], row["scenario"]): row["lcr"]
        for row in pg_rows(f"select * from {SCHEMA}.fct_lcr")
    }
    moved = sorted(key for key in after if after[key] != before[key])
    assert moved and {(entity, day) for entity, day, _ in moved} <= {
        ("E01", FIRST_DATE),
        ("E01", FIRST_DATE + dt.timedelta(days=1)),
    }, moved


def test_a_server_that_reads_backslashes_literally_is_refused(built, postgres, monkeypatch):
    """standard_conforming_strings = on (PostgreSQL's default) would store '\\\\' as two backslashes."""
    import psycopg2

    connection = psycopg2.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        password=postgres.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("create database literal_backslashes")
        cursor.execute("alter database literal_backslashes set standard_conforming_strings = on")
    connection.close()
    monkeypatch.setenv("REGCALC_POSTGRES_DATABASE", "literal_backslashes")
    with pytest.raises(
        DbtError, match="standard_conforming_strings is 'on'.*alter database literal_backslashes"
    ):
        invoke_dbt(
            ["seed", "--select", "param_lcr_caps"], built["warehouse"], EXTRA, project_dir=built["project"]
        )
