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
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow
import pyarrow.parquet
import pytest
import yaml
from pyspark.sql import functions as F

from regcalc import contract, spark_errors
from regcalc.cli import main
from regcalc.jobs.ingest import InputContractError, add_reject_checks
from regcalc.lake import Lake
from regcalc.params import REGULATORY_DIR, load_parameters
from regcalc.pipeline import DEAL_DATASET, RejectThresholdError, run_jobs
from regcalc.settings import PROJECT_DIR, RegcalcError

CASES_DIR = Path(__file__).parent / "cases"
INPUT_FILES = tuple(f"{dataset.name}.csv" for dataset in contract.ALL_DATASETS)
LAKE_DATASETS = (DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS))
DAY1, DAY2 = date(2026, 9, 30), date(2026, 10, 1)
DEALS_HEADER = ",".join(contract.DEALS.columns)

# tests/cases/rejects/deals.csv: the report's example line of each rejected row (where, deal, reason, detail).
DUPLICATE_DETAIL = (
    "deal_id '1.23457E+15' is on 2 rows for as_of_date 2026-09-30 (at deals.csv:21, deals.csv:22)"
)
REJECT_EXAMPLES = [
    "deals.csv:4: deal 'R03': unknown_product_type: product_type: 'swap'",
    "deals.csv:5: deal 'R04': negative_amount: amount: -100",
    "deals.csv:6: deal 'R05': unknown_counterparty: counterparty_id: NOPE not in counterparties for this "
    "date",
    "deals.csv:7: deal 'R06': unknown_currency: currency JPY or reporting currency USD not in fx_rates for "
    "this date",
    "deals.csv:8: deal 'R07': bad_date: maturity_date: '31/10/2026'",
    "deals.csv:9: deal 'R08': maturity_before_as_of: maturity_date 2026-09-15 is before as_of_date "
    "2026-09-30",
    "deals.csv:10: deal 'R09': missing_hqla_class: hqla_class: required for security",
    "deals.csv:11: deal 'R10': malformed_row: wrong number of fields",
    "deals.csv:12: deal 'R11': missing_field: counterparty_id: empty",
    "deals.csv:13: deal 'R12': bad_amount: amount: 'nan'",
    "deals.csv:14: deal 'R13': bad_amount: amount: '1e400'",
    "deals.csv:15: deal 'R14': bad_amount: collateral_market_value: '-Infinity'",
    "deals.csv:16: deal 'R15': bad_amount: amount: '-Infinity'",
    "deals.csv:17: deal 'R16': unknown_hqla_class: hqla_class: 'L3'",
    "deals.csv:18: deal 'R17': bad_flag: is_insured: 'maybe'",
    "deals.csv:19: deal 'R18': missing_collateral_value: collateral_market_value: required for repo",
    "deals.csv:20: deal 'R19': unknown_entity: entity_id: E9 not in entities for this date",
    f"deals.csv:21: deal '1.23457E+15': duplicate_deal_id: {DUPLICATE_DETAIL}",
    f"deals.csv:22: deal '1.23457E+15': duplicate_deal_id: {DUPLICATE_DETAIL}",
    "deals.csv:23: deal 'R20': unknown_contract_version: contract_version: '3' (this regcalc reads "
    "versions 1, 2; blank is 1)",
    "deals.csv:24: deal 'R21': product_not_in_version: product_type: 'debt_issued' needs contract_version 2; "
    "this row is version 1",
]
# Deal id -> reject reason, from the examples.


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
    """Files of the current `day` version of every lake dataset: relative path -> (size, mtime_ns)."""
    files = {}
    for dataset in LAKE_DATASETS:
        folder = Path(Lake(None, str(lake)).published(dataset)[day.isoformat()].location)
        assert folder.is_dir(), folder
        for path in sorted(folder.iterdir()):
            stat = path.stat()
            files[path.relative_to(lake).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def run_metadata(lake: Path, dataset: str, day: date) -> dict:
    return Lake(None, str(lake)).published(dataset)[day.isoformat()].metadata


def assert_no_staging_left(lake: Path) -> None:
    """Every version folder in the lake is a committed version: nothing left of a refused or failed run."""
    committed = {
        partition.location
        for dataset in LAKE_DATASETS
        for versions in Lake(None, str(lake)).versions(dataset).values()
        for partition in versions
    }
    folders = {str(path) for dataset in LAKE_DATASETS for path in lake.glob(f"{dataset}/*/as_of_date=*")}
    assert folders == committed


def deal_rows(spark, lake: Path, day: date | None = None) -> list[dict]:
    frame = Lake(spark, str(lake)).read(DEAL_DATASET)
    if day is not None:
        frame = frame.where(F.col("as_of_date") == F.lit(day))
    return sorted((row.asDict() for row in frame.collect()), key=lambda row: row["deal_id"])


def rows_per_date(spark, lake: Path) -> dict:
    frame = Lake(spark, str(lake)).read(DEAL_DATASET)
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
    assert f"_runs/{earlier.run_id}.json" in before

    source = copy_case("rejects", tmp_path / "input")
    with pytest.raises(RejectThresholdError) as caught:
        run_jobs(spark, str(lake), source, max_reject_rate=0.5)

    message = str(caught.value).splitlines()
    assert message[0] == "21 of 23 deals rejected (91.30%) > --max-reject-rate 50.00%; nothing was published."
    reasons = Counter(line.split(": ")[2] for line in REJECT_EXAMPLES)
    assert message[1] == "  by reason: " + ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items()))
    # One example per rejected row, at the line of deals.csv where its record starts: 20 of the 21 (the
    # report's limit, pipeline._reject_examples), each one of the rows' lines.
    examples = message[2:-1]
    assert len(set(examples)) == len(examples) == 20 == len(REJECT_EXAMPLES) - 1
    assert set(examples) <= {f"  {line}" for line in REJECT_EXAMPLES}
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
    ('X07,2026-09-30,E1,BANK1,deposit,USD,12" pipe', "malformed_row"),  # a stray quote: no unclosed field
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
        assert (row["category_code"], row["weighted_amount"], row["amount_reporting_ccy"]) == (
            None,
            None,
            None,
        ), text
    assert rejected_rows["X03"]["as_of_date"] is None
    assert rejected_rows["X03"]["reject_detail"] == "as_of_date: '2026-02-30'"
    assert rejected_rows["X02"]["reject_detail"] == "maturity_date: '31/10/2026'"
    assert rejected_rows["X01"]["reject_detail"] == "product_type: 'swap'"
    assert rejected_rows["X07"]["reject_detail"] == "wrong number of fields"


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


