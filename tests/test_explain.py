"""`regcalc explain` on hand-built cases, checked against numbers computed here, independently.

One lake and one dbt build for the module: the hand cases l2b_cap_binds (as entity E1: the Level 2B
15% cap binds), inflow_cap_binds (as E2: the 75% inflow cap binds) and unwind_binds (its E1 as E3, its
E2 as E4: the Level 2 40% cap binds after the unwind of short repos), as-of 2026-09-30, with four
adjustment rules written into a copy of the project's rule seeds (one per point, and one
in a scenario `stress`). The expected values come from the hand cases' READMEs and from the
independent oracle's deal lines (tests/reference_lcr.py) with the rules applied by hand below;
nothing expected is read back from the pipeline.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import shutil
from pathlib import Path

import pytest

import reference_lcr
from conftest import MART_TARGETS
from regcalc import impact
from regcalc.cli import main
from regcalc.explain import explain
from regcalc.marts import LCR_COLUMNS, Marts, read_lcr
from regcalc.pipeline import run_jobs
from regcalc.redshift_check import PLACEHOLDER_ENV, sql_problems
from regcalc.settings import RegcalcError
from regcalc.warehouse import load_lake
from test_adjustments import project_with_rules, rule

pytestmark = pytest.mark.e2e

CASES_DIR = Path(__file__).parent / "cases"
SEEDS_DIR = Path(__file__).parents[1] / "seeds" / "regulatory"
# (case, entity as sent) -> entity here
CASE_ENTITIES = {
    ("l2b_cap_binds", "E1"): "E1",
    ("inflow_cap_binds", "E1"): "E2",
    ("unwind_binds", "E1"): "E3",
    ("unwind_binds", "E2"): "E4",
}
AS_OF = "2026-09-30"
SCHEMA = "explain"
LAKE_SCHEMA = "explain_lake"  # this module's lake tables, apart from other modules' lakes
TOP = 3
AMOUNT_TOLERANCE = 0.01
LCR_TOLERANCE = 2e-6
PRINTED_RATIO_TOLERANCE = 6e-5  # regcalc lcr prints ratios with 4 decimals
COMPONENTS = (
    "hqla_level1", "hqla_level2a", "hqla_level2b", "unwind_level1", "unwind_level2a", "unwind_level2b",
    "total_outflows", "total_inflows",
)  # fmt: skip

RULES = [
    rule("R-DEAL", "deal"),
    rule("R-CATEGORY", "entity_category"),
    rule("R-COMPONENT", "lcr_components"),
    rule("R-STRESS", "deal", scenario="stress", priority="20"),  # after R-DEAL: overrides never tie
]
CONDITIONS = [
    ("R-DEAL", "entity_id", "=", "E1"),
    ("R-DEAL", "deal_id", "=", "B07"),
    ("R-CATEGORY", "entity_id", "=", "E2"),
    ("R-CATEGORY", "category_code", "=", "OUT_FINANCIAL"),
    ("R-COMPONENT", "entity_id", "=", "E1"),
    ("R-STRESS", "entity_id", "=", "E2"),
    ("R-STRESS", "deal_id", "=", "I03"),
]
ACTIONS = [
    ("R-DEAL", "weight", "override", "0.4"),  # B07 insured corporate deposit: 20% -> 40%
    ("R-CATEGORY", "weighted_amount", "multiply", "1.1"),  # E2 OUT_FINANCIAL (I02) 2000 -> 2200
    ("R-COMPONENT", "total_inflows", "add", "100"),  # E1 inflows 500 -> 600
    ("R-STRESS", "weight", "override", "0.1"),  # I03 retail stable 5% -> 10%
]
# By hand, per (scenario, deal): the weight after the deal rules (the base rule runs in every scenario).
DEAL_WEIGHTS = {
    ("base", "B07"): 0.4,
    ("stress", "B07"): 0.4,
    ("stress", "I03"): 0.1,
}


def write_input(out: Path) -> None:
    """The cases in one input folder, each case's entities renamed by CASE_ENTITIES."""
    out.mkdir(parents=True)
    for name in ("counterparties", "fx_rates"):  # identical in these cases
        shutil.copy(CASES_DIR / "l2b_cap_binds" / f"{name}.csv", out / f"{name}.csv")
    cases = sorted({case for case, _ in CASE_ENTITIES}, key=[case for case, _ in CASE_ENTITIES].index)
    for name in ("deals", "entities"):
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for index, case in enumerate(cases):
                with (CASES_DIR / case / f"{name}.csv").open(newline="", encoding="utf-8") as source:
                    header, *rows = csv.reader(source)
                if index == 0:
                    writer.writerow(header)
                at = header.index("entity_id")
                writer.writerows([*row[:at], CASE_ENTITIES[(case, row[at])], *row[at + 1 :]] for row in rows)


