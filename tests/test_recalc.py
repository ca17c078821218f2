"""Incremental recalculation (regcalc.recalc).

1. The planner on a hand-made dbt graph and hand-made seed changes: each expected plan (changes,
   points, models in build order, dates, command) is written out here.
2. End to end on a small generated bank with three as-of dates: jobs, full build, one rule's value
   changed on one date, `recalc`; every as-of-date partitioned table and every mart then equals a
   --full-refresh build of the same state row for row, and the other dates' partitions of the deal
   point were not rewritten. The recalculation's data tests read only its date: a corrupt row on
   another date passes them, one on its date fails them (and every test, read without the var).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from pathlib import Path

import pytest

from regcalc.recalc import BuildState, Plan, make_plan, manifest_graph

RULE_HEADER = (
    "rule_id", "description", "injection_point", "scenario", "effective_from", "expiry", "priority",
    "author", "approver", "approved_at", "reference",
)  # fmt: skip
POINT_MODELS = {
    "deal": "int_deal_liquidity__adjusted",
    "entity_category": "int_lcr_category_totals__adjusted",
    "lcr_components": "int_lcr_components__adjusted",
}
RULE_SEEDS = ("adjustment_rules", "adjustment_conditions", "adjustment_actions")


# ------------------------------------------------------------------------------------------------
# 1. The planner on a synthetic project
# ------------------------------------------------------------------------------------------------
def synthetic_manifest() -> dict:
    """A project shaped like regcalc's: three points, the rule seeds read by each, a star fact."""
    parents = {
        "stg_lake__deal_liquidity": ["source:deal_liquidity"],
        "stg_lake__entities": ["source:entities"],
        "int_deal_liquidity": ["stg_lake__deal_liquidity"],
        "int_deal_liquidity__adjusted": ["int_deal_liquidity", *RULE_SEEDS],
        "int_lcr_category_totals": ["int_deal_liquidity__adjusted"],
        "int_lcr_category_totals__adjusted": ["int_lcr_category_totals", *RULE_SEEDS],
        "int_lcr_components": ["int_lcr_category_totals__adjusted"],
        "int_lcr_components__adjusted": ["int_lcr_components", *RULE_SEEDS],
        "fct_lcr": ["int_lcr_components__adjusted", "param_lcr_caps"],
        "dim_adjustment_rule": list(RULE_SEEDS),
        "fct_adjustment_audit": [*RULE_SEEDS, *POINT_MODELS.values(), "dim_adjustment_rule"],
        "rpt_adjustment_rule_status": ["dim_adjustment_rule", "fct_adjustment_audit", "fct_lcr"],
        "dim_entity": ["stg_lake__entities"],
        "fct_lcr_entity_day": ["fct_lcr", "dim_entity"],
        "not_null_fct_lcr_lcr": ["fct_lcr"],  # a test: never selected by name
    }
    seeds = [*RULE_SEEDS, "param_lcr_caps", "param_outflow_rates"]

    def unique_id(name: str) -> str:
        if name.startswith("source:"):
            return f"source.regcalc.lake.{name[7:]}"
        kind = "seed" if name in seeds else "test" if name.startswith("not_null") else "model"
        return f"{kind}.regcalc.{name}"

    nodes = {unique_id(name): {"name": name, "resource_type": "seed"} for name in seeds}
    for name in parents:
        kind = "test" if name.startswith("not_null") else "model"
        nodes[unique_id(name)] = {"name": name, "resource_type": kind}
    sources = {unique_id(f"source:{name}"): {"name": name} for name in ("deal_liquidity", "entities")}
    parent_map = {unique_id(name): [unique_id(parent) for parent in ps] for name, ps in parents.items()}
    return {"nodes": nodes, "sources": sources, "parent_map": parent_map}


