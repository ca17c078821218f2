"""Adjustment rules end to end: seed CSVs -> validation -> compiled SQL at the three injection points ->
fct_lcr per scenario, the audit, the rule status report and the exceptions.

The rule sets are written by this module into a copy of the dbt project (its three seed CSVs
replaced), built on the test session's Spark against one small lake: the hand cases no_cap_binds
(as entity E1) and inflow_cap_binds (as entity E2), as-of 2026-09-30; the jobs run once. Builds:

1. VALID_RULES (full build): every operator and operation, each injection point, dating edges,
   approval statuses, priority / rule_id ordering, scenarios, a rule matching nothing and hostile
   values. Expected numbers are computed here from the oracle's unadjusted deal lines
   (reference_lcr) with the adjustments applied by hand, never read back from the pipeline.
2. INVALID_RULES (full build into the schema of 1): every kind of validation error at once; the
   build fails naming each problem and the marts of build 1 are unchanged.
3. Small partial builds, each in its own schema: a duplicated rule_id, twenty rules on one field,
   a rule_id holding a line break.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import reference_lcr
from conftest import MART_TARGETS
from regcalc import render
from regcalc.dbt import DbtError, invoke_dbt
from regcalc.impact import IMPACT_METRICS, RULE_STATUS_COLUMNS, rules_impact
from regcalc.marts import Marts
from regcalc.pipeline import run_jobs
from regcalc.rules import approval_status, read_rule_csv
from regcalc.settings import PROJECT_DIR, Settings
from regcalc.warehouse import load_lake

pytestmark = pytest.mark.e2e

CASES_DIR = Path(__file__).parent / "cases"
CASE_ENTITIES = {"no_cap_binds": "E1", "inflow_cap_binds": "E2"}  # both cases are entity E1 as sent
AS_OF = dt.date(2026, 9, 30)
SCHEMA = "adjustments_valid"
LAKE_SCHEMA = "adjustments_lake"  # lake tables of this module, apart from other modules' lakes
SCENARIOS = ("base", "stress")
AMOUNT_TOLERANCE = 0.01
LCR_TOLERANCE = 2e-6

RULE_COLUMNS = (
    "rule_id", "description", "injection_point", "scenario", "effective_from", "expiry", "priority",
    "author", "approver", "approved_at", "reference",
)  # fmt: skip
CONDITION_COLUMNS = ("rule_id", "field", "operator", "value")
ACTION_COLUMNS = ("rule_id", "field", "operation", "value")

# Values that would change the statement if a CSV value reached the SQL as text: quotes, a
# statement break, comment markers, Jinja, Spark variable substitution and backslash escapes.
HOSTILE_VALUE = r"""x'); drop table t; -- /* {{ var("lake_uri") }} ${env:HOME} \' \\ "q" */"""
HOSTILE_DESCRIPTION = (
    "It's \"hostile\"; drop table dim_adjustment_rule; --\n/* {{ config(materialized='view') }} {% if x %}"
    r" ${env:HOME} ${hiveconf:x} \ \\ \u0041 \n \' end"
)
HOSTILE_RULE_ID = r"""R22-CAT'"${env:HOME}\;--"""