def run_cli(target: str, *args: str, command: str = "explain") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([command, "--target", target, *args])
    return code, out.getvalue(), err.getvalue()


def explain_json(target: str, entity: str, scenario: str = "base", metric: str = "lcr") -> dict:
    code, out, err = run_cli(
        target, "--entity", entity, "--as-of", AS_OF, "--scenario", scenario, "--metric", metric,
        "--top", str(TOP), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module", params=MART_TARGETS)
def built(request, spark, tmp_path_factory, monkeypatch_module):
    """The jobs and one dbt build with the rules on the target; explain's JSON for the entities and
    metrics tested, read from that target."""
    from regcalc.dbt import invoke_dbt
    from regcalc.settings import Settings

    target = request.param
    work = tmp_path_factory.mktemp("explain")
    write_input(work / "input")
    for name, default in (("REGCALC_LAKE", ""), ("REGCALC_TARGET", "local")):
        monkeypatch_module.setenv(name, os.environ.get(name) or default)
    monkeypatch_module.setenv("REGCALC_SCHEMA", SCHEMA)
    settings = Settings.from_env(lake=str(work / "lake"), target=target)
    run_jobs(spark, settings.lake, work / "input")
    project = project_with_rules(work / "project", RULES, CONDITIONS, ACTIONS)
    load_lake(spark, settings, schema=LAKE_SCHEMA, project_dir=project)
    invoke_dbt(["build"], settings, extra_vars={"lake_schema": LAKE_SCHEMA}, project_dir=project)
    documents = {
        ("E1", "base", "lcr"): explain_json(target, "E1"),
        ("E2", "base", "lcr"): explain_json(target, "E2"),
        ("E4", "base", "lcr"): explain_json(target, "E4"),
        ("E2", "stress", "net_cash_outflows"): explain_json(target, "E2", "stress", "net_cash_outflows"),
        ("E1", "base", "hqla"): explain_json(target, "E1", metric="hqla"),
        ("E2", "base", "total_outflows"): explain_json(target, "E2", metric="total_outflows"),
    }
    return {"input": work / "input", "documents": documents, "settings": settings, "target": target}


# ------------------------------------------------------------------------------------------------
# Expected values, from the oracle's deal lines and the rules applied by hand
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oracle(built) -> reference_lcr.OracleResult:
    result = reference_lcr.evaluate(built["input"])
    assert not result.rejects
    return result


def deal_contributions(oracle, entity: str, scenario: str) -> dict[str, dict[str, float]]:
    """component -> {deal_id: contribution} after the deal rules (every deal line of the component)."""
    contributions: dict[str, dict[str, float]] = {name: {} for name in COMPONENTS}
    for line in oracle.lines:
        if line.entity_id != entity:
            continue
        weight = DEAL_WEIGHTS.get((scenario, line.deal_id))
        value = line.value if weight is None else line.amount * weight
        if line.kind == "hqla":
            contributions[f"hqla_level{line.level[1:].lower()}"][line.deal_id] = value
        elif line.kind in ("outflow", "inflow"):
            contributions[f"total_{line.kind}s"][line.deal_id] = value
        if line.unwind_l1:
            contributions["unwind_level1"][line.deal_id] = line.unwind_l1
        if line.unwind_level:
            contributions[f"unwind_level{line.unwind_level[1:].lower()}"][line.deal_id] = line.unwind_value
    return contributions


def expected_stages(oracle, entity: str, scenario: str) -> dict[str, dict[str, float]]:
    """component -> the value after each adjustment point, by hand."""
    unadjusted = deal_contributions(oracle, entity, "none")
    after_deals = deal_contributions(oracle, entity, scenario)
    stages = {}
    for name in COMPONENTS:
        after_categories = sum(after_deals[name].values())
        if entity == "E2" and name == "total_outflows":  # R-CATEGORY: OUT_FINANCIAL (I02) x 1.1
            after_categories += after_deals[name]["I02"] * 0.1
        after_components = after_categories + (100.0 if (entity, name) == ("E1", "total_inflows") else 0.0)
        stages[name] = {
            "unadjusted": sum(unadjusted[name].values()),
            "after_deal_rules": sum(after_deals[name].values()),
            "after_entity_category_rules": after_categories,
            "after_lcr_components_rules": after_components,
        }
    return stages


def expected_lcr(stages: dict[str, dict[str, float]]) -> dict[str, float]:
    value = {name: stage["after_lcr_components_rules"] for name, stage in stages.items()}
    levels = {
        level: value[f"hqla_{level}"] + value[f"unwind_{level}"] for level in ("level1", "level2a", "level2b")
    }
    adj_15, adj_40 = reference_lcr.cap_adjustments(levels["level1"], levels["level2a"], levels["level2b"])
    hqla = value["hqla_level1"] + value["hqla_level2a"] + value["hqla_level2b"] - adj_15 - adj_40
    capped = min(value["total_inflows"], 0.75 * value["total_outflows"])
    nco = value["total_outflows"] - capped
    return {
        "adj_15_cap": adj_15, "adj_40_cap": adj_40, "hqla": hqla, "capped_inflows": capped,
        "net_cash_outflows": nco, "lcr": hqla / nco,
    }  # fmt: skip


def by_name(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------
def test_l2b_cap_binds_and_the_formula_holds_the_hand_computed_values(built):
    """E1 = l2b_cap_binds (README: adj15 791.18 by the 15/85 term, HQLA 8058.82) with R-DEAL (B07 outflow
    400 -> 800) and R-COMPONENT (inflows 500 -> 600): outflows 2300, capped inflows min(600, 1725) = 600,
    NCO 1700, LCR 8058.8235 / 1700."""
    document = built["documents"][("E1", "base", "lcr")]
    hqla = 6000 + 850 + 2000 - (2000 - 15 / 85 * (6000 + 850))
    assert document["value"] == pytest.approx(hqla / 1700, abs=LCR_TOLERANCE)
    formula = {step["name"]: step["value"] for step in document["formula"]}
    expected = {
        "adjusted_level1": 6000, "adjusted_level2a": 850, "adjusted_level2b": 2000,
        "adj_15_cap": 2000 - 15 / 85 * 6850, "adj_40_cap": 0, "hqla": hqla, "capped_inflows": 600,
        "net_cash_outflows": 1700, "lcr": hqla / 1700,
    }  # fmt: skip
    assert list(formula) == list(expected)
    for name, value in expected.items():
        assert formula[name] == pytest.approx(value, abs=LCR_TOLERANCE if name == "lcr" else AMOUNT_TOLERANCE)
    steps = by_name(document["formula"], "name")
    assert steps["adj_15_cap"]["with_values"] == "max(2,000.00 - 1,208.82, 2,000.00 - 1,500.00, 0)"
    assert steps["capped_inflows"]["with_values"] == "min(600.00, 1,725.00)"
    caps = [(cap["cap"], cap["binds"], cap["binding_term"]) for cap in document["caps"]]
    assert caps == [
        ("L2B_CAP", True, "15/85 x (adjusted_level1 + adjusted_level2a)"),
        ("L2_CAP", False, None),
        ("INFLOW_CAP", False, None),
    ]
    assert by_name(document["caps"], "cap")["L2B_CAP"]["adjustment"] == pytest.approx(791.1765, abs=1e-4)


def test_inflow_cap_binds(built):
    """E2 = inflow_cap_binds with R-CATEGORY (OUT_FINANCIAL 2000 -> 2200): outflows 2750, inflows 2200 >
    75% x 2750 = 2062.50, so the inflow cap binds and takes 137.50 off; NCO 687.50, LCR 1000 / 687.50."""
    document = built["documents"][("E2", "base", "lcr")]
    assert document["value"] == pytest.approx(1000 / 687.5, abs=LCR_TOLERANCE)
    caps = by_name(document["caps"], "cap")
    assert [cap["binds"] for cap in caps.values()] == [False, False, True]
    assert caps["INFLOW_CAP"]["adjustment"] == pytest.approx(137.5, abs=AMOUNT_TOLERANCE)
    assert by_name(document["formula"], "name")["capped_inflows"]["value"] == pytest.approx(2062.5)


@pytest.mark.parametrize(
    ("entity", "scenario", "metric"),
    [
        ("E1", "base", "lcr"),
        ("E2", "base", "lcr"),
        ("E4", "base", "lcr"),
        ("E2", "stress", "net_cash_outflows"),
    ],
)
def test_components_reconcile_through_every_adjustment_point(built, oracle, entity, scenario, metric):
    document = built["documents"][(entity, scenario, metric)]
    stages = expected_stages(oracle, entity, scenario)
    names = COMPONENTS if metric == "lcr" else ("total_outflows", "total_inflows")
    assert [component["component"] for component in document["components"]] == list(names)
    for component in document["components"]:
        name, want = component["component"], stages[component["component"]]
        for stage, value in want.items():
            assert component["stages"][stage] == pytest.approx(value, abs=AMOUNT_TOLERANCE), f"{name} {stage}"
        # what fct_lcr reports; the categories add up to the components before the component rules
        assert component["value"] == pytest.approx(want["after_lcr_components_rules"], abs=AMOUNT_TOLERANCE)
        categories = sum(category["amount"] for category in component["categories"])
        assert categories == pytest.approx(want["after_entity_category_rules"], abs=AMOUNT_TOLERANCE), name
        listed = sum(deal["contribution"] for deal in component["top_deals"])
        total = listed + component["other_deals"]["amount"]
        assert total == pytest.approx(want["after_deal_rules"], abs=AMOUNT_TOLERANCE), name
    lcr = expected_lcr(stages)
    assert document["value"] == pytest.approx(
        lcr[metric], abs=LCR_TOLERANCE if metric == "lcr" else AMOUNT_TOLERANCE
    )


def parameter_paragraphs() -> dict[tuple[str, str], str]:
    """(parameter table, category_code) -> bcbs_paragraph, from the regulatory seed CSVs."""
    paragraphs = {}
    for path in SEEDS_DIR.glob("param_*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if "category_code" in row:
                    paragraphs[(path.stem, row["category_code"])] = row["bcbs_paragraph"]
    return paragraphs


@pytest.mark.parametrize(
    ("entity", "scenario", "metric"), [("E1", "base", "lcr"), ("E2", "base", "lcr"), ("E4", "base", "lcr")]
)
def test_top_deals_are_the_largest_contributions_with_their_lineage(built, oracle, entity, scenario, metric):
    """Per component: the TOP largest |contribution| (ties by deal_id), from an independent sort of the
    oracle's deal lines; each with its category and the parameter row's BCBS paragraph."""
    document = built["documents"][(entity, scenario, metric)]
    contributions = deal_contributions(oracle, entity, scenario)
    categories = {line.deal_id: line.category for line in oracle.lines}
    paragraphs = parameter_paragraphs()
    if entity == "E1":  # the cut is exercised: E1 has 5 outflow deals
        assert len(contributions["total_outflows"]) > TOP
    for component in document["components"]:
        deals = contributions[component["component"]]
        expected = sorted(deals.items(), key=lambda item: (-abs(item[1]), item[0]))[:TOP]
        actual = [(deal["deal_id"], deal["contribution"]) for deal in component["top_deals"]]
        assert [deal_id for deal_id, _ in actual] == [deal_id for deal_id, _ in expected], component[
            "component"
        ]
        for (_, got), (_, want) in zip(actual, expected, strict=True):
            assert got == pytest.approx(want, abs=AMOUNT_TOLERANCE)
        assert component["deal_count"] == len(deals)
        assert component["other_deals"]["count"] == len(deals) - len(actual)
        for deal in component["top_deals"]:
            assert deal["category_code"] == categories[deal["deal_id"]]
            assert deal["bcbs_paragraph"] == paragraphs[(deal["parameter_table"], deal["category_code"])]
            assert isinstance(deal["classification_rule"], int)


def audit_summary(document: dict) -> list[tuple]:
    def rows(rule: dict) -> list[tuple]:
        return [
            (row["row_key"], float(row["value_before"]), float(row["value_after"]), row["delta"])
            for row in rule["rows"]
        ]

    return [
        (
            rule["injection_point"],
            rule["rule_id"],
            rule["field"],
            rule["rows_changed"],
            rule["components"],
            rows(rule),
        )
        for rule in document["adjustments"]
    ]


def test_adjustment_rules_that_moved_the_number_with_before_and_after(built):
    e1 = built["documents"][("E1", "base", "lcr")]
    assert audit_summary(e1) == [
        ("deal", "R-DEAL", "weight", 1, ["total_outflows"], [("B07", 0.2, 0.4, pytest.approx(0.2))]),
        (
            "lcr_components",
            "R-COMPONENT",
            "total_inflows",
            1,
            ["total_inflows"],
            [("E1", 500.0, 600.0, 100.0)],
        ),
    ]
    assert e1["adjustments"][0]["reference"] == "TEST-1" and e1["adjustments"][0]["approver"] == "b.checker"
    components = by_name(e1["components"], "component")
    assert components["total_outflows"]["rules_by_stage"] == {
        "after_deal_rules": ["R-DEAL"],
        "after_entity_category_rules": [],
        "after_lcr_components_rules": [],
    }
    b07 = by_name(components["total_outflows"]["top_deals"], "deal_id")["B07"]
    assert (b07["weight"], b07["contribution"], b07["adjustment_rule_ids"]) == (0.4, 800.0, "R-DEAL")

    e2 = built["documents"][("E2", "base", "lcr")]
    assert audit_summary(e2) == [
        ("entity_category", "R-CATEGORY", "weighted_amount", 1, ["total_outflows"],
         [("E2|OUT_FINANCIAL", 2000.0, 2200.0, pytest.approx(200.0))]),
    ]  # fmt: skip
    financial = by_name(
        by_name(e2["components"], "component")["total_outflows"]["categories"], "category_code"
    )
    assert (financial["OUT_FINANCIAL"]["amount_before_rules"], financial["OUT_FINANCIAL"]["amount"]) == (
        2000.0,
        pytest.approx(2200.0),
    )

    # the stress scenario: its own rule and the base rules, which run in every scenario
    stress = built["documents"][("E2", "stress", "net_cash_outflows")]
    assert [(rule["injection_point"], rule["rule_id"]) for rule in stress["adjustments"]] == [
        ("deal", "R-STRESS"),
        ("entity_category", "R-CATEGORY"),
    ]
    # rules that touched no row of HQLA do not explain it
    assert built["documents"][("E1", "base", "hqla")]["adjustments"] == []


def test_one_component_is_the_sum_of_its_categories(built):
    """E2 outflows (inflow_cap_binds README) with R-CATEGORY on OUT_FINANCIAL: I02 2000 x 1.1, I03 50,
    I09 400 (foreign sovereign repo, NON_HQLA collateral), I08 100 (domestic sovereign repo)."""
    document = built["documents"][("E2", "base", "total_outflows")]
    assert document["value"] == pytest.approx(2750.0, abs=AMOUNT_TOLERANCE)
    assert document["caps"] == []
    [step] = document["formula"]
    assert step["with_values"] == (
        "2,200.00 (OUT_FINANCIAL) + 50.00 (OUT_RETAIL_STABLE) + 400.00 (OUT_SECURED_OTHER) + 100.00 "
        "(OUT_SECURED_SOVEREIGN)"
    )
    assert [component["component"] for component in document["components"]] == ["total_outflows"]


def test_l2_cap_binds_after_the_unwind(built):
    """E4 = unwind_binds E2 (README): aL1 = 5000 - 2000 (V03) + 500 (V04) = 3500, aL2A = 2125 + 1870 = 3995;
    adj40 = 3995 - 2/3 x 3500 = 1661.67; HQLA 5463.33, NCO 1500."""
    document = built["documents"][("E4", "base", "lcr")]
    adj_40 = 3995 - 2 / 3 * 3500
    steps = by_name(document["formula"], "name")
    assert steps["adjusted_level1"]["with_values"] == "5,000.00 + -1,500.00"
    assert steps["adjusted_level2a"]["with_values"] == "2,125.00 + 1,870.00"
    assert steps["adj_40_cap"]["value"] == pytest.approx(adj_40, abs=AMOUNT_TOLERANCE)
    assert [(cap["cap"], cap["binds"]) for cap in document["caps"]] == [
        ("L2B_CAP", False),
        ("L2_CAP", True),
        ("INFLOW_CAP", False),
    ]
    assert document["value"] == pytest.approx((7125 - adj_40) / 1500, abs=LCR_TOLERANCE)
    unwind = by_name(document["components"], "component")["unwind_level1"]
    assert [(deal["deal_id"], deal["contribution"]) for deal in unwind["top_deals"]] == [
        ("V03", -2000),
        ("V04", 500),
    ]


def test_text_output_says_which_cap_binds(built):
    code, out, err = run_cli(built["target"], "--entity", "E1", "--as-of", AS_OF, "--metric", "hqla")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "hqla of E1 on 2026-09-30, scenario base: 8,058.82  (fct_lcr; amounts in USD)"
    assert (
        "  Level 2B 15% cap: BINDS reduces by 791.18 (binding term: 15/85 x (adjusted_level1 + "
        "adjusted_level2a))    [BCBS 238 para 47 and Annex 1 para 6]"
    ) in lines
    assert "  Level 2 40% cap: does not bind    [BCBS 238 para 51 and Annex 1 para 6]" in lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--entity", "E9", "--as-of", AS_OF), "entity 'E9' is not in fct_lcr (entities: E1, E2, E3, E4)"),
        (
            ("--entity", "E1", "--as-of", "2026-10-01"),
            "fct_lcr has no as-of 2026-10-01 for entity E1 (dates: 2026-09-30)",
        ),
        (
            ("--entity", "E1", "--as-of", AS_OF, "--scenario", "nope"),
            "scenario 'nope' is not in fct_lcr for that date (scenarios: base, stress)",
        ),
    ],
)
def test_unknown_entity_date_or_scenario_is_a_clear_error(built, args, message):
    code, out, err = run_cli(built["target"], *args)
    assert (code, out) == (1, "")
    assert err.startswith("regcalc explain: error: nothing to explain for ")
    assert message in err
    assert "run `regcalc run --input DIR` for that date" in err


# ------------------------------------------------------------------------------------------------
# The marts through the target's adapter: lcr of a scenario, literals, a missing schema, portability
# ------------------------------------------------------------------------------------------------
def test_lcr_of_a_scenario_shows_its_change_versus_base(built, oracle):
    """`regcalc lcr --scenario stress`: fct_lcr's stress rows with base_lcr and lcr_change from
    agg_lcr_date_entity_scenario, against the oracle with the rules applied by hand in both scenarios;
    R-STRESS moves E2 only."""
    code, out, err = run_cli(
        built["target"], "--as-of", AS_OF, "--scenario", "stress", "--format", "csv", command="lcr"
    )
    assert code == 0, err
    header, *lines = csv.reader(io.StringIO(out))
    assert header == [*LCR_COLUMNS, "base_lcr", "lcr_change"]
    assert [line[0] for line in lines] == sorted(set(CASE_ENTITIES.values()))
    changed = []
    for line in lines:
        row = dict(zip(header, line, strict=True))
        stress = expected_lcr(expected_stages(oracle, row["entity_id"], "stress"))["lcr"]
        base = expected_lcr(expected_stages(oracle, row["entity_id"], "base"))["lcr"]
        assert float(row["lcr"]) == pytest.approx(stress, abs=PRINTED_RATIO_TOLERANCE)
        assert float(row["base_lcr"]) == pytest.approx(base, abs=PRINTED_RATIO_TOLERANCE)
        assert float(row["lcr_change"]) == pytest.approx(stress - base, abs=PRINTED_RATIO_TOLERANCE)
        if abs(stress - base) > PRINTED_RATIO_TOLERANCE:
            changed.append(row["entity_id"])
    assert changed == ["E2"]


HOSTILE_TEXTS = ["E1", "O'Brien", r"back\slash", "${env:HOME}", "it''s \\' $x -- /* */", "naïve Zürich"]


def test_text_values_reach_the_target_as_written(built):
    """Every text a query filters on is a literal the target reads back unchanged (macro string_literal
    for text with quotes, backslashes or `$`); an entity id like that is a clear 'not in fct_lcr'."""
    with Marts(built["settings"]) as marts:
        for text in HOSTILE_TEXTS:
            assert marts.query(f"select {marts.literal(text)} as text_value") == [{"text_value": text}], text
    code, out, err = run_cli(built["target"], "--entity", r"E'1\$x", "--as-of", AS_OF)
    assert (code, out) == (1, "")
    assert "is not in fct_lcr (entities: E1, E2, E3, E4)" in err


def test_a_schema_without_marts_is_a_clear_error(built, monkeypatch):
    target = built["target"]
    monkeypatch.setenv("REGCALC_SCHEMA", "explain_nothing_built")
    code, out, err = run_cli(target, "--as-of", AS_OF, command="lcr")
    assert (code, out) == (1, "")
    assert err == (
        f"regcalc lcr: error: not built in target {target}: explain_nothing_built.fct_lcr; run `regcalc run "
        f"--input DIR` first (or `dbt build --target {target}` with schema explain_nothing_built)\n"
    )


class QueryLog:
    """Stands in for a Marts' query: runs each query and keeps its rows or, replaying another log,
    returns the rows that log's query of the same position returned (and runs nothing)."""

    def __init__(self, marts: Marts, replay: QueryLog | None = None) -> None:
        self.run, self.replay = marts.query, replay
        self.queries: list[str] = []
        self.results: list[list[dict]] = []
        marts.query = self

    def __call__(self, sql: str) -> list[dict]:
        self.queries.append(sql)
        rows = self.replay.results[len(self.results)] if self.replay else self.run(sql)
        self.results.append(rows)
        return rows


def analyst_queries(marts: Marts, log: QueryLog) -> list[str]:
    """Every query of regcalc lcr, explain and rules impact on these marts, in order: explain's for a
    metric of every kind and for an entity id that needs escaping (the not-found path), lcr's for a
    scenario (all through `log`), and rules impact's (built only: its unadjusted schema is not here)."""
    day = dt.date.fromisoformat(AS_OF)
    explain(marts, "E1", day, "base", "lcr", TOP)
    explain(marts, "E2", day, "stress", "total_outflows", TOP)
    with pytest.raises(RegcalcError, match="is not in fct_lcr"):
        explain(marts, r"E'9\$x", day, "base", "hqla", TOP)
    read_lcr(marts, day, "E2", "stress")
    return [
        *log.queries,
        impact.impact_query(marts, day, "stress", impact.unadjusted_schema(marts.settings)),
        impact.rule_status_query(marts, day, "stress"),
    ]


def test_every_query_is_sql_of_spark_postgres_and_redshift(built, monkeypatch):
    """The queries run on the target (Spark SQL as the local target's adapter renders them) parse in
    sqlglot's spark dialect; the same queries as the redshift target's adapter renders them (its
    quoting, its text type, its literals: those of PostgreSQL too, whose macros dbt-redshift
    dispatches to) parse in the postgres and redshift dialects. None is left unparsed (exp.Command)."""
    with Marts(built["settings"]) as marts:
        on_target = QueryLog(marts)
        spark_queries = analyst_queries(marts, on_target)
    for name, value in PLACEHOLDER_ENV.items():  # rendered only: nothing connects
        monkeypatch.setenv(name, value)
    with Marts(dataclasses.replace(built["settings"], target="redshift")) as marts:
        redshift_queries = analyst_queries(marts, QueryLog(marts, replay=on_target))
    assert len(spark_queries) == len(redshift_queries) > 20
    for query in spark_queries:
        assert sql_problems(query, "spark") == [], query
    for query in redshift_queries:
        for dialect in ("postgres", "redshift"):
            assert sql_problems(query, dialect) == [], (dialect, query)
    # rendered by each target's adapter and macros
    assert f"from {SCHEMA}.fct_lcr as lcr where" in spark_queries[-2]
    assert f'"{PLACEHOLDER_ENV["REGCALC_REDSHIFT_DATABASE"]}"."{SCHEMA}"."fct_lcr"' in redshift_queries[-2]
    assert "cast(members.deal_id as string)" in "".join(spark_queries)
    assert "cast(members.deal_id as TEXT)" in "".join(redshift_queries)
    assert r"'E\'9\\\u0024x'" in "".join(spark_queries)
    assert r"'E''9\\$x'" in "".join(redshift_queries)


# ------------------------------------------------------------------------------------------------
# A fourth adjustment point: one line in vars.adjustment_points, a model holding its rows, a one-line
# model applying it; explain, the audit and its dbt test see its rule with nothing else edited.
# ------------------------------------------------------------------------------------------------
REVIEW_RULE = ("R-REVIEW", "total_outflows", "add", "50")  # E3 (unwind_binds E1) outflows 1000 -> 1050


def add_review_point(project: Path) -> None:
    """Point `review` after lcr_components, on a model int_lcr_review (the components as they leave
    lcr_components, with int_lcr_components' typed columns); int_lcr reads its adjusted rows."""
    import yaml

    text = (project / "dbt_project.yml").read_text(encoding="utf-8")
    declared = "    lcr_components: {model: int_lcr_components, key: [scenario, as_of_date, entity_id]}\n"
    assert declared in text
    review = "    review: {model: int_lcr_review, key: [scenario, as_of_date, entity_id]}\n"
    (project / "dbt_project.yml").write_text(text.replace(declared, declared + review), encoding="utf-8")
    intermediate = project / "models" / "intermediate"
    models = yaml.safe_load((intermediate / "_intermediate__models.yml").read_text(encoding="utf-8"))[
        "models"
    ]
    columns = next(model for model in models if model["name"] == "int_lcr_components")["columns"]
    names = ", ".join(f"components.{column['name']}" for column in columns)
    (intermediate / "int_lcr_review.sql").write_text(
        f"select {names}\nfrom {{{{ ref('int_lcr_components__adjusted') }}}} as components\n",
        encoding="utf-8",
    )
    (intermediate / "_review__models.yml").write_text(
        yaml.safe_dump({"version": 2, "models": [{"name": "int_lcr_review", "columns": columns}]}),
        encoding="utf-8",
    )
    (intermediate / "adjustment_points" / "int_lcr_review__adjusted.sql").write_text(
        "{{ apply_adjustments('review') }}\n", encoding="utf-8"
    )
    # int_lcr, its unit test's input and fct_lcr's keys test read the new point's rows
    for reader in (
        project / "models" / "intermediate" / "int_lcr.sql",
        project / "models" / "intermediate" / "_intermediate__models.yml",
        project / "models" / "marts" / "star" / "_star__models.yml",
    ):
        text = reader.read_text(encoding="utf-8")
        assert "ref('int_lcr_components__adjusted')" in text, reader
        reader.write_text(
            text.replace("ref('int_lcr_components__adjusted')", "ref('int_lcr_review__adjusted')")
        )


@pytest.fixture(scope="module")
def fourth_point(built, tmp_path_factory):
    """The lake of `built`, built again (every model and dbt test) by a project with the point
    `review` and one rule there, into a schema of its own; explain of E3 read from it."""
    from regcalc.dbt import invoke_dbt
    from regcalc.rules import check_rules, load_points

    work = tmp_path_factory.mktemp("fourth_point")
    project = project_with_rules(
        work / "project",
        [*RULES, rule("R-REVIEW", "review")],
        [*CONDITIONS, ("R-REVIEW", "entity_id", "=", "E3")],
        [*ACTIONS, REVIEW_RULE],
    )
    add_review_point(project)
    problems = check_rules(project / "seeds" / "adjustments", load_points(project))
    settings = dataclasses.replace(built["settings"], schema=f"{SCHEMA}_review")
    invoke_dbt(["build"], settings, extra_vars={"lake_schema": LAKE_SCHEMA}, project_dir=project)
    with Marts(settings, project_dir=project) as marts:
        document = explain(marts, "E3", dt.date.fromisoformat(AS_OF), top=TOP)
        audit = marts.query(
            "select audit.injection_point, audit.rule_id, audit.field, audit.value_before, "
            f"audit.value_after from {marts.relation('fct_adjustment_audit')} as audit "
            "where audit.rule_id = 'R-REVIEW' and audit.scenario = 'base'"
        )
    return {"problems": problems, "document": document, "audit": audit}


def test_a_fourth_adjustment_point_is_seen_by_rules_check_audit_and_explain(fourth_point, oracle):
    assert fourth_point["problems"] == []
    before = expected_stages(oracle, "E3", "base")["total_outflows"]["after_lcr_components_rules"]
    assert [
        (
            row["injection_point"],
            row["rule_id"],
            row["field"],
            float(row["value_before"]),
            float(row["value_after"]),
        )
        for row in fourth_point["audit"]
    ] == [("review", "R-REVIEW", "total_outflows", pytest.approx(before), pytest.approx(before + 50))]
    document = fourth_point["document"]
    assert audit_summary(document) == [
        ("review", "R-REVIEW", "total_outflows", 1, ["total_outflows"], [("E3", before, before + 50, 50.0)]),
    ]
    outflows = by_name(document["components"], "component")["total_outflows"]
    assert list(outflows["stages"]) == [
        "unadjusted", "after_deal_rules", "after_entity_category_rules", "after_lcr_components_rules",
        "after_review_rules",
    ]  # fmt: skip
    assert outflows["stages"]["after_lcr_components_rules"] == pytest.approx(before, abs=AMOUNT_TOLERANCE)
    assert outflows["stages"]["after_review_rules"] == pytest.approx(before + 50, abs=AMOUNT_TOLERANCE)
    assert outflows["value"] == pytest.approx(before + 50, abs=AMOUNT_TOLERANCE)  # fct_lcr reads the point
    assert outflows["rules_by_stage"]["after_review_rules"] == ["R-REVIEW"]
