"""The star schema (models/marts/star) end to end: a generated bank whose entity is renamed and
whose counterparties change between as-of dates, through the jobs and `dbt build` (which also runs
the star's data tests), compared with the SCD2 versions computed here from the input CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from regcalc.dbt import invoke_dbt
from regcalc.pipeline import run_jobs
from regcalc.settings import Settings
from regcalc.warehouse import load_lake

SCHEMA = "star_test"
OPEN_END = dt.date(9999, 12, 31)
FIRST_DATE = dt.date(2026, 9, 29)
DIMENSIONS = {
    # dimension: (input file, natural key, tracked columns, surrogate key)
    "dim_entity": (
        "entities.csv",
        "entity_id",
        ("entity_name", "country", "reporting_currency"),
        "entity_key",
    ),
    "dim_counterparty": (
        "counterparties.csv",
        "counterparty_id",
        ("counterparty_name", "counterparty_type", "country"),
        "counterparty_key",
    ),
}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def star(spark, tmp_path_factory, monkeypatch_module):
    from regcalc.generate import generate_bank

    work = tmp_path_factory.mktemp("star")
    generate_bank(
        spark, work / "input", deals=2000, entities=2, dates=3, seed=5, fmt="csv", first_date=FIRST_DATE
    )
    monkeypatch_module.setenv("REGCALC_SCHEMA", SCHEMA)
    settings = Settings.from_env(lake=str(work / "lake"))
    run_jobs(spark, settings.lake, work / "input", max_reject_rate=1.0)
    load_lake(spark, settings)
    invoke_dbt(["build"], settings)
    return {"input": work / "input", "settings": settings}


def _table(spark, name: str) -> list[dict]:
    return [row.asDict() for row in spark.table(f"{SCHEMA}.{name}").collect()]


def _surrogate_key(*parts: object) -> str:
    """The generator's key: md5 of the parts as text joined by '|' (dbt.hash of dbt.concat on Spark)."""
    return hashlib.md5("|".join(str(part) for part in parts).encode()).hexdigest()