def rule(
    rule_id: str,
    point: str = "deal",
    *,
    description: str | None = None,
    scenario: str = "base",
    effective_from: str = "2026-09-01",
    expiry: str = "",
    priority: str = "10",
    author: str = "a.analyst",
    approver: str = "b.checker",
    approved_at: str = "2026-09-02",
    reference: str = "TEST-1",
) -> tuple[str, ...]:
    return (
        rule_id, description or f"test rule {rule_id}", point, scenario, effective_from, expiry, priority,
        author, approver, approved_at, reference,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Build 1: a valid rule set
# ------------------------------------------------------------------------------------------------
VALID_RULES = [
    # Point deal (a few rules with many conditions: see test_many_rules_at_one_point).
    rule("R04-E2-OUTFLOW"),
    rule("R06-NOT-IN-FROM-EDGE", effective_from="2026-09-30"),  # effective from the as-of date
    rule("R07-RANGE-EXPIRY-EDGE", effective_from="2026-01-01", expiry="2026-09-30"),  # last day
    rule("R11-NOT-NULL-HOSTILE"),
    rule("R19-STRESS", scenario="stress"),
    rule("R20-GHOST", scenario="ghost", approver="", approved_at=""),  # unapproved: no such scenario
    # Point entity_category. Order: priority (9 before 10: numbers, not text), then rule_id
    # (R01 before R03 at priority 10, whatever the CSV order).
    rule("R03-ORD-TIE", "entity_category", priority="10"),
    rule("R01-ORD-MUL", "entity_category", priority="10"),
    rule("R02-ORD-ADD", "entity_category", priority="9"),
    rule(HOSTILE_RULE_ID, "entity_category", description=HOSTILE_DESCRIPTION, reference="REF; --'"),
    rule("R14-FUTURE", "entity_category", effective_from="2026-10-01"),  # a day late
    rule("R15-EXPIRED", "entity_category", effective_from="2026-01-01", expiry="2026-09-29"),  # a day early
    rule("R16-UNAPPROVED", "entity_category", approver="", approved_at=""),
    rule("R17-NO-APPROVAL-DATE", "entity_category", approver="c.checker", approved_at=""),
    rule("R18-SELF-APPROVED", "entity_category", author="j.doe", approver="J.DOE"),
    rule("R21-NO-MATCH", "entity_category"),
    # Point lcr_components.
    rule("R24-COMP-ADD", "lcr_components"),
    rule("R25-COMP-STRESS", "lcr_components", scenario="stress"),
]
VALID_CONDITIONS = [
    ("R04-E2-OUTFLOW", "entity_id", "!=", "E1"),
    ("R04-E2-OUTFLOW", "category_code", "in", "OUT_FINANCIAL|OUT_SECURED_SOVEREIGN"),
    ("R04-E2-OUTFLOW", "lcr_section", "like", "out%"),
    ("R06-NOT-IN-FROM-EDGE", "entity_id", "=", "E1"),
    ("R06-NOT-IN-FROM-EDGE", "lcr_section", "=", "inflow"),
    ("R06-NOT-IN-FROM-EDGE", "product_type", "not in", "loan|reverse_repo|derivative_receivable"),
    ("R07-RANGE-EXPIRY-EDGE", "amount_reporting_ccy", ">=", "800"),
    ("R07-RANGE-EXPIRY-EDGE", "amount_reporting_ccy", "<", "800.5"),
    ("R07-RANGE-EXPIRY-EDGE", "residual_maturity_days", ">", "19"),
    ("R07-RANGE-EXPIRY-EDGE", "residual_maturity_days", "<=", "20"),
    ("R07-RANGE-EXPIRY-EDGE", "is_domestic", "=", "true"),
    ("R07-RANGE-EXPIRY-EDGE", "as_of_date", "between", "2026-09-30|2026-09-30"),
    ("R07-RANGE-EXPIRY-EDGE", "hqla_class", "is null", ""),
    ("R11-NOT-NULL-HOSTILE", "hqla_class", "is not null", ""),
    ("R11-NOT-NULL-HOSTILE", "lcr_section", "=", "excluded"),
    ("R11-NOT-NULL-HOSTILE", "amount", "between", "999.5|1000.5"),
    ("R11-NOT-NULL-HOSTILE", "counterparty_id", "in", r"BANK1|x'); drop table t; --|${env:HOME}|a\'b"),
    ("R19-STRESS", "entity_id", "=", "E1"),
    ("R19-STRESS", "category_code", "=", "OUT_OPERATIONAL"),
    ("R20-GHOST", "deal_id", "=", "D07"),
    ("R03-ORD-TIE", "entity_id", "=", "E1"),
    ("R03-ORD-TIE", "category_code", "=", "OUT_DERIVATIVE"),
    ("R01-ORD-MUL", "entity_id", "=", "E1"),
    ("R01-ORD-MUL", "category_code", "=", "OUT_DERIVATIVE"),
    ("R02-ORD-ADD", "entity_id", "=", "E1"),
    ("R02-ORD-ADD", "category_code", "=", "OUT_DERIVATIVE"),
    (HOSTILE_RULE_ID, "entity_id", "=", "E1"),
    (HOSTILE_RULE_ID, "category_code", "=", "OUT_CREDIT_FACILITY_NONFIN"),
    ("R14-FUTURE", "entity_id", "=", "E1"),
    ("R15-EXPIRED", "entity_id", "=", "E1"),
    ("R16-UNAPPROVED", "entity_id", "=", "E1"),
    ("R17-NO-APPROVAL-DATE", "entity_id", "=", "E1"),
    ("R18-SELF-APPROVED", "entity_id", "=", "E1"),
    ("R21-NO-MATCH", "category_code", "=", "NOPE"),
    ("R24-COMP-ADD", "entity_id", "=", "E1"),
    ("R25-COMP-STRESS", "entity_id", "=", "E2"),
]
VALID_ACTIONS = [
    ("R04-E2-OUTFLOW", "weight", "multiply", "1.5"),
    ("R06-NOT-IN-FROM-EDGE", "amount_reporting_ccy", "multiply", "2"),
    ("R07-RANGE-EXPIRY-EDGE", "weight", "add", "-0.1"),
    ("R07-RANGE-EXPIRY-EDGE", "is_insured", "override", "true"),
    ("R11-NOT-NULL-HOSTILE", "bcbs_paragraph", "override", HOSTILE_VALUE),
    ("R19-STRESS", "weight", "override", "0.4"),
    ("R20-GHOST", "weight", "multiply", "0"),
    ("R03-ORD-TIE", "weighted_amount", "add", "10"),
    ("R01-ORD-MUL", "weighted_amount", "multiply", "0.5"),
    ("R02-ORD-ADD", "weighted_amount", "add", "75"),
    (HOSTILE_RULE_ID, "weighted_amount", "multiply", "1.1"),
    ("R14-FUTURE", "weighted_amount", "multiply", "0"),
    ("R15-EXPIRED", "weighted_amount", "multiply", "0"),
    ("R16-UNAPPROVED", "weighted_amount", "multiply", "0"),
    ("R17-NO-APPROVAL-DATE", "weighted_amount", "multiply", "0"),
    ("R18-SELF-APPROVED", "weighted_amount", "multiply", "0"),
    ("R21-NO-MATCH", "weighted_amount", "multiply", "2"),
    ("R24-COMP-ADD", "total_outflows", "add", "250"),
    ("R25-COMP-STRESS", "total_inflows", "override", "0"),
]

# What the rules do, by hand. Point deal: deal -> (amount_reporting_ccy, weight, rule ids in order) after the
# base rules, which run in every scenario; the stress scenario adds its own rule.
BASE_DEALS = {
    "D13": (800.0, 0.40, "R07-RANGE-EXPIRY-EDGE"),  # 0.5 - 0.1
    "D14": (1000.0, 1.0, "R06-NOT-IN-FROM-EDGE"),  # amount 500 x 2
    "I02": (2000.0, 1.5, "R04-E2-OUTFLOW"),  # 1.0 x 1.5
    "I07": (1000.0, 0.0, "R11-NOT-NULL-HOSTILE"),  # bcbs_paragraph overridden
    "I08": (400.0, 0.375, "R04-E2-OUTFLOW"),  # 0.25 x 1.5
}
STRESS_DEALS = BASE_DEALS | {"D07": (4000.0, 0.40, "R19-STRESS")}  # 0.25 -> override 0.4
DEALS_BY_SCENARIO = {"base": BASE_DEALS, "stress": STRESS_DEALS}
# Point entity_category: (entity, category) -> the category's weighted amount after the rules.
CATEGORY_CHANGES = {
    ("E1", "OUT_CREDIT_FACILITY_NONFIN"): lambda value: value * 1.1,
    # R02 (priority 9) adds, then R01 multiplies and R03 adds (priority 10, by rule_id).
    ("E1", "OUT_DERIVATIVE"): lambda value: (value + 75) * 0.5 + 10,
}
# Point lcr_components: (scenario, entity) -> changes of the flows.
COMPONENT_CHANGES = {
    ("base", "E1"): {"total_outflows": lambda value: value + 250},
    ("stress", "E1"): {"total_outflows": lambda value: value + 250},
    ("stress", "E2"): {"total_inflows": lambda value: 0.0},
}
COMPONENT_RULE_IDS = {
    ("base", "E1"): "R24-COMP-ADD",
    ("stress", "E1"): "R24-COMP-ADD",
    ("stress", "E2"): "R25-COMP-STRESS",
}

EXPECTED_STATUS = {
    "R01-ORD-MUL": "applied",
    "R02-ORD-ADD": "applied",
    "R03-ORD-TIE": "applied",
    "R04-E2-OUTFLOW": "applied",
    "R06-NOT-IN-FROM-EDGE": "applied",
    "R07-RANGE-EXPIRY-EDGE": "applied",
    "R11-NOT-NULL-HOSTILE": "applied",
    "R14-FUTURE": "not_yet_effective",
    "R15-EXPIRED": "expired",
    "R16-UNAPPROVED": "unapproved",
    "R17-NO-APPROVAL-DATE": "unapproved",
    "R18-SELF-APPROVED": "self_approved",
    "R19-STRESS": "applied",
    "R20-GHOST": "unapproved",
    "R21-NO-MATCH": "matched_no_rows",
    HOSTILE_RULE_ID: "applied",
    "R24-COMP-ADD": "applied",
    "R25-COMP-STRESS": "applied",
}


def expected_audit() -> list[tuple]:
    """(rule_id, point, scenario, row_key, field, before, after) of every value a rule changed."""
    category = "entity_category"
    per_scenario = [
        ("R04-E2-OUTFLOW", "deal", "I02", "weight", 1.0, 1.5),
        ("R04-E2-OUTFLOW", "deal", "I08", "weight", 0.25, 0.375),
        ("R06-NOT-IN-FROM-EDGE", "deal", "D14", "amount_reporting_ccy", 500.0, 1000.0),
        ("R07-RANGE-EXPIRY-EDGE", "deal", "D13", "weight", 0.5, 0.4),
        ("R07-RANGE-EXPIRY-EDGE", "deal", "D13", "is_insured", "false", "true"),
        ("R11-NOT-NULL-HOSTILE", "deal", "I07", "bcbs_paragraph", "BCBS 238 para 69", HOSTILE_VALUE),
        ("R02-ORD-ADD", category, "E1|OUT_DERIVATIVE", "weighted_amount", 300.0, 375.0),
        ("R01-ORD-MUL", category, "E1|OUT_DERIVATIVE", "weighted_amount", 375.0, 187.5),
        ("R03-ORD-TIE", category, "E1|OUT_DERIVATIVE", "weighted_amount", 187.5, 197.5),
        (HOSTILE_RULE_ID, category, "E1|OUT_CREDIT_FACILITY_NONFIN", "weighted_amount", 500.0, 550.0),
    ]
    rows = [(r, p, scenario, k, f, b, a) for scenario in SCENARIOS for r, p, k, f, b, a in per_scenario]
    # E1 outflows before the component rule: 500 (D06) + 1000 (D07) + 1000 (D08) + 300 (D09)
    # + 197.5 (OUT_DERIVATIVE) + 550 (OUT_CREDIT_FACILITY_NONFIN) = 3547.5; in stress D07 is 1600.
    rows += [
        ("R19-STRESS", "deal", "stress", "D07", "weight", 0.25, 0.4),
        ("R24-COMP-ADD", "lcr_components", "base", "E1", "total_outflows", 3547.5, 3797.5),
        ("R24-COMP-ADD", "lcr_components", "stress", "E1", "total_outflows", 4147.5, 4397.5),
        # E2 inflows: 1500 (I04) + 200 (I05) + 500 (I06)
        ("R25-COMP-STRESS", "lcr_components", "stress", "E2", "total_inflows", 2200.0, 0.0),
    ]
    return rows


# ------------------------------------------------------------------------------------------------
# Build 2: every kind of validation error at once
# ------------------------------------------------------------------------------------------------
INVALID_RULES = [
    rule("X01-POINT", "nowhere"),
    rule("X02-FIELD"),
    rule("X03-OPERATOR"),
    rule("X04-OPERATION"),
    rule("X05-VALUE"),
    rule("X06-DATES", effective_from="2026-13-01", expiry="30/09/2026", approved_at="yesterday"),
    rule("X07-EXPIRY", effective_from="2026-09-30", expiry="2026-09-29"),
    rule("X09-CONFLICT-A"),
    rule("X09-CONFLICT-B"),
    rule("X10-KEY-DERIVED"),
    rule("X11-MISC", priority="high", scenario="not a name"),
    rule("X12-NO-ACTION"),
    # Same priority written differently: 10 and 010 are the same priority.
    rule("X13-PRIORITY-A", priority="10"),
    rule("X13-PRIORITY-B", priority="010"),
    # A base rule also runs in the stress scenario: same scenario there, same priority.
    rule("X14-BASE"),
    rule("X14-STRESS", scenario="stress"),
    rule("X15-HUGE"),
    # Not applied (unapproved), so its override does not conflict with X09's.
    rule("X16-UNAPPROVED-OVERRIDE", approver=""),
    # Values a decimal field cannot hold exactly (they would be rounded when cast to its type).
    rule("X17-DECIMALS", priority="30"),  # its override conflicts with none
]
INVALID_CONDITIONS = [
    ("X02-FIELD", "total_outflows", "=", "1"),
    ("X03-OPERATOR", "amount", "like", "1%"),
    ("X03-OPERATOR", "entity_id", "<", "E2"),
    ("X03-OPERATOR", "deal_id", "~=", "D01"),
    ("X03-OPERATOR", "is_insured", "between", "false|true"),
    ("X05-VALUE", "amount", ">", "abc"),
    ("X05-VALUE", "is_insured", "=", "yes"),
    ("X05-VALUE", "as_of_date", "=", "2026-02-30"),
    ("X05-VALUE", "amount_reporting_ccy", "between", "1|2|3"),
    ("X05-VALUE", "residual_maturity_days", "in", "1|two"),
    ("X05-VALUE", "hqla_class", "is null", "L1"),
    ("X99-ORPHAN", "deal_id", "=", "D01"),
    ("X17-DECIMALS", "amount_reporting_ccy", ">", "0.0000001"),
]
INVALID_ACTIONS = [
    ("X01-POINT", "weight", "multiply", "2"),
    ("X02-FIELD", "nonexistent", "multiply", "2"),
    ("X03-OPERATOR", "weight", "multiply", "2"),
    ("X04-OPERATION", "entity_id", "multiply", "2"),
    ("X04-OPERATION", "weight", "divide", "2"),
    ("X05-VALUE", "run_off_rate", "override", "lots"),
    ("X05-VALUE", "amount", "add", "1,5"),
    ("X05-VALUE", "is_insured", "override", "maybe"),
    ("X06-DATES", "weight", "multiply", "2"),
    ("X07-EXPIRY", "weight", "multiply", "2"),
    ("X09-CONFLICT-A", "weight", "override", "0.5"),
    ("X09-CONFLICT-B", "weight", "override", "0.6"),
    ("X10-KEY-DERIVED", "deal_id", "override", "D99"),
    ("X10-KEY-DERIVED", "weighted_amount", "multiply", "2"),
    ("X10-KEY-DERIVED", "run_off_rate", "multiply", "2"),
    ("X10-KEY-DERIVED", "run_off_rate", "add", "1"),
    ("X11-MISC", "weight", "multiply", "2"),
    ("X13-PRIORITY-A", "amount", "override", "1"),
    ("X13-PRIORITY-B", "amount", "override", "2"),
    ("X14-BASE", "fx_rate", "override", "1"),
    ("X14-STRESS", "fx_rate", "override", "2"),
    ("X15-HUGE", "weight", "multiply", "1e400"),
    ("X16-UNAPPROVED-OVERRIDE", "weight", "override", "0.7"),
    ("X17-DECIMALS", "weight", "override", "0.1234567"),
    ("X17-DECIMALS", "run_off_rate", "multiply", "1000"),
    ("X17-DECIMALS", "amount_reporting_ccy", "add", "1.5e-7"),
]
# One entry per problem: a regex that one line of the error must match.
RULES_CSV, CONDITIONS_CSV, ACTIONS_CSV = (
    r"adjustment_rules\.csv rule ", r"adjustment_conditions\.csv rule ", r"adjustment_actions\.csv rule ",
)  # fmt: skip
EXPECTED_PROBLEMS = {
    "unknown point": RULES_CSV + r"X01-POINT: column injection_point: 'nowhere' is not a declared point "
    r"\(deal, entity_category, lcr_components\)",
    "condition field": CONDITIONS_CSV + r"X02-FIELD field total_outflows: column field: 'total_outflows' is "
    r"not a column of point deal \(as_of_date, deal_id, ",
    "action field": ACTIONS_CSV + r"X02-FIELD field nonexistent: column field: 'nonexistent' is not a "
    r"column of point deal",
    "like on number": CONDITIONS_CSV + r"X03-OPERATOR field amount: column operator: like needs a text "
    r"field; amount is a number",
    "< on text": CONDITIONS_CSV + r"X03-OPERATOR field entity_id: column operator: < needs a number or "
    r"date field; entity_id is a string",
    "unknown operator": CONDITIONS_CSV + r"X03-OPERATOR field deal_id: column operator: '~=' is not one of "
    r"=, !=, in, not in, <, <=, >, >=, between, is null, is not null, like",
    "between on boolean": CONDITIONS_CSV + r"X03-OPERATOR field is_insured: column operator: between needs "
    r"a number or date field; is_insured is a boolean",
    "multiply on text": ACTIONS_CSV + r"X04-OPERATION field entity_id: column operation: multiply needs a "
    r"number field; entity_id is a string",
    "unknown operation": ACTIONS_CSV + r"X04-OPERATION field weight: column operation: 'divide' is not one "
    r"of multiply, add, override",
    "condition not a number": CONDITIONS_CSV + r"X05-VALUE field amount: column value: 'abc' is not a number",
    "condition not a boolean": CONDITIONS_CSV + r"X05-VALUE field is_insured: column value: 'yes' is not "
    r"true or false",
    "condition not a date": CONDITIONS_CSV + r"X05-VALUE field as_of_date: column value: '2026-02-30' is "
    r"not a date \(yyyy-mm-dd\)",
    "between needs two": CONDITIONS_CSV
    + r"X05-VALUE field amount_reporting_ccy: column value: between needs "
    r"'low\|high'",
    "in item not a number": CONDITIONS_CSV + r"X05-VALUE field residual_maturity_days: column value: 'two' "
    r"is not a number",
    "is null with value": CONDITIONS_CSV + r"X05-VALUE field hqla_class: column value: is null takes no "
    r"value",
    "override not a number": ACTIONS_CSV + r"X05-VALUE field run_off_rate: column value: 'lots' is not a "
    r"number",
    "add not a number": ACTIONS_CSV + r"X05-VALUE field amount: column value: '1,5' is not a number",
    "override not a boolean": ACTIONS_CSV + r"X05-VALUE field is_insured: column value: 'maybe' is not "
    r"true or false",
    "effective_from": RULES_CSV + r"X06-DATES: column effective_from: '2026-13-01' is not a date "
    r"\(yyyy-mm-dd\)",
    "expiry": RULES_CSV + r"X06-DATES: column expiry: '30/09/2026' is not a date \(yyyy-mm-dd\)",
    "approved_at": RULES_CSV + r"X06-DATES: column approved_at: 'yesterday' is not a date \(yyyy-mm-dd\)",
    "expiry before effective_from": RULES_CSV + r"X07-EXPIRY: column expiry: 2026-09-29 is before "
    r"effective_from 2026-09-30",
    "conflicting overrides": ACTIONS_CSV + r"X09-CONFLICT-[AB] field weight: overrides the same field as "
    r"rule X09-CONFLICT-[AB] at the same point, scenario and priority 10",
    "key field": ACTIONS_CSV + r"X10-KEY-DERIVED field deal_id: column field: deal_id is part of the key of "
    r"point deal and cannot be changed",
    "recomputed field": ACTIONS_CSV + r"X10-KEY-DERIVED field weighted_amount: column field: weighted_amount "
    r"is recomputed at point deal as amount_reporting_ccy \* weight; adjust its inputs instead",
    "field changed twice": ACTIONS_CSV + r"X10-KEY-DERIVED field run_off_rate: the rule changes this field "
    r"twice; use one action",
    "priority": RULES_CSV + r"X11-MISC: column priority: 'high' is not an integer",
    "scenario": RULES_CSV + r"X11-MISC: column scenario: 'not a name' must be a name",
    "no action": RULES_CSV + r"X12-NO-ACTION: has no action in adjustment_actions\.csv",
    "orphan condition": CONDITIONS_CSV + r"X99-ORPHAN: no such rule_id in adjustment_rules\.csv",
    # priorities compare as numbers: '10' and '010' are the same priority
    "priority 10 vs 010": ACTIONS_CSV + r"X13-PRIORITY-[AB] field amount: overrides the same field as rule "
    r"X13-PRIORITY-[AB] at the same point, scenario and priority 10",
    # a base rule also applies in scenario stress
    "base vs scenario at same priority": ACTIONS_CSV + r"X14-(BASE|STRESS) field fx_rate: overrides the same "
    r"field as rule X14-(BASE|STRESS) at the same point, scenario and priority 10",
    # the form of a number, but no finite double
    "1e400 is not a double": ACTIONS_CSV + r"X15-HUGE field weight: column value: '1e400' is not a number",
    # decimal fields (money decimal(38,6), rates decimal(9,6)): a value is cast to the field's type, exactly
    "condition too many decimals": CONDITIONS_CSV + r"X17-DECIMALS field amount_reporting_ccy: column value: "
    r"'0\.0000001' has more than 6 decimals \(decimal\(38,6\)\)",
    "override too many decimals": ACTIONS_CSV + r"X17-DECIMALS field weight: column value: '0\.1234567' has "
    r"more than 6 decimals \(decimal\(9,6\)\)",
    "factor too many integer digits": ACTIONS_CSV + r"X17-DECIMALS field run_off_rate: column value: '1000' "
    r"has more than 3 integer digits \(decimal\(9,6\)\)",
    "exponent too many decimals": ACTIONS_CSV
    + r"X17-DECIMALS field amount_reporting_ccy: column value: '1\.5e-7' "
    r"has more than 6 decimals \(decimal\(38,6\)\)",
}


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------
def write_input(out: Path) -> None:
    """Both hand cases in one input folder, inflow_cap_binds moved to entity E2."""
    out.mkdir(parents=True)
    for name in ("counterparties", "fx_rates"):  # identical in both cases
        shutil.copy(CASES_DIR / "no_cap_binds" / f"{name}.csv", out / f"{name}.csv")
    for name in ("deals", "entities"):
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for index, (case, entity) in enumerate(CASE_ENTITIES.items()):
                with (CASES_DIR / case / f"{name}.csv").open(newline="", encoding="utf-8") as source:
                    header, *rows = csv.reader(source)
                if index == 0:
                    writer.writerow(header)
                at = header.index("entity_id")
                writer.writerows([*row[:at], entity, *row[at + 1 :]] for row in rows)


def write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def project_with_rules(dest: Path, rules: list, conditions: list, actions: list) -> Path:
    """A copy of the dbt project whose three adjustment seeds hold the given rows."""
    dest.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", dest / "dbt_project.yml")
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, dest / folder)
    seeds = dest / "seeds" / "adjustments"
    write_csv(seeds / "adjustment_rules.csv", RULE_COLUMNS, rules)
    write_csv(seeds / "adjustment_conditions.csv", CONDITION_COLUMNS, conditions)
    write_csv(seeds / "adjustment_actions.csv", ACTION_COLUMNS, actions)
    return dest


