"""`regcalc report --out report.html`: the LCR in pictures, one self-contained HTML file (plotly).

Five charts, each read from the marts through Marts (any target), for one scenario:

1. LCR per entity over time (fct_lcr), with the 100% line;
2. HQLA composition per entity on the latest date: Level 1, 2A, 2B after haircuts, and the bite of the
   Level 2B (15%) and Level 2 (40%) caps as negative bars (fct_lcr);
3. net cash outflows by LCR category per entity on the latest date: outflow categories up, inflow categories
   (after the 75% cap, scaled pro rata when it binds) down (fct_lcr_category, fct_lcr);
4. the adjustment waterfall per entity on the latest date: unadjusted LCR -> what each adjustment point
   moved -> reported (rpt_lcr_adjustment_waterfall);
5. LCR by significant currency per entity on the latest date (fct_lcr_currency), with the 100% line.

plotly.js is embedded in the file (no network is needed to open it); each chart is a div of class
`plotly-graph-div`. Amounts in each entity's reporting currency.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from regcalc.marts import Marts, read_lcr
from regcalc.settings import RegcalcError

TITLES = (
    "LCR per entity",
    "HQLA composition and the bite of the caps",
    "Net cash outflows by category",
    "Adjustment waterfall",
    "LCR by significant currency",
)


def _latest(rows: list[dict]) -> date:
    return max(row["as_of_date"] for row in rows)


def _lcr_over_time(rows: list[dict]):
    import plotly.graph_objects as go

    figure = go.Figure()
    by_entity: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_entity[row["entity_id"]].append(row)
    for entity, entity_rows in sorted(by_entity.items()):
        figure.add_trace(
            go.Scatter(
                x=[row["as_of_date"] for row in entity_rows],
                y=[None if row["lcr"] is None else 100 * row["lcr"] for row in entity_rows],
                mode="lines+markers",
                name=entity,
            )
        )
    figure.add_hline(y=100, line_dash="dash", line_color="red", annotation_text="100% minimum")
    figure.update_layout(title=TITLES[0], yaxis_title="LCR (%)", xaxis_title="as-of date")
    return figure


def _hqla_composition(rows: list[dict], day: date):
    import plotly.graph_objects as go

    latest = [row for row in rows if row["as_of_date"] == day]
    entities = [row["entity_id"] for row in latest]
    figure = go.Figure()
    for column, label, sign in (
        ("hqla_level1", "Level 1", 1),
        ("hqla_level2a", "Level 2A (after haircut)", 1),
        ("hqla_level2b", "Level 2B (after haircut)", 1),
        ("adj_15_cap", "Level 2B cap (15%)", -1),
        ("adj_40_cap", "Level 2 cap (40%)", -1),
    ):
        figure.add_trace(go.Bar(x=entities, y=[sign * row[column] for row in latest], name=label))
    figure.add_trace(
        go.Scatter(x=entities, y=[row["hqla"] for row in latest], mode="markers", name="HQLA after caps",
                   marker={"symbol": "diamond", "size": 12, "color": "black"})
    )  # fmt: skip
    figure.update_layout(title=f"{TITLES[1]} ({day})", barmode="relative", yaxis_title="amount")
    return figure


def _net_outflows(marts: Marts, rows: list[dict], day: date, scenario: str):
    import plotly.graph_objects as go

    totals = marts.relation("fct_lcr_category")
    categories = marts.query(
        f"select totals.entity_id, totals.category_code, totals.lcr_section, "
        f"sum(totals.weighted_amount) as weighted_amount from {totals} as totals "
        f"where totals.scenario = {marts.literal(scenario)} and totals.as_of_date = {marts.literal(day)} "
        f"and totals.lcr_section in ('outflow', 'inflow') "
        f"group by totals.entity_id, totals.category_code, totals.lcr_section"
    )
    lcr = {row["entity_id"]: row for row in rows if row["as_of_date"] == day}
    entities = sorted(lcr)
    amounts: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for row in categories:
        entity = row["entity_id"]
        if entity not in lcr:
            continue
        value = row["weighted_amount"]
        if row["lcr_section"] == "inflow":
            inflows = lcr[entity]["total_inflows"]
            # inflows count after the 75% cap: each inflow category scaled pro rata when the cap binds
            value = -value * (lcr[entity]["capped_inflows"] / inflows if inflows else 0.0)
        amounts[(row["lcr_section"], row["category_code"])][entity] = value
    figure = go.Figure()
    for (section, category), by_entity in sorted(amounts.items()):
        figure.add_trace(
            go.Bar(x=entities, y=[by_entity.get(entity, 0.0) for entity in entities], name=f"{category}",
                   legendgroup=section)
        )  # fmt: skip
    figure.add_trace(
        go.Scatter(x=entities, y=[lcr[entity]["net_cash_outflows"] for entity in entities], mode="markers",
                   name="net cash outflows", marker={"symbol": "diamond", "size": 12, "color": "black"})
    )  # fmt: skip
    figure.update_layout(
        title=f"{TITLES[2]} ({day}; inflows after the 75% cap, negative)",
        barmode="relative",
        yaxis_title="amount",
    )
    return figure


def _waterfall(marts: Marts, day: date, scenario: str):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    waterfall = marts.relation("rpt_lcr_adjustment_waterfall")
    stages = marts.query(
        f"select stage.entity_id, stage.stage_order, stage.stage, stage.lcr from {waterfall} as stage "
        f"where stage.scenario = {marts.literal(scenario)} and stage.as_of_date = {marts.literal(day)}"
    )
    by_entity: dict[str, list[dict]] = defaultdict(list)
    for row in stages:
        by_entity[row["entity_id"]].append(row)
    entities = sorted(by_entity)
    figure = make_subplots(rows=1, cols=max(len(entities), 1), subplot_titles=entities)
    for index, entity in enumerate(entities, start=1):
        ordered = sorted(by_entity[entity], key=lambda row: row["stage_order"])
        values = [100 * (row["lcr"] or 0.0) for row in ordered]
        figure.add_trace(
            go.Waterfall(
                x=["unadjusted", *[f"{row['stage']} point" for row in ordered[1:]], "reported"],
                measure=["absolute", *["relative"] * (len(ordered) - 1), "total"],
                y=[values[0], *[b - a for a, b in zip(values, values[1:], strict=False)], 0],
                name=entity,
                showlegend=False,
            ),
            row=1,
            col=index,
        )
    figure.update_layout(title=f"{TITLES[3]} ({day}): LCR (%) after each adjustment point")
    return figure


def _currency(marts: Marts, day: date, scenario: str):
    import plotly.graph_objects as go

    currency = marts.relation("fct_lcr_currency")
    rows = marts.query(
        f"select lcr.entity_id, lcr.currency, lcr.lcr from {currency} as lcr "
        f"where lcr.scenario = {marts.literal(scenario)} and lcr.as_of_date = {marts.literal(day)} "
        f"and lcr.is_significant"
    )
    entities = sorted({row["entity_id"] for row in rows})
    figure = go.Figure()
    for code in sorted({row["currency"] for row in rows}):
        values = {row["entity_id"]: row["lcr"] for row in rows if row["currency"] == code}
        figure.add_trace(
            go.Bar(
                x=entities,
                y=[None if values.get(e) is None else 100 * values[e] for e in entities],
                name=code,
            )
        )
    figure.add_hline(y=100, line_dash="dash", line_color="red", annotation_text="100%")
    figure.update_layout(title=f"{TITLES[4]} ({day})", barmode="group", yaxis_title="LCR (%)")
    return figure


def write_report(marts: Marts, out: Path, scenario: str = "base") -> list[str]:
    """Write the report to `out` (one HTML file, plotly.js inline); return the chart titles in order.

    Raises RegcalcError when fct_lcr has no row for the scenario."""
    import plotly.io as pio

    rows = read_lcr(marts, scenario=scenario)
    if not rows:
        raise RegcalcError(f"fct_lcr has no rows in scenario {scenario}: nothing to draw")
    day = _latest(rows)
    figures = [
        _lcr_over_time(rows),
        _hqla_composition(rows, day),
        _net_outflows(marts, rows, day, scenario),
        _waterfall(marts, day, scenario),
        _currency(marts, day, scenario),
    ]
    parts = [
        pio.to_html(figure, full_html=False, include_plotlyjs=index == 0, default_height="460px")
        for index, figure in enumerate(figures)
    ]
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>regcalc LCR report, scenario {scenario}</title></head>\n"
        f'<body style="font-family: sans-serif"><h1>LCR report, scenario {scenario}, as of {day}</h1>\n'
        "<p>Amounts in each entity's reporting currency. Source: the dbt marts (fct_lcr, fct_lcr_currency, "
        "rpt_lcr_adjustment_waterfall, fct_lcr_category).</p>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return [figure.layout.title.text for figure in figures]
