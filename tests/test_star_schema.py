"""The star schema (models/marts/star) end to end: a generated bank whose entity is renamed and
whose counterparties change between as-of dates, through the jobs and `dbt build` (which also runs
the star's data tests), compared with the SCD2 versions computed here from the input CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import defaultdict
from pathlib import Path

import pytest

from regcalc.dbt import invoke_dbt
from regcalc.pipeline import run_jobs
from regcalc.settings import Settings

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
    facts = _table(spark, "fct_liquidity_deal")
    assert len(facts) == spark.table(f"{SCHEMA}.fct_deal_liquidity").count()
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

    lcr_rows = _table(spark, "fct_lcr_entity_day")
    assert len(lcr_rows) == spark.table(f"{SCHEMA}.fct_lcr").count()
    for row in lcr_rows:
        entity = _valid_version(entities, "entity_id", row["entity_id"], row["as_of_date"])
        assert row["entity_key"] == _surrogate_key(row["entity_id"], entity["valid_from"].isoformat())


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
    rule_keys = {row["rule_id"]: row["adjustment_key"] for row in _table(spark, "dim_adjustment")}
    expected = {
        (fact["deal_row_key"], rule_keys[rule_id])
        for fact in _table(spark, "fct_liquidity_deal")
        if fact["adjustment_rule_ids"]
        for rule_id in fact["adjustment_rule_ids"].split(",")
    }
    actual = {(row["deal_row_key"], row["adjustment_key"]) for row in _table(spark, "bridge_deal_adjustment")}
    assert actual == expected
