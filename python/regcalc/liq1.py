"""`regcalc template liq1`: the Basel Pillar 3 template LIQ1 (Basel Framework DIS85) of one entity and
quarter, read from the mart fct_liq1_entity_quarter and written as a table, CSV, JSON or an xlsx workbook
laid out like the published template (openpyxl).

The figures are computed in dbt (models/marts/liq1): every row's simple average of the quarter's daily
observations. Here they are only read and laid out: the template's rows, labels and shaded cells come
from the mart (which has them from seed liq1_template_rows), so the layout has no second copy of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from regcalc.marts import Marts
from regcalc.settings import RegcalcError

TITLE = "LIQ1: Liquidity Coverage Ratio (LCR)"
# The template's blocks (seed column `section`) and the heading the published template gives each.
SECTION_HEADINGS = {
    "hqla": "High-quality liquid assets",
    "outflows": "Cash outflows",
    "inflows": "Cash inflows",
    "adjusted": "",
}
UNWEIGHTED_HEADING = "Total unweighted value (average)"
WEIGHTED_HEADING = "Total weighted value (average)"
ADJUSTED_HEADING = "Total adjusted value"
LCR_ROW = 23  # the ratio (shown as a percentage); every other row is an amount
ROW_COLUMNS = ("liq1_row", "row_label", "unweighted_value", "weighted_value")
_QUARTER = re.compile(r"(\d{4})Q([1-4])")


def parse_quarter(text: str) -> str:
    """A calendar quarter as written on the command line, e.g. `2026Q3` (also `2026q3`).

    Raises ValueError naming the expected form."""
    match = _QUARTER.fullmatch(text.strip().upper())
    if not match:
        raise ValueError(f"{text!r} is not a quarter; write it as YYYYQn, e.g. 2026Q3")
    return f"{match.group(1)}Q{match.group(2)}"


@dataclass(frozen=True)
class Liq1:
    """Template LIQ1 of one entity, quarter and scenario.

    `rows`: 23 dicts in template order with liq1_row (int), parent_row, row_label, section,
    unweighted_reported (False = shaded cell), unweighted_value and weighted_value (floats in the
    reporting currency, None where the template has no value; row 23 is the LCR as a ratio, 1.25 = 125%)."""

    entity_id: str
    reporting_period: str
    scenario: str
    reporting_currency: str
    parameter_set: str
    observation_count: int
    first_as_of_date: date
    last_as_of_date: date
    rows: list[dict]

    def document(self) -> dict:
        """The template as one JSON-ready document (shaded cells as null)."""
        return {
            "template": "LIQ1",
            "entity_id": self.entity_id,
            "reporting_period": self.reporting_period,
            "scenario": self.scenario,
            "reporting_currency": self.reporting_currency,
            "parameter_set": self.parameter_set,
            "observation_count": self.observation_count,
            "first_as_of_date": self.first_as_of_date,
            "last_as_of_date": self.last_as_of_date,
            "rows": [{column: row[column] for column in ROW_COLUMNS} for row in self.disclosed_rows()],
        }

    def disclosed_rows(self) -> list[dict]:
        """The rows as disclosed: a shaded unweighted cell is None."""
        return [
            {**row, "unweighted_value": row["unweighted_value"] if row["unweighted_reported"] else None}
            for row in self.rows
        ]


def read_liq1(marts: Marts, entity: str, period: str, scenario: str = "base") -> Liq1:
    """The quarter's LIQ1 of `entity` from fct_liq1_entity_quarter.

    Raises RegcalcError listing the entity's quarters (or the entities) when there is none."""
    table = marts.relation("fct_liq1_entity_quarter")
    where = (
        f"scenario = {marts.literal(scenario)} and entity_id = {marts.literal(entity)}"
        f" and reporting_period = {marts.literal(period)}"
    )
    rows = marts.query(
        "select liq1_row, parent_row, row_label, section, unweighted_reported, unweighted_value,"
        " weighted_value, reporting_currency, parameter_set, observation_count, first_as_of_date,"
        " last_as_of_date"
        f"\nfrom {table}\nwhere {where}"
    )
    if not rows:
        periods = marts.query(
            f"select distinct entity_id, reporting_period from {table}"
            f"\nwhere scenario = {marts.literal(scenario)}"
        )
        available = sorted(f"{row['entity_id']} {row['reporting_period']}" for row in periods)
        raise RegcalcError(
            f"no LIQ1 for entity {entity} and quarter {period} in scenario {scenario}; there is LIQ1 for: "
            + (", ".join(available) if available else "nothing (run `regcalc run --input DIR` first)")
        )
    rows.sort(key=lambda row: row["liq1_row"])
    first = rows[0]
    return Liq1(
        entity_id=entity,
        reporting_period=period,
        scenario=scenario,
        reporting_currency=first["reporting_currency"],
        parameter_set=first["parameter_set"],
        observation_count=first["observation_count"],
        first_as_of_date=first["first_as_of_date"],
        last_as_of_date=first["last_as_of_date"],
        rows=rows,
    )


