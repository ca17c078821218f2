"""How regcalc prints what it read: aligned text tables (rich), CSV and JSON, and the text of
`regcalc explain` and `regcalc rules impact`. Nothing here reads or computes; every function takes
rows or a document and returns text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Sequence
from datetime import date

from rich.console import Console
from rich.table import Table
from rich.text import Text

from regcalc.params import SECTION_RATE_COLUMNS

# Columns holding a ratio: 4 decimals in tables and CSV; other numbers are amounts, 2 decimals.
RATIO_COLUMNS = ("lcr", "base_lcr", "lcr_change", "liability_share", "lcr_effect")
_WIDE = 1 << 16  # no table is this wide: rich never wraps or crops a cell


def table(cells: Sequence[Sequence[str]], columns: Sequence[str], left: Collection[str] = ()) -> str:
    """Cells (text) under their column names, columns two spaces apart, right-aligned except those
    in `left`; no trailing blanks. Cells are shown as they are (no markup, no emoji codes)."""
    grid = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="")
    for column in columns:
        grid.add_column(Text(column), justify="left" if column in left else "right", no_wrap=True)
    for line in cells:
        grid.add_row(*(Text(cell) for cell in line))
    console = Console(file=io.StringIO(), width=_WIDE, color_system=None, highlight=False, emoji=False)
    with console.capture() as capture:
        console.print(grid)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


RATIO_METRICS = ("lcr", "liq1_row_23_weighted")  # restatement metrics that are ratios (DIS85 row 23: the LCR)


def cell(row: dict, column: str) -> str:
    """One value as text: ratios with 4 decimals (a ratio column, or any number of a row whose metric is
    the lcr, or LIQ1 row 23's value, the LCR), other numbers with 2, dates as yyyy-mm-dd, null as empty."""
    value = row[column]
    if value is None:
        return ""
    if isinstance(value, float):
        ratio = column in RATIO_COLUMNS or row.get("metric") in RATIO_METRICS
        return f"{value:.4f}" if ratio else f"{value:.2f}"
    return str(value)


def rows(records: list[dict], columns: Sequence[str], fmt: str) -> str:
    """Rows as an aligned table, CSV (a header line, then one line per row) or JSON (an array of
    objects holding every key of each row)."""
    if fmt == "json":
        return to_json(records)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(record, column) for column in columns] for record in records)
        return buffer.getvalue().rstrip("\n")
    return table([[cell(record, column) for column in columns] for record in records], columns)


def to_json(document) -> str:
    """One JSON document; dates as yyyy-mm-dd."""
    return json.dumps(document, indent=2, default=_iso)


def _iso(value):
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def amount(value: float | None) -> str:
    """An amount with thousands separators and 2 decimals; n/a when there is none."""
    return "n/a" if value is None else f"{value:,.2f}"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:g}"


