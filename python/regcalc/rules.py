"""Adjustment rules as analysts edit them: `regcalc rules check` and `regcalc rules impact`.

The check reads the three seed CSVs directly, so every problem comes with its file, line and
column. Its grammar (operators, operations, type classes, value formats) is var adjustment_grammar
of dbt_project.yml, which the dbt macros (macros/adjustments/) read too: they repeat the checks at
compile time so that a plain `dbt build` refuses a bad rule set as well.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from regcalc.decimals import DecimalType, render_data_type
from regcalc.settings import PROJECT_DIR, SEEDS_DIR, RegcalcError

ADJUSTMENT_DIR = SEEDS_DIR / "adjustments"


@dataclass(frozen=True)
class Grammar:
    """var adjustment_grammar of dbt_project.yml: see the comments there."""

    operators: tuple[str, ...]
    list_operators: tuple[str, ...]
    ordered_operators: tuple[str, ...]
    text_operators: tuple[str, ...]
    null_operators: tuple[str, ...]
    list_separator: str
    operations: tuple[str, ...]
    arithmetic_operations: tuple[str, ...]
    type_classes: dict[str, re.Pattern]
    formats: dict[str, re.Pattern]
    statuses: tuple[str, ...]

    @classmethod
    def load(cls, project_dir: Path = PROJECT_DIR) -> Grammar:
        declared = yaml.safe_load((project_dir / "dbt_project.yml").read_text())["vars"]["adjustment_grammar"]
        patterns = ("type_classes", "formats")
        return cls(
            **{key: tuple(value) if isinstance(value, list) else value for key, value in declared.items()}
            | {key: {name: re.compile(text) for name, text in declared[key].items()} for key in patterns}
        )


GRAMMAR = Grammar.load()
Row = tuple[int, dict[str, str]]  # (line, column -> cell)
# dbt loads a blank line of a seed as a row of nulls: a rule (or condition, action) without rule_id
BLANK_LINE = "a blank line, which dbt loads as a row without rule_id; delete it"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str  # "" for a problem of the whole line
    message: str

    def __str__(self) -> str:
        where = f" column {self.column}:" if self.column else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


@dataclass(frozen=True)
class Point:
    name: str
    model: str
    key: tuple[str, ...]
    recompute: dict[str, str]
    fields: dict[str, str]  # column -> number | string | date | boolean
    data_types: dict[str, str]  # column -> its data_type as dbt renders it, e.g. decimal(9,6)

    @property
    def adjusted_model(self) -> str:
        """The model `{{ apply_adjustments(name) }}` that publishes the point's rows after its rules
        (macro adjusted_model_name says the same for dbt)."""
        return f"{self.model}__adjusted"


def type_class(data_type: str | None) -> str:
    """number | date | boolean | string: the first of GRAMMAR.type_classes matching `data_type`."""
    text = (data_type or "string").lower()
    return next((name for name, pattern in GRAMMAR.type_classes.items() if pattern.match(text)), "string")


def load_points(project_dir: Path = PROJECT_DIR) -> dict[str, Point]:
    """The injection points of dbt_project.yml (vars.adjustment_points, in their DAG order) with the
    typed columns of their models' YAML."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    columns: dict[str, dict[str, str]] = {}
    for path in (project_dir / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []) or []:
            typed = {
                c["name"]: render_data_type(c.get("data_type") or "").strip().lower()
                for c in model.get("columns", []) or []
            }
            columns.setdefault(model["name"], {}).update(typed)
    points = {}
    for name, config in project["vars"]["adjustment_points"].items():
        points[name] = Point(
            name,
            config["model"],
            tuple(config["key"]),
            dict(config.get("recompute") or {}),
            {name: type_class(data_type) for name, data_type in columns.get(config["model"], {}).items()},
            columns.get(config["model"], {}),
        )
    return points