def test_contract_v2_rows_are_checked_and_net_derivatives_take_their_direction(spark, tmp_path):
    """The contract_v2 case plus three bad v2 rows: an unknown version, a v2 row whose entity is unknown
    (its raw_record is the signed derivative_net as sent), a signed amount on a product that is not
    derivative_net. The netting sets leave as payable / receivable with the absolute amount."""
    source = copy_case("contract_v2", tmp_path / "input")
    _append(
        source / "deals.csv",
        "W01,2026-09-30,E1,BANK1,derivative_net,USD,-50,,,,,,,,2.0\n"
        "W02,2026-09-30,E9,BANK1,derivative_net,USD,-50,,,,,,,,2\n"
        "W03,2026-09-30,E1,BANK1,deposit,USD,-5,,,false,false,false,false,,2\n",
    )
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    assert sorted(report.examples) == [
        "deals.csv:13: deal 'W01': unknown_contract_version: contract_version: '2.0' (this regcalc reads "
        "versions 1, 2; blank is 1)",
        "deals.csv:14: deal 'W02': unknown_entity: entity_id: E9 not in entities for this date",
        "deals.csv:15: deal 'W03': negative_amount: amount: -5",
    ]
    rows = {row["deal_id"]: row for row in deal_rows(spark, lake)}
    assert {deal: (rows[deal]["product_type"], rows[deal]["amount"]) for deal in ("NS-A", "NS-B", "V08")} == {
        "NS-A": ("derivative_payable", Decimal(700)),
        "NS-B": ("derivative_receivable", Decimal(400)),
        "V08": ("derivative_receivable", Decimal(100)),
    }
    sent = json.loads(rows["W02"]["raw_record"])
    assert (sent["product_type"], sent["amount"], sent["contract_version"]) == ("derivative_net", "-50", "2")


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
    assert sorted((row["deal_id"], row["reject_reason"] or "") for row in deal_rows(spark, lake)) == sorted(
        [("R01", ""), ("R02", "")] + [(line.split("'")[1], line.split(": ")[2]) for line in REJECT_EXAMPLES]
    )


