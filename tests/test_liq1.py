"""Template LIQ1 (Basel Framework DIS85) and parameter sets, end to end: the hand-built case
tests/cases/liq1_quarter through the Spark jobs and `dbt build` on the local target and on PostgreSQL,
compared with the quarterly rows computed by hand (expected_liq1.csv, README in the case folder); the
template command in every format; the lineage of the parameter set; a category without a LIQ1 row
failing the build; and, on the small generated bank with the shipped adjustment rules, the daily rows
recomputed from the deals and the quarterly averages recomputed from the daily rows in Python.

The case's entity U1 reports under the US_LCR parameter set: its row of entity_parameter_sets.csv is
appended to seeds/jurisdictions/param_entity_sets.csv of a project copy (the shipped seed lists no
entity: every entity of the other tests reports under BCBS 238).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import SMALL_BANK_SCHEMA
from regcalc.cli import main
from regcalc.dbt import DbtError, copy_project, invoke_dbt
from regcalc.pipeline import run_jobs
from regcalc.settings import Settings
from regcalc.warehouse import load_lake

CASE_DIR = Path(__file__).parent / "cases" / "liq1_quarter"
SEEDS_DIR = Path(__file__).parent.parent / "seeds"
SCHEMA = "liq1_case"
EXTRA = {"lake_schema": f"{SCHEMA}_lake"}
SIX = Decimal("0.000001")
pytestmark = pytest.mark.e2e


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _append_csv(path: Path, rows: list[dict]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, header, lineterminator="\n").writerows(rows)


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).quantize(SIX)


def _quarter_entry(row: dict) -> tuple[tuple, tuple]:
    """A quarterly row (of expected_liq1.csv or fct_liq1_entity_quarter) as (entity, period, row) ->
    (parameter_set, observations, unweighted, weighted), amounts as 6-decimal Decimals."""
    return (row["entity_id"], row["reporting_period"], int(row["liq1_row"])), (
        row["parameter_set"],
        int(row["observation_count"]),
        _decimal(row["unweighted_value"]),
        _decimal(row["weighted_value"]),
    )


def expected_quarters() -> dict[tuple, tuple]:
    """expected_liq1.csv, the case's quarters computed by hand."""
    return dict(map(_quarter_entry, _csv(CASE_DIR / "expected_liq1.csv")))


def quarter_rows(rows) -> dict[tuple, tuple]:
    """fct_liq1_entity_quarter's base rows in the shape of expected_quarters."""
    return dict(_quarter_entry(row) for row in rows if row["scenario"] == "base")


@pytest.fixture(scope="module")
def case_build(spark, tmp_path_factory, monkeypatch_module):
    """The case's lake (jobs in this session) and its dbt build on the local target, from a project copy
    whose param_entity_sets has the case's row (no adjustment rule applies: the regulation's numbers)."""
    work = tmp_path_factory.mktemp("liq1")
    project = copy_project(work / "project")
    _append_csv(
        project / "seeds" / "jurisdictions" / "param_entity_sets.csv",
        _csv(CASE_DIR / "entity_parameter_sets.csv"),
    )
    for name, value in (("REGCALC_SCHEMA", SCHEMA), ("REGCALC_TARGET", "local"), ("REGCALC_LAKE", "")):
        monkeypatch_module.setenv(name, value)
    lake = str(work / "lake")
    local = Settings.from_env(lake=lake, target="local")
    run_jobs(spark, lake, CASE_DIR, max_reject_rate=0.0)
    load_lake(
        spark, local, schema=EXTRA["lake_schema"], dbt_vars={"apply_adjustments": False}, project_dir=project
    )
    invoke_dbt(["build"], local, {**EXTRA, "apply_adjustments": False}, project_dir=project)
    return {"project": project, "lake": lake, "local": local}


def test_hand_case_quarters_match_the_hand_computation(spark, case_build):
    actual = quarter_rows(row.asDict() for row in spark.table(f"{SCHEMA}.fct_liq1_entity_quarter").collect())
    assert actual == expected_quarters()


