"""The reporting marts and commands (issue 13) on the hand-built case tests/cases/reporting, whose
currency LCR, movement, adjustment waterfall and restatement are computed by hand in its README: on the
local Spark target and on PostgreSQL, each through regcalc.marts.Marts (the target's dbt adapter).

Per target (fixture `story`): the case's jobs run once; a copy of the project gets one extra approved rule,
ADJ-R01 (deal point: E_R's EUR deposits run off at 50% instead of 40%, from 2026-10-01); the models the
reporting reads are built; the LCR by currency, the movement 2026-09-30 -> 2026-10-01 and the waterfall are
read; both dates are submitted (2026-09-30 twice, the second time with a reason). Then the rule is
backdated to 2026-09-30 and everything is rebuilt with --full-refresh: the submissions must be exactly as
they were, and `restatements` must show what the rule changed on 2026-09-30 and nothing on 2026-10-01.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from regcalc.cli import main
from regcalc.currency import read_currency_lcr
from regcalc.dbt import copy_project, invoke_dbt
from regcalc.marts import Marts
from regcalc.movement import movement
from regcalc.pipeline import run_jobs
from regcalc.progress import Progress
from regcalc.report import TITLES
from regcalc.rules import set_rule_cells
from regcalc.settings import Settings
from regcalc.submission import read_liq1_submissions, read_submissions, restatements
from regcalc.warehouse import load_lake
from settings_env import use_settings

CASE = Path(__file__).parent / "cases" / "reporting"
SCHEMA = "reporting"
LAKE_SCHEMA = "reporting_lake"
EXTRA = {"lake_schema": LAKE_SCHEMA}
D1, D2 = dt.date(2026, 9, 30), dt.date(2026, 10, 1)
# What the reporting reads, with every parent; the parameter seeds (tag regulatory) for the digests.
SELECT = [
    "--select",
    "+fct_lcr_currency",
    "+rpt_lcr_adjustment_waterfall",
    "+fct_deal_liquidity",
    "+fct_lcr_category",
    "+fct_liq1_entity_day",
    "+dim_adjustment_rule",
    "tag:regulatory",
]
RULE = {
    "rule_id": "ADJ-R01",
    "description": "Supervisory finding: E_R's EUR corporate deposits are not stable; run off at 50%",
    "injection_point": "deal",
    "scenario": "base",
    "effective_from": D2.isoformat(),
    "expiry": "",
    "priority": "15",
    "author": "t.tester",
    "approver": "r.reviewer",
    "approved_at": "2026-09-29",
    "reference": "TEST-R01",
}
AMOUNT = 0.005  # the hand values are written to the cent
RATIO = 1e-6  # ratios to 6 decimals


def _append_rows(path: Path, rows: list[dict]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, header, lineterminator="\n").writerows(rows)


def _project(folder: Path) -> Path:
    project = copy_project(folder)
    adjustments = project / "seeds" / "adjustments"
    _append_rows(adjustments / "adjustment_rules.csv", [RULE])
    _append_rows(
        adjustments / "adjustment_conditions.csv",
        [
            {"rule_id": "ADJ-R01", "field": "entity_id", "operator": "=", "value": "E_R"},
            {"rule_id": "ADJ-R01", "field": "product_type", "operator": "=", "value": "deposit"},
            {"rule_id": "ADJ-R01", "field": "currency", "operator": "=", "value": "EUR"},
        ],
    )
    _append_rows(
        adjustments / "adjustment_actions.csv",
        [{"rule_id": "ADJ-R01", "field": "weight", "operation": "override", "value": "0.50"}],
    )
    return project


def _build(settings: Settings, project: Path, full_refresh: bool, tests: bool) -> None:
    command = ["build", *SELECT, "--indirect-selection", "cautious"]  # tests of the selection only
    if full_refresh:
        command.append("--full-refresh")
    if not tests:
        command += ["--exclude-resource-type", "test", "unit_test"]
    invoke_dbt(command, settings, EXTRA, project_dir=project)


def _frozen_liq1(marts: Marts, submitted: list[dict]) -> dict[str, dict]:
    """submission_id -> {liq1_row: (unweighted, weighted)} of liq1_submissions."""
    return {
        row["submission_id"]: {
            line["liq1_row"]: (line["unweighted_value"], line["weighted_value"])
            for line in read_liq1_submissions(marts, row["submission_id"])
        }
        for row in submitted
    }


@pytest.fixture(scope="module", params=["local", "postgres"])
def story(request, spark, tmp_path_factory, monkeypatch_module):
    """What the reporting reads and writes on one target, before and after the backdated rule."""
    target = request.param
    if target == "postgres":
        request.getfixturevalue("postgres")
    work = tmp_path_factory.mktemp(f"reporting_{target}")
    lake = str(work / "lake")
    run_jobs(spark, lake, CASE, progress=Progress(quiet=True))
    settings = dataclasses.replace(Settings.from_env(lake=lake, target=target), schema=SCHEMA)
    use_settings(monkeypatch_module, settings)
    project = _project(work / "project")
    load_lake(spark, settings, schema=LAKE_SCHEMA, project_dir=project)  # once per lake, as regcalc run does
    _build(settings, project, full_refresh=True, tests=True)
    seen: dict = {"settings": settings, "project": project}
    with Marts(settings) as marts:
        seen["currency"] = read_currency_lcr(marts, significant_only=False)
        seen["movement"] = movement(marts, "E_R", D1, D2)
        seen["movement_liq1"] = movement(marts, "E_R", D1, D2, by="liq1")
        seen["waterfall"] = marts.query(
            f"select as_of_date, stage_order, stage, hqla, net_cash_outflows, lcr "
            f"from {marts.relation('rpt_lcr_adjustment_waterfall')} where scenario = 'base'"
        )
    for args in (
        ["submit", "--as-of", D1.isoformat(), "--entity", "E_R"],
        ["submit", "--as-of", D2.isoformat(), "--entity", "E_R"],
        ["submit", "--as-of", D1.isoformat(), "--entity", "E_R", "--reason", "signed off by the CFO"],
    ):
        assert main([*args, "--target", target, "--lake", lake]) == 0
    with Marts(settings) as marts:
        seen["submitted"] = read_submissions(marts)
        seen["liq1_submitted"] = _frozen_liq1(marts, seen["submitted"])
        seen["restated_before"] = restatements(marts)

    # The rule is backdated: 2026-09-30 changes. A full refresh rebuilds every model from scratch.
    set_rule_cells(project / "seeds" / "adjustments", "ADJ-R01", effective_from=D1.isoformat())
    _build(settings, project, full_refresh=True, tests=False)
    with Marts(settings) as marts:
        seen["submitted_after"] = read_submissions(marts)
        seen["liq1_submitted_after"] = _frozen_liq1(marts, seen["submitted_after"])
        seen["restated"] = restatements(marts)
        seen["restated_d2"] = restatements(marts, D2)
    return seen


# --- the LCR by significant currency (README: "LCR by currency") ------------------------------------------

# (date, currency): liability share, significant, HQLA, outflows, capped inflows, net cash outflows, LCR
EXPECTED_CURRENCY = {
    (D1, "EUR"): (0.109170, True, 588.24, 1000.00, 750.00, 250.00, 2.352941),
    (D1, "JPY"): (0.017467, False, 0.00, 400.00, 0.00, 400.00, 0.0),
    (D1, "USD"): (0.873362, True, 1000.00, 1000.00, 0.00, 1000.00, 1.0),
    (D2, "EUR"): (0.090909, True, 588.24, 1250.00, 937.50, 312.50, 1.882353),
    (D2, "USD"): (0.909091, True, 1200.00, 1500.00, 0.00, 1500.00, 0.8),
}


def test_currency_lcr_matches_the_hand_computation(story):
    rows = {(row["as_of_date"], row["currency"]): row for row in story["currency"]}
    assert sorted(rows) == sorted(EXPECTED_CURRENCY)
    for key, (share, significant, hqla, outflows, capped, nco, lcr) in EXPECTED_CURRENCY.items():
        row = rows[key]
        assert row["entity_id"] == "E_R"
        assert row["liability_share"] == pytest.approx(share, abs=RATIO), key
        assert row["is_significant"] is significant, key
        assert row["hqla"] == pytest.approx(hqla, abs=AMOUNT), key
        assert row["total_outflows"] == pytest.approx(outflows, abs=AMOUNT), key
        assert row["capped_inflows"] == pytest.approx(capped, abs=AMOUNT), key
        assert row["net_cash_outflows"] == pytest.approx(nco, abs=AMOUNT), key
        assert row["lcr"] == pytest.approx(lcr, abs=RATIO), key


def test_lcr_by_currency_command_shows_the_significant_currencies(story, capsys):
    target = story["settings"].target
    assert main(["lcr", "--by-currency", "--format", "csv", "--target", target]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split(",")[:4] == ["entity_id", "as_of_date", "currency", "liability_share"]
    shown = [(line.split(",")[1], line.split(",")[2], line.split(",")[-1]) for line in lines[1:]]
    assert shown == [  # after the backdated rule: EUR on 2026-09-30 as on 2026-10-01
        ("2026-09-30", "EUR", "1.8824"),
        ("2026-09-30", "USD", "1.0000"),
        ("2026-10-01", "EUR", "1.8824"),
        ("2026-10-01", "USD", "0.8000"),
    ]
    assert main(["lcr", "--by-currency", "--entity", "NOPE", "--target", target]) == 1
    assert "no LCR by currency and entity NOPE" in capsys.readouterr().err


# --- the movement 2026-09-30 -> 2026-10-01 (README: "Movement") -------------------------------------------

EXPECTED_EFFECTS = {  # group: change (reporting currency), lcr_effect
    "HQLA_L1_CASH": (200.00, 0.142857),
    "HQLA_L1_SECURITY": (0.0, 0.0),
    "HQLA_L2B_SECURITY": (0.0, 0.0),
    "IN_LOAN_FINANCIAL": (0.0, 0.0),
    "OUT_FINANCIAL": (-400.00, 0.326531),
    "OUT_NONFIN": (250.00, -0.204082),
    "OUT_RETAIL_LESS_STABLE": (500.00, -0.408163),
    "OUT_RETAIL_STABLE": (0.0, 0.0),
    "Level 2B cap (adj_15_cap)": (-35.29, 0.025210),
    "Level 2 cap (adj_40_cap)": (0.0, 0.0),
    "75% inflow cap (inflows cut off)": (0.0, 0.0),
}


def test_movement_matches_the_hand_computation(story):
    document = story["movement"]
    assert document["lcr_from"] == pytest.approx(1.260504, abs=RATIO)
    assert document["lcr_to"] == pytest.approx(1.142857, abs=RATIO)
    assert document["change"] == pytest.approx(-0.117647, abs=RATIO)
    assert document["hqla_effect"] == pytest.approx(0.168067, abs=RATIO)
    assert document["net_outflow_effect"] == pytest.approx(-0.285714, abs=RATIO)
    effects = {row["group"]: (row["change"], row["lcr_effect"]) for row in document["effects"]}
    assert sorted(effects) == sorted(EXPECTED_EFFECTS)
    for group, (change, effect) in EXPECTED_EFFECTS.items():
        assert effects[group][0] == pytest.approx(change, abs=AMOUNT), group
        assert effects[group][1] == pytest.approx(effect, abs=RATIO), group
    moved = [(d["deal_id"], d["status"], d["change"]) for d in document["deals"]]
    assert moved == [("C08", "new", 500.0), ("C07", "matured", -400.0), ("C05", "changed", 250.0),
                     ("C01", "changed", 200.0)]  # fmt: skip
    assert [rule["rule_id"] for rule in document["rules_started"]] == ["ADJ-R01"]
    assert document["rules_stopped"] == []


# by template LIQ1 row: the hand lines above summed per row of seeds/liq1/liq1_category_rows.csv (HQLA
# categories row 1; OUT_FINANCIAL and OUT_NONFIN both row 7: -400 + 250 = -150, -2000 x -150 / 2450000)
EXPECTED_LIQ1_EFFECTS = [  # in template order, then the caps
    ("row 1: Total HQLA", 200.00, 0.142857),
    ("row 3: Stable deposits", 0.0, 0.0),
    ("row 4: Less stable deposits", 500.00, -0.408163),
    ("row 7: Non-operational deposits (all counterparties)", -150.00, 0.122449),
    ("row 18: Inflows from fully performing exposures", 0.0, 0.0),
    ("Level 2B cap (adj_15_cap)", -35.29, 0.025210),
    ("Level 2 cap (adj_40_cap)", 0.0, 0.0),
    ("75% inflow cap (inflows cut off)", 0.0, 0.0),
]


def test_movement_by_liq1_row_matches_the_hand_computation(story):
    document = story["movement_liq1"]
    assert document["by"] == "liq1"
    assert [row["group"] for row in document["effects"]] == [group for group, _, _ in EXPECTED_LIQ1_EFFECTS]
    for row, (group, change, effect) in zip(document["effects"], EXPECTED_LIQ1_EFFECTS, strict=True):
        assert row["change"] == pytest.approx(change, abs=AMOUNT), group
        assert row["lcr_effect"] == pytest.approx(effect, abs=RATIO), group
    assert document["hqla_effect"] == pytest.approx(0.168067, abs=RATIO)
    assert document["net_outflow_effect"] == pytest.approx(-0.285714, abs=RATIO)


def test_movement_command_and_its_errors(story, capsys):
    target = story["settings"].target
    args = ["movement", "--entity", "E_R", "--from", D1.isoformat(), "--to", D2.isoformat()]
    assert main([*args, "--by", "lcr_section", "--target", target]) == 0
    text = capsys.readouterr().out  # after the backdated rule (README: "Movement after the backdated rule")
    assert "1.069519 -> 2026-10-01 1.142857, change +0.073338" in text, text
    assert "HQLA effect        +0.142602" in text and "net-outflow effect -0.069264" in text, text
    assert re.search(r"outflow\s+2650\.00\s+2750\.00\s+100\.00\s+-0\.0693", text), text
    assert "Adjustment rules that started applying: none" in text
    assert main(["movement", "--entity", "E_R", "--from", "2026-09-29", "--to", D2.isoformat(),
                 "--target", target]) == 1  # fmt: skip
    assert "no row for entity E_R on 2026-09-29 in scenario base (dates of E_R: 2026-09-30, 2026-10-01)" in (
        capsys.readouterr().err
    )


# --- the adjustment waterfall (README: "Adjustment waterfall") --------------------------------------------


def test_waterfall_moves_at_the_deal_point_only(story):
    rows = {(row["as_of_date"], row["stage"]): row for row in story["waterfall"]}
    expected = {
        (D1, "unadjusted"): 1.260504, (D1, "deal"): 1.260504, (D1, "entity_category"): 1.260504,
        (D1, "lcr_components"): 1.260504,
        (D2, "unadjusted"): 1.333333, (D2, "deal"): 1.142857, (D2, "entity_category"): 1.142857,
        (D2, "lcr_components"): 1.142857,
    }  # fmt: skip
    assert sorted(rows) == sorted(expected)
    for key, lcr in expected.items():
        assert rows[key]["lcr"] == pytest.approx(lcr, abs=RATIO), key


# --- the submission record and restatements (README: "Submission and restatement") ------------------------


def test_submissions_are_versions_with_their_provenance(story):
    rows = story["submitted"]
    assert [(r["as_of_date"], r["version"], r["reason"]) for r in rows] == [
        (D1, 1, None),
        (D1, 2, "signed off by the CFO"),
        (D2, 1, None),
    ]
    for row in rows:
        assert row["lcr"] == pytest.approx(1.260504 if row["as_of_date"] == D1 else 1.142857, abs=RATIO)
        assert row["lake_version"] == 1 and row["run_id"]
        assert re.fullmatch(r"[0-9a-f]{16}", row["parameters_digest"]) and re.fullmatch(
            r"[0-9a-f]{16}", row["rules_digest"]
        )
        assert row["submitted_by"] and row["submitted_at"] and row["code_version"]
    assert story["restated_before"] == []


def test_a_rerun_after_a_rule_change_leaves_the_submissions_unchanged(story):
    assert story["submitted_after"] == story["submitted"]
    assert story["liq1_submitted_after"] == story["liq1_submitted"]


# LIQ1 rows of 2026-09-30 by hand (README "LCR of the entity"; unweighted = market value / balance, weighted
# after haircut or run-off): row 1 C01 1000 + C02 500 + C03 1000 / 1000 + 500 + 500; row 3 C04; row 7 C05 2500
# + C07 400 / 1000 + 400; row 16 = 3 + 7; row 18 = row 20 C06; rows 21-23 weighted only.
EXPECTED_LIQ1_D1 = {
    1: (2500.0, 2000.0),
    3: (20000.0, 1000.0),
    7: (2900.0, 1400.0),
    16: (22900.0, 2400.0),
    18: (1000.0, 1000.0),
    20: (1000.0, 1000.0),
    21: (None, 1764.705882),
    22: (None, 1400.0),
    23: (None, 1.260504),
}


def test_the_submission_freezes_the_liq1_rows(story):
    frozen = story["liq1_submitted"]
    assert sorted(frozen) == sorted(row["submission_id"] for row in story["submitted"])
    for submission_id, rows in frozen.items():
        assert sorted(rows) == list(range(1, 24)), submission_id
    for version in ("v1", "v2"):
        rows = frozen[f"E_R/{D1.isoformat()}/base/{version}"]
        for liq1_row, (unweighted, weighted) in EXPECTED_LIQ1_D1.items():
            assert rows[liq1_row][0] == (
                None if unweighted is None else pytest.approx(unweighted, abs=AMOUNT)
            )
            assert rows[liq1_row][1] == pytest.approx(weighted, abs=RATIO), (version, liq1_row)
    # 2026-10-01 with ADJ-R01: C05 runs off 1250, C07 matured, C08 new (500): outflows 1000 + 1250 + 500
    assert frozen[f"E_R/{D2.isoformat()}/base/v1"][16][1] == pytest.approx(2750.0, abs=AMOUNT)


def test_restatements_show_what_the_backdated_rule_changed(story):
    restated = [(r["as_of_date"], r["version"], r["metric"]) for r in story["restated"]]
    # C05's run-off 1000 -> 1250 on 2026-09-30: in fct_lcr, and in LIQ1 rows 7, 5 (its parent), 16, 22 and 23
    assert restated == [
        (D1, 2, "total_outflows"),
        (D1, 2, "net_cash_outflows"),
        (D1, 2, "lcr"),
        (D1, 2, "liq1_row_5_weighted"),
        (D1, 2, "liq1_row_7_weighted"),
        (D1, 2, "liq1_row_16_weighted"),
        (D1, 2, "liq1_row_22_weighted"),
        (D1, 2, "liq1_row_23_weighted"),
    ]
    values = {r["metric"]: (r["submitted"], r["current"], r["difference"]) for r in story["restated"]}
    assert values["total_outflows"] == pytest.approx((2400.0, 2650.0, 250.0))
    assert values["net_cash_outflows"] == pytest.approx((1400.0, 1650.0, 250.0))
    assert values["lcr"] == pytest.approx((1.260504, 1.069519, -0.190985), abs=RATIO)
    assert values["liq1_row_5_weighted"] == pytest.approx((1400.0, 1650.0, 250.0))
    assert values["liq1_row_7_weighted"] == pytest.approx((1400.0, 1650.0, 250.0))
    assert values["liq1_row_16_weighted"] == pytest.approx((2400.0, 2650.0, 250.0))
    assert values["liq1_row_22_weighted"] == pytest.approx((1400.0, 1650.0, 250.0))
    assert values["liq1_row_23_weighted"] == pytest.approx((1.260504, 1.069519, -0.190985), abs=RATIO)
    assert story["restated_d2"] == []


def test_resubmitting_needs_a_reason_and_unknown_dates_are_named(story, capsys):
    target, lake = story["settings"].target, story["settings"].lake
    assert (
        main(["submit", "--as-of", D2.isoformat(), "--entity", "E_R", "--target", target, "--lake", lake])
        == 1
    )
    assert "already submitted (1 version(s)); a resubmission needs --reason" in capsys.readouterr().err
    assert (
        main(["submit", "--as-of", "2026-12-31", "--entity", "E_R", "--target", target, "--lake", lake]) == 1
    )
    assert "dates of E_R: 2026-09-30, 2026-10-01" in capsys.readouterr().err
    assert main(["restatements", "--as-of", D1.isoformat(), "--format", "csv", "--target", target]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "entity_id,as_of_date,scenario,version,metric,submitted,current,difference",
        "E_R,2026-09-30,base,2,total_outflows,2400.00,2650.00,250.00",
        "E_R,2026-09-30,base,2,net_cash_outflows,1400.00,1650.00,250.00",
        "E_R,2026-09-30,base,2,lcr,1.2605,1.0695,-0.1910",
        "E_R,2026-09-30,base,2,liq1_row_5_weighted,1400.00,1650.00,250.00",
        "E_R,2026-09-30,base,2,liq1_row_7_weighted,1400.00,1650.00,250.00",
        "E_R,2026-09-30,base,2,liq1_row_16_weighted,2400.00,2650.00,250.00",
        "E_R,2026-09-30,base,2,liq1_row_22_weighted,1400.00,1650.00,250.00",
        "E_R,2026-09-30,base,2,liq1_row_23_weighted,1.2605,1.0695,-0.1910",
    ]


# --- the report in a browser -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not on PATH: `make browser`")
def test_report_renders_every_chart_in_chromium(story, tmp_path):
    from test_docs_site import chromium, png_colours

    if story["settings"].target != "local":
        pytest.skip("the report reads the same marts on every target; drawn once")
    page = tmp_path / "report.html"
    assert main(["report", "--out", str(page), "--target", "local"]) == 0
    html = page.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 5
    assert not re.search(r"<script[^>]+src=", html), "the report must not load scripts from the network"
    dom = chromium(page, "", "--dump-dom").stdout
    # plotly draws each chart as svg layers (class main-svg) with its title as svg text (class gtitle)
    assert dom.count('class="main-svg"') >= 10, "plotly drew no charts"
    titles = re.findall(r'<text class="gtitle"[^>]*>(.*?)</text>', dom)
    assert [title.split(" (")[0] for title in titles] == list(TITLES), titles
    shot = tmp_path / "report.png"
    chromium(page, "", f"--screenshot={shot}", "--window-size=1200,2600")
    _, _, colours = png_colours(shot)
    # plotly's first two trace colours (#636efa, #EF553B) fill the bars and lines of the charts
    assert colours[bytes.fromhex("636efa")] > 2000 and colours[bytes.fromhex("ef553b")] > 500, (
        colours.most_common(8)
    )


# --- the SQL of the reporting commands on every engine -----------------------------------------------------


def _reporting_statements(marts: Marts, log) -> list[str]:
    """Every statement of lcr --by-currency, movement, submit and restatements on these marts, in order
    (the statements without rows recorded, not run: nothing is written)."""
    from regcalc.submission import submit

    statements: list[str] = []
    marts.execute = statements.append
    read_currency_lcr(marts)
    movement(marts, "E_R", D1, D2, by="liq1")
    submit(marts, marts.settings, "E_R", D1, reason="dialect check")
    restatements(marts, D1)
    return statements + log.queries


def test_every_reporting_statement_is_sql_of_spark_postgres_and_redshift(story, monkeypatch):
    """As test_explain does for the analyst commands: the statements as the local target's adapter renders
    them parse as Spark SQL; the same as the redshift target's adapter renders them (replaying the local
    results, nothing connects) parse as PostgreSQL and Redshift. None is left unparsed (exp.Command)."""
    from regcalc.redshift_check import PLACEHOLDER_ENV, sql_problems
    from test_explain import QueryLog

    if story["settings"].target != "local":
        pytest.skip("rendered for Spark and Redshift from the local build")
    with Marts(story["settings"]) as marts:
        on_target = QueryLog(marts)
        spark_statements = _reporting_statements(marts, on_target)
    for name, value in PLACEHOLDER_ENV.items():
        monkeypatch.setenv(name, value)
    with Marts(dataclasses.replace(story["settings"], target="redshift")) as marts:
        redshift_statements = _reporting_statements(marts, QueryLog(marts, replay=on_target))
    assert len(spark_statements) == len(redshift_statements) > 10
    assert any(statement.startswith("insert into") for statement in redshift_statements)
    for statement in spark_statements:
        assert sql_problems(statement, "spark") == [], statement
    for statement in redshift_statements:
        for dialect in ("postgres", "redshift"):
            assert sql_problems(statement, dialect) == [], (dialect, statement)