def rule_row(rule_id, point="deal", effective_from="2026-09-01", expiry="", approver="s.ng", **other):
    row = {
        "rule_id": rule_id, "description": f"rule {rule_id}", "injection_point": point, "scenario": "base",
        "effective_from": effective_from, "expiry": expiry, "priority": "10", "author": "m.keller",
        "approver": approver, "approved_at": "2026-08-28" if approver else "", "reference": "",
    }  # fmt: skip
    return row | other


BASE_RULES = [
    rule_row("R1", "deal", "2026-09-30", "2026-09-30"),
    rule_row("R2", "lcr_components"),
    rule_row("R3", "deal", "2026-09-29"),
    rule_row("R4", "entity_category", approver=""),  # not approved
]
BASE_CONDITIONS = [
    ("R1", "entity_id", "=", "E01"),
    ("R2", "entity_id", "=", "E01"),
    ("R3", "deal_id", "=", "D1"),
]
BASE_ACTIONS = [
    ("R1", "weight", "override", "0.40"),
    ("R2", "total_outflows", "add", "2500000"),
    ("R3", "amount_reporting_ccy", "override", "0"),
    ("R4", "weighted_amount", "multiply", "1.05"),
]
BASE_PARAMETERS = [("L2B_CAP", "0.15", "Annex 1 para 6"), ("L2_CAP", "0.40", "Annex 1 para 6")]


