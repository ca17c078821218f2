"""The offline Redshift check: the project's compiled SQL parses as Redshift, and the check can fail."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from regcalc.redshift_check import (
    check_manifest,
    is_redshift_type,
    sql_problems,
    type_problems,
    written_types,
)
from regcalc.settings import PROJECT_DIR
from regcalc.spectrum import lake_datasets


def run_check(target_path, project_dir=PROJECT_DIR) -> subprocess.CompletedProcess:
    """`make redshift-check` (python -m regcalc.redshift_check) on a project."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, ["python", os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "regcalc.redshift_check",
            "--target-path",
            str(target_path),
            "--project-dir",
            str(project_dir),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


STAR_FACTS = ("fct_deal_liquidity", "fct_lcr_category", "fct_lcr")  # the published facts, one per grain


def test_project_sql_parses_as_redshift(tmp_path):
    result = run_check(tmp_path / "redshift")

    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    counts = re.fullmatch(
        r"redshift-check: (\d+) nodes parsed, 0 failed; (\d+) types checked, 0 not Redshift types", summary
    )
    assert counts and int(counts[1]) > 0 and int(counts[2]) > 100, summary

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
        if name.startswith(("dim_", "agg_", "mv_")) or name in STAR_FACTS
    }
    assert design == {
        "dim_entity": ("table", "all", None, None),
        "dim_counterparty": ("table", "all", None, None),
        "dim_date": ("table", "all", None, None),
        "dim_product": ("table", "all", None, None),
        "dim_adjustment_rule": ("table", "all", None, None),
        "fct_deal_liquidity": ("incremental", "entity_key", ["as_of_date"], None),
        "fct_lcr_category": ("incremental", "entity_key", ["as_of_date"], None),
        "fct_lcr": ("incremental", "entity_key", ["as_of_date"], None),
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


# --- Redshift's types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["int", "INTEGER", "int4", "bigint", "smallint", "decimal(38, 6)", "numeric", "real", "float",
     "float8", "double precision", "DOUBLE  PRECISION", "boolean", "bool", "char(3)", "varchar",
     "varchar(65535)", "varchar(max)", "character varying(10)", "text", "nvarchar(5)", "date", "timestamp",
     "timestamptz", "timestamp with time zone", "time without time zone", "timetz", "varbyte(16)", "super",
     "geometry", "hllsketch"],
)  # fmt: skip
def test_redshift_types_and_their_aliases(text):
    assert is_redshift_type(text)


@pytest.mark.parametrize(
    "text", ["string", "double", "STRING", "long", "binary", "array<int>", "map<string,int>", "datetime",
             "decimal(38)x", "varchar(ten)", "int64", "tinyint"]
)  # fmt: skip
def test_types_redshift_does_not_have(text):
    assert not is_redshift_type(text)


def test_types_are_read_as_written_in_casts_and_table_columns():
    sql = (
        "select cast(a as double) as x, b::character varying(10), try_cast(c as string),\n"
        "  cast(cast(d as int) as decimal(38, 6)), cast((select 1 as q) as bigint) from t;\n"
        "create table if not exists s.log (id varchar, n double precision not null, k decimal(18,4),\n"
        "  s string, primary key (id));\n"
        "create table s.x as select cast(1 as float) as one"
    )

    assert written_types(sql) == [
        (1, "double", "cast(... as double)"),
        (1, "character varying(10)", "::character varying(10)"),
        (1, "string", "cast(... as string)"),
        (2, "int", "cast(... as int)"),
        (2, "decimal(38, 6)", "cast(... as decimal(38, 6))"),
        (2, "bigint", "cast(... as bigint)"),
        (3, "varchar", "column id varchar"),
        (3, "double precision", "column n double precision"),
        (3, "decimal(18,4)", "column k decimal(18,4)"),
        (4, "string", "column s string"),
        (5, "float", "cast(... as float)"),
    ]


def test_type_problems_name_the_file_and_the_column_or_cast():
    manifest = {
        "nodes": {
            "seed.regcalc.caps": {
                "resource_type": "seed",
                "name": "caps",
                "patch_path": "regcalc://seeds/regulatory/_regulatory__seeds.yml",
                "config": {"column_types": {"cap_code": "varchar(65535)", "cap_value": "double"}},
            },
            "model.regcalc.m": {
                "resource_type": "model",
                "name": "m",
                "original_file_path": "models/m.sql",
                "patch_path": "regcalc://models/_models.yml",
                "config": {"contract": {"enforced": True}},
                "columns": {
                    "a": {"name": "a", "data_type": "string"},
                    "b": {"name": "b", "data_type": "int"},
                },
                "compiled_code": "select\n  cast(x as string) as a,\n  y::int as b\nfrom t",
            },
        }
    }

    checked, problems = type_problems(manifest)

    assert problems == [
        "models/_models.yml: model m column a: 'string' is not a Redshift type",
        "models/m.sql (model.regcalc.m, compiled line 2): cast(... as string): "
        "'string' is not a Redshift type",
        "seeds/regulatory/_regulatory__seeds.yml: seed caps column cap_value (column_types): "
        "'double' is not a Redshift type",
    ]
    assert checked == 2 + 2 + 2 + sum(len(dataset.columns) for dataset in lake_datasets())


def test_redshift_check_fails_on_a_seed_typed_string_and_a_cast_to_double(tmp_path):
    """The whole command on a copy of the project with the two mistakes a Spark habit makes."""
    from regcalc.dbt import copy_project

    project = copy_project(tmp_path / "project")
    seeds_yaml = project / "seeds" / "regulatory" / "_regulatory__seeds.yml"
    text = seeds_yaml.read_text()
    typed = "column_types: {cap_code: *text, cap_value: *rate,"
    assert typed in text
    seeds_yaml.write_text(text.replace(typed, "column_types: {cap_code: string, cap_value: *rate,"))
    (project / "models" / "marts" / "fct_spark_habit.sql").write_text(
        "select\n    cast(lcr.lcr as double) as lcr\nfrom {{ ref('fct_lcr') }} as lcr\n"
    )

    result = run_check(tmp_path / "redshift", project)

    assert result.returncode == 1, result.stdout + result.stderr
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == [
        "FAIL type: models/marts/fct_spark_habit.sql (model.regcalc.fct_spark_habit, compiled line 2): "
        "cast(... as double): 'double' is not a Redshift type",
        "FAIL type: seeds/regulatory/_regulatory__seeds.yml: seed param_lcr_caps column cap_code "
        "(column_types): 'string' is not a Redshift type",
    ]
    summary = result.stdout.strip().splitlines()[-1]
    assert " 0 failed; " in summary and summary.endswith(" 2 not Redshift types"), summary
