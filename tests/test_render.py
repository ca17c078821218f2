"""What the commands print (regcalc.render) and the progress display (regcalc.progress), without Spark:
whole outputs against text written out by hand."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

from regcalc import render
from regcalc.progress import Progress

ROWS = [
    {"entity_id": "E01", "as_of_date": dt.date(2026, 9, 30), "hqla": 1234567.891, "lcr": 1.2827625, "n": 3},
    {"entity_id": "E2[b]", "as_of_date": dt.date(2026, 10, 1), "hqla": None, "lcr": None, "n": 12},
]
COLUMNS = ("entity_id", "as_of_date", "hqla", "lcr", "n")


def test_table_aligns_columns_and_keeps_cells_as_written():
    """Right-aligned under right-aligned headers, two spaces apart, no trailing blanks; amounts with 2
    decimals, ratios 4, nulls empty; `[b]` is text, not rich markup."""
    assert render.rows(ROWS, COLUMNS, "table") == "\n".join(
        [
            "entity_id  as_of_date        hqla     lcr   n",
            "      E01  2026-09-30  1234567.89  1.2828   3",
            "    E2[b]  2026-10-01                      12",
        ]
    )


def test_table_left_aligns_the_columns_asked():
    cells = [("9.5", "int_deal_liquidity__adjusted"), ("12.0", "fct_lcr")]
    assert render.table(cells, ("seconds", "node"), left={"node"}) == "\n".join(
        [
            "seconds  node",
            "    9.5  int_deal_liquidity__adjusted",
            "   12.0  fct_lcr",
        ]
    )


def test_csv_and_json():
    assert render.rows(ROWS, COLUMNS, "csv") == (
        "entity_id,as_of_date,hqla,lcr,n\nE01,2026-09-30,1234567.89,1.2828,3\nE2[b],2026-10-01,,,12"
    )
    assert json.loads(render.rows(ROWS, COLUMNS, "json")) == [
        {"entity_id": "E01", "as_of_date": "2026-09-30", "hqla": 1234567.891, "lcr": 1.2827625, "n": 3},
        {"entity_id": "E2[b]", "as_of_date": "2026-10-01", "hqla": None, "lcr": None, "n": 12},
    ]


def test_a_row_of_the_lcr_metric_shows_ratios():
    rows = [{"metric": "lcr", "base": 1.23456}, {"metric": "hqla", "base": 1.23456}]
    assert render.rows(rows, ("metric", "base"), "csv") == "metric,base\nlcr,1.2346\nhqla,1.23"


def test_impact_json_is_one_document():
    document = {
        "as_of_date": dt.date(2026, 9, 30),
        "scenario": "stress",
        "unadjusted_schema": "regcalc_unadjusted",
        "impact": [
            {
                "entity_id": "E1",
                "metric": "lcr",
                "unadjusted": 1.5,
                "base": 1.4,
                "scenario": 1.3,
                "change": -0.2,
            }
        ],
        "rules": [
            {
                "rule_id": "R1",
                "injection_point": "deal",
                "rule_scenario": "base",
                "status": "applied",
                "changed_values": 2,
                "total_delta": 0.5,
            }
        ],
    }
    assert json.loads(render.impact(document, "json")) == document | {"as_of_date": "2026-09-30"}
    assert render.impact(document, "csv") == "\n".join(
        [
            "LCR impact of the adjustment rules on 2026-09-30: scenario stress vs no adjustment",
            "entity_id,metric,unadjusted,base,scenario,change",
            "E1,lcr,1.5000,1.4000,1.3000,-0.2000",
            "",
            "rules",
            "rule_id,injection_point,rule_scenario,status,changed_values,total_delta",
            "R1,deal,base,applied,2,0.50",
        ]
    )


def _deal(deal_id, amount, rates, weight, contribution) -> dict:
    """A top deal of an explain document (fewer columns than explain gives; render shows those it gets)."""
    haircut, run_off_rate, inflow_rate = rates
    return {
        "deal_id": deal_id,
        "amount_reporting_ccy": amount,
        "haircut": haircut,
        "run_off_rate": run_off_rate,
        "inflow_rate": inflow_rate,
        "weight": weight,
        "contribution": contribution,
    }


def test_explain_text_shows_the_rate_columns_of_the_deals_listed():
    """The unwind of a repo (outflow, run-off rate 15%) and a reverse repo (inflow, 0%): the table shows
    run_off_rate and inflow_rate, with a blank where a deal has none, and no haircut column (no HQLA deal
    is listed); rates and weights as written, amounts with 2 decimals."""
    document = {
        "metric": "unwind_level1",
        "entity_id": "E1",
        "as_of_date": "2026-09-30",
        "scenario": "base",
        "value": -60.0,
        "reporting_currency": "USD",
        "formula": [
            {
                "name": "unwind_level1",
                "formula": "sum",
                "with_values": "-100.00 + 40.00",
                "value": -60.0,
                "note": "Annex 1 para 6",
            },
        ],
        "caps": [],
        "components": [
            {
                "component": "unwind_level1",
                "description": "Level 1 change on unwinding secured transactions <= 30d",
                "value": -60.0,
                "deal_count": 2,
                "stages": {"unadjusted": -60.0, "after_deal_rules": -60.0},
                "rules_by_stage": {"after_deal_rules": []},
                "categories": [],
                "top_deals": [
                    _deal("R1", 100.0, (None, 0.15, None), 0.15, -100.0),
                    _deal("V1", 40.0, (None, None, 0.0), 0.0, 40.0),
                ],
                "other_deals": {"count": 0, "amount": 0.0},
            }
        ],
        "adjustments": [],
    }
    assert render.explain_text(document, top=5) == "\n".join(
        [
            "unwind_level1 of E1 on 2026-09-30, scenario base: -60.00  (fct_lcr; amounts in USD)",
            "",
            "Formula (BCBS 238)",
            "  unwind_level1 = sum",
            "                = -100.00 + 40.00 = -60.00    [Annex 1 para 6]",
            "",
            "Components",
            "  unwind_level1 = -60.00  (Level 1 change on unwinding secured transactions <= 30d; 2 deals)",
            "    unadjusted -60.00 -> after deal rules -60.00",
            "    top 2 deals of 2:",
            "      deal_id  amount_reporting_ccy  run_off_rate  inflow_rate  weight  contribution",
            "           R1                100.00          0.15                 0.15       -100.00",
            "           V1                 40.00                          0       0         40.00",
            "",
            "Adjustment rules that changed rows feeding it (fct_adjustment_audit, scenario base)",
            "  none",
        ]
    )


def test_progress_prints_plain_lines_when_not_on_a_terminal():
    stream = io.StringIO()  # not a terminal
    progress = Progress(stream=stream)
    with progress.stage("jobs") as timing:
        progress.advance(3, 10)  # no bar: nothing is drawn
        timing.rows = 1500
    progress.info("done")
    stamp = r"\[ +\d+\.\ds\] "
    lines = [f"{stamp}jobs \\.\\.\\.", rf"{stamp}jobs done in \d+\.\ds, 1,500 rows", f"{stamp}done"]
    assert re.fullmatch("\n".join(lines) + "\n", stream.getvalue())
    [timing] = progress.timings
    assert (timing.name, timing.rows) == ("jobs", 1500) and timing.seconds >= 0


def test_progress_draws_a_live_bar_on_a_terminal():
    """On a terminal (forced here) the lines are printed as well, and the live display shows the stage
    and dbt's node count while it runs; it is removed when the stage ends."""
    stream = io.StringIO()
    progress = Progress(stream=stream, live=True)
    with progress.stage("dbt build"):
        progress.advance(57, 143)
        progress.info("dbt 57/143 model fct_lcr (table): success in 1.2s")
        progress._display.refresh()  # what rich's refresh thread draws every 0.1 s
    output = stream.getvalue()
    assert "\x1b[" in output  # terminal control: the display is drawn and erased
    assert "dbt build" in output and "57/143" in output
    lines = [line for line in output.splitlines() if "] dbt" in line]
    assert any(line.endswith("dbt build ...") for line in lines)
    assert any("dbt 57/143 model fct_lcr (table): success in 1.2s" in line for line in lines)
    assert any("dbt build done in" in line for line in lines)
    assert progress._display is None and [timing.name for timing in progress.timings] == ["dbt build"]
