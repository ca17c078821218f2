from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from regcalc.pipeline import DEAL_DATASET, run_jobs

CASES_DIR = Path(__file__).parent / "cases"


def build_input(out: Path) -> None:
    out.mkdir(parents=True)
    shutil.copy(CASES_DIR / "no_cap_binds" / "counterparties.csv", out / "counterparties.csv")
    shutil.copy(CASES_DIR / "no_cap_binds" / "fx_rates.csv", out / "fx_rates.csv")
    for name in ("deals", "entities"):
        with (out / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for case, entity in (("no_cap_binds", "E1"), ("inflow_cap_binds", "E2")):
                with (CASES_DIR / case / f"{name}.csv").open(newline="") as source:
                    header, *rows = csv.reader(source)
                if entity == "E1":
                    writer.writerow(header)
                at = header.index("entity_id")
                for row in rows:
                    row[at] = entity
                    writer.writerow(row)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    work = tmp_path_factory.mktemp("adjustments")
    build_input(work / "input")
    run_jobs(spark, str(work / "lake"), work / "input")
    return work


def test_explore(spark, lake):
    df = spark.read.parquet(str(lake / "lake" / DEAL_DATASET))
    df.show(40, truncate=False, vertical=False)
    for r in df.collect():
        print(r.asDict())
