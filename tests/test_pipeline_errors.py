"""Failure paths of the deal-level run: contract errors, refused runs, reruns, rejects, CLI, seeds.

Every test works on copies under tmp_path and its own lake folder (passed as `lake_uri` or
`--lake`, never through the environment), uses the session's one SparkSession, and compares whole
outputs or exact messages. `run_jobs` is enough: nothing here needs dbt.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from regcalc import contract
from regcalc.cli import main
from regcalc.jobs.ingest import InputContractError
from regcalc.params import REGULATORY_DIR, load_parameters
from regcalc.pipeline import DEAL_DATASET, RejectThresholdError, run_jobs
from regcalc.settings import RegcalcError

CASES_DIR = Path(__file__).parent / "cases"
INPUT_FILES = tuple(f"{dataset.name}.csv" for dataset in contract.ALL_DATASETS)
LAKE_DATASETS = (DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS))
DAY1, DAY2 = date(2026, 9, 30), date(2026, 10, 1)
DEALS_HEADER = ",".join(contract.DEALS.columns)

# tests/cases/rejects/deals.csv: line and reject reason of each rejected deal.
REJECT_LINES = {
    "R03": (4, "unknown_product_type"),
    "R04": (5, "negative_amount"),
    "R05": (6, "unknown_counterparty"),
    "R06": (7, "unknown_currency"),
    "R07": (8, "bad_date"),
    "R08": (9, "maturity_before_as_of"),
    "R09": (10, "missing_hqla_class"),
    "R10": (11, "malformed_row"),
}
EXAMPLE = re.compile(r"  (?P<where>[^:]+:\d+): deal (?P<deal>'[^']*'): (?P<reason>\w+): (?P<detail>.+)")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def copy_case(case: str, dest: Path) -> Path:
    """The four contract files of a hand case (no README, no expectations) in a fresh folder."""
    dest.mkdir(parents=True)
    for name in INPUT_FILES:
        shutil.copyfile(CASES_DIR / case / name, dest / name)
    return dest


def replace_line(path: Path, line_number: int, text: str) -> None:
    """Replace 1-based line `line_number` of a text file (line 1 is the CSV header)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line_number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every directory and file under root: relative path -> (size, sha256, mtime_ns) or 'dir'."""
    if not root.exists():
        return {}
    result: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_dir():
            result[key] = ("dir",)
        else:
            stat = path.stat()
            result[key] = (stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns)
    return result


def partition_files(lake: Path, day: date) -> dict[str, tuple[int, int]]:
    """Files of the `day` partition of every lake dataset: relative path -> (size, mtime_ns)."""
    files = {}
    for dataset in LAKE_DATASETS:
        folder = lake / dataset / f"as_of_date={day.isoformat()}"
        assert folder.is_dir(), folder
        for path in sorted(folder.iterdir()):
            stat = path.stat()
            files[path.relative_to(lake).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def run_metadata(lake: Path, dataset: str, day: date) -> dict:
    return json.loads((lake / dataset / f"as_of_date={day.isoformat()}" / "_regcalc_run.json").read_text())


def assert_no_staging_left(lake: Path) -> None:
    staging = lake / "_staging"
    assert not staging.exists() or sorted(p.name for p in staging.iterdir()) == []


def deal_rows(spark, lake: Path, day: date | None = None) -> list[dict]:
    frame = spark.read.parquet(str(lake / DEAL_DATASET))
    if day is not None:
        frame = frame.where(F.col("as_of_date") == F.lit(day))
    return sorted((row.asDict() for row in frame.collect()), key=lambda row: row["deal_id"])


def rows_per_date(spark, lake: Path) -> dict:
    frame = spark.read.parquet(str(lake / DEAL_DATASET))
    return {row["as_of_date"]: row["count"] for row in frame.groupBy("as_of_date").count().collect()}


# ---------------------------------------------------------------------------------------------
# 1-2. Input contract errors stop the run before anything is written
# ---------------------------------------------------------------------------------------------


def test_missing_contract_column_names_file_and_column(spark, tmp_path):
    source = copy_case("no_cap_binds", tmp_path / "input")
    deals = source / "deals.csv"
    with (CASES_DIR / "no_cap_binds" / "deals.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept = [column for column in contract.DEALS.columns if column != "hqla_class"]
    with deals.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, kept, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lake = tmp_path / "lake"

    with pytest.raises(InputContractError) as caught:
        run_jobs(spark, str(lake), source)

    assert str(caught.value) == (
        f"{deals}: missing column(s) hqla_class for deals; the contract needs "
        f"{', '.join(contract.DEALS.columns)} (extra columns are allowed)"
    )
    assert not lake.exists()


def _break_reference_rows(source: Path) -> None:
    counterparties = source / "counterparties.csv"
    # Line 3 (UST): a counterparty type the contract does not know.
    replace_line(counterparties, 3, "2026-09-30,UST,US Treasury,hedge_fund,US")
    # Line 6 (CORP1) becomes a second CB_US for the same date: duplicate of line 2.
    replace_line(counterparties, 6, "2026-09-30,CB_US,Federal Reserve again,central_bank,US")
    # fx_rates line 3 (EUR): not a number.
    replace_line(source / "fx_rates.csv", 3, "2026-09-30,EUR,abc")


COUNTERPARTY_PROBLEMS = [
    "counterparties.csv:3: column counterparty_type: 'hedge_fund' is not one of "
    + ", ".join(contract.COUNTERPARTY_TYPES),
    "counterparties.csv:6: duplicate key ('2026-09-30', 'CB_US') (first on line 2)",
]
FX_PROBLEMS = ["fx_rates.csv:3: column rate_to_usd: 'abc' is not a number"]


def test_bad_reference_rows_are_listed_by_file_line_and_column(spark, tmp_path):
    """Every reference problem of every file comes in one error, with exact file:line: column."""
    source = copy_case("rejects", tmp_path / "input")
    _break_reference_rows(source)
    lake = tmp_path / "lake"

    with pytest.raises(InputContractError) as caught:
        run_jobs(spark, str(lake), source)
    assert str(caught.value) == (
        "reference data: 3 problem(s); fix them and rerun:\n  "
        + "\n  ".join(COUNTERPARTY_PROBLEMS + FX_PROBLEMS)
    )
    assert not lake.exists()


def test_bad_reference_rows_in_several_files_are_listed_in_one_error(spark, tmp_path):
    source = copy_case("rejects", tmp_path / "input")
    _break_reference_rows(source)
    lake = tmp_path / "lake"

    with pytest.raises(InputContractError) as caught:
        run_jobs(spark, str(lake), source)

    listed = [line.strip() for line in str(caught.value).splitlines()]
    assert [line for line in listed if ".csv:" in line] == COUNTERPARTY_PROBLEMS + FX_PROBLEMS
    assert not lake.exists()


# ---------------------------------------------------------------------------------------------
# 3. A refused run leaves the lake byte for byte as it was
# ---------------------------------------------------------------------------------------------


def test_reject_threshold_refuses_and_leaves_lake_unchanged(spark, tmp_path):
    lake = tmp_path / "lake"
    earlier = run_jobs(spark, str(lake), copy_case("multi_currency", tmp_path / "earlier"))
    assert earlier.published == [
        f"{dataset}/as_of_date={day.isoformat()}" for dataset in LAKE_DATASETS for day in (DAY1, DAY2)
    ]
    before = snapshot(lake)
    assert f"{DEAL_DATASET}/as_of_date=2026-09-30/_regcalc_run.json" in before

    source = copy_case("rejects", tmp_path / "input")
    with pytest.raises(RejectThresholdError) as caught:
        run_jobs(spark, str(lake), source, max_reject_rate=0.5)

    message = str(caught.value).splitlines()
    assert message[0] == "8 of 10 deals rejected (80.00%) > --max-reject-rate 50.00%; nothing was published."
    assert message[1] == "  by reason: " + ", ".join(
        f"{reason}: 1" for reason in sorted(reason for _, reason in REJECT_LINES.values())
    )
    # One example per rejected deal, at its line of deals.csv; the wording of each detail belongs
    # to validate_deals, so only two stable ones are compared in full.
    examples = [EXAMPLE.fullmatch(line) for line in message[2:-1]]
    assert None not in examples, message[2:-1]
    assert sorted((m["where"], m["deal"], m["reason"]) for m in examples) == sorted(
        (f"deals.csv:{line}", repr(deal), reason) for deal, (line, reason) in REJECT_LINES.items()
    )
    assert "  deals.csv:4: deal 'R03': unknown_product_type: product_type: 'swap'" in message
    assert "  deals.csv:11: deal 'R10': malformed_row: wrong number of fields" in message
    assert message[-1] == f"Fix the rows in {source} or raise --max-reject-rate to publish the valid rows."

    assert snapshot(lake) == before
    assert_no_staging_left(lake)


# ---------------------------------------------------------------------------------------------
# 4. Rerunning one date replaces that date only
# ---------------------------------------------------------------------------------------------


def test_rerun_of_one_date_replaces_that_partition_only(spark, tmp_path):
    lake = tmp_path / "lake"
    source = copy_case("multi_currency", tmp_path / "input")
    first = run_jobs(spark, str(lake), source)
    assert first.as_of_dates == [DAY1, DAY2]
    assert first.accepted == {DAY1: 12, DAY2: 12} and first.rejected == {}
    first_counts = rows_per_date(spark, lake)
    assert first_counts == {DAY1: 12, DAY2: 12}
    first_day2_rows = deal_rows(spark, lake, DAY2)
    day1_files = partition_files(lake, DAY1)
    day2_files = partition_files(lake, DAY2)

    second = run_jobs(spark, str(lake), source, as_of_dates=[DAY2])

    assert second.run_id != first.run_id
    assert second.as_of_dates == [DAY2]
    assert second.published == [f"{dataset}/as_of_date=2026-10-01" for dataset in LAKE_DATASETS]
    assert partition_files(lake, DAY1) == day1_files
    new_day2_files = partition_files(lake, DAY2)
    old_parquet = {name for name in day2_files if name.endswith(".parquet")}
    new_parquet = {name for name in new_day2_files if name.endswith(".parquet")}
    assert new_parquet and old_parquet.isdisjoint(new_parquet)
    for dataset in LAKE_DATASETS:
        assert run_metadata(lake, dataset, DAY1)["run_id"] == first.run_id, dataset
        assert run_metadata(lake, dataset, DAY2)["run_id"] == second.run_id, dataset
    assert rows_per_date(spark, lake) == first_counts

    second_day2_rows = deal_rows(spark, lake, DAY2)
    assert {row["run_id"] for row in second_day2_rows} == {second.run_id}
    assert [{**row, "run_id": None} for row in second_day2_rows] == [
        {**row, "run_id": None} for row in first_day2_rows
    ]
    assert {row["run_id"] for row in deal_rows(spark, lake, DAY1)} == {first.run_id}
    assert_no_staging_left(lake)


# ---------------------------------------------------------------------------------------------
# 5. Rejected rows keep what the bank sent
# ---------------------------------------------------------------------------------------------

REJECT_INPUT = [
    ("G01,2026-09-30,E1,CB_US,cash,USD,1000,,,,,,,", None),
    ("X01,2026-09-30,E1,BANK1,swap,USD,100,2026-10-15,,,,,,", "unknown_product_type"),
    ("X02,2026-09-30,E1,BANK1,deposit,USD,100,31/10/2026,,false,false,false,false,", "bad_date"),
    ("X03,2026-02-30,E1,BANK1,deposit,USD,100,,,false,false,false,false,", "bad_date"),
    ('X04,2026-09-30,E1,BANK1,deposit,USD,"1,000"', "malformed_row"),
    ("X05,2026-09-30,E1,BANK1,deposit,USD,100,,,false,false,false,false,,surplus", "malformed_row"),
]
PADDED_INPUT = ("X06,2026-09-30,E1,BANK1, swap ,USD,100,2026-10-15,,,,,,", "unknown_product_type")


def _non_empty(record: dict) -> dict:
    return {key: value for key, value in record.items() if value not in ("", None)}


@pytest.fixture(scope="module")
def reject_run(spark, tmp_path_factory) -> dict:
    """One run over REJECT_INPUT + PADDED_INPUT: its lake, report and lake rows by deal_id."""
    work = tmp_path_factory.mktemp("raw_record")
    source = copy_case("rejects", work / "input")
    lines = [text for text, _ in [*REJECT_INPUT, PADDED_INPUT]]
    (source / "deals.csv").write_text("\n".join([DEALS_HEADER, *lines]) + "\n", encoding="utf-8")
    report = run_jobs(spark, str(work / "lake"), source, max_reject_rate=1.0)
    assert report.accepted == {DAY1: 1}
    rows = {row["deal_id"]: row for row in deal_rows(spark, work / "lake")}
    return {"work": work, "lake": work / "lake", "report": report, "rows": rows}


@pytest.fixture(scope="module")
def rejected_rows(reject_run) -> dict[str, dict]:
    return reject_run["rows"]


def _expected_raw_record(text: str, reason: str) -> str | dict:
    if reason == "malformed_row":
        return text
    return _non_empty(dict(zip(contract.DEALS.columns, next(csv.reader([text])), strict=True)))


def test_rejected_rows_keep_raw_record_as_sent(rejected_rows):
    assert sorted(rejected_rows) == sorted([text.split(",")[0] for text, _ in REJECT_INPUT] + ["X06"])
    for text, reason in REJECT_INPUT:
        row = rejected_rows[text.split(",")[0]]
        assert row["reject_reason"] == reason, text
        assert row["source_file"] == "deals.csv"
        if reason is None:
            assert row["raw_record"] is None
            continue
        raw = row["raw_record"] if reason == "malformed_row" else _non_empty(json.loads(row["raw_record"]))
        assert raw == _expected_raw_record(text, reason), text
        assert (row["category_code"], row["weighted_amount"], row["amount_rep"]) == (None, None, None), text
    assert rejected_rows["X03"]["as_of_date"] is None
    assert rejected_rows["X03"]["reject_detail"] == "as_of_date: '2026-02-30'"
    assert rejected_rows["X02"]["reject_detail"] == "maturity_date: '31/10/2026'"
    assert rejected_rows["X01"]["reject_detail"] == "product_type: 'swap'"


def test_rejected_row_raw_record_keeps_surrounding_spaces(rejected_rows):
    text, reason = PADDED_INPUT
    row = rejected_rows["X06"]
    assert row["reject_reason"] == reason
    assert _non_empty(json.loads(row["raw_record"])) == _expected_raw_record(text, reason)


def test_run_for_another_date_keeps_earlier_rejects_with_unreadable_as_of_date(spark, reject_run):
    """The rows a run published stay as they were when a later run covers other dates only."""
    lake = reject_run["lake"]
    earlier_id = reject_run["report"].run_id
    earlier_rows = [row for row in deal_rows(spark, lake) if row["run_id"] == earlier_id]
    assert [row["as_of_date"] for row in earlier_rows if row["deal_id"] == "X03"] == [None]
    source = copy_case("multi_currency", reject_run["work"] / "later_input")
    with (source / "deals.csv").open("a", encoding="utf-8") as handle:
        handle.write("Y01,2026-10-99,E_DE,ECB,cash,EUR,1000,,,,,,,\n")

    later = run_jobs(spark, str(lake), source, as_of_dates=[DAY2], max_reject_rate=1.0)

    assert later.as_of_dates == [DAY2]
    assert [row for row in deal_rows(spark, lake) if row["run_id"] == earlier_id] == earlier_rows


def test_deals_with_an_extra_column_are_read_by_name(spark, tmp_path):
    """check_columns says extra columns are allowed: a trailing one changes nothing."""
    source = copy_case("rejects", tmp_path / "input")
    lines = (source / "deals.csv").read_text(encoding="utf-8").splitlines()
    (source / "deals.csv").write_text(
        "\n".join([lines[0] + ",desk", *(line + ",FX desk" for line in lines[1:])]) + "\n", encoding="utf-8"
    )
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    assert report.accepted == {DAY1: 2}
    assert {row["deal_id"]: row["reject_reason"] for row in deal_rows(spark, lake)} == {
        "R01": None,
        "R02": None,
        **{deal: reason for deal, (_, reason) in REJECT_LINES.items()},
    }


# ---------------------------------------------------------------------------------------------
# 6. The command line
# ---------------------------------------------------------------------------------------------

HELP_OPTIONS = {
    (): ["-h", "--help", "generate", "run", "lcr", "recalc", "REGCALC_LAKE"],
    ("generate",): ["--deals", "--entities", "--dates", "--seed", "--first-date", "--format", "--out"],
    ("run",): ["--input", "--lake", "--as-of", "--target", "--max-reject-rate", "--skip-dbt"],
    ("lcr",): ["--as-of", "--entity", "--format"],
    ("recalc",): ["--plan", "--skip-tests", "--target"],
}


@pytest.mark.parametrize("command", list(HELP_OPTIONS), ids=lambda c: " ".join(("regcalc", *c)))
def test_cli_help_lists_every_option(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('regcalc', *command))} ")
    assert [option for option in HELP_OPTIONS[command] if option not in out] == []


def test_cli_run_with_missing_input_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["run", "--input", "/nonexistent", "--lake", str(tmp_path / "lake"), "--skip-dbt"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.endswith(
        "regcalc run: error: argument --input: /nonexistent is not a folder "
        "(generate one: regcalc generate --out /nonexistent)\n"
    )
    assert captured.out == ""
    assert not (tmp_path / "lake").exists()


def test_cli_generate_rejects_zero_deals(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["generate", "--deals", "0", "--out", str(tmp_path / "bank")])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "regcalc generate: error: argument --deals: 0 must be > 0" in err
    assert not (tmp_path / "bank").exists()


def test_cli_run_over_reject_threshold_publishes_nothing(spark, tmp_path, capsys):
    source = copy_case("rejects", tmp_path / "input")
    lake = tmp_path / "lake"
    argv = ["run", "--input", str(source), "--lake", str(lake), "--skip-dbt", "--max-reject-rate", "0.01"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    error = err[err.index("regcalc run: error:") :]  # after the progress lines
    assert error.startswith(
        "regcalc run: error: 8 of 10 deals rejected (80.00%) > --max-reject-rate 1.00%; "
        "nothing was published.\n"
    )
    assert "  deals.csv:11: deal 'R10': malformed_row: wrong number of fields\n" in err
    assert_no_staging_left(lake)
    assert [path for path in lake.rglob("*") if path.is_file()] == []


# ---------------------------------------------------------------------------------------------
# 7. Regulatory parameter seeds
# ---------------------------------------------------------------------------------------------


def test_broken_parameter_seeds_list_every_problem(tmp_path):
    seeds = tmp_path / "regulatory"
    shutil.copytree(REGULATORY_DIR, seeds)

    def edit(name: str, line: int, column: str, value: str) -> str:
        path = seeds / name
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        old = rows[line - 1][rows[0].index(column)]
        rows[line - 1][rows[0].index(column)] = value
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
        return old

    edit("param_outflow_rates.csv", 3, "run_off_rate", "x")
    edit("lcr_classification_rules.csv", 4, "category_code", "NO_SUCH_CATEGORY")
    first_order = edit("lcr_classification_rules.csv", 6, "rule_order", "10")
    assert first_order != "10"

    with pytest.raises(RegcalcError) as caught:
        load_parameters(seeds)

    assert str(caught.value) == (
        "regulatory parameter seeds are invalid:\n"
        "  param_outflow_rates.csv:3: column run_off_rate: 'x' is not a number\n"
        "  lcr_classification_rules.csv:4: column category_code: 'NO_SUCH_CATEGORY' is in no parameter seed\n"
        "  lcr_classification_rules.csv:6: column rule_order: 10 is used twice; the order must be unique"
    )
    # The untouched seeds load.
    assert load_parameters(REGULATORY_DIR).horizon_days == 30