def test_parameter_set_shows_in_the_lcr_the_deals_and_liq1(spark, case_build):
    lcr = {
        (row.entity_id, str(row.as_of_date)): row.parameter_set
        for row in spark.table(f"{SCHEMA}.fct_lcr").collect()
    }
    assert lcr == {
        ("U1", "2026-09-29"): "US_LCR",
        ("U1", "2026-09-30"): "US_LCR",
        ("U1", "2026-10-01"): "US_LCR",
        ("B1", "2026-09-29"): "BCBS238",
        ("B1", "2026-09-30"): "BCBS238",
    }
    deals = {
        (row.entity_id, row.deal_id): (
            row.parameter_set,
            row.parameter_table,
            row.bcbs_paragraph,
            row.run_off_rate,
        )
        for row in spark.sql(
            f"select * from {SCHEMA}.fct_deal_liquidity where as_of_date = date'2026-09-30'"
            " and deal_id in ('D04', 'D05', 'D06', 'D52')"
        ).collect()
    }
    assert deals == {
        ("U1", "D04"): (
            "US_LCR",
            "param_rate_overrides",
            "12 CFR 249.32(a)(1) (BCBS 238 para 78)",
            Decimal("0.03"),
        ),
        ("U1", "D05"): (
            "US_LCR",
            "param_rate_overrides",
            "12 CFR 249.32(a)(1) and 249.3 (retail customer or counterparty: small businesses included)"
            " (BCBS 238 para 78 and 89)",
            Decimal("0.03"),
        ),
        ("U1", "D06"): ("US_LCR", "param_outflow_rates", "BCBS 238 para 79", Decimal("0.10")),
        ("B1", "D52"): ("BCBS238", "param_outflow_rates", "BCBS 238 para 75", Decimal("0.05")),
    }
    overridden = {
        (row.entity_id, row.liq1_row): row.overridden_deal_count
        for row in spark.sql(
            f"select * from {SCHEMA}.fct_liq1_entity_day where as_of_date = date'2026-09-30'"
            " and liq1_row in (2, 3, 4, 16)"
        ).collect()
    }
    assert overridden == {
        ("U1", 2): 2,
        ("U1", 3): 2,
        ("U1", 4): 0,
        ("U1", 16): 2,
        ("B1", 2): 0,
        ("B1", 3): 0,
        ("B1", 4): 0,
        ("B1", 16): 0,
    }


def _expected_template(entity: str, period: str) -> list[dict]:
    """The case's expected rows as the template discloses them (shaded unweighted cells blank)."""
    shaded = {int(row["liq1_row"]) for row in _csv(SEEDS_DIR / "liq1" / "liq1_template_rows.csv")} - {
        int(row["liq1_row"])
        for row in _csv(SEEDS_DIR / "liq1" / "liq1_template_rows.csv")
        if row["unweighted_reported"] == "true"
    }
    labels = {
        int(row["liq1_row"]): row["row_label"] for row in _csv(SEEDS_DIR / "liq1" / "liq1_template_rows.csv")
    }
    return [
        {
            "liq1_row": row,
            "row_label": labels[row],
            "unweighted_value": None if row in shaded else values[2],
            "weighted_value": values[3],
        }
        for (case_entity, case_period, row), values in sorted(expected_quarters().items())
        if (case_entity, case_period) == (entity, period)
    ]