# ---------------------------------------------------------------------------------------------
# 6. The command line
# ---------------------------------------------------------------------------------------------

HELP_OPTIONS = {
    (): ["-h", "--help", "generate", "run", "lcr", "recalc", "REGCALC_LAKE"],
    ("generate",): [
        "--deals",
        "--entities",
        "--dates",
        "--seed",
        "--first-date",
        "--format",
        "--out",
        "--contract-v2",
    ],
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
        "regcalc run: error: 21 of 23 deals rejected (91.30%) > --max-reject-rate 1.00%; "
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


# ---------------------------------------------------------------------------------------------
# 8. Extracts as banks send them: undated reference snapshots, BOM and CRLF, RFC 4180 CSV
#    Each form of multi_currency must publish exactly what the plain case publishes.
# ---------------------------------------------------------------------------------------------


def lake_contents(spark, lake: Path) -> dict[str, list[tuple]]:
    """Every row of every lake dataset, sorted, without what names the run or the file (run_id,
    source_file): what a run published, to compare runs over different forms of one extract."""
    contents = {}
    for dataset in LAKE_DATASETS:
        frame = Lake(spark, str(lake)).read(dataset).drop("run_id", "source_file")
        contents[dataset] = sorted(
            tuple("" if value is None else str(value) for value in row) for row in frame.collect()
        )
    return contents


@pytest.fixture(scope="module")
def plain_run(spark, tmp_path_factory) -> Path:
    """The lake of multi_currency as the case is written (dated snapshots, plain CSV)."""
    work = tmp_path_factory.mktemp("plain")
    report = run_jobs(spark, str(work / "lake"), copy_case("multi_currency", work / "input"))
    assert report.accepted == {DAY1: 12, DAY2: 12} and report.rejected == {}
    return work / "lake"


@pytest.fixture(scope="module")
def plain_lake(spark, plain_run) -> dict[str, list[tuple]]:
    return lake_contents(spark, plain_run)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", line_end: str = "\n"
) -> None:
    """A CSV file as csv.writer writes it (RFC 4180 quoting)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, lineterminator=line_end).writerows([header, *rows])


def undate(path: Path, day: date = DAY1) -> tuple[list[str], list[list[str]]]:
    """The snapshot of `day` of a dated reference file, without its as_of_date column."""
    header, rows = read_rows(path)
    at = header.index("as_of_date")
    kept = [row[:at] + row[at + 1 :] for row in rows if row[at] == day.isoformat()]
    return header[:at] + header[at + 1 :], kept


def write_parquet(path: Path, header: list[str], rows: list[list], types: dict[str, object]) -> None:
    columns = {name: [row[index] for row in rows] for index, name in enumerate(header)}
    schema = pyarrow.schema([(name, types.get(name, pyarrow.string())) for name in header])
    pyarrow.parquet.write_table(pyarrow.table(columns, schema=schema), path)


def test_undated_reference_snapshots_apply_to_every_date(spark, tmp_path, plain_lake):
    """entities and counterparties without as_of_date: one snapshot, published for both dates."""
    source = copy_case("multi_currency", tmp_path / "input")
    for name in ("entities", "counterparties"):
        write_rows(source / f"{name}.csv", *undate(source / f"{name}.csv"))
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source)

    assert report.accepted == {DAY1: 12, DAY2: 12}
    assert report.published == [
        f"{dataset}/as_of_date={day.isoformat()}" for dataset in LAKE_DATASETS for day in (DAY1, DAY2)
    ]
    assert lake_contents(spark, lake) == plain_lake


def test_undated_parquet_snapshot_beside_dated_csv_and_parquet(spark, tmp_path, plain_lake):
    """Parquet reference data: undated entities, dated fx_rates (date and double columns); dated CSV
    counterparties. The two forms mix freely."""
    source = copy_case("multi_currency", tmp_path / "input")
    header, rows = undate(source / "entities.csv")
    write_parquet(source / "entities.parquet", header, rows, {})
    header, rows = read_rows(source / "fx_rates.csv")
    typed = [[date.fromisoformat(day), currency, float(rate)] for day, currency, rate in rows]
    write_parquet(
        source / "fx_rates.parquet",
        header,
        typed,
        {"as_of_date": pyarrow.date32(), "rate_to_usd": pyarrow.float64()},
    )
    (source / "entities.csv").unlink()
    (source / "fx_rates.csv").unlink()
    lake = tmp_path / "lake"

    run_jobs(spark, str(lake), source)

    assert lake_contents(spark, lake) == plain_lake


def test_undated_snapshot_of_a_one_date_run_is_published_for_that_date_only(spark, tmp_path, plain_lake):
    source = copy_case("multi_currency", tmp_path / "input")
    write_rows(source / "counterparties.csv", *undate(source / "counterparties.csv"))
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, as_of_dates=[DAY2])

    assert report.published == [f"{dataset}/as_of_date={DAY2.isoformat()}" for dataset in LAKE_DATASETS]
    day2 = {dataset: [row for row in rows if DAY2.isoformat() in row] for dataset, rows in plain_lake.items()}
    assert lake_contents(spark, lake) == day2


def test_bom_and_crlf_in_every_file_change_nothing(spark, tmp_path, plain_lake):
    """Excel's "CSV UTF-8": a byte-order mark and CRLF line ends, in all four files. A rejected
    deal whose bad value is the last of its line keeps no CR, in its detail or its raw record."""
    source = copy_case("multi_currency", tmp_path / "input")
    for name in INPUT_FILES:
        header, rows = read_rows(source / name)
        if name == "deals.csv":
            rows.append(
                ["B01", "2026-09-30", "E_DE", "ECB", "repo", "EUR", "500", "2026-10-20", "L1"]
                + [""] * 4
                + ["abc"]
            )
        write_rows(source / name, header, rows, encoding="utf-8-sig", line_end="\r\n")
    assert (source / "deals.csv").read_bytes().startswith(b"\xef\xbb\xbfdeal_id,")
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    assert report.examples == ["deals.csv:26: deal 'B01': bad_amount: collateral_market_value: 'abc'"]
    rejected = [row for row in deal_rows(spark, lake) if row["reject_reason"]]
    assert [(row["deal_id"], row["reject_detail"]) for row in rejected] == [
        ("B01", "collateral_market_value: 'abc'")
    ]
    assert json.loads(rejected[0]["raw_record"])["collateral_market_value"] == "abc"
    contents = lake_contents(spark, lake)
    contents[DEAL_DATASET] = [row for row in contents[DEAL_DATASET] if "B01" not in row]
    assert contents == plain_lake
    assert not [row for rows in contents.values() for row in rows if any("\r" in value for value in row)]


def test_rfc4180_quoted_commas_quotes_and_line_breaks_in_part_files(spark, tmp_path, plain_lake):
    """Deals and counterparties as folders of part files whose quoted fields hold commas, doubled
    quotes and line breaks (an extra `comment` column, names over two lines, quoted ids). A rejected
    deal after such records is reported at the physical line where its record starts."""
    source = copy_case("multi_currency", tmp_path / "input")
    header, rows = read_rows(source / "deals.csv")
    comments = ['desk "FX", Frankfurt', "line one\nline two", "", 'a ""quoted"" word\r\nand, a comma']
    commented = [row + [comments[index % len(comments)]] for index, row in enumerate(rows)]
    commented.append(
        [
            "Q01",
            "2026-10-01",
            "E_US",
            "CB_US",
            "swap",
            "USD",
            "1",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "after\nbreaks",
        ]
    )
    (source / "deals.csv").unlink()
    write_rows(source / "deals" / "part-00000.csv", [*header, "comment"], commented[:12])
    write_rows(source / "deals" / "part-00001.csv", [*header, "comment"], commented[12:])
    header, rows = read_rows(source / "counterparties.csv")
    named = [[*row[:2], f'{row[2]},\n"{row[1]}" branch', *row[3:]] for row in rows]
    (source / "counterparties.csv").unlink()
    write_rows(source / "counterparties" / "part-00000.csv", header, named[:9])
    write_rows(source / "counterparties" / "part-00001.csv", header, named[9:])
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    part = (source / "deals" / "part-00001.csv").read_text(encoding="utf-8")
    q01_line = part[: part.index("Q01,")].count("\n") + 1
    assert q01_line > 14  # 12 deals after the header, some over several lines
    assert report.examples == [
        f"part-00001.csv:{q01_line}: deal 'Q01': unknown_product_type: product_type: 'swap'"
    ]
    contents = lake_contents(spark, lake)
    contents[DEAL_DATASET] = [row for row in contents[DEAL_DATASET] if "Q01" not in row]
    # counterparties rows: counterparty_id, counterparty_name, counterparty_type, country, as_of_date
    renamed = sorted(
        (cp, f'{name},\n"{cp}" branch', *rest) for cp, name, *rest in plain_lake["counterparties"]
    )
    assert contents == {**plain_lake, "counterparties": renamed}


# ---------------------------------------------------------------------------------------------
# 9. Numbers are finite; a deal id comes once per date
# ---------------------------------------------------------------------------------------------


def test_non_finite_numbers_in_parquet_deals_are_bad_amounts(spark, tmp_path):
    """A NaN or infinite double in a parquet deals file is rejected as a CSV 'nan' would be."""
    source = copy_case("rejects", tmp_path / "input")
    (source / "deals.csv").unlink()
    header = list(contract.DEALS.columns)
    good = ["G01", DAY1, "E1", "CB_US", "cash", "USD", 1000.0, None, None, None, None, None, None, None]
    nan = ["N01", DAY1, "E1", "BANK1", "deposit", "USD", float("nan"), None, None, *["false"] * 4, None]
    inf = [
        "N02",
        DAY1,
        "E1",
        "BANK1",
        "repo",
        "USD",
        100.0,
        date(2026, 10, 10),
        "L1",
        *["false"] * 4,
        float("inf"),
    ]
    numbers = {"amount": pyarrow.float64(), "collateral_market_value": pyarrow.float64()}
    dates = {"as_of_date": pyarrow.date32(), "maturity_date": pyarrow.date32()}
    write_parquet(source / "deals.parquet", header, [good, nan, inf], numbers | dates)
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    assert sorted(report.examples) == [
        "deals.parquet: deal 'N01': bad_amount: amount: 'NaN'",
        "deals.parquet: deal 'N02': bad_amount: collateral_market_value: 'Infinity'",
    ]
    assert {row["deal_id"]: (row["reject_reason"], row["amount"]) for row in deal_rows(spark, lake)} == {
        "G01": (None, 1000.0),
        "N01": ("bad_amount", None),
        "N02": ("bad_amount", 100.0),
    }


def test_non_finite_fx_rates_stop_the_run_and_publish_nothing(spark, tmp_path, plain_run):
    """An FX rate NaN passes a `> 0` test; it, an infinity and an overflow are each named."""
    lake = tmp_path / "lake"
    shutil.copytree(plain_run, lake)
    before = snapshot(lake)
    source = copy_case("rejects", tmp_path / "input")
    fx = source / "fx_rates.csv"
    replace_line(fx, 2, "2026-09-30,USD,NaN")
    replace_line(fx, 3, "2026-09-30,EUR,inf")
    with fx.open("a", encoding="utf-8") as handle:
        handle.write("2026-09-30,GBP,1e400\n")

    with pytest.raises(InputContractError) as caught:
        run_jobs(spark, str(lake), source)

    assert str(caught.value) == (
        "reference data: 3 problem(s); fix them and rerun:\n"
        "  fx_rates.csv:2: column rate_to_usd: 'NaN' is not a finite number\n"
        "  fx_rates.csv:3: column rate_to_usd: 'inf' is not a finite number\n"
        "  fx_rates.csv:4: column rate_to_usd: '1e400' is not a finite number"
    )
    assert snapshot(lake) == before


def test_nan_fx_rate_in_parquet_is_named_by_file_and_row(spark, tmp_path):
    source = copy_case("rejects", tmp_path / "input")
    (source / "fx_rates.csv").unlink()
    rows = [[DAY1, "USD", 1.0], [DAY1, "EUR", float("nan")]]
    types = {"as_of_date": pyarrow.date32(), "rate_to_usd": pyarrow.float64()}
    write_parquet(source / "fx_rates.parquet", ["as_of_date", "currency", "rate_to_usd"], rows, types)

    with pytest.raises(InputContractError) as caught:
        run_jobs(spark, str(tmp_path / "lake"), source)

    assert str(caught.value) == (
        "reference data: 1 problem(s); fix them and rerun:\n"
        "  fx_rates.parquet:2: column rate_to_usd: 'nan' is not a finite number"
    )
    assert not (tmp_path / "lake").exists()


def test_duplicate_deal_ids_across_part_files_are_rejected_naming_every_line(spark, tmp_path):
    """Two rows of (2026-09-30, M05) in two part files: both rejected, each example names both
    lines. The same deal id on two dates (every M.. of the case) is no duplicate."""
    source = copy_case("multi_currency", tmp_path / "input")
    header, rows = read_rows(source / "deals.csv")
    (source / "deals.csv").unlink()
    write_rows(source / "deals" / "part-00000.csv", header, rows[:12])
    write_rows(source / "deals" / "part-00001.csv", header, [*rows[12:], rows[4]])  # M05 of 09-30 again
    lake = tmp_path / "lake"

    report = run_jobs(spark, str(lake), source, max_reject_rate=1.0)

    assert report.accepted == {DAY1: 11, DAY2: 12}
    assert report.rejected == {"duplicate_deal_id": 2}
    detail = "deal_id 'M05' is on 2 rows for as_of_date 2026-09-30 (at part-00000.csv:6, part-00001.csv:14)"
    assert sorted(report.examples) == [
        f"part-00000.csv:6: deal 'M05': duplicate_deal_id: {detail}",
        f"part-00001.csv:14: deal 'M05': duplicate_deal_id: {detail}",
    ]
    rejected = [row for row in deal_rows(spark, lake) if row["reject_reason"]]
    assert [(row["deal_id"], row["as_of_date"], row["category_code"]) for row in rejected] == [
        ("M05", DAY1, None),
        ("M05", DAY1, None),
    ]
    # rows rejected after typing keep their typed values: the amount as the exact money type
    assert {json.loads(row["raw_record"])["amount"] for row in rejected} == {"6400.000000"}


# ---------------------------------------------------------------------------------------------
# 10. The reject reasons are one list
# ---------------------------------------------------------------------------------------------


def test_reject_reasons_are_the_same_wherever_they_are_written():
    """contract.REJECT_REASONS is the list: the staging model's accepted_values and the README agree."""
    models = yaml.safe_load((PROJECT_DIR / "models" / "staging" / "_staging__models.yml").read_text())
    rejects = next(model for model in models["models"] if model["name"] == "stg_lake__deal_rejects")
    column = next(column for column in rejects["columns"] if column["name"] == "reject_reason")
    accepted = next(test["accepted_values"] for test in column["data_tests"] if "accepted_values" in test)
    assert tuple(accepted["arguments"]["values"]) == contract.REJECT_REASONS

    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("`reject_reason` (") : readme.index("; declared once in")]
    assert tuple(re.findall(r"`(\w+)`", listed)[1:]) == contract.REJECT_REASONS