def read_csv(path: Path) -> list[tuple]:
    with path.open(newline="", encoding="utf-8") as handle:
        _, *rows = csv.reader(handle)
    return [tuple(cell if cell != "" else None for cell in row) for row in rows]


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, monkeypatch_module):
    """The jobs run once on the two cases; every build of this module reads this lake."""
    work = tmp_path_factory.mktemp("adjustments")
    write_input(work / "input")
    # Settings.from_env reads these: set them here so they are restored after.
    for name, default in (("REGCALC_LAKE", ""), ("REGCALC_SCHEMA", SCHEMA), ("REGCALC_TARGET", "local")):
        monkeypatch_module.setenv(name, os.environ.get(name) or default)
    run_jobs(spark, str(work / "lake"), work / "input")
    load_lake(spark, Settings.from_env(lake=str(work / "lake")), schema=LAKE_SCHEMA)
    return work


def settings_for(lake: Path, schema: str, monkeypatch) -> Settings:
    monkeypatch.setenv("REGCALC_SCHEMA", schema)
    return Settings.from_env(lake=str(lake / "lake"))


def build(project: Path, settings: Settings, *select: str):
    # A partial build runs only the tests of the selected nodes (not the singular tests that also
    # read models left out).
    command = ["build", *(["--select", *select, "--indirect-selection", "cautious"] if select else [])]
    return invoke_dbt(command, settings, extra_vars={"lake_schema": LAKE_SCHEMA}, project_dir=project)


