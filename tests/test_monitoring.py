"""Run monitoring: the run log written by the on-run-end hooks (one row per node result, rows out
and in), the dbt progress lines, the end-of-run summary, the run id on the marts, and the
keys_preserved test failing on models that lose or gain keys.

One jobs run and one full dbt build (module-scoped) on a small generated bank; the keys test builds
a broken copy of the project into its own schema.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from regcalc.dbt import DbtError, invoke_dbt
from regcalc.generate import generate_bank
from regcalc.monitoring import NodeRun, format_run_summary, read_run_log, run_summary
from regcalc.pipeline import run_jobs
from regcalc.progress import Progress
from regcalc.settings import PROJECT_DIR, Settings
from regcalc.warehouse import load_lake

SCHEMA = "monitoring"
BROKEN_SCHEMA = "monitoring_broken"
LAKE_SCHEMA = "monitoring_lake"
RUN_ID = "monitoring-test-run"
BROKEN_RUN_ID = "monitoring-broken-test"
COUNTED = ("table", "incremental", "seed")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory, monkeypatch_module):
    work = tmp_path_factory.mktemp("monitoring")
    generate_bank(
        spark, work / "input", deals=400, entities=2, dates=2, seed=11, first_date=dt.date(2027, 3, 1)
    )
    # Settings.from_env reads these: set them here so they are restored afterwards.
    for name, default in (("REGCALC_LAKE", ""), ("REGCALC_TARGET", "local")):
        monkeypatch_module.setenv(name, os.environ.get(name) or default)
    monkeypatch_module.setenv("REGCALC_SCHEMA", SCHEMA)
    settings = Settings.from_env(lake=str(work / "lake"))
    report = run_jobs(spark, settings.lake, work / "input", max_reject_rate=1.0)
    load_lake(spark, settings, schema=LAKE_SCHEMA, dbt_vars={"regcalc_run_id": RUN_ID})
    stream = io.StringIO()
    result = invoke_dbt(
        ["build"],
        settings,
        {"regcalc_run_id": RUN_ID, "lake_schema": LAKE_SCHEMA},
        progress=Progress(stream=stream),
    )
    nodes = [r for r in result.result.results if r.node.resource_type != "operation"]  # dbt's k/N
    results = [r for r in nodes if r.node.resource_type != "exposure"]  # what the run log holds
    return {
        "work": work,
        "settings": settings,
        "report": report,
        "results": results,
        "node_total": len(nodes),
        "progress": stream,
    }


def _relation_count(spark, node) -> int:
    return spark.table(f"{node.schema}.{node.alias}").count()


@pytest.mark.e2e
def test_run_log_holds_one_row_per_node_result_with_its_status_and_time(spark, built):
    log = read_run_log(built["settings"], RUN_ID)
    assert len(log) == len(built["results"])
    by_id = {row.node_unique_id: row for row in log}
    expected = {
        r.node.unique_id: (r.node.name, r.node.resource_type, r.node.config.materialized, str(r.status))
        for r in built["results"]
    }
    actual = {
        uid: (row.node_name, row.resource_type, row.materialization, row.status) for uid, row in by_id.items()
    }
    assert actual == expected
    assert {row.status for row in log} == {"success", "pass"}
    for r in built["results"]:
        assert by_id[r.node.unique_id].execution_seconds == pytest.approx(r.execution_time, abs=0.001)
        assert by_id[r.node.unique_id].failures == r.failures
    # the log is this invocation's only: one invocation id
    rows = spark.table(f"{SCHEMA}.regcalc_run_log").where(F.col("regcalc_run_id") == RUN_ID).collect()
    assert len({row["invocation_id"] for row in rows}) == 1


@pytest.mark.e2e
def test_rows_out_and_in_equal_independent_counts(spark, built):
    by_id = {row.node_unique_id: row for row in read_run_log(built["settings"], RUN_ID)}
    nodes = {r.node.unique_id: r.node for r in built["results"]}
    counts = {
        uid: _relation_count(spark, node)
        for uid, node in nodes.items()
        if node.resource_type in ("model", "seed") and node.config.materialized in COUNTED
    }
    for uid, node in nodes.items():
        assert by_id[uid].rows_out == counts.get(uid), uid  # views, ephemerals and tests: null
        parents = node.depends_on.nodes if node.resource_type == "model" else []
        expected_in = (
            sum(counts[parent] for parent in parents)
            if parents and all(p in counts for p in parents)
            else None
        )
        assert by_id[uid].rows_in == expected_in, uid

    # spelled out for two models: a view over a table and a lookup seed (not counted: a view), and a
    # table over a view
    components = counts["model.regcalc.int_lcr_components__adjusted"]
    assert by_id["model.regcalc.int_lcr"].rows_out is None
    assert by_id["model.regcalc.fct_lcr"].rows_out == components > 0
    assert by_id["model.regcalc.fct_lcr"].rows_in is None  # its parent int_lcr is a view
    assert by_id["model.regcalc.int_deal_liquidity__adjusted"].rows_in is None  # its parent is a view
    assert by_id["model.regcalc.fct_deal_liquidity"].rows_out is None  # a view is not counted


@pytest.mark.e2e
def test_progress_has_one_line_per_built_node_and_none_for_passing_tests(built):
    lines = built["progress"].getvalue().splitlines()
    built_nodes = [r.node for r in built["results"] if r.node.resource_type in ("model", "seed")]
    total = built["node_total"]
    matched = set()
    for node in built_nodes:
        kind = f"{node.resource_type} {node.name}" + (
            f" ({node.config.materialized})" if node.resource_type == "model" else ""
        )
        pattern = re.compile(rf"\] dbt \d+/{total} {re.escape(kind)}: success in \d+\.\ds$")
        hits = [line for line in lines if pattern.search(line)]
        assert len(hits) == 1, kind
        matched.update(hits)
    assert [line for line in lines if line not in matched] == []


@pytest.mark.e2e
def test_run_summary_reads_this_runs_log(spark, built):
    log = read_run_log(built["settings"], RUN_ID)
    summary = run_summary(lambda: read_run_log(built["settings"], RUN_ID))
    assert summary == format_run_summary(log)
    types = {}
    for r in built["results"]:
        types[r.node.resource_type] = types.get(r.node.resource_type, 0) + 1
    seconds = sum(row.execution_seconds for row in log)
    assert summary.splitlines()[0] == (
        "dbt: "
        + ", ".join(f"{n} {kind}s" for kind, n in sorted(types.items()))
        + f"; {seconds:.1f}s in nodes; 0 not ok"
    )
    no_rows = run_summary(lambda: read_run_log(built["settings"], "no-such-run"))
    assert no_rows == "dbt run log: no rows for this run (see logs/dbt.log)"


def test_run_summary_command_prints_one_runs_summary(built, monkeypatch, capsys):
    """`regcalc run-summary`: what a scheduler runs after dbt tasks of its own (orchestration/)."""
    from regcalc.cli import main

    monkeypatch.setenv("REGCALC_SCHEMA", SCHEMA)
    assert main(["run-summary", "--run-id", RUN_ID]) == 0
    assert capsys.readouterr().out == format_run_summary(read_run_log(built["settings"], RUN_ID)) + "\n"
    assert main(["run-summary", "--run-id", "no-such-run"]) == 1
    assert capsys.readouterr().err == (
        "regcalc run-summary: error: run no-such-run: no dbt node in the run log for this run id\n"
    )


def test_run_summary_lists_slowest_built_nodes_totals_and_failures():
    def node(name, kind, seconds, status="success", rows_out=None, rows_in=None, failures=None):
        return NodeRun(
            f"{kind}.regcalc.{name}", name, kind, "table", status, seconds, rows_out, rows_in, failures
        )

    log = [
        node("fct_lcr", "model", 2.0, rows_out=12, rows_in=16),
        node("int_deal_liquidity__adjusted", "model", 9.5, rows_out=1_234_567),
        node("stg_view", "model", 0.25),
        node("param_lcr_caps", "seed", 0.5, rows_out=4),
        node("broken", "model", 1.0, status="error"),
        node("keys_preserved_fct_lcr", "test", 30.0, status="fail", failures=3),
        node("not_null_fct_lcr", "test", 0.1, status="pass"),
    ]
    assert format_run_summary(log, slowest=3) == "\n".join(
        [
            "dbt: 4 models, 1 seeds, 2 tests; 43.4s in nodes; 2 not ok",
            "slowest 3:",
            "  seconds   rows_out  rows_in  node",
            "      9.5  1,234,567           int_deal_liquidity__adjusted",
            "      2.0         12       16  fct_lcr",
            "      1.0                      broken",
            "ERROR model.regcalc.broken",
            "FAIL test.regcalc.keys_preserved_fct_lcr (3 failing rows)",
        ]
    )
    assert format_run_summary([]) == "dbt run log: no rows for this run (see logs/dbt.log)"


@pytest.mark.e2e
def test_marts_carry_the_run_id_of_the_jobs(spark, built):
    run_id = built["report"].run_id
    for mart in ("fct_lcr", "fct_lcr_category", "fct_deal_liquidity"):
        values = {
            row["run_id"] for row in spark.table(f"{SCHEMA}.{mart}").select("run_id").distinct().collect()
        }
        assert values == {run_id}, mart


def _broken_project(dest: Path) -> Path:
    """The project with two lineage breaks: int_lcr_components__adjusted loses entity E02, and
    int_lcr (which fct_lcr publishes) relabels entity E01's scenario (gaining a key and losing one);
    and a null: int_lcr drops E01's run_id."""
    dest.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", dest / "dbt_project.yml")
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, dest / folder)
    components = dest / "models/intermediate/adjustment_points/int_lcr_components__adjusted.sql"
    components.write_text(components.read_text() + "\nwhere final.entity_id <> 'E02'\n")
    int_lcr = dest / "models/intermediate/int_lcr.sql"
    text = int_lcr.read_text()
    assert text.count("        ratio.scenario,\n") == 1
    assert text.count("        published.run_id\n") == 1
    int_lcr.write_text(
        text.replace(
            "        ratio.scenario,\n",
            "        case when ratio.entity_id = 'E01' then 'ghost' else ratio.scenario end as scenario,\n",
        ).replace(
            "        published.run_id\n",
            "        case when published.entity_id <> 'E01' then published.run_id end as run_id\n",
        )
    )
    return dest