def expected_versions(path: Path, key: str, tracked: tuple[str, ...]) -> list[dict]:
    """SCD2 versions of a dated snapshot file: a new version whenever a tracked value changes."""
    snapshots: dict[str, list[tuple[dt.date, tuple[str, ...]]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = tuple(row[column] for column in tracked)
            snapshots[row[key]].append((dt.date.fromisoformat(row["as_of_date"]), values))
    versions = []
    for natural_key, rows in snapshots.items():
        starts: list[tuple[dt.date, dt.date, tuple[str, ...]]] = []  # (valid_from, last_seen, values)
        for day, values in sorted(rows):
            if starts and starts[-1][2] == values:
                starts[-1] = (starts[-1][0], day, values)
            else:
                starts.append((day, day, values))
        for number, (valid_from, last_seen, values) in enumerate(starts, start=1):
            is_current = number == len(starts)
            valid_to = OPEN_END if is_current else starts[number][0] - dt.timedelta(days=1)
            versions.append(
                {
                    key: natural_key,
                    **dict(zip(tracked, values, strict=True)),
                    "version_number": number,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "last_seen_date": last_seen,
                    "is_current": is_current,
                }
            )
    return versions


def _valid_version(versions: list[dict], key: str, natural_key: str, day: dt.date) -> dict:
    matches = [v for v in versions if v[key] == natural_key and v["valid_from"] <= day <= v["valid_to"]]
    assert len(matches) == 1, f"{natural_key} on {day}: {matches}"
    return matches[0]


@pytest.mark.e2e
@pytest.mark.parametrize("dimension", sorted(DIMENSIONS))
def test_scd2_versions_match_the_snapshots(spark, star, dimension):
    file_name, key, tracked, surrogate = DIMENSIONS[dimension]
    expected = expected_versions(star["input"] / file_name, key, tracked)
    # The input must exercise SCD2: some key has more than one version.
    assert any(version["version_number"] > 1 for version in expected), f"{file_name} has no change"
    actual = _table(spark, dimension)
    for row in actual:
        assert row.pop(surrogate) == _surrogate_key(row[key], row["valid_from"].isoformat()), row
    sort_key = lambda version: (version[key], version["valid_from"])  # noqa: E731
    assert sorted(actual, key=sort_key) == sorted(expected, key=sort_key)


@pytest.mark.e2e
def test_input_renames_an_entity_and_changes_a_counterparty_type(star):
    entities = expected_versions(star["input"] / "entities.csv", *DIMENSIONS["dim_entity"][1:3])
    renamed = [v for v in entities if v["version_number"] == 2]
    assert renamed, "no entity renamed"
    first = {v["entity_id"]: v for v in entities if v["version_number"] == 1}
    assert all(first[v["entity_id"]]["entity_name"] != v["entity_name"] for v in renamed)
    counterparties = expected_versions(
        star["input"] / "counterparties.csv", *DIMENSIONS["dim_counterparty"][1:3]
    )
    first_cp = {v["counterparty_id"]: v for v in counterparties if v["version_number"] == 1}
    assert any(
        first_cp[v["counterparty_id"]]["counterparty_type"] != v["counterparty_type"]
        for v in counterparties
        if v["version_number"] > 1
    ), "no counterparty changed type"


@pytest.mark.e2e
def test_fact_rows_point_at_the_version_valid_on_their_date(spark, star):
    entities = expected_versions(star["input"] / "entities.csv", *DIMENSIONS["dim_entity"][1:3])
    counterparties = expected_versions(
        star["input"] / "counterparties.csv", *DIMENSIONS["dim_counterparty"][1:3]
    )
    facts = _table(spark, "fct_deal_liquidity")
    assert len(facts) == spark.table(f"{SCHEMA}.int_deal_liquidity__adjusted").count()
    later_versions = 0
    for fact in facts:
        day = fact["as_of_date"]
        entity = _valid_version(entities, "entity_id", fact["entity_id"], day)
        assert fact["entity_key"] == _surrogate_key(fact["entity_id"], entity["valid_from"].isoformat())
        assert fact["date_key"] == day.year * 10000 + day.month * 100 + day.day
        if fact["counterparty_id"] is None:
            assert fact["counterparty_key"] is None
            continue
        version = _valid_version(counterparties, "counterparty_id", fact["counterparty_id"], day)
        assert fact["counterparty_key"] == _surrogate_key(
            fact["counterparty_id"], version["valid_from"].isoformat()
        )
        later_versions += version["version_number"] > 1
    assert later_versions > 0, "no deal of a changed counterparty after its change"

    for fact, source in (("fct_lcr", "int_lcr"), ("fct_lcr_category", "int_lcr_category_totals__adjusted")):
        rows = _table(spark, fact)
        assert len(rows) == spark.table(f"{SCHEMA}.{source}").count(), fact
        for row in rows:
            day = row["as_of_date"]
            entity = _valid_version(entities, "entity_id", row["entity_id"], day)
            assert row["entity_key"] == _surrogate_key(row["entity_id"], entity["valid_from"].isoformat())
            assert row["date_key"] == day.year * 10000 + day.month * 100 + day.day


@pytest.mark.e2e
def test_dim_date_attributes(spark, star):
    wanted = {FIRST_DATE + dt.timedelta(days=offset) for offset in range(3)} | {
        dt.date(2026, 12, 31),
        dt.date(2027, 2, 28),
        dt.date(2028, 2, 29),
    }
    rows = {row["date_day"]: row for row in _table(spark, "dim_date") if row["date_day"] in wanted}
    assert set(rows) == wanted
    for day, row in rows.items():
        month_end = (day + dt.timedelta(days=1)).day == 1
        assert row == {
            "date_key": day.year * 10000 + day.month * 100 + day.day,
            "date_day": day,
            "year": day.year,
            "quarter": (day.month - 1) // 3 + 1,
            "month": day.month,
            "day": day.day,
            "weekday": day.isoweekday(),
            "is_weekend": day.isoweekday() >= 6,
            "is_month_end": month_end,
            "is_quarter_end": month_end and day.month % 3 == 0,
        }


@pytest.mark.e2e
def test_bridge_lists_every_rule_of_every_adjusted_deal(spark, star):
    rule_keys = {row["rule_id"]: row["adjustment_key"] for row in _table(spark, "dim_adjustment_rule")}
    expected = {
        (fact["deal_row_key"], rule_keys[rule_id])
        for fact in _table(spark, "fct_deal_liquidity")
        if fact["adjustment_rule_ids"]
        for rule_id in fact["adjustment_rule_ids"].split(",")
    }
    actual = {(row["deal_row_key"], row["adjustment_key"]) for row in _table(spark, "bridge_deal_adjustment")}
    assert actual == expected


def _by(rows: list[dict], *key: str) -> dict[tuple, dict]:
    return {tuple(row[column] for column in key): row for row in rows}


@pytest.mark.e2e
def test_bi_entity_aggregates_are_the_lcr_per_date_entity_and_scenario(spark, star):
    lcr = _by(_table(spark, "fct_lcr"), "scenario", "as_of_date", "entity_id")
    assert {scenario for scenario, _, _ in lcr} > {"base"}, "the example rules add no scenario"
    reported = ("hqla", "total_outflows", "total_inflows", "capped_inflows", "net_cash_outflows", "lcr")

    expected_base = {
        (day, entity): {
            "date_key": row["date_key"],
            "entity_key": row["entity_key"],
            "as_of_date": day,
            "entity_id": entity,
            "reporting_currency": row["reporting_currency"],
            **{column: row[column] for column in reported},
            **{column: row[column] for column in ("l2b_cap_binds", "l2_cap_binds", "inflow_cap_binds")},
            "deal_count": row["deal_count"],
            "adjusted_deal_count": row["adjusted_deal_count"],
        }
        for (scenario, day, entity), row in lcr.items()
        if scenario == "base"
    }
    assert _by(_table(spark, "agg_lcr_date_entity"), "as_of_date", "entity_id") == expected_base

    actual = _by(_table(spark, "agg_lcr_date_entity_scenario"), "scenario", "as_of_date", "entity_id")
    assert set(actual) == set(lcr)
    for (scenario, day, entity), row in actual.items():
        mine, base = lcr[(scenario, day, entity)], lcr[("base", day, entity)]
        for measure in ("hqla", "net_cash_outflows", "lcr"):
            assert row[measure] == mine[measure] and row[f"base_{measure}"] == base[measure]
            if measure == "lcr":  # a double
                assert row[f"{measure}_change"] == pytest.approx(mine[measure] - base[measure], abs=1e-9)
            else:  # money: exact
                assert row[f"{measure}_change"] == mine[measure] - base[measure]
        if scenario == "base":
            assert row["lcr_change"] == 0


@pytest.mark.e2e
def test_bi_category_aggregates_count_the_deals_and_add_up_the_categories(spark, star):
    deals = _table(spark, "fct_deal_liquidity")
    categories = _table(spark, "int_lcr_category_totals__adjusted")
    key = ("scenario", "as_of_date", "entity_id", "category_code")

    summary = _by(_table(spark, "mv_lcr_summary"), *key)
    deal_counts: dict[tuple, int] = defaultdict(int)
    adjusted_counts: dict[tuple, int] = defaultdict(int)
    for deal in deals:
        deal_counts[tuple(deal[column] for column in key)] += 1
        adjusted_counts[tuple(deal[column] for column in key)] += bool(deal["is_adjusted"])
    assert {k: row["deal_count"] for k, row in summary.items()} == dict(deal_counts)
    for k, row in summary.items():
        category = _by(categories, *key)[k]
        assert row["weighted_amount"] == category["weighted_amount"]
        assert row["has_adjustments"] == (adjusted_counts[k] > 0 or category["is_adjusted"]), k
    assert any(row["has_adjustments"] for row in summary.values())
    assert not all(row["has_adjustments"] for row in summary.values())

    expected: dict[tuple, dict] = defaultdict(
        lambda: {"entity_count": 0, "deal_count": 0, "weighted": Decimal(0)}
    )
    for category in categories:
        if category["scenario"] == "base":
            totals = expected[
                (category["as_of_date"], category["category_code"], category["reporting_currency"])
            ]
            totals["entity_count"] += 1
            totals["deal_count"] += category["deal_count"]
            totals["weighted"] += category["weighted_amount"]
    actual = _by(_table(spark, "agg_lcr_date_category"), "as_of_date", "category_code", "reporting_currency")
    assert set(actual) == set(expected)
    for k, row in actual.items():
        assert (row["entity_count"], row["deal_count"]) == (
            expected[k]["entity_count"],
            expected[k]["deal_count"],
        )
        assert row["weighted_amount"] == expected[k]["weighted"]  # money: exact


@pytest.mark.e2e
def test_bi_current_view_keeps_the_last_days_up_to_the_latest_date(spark, star):
    everything = {(row["scenario"], row["as_of_date"], row["entity_id"]) for row in _table(spark, "fct_lcr")}
    latest = max(day for _, day, _ in everything)
    assert {
        (r["scenario"], r["as_of_date"], r["entity_id"]) for r in _table(spark, "mv_lcr_current")
    } == everything

    # A two-day window keeps the latest two as-of dates only (the bank has three).
    invoke_dbt(["run", "--select", "mv_lcr_current"], star["settings"], {"bi_current_days": 2})
    window = {(r["scenario"], r["as_of_date"], r["entity_id"]) for r in _table(spark, "mv_lcr_current")}
    assert window == {row for row in everything if row[1] > latest - dt.timedelta(days=2)}
    assert len({day for _, day, _ in window}) == 2
    # On Spark the "materialized views" are tables (configuration, dbt_project.yml).
    assert spark.sql(f"describe table extended {SCHEMA}.mv_lcr_summary").where("col_name = 'Type'").first()[
        1
    ] == ("MANAGED")