def table(spark, name: str, schema: str = SCHEMA) -> list[dict]:
    return [plain(row) for row in spark.table(f"{schema}.{name}").collect()]


def plain(row) -> dict:
    """A row with its decimals (money, rates) as floats, compared with hand values within AMOUNT_TOLERANCE
    (that money is exact is tested in test_pipeline_e2e.py)."""
    return {key: float(value) if isinstance(value, Decimal) else value for key, value in row.asDict().items()}


@pytest.fixture(scope="module")
def valid(spark, lake, monkeypatch_module):
    project = project_with_rules(lake / "valid_project", VALID_RULES, VALID_CONDITIONS, VALID_ACTIONS)
    settings = settings_for(lake, SCHEMA, monkeypatch_module)
    for target in MART_TARGETS:  # the Spark tables below are the local target's
        build(project, dataclasses.replace(settings, target=target))
    names = (
        "fct_lcr", "fct_deal_liquidity", "fct_adjustment_audit", "rpt_adjustment_rule_status",
        "rpt_adjustment_exceptions", "dim_adjustment_rule", "int_deal_liquidity__adjusted",
        "adjustment_rules", "adjustment_conditions", "adjustment_actions",
    )  # fmt: skip
    return {"project": project, "settings": settings} | {name: table(spark, name) for name in names}