def _factor(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _audit_value(row: dict, column: str) -> str | None:
    """The audit keeps values as text (e.g. 1.5E9); numbers (rows with a delta) shown readably."""
    value = row[column]
    if value is None or row["delta"] is None:
        return value
    return _number(float(value))


def _indented(text: str, indent: str) -> list[str]:
    return [indent + line for line in text.splitlines()]


# ------------------------------------------------------------------------------------------------
# regcalc explain
# ------------------------------------------------------------------------------------------------
def explain_text(document: dict, top: int) -> str:
    """The text of `regcalc explain` for its document (regcalc.explain.explain): the value, the
    formula with its values, the caps, each component with its stages, top categories and deals, and
    the adjustment rules with their largest changes."""
    value = document["value"]
    shown = "n/a" if value is None else (f"{value:.6f}" if document["metric"] == "lcr" else amount(value))
    lines = [
        f"{document['metric']} of {document['entity_id']} on {document['as_of_date']}, scenario "
        f"{document['scenario']}: {shown}  (fct_lcr; amounts in {document['reporting_currency']})",
        "",
        "Formula (BCBS 238)",
        *_formula_lines(document["formula"]),
    ]
    if document["caps"]:
        lines += ["", "Caps", *_cap_lines(document["caps"])]
    lines += ["", "Components"]
    for component in document["components"]:
        lines += [*_component_lines(component, top), ""]
    lines.append(
        "Adjustment rules that changed rows feeding it (fct_adjustment_audit, scenario "
        f"{document['scenario']})"
    )
    if not document["adjustments"]:
        lines.append("  none")
    for rule in document["adjustments"]:
        lines += _rule_lines(rule)
    return "\n".join(line.rstrip() for line in lines)


def _formula_lines(formula: list[dict]) -> list[str]:
    width = max(len(step["name"]) for step in formula)
    lines = []
    for step in formula:
        result = step["value"]
        result_text = f"{result:.6f}" if step["name"] == "lcr" and result is not None else amount(result)
        lines.append(f"  {step['name']:<{width}} = {step['formula']}")
        lines.append(f"  {'':<{width}} = {step['with_values']} = {result_text}    [{step['note']}]")
    return lines


def _cap_lines(caps: list[dict]) -> list[str]:
    lines = []
    for cap in caps:
        verdict = "BINDS" if cap["binds"] else "does not bind"
        detail = f"reduces by {amount(cap['adjustment'])}" if cap["binds"] else ""
        if cap["binding_term"]:
            detail += f" (binding term: {cap['binding_term']})"
        lines.append(f"  {cap['name']}: {verdict} {detail}".rstrip() + f"    [{cap['bcbs_paragraph']}]")
    return lines


def _component_lines(component: dict, top: int) -> list[str]:
    lines = [
        f"  {component['component']} = {amount(component['value'])}  ({component['description']}; "
        f"{component['deal_count']} deals)"
    ]
    stages = component["stages"]
    moves = [f"unadjusted {amount(stages['unadjusted'])}"]
    for stage, rules in component["rules_by_stage"].items():  # the stages after unadjusted, in order
        moves.append(
            f"{stage.replace('_', ' ')} {amount(stages[stage])}" + (f" ({', '.join(rules)})" if rules else "")
        )
    lines.append("    " + " -> ".join(moves))
    categories = [
        {
            "category_code": row["category_code"],
            "deals": row["deal_count"],
            "before_rules": row["amount_before_rules"],
            "amount": row["amount"],
            "rules": row["adjustment_rule_ids"],
        }
        for row in component["categories"]
    ]
    if categories:
        # the largest `top` categories here; the JSON lists all of them
        lines.append(f"    top {min(top, len(categories))} categories of {len(categories)}:")
        columns = ("category_code", "deals", "before_rules", "amount", "rules")
        lines += _indented(rows(categories[:top], columns, "table"), "      ")
        if len(categories) > top:
            rest = sum(row["amount"] or 0.0 for row in categories[top:])
            lines.append(f"      other {len(categories) - top} categories: {amount(rest)}")
    if component["top_deals"]:
        lines.append(f"    top {min(top, len(component['top_deals']))} deals of {component['deal_count']}:")
        rates = SECTION_RATE_COLUMNS.values()
        deals = [
            deal | {column: _factor(deal[column]) for column in (*rates, "weight")}
            for deal in component["top_deals"]
        ]
        # of haircut, run_off_rate and inflow_rate, the ones of the sections listed (the JSON has all three)
        columns = tuple(
            column
            for column in component["top_deals"][0]
            if column not in rates or any(deal[column] is not None for deal in component["top_deals"])
        )
        lines += _indented(rows(deals, columns, "table"), "      ")
        others = component["other_deals"]
        if others["count"]:
            lines.append(f"      other {others['count']} deals: {amount(others['amount'])}")
    return lines


def _rule_lines(rule: dict) -> list[str]:
    delta = "" if rule["total_delta"] is None else f", sum of deltas {rule['total_delta']:,.4f}"
    lines = [
        f"  [{rule['injection_point']}] {rule['rule_id']} (priority {rule['priority']}): {rule['field']} "
        f"changed on {rule['rows_changed']} row(s){delta}; moves {', '.join(rule['components'])}",
        f"    {rule['description']}  (author {rule['author']}, approved by {rule['approver']} on "
        f"{rule['approved_at']}, ref {rule['reference']})",
    ]
    changes = [
        row
        | {column: _audit_value(row, column) for column in ("value_before", "value_after")}
        | {"delta": _number(row["delta"])}
        for row in rule["rows"]
    ]
    lines += _indented(rows(changes, ("row_key", "value_before", "value_after", "delta"), "table"), "    ")
    if rule["rows_changed"] > len(rule["rows"]):
        lines.append(f"    ... {rule['rows_changed'] - len(rule['rows'])} more row(s)")
    return lines


# ------------------------------------------------------------------------------------------------
# regcalc rules impact
# ------------------------------------------------------------------------------------------------
def impact(document: dict, fmt: str) -> str:
    """`regcalc rules impact`: JSON is the document itself (regcalc.impact.rules_impact); table and
    CSV show a title, the metrics per entity, then the rules."""
    # imported here: impact imports dbt, which imports monitoring, which imports this module
    from regcalc.impact import IMPACT_COLUMNS, RULE_STATUS_COLUMNS

    if fmt == "json":
        return to_json(document)
    return "\n".join(
        [
            f"LCR impact of the adjustment rules on {document['as_of_date']}: scenario "
            f"{document['scenario']} vs no adjustment",
            rows(document["impact"], IMPACT_COLUMNS, fmt),
            "",
            "rules",
            rows(document["rules"], RULE_STATUS_COLUMNS, fmt),
        ]
    )


# ------------------------------------------------------------------------------------------------
# regcalc movement
# ------------------------------------------------------------------------------------------------
def movement_text(document: dict) -> str:
    """The text of `regcalc movement` for its document (regcalc.movement.movement): the two ratios, the
    change split into HQLA and net-outflow effects, the effects per group, the deals that moved most and
    the adjustment rules that started or stopped applying."""
    from regcalc.movement import DEAL_COLUMNS, LINE_COLUMNS

    def ratio(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.6f}"

    lines = [
        f"LCR of {document['entity_id']} (scenario {document['scenario']}): {document['from']} "
        f"{ratio(document['lcr_from'])} -> {document['to']} {ratio(document['lcr_to'])}, change "
        f"{document['change']:+.6f}",
        f"  HQLA effect        {document['hqla_effect']:+.6f}  (HQLA {amount(document['hqla_from'])} -> "
        f"{amount(document['hqla_to'])}, over the net cash outflows of {document['from']})",
        f"  net-outflow effect {document['net_outflow_effect']:+.6f}  (net cash outflows "
        f"{amount(document['net_cash_outflows_from'])} -> {amount(document['net_cash_outflows_to'])})",
        "",
        f"Effects by {document['by']} (amounts in the reporting currency; lcr_effect sums to the change)",
        *_indented(
            table(
                [[cell(row, column) for column in LINE_COLUMNS] for row in document["effects"]],
                LINE_COLUMNS,
                left=("group",),
            ),
            "  ",
        ),
        "",
        "Deals that moved most (weighted amounts)",
    ]
    if document["deals"]:
        cells = [[cell(row, column) for column in DEAL_COLUMNS] for row in document["deals"]]
        lines += _indented(
            table(
                cells,
                DEAL_COLUMNS,
                left=("deal_id", "status", "product_type", "category_from", "category_to"),
            ),
            "  ",
        )
    else:
        lines.append("  none")
    for key, title in (("rules_started", "started"), ("rules_stopped", "stopped")):
        rules = document[key]
        lines.append("")
        lines.append(f"Adjustment rules that {title} applying: {'none' if not rules else ''}".rstrip())
        lines += [f"  {rule['rule_id']}  {rule['description'] or ''}".rstrip() for rule in rules]
    return "\n".join(lines)