def test_a_reject_check_must_use_a_declared_reason(spark):
    with pytest.raises(ValueError, match=r"\['bad_vibes'\] are not declared in contract.REJECT_REASONS"):
        add_reject_checks(spark.range(1), [("bad_amount", F.lit(False)), ("bad_vibes", F.lit(True))])


# ---------------------------------------------------------------------------------------------
# 11. The command line on bad input: one error line naming the file, never a traceback
# ---------------------------------------------------------------------------------------------


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _fx_nan(source: Path) -> str:
    replace_line(source / "fx_rates.csv", 3, "2026-09-30,EUR,NaN")
    return "fx_rates.csv:3: column rate_to_usd: 'NaN' is not a finite number"


def _deals_unclosed_quote(source: Path) -> str:
    _append(
        source / "deals.csv",
        'U01,2026-09-30,E_US,CB_US,cash,USD,"100,,,,,,,\nU02,2026-09-30,E_US,CB_US,cash,USD,5,,,,,,,\n',
    )
    path = source / "deals.csv"
    return f"{path}:26: a quoted field that starts in this record is never closed, so lines 26-27"


def _counterparties_unclosed_quote(source: Path) -> str:
    replace_line(source / "counterparties.csv", 4, '2026-09-30,UST,"US Treasury,sovereign,US')
    return f"{source / 'counterparties.csv'}:4: a quoted field that starts in this record is never closed"