@pytest.mark.e2e
def test_keys_preserved_and_not_null_columns_fail_naming_the_broken_model(spark, built, monkeypatch):
    project = _broken_project(built["work"] / "broken_project")
    monkeypatch.setenv("REGCALC_SCHEMA", BROKEN_SCHEMA)
    settings = Settings.from_env(lake=built["settings"].lake)
    invoke_dbt(
        ["build", "--exclude", "resource_type:test", "resource_type:unit_test"],
        settings,
        {"regcalc_run_id": "monitoring-broken-build", "lake_schema": LAKE_SCHEMA},
        project_dir=project,
    )
    with pytest.raises(DbtError) as raised:
        invoke_dbt(
            ["test", "--select", "test_name:keys_preserved", "test_name:not_null_columns"],
            settings,
            {"regcalc_run_id": BROKEN_RUN_ID, "lake_schema": LAKE_SCHEMA},
            project_dir=project,
        )
    failed = re.findall(r"(test\.regcalc\.keys_preserved_\S+): fail", str(raised.value))
    assert sorted(name.split("_scenario__")[0] for name in failed) == [
        "test.regcalc.keys_preserved_fct_lcr",
        "test.regcalc.keys_preserved_int_lcr_components__adjusted",
    ]

    # failing rows, computed from the unbroken build: (scenario, date) pairs of each entity
    pairs = {
        entity: spark.table(f"{SCHEMA}.fct_lcr").where(F.col("entity_id") == entity).count()
        for entity in ("E01", "E02")
    }
    dates = spark.table(f"{SCHEMA}.fct_lcr").select("as_of_date").distinct().count()
    run_log = {row.node_name: row for row in read_run_log(settings, BROKEN_RUN_ID)}
    log = {name: row for name, row in run_log.items() if name.startswith("keys_preserved_")}
    components = next(
        row for name, row in log.items() if name.startswith("keys_preserved_int_lcr_components__")
    )
    fct_lcr = next(row for name, row in log.items() if name.startswith("keys_preserved_fct_lcr_scenario__"))
    assert (components.status, components.failures) == ("fail", pairs["E02"])  # lost
    assert (fct_lcr.status, fct_lcr.failures) == ("fail", pairs["E01"] + dates)  # lost + gained ghost
    others = [row for row in log.values() if row not in (components, fct_lcr)]
    # every keys-preserving model: the deal-to-components chain (6), the three published facts and
    # int_liq1_category_rows
    assert len(log) == 10 and {row.status for row in others} == {"pass"}

    # the null run_id fails fct_lcr's not_null_columns test, on each E01 row, and no other
    not_null = {name: row for name, row in run_log.items() if name.startswith("not_null_columns_")}
    failing = {name: (row.status, row.failures) for name, row in not_null.items() if row.status != "pass"}
    assert list(failing.values()) == [("fail", pairs["E01"])]
    assert next(iter(failing)).startswith("not_null_columns_fct_lcr_lcr_row_key__entity_key__")
    assert len(not_null) > 30 and len(run_log) == len(log) + len(not_null)

    from regcalc.cli import main  # the run summary command fails such a run

    assert main(["run-summary", "--run-id", BROKEN_RUN_ID]) == 1
