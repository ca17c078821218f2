"""`regcalc rules check` (regcalc.rules.check_rules): the adjustment rule CSVs checked in Python, every
problem with file, line and column. No Spark, no dbt.

The rule sets are those of tests/test_adjustments.py, which holds the dbt macros to the same problems
(EXPECTED_PROBLEMS) through a real build: the two validations must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regcalc import rules
from regcalc.cli import main
from regcalc.rules import Problem
from regcalc.settings import RegcalcError
from test_adjustments import (
    ACTION_COLUMNS,
    CONDITION_COLUMNS,
    EXPECTED_PROBLEMS,
    INVALID_ACTIONS,
    INVALID_CONDITIONS,
    INVALID_RULES,
    RULE_COLUMNS,
    VALID_ACTIONS,
    VALID_CONDITIONS,
    VALID_RULES,
    write_csv,
)

RULES_CSV, CONDITIONS_CSV, ACTIONS_CSV = (
    "adjustment_rules.csv",
    "adjustment_conditions.csv",
    "adjustment_actions.csv",
)
DEAL_FIELDS = ", ".join(rules.load_points()["deal"].fields)  # long; its content is tested below
NOT_A_DATE = "is not a date (yyyy-mm-dd)"
QUOTE_COMMAS = "put a value holding a comma in double quotes"


def conflict(rule_id: str, field: str, other_id: str) -> str:
    return (
        f"rule {rule_id} overrides {field} like rule {other_id} at the same point, scenario and priority 10; "
        "give one of them another priority"
    )


# The problems of the invalid rule set by the kinds of EXPECTED_PROBLEMS, in output order (file, line).
# Lines count from the header (line 1) of the CSVs written by write_rule_set: INVALID_RULES[i] is line i+2.
EXPECTED = {
    "unknown point": Problem(
        RULES_CSV,
        2,
        "injection_point",
        "'nowhere' is not a declared point (deal, entity_category, lcr_components)",
    ),
    "effective_from": Problem(RULES_CSV, 7, "effective_from", f"'2026-13-01' {NOT_A_DATE}"),
    "expiry": Problem(RULES_CSV, 7, "expiry", f"'30/09/2026' {NOT_A_DATE}"),
    "approved_at": Problem(RULES_CSV, 7, "approved_at", f"'yesterday' {NOT_A_DATE}"),
    "expiry before effective_from": Problem(
        RULES_CSV, 8, "expiry", "2026-09-29 is before effective_from 2026-09-30"
    ),
    "priority": Problem(RULES_CSV, 12, "priority", "'high' is not an integer"),
    "scenario": Problem(RULES_CSV, 12, "scenario", "'not a name' must be a name (letters, digits, _)"),
    "no action": Problem(RULES_CSV, 13, "rule_id", "has no action in adjustment_actions.csv"),
    "condition field": Problem(
        CONDITIONS_CSV, 2, "field", f"'total_outflows' is not a column of point deal ({DEAL_FIELDS})"
    ),
    "like on number": Problem(CONDITIONS_CSV, 3, "operator", "like needs a text field; amount is a number"),
    "< on text": Problem(
        CONDITIONS_CSV, 4, "operator", "< needs a number or date field; entity_id is a string"
    ),
    "unknown operator": Problem(
        CONDITIONS_CSV,
        5,
        "operator",
        "'~=' is not one of =, !=, in, not in, <, <=, >, >=, between, is null, is not null, like",
    ),
    "between on boolean": Problem(
        CONDITIONS_CSV, 6, "operator", "between needs a number or date field; is_insured is a boolean"
    ),
    "condition not a number": Problem(CONDITIONS_CSV, 7, "value", "'abc' is not a number"),
    "condition not a boolean": Problem(CONDITIONS_CSV, 8, "value", "'yes' is not true or false"),
    "condition not a date": Problem(CONDITIONS_CSV, 9, "value", f"'2026-02-30' {NOT_A_DATE}"),
    "between needs two": Problem(CONDITIONS_CSV, 10, "value", "between needs 'low|high'"),
    "in item not a number": Problem(CONDITIONS_CSV, 11, "value", "'two' is not a number"),
    "is null with value": Problem(CONDITIONS_CSV, 12, "value", "is null takes no value"),
    "orphan condition": Problem(
        CONDITIONS_CSV, 13, "rule_id", "'X99-ORPHAN' is not a rule of adjustment_rules.csv"
    ),
    "condition too many decimals": Problem(
        CONDITIONS_CSV, 14, "value", "'0.0000001' has more than 6 decimals (decimal(38,6))"
    ),
    "action field": Problem(
        ACTIONS_CSV, 3, "field", f"'nonexistent' is not a column of point deal ({DEAL_FIELDS})"
    ),
    "multiply on text": Problem(
        ACTIONS_CSV, 5, "operation", "multiply needs a number field; entity_id is a string"
    ),
    "unknown operation": Problem(
        ACTIONS_CSV, 6, "operation", "'divide' is not one of multiply, add, override"
    ),
    "override not a number": Problem(ACTIONS_CSV, 7, "value", "'lots' is not a number"),
    "add not a number": Problem(ACTIONS_CSV, 8, "value", "'1,5' is not a number"),
    "override not a boolean": Problem(ACTIONS_CSV, 9, "value", "'maybe' is not true or false"),
    "conflicting overrides": Problem(
        ACTIONS_CSV, 13, "field", conflict("X09-CONFLICT-B", "weight", "X09-CONFLICT-A")
    ),
    "key field": Problem(
        ACTIONS_CSV, 14, "field", "deal_id is part of the key of point deal and cannot be changed"
    ),
    "recomputed field": Problem(
        ACTIONS_CSV,
        15,
        "field",
        "weighted_amount is recomputed at point deal as amount_reporting_ccy * weight; adjust its inputs "
        "instead",
    ),
    "field changed twice": Problem(
        ACTIONS_CSV, 17, "field", "the rule changes this field twice; use one action"
    ),
    "priority 10 vs 010": Problem(
        ACTIONS_CSV, 20, "field", conflict("X13-PRIORITY-B", "amount", "X13-PRIORITY-A")
    ),
    "base vs scenario at same priority": Problem(
        ACTIONS_CSV, 22, "field", conflict("X14-STRESS", "fx_rate", "X14-BASE")
    ),
    "1e400 is not a double": Problem(ACTIONS_CSV, 23, "value", "'1e400' is not a number"),
    "override too many decimals": Problem(
        ACTIONS_CSV, 25, "value", "'0.1234567' has more than 6 decimals (decimal(9,6))"
    ),
    "factor too many integer digits": Problem(
        ACTIONS_CSV, 26, "value", "'1000' has more than 3 integer digits (decimal(9,6))"
    ),
    "exponent too many decimals": Problem(
        ACTIONS_CSV, 27, "value", "'1.5e-7' has more than 6 decimals (decimal(38,6))"
    ),
}


def write_rule_set(folder: Path, rule_rows: list, conditions: list, actions: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / RULES_CSV, RULE_COLUMNS, rule_rows)
    write_csv(folder / CONDITIONS_CSV, CONDITION_COLUMNS, conditions)
    write_csv(folder / ACTIONS_CSV, ACTION_COLUMNS, actions)
    return folder


@pytest.fixture
def invalid_dir(tmp_path) -> Path:
    return write_rule_set(tmp_path / "invalid", INVALID_RULES, INVALID_CONDITIONS, INVALID_ACTIONS)


def test_every_kind_of_the_dbt_validation_is_expected_here():
    assert sorted(EXPECTED) == sorted(EXPECTED_PROBLEMS)


def test_invalid_rule_set_gives_exactly_the_expected_problems(invalid_dir):
    # nothing else either: e.g. the unapproved X16 override conflicts with nothing, X01 (unknown
    # point) and X02 (only an unknown field) have actions
    assert rules.check_rules(invalid_dir) == list(EXPECTED.values())


def test_deal_point_as_the_checks_see_it():
    deal = rules.load_points()["deal"]
    assert (deal.model, deal.key, deal.recompute) == (
        "int_deal_liquidity",
        ("as_of_date", "deal_id"),
        {"weighted_amount": "amount_reporting_ccy * weight"},
    )
    types = {"as_of_date": "date", "entity_id": "string", "amount": "number", "is_insured": "boolean"}
    assert {field: deal.fields[field] for field in types} == types
    # the data_types as dbt renders them: the money and rate types are vars of dbt_project.yml
    data_types = {
        "amount": "decimal(38,6)",
        "weight": "decimal(9,6)",
        "fx_rate": "double",
        "deal_id": "string",
    }
    assert {field: deal.data_types[field] for field in data_types} == data_types


@pytest.mark.parametrize(
    "rule_set",
    [
        rules.ADJUSTMENT_DIR,
        ("valid set of test_adjustments", VALID_RULES, VALID_CONDITIONS, VALID_ACTIONS),
    ],
    ids=["shipped seeds", "test_adjustments valid set"],
)
def test_valid_rule_sets_have_no_problems(rule_set, tmp_path):
    folder = rule_set if isinstance(rule_set, Path) else write_rule_set(tmp_path / "valid", *rule_set[1:])
    assert rules.check_rules(folder) == []


def test_cli_prints_every_problem_and_fails(invalid_dir, capsys):
    assert main(["rules", "check", "--dir", str(invalid_dir)]) == 1
    out, err = capsys.readouterr()
    problem_lines = [str(problem) for problem in EXPECTED.values()]
    count_line = f"regcalc rules: error: 37 problem(s) in the rules in {invalid_dir}; nothing was applied"
    assert (out, err.splitlines()) == ("", [*problem_lines, count_line])
    assert problem_lines[0] == (
        "adjustment_rules.csv:2: column injection_point: 'nowhere' is not a declared point "
        "(deal, entity_category, lcr_components)"
    )


def test_cli_says_no_problems(tmp_path, capsys):
    folder = write_rule_set(tmp_path / "valid", VALID_RULES, VALID_CONDITIONS, VALID_ACTIONS)
    assert main(["rules", "check", "--dir", str(folder)]) == 0
    assert capsys.readouterr() == (f"rules in {folder}: no problems\n", "")


# ------------------------------------------------------------------------------------------------
# Files as analysts save them: written as text, line by line
# ------------------------------------------------------------------------------------------------
RULES_HEADER = ",".join(RULE_COLUMNS)
GOOD_RULES = [
    RULES_HEADER,
    "R1,scale weights,deal,base,2026-09-01,,10,a.analyst,b.checker,2026-09-02,T-1",
    "R2,zero an amount,deal,base,2026-09-01,,20,a.analyst,b.checker,2026-09-02,T-2",
]
GOOD_CONDITIONS = ["rule_id,field,operator,value", "R1,entity_id,=,E1"]
GOOD_ACTIONS = ["rule_id,field,operation,value", "R1,weight,multiply,2", "R2,amount,override,0"]


def write_lines(
    folder: Path, rule_lines=GOOD_RULES, condition_lines=GOOD_CONDITIONS, action_lines=GOOD_ACTIONS
):
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (
        (RULES_CSV, rule_lines),
        (CONDITIONS_CSV, condition_lines),
        (ACTIONS_CSV, action_lines),
    ):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_hand_written_good_set_has_no_problems(tmp_path):
    assert rules.check_rules(write_lines(tmp_path)) == []


TWO_LINE_RULE = ['R1,"first line', 'second line",deal,base,2026-09-01,,10,a,b,2026-09-02,T']


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"rule_lines": [*GOOD_RULES[:2], GOOD_RULES[2] + ",extra"]},
            [Problem(RULES_CSV, 3, "", "12 values but the header has 11 columns; " + QUOTE_COMMAS)],
            id="row with an extra value",
        ),
        pytest.param(
            {"action_lines": ["rule_id,field,value", "R1,weight,2", "R2,amount,0"]},
            [
                Problem(
                    ACTIONS_CSV,
                    1,
                    "operation",
                    "the header has no column operation (it needs rule_id, field, operation, value)",
                )
            ],
            id="header without a column",
        ),
        pytest.param(
            # R1's quoted description on lines 2 and 3: R2 is on line 4
            {"rule_lines": [RULES_HEADER, *TWO_LINE_RULE, GOOD_RULES[2].replace(",20,", ",twenty,")]},
            [Problem(RULES_CSV, 4, "priority", "'twenty' is not an integer")],
            id="value over two lines",
        ),
        pytest.param(
            {"condition_lines": [GOOD_CONDITIONS[0], "", *GOOD_CONDITIONS[1:]]},
            [
                Problem(
                    CONDITIONS_CSV,
                    2,
                    "rule_id",
                    "a blank line, which dbt loads as a row without rule_id; delete it",
                )
            ],
            id="blank line",
        ),
        pytest.param(
            # dbt's seed loader reads null as a blank: an open expiry and the default priority 0
            {"rule_lines": [*GOOD_RULES[:2], GOOD_RULES[2].replace(",,20,", ",NULL, null ,")]},
            [],
            id="null cells",
        ),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, files, expected):
    assert rules.check_rules(write_lines(tmp_path, **files)) == expected


def test_excel_byte_order_mark_and_crlf_are_read(tmp_path):
    folder = write_lines(tmp_path)
    (folder / RULES_CSV).write_bytes(
        b"\xef\xbb\xbf" + (folder / RULES_CSV).read_bytes().replace(b"\n", b"\r\n")
    )
    assert rules.check_rules(folder) == []


def test_file_not_in_utf8_names_the_line(tmp_path):
    folder = write_lines(tmp_path)
    (folder / RULES_CSV).write_bytes("\n".join([*GOOD_RULES[:2], GOOD_RULES[2] + "é"]).encode("cp1252"))
    assert rules.check_rules(folder) == [
        Problem(RULES_CSV, 3, "", "not UTF-8 text: save the file as 'CSV UTF-8'")
    ]


def test_missing_file_is_an_error_saying_what_a_rule_set_is(tmp_path, capsys):
    folder = write_lines(tmp_path)
    (folder / ACTIONS_CSV).unlink()
    with pytest.raises(RegcalcError, match="adjustment_actions.csv does not exist: a rule set is the files"):
        rules.check_rules(folder)
    assert main(["rules", "check", "--dir", str(folder)]) == 1
    assert capsys.readouterr().err == (
        f"regcalc rules: error: {folder / ACTIONS_CSV} does not exist: a rule set is the files "
        f"{RULES_CSV}, {CONDITIONS_CSV}, {ACTIONS_CSV} in one folder (regcalc rules check --dir FOLDER)\n"
    )