def _deals_parquet_unreadable(source: Path) -> str:
    (source / "deals.csv").unlink()
    (source / "deals.parquet").write_bytes(b"deal_id,amount\nX,1\n")
    return f"{source / 'deals.parquet'}: not a readable parquet file"


def _deals_parquet_part_types(source: Path) -> str:
    header, rows = read_rows(source / "deals.csv")
    (source / "deals.csv").unlink()
    (source / "deals").mkdir()
    write_parquet(source / "deals" / "part-00000.parquet", header, rows[:12], {})
    at = header.index("amount")
    typed = [[float(value) if index == at else value for index, value in enumerate(row)] for row in rows[12:]]
    write_parquet(source / "deals" / "part-00001.parquet", header, typed, {"amount": pyarrow.float64()})
    return (
        f"{source / 'deals' / 'part-00001.parquet'}: column amount is double, part-00000.parquet has string"
    )


def _counterparties_latin1(source: Path) -> str:
    path = source / "counterparties.csv"
    path.write_bytes(path.read_bytes().replace(b"Kraftwerk GmbH", "Société Kraftwerk".encode("latin-1")))
    return f"{path}:6: not UTF-8 (byte 0xe9); save the file as CSV UTF-8"


def _deals_cr_only(source: Path) -> str:
    path = source / "deals.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    return f"{path}: lines end with CR only (an old Mac format); save it with LF or CRLF line ends"