@pytest.fixture(scope="module")
def invalid(spark, lake, valid, monkeypatch_module):
    """The invalid rule set built into the schema of the valid build: the error and the marts after."""
    project = project_with_rules(lake / "invalid_project", INVALID_RULES, INVALID_CONDITIONS, INVALID_ACTIONS)
    settings = settings_for(lake, SCHEMA, monkeypatch_module)
    with pytest.raises(DbtError) as error:
        build(project, settings)
    log = (project / "logs" / "dbt.log").read_text(encoding="utf-8")
    marts = (
        "fct_lcr",
        "fct_adjustment_audit",
        "rpt_adjustment_rule_status",
        "dim_adjustment_rule",
        "fct_deal_liquidity",
    )
    return {"error": str(error.value), "log": log} | {name: table(spark, name) for name in marts}


# ------------------------------------------------------------------------------------------------
# Expected results, from the oracle's unadjusted deal lines
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oracle(lake) -> reference_lcr.OracleResult:
    result = reference_lcr.evaluate(lake / "input")
    assert not result.rejects
    return result


def adjusted_lines(oracle, scenario: str) -> list[reference_lcr.Line]:
    """The oracle's deal lines with the deal and category rules applied by hand."""
    deals = DEALS_BY_SCENARIO[scenario]
    lines = []
    for line in oracle.lines:
        if line.deal_id in deals:
            amount, weight, _ = deals[line.deal_id]
            line = dataclasses.replace(line, amount=amount, value=amount * weight)
        lines.append(line)
    for (entity, category), change in CATEGORY_CHANGES.items():
        at = [i for i, line in enumerate(lines) if (line.entity_id, line.category) == (entity, category)]
        assert len(at) == 1, "the category rules of this module change categories of one deal"
        lines[at[0]] = dataclasses.replace(lines[at[0]], value=change(lines[at[0]].value))
    return lines


def expected_lcr(oracle) -> dict[tuple[str, str], dict]:
    expected = {}
    for scenario in SCENARIOS:
        for row in reference_lcr._aggregate(adjusted_lines(oracle, scenario)):
            for column, change in COMPONENT_CHANGES.get((scenario, row["entity_id"]), {}).items():
                row[column] = change(row[column])
            cap = reference_lcr.INFLOW_CAP * row["total_outflows"]
            row["capped_inflows"] = min(row["total_inflows"], cap)
            row["net_cash_outflows"] = row["total_outflows"] - row["capped_inflows"]
            row["lcr"] = row["hqla"] / row["net_cash_outflows"]
            row["inflow_cap_binds"] = row["total_inflows"] > cap
            expected[(scenario, row["entity_id"])] = row
    return expected


# ------------------------------------------------------------------------------------------------
# Build 1: results
# ------------------------------------------------------------------------------------------------
def test_seeds_round_trip_exactly(valid):
    """Every cell of the three seeds on Spark is the CSV cell (csv module), blanks null."""
    seeds = valid["project"] / "seeds" / "adjustments"
    for name, columns in (
        ("adjustment_rules", RULE_COLUMNS),
        ("adjustment_conditions", CONDITION_COLUMNS),
        ("adjustment_actions", ACTION_COLUMNS),
    ):
        assert list(valid[name][0]) == list(columns), name
        loaded = sorted(tuple(row[column] for column in columns) for row in valid[name])
        assert loaded == sorted(read_csv(seeds / f"{name}.csv")), name
    rules = {row["rule_id"]: row for row in valid["adjustment_rules"]}
    assert rules[HOSTILE_RULE_ID]["description"] == HOSTILE_DESCRIPTION
    assert rules["R16-UNAPPROVED"]["approver"] is None and rules["R16-UNAPPROVED"]["expiry"] is None


