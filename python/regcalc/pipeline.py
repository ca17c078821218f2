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

from regcalc import __version__, contract
from regcalc.jobs import enrich, haircut, ingest, liquidity
from regcalc.lake import Lake
from regcalc.params import REGULATORY_DIR, Parameters, load_parameters
from regcalc.progress import Progress
from regcalc.settings import PROJECT_DIR, RegcalcError

DEAL_DATASET = "deal_liquidity"

# Column order of the deal-level lake dataset (documented in models/staging/_staging__sources.yml).
DEAL_COLUMNS = (
    "run_id",
    "deal_id",
    "entity_id",
    "counterparty_id",
    "counterparty_type",
    "product_type",
    "currency",
    "amount",
    "maturity_date",
    "residual_maturity_days",
    "maturity_bucket",
    "hqla_class",
    "is_insured",
    "is_stable_relationship",
    "is_operational",
    "is_encumbered",
    "is_domestic",
    "collateral_market_value",
    "reporting_currency",
    "fx_rate",
    "amount_rep",
    "collateral_value_rep",
    "classification_rule",
    "category_code",
    "lcr_section",
    "hqla_level",
    "rate",
    "weight",
    "weighted_amount",
    "unwind_level1",
    "unwind_level2a",
    "unwind_level2b",
    "parameter_table",
    "bcbs_paragraph",
    "reject_reason",
    "reject_detail",
    "source_file",
    "raw_record",
    "as_of_date",
)
# Derived values that mean nothing on a rejected row: nulled there so no aggregate can pick them up.
_DERIVED_COLUMNS = (
    "fx_rate",
    "amount_rep",
    "collateral_value_rep",
    "classification_rule",
    "category_code",
    "lcr_section",
    "hqla_level",
    "rate",
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
        .transform(lambda frame: liquidity.classify(frame, rules))
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


def _reference_for_dates(frame: DataFrame, as_of_dates: list[date] | None) -> DataFrame:
    return frame.where(F.col("as_of_date").isin(*as_of_dates)) if as_of_dates else frame


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
        headers = {name: ingest.check_columns(spark, source) for name, source in sources.items()}
        ingest.validate_references(spark, [sources[dataset.name] for dataset in contract.REFERENCE_DATASETS])
        references = {
            dataset.name: _reference_for_dates(
                ingest.read_reference(spark, sources[dataset.name]), as_of_dates
            )
            for dataset in contract.REFERENCE_DATASETS
        }
        raw_deals = _deals_for_dates(
            ingest.read_deals(spark, sources["deals"], headers["deals"]), as_of_dates
        )

    try:
        with progress.stage("jobs: ingest -> enrich -> liquidity -> haircut (one Spark plan), stage"):
            lake.stage(
                deal_liquidity(
                    raw_deals, references, params, liquidity.classification_table(spark, params), run_id
                ),
                run_id,
                DEAL_DATASET,
            )
            for name, frame in references.items():
                lake.stage(frame, run_id, name)
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
            if report.total_rejected:
                report.examples = _reject_examples(lake, run_id, sources["deals"])
        _check_rejects(report, max_reject_rate, input_dir)
        if not report.as_of_dates:
            raise RegcalcError(
                f"{input_dir}: no deals" + (f" for as-of {as_of_dates}" if as_of_dates else "")
            )
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
            report.published = lake.publish(
                run_id, [DEAL_DATASET, *references], metadata, replace_undated=not as_of_dates
            )
    except BaseException:
        lake.discard(run_id)
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


def _reject_examples(lake: Lake, run_id: str, source: ingest.InputFile, limit: int = 20) -> list[str]:
    rows = (
        lake.read_staged(run_id, DEAL_DATASET)
        .where(F.col("reject_reason").isNotNull())
        .select("source_file", "deal_id", "reject_reason", "reject_detail", "raw_record")
        .limit(limit)
        .collect()
    )
    lines = _csv_line_numbers(source, rows) if source.fmt == "csv" else {}
    examples = []
    for row in rows:
        where = f"{row['source_file']}:{lines[id(row)]}" if id(row) in lines else row["source_file"]
        examples.append(f"{where}: deal {row['deal_id']!r}: {row['reject_reason']}: {row['reject_detail']}")
    return examples


def _csv_line_numbers(source: ingest.InputFile, rows: list) -> dict[int, int]:
    """Line numbers of a few rejected rows, found by one scan of the CSV files that hold them."""
    wanted = defaultdict(list)
    for row in rows:
        wanted[row["source_file"]].append(row)
    found: dict[int, int] = {}
    base = source.path if source.path.is_dir() else source.path.parent
    for file_name, file_rows in wanted.items():
        by_deal = {row["deal_id"]: row for row in file_rows if row["reject_reason"] != "malformed_row"}
        by_raw = {row["raw_record"]: row for row in file_rows if row["reject_reason"] == "malformed_row"}
        with (base / file_name).open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader([handle.readline()]), [])
            deal_column = header.index("deal_id") if "deal_id" in header else 0
            for line_number, line in enumerate(handle, start=2):
                text = line.rstrip("\r\n")
                if text in by_raw:
                    found[id(by_raw.pop(text))] = line_number
                    continue
                fields = next(csv.reader([text]), []) if by_deal else []
                deal_id = fields[deal_column].strip() if len(fields) > deal_column else None
                if deal_id in by_deal:
                    found[id(by_deal.pop(deal_id))] = line_number
                if not by_deal and not by_raw:
                    break
    return found