def _entities_undated_without_a_column(source: Path) -> str:
    header, rows = undate(source / "entities.csv")
    write_rows(source / "entities.csv", header[:-1], [row[:-1] for row in rows])
    return (
        f"{source / 'entities.csv'}: missing column(s) reporting_currency for entities; the contract needs "
        "entity_id, entity_name, country, reporting_currency (as_of_date is optional: without it the file is "
        "one snapshot for every as-of date) (extra columns are allowed)"
    )


def _duplicate_deal_ids_over_the_threshold(source: Path) -> str:
    _append(
        source / "deals.csv",
        "M05,2026-09-30,E_DE,CORP_DE,deposit,USD,6400,2026-10-31,,false,false,false,false,\n",
    )
    return (
        "deals.csv:6: deal 'M05': duplicate_deal_id: deal_id 'M05' is on 2 rows for as_of_date 2026-09-30 "
        "(at deals.csv:6, deals.csv:26)"
    )


BAD_INPUTS = {
    "fx rate NaN": _fx_nan,
    "deals quote never closed": _deals_unclosed_quote,
    "counterparties quote never closed": _counterparties_unclosed_quote,
    "deals parquet unreadable": _deals_parquet_unreadable,
    "deals parquet part files of two types": _deals_parquet_part_types,
    "counterparties not UTF-8": _counterparties_latin1,
    "deals with CR-only line ends": _deals_cr_only,
    "undated entities without a column": _entities_undated_without_a_column,
    "duplicate deal ids over the reject threshold": _duplicate_deal_ids_over_the_threshold,
}