def write_seeds(directory: Path, rules=BASE_RULES, conditions=BASE_CONDITIONS, actions=BASE_ACTIONS,
                parameters=BASE_PARAMETERS) -> Path:  # fmt: skip
    adjustments, regulatory = directory / "adjustments", directory / "regulatory"
    adjustments.mkdir(parents=True)
    regulatory.mkdir(parents=True)
    with (adjustments / "adjustment_rules.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, RULE_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rules)
    tables = {
        adjustments / "adjustment_conditions.csv": (("rule_id", "field", "operator", "value"), conditions),
        adjustments / "adjustment_actions.csv": (("rule_id", "field", "operation", "value"), actions),
        regulatory / "param_lcr_caps.csv": (("cap_code", "cap_value", "bcbs_paragraph"), parameters),
    }
    for path, (header, rows) in tables.items():
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return directory


LAKE = {"2026-09-29": "run-a", "2026-09-30": "run-a", "2026-10-01": "run-b"}


def plan_for(tmp_path: Path, lake=LAKE, previous_lake=LAKE, **current) -> Plan:
    previous = BuildState(write_seeds(tmp_path / "previous"), dict(previous_lake))
    return make_plan(
        manifest_graph(synthetic_manifest()),
        POINT_MODELS,
        previous,
        write_seeds(tmp_path / "now", **current),
        lake,
    )


DOWNSTREAM_OF_DEAL_POINT = [
    "int_deal_liquidity__adjusted", "int_lcr_category_totals", "int_lcr_category_totals__adjusted",
    "int_lcr_components", "int_lcr_components__adjusted", "fct_adjustment_audit", "fct_lcr",
    "rpt_adjustment_rule_status", "fct_lcr_entity_day",
]  # fmt: skip


def test_rule_value_changed_on_one_date(tmp_path):
    actions = [("R1", "weight", "override", "0.55"), *BASE_ACTIONS[1:]]
    plan = plan_for(tmp_path, actions=actions)
    assert plan.changes == ["rule R1 changed"]
    assert plan.points == ["deal"]
    assert plan.dates == ["2026-09-30"]
    assert plan.full_refresh is None and plan.rerun_jobs is None
    assert plan.models == ["adjustment_actions", "dim_adjustment_rule", *DOWNSTREAM_OF_DEAL_POINT]
    assert plan.command() == (
        "dbt build --select adjustment_actions dim_adjustment_rule " + " ".join(DOWNSTREAM_OF_DEAL_POINT)
        + ' --vars \'{"recalc_dates": ["2026-09-30"]}\''
    )  # fmt: skip
    plan.skip_tests = True
    assert plan.dbt_args()[-3:] == ["--exclude-resource-type", "test", "unit_test"]


def test_condition_of_a_component_rule_rebuilds_only_from_its_point(tmp_path):
    conditions = [*BASE_CONDITIONS[:1], ("R2", "entity_id", "=", "E02"), *BASE_CONDITIONS[2:]]
    plan = plan_for(tmp_path, conditions=conditions)
    assert plan.changes == ["rule R2 changed"]
    assert plan.points == ["lcr_components"]
    assert plan.dates == ["2026-09-29", "2026-09-30", "2026-10-01"]  # effective from 09-01, open
    assert plan.models == [
        "adjustment_conditions", "dim_adjustment_rule", "int_lcr_components__adjusted",
        "fct_adjustment_audit", "fct_lcr", "rpt_adjustment_rule_status", "fct_lcr_entity_day",
    ]  # fmt: skip


def test_moved_effective_range_covers_old_and_new_dates(tmp_path):
    lake = {"2026-09-28": "run-a", **LAKE}
    rules = [BASE_RULES[0], BASE_RULES[1], rule_row("R3", "deal", "2026-10-01"), BASE_RULES[3]]
    plan = plan_for(tmp_path, lake=lake, previous_lake=lake, rules=rules)
    assert plan.changes == ["rule R3 changed"]
    assert plan.dates == ["2026-09-29", "2026-09-30", "2026-10-01"]  # old 09-29.., new 10-01..; not 09-28
    assert plan.models == ["adjustment_rules", "dim_adjustment_rule", *DOWNSTREAM_OF_DEAL_POINT]


def test_new_approved_rule_changes_the_point_columns_so_the_selection_is_rebuilt(tmp_path):
    rules = [*BASE_RULES, rule_row("R5", "deal", "2026-10-01")]
    plan = plan_for(
        tmp_path,
        rules=rules,
        conditions=[*BASE_CONDITIONS, ("R5", "entity_id", "=", "E03")],
        actions=[*BASE_ACTIONS, ("R5", "weight", "multiply", "0.5")],
    )
    assert plan.changes == ["rule R5 added"]
    assert plan.points == ["deal"]
    assert plan.full_refresh == "the columns of point deal change (rules added, removed or reordered)"
    assert plan.dates == []
    assert plan.models == [
        "adjustment_actions", "adjustment_conditions", "adjustment_rules", "dim_adjustment_rule",
        *DOWNSTREAM_OF_DEAL_POINT,
    ]  # fmt: skip
    assert plan.command().endswith("fct_lcr_entity_day --full-refresh")


def test_unapproved_rule_edit_rebuilds_only_the_rule_tables(tmp_path):
    rules = [*BASE_RULES[:3], rule_row("R4", "entity_category", approver="", description="reworded")]
    plan = plan_for(tmp_path, rules=rules)
    assert plan.changes == ["rule R4 changed"]
    assert plan.points == []
    assert plan.dates == []
    assert plan.models == [
        "adjustment_rules",
        "dim_adjustment_rule",
        "fct_adjustment_audit",
        "rpt_adjustment_rule_status",
    ]
    assert plan.dbt_vars() == {"recalc_dates": []}
    assert plan.lake_unchanged  # the lake is as built: not registered again


def test_new_lake_date_rebuilds_everything_downstream_of_the_lake_on_that_date(tmp_path):
    previous = {day: run for day, run in LAKE.items() if day != "2026-10-01"}
    plan = plan_for(tmp_path, previous_lake=previous)
    assert plan.changes == ["lake partition 2026-10-01: new (run run-b)"]
    assert plan.points == []
    assert plan.dates == ["2026-10-01"]
    assert plan.models == [
        "stg_lake__deal_liquidity", "int_deal_liquidity", *DOWNSTREAM_OF_DEAL_POINT[:-1],
        "stg_lake__entities", "dim_entity", "fct_lcr_entity_day",
    ]  # fmt: skip
    assert plan.dbt_vars() == {"recalc_dates": ["2026-10-01"]}  # the lake tables are registered again


def test_rerun_lake_date_also_rewrites_the_later_dates(tmp_path):
    lake = {**LAKE, "2026-09-30": "run-c"}
    plan = plan_for(tmp_path, lake=lake)
    assert plan.changes == ["lake partition 2026-09-30: rerun (run run-c)"]
    assert plan.dates == ["2026-09-30", "2026-10-01"]


def test_changed_parameters_need_the_jobs(tmp_path):
    plan = plan_for(tmp_path, parameters=[("L2B_CAP", "0.20", "Annex 1 para 6"), BASE_PARAMETERS[1]])
    assert plan.changes == ["regulatory parameters changed: param_lcr_caps: 2 row(s)"]  # one out, one in
    assert plan.rerun_jobs
    assert "regcalc run --input DIR" in plan.render()
    assert plan.dates == ["2026-09-29", "2026-09-30", "2026-10-01"]


def test_recalc_refuses_to_run_without_the_jobs_when_parameters_changed(tmp_path):
    from regcalc.recalc import run_recalc
    from regcalc.settings import RegcalcError, Settings

    plan = plan_for(tmp_path, parameters=BASE_PARAMETERS[:1])
    settings = Settings(home=tmp_path / "home", lake=str(tmp_path / "lake"), target="local", schema="s")
    with pytest.raises(RegcalcError, match=r"Run `regcalc run --input DIR`"):
        run_recalc(plan, settings, tmp_path)
    assert not (tmp_path / "home").exists()  # no state recorded


def test_nothing_changed(tmp_path):
    plan = plan_for(tmp_path)
    assert plan.is_empty
    assert (
        plan.render() == "nothing to recalculate: the seeds and the lake are as of the last successful build"
    )


def test_no_previous_build_means_a_full_build(tmp_path):
    plan = make_plan(
        manifest_graph(synthetic_manifest()), POINT_MODELS, None, write_seeds(tmp_path / "now"), LAKE
    )
    assert plan.full_refresh == "first build"
    assert plan.command() == "dbt build --full-refresh"
    assert len(plan.models) == 19  # 5 seeds + 14 models; no sources, no tests


# ------------------------------------------------------------------------------------------------
# 2. End to end: recalc equals a full rebuild
# ------------------------------------------------------------------------------------------------
PARTITIONED = (
    "int_deal_liquidity__adjusted", "int_lcr_category_totals__adjusted", "int_lcr_components__adjusted",
    "fct_lcr_category", "fct_lcr", "fct_adjustment_audit", "bridge_deal_adjustment", "fct_lcr_currency",
    "rpt_lcr_adjustment_waterfall",
)  # fmt: skip
OTHER_TABLES = ("rpt_adjustment_rule_status", "dim_adjustment_rule", "dim_entity")
LAKE_SCHEMA = "recalc_lake"


@pytest.mark.e2e
def test_recalc_after_one_rule_change_equals_a_full_rebuild(spark, tmp_path, monkeypatch):
    from regcalc.dbt import copy_project
    from regcalc.generate import generate_bank
    from regcalc.pipeline import run_jobs
    from regcalc.recalc import plan_recalc, run_recalc
    from regcalc.rules import set_rule_cells
    from regcalc.settings import Settings

    project = copy_project(tmp_path / "project")
    # ADJ-001 (deal point: run-off weight of E01's operational deposits) on the last date only.
    set_rule_cells(
        project / "seeds" / "adjustments", "ADJ-001", effective_from="2026-10-01", expiry="2026-10-01"
    )
    generate_bank(spark, tmp_path / "input", deals=3000, entities=3, dates=3, fmt="csv")
    for name, default in (("REGCALC_LAKE", ""), ("REGCALC_TARGET", "local")):
        monkeypatch.setenv(name, os.environ.get(name) or default)
    run_jobs(spark, str(tmp_path / "lake"), tmp_path / "input")
    extra = {"lake_schema": LAKE_SCHEMA}

    def settings(schema: str) -> Settings:
        monkeypatch.setenv("REGCALC_SCHEMA", schema)
        return Settings.from_env(lake=str(tmp_path / "lake"))

    def rows(schema: str, table: str):
        return spark.table(f"{schema}.{table}")

    def lcr_by_key(schema: str) -> dict[str, float]:
        frame = rows(schema, "fct_lcr")
        return {f"{r['entity_id']} {r['as_of_date']} {r['scenario']}": r["lcr"] for r in frame.collect()}

    def partition_files(schema: str, table: str) -> dict[str, set[str]]:
        root = Path(settings(schema).home) / "spark-warehouse" / f"{schema}.db" / table
        return {p.name: {f.name for f in p.glob("*.parquet")} for p in sorted(root.glob("as_of_date=*"))}

    incremental = settings("recalc_incremental")
    first = plan_recalc(incremental, project, extra, spark)
    assert first.full_refresh == "first build"
    run_recalc(first, incremental, project, extra, spark)
    before = lcr_by_key("recalc_incremental")
    files_before = partition_files("recalc_incremental", "int_deal_liquidity__adjusted")
    assert list(files_before) == ["as_of_date=2026-09-29", "as_of_date=2026-09-30", "as_of_date=2026-10-01"]

    set_rule_cells(project / "seeds" / "adjustments", "ADJ-001", value="0.95")
    plan = plan_recalc(settings("recalc_incremental"), project, extra, spark)
    assert (plan.changes, plan.points, plan.dates, plan.full_refresh) == (
        ["rule ADJ-001 changed"],
        ["deal"],
        ["2026-10-01"],
        None,
    )
    run_recalc(plan, settings("recalc_incremental"), project, extra, spark)
    assert plan_recalc(settings("recalc_incremental"), project, extra, spark).is_empty  # state recorded

    full = settings("recalc_full")
    run_recalc(plan_recalc(full, project, extra, spark), full, project, extra, spark)

    for table in PARTITIONED + OTHER_TABLES:
        incremental_rows, full_rows = rows("recalc_incremental", table), rows("recalc_full", table)
        assert incremental_rows.columns == full_rows.columns, table
        assert incremental_rows.count() == full_rows.count() > 0, table
        assert incremental_rows.exceptAll(full_rows).count() == 0, table
        assert full_rows.exceptAll(incremental_rows).count() == 0, table
    after = lcr_by_key("recalc_incremental")
    moved = sorted(key for key in after if after[key] != before[key])
    assert moved and all(" 2026-10-01 " in key and key.startswith("E01 ") for key in moved), moved
    # Only the recalculated date's partition of the deal point was rewritten.
    files_after = partition_files("recalc_incremental", "int_deal_liquidity__adjusted")
    assert {k: v for k, v in files_after.items() if k != "as_of_date=2026-10-01"} == {
        k: v for k, v in files_before.items() if k != "as_of_date=2026-10-01"
    }
    assert files_after["as_of_date=2026-10-01"] != files_before["as_of_date=2026-10-01"]
    state = json.loads((incremental.home / "recalc_state" / "recalc_incremental" / "build.json").read_text())
    assert sorted(state["lake_runs"]) == ["2026-09-29", "2026-09-30", "2026-10-01"]

    # The recalculation's data tests read only its dates (macro recalc_test_relation), on both sides of
    # each comparison: a corrupt row on a date it did not rebuild goes unseen, one on its date fails.
    recalc_vars = {**extra, **plan.dbt_vars()}
    duplicate_lcr_row(spark, "recalc_incremental", "2026-09-29")
    failures, tests_run = data_test_failures(project, settings("recalc_incremental"), recalc_vars)
    assert failures == {}
    # keys_preserved and sums_match fail if only one side is restricted (every other date lost or missing);
    # each reads the recalculated date on both sides
    assert tests_run.keys() >= COMPARING_TESTS
    date_condition = "as_of_date in (cast('2026-10-01' as date))"
    assert {test: tests_run[test].count(date_condition) >= 2 for test in COMPARING_TESTS} == dict.fromkeys(
        COMPARING_TESTS, True
    )
    duplicate_lcr_row(spark, "recalc_incremental", "2026-10-01")
    caught = ("unique fct_lcr.lcr_row_key", "assert_lcr_stages_reconcile")
    failures, _ = data_test_failures(project, settings("recalc_incremental"), recalc_vars)
    assert failures == dict.fromkeys(caught, 1)
    # Without the var (every build but a recalculation) the same tests read every date: both rows.
    failures, _ = data_test_failures(project, settings("recalc_incremental"), extra)
    assert failures == dict.fromkeys(caught, 2)


# The models of fct_lcr's reconciliation and of the BI category summaries; `dbt test
# --indirect-selection cautious` on them runs the tests whose every relation is one of them.
RECONCILED_MODELS = (
    "int_deal_liquidity__adjusted", "int_lcr_category_totals", "int_lcr_category_totals__adjusted",
    "int_lcr_components", "int_lcr_components__adjusted", "fct_lcr", "fct_deal_liquidity",
    "fct_lcr_category", "mv_lcr_summary", "agg_lcr_date_category",
)  # fmt: skip
# Of partitioned models, and of date-local views and BI tables (meta as_of_date_local).
COMPARING_TESTS = {
    "keys_preserved fct_lcr", "keys_preserved int_lcr_components__adjusted",
    "keys_preserved fct_deal_liquidity", "sums_match fct_deal_liquidity", "assert_lcr_stages_reconcile",
    "keys_preserved int_lcr_category_totals", "keys_preserved int_lcr_components",
    "sums_match mv_lcr_summary", "sums_match agg_lcr_date_category",
}  # fmt: skip


def duplicate_lcr_row(spark, schema: str, day: str) -> None:
    """Append to fct_lcr a copy of one base row of `day` with hqla_level1 one higher: its key is then
    duplicated (test unique) and the stages no longer reconcile (assert_lcr_stages_reconcile)."""
    from pyspark.sql import functions as F

    table = f"{schema}.fct_lcr"
    row = spark.table(table).where(f"as_of_date = date'{day}' and scenario = 'base'").limit(1)
    row.withColumn("hqla_level1", F.col("hqla_level1") + 1).write.insertInto(table)


def data_test_failures(project: Path, settings, dbt_vars: dict) -> tuple[dict[str, int], dict[str, str]]:
    """`dbt test` of RECONCILED_MODELS' data tests: (failing test -> its failing rows, every test run ->
    its compiled SQL; of two same-named tests, one), a test named `<generic test> <model>[.<column>]` or by
    its singular test's name."""
    from regcalc.dbt import DbtError, invoke_dbt

    command = ["test", "--select", *RECONCILED_MODELS, "--indirect-selection", "cautious"]
    target = project / "target"
    (target / "run_results.json").unlink(missing_ok=True)  # never read a previous command's results
    with contextlib.suppress(DbtError):  # a failing test: read below, from dbt's run results
        invoke_dbt([*command, "--exclude-resource-type", "unit_test"], settings, dbt_vars, project)
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    results = json.loads((target / "run_results.json").read_text())["results"]

    def name(unique_id: str) -> str:
        node = nodes[unique_id]
        if not node.get("test_metadata"):
            return node["name"]
        column = f".{node['column_name']}" if node.get("column_name") else ""
        return f"{node['test_metadata']['name']} {nodes[node['attached_node']]['name']}{column}"

    assert [result["message"] for result in results if result["status"] == "error"] == []
    failed = {name(r["unique_id"]): r["failures"] for r in results if r["status"] == "fail"}
    return failed, {name(r["unique_id"]): r["compiled_code"] for r in results}
