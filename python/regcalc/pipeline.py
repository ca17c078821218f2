"""The deal-level run: read the extract, validate, enrich, classify, haircut, stage, check, publish.

The four jobs are chained into one Spark plan per dataset so the deals are read once and written
once; the only other action is a count over the staged parquet (the reject check), which reads
two columns. Nothing reaches the lake until every check has passed.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc import __version__, contract, spark_errors
from regcalc.jobs import classify, enrich, haircut, ingest
from regcalc.lake import PARTITION_COLUMN, Lake
from regcalc.params import REGULATORY_DIR, Parameters, load_parameters
from regcalc.progress import Progress
from regcalc.settings import PROJECT_DIR, RegcalcError
from regcalc.spectrum import lake_datasets

DEAL_DATASET = "deal_liquidity"


def lake_columns(table: str) -> tuple[str, ...]:
    """The columns of lake dataset `table` in their order, as the source `lake` declares them once
    (models/staging/_staging__sources.yml, read by spectrum.lake_datasets for every loader), the
    partition column as_of_date last, where the parquet writer puts it."""
    dataset = next(dataset for dataset in lake_datasets() if dataset.name == table)
    return (*(name for name, _ in dataset.columns), PARTITION_COLUMN)


# Column order of the deal-level lake dataset.
DEAL_COLUMNS = lake_columns("deal_liquidity")
# Derived values that mean nothing on a rejected row: nulled there so no aggregate can pick them up.
_DERIVED_COLUMNS = (
    "fx_rate",
    "amount_reporting_ccy",
    "collateral_value_reporting_ccy",
    "classification_rule",
    "category_code",
    "lcr_section",
    "hqla_level",
    "haircut",
    "run_off_rate",
    "inflow_rate",
    "weight",
    "weighted_amount",
    "unwind_level1",
    "unwind_level2a",
    "unwind_level2b",
    "parameter_table",
    "bcbs_paragraph",
)


class RejectThresholdError(RegcalcError):
    """Too many deals were rejected: the run publishes nothing."""


@dataclass
class JobReport:
    run_id: str
    as_of_dates: list[date]
    accepted: dict[date, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)

    @property
    def total_accepted(self) -> int:
        return sum(self.accepted.values())

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def deal_liquidity(
    raw_deals: DataFrame, references: dict[str, DataFrame], params: Parameters, rules: DataFrame, run_id: str
) -> DataFrame:
    """All four jobs as one chain of pure transforms: raw deals in, lake rows out."""
    classified = (
        ingest.validate_deals(raw_deals)
        .transform(
            lambda frame: enrich.enrich(
                frame,
                references["entities"],
                references["counterparties"],
                references["fx_rates"],
                params.horizon_days,
            )
        )
        .transform(lambda frame: classify.apply_classification(frame, rules))
        .transform(lambda frame: haircut.apply_haircuts(frame, params))
    )
    rejected = F.col("reject_reason").isNotNull()

    def output(column: str):
        if column == "run_id":
            return F.lit(run_id).alias(column)
        if column == "raw_record":
            return F.when(rejected, ingest.raw_record()).alias(column)
        if column == "reject_detail":
            return F.when(rejected, ingest.reject_detail()).alias(column)
        if column in _DERIVED_COLUMNS:
            return F.when(~rejected, F.col(column)).alias(column)
        return F.col(column)

    return classified.select(*[output(column) for column in DEAL_COLUMNS])


def _deals_for_dates(frame: DataFrame, as_of_dates: list[date] | None) -> DataFrame:
    if not as_of_dates:
        return frame
    parsed = F.try_to_date(F.trim(F.col("as_of_date").cast("string")), contract.DATE_FORMAT)
    # A deal whose as_of_date cannot be read belongs to no date; keep it so it is counted as a reject.
    return frame.where(parsed.isin(*as_of_dates) | parsed.isNull())


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def _parameters_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(REGULATORY_DIR.glob("*.csv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_jobs(
    spark: SparkSession,
    lake_uri: str,
    input_dir: Path,
    *,
    as_of_dates: list[date] | None = None,
    max_reject_rate: float = 0.01,
    progress: Progress | None = None,
) -> JobReport:
    progress = progress or Progress()
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise RegcalcError(f"input folder {input_dir} does not exist")
    params = load_parameters()
    run_id = new_run_id()
    lake = Lake(spark, lake_uri)
    progress.info(f"run {run_id}: input {input_dir} -> lake {lake.uri}")

    sources = {dataset.name: ingest.locate(input_dir, dataset) for dataset in contract.ALL_DATASETS}
    # Reading the inputs is in the stage too: Spark reads the files' headers and schemas here.
    with progress.stage("ingest: check contract and reference data, read inputs"):
        headers = {name: ingest.check_columns(source) for name, source in sources.items()}
        references = ingest.read_references(
            [sources[dataset.name] for dataset in contract.REFERENCE_DATASETS], headers
        )
        reference_frames = {name: data.frame(spark, as_of_dates) for name, data in references.items()}
        raw_deals = _deals_for_dates(
            ingest.read_deals(spark, sources["deals"], headers["deals"]), as_of_dates
        )

    datasets = [DEAL_DATASET, *references]
    try:
        with (
            progress.stage("jobs: ingest -> enrich -> classify -> haircut (one Spark plan), stage"),
            spark_errors.translated(
                f"jobs over deals {sources['deals'].path} into lake {lake.uri}",
                "check the deals files and that the lake is writable; nothing was published",
            ),
        ):
            lake.stage(
                deal_liquidity(
                    raw_deals, reference_frames, params, classify.classification_table(spark, params), run_id
                ),
                run_id,
                DEAL_DATASET,
            )
        report = JobReport(run_id, [])
        with progress.stage("check rejects") as timing:
            counts = (
                lake.read_staged(run_id, DEAL_DATASET)
                .groupBy("as_of_date", "reject_reason")
                .count()
                .collect()
            )
            accepted: dict[date, int] = defaultdict(int)
            for row in counts:
                if row["reject_reason"] is None:
                    accepted[row["as_of_date"]] += row["count"]
                else:
                    report.rejected[row["reject_reason"]] = (
                        report.rejected.get(row["reject_reason"], 0) + row["count"]
                    )
            report.accepted = dict(sorted(accepted.items()))
            report.as_of_dates = sorted(
                {row["as_of_date"] for row in counts if row["as_of_date"] is not None}
            )
            timing.rows = report.total_accepted + report.total_rejected
            if "malformed_row" in report.rejected:
                _check_unclosed_quote(lake, run_id, sources["deals"])
            if report.total_rejected:
                report.examples = _reject_examples(lake, run_id, sources["deals"])
        _check_rejects(report, max_reject_rate, input_dir)
        if not report.as_of_dates:
            raise RegcalcError(
                f"{input_dir}: no deals" + (f" for as-of {as_of_dates}" if as_of_dates else "")
            )
        # The dates this run publishes: its deals' and its dated reference snapshots'. An undated
        # snapshot is written as the snapshot of each of them (the lake keeps reference data per date).
        run_dates = set(report.as_of_dates).union(*(data.dates(as_of_dates) for data in references.values()))
        with progress.stage("jobs: reference snapshots per as-of date, stage"):
            for name, data in references.items():
                lake.stage(data.snapshots(spark, sorted(run_dates)), run_id, name)
        with progress.stage("publish to lake"):
            metadata = {
                "run_id": run_id,
                "code_version": code_version(),
                "parameters_digest": _parameters_digest(),
                "inputs": {name: str(source.path) for name, source in sources.items()},
                "rows_accepted": report.total_accepted,
                "rows_rejected": report.rejected,
                "written_at": datetime.now(UTC).isoformat(),
            }
            # A deal whose as_of_date cannot be read belongs to no date: only a run over every date
            # replaces those rejects, so rerunning one date keeps the others' (see Lake.publish).
            report.published = lake.publish(run_id, datasets, metadata, replace_undated=not as_of_dates)
    except BaseException:
        lake.discard(run_id, datasets)  # what the run wrote and did not commit; committed dates stay
        raise
    return report


def _check_rejects(report: JobReport, max_reject_rate: float, input_dir: Path) -> None:
    total = report.total_accepted + report.total_rejected
    if not report.total_rejected or total == 0:
        return
    rate = report.total_rejected / total
    if rate > max_reject_rate:
        by_reason = ", ".join(f"{reason}: {count:,}" for reason, count in sorted(report.rejected.items()))
        examples = "\n  ".join(report.examples)
        raise RejectThresholdError(
            f"{report.total_rejected:,} of {total:,} deals rejected ({rate:.2%}) > --max-reject-rate "
            f"{max_reject_rate:.2%}; nothing was published.\n  by reason: {by_reason}\n  {examples}\n"
            f"Fix the rows in {input_dir} or raise --max-reject-rate to publish the valid rows."
        )


def _check_unclosed_quote(lake: Lake, run_id: str, source: ingest.InputFile) -> None:
    """Stop the run if a CSV record's quote never closes: every deal after it vanished into one field."""
    found = (
        lake.read_staged(run_id, DEAL_DATASET)
        .where(
            (F.col("reject_reason") == F.lit("malformed_row"))
            & (F.col("reject_detail") == F.lit(ingest.UNCLOSED_QUOTE_DETAIL))
        )
        .select("source_file")
        .limit(1)
        .collect()
    )
    if not found:
        return
    path = next(path for path in source.files if path.name == found[0]["source_file"])
    # The unclosed record runs to the end of the file: it is the last one.
    line = max((start for start, _ in ingest.csv_records(path, strict=False)), default=1)
    with path.open("rb") as handle:
        last = sum(1 for _ in handle)
    raise ingest.InputContractError(
        f"{path}:{line}: a quoted field that starts in this record is never closed, so lines {line}-{last} "
        "were read as one field and the deals in them are lost; close the quote (a quote inside a field is "
        "written twice) and rerun. Nothing was published."
    )