@pytest.mark.parametrize("breakage", list(BAD_INPUTS))
def test_cli_run_on_bad_input_says_what_and_where_without_a_traceback(
    breakage, spark, tmp_path, plain_run, capfd
):
    """`regcalc run --skip-dbt` on each kind of bad extract: exit 1, one `regcalc run: error:` naming the
    file (and line), nothing from Spark's or Python's internals on stderr, the lake as it was."""
    source = copy_case("multi_currency", tmp_path / "input")
    expected = BAD_INPUTS[breakage](source)
    lake = tmp_path / "lake"
    shutil.copytree(plain_run, lake)
    before = snapshot(lake)
    capfd.readouterr()

    code = main(["run", "--input", str(source), "--lake", str(lake), "--skip-dbt"])

    out, err = capfd.readouterr()
    assert code == 1
    assert err.count("regcalc run: error: ") == 1
    assert expected in err[err.index("regcalc run: error: ") :]
    for internal in ("Traceback", "py4j", "org.apache.spark", "Exception"):
        assert internal not in out + err, (internal, err)
    assert snapshot(lake) == before


def test_cli_run_on_an_extract_as_excel_writes_it(spark, tmp_path, capfd):
    """The extract of the issue: BOM and CRLF everywhere, undated counterparties with a name over two
    lines, non-finite amounts and a duplicated deal id. The run succeeds and reports each reject."""
    source = copy_case("rejects", tmp_path / "input")
    for name in INPUT_FILES:
        header, rows = read_rows(source / name)
        if name == "counterparties.csv":
            header, rows = undate(source / name)
        write_rows(source / name, header, rows, encoding="utf-8-sig", line_end="\r\n")
    capfd.readouterr()

    code = main(
        [
            "run",
            "--input",
            str(source),
            "--lake",
            str(tmp_path / "lake"),
            "--skip-dbt",
            "--max-reject-rate",
            "1",
        ]
    )

    out, err = capfd.readouterr()
    assert code == 0, err
    printed = [line.split("s]     ", 1)[1] for line in err.splitlines() if "s]     " in line]
    assert len(printed) == 10 and set(printed) <= set(REJECT_EXAMPLES), printed
    for internal in ("Traceback", "py4j", "org.apache.spark", "regcalc run: error"):
        assert internal not in out + err, (internal, err)


