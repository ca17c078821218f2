"""Adjustment rules as analysts edit them: `regcalc rules check` and `regcalc rules impact`.

The check reads the three seed CSVs directly, so every problem comes with its file, line and
column. It applies the same rules as the dbt macros (macros/adjustments/), which repeat them at
compile time so that a plain `dbt build` refuses a bad rule set too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from regcalc.settings import PROJECT_DIR, SEEDS_DIR

ADJUSTMENT_DIR = SEEDS_DIR / "adjustments"
OPERATORS = ("=", "!=", "in", "not in", "<", "<=", ">", ">=", "between", "is null", "is not null", "like")
OPERATIONS = ("multiply", "add", "override")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_INTEGER = re.compile(r"^-?[0-9]+$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: column {self.column}: {self.message}"


@dataclass(frozen=True)
class Point:
    name: str
    model: str
    key: tuple[str, ...]
    recompute: dict[str, str]
    fields: dict[str, str]  # column -> number | string | date | boolean


def type_class(data_type: str | None) -> str:
    """The same classes as the adjustment_type_class macro."""
    text = (data_type or "string").lower()
    if text == "date":
        return "date"
    if text in ("boolean", "bool"):
        return "boolean"
    if text.startswith(("double", "decimal", "numeric")) or text in (
        "int",
        "integer",
        "bigint",
        "smallint",
        "float",
        "real",
    ):
        return "number"
    return "string"


def load_points(project_dir: Path = PROJECT_DIR) -> dict[str, Point]:
    """The injection points of dbt_project.yml with the typed columns of their models' YAML."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    columns: dict[str, dict[str, str]] = {}
    for path in (project_dir / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []) or []:
            typed = {c["name"]: type_class(c.get("data_type")) for c in model.get("columns", []) or []}
            columns.setdefault(model["name"], {}).update(typed)
    points = {}
    for name, config in project["vars"]["adjustment_points"].items():
        points[name] = Point(
            name,
            config["model"],
            tuple(config["key"]),
            dict(config.get("recompute") or {}),
            columns.get(config["model"], {}),
        )
    return points


def is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def value_problem(value: str, kind: str) -> str | None:
    text = (value or "").strip()
    if kind == "number" and not _NUMBER.match(text):
        return f"'{text}' is not a number"
    if kind == "date" and not is_date(text):
        return f"'{text}' is not a date (yyyy-mm-dd)"
    if kind == "boolean" and text.lower() not in ("true", "false"):
        return f"'{text}' is not true or false"
    return None


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            (line, {k: (v or "") for k, v in row.items()})
            for line, row in enumerate(csv.DictReader(handle), 2)
        ]