def test_fct_lcr_per_scenario_matches_hand_adjusted_oracle(valid, oracle):
    expected = expected_lcr(oracle)
    actual = {(row["scenario"], row["entity_id"]): row for row in valid["fct_lcr"]}
    assert len(actual) == len(valid["fct_lcr"])
    assert sorted(actual) == sorted(expected), "one row per scenario and entity: base and stress, no ghost"
    columns = (
        "hqla_level1", "hqla_level2a", "hqla_level2b", "adj_15_cap", "adj_40_cap", "hqla", "total_outflows",
        "total_inflows", "capped_inflows", "net_cash_outflows",
    )  # fmt: skip
    for key, want in expected.items():
        got = actual[key]
        assert got["as_of_date"] == AS_OF
        for column in columns:
            assert got[column] == pytest.approx(want[column], abs=AMOUNT_TOLERANCE), f"{key} {column}"
        assert got["lcr"] == pytest.approx(want["lcr"], abs=LCR_TOLERANCE), f"{key} lcr"
        assert got["inflow_cap_binds"] == want["inflow_cap_binds"], f"{key} inflow_cap_binds"
        assert got["component_adjustment_rule_ids"] == COMPONENT_RULE_IDS.get(key), key
        assert got["has_component_adjustments"] == (key in COMPONENT_RULE_IDS), key
        deals = DEALS_BY_SCENARIO[key[0]]
        entity_deals = [line.deal_id for line in oracle.lines if line.entity_id == key[1]]
        assert got["deal_count"] == len(entity_deals), key
        assert got["adjusted_deal_count"] == len(set(entity_deals) & set(deals)), key
    # The hand numbers, for the reader. E1: outflows 3547.5 + 250 (R24), inflows 150 + 320 + 1000 +
    # 200 = 1670 (cap not binding); stress: D07 runs off 1600. E2 stress: inflows zeroed by R25.
    assert actual[("base", "E1")]["lcr"] == pytest.approx(round(8000 / (3797.5 - 1670), 6))
    assert actual[("stress", "E1")]["lcr"] == pytest.approx(round(8000 / (4397.5 - 1670), 6))
    assert actual[("stress", "E2")]["lcr"] == pytest.approx(round(1000 / 3600, 6))


def test_scaled_outflow_weight_moves_outflows_inflow_cap_and_lcr(valid):
    """E2 (the case inflow_cap_binds), base, by hand from the case's deals.csv: R04 scales the run-off
    rates of I02 (bank deposit, 100%) and I08 (domestic sovereign repo, 25%) by 1.5, so outflows go
    from 2550 to 2550 + 2000 x 0.5 + 400 x 0.125 = 3600. The 75% inflow cap (2700) no longer binds:
    capped inflows = all inflows = 1500 + 400 x 50% + 500 (I04, I05, I06) = 2200; NCO = 1400;
    LCR = 1000 / 1400. Unadjusted (the case's README): cap 1912.50 binds, NCO 637.50, LCR 1.568627."""
    with (CASES_DIR / "inflow_cap_binds" / "deals.csv").open(newline="") as handle:
        amounts = {row["deal_id"]: float(row["amount"]) for row in csv.DictReader(handle)}
    outflows = 2550 + amounts["I02"] * 1.0 * (1.5 - 1) + amounts["I08"] * 0.25 * (1.5 - 1)
    inflows = amounts["I04"] * 1.0 + amounts["I05"] * 0.5 + amounts["I06"] * 1.0
    hqla = amounts["I01"]
    capped = min(inflows, 0.75 * outflows)
    assert (outflows, inflows, capped) == (3600, 2200, 2200)
    rows = {row["scenario"]: row for row in valid["fct_lcr"] if row["entity_id"] == "E2"}
    row = rows["base"]
    assert row["total_outflows"] == pytest.approx(outflows)
    assert row["capped_inflows"] == pytest.approx(capped)
    assert row["inflow_cap_binds"] is False
    assert row["net_cash_outflows"] == pytest.approx(outflows - capped)
    assert row["hqla"] == pytest.approx(hqla)
    assert row["lcr"] == pytest.approx(hqla / (outflows - capped), abs=LCR_TOLERANCE)
    # stress: the same outflows, inflows overridden to 0 at lcr_components
    assert rows["stress"]["total_outflows"] == pytest.approx(outflows)
    assert rows["stress"]["net_cash_outflows"] == pytest.approx(outflows)


def test_deal_rows_carry_the_rules_that_changed_them(valid, oracle):
    by_key = {(row["scenario"], row["deal_id"]): row for row in valid["fct_deal_liquidity"]}
    assert len(by_key) == len(valid["fct_deal_liquidity"]) == len(SCENARIOS) * len(oracle.lines)
    for scenario in SCENARIOS:
        deals = DEALS_BY_SCENARIO[scenario]
        for line in oracle.lines:
            row = by_key[(scenario, line.deal_id)]
            label = f"{scenario} {line.deal_id}"
            amount, weight, rule_ids = deals.get(line.deal_id, (line.amount, None, None))
            assert row["adjustment_rule_ids"] == rule_ids, label
            assert row["is_adjusted"] is (rule_ids is not None), label
            assert row["amount_reporting_ccy"] == pytest.approx(amount), label
            if weight is not None:
                assert row["weight"] == pytest.approx(weight), label
            # weighted_amount is recomputed from the adjusted inputs (amount_reporting_ccy x weight)
            value = amount * weight if weight is not None else line.value
            assert row["weighted_amount"] == pytest.approx(value, abs=1e-9), label
            assert row["category_code"] == line.category, label
            if line.deal_id == "I07":
                assert row["bcbs_paragraph"] == HOSTILE_VALUE, label
    insured = {
        (row["scenario"], row["deal_id"]): row["is_insured"] for row in valid["int_deal_liquidity__adjusted"]
    }
    assert insured[("base", "D13")] is True and insured[("stress", "D13")] is True
    assert insured[("base", "D14")] is False


def test_audit_has_one_row_per_changed_value(valid):
    expected = {row[:5]: row for row in expected_audit()}
    assert len(expected) == len(expected_audit())
    actual = {}
    for row in valid["fct_adjustment_audit"]:
        key = (row["rule_id"], row["injection_point"], row["scenario"], row["row_key"], row["field"])
        assert key not in actual, f"audit row twice: {key}"
        actual[key] = row
    assert sorted(actual) == sorted(expected)
    assert len(valid["fct_adjustment_audit"]) == 24
    rules = {row["rule_id"]: row for row in valid["dim_adjustment_rule"]}
    for key, (*_, before, after) in expected.items():
        row = actual[key]
        assert row["as_of_date"] == AS_OF
        if isinstance(before, float):
            assert float(row["value_before"]) == pytest.approx(before), key
            assert float(row["value_after"]) == pytest.approx(after), key
            assert row["delta"] == pytest.approx(after - before), key
        else:
            assert (row["value_before"], row["value_after"], row["delta"]) == (before, after, None), key
        for column in ("adjustment_key", "description", "priority", "author", "approver", "approved_at"):
            assert row[column] == rules[key[0]][column], (key, column)
    hostile = [row for row in valid["fct_adjustment_audit"] if row["rule_id"] == HOSTILE_RULE_ID]
    assert {(row["description"], row["reference"]) for row in hostile} == {(HOSTILE_DESCRIPTION, "REF; --'")}


