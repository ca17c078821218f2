"""Ingest: locate and read the bank's extract (input contract v1) and validate it.

Reference data (entities, counterparties, FX) is small and curated: any bad row stops the run
with every problem listed by file, line and column. Deals are large: a bad deal never stops the
run and never vanishes; it is kept with a reject reason (see `validate_deals`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from regcalc import contract
from regcalc.decimals import MONEY
from regcalc.settings import RegcalcError


class InputContractError(RegcalcError):
    """The input does not follow the contract in a way that no single-row reject can absorb."""


@dataclass(frozen=True)
class InputFile:
    dataset: contract.Dataset
    path: Path
    fmt: str  # csv | parquet


def locate(input_dir: Path, dataset: contract.Dataset) -> InputFile:
    """Find `<name>.csv`, `<name>.parquet` or a `<name>/` folder of csv or parquet part files."""
    candidates = [
        (input_dir / f"{dataset.name}.csv", "csv"),
        (input_dir / f"{dataset.name}.parquet", "parquet"),
    ]
    folder = input_dir / dataset.name
    if folder.is_dir():
        if any(folder.glob("*.parquet")):
            candidates.append((folder, "parquet"))
        elif any(folder.glob("*.csv")):
            candidates.append((folder, "csv"))
    found = [InputFile(dataset, path, fmt) for path, fmt in candidates if path.exists()]
    if not found:
        raise InputContractError(
            f"{input_dir}: no {dataset.name} data; expected {dataset.name}.csv, {dataset.name}.parquet "
            f"or a {dataset.name}/ folder of .csv or .parquet files"
        )
    if len(found) > 1:
        raise InputContractError(
            f"{input_dir}: {dataset.name} is given twice ({', '.join(str(f.path) for f in found)}); keep one"
        )
    return found[0]


def _csv_files(source: InputFile) -> list[Path]:
    return sorted(source.path.glob("*.csv")) if source.path.is_dir() else [source.path]


def check_columns(spark: SparkSession, source: InputFile) -> list[str]:
    """Fail fast, naming file and columns, when a file lacks contract columns; return the header.

    Extra columns are allowed and columns may come in any order, but every part file of a
    dataset must have the same header.
    """
    if source.fmt == "csv":
        headers = {}
        for path in _csv_files(source):
            with path.open(newline="", encoding="utf-8") as handle:
                header = [name.strip() for name in next(csv.reader(handle), [])]
            _compare_columns(path, header, source.dataset)
            headers[path] = header
        first_path, first = next(iter(headers.items()))
        for path, header in headers.items():
            if header != first:
                raise InputContractError(
                    f"{path}: header differs from {first_path}; all part files need one header"
                )
        return first
    names = spark.read.parquet(str(source.path)).columns
    _compare_columns(source.path, names, source.dataset)
    return names


def _compare_columns(path: Path, found: list[str], dataset: contract.Dataset) -> None:
    missing = [column for column in dataset.columns if column not in found]
    if missing:
        raise InputContractError(
            f"{path}: missing column(s) {', '.join(missing)} for {dataset.name}; "
            f"the contract needs {', '.join(dataset.columns)} (extra columns are allowed)"
        )


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")

REFERENCE_SCHEMAS = {
    "entities": T.StructType(
        [
            T.StructField("as_of_date", T.DateType()),
            T.StructField("entity_id", T.StringType()),
            T.StructField("entity_name", T.StringType()),
            T.StructField("country", T.StringType()),
            T.StructField("reporting_currency", T.StringType()),
        ]
    ),
    "counterparties": T.StructType(
        [
            T.StructField("as_of_date", T.DateType()),
            T.StructField("counterparty_id", T.StringType()),
            T.StructField("counterparty_name", T.StringType()),
            T.StructField("counterparty_type", T.StringType()),
            T.StructField("country", T.StringType()),
        ]
    ),
    "fx_rates": T.StructType(
        [
            T.StructField("as_of_date", T.DateType()),
            T.StructField("currency", T.StringType()),
            T.StructField("rate_to_usd", T.DoubleType()),
        ]
    ),
}


def _check_reference_value(column: str, value: str) -> str | None:
    """Why a reference value is unusable, or None when it is fine."""
    if value == "" and column != "counterparty_name" and column != "entity_name":
        return "is empty"
    if column == "as_of_date":
        if not _DATE_PATTERN.match(value):
            return f"{value!r} is not a date (yyyy-mm-dd)"
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not a calendar date"
    if column == "counterparty_type" and value not in contract.COUNTERPARTY_TYPES:
        return f"{value!r} is not one of {', '.join(contract.COUNTERPARTY_TYPES)}"
    if column in ("currency", "reporting_currency") and not _CURRENCY_PATTERN.match(value):
        return f"{value!r} is not an ISO 4217 currency code"
    if column == "rate_to_usd":
        try:
            if float(value) <= 0:
                return f"{value} must be > 0"
        except ValueError:
            return f"{value!r} is not a number"
    return None


def _reference_rows(spark: SparkSession, source: InputFile):
    """Yield (file, line, row-as-strings) for a reference dataset, whatever its format."""
    if source.fmt == "csv":
        for path in _csv_files(source):
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                for line, row in enumerate(reader, start=2):
                    yield path.name, line, row
    else:
        frame = spark.read.parquet(str(source.path)).select(
            *[F.col(column).cast("string").alias(column) for column in source.dataset.columns]
        )
        for index, row in enumerate(frame.toLocalIterator(), start=1):
            yield source.path.name, index, {k: ("" if v is None else v) for k, v in row.asDict().items()}


def reference_problems(spark: SparkSession, source: InputFile) -> list[str]:
    """Every problem of one reference dataset, as `file:line: column ...`."""
    dataset = source.dataset
    errors: list[str] = []
    seen: dict[tuple, int] = {}
    for file_name, line, row in _reference_rows(spark, source):
        if None in row or any(row.get(column) is None for column in dataset.columns):
            errors.append(f"{file_name}:{line}: malformed row (wrong number of fields)")
            continue
        for column in dataset.columns:
            problem = _check_reference_value(column, row[column].strip())
            if problem:
                errors.append(f"{file_name}:{line}: column {column}: {problem}")
        key = tuple(row[column].strip() for column in dataset.key)
        if key in seen:
            errors.append(f"{file_name}:{line}: duplicate key {key} (first on line {seen[key]})")
        seen.setdefault(key, line)
    return errors


def validate_references(spark: SparkSession, sources: list[InputFile], max_errors: int = 50) -> None:
    """Check every reference dataset; raise one error listing every problem of all of them."""
    errors = [error for source in sources for error in reference_problems(spark, source)]
    if errors:
        shown = errors[:max_errors]
        more = f"\n  ... and {len(errors) - max_errors} more" if len(errors) > max_errors else ""
        raise InputContractError(
            f"reference data: {len(errors)} problem(s); fix them and rerun:\n  " + "\n  ".join(shown) + more
        )


def read_reference(spark: SparkSession, source: InputFile) -> DataFrame:
    schema = REFERENCE_SCHEMAS[source.dataset.name]
    if source.fmt == "csv":
        frame = spark.read.csv(
            [str(p) for p in _csv_files(source)], header=True, schema=None, inferSchema=False
        )
        return frame.select(
            *[F.trim(F.col(field.name)).cast(field.dataType).alias(field.name) for field in schema.fields]
        )
    frame = spark.read.parquet(str(source.path))
    return frame.select(
        *[F.col(field.name).cast(field.dataType).alias(field.name) for field in schema.fields]
    )


# ---------------------------------------------------------------------------------------------
# Deals
# ---------------------------------------------------------------------------------------------

RAW_RECORD = "raw_record"


def read_deals(spark: SparkSession, source: InputFile, header: list[str]) -> DataFrame:
    """Deals as read, plus `source_file` and, for CSV lines with the wrong field count, `raw_record`."""
    if source.fmt == "csv":
        # Every column of the file's header as a string, by name: typing happens in validate_deals
        # so that a bad value becomes a reject with its reason instead of a silent null.
        schema = T.StructType(
            [T.StructField(column, T.StringType()) for column in header]
            + [T.StructField(RAW_RECORD, T.StringType())]
        )
        frame = spark.read.csv(
            [str(p) for p in _csv_files(source)],
            header=True,
            schema=schema,
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=RAW_RECORD,
        ).select(*contract.DEALS.columns, RAW_RECORD)
    else:
        frame = spark.read.parquet(str(source.path)).select(*contract.DEALS.columns)
        frame = frame.withColumn(RAW_RECORD, F.lit(None).cast("string"))
    return frame.withColumn("source_file", F.col("_metadata.file_name"))


def _as_string(frame: DataFrame, column: str) -> Column:
    return F.trim(F.col(column).cast("string"))


def _as_date(frame: DataFrame, column: str) -> Column:
    if isinstance(frame.schema[column].dataType, T.DateType):
        return F.col(column)
    return F.try_to_date(_as_string(frame, column), contract.DATE_FORMAT)


def _as_money(frame: DataFrame, column: str) -> Column:
    """An exact decimal of the money type (README "What is exact"); null when the value is not a finite
    number that fits it, so the row becomes a reject. More decimals than the type holds round HALF_UP."""
    if isinstance(frame.schema[column].dataType, T.NumericType):
        return F.col(column).try_cast(MONEY.sql)
    return _as_string(frame, column).try_cast(MONEY.sql)


def _as_flag(frame: DataFrame, column: str) -> Column:
    """true/false (and common spellings); blank means false; anything else is null (a reject)."""
    if isinstance(frame.schema[column].dataType, T.BooleanType):
        return F.coalesce(F.col(column), F.lit(False))
    text = F.lower(F.coalesce(_as_string(frame, column), F.lit("")))
    return F.when(text.isin(*contract.TRUE_VALUES), F.lit(True)).when(
        text.isin(*contract.FALSE_VALUES), F.lit(False)
    )


RAW_PREFIX = "_raw_"


def _raw(column: str) -> Column:
    """The value as sent, as text (only evaluated for rejected rows: see reject_detail)."""
    return F.trim(F.col(RAW_PREFIX + column).cast("string"))


def _quoted_raw(column: str) -> Column:
    return F.concat(F.lit("'"), F.coalesce(_raw(column), F.lit("")), F.lit("'"))


def _empty(column: str) -> Column:
    return F.coalesce(F.trim(F.col(column).cast("string")), F.lit("")) == ""


def validate_deals(raw: DataFrame) -> DataFrame:
    """Type the contract columns and attach `reject_reason` (null when valid).

    The values as sent stay available as `_raw_<column>` so that `reject_detail` and the raw
    record of a rejected row can be built at the end, for rejected rows only. Checks that need
    reference data (unknown entity, counterparty, currency) are added by enrich.
    """
    typed = raw.select(
        _as_string(raw, "deal_id").alias("deal_id"),
        _as_date(raw, "as_of_date").alias("as_of_date"),
        _as_string(raw, "entity_id").alias("entity_id"),
        _as_string(raw, "counterparty_id").alias("counterparty_id"),
        _as_string(raw, "product_type").alias("product_type"),
        F.upper(_as_string(raw, "currency")).alias("currency"),
        _as_money(raw, "amount").alias("amount"),
        _as_date(raw, "maturity_date").alias("maturity_date"),
        F.nullif(_as_string(raw, "hqla_class"), F.lit("")).alias("hqla_class"),
        *[_as_flag(raw, column).alias(column) for column in contract.FLAG_COLUMNS],
        _as_money(raw, "collateral_market_value").alias("collateral_market_value"),
        F.col("source_file"),
        F.col(RAW_RECORD),
        *[F.col(column).alias(RAW_PREFIX + column) for column in contract.DEALS.columns],
    )
    checks: list[tuple[str, Column]] = [
        ("malformed_row", F.col(RAW_RECORD).isNotNull()),
        ("missing_field", _empty("deal_id") | _empty("entity_id") | _empty("counterparty_id")),
        (
            "bad_date",
            F.col("as_of_date").isNull()
            | (F.col("maturity_date").isNull() & ~_empty(RAW_PREFIX + "maturity_date")),
        ),
        ("unknown_product_type", ~F.coalesce(F.col("product_type"), F.lit("")).isin(*contract.PRODUCT_TYPES)),
        (
            "bad_amount",
            F.col("amount").isNull()
            | (F.col("collateral_market_value").isNull() & ~_empty(RAW_PREFIX + "collateral_market_value")),
        ),
        ("negative_amount", F.col("amount") < 0),
        ("maturity_before_as_of", F.col("maturity_date") < F.col("as_of_date")),
        (
            "missing_hqla_class",
            F.col("product_type").isin(*contract.PRODUCTS_WITH_HQLA_CLASS) & F.col("hqla_class").isNull(),
        ),
        (
            "unknown_hqla_class",
            F.col("hqla_class").isNotNull() & ~F.col("hqla_class").isin(*contract.HQLA_CLASSES),
        ),
        ("bad_flag", F.greatest(*[F.col(column).isNull() for column in contract.FLAG_COLUMNS])),
        (
            "missing_collateral_value",
            F.col("product_type").isin(*contract.SECURED_PRODUCTS)
            & F.col("collateral_market_value").isNull(),
        ),
    ]
    return add_reject_checks(typed, checks).transform(_keep_ingest_rejects)


def add_reject_checks(frame: DataFrame, checks: list[tuple[str, Column]]) -> DataFrame:
    """Record the code of the first failing check as `reject_reason`; an earlier reason wins."""
    reason: Column = F.lit(None).cast("string")
    for code, failed in reversed(checks):
        reason = F.when(F.coalesce(failed, F.lit(False)), F.lit(code)).otherwise(reason)
    if "reject_reason" in frame.columns:
        reason = F.coalesce(F.col("reject_reason"), reason)
    return frame.withColumn("reject_reason", reason)


def _listed(parts: list[tuple[Column, Column]]) -> Column:
    """'a, b' of the messages whose condition holds."""
    return F.concat_ws(", ", *[F.when(condition, message) for condition, message in parts])


def _detail(details: dict[str, Column]) -> Column:
    detail: Column = F.lit(None).cast("string")
    for code, message in details.items():
        detail = F.when(F.col("reject_reason") == code, message).otherwise(detail)
    return detail


def _ingest_details() -> dict[str, Column]:
    """Messages of the checks of validate_deals, from the values as sent."""
    return {
        "malformed_row": F.lit("wrong number of fields"),
        "missing_field": F.concat(
            _listed([(_empty(c), F.lit(c)) for c in ("deal_id", "entity_id", "counterparty_id")]),
            F.lit(": empty"),
        ),
        "bad_date": F.when(
            F.col("as_of_date").isNull(), F.concat(F.lit("as_of_date: "), _quoted_raw("as_of_date"))
        ).otherwise(F.concat(F.lit("maturity_date: "), _quoted_raw("maturity_date"))),
        "unknown_product_type": F.concat(F.lit("product_type: "), _quoted_raw("product_type")),
        "bad_amount": F.when(
            F.col("amount").isNull(), F.concat(F.lit("amount: "), _quoted_raw("amount"))
        ).otherwise(F.concat(F.lit("collateral_market_value: "), _quoted_raw("collateral_market_value"))),
        "negative_amount": F.concat(F.lit("amount: "), _raw("amount")),
        "maturity_before_as_of": F.concat(
            F.lit("maturity_date "),
            _raw("maturity_date"),
            F.lit(" is before as_of_date "),
            _raw("as_of_date"),
        ),
        "missing_hqla_class": F.concat(F.lit("hqla_class: required for "), F.col("product_type")),
        "unknown_hqla_class": F.concat(F.lit("hqla_class: "), _quoted_raw("hqla_class")),
        "bad_flag": _listed(
            [(F.col(c).isNull(), F.concat(F.lit(f"{c}: "), _quoted_raw(c))) for c in contract.FLAG_COLUMNS]
        ),
        "missing_collateral_value": F.concat(
            F.lit("collateral_market_value: required for "), F.col("product_type")
        ),
    }


def _keep_ingest_rejects(frame: DataFrame) -> DataFrame:
    """Keep the detail and the raw record of rows rejected here, then drop the raw values.

    Carrying the fourteen raw columns through the reference joins costs more than all the checks;
    a valid row carries two nulls instead.
    """
    rejected = F.col("reject_reason").isNotNull()
    raw_json = F.coalesce(
        F.col(RAW_RECORD),
        F.to_json(F.struct(*[F.col(RAW_PREFIX + c).cast("string").alias(c) for c in contract.DEALS.columns])),
    )
    return frame.withColumns(
        {
            "_ingest_detail": F.when(rejected, _detail(_ingest_details())),
            "_ingest_raw": F.when(rejected, raw_json),
        }
    ).drop(*[RAW_PREFIX + column for column in contract.DEALS.columns], RAW_RECORD)


def reject_detail() -> Column:
    """The field and value behind `reject_reason` (for rejected rows; null otherwise)."""
    later = {
        "unknown_entity": F.concat(
            F.lit("entity_id: "), F.col("entity_id"), F.lit(" not in entities for this date")
        ),
        "unknown_counterparty": F.concat(
            F.lit("counterparty_id: "),
            F.col("counterparty_id"),
            F.lit(" not in counterparties for this date"),
        ),
        "unknown_currency": F.concat(
            F.lit("currency "),
            F.col("currency"),
            F.lit(" or reporting currency "),
            F.coalesce(F.col("reporting_currency"), F.lit("")),
            F.lit(" not in fx_rates for this date"),
        ),
        "unclassified": F.concat(
            F.lit("no classification rule matches product_type "),
            F.coalesce(F.col("product_type"), F.lit("")),
            F.lit(" / counterparty_type "),
            F.coalesce(F.col("counterparty_type"), F.lit("")),
        ),
    }
    return F.coalesce(F.col("_ingest_detail"), _detail(later))


def raw_record() -> Column:
    """The row as sent: the raw CSV line if it could not be split, else its fields (untrimmed) as JSON.

    Rows rejected after ingest had valid values, so their typed values stand for what was sent.
    """
    typed = F.to_json(F.struct(*[F.col(c).cast("string").alias(c) for c in contract.DEALS.columns]))
    return F.coalesce(F.col("_ingest_raw"), typed)


REJECT_REASONS = (
    "malformed_row",
    "missing_field",
    "bad_date",
    "unknown_product_type",
    "bad_amount",
    "negative_amount",
    "maturity_before_as_of",
    "missing_hqla_class",
    "unknown_hqla_class",
    "bad_flag",
    "missing_collateral_value",
    "unknown_entity",
    "unknown_counterparty",
    "unknown_currency",
    "unclassified",
)
