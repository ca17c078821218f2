"""The offline Redshift check: the project's compiled SQL parses as Redshift, and the check can fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from regcalc.redshift_check import check_manifest, sql_problems
from regcalc.settings import PROJECT_DIR


def test_project_sql_parses_as_redshift(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, ["python", os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-m", "regcalc.redshift_check", "--target-path", str(tmp_path / "redshift")],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("redshift-check: ") and summary.endswith(" nodes parsed, 0 failed"), summary
    assert int(summary.split()[1]) > 0

    # The physical design comes from configuration (dbt_project.yml), resolved for Redshift.
    manifest = json.loads((tmp_path / "redshift" / "manifest.json").read_text())
    configs = {
        node["name"]: node["config"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "regcalc"
    }
    design = {
        name: (config["materialized"], config.get("dist"), config.get("sort"), config.get("auto_refresh"))
        for name, config in configs.items()
        if name.startswith(("dim_", "fct_liquidity_deal", "fct_lcr_entity_day", "agg_", "mv_"))
    }
    assert design == {
        "dim_entity": ("table", "all", None, None),
        "dim_counterparty": ("table", "all", None, None),
        "dim_date": ("table", "all", None, None),
        "dim_product": ("table", "all", None, None),
        "dim_adjustment": ("table", "all", None, None),
        "fct_liquidity_deal": ("incremental", "entity_key", ["as_of_date"], None),
        "fct_lcr_entity_day": ("incremental", "entity_key", ["as_of_date"], None),
        "agg_lcr_date_entity": ("table", "all", ["as_of_date"], None),
        "agg_lcr_date_entity_scenario": ("table", "all", ["as_of_date"], None),
        "agg_lcr_date_category": ("table", "all", ["as_of_date"], None),
        "mv_lcr_summary": ("materialized_view", "all", ["as_of_date"], True),
        "mv_lcr_current": ("materialized_view", "all", ["as_of_date"], True),
    }
    # Views over the Spectrum tables must be late-binding.
    staging = {name: config.get("bind") for name, config in configs.items() if name.startswith("stg_lake__")}
    assert len(staging) == 5 and set(staging.values()) == {False}, staging


def test_plain_select_passes():
    assert sql_problems("with final as (select 1 as one) select * from final") == []


def test_unparsed_command_fails():
    problems = sql_problems("refresh materialized view regcalc.mv_lcr")
    assert problems[0] == "unparsed statement (exp.Command): REFRESH materialized view regcalc.mv_lcr"
    assert any(problem.startswith("sqlglot warning:") for problem in problems)


def test_syntax_error_fails():
    assert sql_problems("select from where (")[0].startswith("parse error at line 1, col 17:")


def test_manifest_check_counts_compiled_nodes_and_names_failures():
    manifest = {
        "nodes": {
            "model.regcalc.good": {"compiled_code": "select 1"},
            "model.regcalc.bad": {"compiled_code": "select 1 from"},
            "operation.regcalc.hook": {"compiled_code": "  "},
            "seed.regcalc.param": {},
        },
        "unit_tests": {"unit_test.regcalc.m.t": {"compiled_code": "vacuum x"}},
    }

    parsed, failures = check_manifest(manifest)

    assert parsed == 3
    assert sorted(failures) == ["model.regcalc.bad", "unit_test.regcalc.m.t"]