def expected_status_rows() -> dict[tuple[str, str], str]:
    """(rule_id, scenario of the run) -> status: base rules in every scenario built, others in their
    own, built or not (R20-GHOST's scenario is not: its only rule is unapproved)."""
    scenario_of = {row[0]: row[3] for row in VALID_RULES}
    return {
        (rule_id, scenario): status
        for rule_id, status in EXPECTED_STATUS.items()
        for scenario in (SCENARIOS if scenario_of[rule_id] == "base" else [scenario_of[rule_id]])
    }


def test_rule_status_per_date_and_scenario(valid):
    audit = expected_audit()
    status = {(row["rule_id"], row["scenario"]): row for row in valid["rpt_adjustment_rule_status"]}
    assert len(status) == len(valid["rpt_adjustment_rule_status"]), "one row per rule, date and scenario"
    expected = expected_status_rows()
    assert {key: row["status"] for key, row in status.items()} == expected
    for (rule_id, scenario), row in status.items():
        changes = [r for r in audit if (r[0], r[2]) == (rule_id, scenario)]
        assert row["as_of_date"] == AS_OF
        assert row["changed_values"] == len(changes), (rule_id, scenario)
        numeric = [after - before for *_, before, after in changes if isinstance(before, float)]
        assert row["total_delta"] == pytest.approx(sum(numeric)), (rule_id, scenario)
    exceptions = {
        (row["rule_id"], row["scenario"]): row["status"] for row in valid["rpt_adjustment_exceptions"]
    }
    assert exceptions == {key: value for key, value in expected.items() if value != "applied"}


@pytest.mark.parametrize("target", MART_TARGETS)
def test_rules_impact_is_one_json_document_of_the_hand_computed_lcrs(valid, oracle, target):
    """`regcalc rules impact --scenario stress --format json`: per entity and metric the LCR without any
    rule (the oracle on the deals as sent), with the base rules and with the stress rules (applied by
    hand), and the change stress - unadjusted; per rule of the stress scenario its status and what it
    changed on the date (rules applied by hand). The LCR without rules is built beside the marts,
    which stay as they were."""
    settings = dataclasses.replace(valid["settings"], target=target)
    document = rules_impact(
        settings, AS_OF, "stress", project_dir=valid["project"], extra_vars={"lake_schema": LAKE_SCHEMA}
    )
    printed = json.loads(render.impact(document, "json"))  # the whole output is one JSON document
    assert {key: printed[key] for key in ("as_of_date", "scenario", "unadjusted_schema")} == {
        "as_of_date": AS_OF.isoformat(),
        "scenario": "stress",
        "unadjusted_schema": f"{SCHEMA}_unadjusted",
    }
    unadjusted = {row["entity_id"]: row for row in reference_lcr._aggregate(oracle.lines)}
    adjusted = expected_lcr(oracle)
    assert [(row["entity_id"], row["metric"]) for row in printed["impact"]] == [
        (entity, metric) for entity in sorted(CASE_ENTITIES.values()) for metric in IMPACT_METRICS
    ]
    for row in printed["impact"]:
        entity, metric = row["entity_id"], row["metric"]
        tolerance = LCR_TOLERANCE if metric == "lcr" else AMOUNT_TOLERANCE
        want = {
            "unadjusted": unadjusted[entity][metric],
            "base": adjusted[("base", entity)][metric],
            "scenario": adjusted[("stress", entity)][metric],
            "change": adjusted[("stress", entity)][metric] - unadjusted[entity][metric],
        }
        for column, value in want.items():
            assert row[column] == pytest.approx(value, abs=tolerance), (entity, metric, column)
    deltas: dict[str, list] = {}  # rule_id -> what it changed in stress: numbers' deltas, None otherwise
    for rule_id, _, scenario, *_, before, after in expected_audit():
        if scenario == "stress":
            deltas.setdefault(rule_id, []).append(after - before if isinstance(before, float) else None)
    assert [list(row) for row in printed["rules"]] == [list(RULE_STATUS_COLUMNS)] * len(printed["rules"])
    assert [
        (row["rule_id"], row["status"], row["changed_values"], row["total_delta"]) for row in printed["rules"]
    ] == [
        (
            rule_id,
            status,
            len(deltas.get(rule_id, [])),
            pytest.approx(sum(delta for delta in deltas.get(rule_id, []) if delta is not None)),
        )
        for (rule_id, scenario), status in sorted(expected_status_rows().items())
        if scenario == "stress"
    ]
    with Marts(settings) as marts:  # the marts are as built; the LCR without rules is beside them
        marts_lcr = marts.query(
            f"select lcr.scenario, lcr.entity_id, lcr.lcr from {marts.relation('fct_lcr')} as lcr"
        )
        unadjusted_lcr = marts.relation("fct_lcr", document["unadjusted_schema"])
        beside_lcr = marts.query(f"select lcr.scenario, lcr.entity_id, lcr.lcr from {unadjusted_lcr} as lcr")
    built = {(row["scenario"], row["entity_id"]): row["lcr"] for row in valid["fct_lcr"]}
    assert {(row["scenario"], row["entity_id"]): row["lcr"] for row in marts_lcr} == pytest.approx(built)
    assert {(row["scenario"], row["entity_id"]): row["lcr"] for row in beside_lcr} == pytest.approx(
        {("base", entity): row["lcr"] for entity, row in unadjusted.items()}, abs=LCR_TOLERANCE
    )


def test_unapproved_rule_of_an_unbuilt_scenario_is_listed(valid):
    statuses = {row["status"] for row in valid["rpt_adjustment_rule_status"] if row["rule_id"] == "R20-GHOST"}
    assert statuses == {"unapproved"}


def test_dim_adjustment_keeps_hostile_text_and_approval_status(valid):
    dim = {row["rule_id"]: row for row in valid["dim_adjustment_rule"]}
    assert set(dim) == set(EXPECTED_STATUS)
    assert dim[HOSTILE_RULE_ID]["description"] == HOSTILE_DESCRIPTION
    assert dim["R11-NOT-NULL-HOSTILE"]["actions_text"] == f"bcbs_paragraph override {HOSTILE_VALUE}"
    approval = {rule_id: row["approval_status"] for rule_id, row in dim.items()}
    assert approval["R16-UNAPPROVED"] == approval["R17-NO-APPROVAL-DATE"] == "unapproved"
    assert approval["R18-SELF-APPROVED"] == "self_approved"
    assert approval["R15-EXPIRED"] == approval["R14-FUTURE"] == "approved"
    assert dim["R07-RANGE-EXPIRY-EDGE"]["expiry"] == AS_OF
    assert dim["R06-NOT-IN-FROM-EDGE"]["effective_from"] == AS_OF
    assert dim["R02-ORD-ADD"]["priority"] == 9