def test_cli_last_resort_turns_a_spark_error_into_one_line(spark, monkeypatch, tmp_path, capsys):
    """A Spark error that no input edge translated (here: a query of a table that does not exist)."""

    def failing_jobs(*args, **kwargs):
        spark.sql("select * from no_such_table_anywhere").collect()

    monkeypatch.setattr("regcalc.pipeline.run_jobs", failing_jobs)
    source = copy_case("rejects", tmp_path / "input")

    code = main(["run", "--input", str(source), "--lake", str(tmp_path / "lake"), "--skip-dbt"])

    err = capsys.readouterr().err
    assert code == 1
    # the progress lines of the run so far (the session's Spark version and master), then one error line
    *progress, error = err.splitlines()
    assert all(line.startswith("[") for line in progress), err
    assert error.startswith(
        "regcalc run: error: Spark failed: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
        "`no_such_table_anywhere` cannot be found."
    ), err
    assert error.endswith(
        "; check the inputs and settings it names and rerun "
        "(the lake is published only by a run that succeeds)"
    )


def test_spark_error_description_is_the_innermost_reason_on_one_line(spark, tmp_path):
    """A task failure comes wrapped ("Job aborted due to stage failure: ... SparkException: [...]");
    describe keeps the reason, with the file as a plain path."""
    header, rows = ["deal_id", "amount"], [["A", "1.5"]]
    write_parquet(tmp_path / "a.parquet", header, rows, {})
    write_parquet(tmp_path / "b.parquet", header, [["B", 2.5]], {"amount": pyarrow.float64()})
    files = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]

    with pytest.raises(Exception) as caught:  # noqa: B017 - whatever Spark raises is what is described
        spark.read.parquet(*files).select(F.col("amount").cast("string")).collect()

    assert spark_errors.is_spark_error(caught.value)
    assert spark_errors.describe(caught.value) == (
        "[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Encountered error while reading file "
        f"{tmp_path / 'b.parquet'}. Data type mismatches when reading Parquet column [amount]. "
        "Expected Spark type string, actual Parquet type DOUBLE."
    )