def is_date(text: str) -> bool:
    if not GRAMMAR.formats["date"].match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def value_problem(value: str, kind: str, data_type: str = "") -> str | None:
    """Why `value` does not fit a field of class `kind` (and of `data_type`, when that is a decimal:
    values are cast to the field's own type, so they must fit it exactly), or None."""
    text = (value or "").strip()
    if kind == "number" and not (GRAMMAR.formats["number"].match(text) and math.isfinite(float(text))):
        return f"'{text}' is not a number"
    decimal = DecimalType.of(data_type) if kind == "number" else None
    if decimal and (problem := decimal.problem(Decimal(text))):
        return f"'{text}' {problem}"
    if kind == "date" and not is_date(text):
        return f"'{text}' is not a date (yyyy-mm-dd)"
    if kind == "boolean" and text.lower() not in ("true", "false"):
        return f"'{text}' is not true or false"
    return None


def seed_columns() -> dict[str, tuple[str, ...]]:
    """file name -> the columns its header must have, as the seeds' YAML declares them."""
    seeds = yaml.safe_load((ADJUSTMENT_DIR / "_adjustments__seeds.yml").read_text())["seeds"]
    return {f"{seed['name']}.csv": tuple(column["name"] for column in seed["columns"]) for seed in seeds}


def read_rule_csv(path: Path, columns: tuple[str, ...]) -> tuple[list[Row], list[Problem]]:
    """The rows of one rule CSV as dbt's seed loader sees them, each with the line it starts on (a
    quoted value may span lines), and the problems that stop the file from loading at all."""
    if not path.is_file():
        raise RegcalcError(
            f"{path} does not exist: a rule set is the files {', '.join(seed_columns())} in one folder "
            "(regcalc rules check --dir FOLDER)"
        )
    name, data = path.name, path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # Excel writes a byte order mark; dbt skips it too
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return [], [Problem(name, line, "", "not UTF-8 text: save the file as 'CSV UTF-8'")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    problems = [
        Problem(name, 1, column, f"the header has no column {column} (it needs {', '.join(columns)})")
        for column in columns
        if column not in header
    ]
    rows = []
    end = reader.line_num
    try:
        for cells in reader:
            line, end = end + 1, reader.line_num
            if len(cells) > len(header):
                problems.append(
                    Problem(
                        name,
                        line,
                        "",
                        f"{len(cells)} values but the header has {len(header)} columns; "
                        "put a value holding a comma in double quotes",
                    )
                )
            # dbt's seed loader reads a blank cell or the text null (any case) as null
            values = ["" if cell.strip().lower() == "null" else cell for cell in cells]
            values += [""] * (len(header) - len(values))  # a short row: the rest is null
            rows.append((line, dict(zip(header, values, strict=False))))
    except csv.Error as error:
        problems.append(Problem(name, reader.line_num, "", f"not readable as CSV: {error}"))
    return rows, problems


def check_rules(directory: Path = ADJUSTMENT_DIR, points: dict[str, Point] | None = None) -> list[Problem]:
    """Every problem of the rule set, each with file, line and column: the checks of the dbt macros
    (macros/adjustments/), which see the same rows. A file that dbt could not load at all (a missing
    header column, a row with too many values) is reported alone: its rows cannot be trusted."""
    files = seed_columns()
    tables, problems = {}, []
    for file_name, columns in files.items():
        tables[file_name], unreadable = read_rule_csv(directory / file_name, columns)
        problems += unreadable
    if problems:
        return problems
    check = _RuleSetCheck(points or load_points())
    check.rules(tables["adjustment_rules.csv"])
    check.conditions(tables["adjustment_conditions.csv"])
    check.actions(tables["adjustment_actions.csv"])
    check.rules_without_action()
    check.problems.extend(_conflicts(check.by_id, check.actions_by_rule))
    return sorted(check.problems, key=lambda problem: (list(files).index(problem.file), problem.line))


class _RuleSetCheck:
    """The checks of check_rules, file by file; each method decides one kind of row."""

    def __init__(self, points: dict[str, Point]):
        self.points = points
        self.problems: list[Problem] = []
        self.by_id: dict[str, Row] = {}  # rule_id -> (line, rule), rules with a new, non-empty id
        self.actions_by_rule: dict[str, list[tuple[int, str, str]]] = {}  # rule_id -> (line, field, op)

    def _adder(self, file_name: str, line: int):
        def add(column: str, message: str) -> None:
            self.problems.append(Problem(file_name, line, column, message))

        return add

    def rules(self, rows: list[Row]) -> None:
        for line, rule in rows:
            add = self._adder("adjustment_rules.csv", line)
            rule_id = rule["rule_id"].strip()
            if not rule_id:
                add("rule_id", BLANK_LINE if not any(rule.values()) else "empty rule_id")
            elif rule_id in self.by_id:
                add("rule_id", f"{rule_id} is used twice (first on line {self.by_id[rule_id][0]})")
            else:
                self.by_id[rule_id] = (line, rule)
                if (point := rule["injection_point"].strip()) not in self.points:
                    # like the macros: nothing else of a rule is checked before its point is known
                    add("injection_point", f"'{point}' is not a declared point ({', '.join(self.points)})")
                else:
                    _check_rule_columns(rule, add)

    def _point_of(self, file_name: str, line: int, row: dict[str, str]) -> Point | None:
        """The point of the row's rule; None (and the problem reported) if there is none."""
        rule_id = row["rule_id"].strip()
        if rule_id not in self.by_id:
            orphan = f"'{rule_id}' is not a rule of adjustment_rules.csv"
            self.problems.append(
                Problem(file_name, line, "rule_id", orphan if any(row.values()) else BLANK_LINE)
            )
            return None
        return self.points.get(
            self.by_id[rule_id][1]["injection_point"].strip()
        )  # unknown: reported on the rule

    def conditions(self, rows: list[Row]) -> None:
        for line, condition in rows:
            add = self._adder("adjustment_conditions.csv", line)
            if (point := self._point_of("adjustment_conditions.csv", line, condition)) is None:
                continue
            field, operator = condition["field"].strip(), condition["operator"].strip().lower()
            if field not in point.fields:
                add("field", f"'{field}' is not a column of point {point.name} ({', '.join(point.fields)})")
            elif operator not in GRAMMAR.operators:
                add("operator", f"'{operator}' is not one of {', '.join(GRAMMAR.operators)}")
            else:
                _check_condition(
                    point.fields[field], point.data_types[field], field, operator, condition["value"], add
                )

    def actions(self, rows: list[Row]) -> None:
        for line, action in rows:
            add = self._adder("adjustment_actions.csv", line)
            if (point := self._point_of("adjustment_actions.csv", line, action)) is None:
                continue
            rule_id = action["rule_id"].strip()
            field, operation = action["field"].strip(), action["operation"].strip().lower()
            if problem := _action_problem(point, field, operation, action["value"]):
                add(*problem)
            if field in (earlier[1] for earlier in self.actions_by_rule.get(rule_id, [])):
                add("field", "the rule changes this field twice; use one action")
            self.actions_by_rule.setdefault(rule_id, []).append((line, field, operation))

    def rules_without_action(self) -> None:
        for rule_id, (line, rule) in self.by_id.items():
            if rule["injection_point"].strip() in self.points and rule_id not in self.actions_by_rule:
                self.problems.append(
                    Problem(
                        "adjustment_rules.csv", line, "rule_id", "has no action in adjustment_actions.csv"
                    )
                )


def _check_rule_columns(rule: dict[str, str], add) -> None:
    """The dates, priority and scenario of a rule whose point is known."""
    for column in ("effective_from", "expiry", "approved_at"):
        text = rule[column].strip()
        if (text or column == "effective_from") and not is_date(text):
            add(column, f"'{text}' is not a date (yyyy-mm-dd)")
    start, end = rule["effective_from"].strip(), rule["expiry"].strip()
    if is_date(start) and is_date(end) and end < start:
        add("expiry", f"{end} is before effective_from {start}")
    priority, scenario = rule["priority"].strip() or "0", rule["scenario"].strip() or "base"
    if not GRAMMAR.formats["integer"].match(priority):
        add("priority", f"'{priority}' is not an integer")
    if not GRAMMAR.formats["name"].match(scenario):
        add("scenario", f"'{scenario}' must be a name (letters, digits, _)")


def _action_problem(point: Point, field: str, operation: str, value: str) -> tuple[str, str] | None:
    """(column, message) of the first problem of an action on `field` of `point`, or None."""
    kind = point.fields.get(field)
    if kind is None:
        return "field", f"'{field}' is not a column of point {point.name} ({', '.join(point.fields)})"
    if field in point.key or field in ("as_of_date", "scenario"):
        return "field", f"{field} is part of the key of point {point.name} and cannot be changed"
    if field in point.recompute:
        recomputed = point.recompute[field]
        return (
            "field",
            f"{field} is recomputed at point {point.name} as {recomputed}; adjust its inputs instead",
        )
    if operation not in GRAMMAR.operations:
        return "operation", f"'{operation}' is not one of {', '.join(GRAMMAR.operations)}"
    arithmetic = operation in GRAMMAR.arithmetic_operations
    if arithmetic and kind != "number":
        return "operation", f"{operation} needs a number field; {field} is a {kind}"
    if problem := value_problem(value, "number" if arithmetic else kind, point.data_types[field]):
        return "value", problem
    return None


def _check_condition(kind: str, data_type: str, field: str, op: str, value: str, add) -> None:
    if op in GRAMMAR.text_operators and kind != "string":
        add("operator", f"{op} needs a text field; {field} is a {kind}")
    elif op in GRAMMAR.ordered_operators and kind not in ("number", "date"):
        add("operator", f"{op} needs a number or date field; {field} is a {kind}")
    elif op in GRAMMAR.null_operators:
        if value.strip():
            add("value", f"{op} takes no value")
    else:
        items = value.split(GRAMMAR.list_separator) if op in GRAMMAR.list_operators else [value]
        if op == "between" and len(items) != 2:
            add("value", "between needs 'low|high'")
        for item in items:
            if problem := value_problem(item, kind, data_type):
                add("value", problem)


def approval_status(rule: dict[str, str]) -> str:
    """approved | unapproved | self_approved, as macro adjustment_rule_status (dbt_project.yml
    adjustment_grammar.statuses says the rule)."""
    approver, author = rule["approver"].strip(), rule["author"].strip()
    if not approver or not rule["approved_at"].strip():
        return "unapproved"
    if approver.lower() == author.lower():
        return "self_approved"
    return "approved"


def _conflicts(rules: dict, actions_by_rule: dict) -> list[Problem]:
    """Two approved overrides of one field at the same point and priority (compared as numbers) that
    apply in the same scenario; base rules apply in every scenario."""
    slots: dict[tuple, list[tuple[str, str]]] = {}  # (point, field, priority) -> [(rule_id, scenario)]
    problems = []
    for rule_id, (_, rule) in rules.items():  # in CSV order, like the macro, which reports the later one
        if rule_id not in actions_by_rule or approval_status(rule) != "approved":
            continue
        scenario = rule["scenario"].strip() or "base"
        priority = rule["priority"].strip() or "0"
        # the macro puts a rule whose priority is no integer (reported already) at priority 0
        priority_number = int(priority) if GRAMMAR.formats["integer"].match(priority) else 0
        for line, field, op in actions_by_rule[rule_id]:
            if op != "override":
                continue
            slot = (rule["injection_point"].strip(), field, priority_number)
            for other_id, other_scenario in slots.get(slot, []):
                if "base" in (scenario, other_scenario) or scenario == other_scenario:
                    problems.append(
                        Problem(
                            "adjustment_actions.csv",
                            line,
                            "field",
                            f"rule {rule_id} overrides {field} like rule {other_id} at the same point, "
                            f"scenario and priority {slot[2]}; give one of them another priority",
                        )
                    )
            slots.setdefault(slot, []).append((rule_id, scenario))
    return problems


def set_rule_cells(directory: Path, rule_id: str, **values: str) -> None:
    """Set cells of one rule's rows in place: `value` in adjustment_actions.csv (every action of the
    rule), any other column in adjustment_rules.csv. For tests and the benchmark, which change a rule."""
    file_name = "adjustment_actions.csv" if "value" in values else "adjustment_rules.csv"
    path = directory / file_name
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not any(row["rule_id"] == rule_id for row in rows):
        raise KeyError(f"{path}: no rule {rule_id}")
    for row in rows:
        if row["rule_id"] == rule_id:
            row.update(values)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