def test_template_json_and_csv_are_the_hand_computed_quarter(case_build, capsys):
    assert main(["template", "liq1", "--entity", "U1", "--quarter", "2026q3", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    expected = _expected_template("U1", "2026Q3")
    assert {key: value for key, value in document.items() if key != "rows"} == {
        "template": "LIQ1",
        "entity_id": "U1",
        "reporting_period": "2026Q3",
        "scenario": "base",
        "reporting_currency": "USD",
        "parameter_set": "US_LCR",
        "observation_count": 2,
        "first_as_of_date": "2026-09-29",
        "last_as_of_date": "2026-09-30",
    }
    assert [
        {
            **row,
            "unweighted_value": _decimal(row["unweighted_value"]),
            "weighted_value": _decimal(row["weighted_value"]),
        }
        for row in document["rows"]
    ] == expected

    assert main(["template", "liq1", "--entity", "U1", "--quarter", "2026Q3", "--format", "csv"]) == 0
    lines = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    # CSV: amounts to the cent, the ratio (row 23) with its 6 published decimals
    assert [
        {key: (value or None) for key, value in line.items()} | {"liq1_row": int(line["liq1_row"])}
        for line in lines
    ] == [
        {
            **row,
            "unweighted_value": None if row["unweighted_value"] is None else f"{row['unweighted_value']:.2f}",
            "weighted_value": f"{row['weighted_value']:.6f}"
            if row["liq1_row"] == 23
            else f"{row['weighted_value']:.2f}",
        }
        for row in expected
    ]


def test_template_xlsx_is_laid_out_like_the_published_template(case_build, tmp_path, capsys):
    from openpyxl import load_workbook

    out = tmp_path / "liq1.xlsx"
    assert (
        main(
            [
                "template",
                "liq1",
                "--entity",
                "B1",
                "--quarter",
                "2026Q3",
                "--format",
                "xlsx",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    sheet = load_workbook(out)["LIQ1"]
    cells = [[cell.value for cell in line] for line in sheet.iter_rows(min_row=5, max_col=4)]
    assert cells[:2] == [
        [None, None, "a", "b"],
        [None, None, "Total unweighted value (average)", "Total weighted value (average)"],
    ]
    headings = [line[0] for line in cells[2:] if isinstance(line[0], str)]
    assert headings == ["High-quality liquid assets", "Cash outflows", "Cash inflows"]
    assert [line[3] for line in cells if line[3] == "Total adjusted value"] == ["Total adjusted value"]
    template = {line[0]: line for line in cells[2:] if isinstance(line[0], int)}
    expected = _expected_template("B1", "2026Q3")
    assert [[line[0], line[1], _decimal(line[2]), _decimal(line[3])] for line in template.values()] == [
        [row["liq1_row"], row["row_label"], row["unweighted_value"], row["weighted_value"]]
        for row in expected
    ]
    assert sheet["C3"].value == 2  # number of data points
    # shaded cells: the unweighted value of rows 1, 9, 16 and 21-23 (no value there) is filled grey
    shaded = {
        line[0]
        for line in sheet.iter_rows(min_row=7, max_col=4)
        if isinstance(line[0].value, int) and line[2].fill.fgColor.rgb.endswith("BFBFBF")
    }
    assert {number.value for number in shaded} == {1, 9, 16, 21, 22, 23}
    ratio = next(line for line in sheet.iter_rows(min_row=7, max_col=4) if line[0].value == 23)
    assert ratio[3].number_format == "0.00%"


def test_template_errors_name_what_exists(case_build, capsys):
    assert main(["template", "liq1", "--entity", "U1", "--quarter", "2025Q1"]) == 1
    message = capsys.readouterr().err
    assert message.startswith("regcalc template: error: no LIQ1 for entity U1 and quarter 2025Q1")
    assert "B1 2026Q3, U1 2026Q3, U1 2026Q4" in message
    assert main(["template", "liq1", "--entity", "U1", "--quarter", "2026Q3", "--format", "xlsx"]) == 1
    assert "--out FILE.xlsx" in capsys.readouterr().err


def test_a_category_without_liq1_row_fails_the_build(case_build):
    project = case_build["project"]
    mapping = project / "seeds" / "liq1" / "liq1_category_rows.csv"
    original = mapping.read_text(encoding="utf-8")
    mapping.write_text(
        "".join(
            line for line in original.splitlines(keepends=True) if not line.startswith("OUT_DERIVATIVE,")
        ),
        encoding="utf-8",
    )
    try:
        with pytest.raises(DbtError, match="assert_every_category_maps_to_liq1"):
            invoke_dbt(
                ["build", "--select", "liq1_category_rows", "assert_every_category_maps_to_liq1"],
                case_build["local"],
                EXTRA,
                project_dir=project,
            )
    finally:
        mapping.write_text(original, encoding="utf-8")
        invoke_dbt(
            ["seed", "--select", "liq1_category_rows"], case_build["local"], EXTRA, project_dir=project
        )


# --- the small generated bank, shipped adjustment rules, every scenario --------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(SIX, rounding=ROUND_HALF_UP)


def test_small_bank_liq1_recomputed_from_deals_and_daily_rows(spark, small_bank_marts):
    """Leaf rows from the deals (and the entity_category audit), parents from their rows, totals from
    fct_lcr, quarters as averages of the days: all recomputed here in Python and compared whole."""
    schema = SMALL_BANK_SCHEMA
    mapping = {
        row["category_code"]: row["liq1_row"] for row in _csv(SEEDS_DIR / "liq1" / "liq1_category_rows.csv")
    }
    template = _csv(SEEDS_DIR / "liq1" / "liq1_template_rows.csv")
    parents = {
        int(row["liq1_row"]): int(row["parent_row"]) if row["parent_row"] else None for row in template
    }
    category_sums: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in spark.table(f"{schema}.int_lcr_category_totals__adjusted").collect():
        if mapping[row.category_code]:
            row_number = int(mapping[row.category_code])
            while row_number is not None:
                sums = category_sums[(row.scenario, str(row.as_of_date), row.entity_id, row_number)]
                sums[0] += row.amount_reporting_ccy
                sums[1] += row.weighted_amount
                row_number = parents[row_number]
    daily = {
        (row.scenario, str(row.as_of_date), row.entity_id, row.liq1_row): row
        for row in spark.table(f"{schema}.fct_liq1_entity_day").collect()
    }
    lcr = {
        (row.scenario, str(row.as_of_date), row.entity_id): row
        for row in spark.table(f"{schema}.fct_lcr").collect()
    }
    assert {key[:3] for key in daily} == set(lcr)
    measures = {
        1: lambda r: r.hqla_level1 + r.hqla_level2a + r.hqla_level2b,
        16: lambda r: r.total_outflows,
        20: lambda r: r.total_inflows,
        21: lambda r: r.hqla,
        22: lambda r: r.net_cash_outflows,
        23: lambda r: _decimal(r.lcr),
    }
    expected_daily = {}
    for key in lcr:
        for row_number in parents:
            unweighted, weighted = category_sums.get((*key, row_number), [Decimal(0), Decimal(0)])
            if row_number in measures:
                weighted = measures[row_number](lcr[key])
            expected_daily[(*key, row_number)] = (None if row_number > 20 else unweighted, weighted)
    assert {key: (row.unweighted_value, row.weighted_value) for key, row in daily.items()} == expected_daily

    by_quarter: dict[tuple, list] = defaultdict(list)
    for (scenario, as_of, entity, row_number), row in daily.items():
        year, month = int(as_of[:4]), int(as_of[5:7])
        by_quarter[(scenario, entity, f"{year}Q{(month - 1) // 3 + 1}", row_number)].append(row)
    expected_quarter = {}
    for key, rows in by_quarter.items():
        weighted = [row.weighted_value for row in rows if row.weighted_value is not None]
        unweighted = [row.unweighted_value for row in rows if row.unweighted_value is not None]
        expected_quarter[key] = (
            len(rows),
            _money(sum(unweighted) / len(unweighted)) if unweighted else None,
            _money(sum(weighted) / len(weighted)) if weighted else None,
        )
    actual_quarter = {
        (row.scenario, row.entity_id, row.reporting_period, row.liq1_row): (
            row.observation_count,
            row.unweighted_value,
            row.weighted_value,
        )
        for row in spark.table(f"{schema}.fct_liq1_entity_quarter").collect()
    }
    assert actual_quarter == expected_quarter
    assert len({key[0] for key in actual_quarter}) > 1  # the shipped rules' scenarios are there too


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_hand_case_on_postgres_matches_the_hand_computation(spark, case_build, postgres, capsys):
    warehouse = dataclasses.replace(case_build["local"], target="postgres")
    load_lake(spark, warehouse, schema=EXTRA["lake_schema"])
    invoke_dbt(["build"], warehouse, {**EXTRA, "apply_adjustments": False}, project_dir=case_build["project"])
    capsys.readouterr()  # dbt's console output
    assert (
        main(
            [
                "template",
                "liq1",
                "--entity",
                "U1",
                "--quarter",
                "2026Q3",
                "--format",
                "json",
                "--target",
                "postgres",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert [
        (row["liq1_row"], _decimal(row["unweighted_value"]), _decimal(row["weighted_value"]))
        for row in document["rows"]
    ] == [
        (row["liq1_row"], row["unweighted_value"], row["weighted_value"])
        for row in _expected_template("U1", "2026Q3")
    ]

    import psycopg2.extras

    from regcalc.warehouse import connect_postgres

    connection = connect_postgres("postgres")
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(f"select * from {SCHEMA}.fct_liq1_entity_quarter")
            rows = [dict(row) for row in cursor.fetchall()]
    finally:
        connection.close()
    assert quarter_rows(rows) == expected_quarters()


# --- regcalc recalc --------------------------------------------------------------------------------------


def test_recalc_rebuilds_every_date_after_a_parameter_set_change(tmp_path):
    """A changed override row is read by dbt alone: the plan rebuilds the seed and everything downstream of
    int_deal_liquidity on every date of the lake, without rerunning the jobs (synthetic project of
    tests/test_recalc.py plus the seed)."""
    from regcalc.recalc import BuildState, make_plan, manifest_graph
    from test_recalc import DOWNSTREAM_OF_DEAL_POINT, LAKE, POINT_MODELS, synthetic_manifest, write_seeds

    manifest = synthetic_manifest()
    manifest["nodes"]["seed.regcalc.param_rate_overrides"] = {
        "name": "param_rate_overrides",
        "resource_type": "seed",
    }
    manifest["parent_map"]["model.regcalc.int_deal_liquidity"].append("seed.regcalc.param_rate_overrides")
    previous, now = write_seeds(tmp_path / "previous"), write_seeds(tmp_path / "now")
    for seeds, rate in ((previous, "0.03"), (now, "0.04")):
        (seeds / "jurisdictions").mkdir()
        (seeds / "jurisdictions" / "param_rate_overrides.csv").write_text(
            f"parameter_set,category_code,rate\nUS_LCR,OUT_RETAIL_STABLE,{rate}\n", encoding="utf-8"
        )
    plan = make_plan(manifest_graph(manifest), POINT_MODELS, BuildState(previous, dict(LAKE)), now, LAKE)
    assert plan.changes == ["jurisdictions seed changed: param_rate_overrides: 2 row(s)"]
    assert plan.dates == sorted(LAKE)
    assert set(plan.models) == {"param_rate_overrides", "int_deal_liquidity", *DOWNSTREAM_OF_DEAL_POINT}
    assert plan.models[:2] == ["param_rate_overrides", "int_deal_liquidity"]
    assert not plan.rerun_jobs and not plan.full_refresh


def test_template_table_blanks_shaded_cells_and_shows_the_ratio_as_a_percentage():
    """The table layout of `regcalc template liq1`, on the case's expected U1 2026Q3 (no database)."""
    import datetime as dt

    from regcalc.liq1 import Liq1, render_text

    template = {int(row["liq1_row"]): row for row in _csv(SEEDS_DIR / "liq1" / "liq1_template_rows.csv")}
    expected = _expected_template("U1", "2026Q3")
    rows = [
        {
            **row,
            "parent_row": int(template[row["liq1_row"]]["parent_row"] or 0) or None,
            "section": template[row["liq1_row"]]["section"],
            "unweighted_reported": template[row["liq1_row"]]["unweighted_reported"] == "true",
            # a shaded cell holds a value in the mart: the table must not show it
            "unweighted_value": float(row["unweighted_value"] if row["unweighted_value"] is not None else 1),
            "weighted_value": float(row["weighted_value"]),
        }
        for row in expected
    ]
    for row in rows:
        if row["liq1_row"] > 20:
            row["unweighted_value"] = None
    liq1 = Liq1("U1", "2026Q3", "base", "USD", "US_LCR", 2, dt.date(2026, 9, 29), dt.date(2026, 9, 30), rows)
    lines = render_text(liq1, "table").splitlines()
    assert lines[:3] == [
        "LIQ1: Liquidity Coverage Ratio (LCR)",
        "entity U1, 2026Q3, scenario base, amounts in USD, parameter set US_LCR",
        "simple averages of 2 daily observations (2026-09-29 to 2026-09-30)",
    ]
    body = lines[5:]
    assert len(body) == 23
    for line, row in zip(body, expected, strict=True):
        weighted = (
            f"{row['weighted_value'] * 100:.2f}%"
            if row["liq1_row"] == 23
            else f"{row['weighted_value']:,.2f}"
        )
        unweighted = [] if row["unweighted_value"] is None else [f"{row['unweighted_value']:,.2f}"]
        assert line.split() == [str(row["liq1_row"]), *row["row_label"].split(), *unweighted, weighted]