def check_rules(directory: Path = ADJUSTMENT_DIR, points: dict[str, Point] | None = None) -> list[Problem]:
    """Every problem of the rule set, each with file, line and column."""
    points = points or load_points()
    problems: list[Problem] = []
    rules: dict[str, tuple[int, dict[str, str]]] = {}
    for line, rule in _rows(directory / "adjustment_rules.csv"):
        rule_id = rule["rule_id"].strip()

        def add(column: str, message: str, line: int = line) -> None:
            problems.append(Problem("adjustment_rules.csv", line, column, message))

        if not rule_id:
            add("rule_id", "empty rule_id")
            continue
        if rule_id in rules:
            add("rule_id", f"{rule_id} is used twice (first on line {rules[rule_id][0]})")
            continue
        rules[rule_id] = (line, rule)
        point = rule["injection_point"].strip()
        if point not in points:
            add("injection_point", f"'{point}' is not a declared point ({', '.join(points)})")
        for column in ("effective_from", "expiry", "approved_at"):
            text = rule[column].strip()
            if (text or column == "effective_from") and not is_date(text):
                add(column, f"'{text}' is not a date (yyyy-mm-dd)")
        start, end = rule["effective_from"].strip(), rule["expiry"].strip()
        if is_date(start) and is_date(end) and end < start:
            add("expiry", f"{end} is before effective_from {start}")
        if not _INTEGER.match(rule["priority"].strip() or "0"):
            add("priority", f"'{rule['priority']}' is not an integer")
        if not _NAME.match(rule["scenario"].strip() or "base"):
            add("scenario", f"'{rule['scenario']}' must be a name (letters, digits, _)")

    actions_by_rule: dict[str, list] = {}
    for file_name, verb, allowed in (
        ("adjustment_conditions.csv", "operator", OPERATORS),
        ("adjustment_actions.csv", "operation", OPERATIONS),
    ):
        touched: dict[str, set[str]] = {}
        for line, row in _rows(directory / file_name):

            def add(column: str, message: str, line: int = line, file_name: str = file_name) -> None:
                problems.append(Problem(file_name, line, column, message))

            rule_id = row["rule_id"].strip()
            if rule_id not in rules:
                add("rule_id", f"'{rule_id}' is not a rule of adjustment_rules.csv")
                continue
            point = points.get(rules[rule_id][1]["injection_point"].strip())
            if point is None:
                continue  # reported on the rule itself
            field, op, value = row["field"].strip(), row[verb].strip().lower(), row["value"]
            if field not in point.fields:
                add("field", f"'{field}' is not a column of point {point.name} ({', '.join(point.fields)})")
                continue
            if op not in allowed:
                add(verb, f"'{op}' is not one of {', '.join(allowed)}")
                continue
            kind = point.fields[field]
            if verb == "operator":
                _check_condition(kind, field, op, value, add)
            else:
                if field in point.key or field in ("as_of_date", "scenario"):
                    add("field", f"{field} is part of the key of point {point.name} and cannot be changed")
                elif field in point.recompute:
                    add(
                        "field",
                        f"{field} is recomputed at point {point.name} as {point.recompute[field]}; "
                        "adjust its inputs instead",
                    )
                elif op in ("multiply", "add") and kind != "number":
                    add("operation", f"{op} needs a number field; {field} is a {kind}")
                elif problem := value_problem(value, "number" if op != "override" else kind):
                    add("value", problem)
                if field in touched.setdefault(rule_id, set()):
                    add("field", "the rule changes this field twice; use one action")
                touched[rule_id].add(field)
                actions_by_rule.setdefault(rule_id, []).append((line, field, op))
    for rule_id, (line, _) in rules.items():
        if rule_id not in actions_by_rule:
            problems.append(
                Problem("adjustment_rules.csv", line, "rule_id", "has no action in adjustment_actions.csv")
            )
    problems.extend(_conflicts(rules, actions_by_rule))
    return problems


def _check_condition(kind: str, field: str, op: str, value: str, add) -> None:
    if op == "like" and kind != "string":
        add("operator", f"like needs a text field; {field} is a {kind}")
    elif op in ("<", "<=", ">", ">=", "between") and kind not in ("number", "date"):
        add("operator", f"{op} needs a number or date field; {field} is a {kind}")
    elif op in ("is null", "is not null"):
        if value.strip():
            add("value", f"{op} takes no value")
    else:
        items = value.split("|") if op in ("in", "not in", "between") else [value]
        if op == "between" and len(items) != 2:
            add("value", "between needs 'low|high'")
        for item in items:
            if problem := value_problem(item, kind):
                add("value", problem)


def approval_status(rule: dict[str, str]) -> str:
    approver, author = rule["approver"].strip(), rule["author"].strip()
    if not approver or not rule["approved_at"].strip():
        return "unapproved"
    if approver.lower() == author.lower():
        return "self_approved"
    return "approved"


def _conflicts(rules: dict, actions_by_rule: dict) -> list[Problem]:
    """Two approved overrides of one field at the same point, scenario and priority."""
    seen: dict[tuple, str] = {}
    problems = []
    for rule_id in sorted(actions_by_rule):
        _, rule = rules[rule_id]
        if approval_status(rule) != "approved":
            continue
        for line, field, op in actions_by_rule[rule_id]:
            if op != "override":
                continue
            slot = (
                rule["injection_point"].strip(),
                rule["scenario"].strip() or "base",
                field,
                rule["priority"].strip() or "0",
            )
            if slot in seen:
                problems.append(
                    Problem(
                        "adjustment_actions.csv",
                        line,
                        "field",
                        f"rule {rule_id} overrides {field} like rule {seen[slot]} at the same point, "
                        f"scenario and priority {slot[3]}; give one of them another priority",
                    )
                )
            else:
                seen[slot] = rule_id
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