def value_text(row: dict, column: str) -> str:
    """A cell as printed: amounts with 2 decimals, row 23 as a percentage, a shaded or empty cell blank."""
    value = row[column]
    if value is None:
        return ""
    if row["liq1_row"] == LCR_ROW:
        return f"{value * 100:.2f}%"
    return f"{value:,.2f}"


def _csv_cells(row: dict) -> dict:
    places = 6 if row["liq1_row"] == LCR_ROW else 2
    return {
        **row,
        **{
            column: None if row[column] is None else f"{row[column]:.{places}f}"
            for column in ("unweighted_value", "weighted_value")
        },
    }


def render_text(liq1: Liq1, fmt: str) -> str:
    """The template as an aligned table (with a heading), CSV or JSON."""
    from regcalc import render

    if fmt == "json":
        return render.to_json(liq1.document())
    rows = liq1.disclosed_rows()
    if fmt == "csv":
        # amounts to the cent, the ratio (row 23) to its 6 published decimals; shaded cells empty
        return render.rows([_csv_cells(row) for row in rows], ROW_COLUMNS, "csv")
    heading = (
        f"{TITLE}\nentity {liq1.entity_id}, {liq1.reporting_period}, scenario {liq1.scenario}, "
        f"amounts in {liq1.reporting_currency}, parameter set {liq1.parameter_set}\n"
        f"simple averages of {liq1.observation_count} daily observations "
        f"({liq1.first_as_of_date} to {liq1.last_as_of_date})\n"
    )
    cells = [
        [str(row["liq1_row"]), row["row_label"], *(value_text(row, column) for column in ROW_COLUMNS[2:])]
        for row in rows
    ]
    return heading + "\n" + render.table(cells, ("row", "", UNWEIGHTED_HEADING, WEIGHTED_HEADING), left=("",))


def write_xlsx(liq1: Liq1, path: Path) -> Path:
    """The template as an xlsx workbook laid out like the published LIQ1: a title and the reporting
    period, columns a (total unweighted value) and b (total weighted value), the blocks High-quality
    liquid assets, Cash outflows, Cash inflows and Total adjusted value, shaded cells filled grey, "of
    which" rows indented, amounts as numbers in the reporting currency and row 23 as a percentage.

    Raises RegcalcError if the file cannot be written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    shaded = PatternFill("solid", fgColor="BFBFBF")
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "LIQ1"
    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = (
        f"Entity {liq1.entity_id}, quarter {liq1.reporting_period} ({liq1.first_as_of_date} to "
        f"{liq1.last_as_of_date}); amounts in {liq1.reporting_currency}; scenario {liq1.scenario}; "
        f"parameter set {liq1.parameter_set}"
    )
    sheet["A3"] = "Number of data points used in the calculation of averages"
    sheet["C3"] = liq1.observation_count
    sheet["C5"], sheet["D5"] = "a", "b"
    sheet["C6"], sheet["D6"] = UNWEIGHTED_HEADING, WEIGHTED_HEADING
    for cell in (sheet["C5"], sheet["D5"], sheet["C6"], sheet["D6"]):
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        cell.border = box
    line = 7
    section = None
    parents = {row["liq1_row"]: row["parent_row"] for row in liq1.rows}
    for row in liq1.disclosed_rows():
        if row["section"] != section:
            section = row["section"]
            if section == "adjusted":
                sheet.cell(line, 4, ADJUSTED_HEADING)
                sheet.cell(line, 3).fill = shaded
                sheet.cell(line, 4).font = bold
            else:
                sheet.cell(line, 1, SECTION_HEADINGS[section])
            sheet.cell(line, 1).font = bold
            line += 1
        depth = _depth(row, parents)
        sheet.cell(line, 1, row["liq1_row"])
        label = sheet.cell(line, 2, row["row_label"])
        # totals (no parent) bold; the items of an "of which" row indented
        label.alignment = Alignment(indent=max(depth - 1, 0) * 2, wrap_text=True)
        if depth == 0:
            label.font = bold
        for column, key in ((3, "unweighted_value"), (4, "weighted_value")):
            cell = sheet.cell(line, column, row[key])
            cell.border = box
            cell.number_format = "0.00%" if row["liq1_row"] == LCR_ROW else "#,##0.00"
            if key == "unweighted_value" and row[key] is None:
                cell.fill = shaded
        line += 1
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 70
    sheet.column_dimensions["C"].width = 22
    sheet.column_dimensions["D"].width = 22
    try:
        workbook.save(path)
    except OSError as error:
        raise RegcalcError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def _depth(row: dict, parents: dict[int, int | None]) -> int:
    """How many rows `row` adds into: 0 for rows 1, 16, 20-23; 1 for rows 2, 5, 9, 10, 14, 15, 17-19; 2 for
    the items of an \"of which\" row (3-4, 6-8, 11-13)."""
    depth, parent = 0, parents[row["liq1_row"]]
    while parent is not None:
        depth, parent = depth + 1, parents.get(parent)
    return depth