def _reject_examples(lake: Lake, run_id: str, source: ingest.InputFile, limit: int = 20) -> list[str]:
    rows = (
        lake.read_staged(run_id, DEAL_DATASET)
        .where(F.col("reject_reason").isNotNull())
        .select("source_file", "as_of_date", "deal_id", "reject_reason", "reject_detail", "raw_record")
        .limit(limit)
        .collect()
    )
    lines = _csv_lines(source, rows) if source.fmt == "csv" else {}
    examples = []
    for row in rows:
        where, key_lines = lines.get(id(row), (row["source_file"], []))
        also = f" (at {', '.join(key_lines)})" if key_lines else ""
        examples.append(
            f"{where}: deal {row['deal_id']!r}: {row['reject_reason']}: {row['reject_detail']}{also}"
        )
    return examples


def _csv_lines(source: ingest.InputFile, rows: list) -> dict[int, tuple[str, list[str]]]:
    """`file:line` of each of a few rejected rows, by one scan of the CSV files that hold them.

    Returns id(row) -> (where its record starts, and for a duplicate_deal_id row the records of every
    row of its (as_of_date, deal_id), in every file of the dataset; else []). A row is found by its
    deal_id in its file; a malformed one by its fields. The rows of one duplicated key are given its
    records in file order.
    """
    keys = {
        (row["deal_id"], row["as_of_date"].isoformat())
        for row in rows
        if row["reject_reason"] == "duplicate_deal_id"
    }
    key_lines: dict[tuple[str, str], list[str]] = {key: [] for key in keys}
    by_deal, by_fields = defaultdict(list), defaultdict(list)
    for row in rows:
        if row["reject_reason"] == "malformed_row":
            fields = next(csv.reader([row["raw_record"] or ""]), [])
            by_fields[(row["source_file"], tuple(fields))].append(row)
        elif row["reject_reason"] != "duplicate_deal_id":
            by_deal[(row["source_file"], row["deal_id"])].append(row)
    files = {row["source_file"] for row in rows}
    found: dict[int, tuple[str, list[str]]] = {}
    for path in source.files:
        if not keys and path.name not in files:
            continue
        records = ingest.csv_records(path, strict=False)
        header = [name.strip() for name in next(records, (1, []))[1]]
        deal_column, date_column = header.index("deal_id"), header.index("as_of_date")
        for line, fields in records:
            where = f"{path.name}:{line}"
            if len(fields) != len(header):
                waiting = by_fields.get((path.name, tuple(fields)))
            else:
                key = (fields[deal_column].strip(), fields[date_column].strip())
                if key in key_lines:
                    key_lines[key].append(where)
                waiting = by_deal.get((path.name, key[0]))
            if waiting:
                found[id(waiting.pop(0))] = (where, [])
            if not keys and not any(by_deal.values()) and not any(by_fields.values()):
                break
    given: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if row["reject_reason"] == "duplicate_deal_id":
            key = (row["deal_id"], row["as_of_date"].isoformat())
            lines = key_lines[key]
            own = lines[given[key]] if given[key] < len(lines) else row["source_file"]
            given[key] += 1
            found[id(row)] = (own, lines)
    return found
