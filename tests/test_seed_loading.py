"""Seeds on the Spark session target load exactly what the CSV says (macros/seeds/).

dbt runs in-process on the test session's SparkSession and loads the fixture seeds under
seeds/tests/ (disabled unless `regcalc_test_fixtures` is set). Each loaded table is compared with
the CSV read independently by Python's csv module, row by row and value by value.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
FIXTURE_DIR = PROJECT_DIR / "seeds" / "tests"
SCHEMA = "test_seed_loading"
BATCH_ROWS = 200  # spark__get_batch_size in macros/seeds/spark_seed_loading.sql

# The CSV text of a non-empty cell, parsed as the loaded column's Spark type.
PARSERS = {
    "string": str,
    "bigint": int,
    "double": float,
    "boolean": {"true": True, "false": False}.__getitem__,
    "date": dt.date.fromisoformat,
}


@pytest.fixture(scope="module")
def seeded(spark, tmp_path_factory):
    """Run `dbt seed` once for all fixture seeds; return the INSERT statements per seed."""
    from dbt.cli.main import dbtRunner

    inserts: Counter[str] = Counter()

    def count_inserts(event) -> None:
        if event.info.name == "SQLQuery":
            match = re.search(r"insert into\s+`?\w+`?\.`?(\w+)`?", event.data.sql, re.IGNORECASE)
            if match:
                inserts[match.group(1)] += 1

    out = tmp_path_factory.mktemp("dbt_seed")
    common = [
        "--target", "local", "--vars", "{regcalc_test_fixtures: true}",
        "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR / "profiles"),
        "--target-path", str(out / "target"), "--log-path", str(out / "logs"),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REGCALC_SCHEMA", SCHEMA)
        parsed = dbtRunner().invoke(["parse", *common])
        assert parsed.success, parsed.exception
        runner = dbtRunner(manifest=parsed.result, callbacks=[count_inserts])
        result = runner.invoke(["seed", "--select", "tag:test_fixture", "--full-refresh", *common])
    assert result.success, result.exception or [r.message for r in result.result]
    return {"inserts": inserts}


def read_csv(name: str) -> tuple[list[str], list[list[str | None]]]:
    with open(FIXTURE_DIR / f"{name}.csv", newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle)
    return header, [[cell if cell != "" else None for cell in row] for row in rows]


def parse(spark_type: str, cell: str):
    if spark_type.startswith("decimal"):
        return Decimal(cell)
    return PARSERS[spark_type](cell)


def assert_loaded_as_csv(spark, name: str, expected_types: dict[str, str]) -> None:
    header, rows = read_csv(name)
    table = spark.table(f"{SCHEMA}.{name}")
    types = {field.name: field.dataType.simpleString() for field in table.schema.fields}
    assert list(types) == header
    assert types == expected_types
    loaded = sorted(table.collect(), key=lambda row: row[0])
    assert len(loaded) == len(rows)
    for csv_row, row in zip(rows, loaded, strict=True):
        for column, cell, value in zip(header, csv_row, row, strict=True):
            expected = None if cell is None else parse(types[column], cell)
            assert value == expected, f"{name} id={csv_row[0]} {column}: loaded {value!r}, csv {expected!r}"


def test_hostile_values_round_trip(spark, seeded):
    assert_loaded_as_csv(
        spark,
        "fixture_seed_hostile",
        {
            "rule_id": "bigint",
            "rule_text": "string",
            "note": "string",
            "rate": "double",
            "amount": "decimal(18,4)",  # column_types override
            "code": "string",  # column_types override keeps "007"
            "effective_date": "date",
            "is_active": "boolean",
            "always_empty": "bigint",  # dbt infers an all-blank column as integer
        },
    )
    assert seeded["inserts"]["fixture_seed_hostile"] == 1


def test_500_rows_load_in_batches(spark, seeded):
    assert_loaded_as_csv(
        spark,
        "fixture_seed_batch_500",
        {"row_id": "bigint", "label": "string", "weight": "double", "flag": "boolean", "as_of_date": "date"},
    )
    # Batched INSERTs (the stock loader's row-at-a-time ~50 rows/s made seeds a fixed cost); their speed is
    # measured by make bench, not asserted here.
    assert seeded["inserts"]["fixture_seed_batch_500"] == math.ceil(500 / BATCH_ROWS)


def test_dbt_null_markers_are_null(spark, seeded):
    """dbt-core (agate) reads '', 'null' in any case and blank cells as NULL; other text stays."""
    _, rows = read_csv("fixture_seed_null_markers")
    loaded = dict(spark.table(f"{SCHEMA}.fixture_seed_null_markers").collect())
    expected = {
        int(marker_id): None if (marker or "").strip().lower() in ("", "null") else marker
        for marker_id, marker in rows
    }
    assert loaded == expected
    assert {loaded[i] for i in (7, 8, 9, 10)} == {"None", "none", "NA", "n/a"}


def test_an_unchanged_seed_is_not_loaded_again_and_a_changed_one_is(spark, seeded, tmp_path):
    """macros/seeds/seed_unchanged.sql: a seed table that holds its CSV is kept, even with --full-refresh;
    an edited CSV is loaded again."""
    from dbt.cli.main import dbtRunner

    from regcalc.dbt import copy_project

    project = copy_project(tmp_path / "project")
    common = [
        "--target", "local", "--vars", "{regcalc_test_fixtures: true}",
        "--project-dir", str(project), "--profiles-dir", str(PROJECT_DIR / "profiles"),
        "--select", "fixture_seed_hostile", "fixture_seed_null_markers", "--full-refresh",
    ]  # fmt: skip

    def seed() -> dict[str, str]:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("REGCALC_SCHEMA", SCHEMA)
            result = dbtRunner().invoke(["seed", *common])
        assert result.success, result.exception
        seeds = [r for r in result.result if r.node.resource_type == "seed"]  # not the hooks
        return {r.node.name: r.adapter_response["code"] for r in seeds}

    assert seed() == {"fixture_seed_hostile": "UNCHANGED", "fixture_seed_null_markers": "UNCHANGED"}
    markers = project / "seeds" / "tests" / "fixture_seed_null_markers.csv"
    markers.write_text(markers.read_text(encoding="utf-8") + "99,changed\n", encoding="utf-8")
    assert seed() == {"fixture_seed_hostile": "UNCHANGED", "fixture_seed_null_markers": "CREATE"}
    loaded = dict(spark.table(f"{SCHEMA}.fixture_seed_null_markers").collect())
    assert loaded[99] == "changed"
    assert loaded[12] == "0" and len(loaded) == 13