def test_approval_status_agrees_between_rules_check_and_dbt(valid):
    """The four-eyes rule has one home per language: rules.approval_status (regcalc rules check,
    recalc) says of every rule what dbt's adjustment_approval_status published in dim_adjustment_rule."""
    rows, problems = read_rule_csv(
        valid["project"] / "seeds" / "adjustments" / "adjustment_rules.csv", RULE_COLUMNS
    )
    assert problems == []
    python = {rule["rule_id"]: approval_status(rule) for _, rule in rows}
    dbt = {row["rule_id"]: row["approval_status"] for row in valid["dim_adjustment_rule"]}
    assert python == dbt
    assert set(python.values()) == {"approved", "unapproved", "self_approved"}


# ------------------------------------------------------------------------------------------------
# Build 2: validation errors
# ------------------------------------------------------------------------------------------------
def problem_lines(text: str) -> list[str]:
    """The problem lines of the rule validation error in `text` (one per line after the header)."""
    match = re.search(r"the adjustment rules have \d+ problem\(s\)[^\n]*\n((?:[ \t]+\S[^\n]*\n?)+)", text)
    assert match, "no adjustment rule validation error in:\n" + text[-3000:]
    return [line.strip() for line in match.group(1).splitlines()]


@pytest.mark.parametrize("problem", sorted(EXPECTED_PROBLEMS))
def test_invalid_rules_report_every_problem(invalid, problem):
    lines = problem_lines(invalid["log"])
    assert any(re.search(EXPECTED_PROBLEMS[problem], line) for line in lines), "\n".join(lines)


def test_dbt_error_names_every_problem(invalid):
    missing = [
        problem
        for problem, pattern in EXPECTED_PROBLEMS.items()
        if not any(re.search(pattern, line) for line in invalid["error"].splitlines())
    ]
    assert not missing, invalid["error"]


def test_invalid_rules_report_nothing_else(invalid):
    """No other problem: e.g. the unapproved X16 override conflicts with nothing."""
    patterns = list(EXPECTED_PROBLEMS.values())
    lines = problem_lines(invalid["log"])
    assert [line for line in lines if not any(re.search(p, line) for p in patterns)] == []
    assert len(lines) == len(set(lines))


def test_invalid_rules_change_no_output(valid, invalid):
    assert "nothing was adjusted" in invalid["error"]
    for name in ("fct_lcr", "fct_adjustment_audit", "rpt_adjustment_rule_status", "dim_adjustment_rule"):
        assert sorted(map(repr, invalid[name])) == sorted(map(repr, valid[name])), name
    assert sorted(map(repr, invalid["fct_deal_liquidity"])) == sorted(map(repr, valid["fct_deal_liquidity"]))


# ------------------------------------------------------------------------------------------------
# Builds 3 to 5: a duplicated rule id, a point with many rules, a rule id with a line break
# ------------------------------------------------------------------------------------------------
def build_deal_point(spark, lake, monkeypatch, name: str, rules: list, conditions: list, actions: list):
    """Build only what the deal point needs, in a schema of its own; return its rows for D11."""
    project = project_with_rules(lake / name, rules, conditions, actions)
    settings = settings_for(lake, f"adjustments_{name}", monkeypatch)
    build(project, settings, "+int_deal_liquidity__adjusted")
    return [
        plain(row)
        for row in spark.table(f"adjustments_{name}.int_deal_liquidity__adjusted")
        .where("deal_id = 'D11'")
        .collect()
    ]


def test_duplicate_rule_id_is_reported_with_the_other_problems(spark, lake, monkeypatch_module):
    project = project_with_rules(
        lake / "duplicate",
        [rule("X08-DUP"), rule("X08-DUP", description="the same id again"), rule("X01-POINT", "nowhere")],
        [],
        [("X08-DUP", "weight", "multiply", "2"), ("X01-POINT", "weight", "multiply", "2")],
    )
    settings = settings_for(lake, "adjustments_duplicate", monkeypatch_module)
    seeds = ("adjustment_rules", "adjustment_conditions", "adjustment_actions")
    with pytest.raises(DbtError):
        build(project, settings, *seeds, "dim_adjustment_rule")
    lines = problem_lines((project / "logs" / "dbt.log").read_text(encoding="utf-8"))
    assert any("rule X08-DUP: rule_id is used twice" in line for line in lines), lines
    assert any(re.search(EXPECTED_PROBLEMS["unknown point"], line) for line in lines), lines


def test_many_rules_at_one_point(spark, lake, monkeypatch_module):
    """Twenty rules on one value, priorities the reverse of their ids: all apply, in priority order."""
    ids = [f"Z{n:02d}" for n in range(1, 21)]
    rows = build_deal_point(
        spark, lake, monkeypatch_module, "many_rules",
        [rule(rule_id, priority=str(100 - n)) for n, rule_id in enumerate(ids)],
        [(rule_id, "deal_id", "=", "D11") for rule_id in ids],
        [(rule_id, "weight", "add", "0.01") for rule_id in ids],
    )  # fmt: skip
    assert len(rows) == 1  # base only: no scenario rule
    assert rows[0]["adjustment_rule_ids"] == ",".join(reversed(ids))
    assert rows[0]["weight"] == pytest.approx(0.1 + 20 * 0.01)
    assert rows[0]["weighted_amount"] == pytest.approx(5000 * 0.3)


def test_rule_id_with_a_line_break_stays_data(spark, lake, monkeypatch_module):
    rule_id = "R-LINE\nBREAK"
    try:
        rows = build_deal_point(
            spark, lake, monkeypatch_module, "line_break",
            [rule(rule_id)], [(rule_id, "deal_id", "=", "D11")], [(rule_id, "weight", "multiply", "1")],
        )  # fmt: skip
    except DbtError as error:  # acceptable: the validation refuses the id, naming it
        assert "the adjustment rules have" in str(error), str(error)
        return
    assert [row["adjustment_rule_ids"] for row in rows] == [rule_id]


def test_reclassified_deal_keeps_its_product_in_the_star(spark, lake, monkeypatch_module):
    """A supervisor's reclassification: the committed facility D11 treated as a liquidity facility
    (BCBS 238 para 131(c), 30%): the star keeps the deal, with the product of its new category."""
    rule_id = "R-RECLASS"
    project = project_with_rules(
        lake / "reclass",
        [rule(rule_id)],
        [(rule_id, "deal_id", "=", "D11")],
        [
            (rule_id, "category_code", "override", "OUT_LIQUIDITY_FACILITY_NONFIN"),
            (rule_id, "weight", "override", "0.3"),
        ],
    )
    settings = settings_for(lake, "adjustments_reclass", monkeypatch_module)
    build(project, settings, "+fct_deal_liquidity")
    rows = spark.table("adjustments_reclass.fct_deal_liquidity").where("deal_id = 'D11'").collect()
    assert [(row["category_code"], row["product_key"] is not None) for row in rows] == [
        ("OUT_LIQUIDITY_FACILITY_NONFIN", True)
    ]
