"""Ingest: locate and read the bank's extract (input contract, versions 1 and 2) and validate it.

Reading is the edge where the bank's files meet Spark, so every problem of a file is named here
(file, line, column) before Spark sees it, and a Spark error while reading becomes one line naming
the input (`spark_errors.translated`):
  - CSV is RFC 4180 (quoted commas, doubled quotes, line breaks inside quotes), UTF-8 with or without
    Excel's byte-order mark, LF or CRLF line ends. Line numbers are the physical line where a record
    starts. Deals go through Spark's CSV reader in multi-line mode (a record may span lines, so each
    file is read from its start by one task: send a large extract as a folder of part files);
    reference data, small, through Python's csv module.
  - Parquet files are opened with pyarrow first: an unreadable file, or part files whose columns have
    different types, is named before Spark reads them.

Reference data (entities, counterparties, FX) is small and curated: any bad row stops the run with
every problem listed by file, line and column. Deals are large: a bad deal never stops the run and
never vanishes; it is kept with a reject reason (see `validate_deals`).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow
import pyarrow.parquet
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from regcalc import contract, spark_errors
from regcalc.decimals import MONEY
from regcalc.settings import RegcalcError


class InputContractError(RegcalcError):
    """The input does not follow the contract in a way that no single-row reject can absorb."""


@dataclass(frozen=True)
class InputFile:
    dataset: contract.Dataset
    path: Path
    fmt: str  # csv | parquet

    @property
    def files(self) -> list[Path]:
        """The file, or the part files of the folder (`*.csv` / `*.parquet`, sorted)."""
        return sorted(self.path.glob(f"*.{self.fmt}")) if self.path.is_dir() else [self.path]


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


# ---------------------------------------------------------------------------------------------
# Files: CSV records with their line numbers, parquet schemas
# ---------------------------------------------------------------------------------------------

CSV_ENCODING = "utf-8-sig"  # UTF-8; a leading byte-order mark (Excel's "CSV UTF-8") is not data


def _not_utf8(path: Path) -> InputContractError:
    data = path.read_bytes()
    try:
        data.decode("utf-8")  # a BOM is valid UTF-8, and the offsets stay those of the file
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return InputContractError(
            f"{path}:{line}: not UTF-8 (byte {data[error.start]:#04x}); save the file as CSV UTF-8"
        )
    return InputContractError(f"{path}: not UTF-8; save the file as CSV UTF-8")


def _csv_problem(path: Path, line: int, error: csv.Error) -> InputContractError:
    if "unexpected end of data" in str(error):
        reason = "a quoted field that starts in this record is never closed (a quote is missing)"
    else:
        reason = f"not RFC 4180 CSV ({error})"
    return InputContractError(f"{path}:{line}: {reason}; fix the quoting and rerun")


def csv_records(path: Path, strict: bool = True) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) of every record of a CSV file, header first.

    RFC 4180 (quoted commas, doubled quotes, line breaks), UTF-8 with or without BOM, LF or CRLF.
    Blank lines are skipped. `strict` refuses what RFC 4180 does not allow (text after a closing
    quote, a quote never closed); lenient reading accepts it as Spark's reader does. Raises
    InputContractError naming file and line for a file that cannot be read as CSV.
    """
    start = 1
    try:
        with path.open(newline="", encoding=CSV_ENCODING) as handle:
            reader = csv.reader(handle, strict=strict)
            for fields in reader:
                if any(field.strip() for field in fields):
                    yield start, fields
                start = reader.line_num + 1
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as error:
        raise _csv_problem(path, start, error) from None
    except OSError as error:
        raise InputContractError(f"{path}: cannot be read ({error.strerror or error})") from None


def csv_header(path: Path) -> list[str]:
    """The header of a CSV file (names stripped); refuses a file Spark's reader would misread."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    first_cr, first_lf = head.find(b"\r"), head.find(b"\n")
    if first_cr != -1 and (first_lf == -1 or first_cr < first_lf - 1):
        raise InputContractError(
            f"{path}: lines end with CR only (an old Mac format); save it with LF or CRLF line ends "
            "(CSV UTF-8)"
        )
    for _, fields in csv_records(path):
        return [name.strip() for name in fields]
    return []


def _parquet_schema(path: Path) -> pyarrow.Schema:
    try:
        return pyarrow.parquet.read_schema(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise InputContractError(f"{path}: not a readable parquet file ({error}); write it again") from None


def _parquet_columns(source: InputFile) -> list[str]:
    """The columns of a parquet dataset, after checking that every part file has the same types."""
    schemas = {path: _parquet_schema(path) for path in source.files}
    first_path, first = next(iter(schemas.items()))
    for path, schema in schemas.items():
        for name in source.dataset.columns:
            if (
                name in first.names
                and name in schema.names
                and schema.field(name).type != first.field(name).type
            ):
                raise InputContractError(
                    f"{path}: column {name} is {schema.field(name).type}, {first_path.name} has "
                    f"{first.field(name).type}; all part files need one type per column"
                )
    return first.names


def check_columns(source: InputFile) -> list[str]:
    """Fail fast, naming file and columns, when a file lacks contract columns; return the header.

    Extra columns are allowed and columns may come in any order, but every part file of a
    dataset must have the same header. A reference dataset that may be undated needs
    `as_of_date` only if it is dated.
    """
    if not source.files:
        raise InputContractError(f"{source.path}: no .{source.fmt} files in the folder")
    if source.fmt == "parquet":
        names = _parquet_columns(source)
        _compare_columns(source.path, names, source.dataset)
        return names
    headers = {}
    for path in source.files:
        header = csv_header(path)
        _compare_columns(path, header, source.dataset)
        headers[path] = header
    first_path, first = next(iter(headers.items()))
    for path, header in headers.items():
        if header != first:
            raise InputContractError(
                f"{path}: header differs from {first_path}; all part files need one header"
            )
    return first


def _compare_columns(path: Path, found: list[str], dataset: contract.Dataset) -> None:
    dated = contract.SNAPSHOT_DATE in found or not dataset.may_be_undated
    missing = [column for column in dataset.required_columns(dated) if column not in found]
    if missing:
        optional = (
            f" ({contract.SNAPSHOT_DATE} is optional: without it the file is one snapshot for every "
            "as-of date)"
            if dataset.may_be_undated
            else ""
        )
        raise InputContractError(
            f"{path}: missing column(s) {', '.join(missing)} for {dataset.name}; the contract needs "
            f"{', '.join(dataset.required_columns(dated))}{optional} (extra columns are allowed)"
        )


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
_MAY_BE_EMPTY = ("counterparty_name", "entity_name")

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


def _check_reference_value(field: T.StructField, value: str) -> str | None:
    """Why a reference value is unusable, or None when it is fine."""
    column = field.name
    if value == "":
        return None if column in _MAY_BE_EMPTY else "is empty"
    if isinstance(field.dataType, T.DateType):
        if not _DATE_PATTERN.match(value):
            return f"{value!r} is not a date (yyyy-mm-dd)"
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not a calendar date"
    if isinstance(field.dataType, T.NumericType):
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number"
        if not math.isfinite(number):
            return f"{value!r} is not a finite number"
        if column == "rate_to_usd" and number <= 0:
            return f"{value} must be > 0"
    if column == "counterparty_type" and value not in contract.COUNTERPARTY_TYPES:
        return f"{value!r} is not one of {', '.join(contract.COUNTERPARTY_TYPES)}"
    if column in ("currency", "reporting_currency") and not _CURRENCY_PATTERN.match(value):
        return f"{value!r} is not an ISO 4217 currency code"
    return None


def _typed(field: T.StructField, value: str) -> object:
    """A checked text value as the type of its column (empty text is null)."""
    if value == "":
        return None
    if isinstance(field.dataType, T.DateType):
        return date.fromisoformat(value)
    if isinstance(field.dataType, T.DecimalType):
        return Decimal(value)
    if isinstance(field.dataType, T.NumericType):
        return float(value)
    return value


def _as_text(value: object) -> str:
    """A parquet value as the text a CSV would hold (dates ISO, numbers as Python writes them)."""
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _reference_rows(source: InputFile, columns: tuple[str, ...]) -> Iterator[tuple[str, int, dict | None]]:
    """(file, line, {column: text}) per record of a reference dataset, whatever its format.

    The row is None for a CSV record with the wrong number of fields. Parquet rows are numbered
    from 1 within their file. A quoted line break inside a value is kept as one LF.
    """
    for path in source.files:
        if source.fmt == "parquet":
            try:
                table = pyarrow.parquet.read_table(path, columns=list(columns))
            except (pyarrow.ArrowException, OSError) as error:
                raise InputContractError(f"{path}: not a readable parquet file ({error})") from None
            for index, row in enumerate(table.to_pylist(), start=1):
                yield path.name, index, {column: _as_text(row[column]) for column in columns}
            continue
        records = csv_records(path)
        header = [name.strip() for name in next(records, (1, []))[1]]
        for line, fields in records:
            if len(fields) != len(header):
                yield path.name, line, None
                continue
            values = dict(zip(header, fields, strict=True))
            yield path.name, line, {column: values[column].replace("\r\n", "\n") for column in columns}


@dataclass(frozen=True)
class ReferenceData:
    """One checked reference dataset: typed rows, as dated snapshots or as one undated snapshot.

    `rows` follow `schema` (REFERENCE_SCHEMAS, less `as_of_date` when undated).
    """

    source: InputFile
    dated: bool
    rows: list[tuple]

    @property
    def name(self) -> str:
        return self.source.dataset.name

    @property
    def schema(self) -> T.StructType:
        fields = REFERENCE_SCHEMAS[self.name].fields
        return T.StructType([f for f in fields if self.dated or f.name != contract.SNAPSHOT_DATE])

    def dates(self, as_of_dates: list[date] | None = None) -> set[date]:
        """The as-of dates of a dated dataset (within `as_of_dates` when given); none when undated."""
        if not self.dated:
            return set()
        return {row[0] for row in self.rows if not as_of_dates or row[0] in as_of_dates}

    def frame(self, spark: SparkSession, as_of_dates: list[date] | None = None) -> DataFrame:
        """The rows for the deal-level joins: dated ones within `as_of_dates` (all when None)."""
        rows = (
            [row for row in self.rows if row[0] in as_of_dates] if as_of_dates and self.dated else self.rows
        )
        return driver_frame(spark, rows, self.schema)

    def snapshots(self, spark: SparkSession, as_of_dates: list[date]) -> DataFrame:
        """A full snapshot per as-of date for the lake: an undated one is repeated for every date."""
        if self.dated:
            return self.frame(spark, as_of_dates)
        date_schema = T.StructType([T.StructField(contract.SNAPSHOT_DATE, T.DateType())])
        dates = driver_frame(spark, [(day,) for day in sorted(as_of_dates)], date_schema)
        return dates.crossJoin(self.frame(spark)).select(*REFERENCE_SCHEMAS[self.name].fieldNames())


def driver_frame(spark: SparkSession, rows: list[tuple], schema: T.StructType) -> DataFrame:
    """Rows held by the driver as a DataFrame of `schema`, handed to the JVM as one Arrow table.

    A list given to createDataFrame becomes a Python RDD whose rows a Python worker converts on the
    executors; the jobs are otherwise plain DataFrame plans, so a cluster's executors need no Python at
    all (tests/test_cluster.py runs them without one)."""
    table = pyarrow.Table.from_pylist(
        [dict(zip(schema.fieldNames(), row, strict=True)) for row in rows], schema=to_arrow_schema(schema)
    )
    return spark.createDataFrame(table)


def read_reference(source: InputFile, header: list[str]) -> tuple[ReferenceData, list[str]]:
    """Read and check one reference dataset: its typed rows and every problem as `file:line: ...`."""
    dataset = source.dataset
    dated = contract.SNAPSHOT_DATE in header
    schema = REFERENCE_SCHEMAS[dataset.name]
    fields = [field for field in schema.fields if dated or field.name != contract.SNAPSHOT_DATE]
    columns = tuple(field.name for field in fields)
    key = dataset.key_columns(dated)
    errors: list[str] = []
    rows: list[tuple] = []
    seen: dict[tuple, str] = {}
    try:
        for file_name, line, row in _reference_rows(source, columns):
            if row is None:
                errors.append(f"{file_name}:{line}: malformed row (wrong number of fields)")
                continue
            values = {column: row[column].strip() for column in columns}
            problems = [
                f"{file_name}:{line}: column {field.name}: {problem}"
                for field in fields
                if (problem := _check_reference_value(field, values[field.name]))
            ]
            errors.extend(problems)
            where = f"{file_name}:{line}" if len(source.files) > 1 else f"line {line}"
            row_key = tuple(values[column] for column in key)
            if row_key in seen:
                errors.append(f"{file_name}:{line}: duplicate key {row_key} (first on {seen[row_key]})")
            seen.setdefault(row_key, where)
            if not problems:
                rows.append(tuple(_typed(field, values[field.name]) for field in fields))
    except InputContractError as error:  # the file cannot be read on: report it with the rest
        errors.append(str(error))
    return ReferenceData(source, dated, rows), errors


def read_references(
    sources: list[InputFile], headers: dict[str, list[str]], max_errors: int = 50
) -> dict[str, ReferenceData]:
    """Read and check every reference dataset; raise one error listing every problem of all of them."""
    references, errors = {}, []
    for source in sources:
        references[source.dataset.name], problems = read_reference(source, headers[source.dataset.name])
        errors.extend(problems)
    if errors:
        shown = errors[:max_errors]
        more = f"\n  ... and {len(errors) - max_errors} more" if len(errors) > max_errors else ""
        raise InputContractError(
            f"reference data: {len(errors)} problem(s); fix them and rerun:\n  " + "\n  ".join(shown) + more
        )
    return references


# ---------------------------------------------------------------------------------------------
# Deals
# ---------------------------------------------------------------------------------------------

RAW_RECORD = "raw_record"
# The deal columns as read: v1's, then the later versions' optional ones (null when a file leaves them out).
DEAL_COLUMNS_AS_SENT = (*contract.DEALS.columns, *contract.DEALS.optional_columns)


def _with_optional_columns(frame: DataFrame) -> DataFrame:
    """The optional deal columns a file leaves out, as nulls (a v1 file has none of them)."""
    absent = [column for column in contract.DEALS.optional_columns if column not in frame.columns]
    return frame.withColumns({column: F.lit(None).cast("string") for column in absent})


def read_deals(spark: SparkSession, source: InputFile, header: list[str]) -> DataFrame:
    """Deals as read, plus `source_file` and, for CSV records with the wrong field count, `raw_record`.

    CSV as RFC 4180 (see the module docstring): `multiLine` lets a quoted field span lines, `escape`
    reads a doubled quote as a quote, and `lineSep` splits records at LF only, so a CRLF file leaves
    a CR at the end of each record's last field, which is dropped here.
    """
    files = [str(path) for path in source.files]
    with spark_errors.translated(
        f"deals {source.path}", "check that the files are the extract as written", InputContractError
    ):
        if source.fmt == "csv":
            # Every column of the file's header as a string, by name: typing happens in validate_deals
            # so that a bad value becomes a reject with its reason instead of a silent null.
            schema = T.StructType(
                [T.StructField(column, T.StringType()) for column in header]
                + [T.StructField(RAW_RECORD, T.StringType())]
            )
            frame = spark.read.csv(
                files,
                header=True,
                schema=schema,
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=RAW_RECORD,
                multiLine=True,
                escape='"',
                lineSep="\n",
                encoding="UTF-8",
            )
            last = header[-1]
            frame = frame.withColumn(last, F.rtrim(F.col(last), F.lit("\r")))
            frame = _with_optional_columns(frame).select(*DEAL_COLUMNS_AS_SENT, RAW_RECORD)
        else:
            frame = _with_optional_columns(spark.read.parquet(*files)).select(*DEAL_COLUMNS_AS_SENT)
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


def _version() -> Column:
    """The row's contract version: a blank cell (or a file without the column) is version 1."""
    return F.coalesce(F.col(contract.CONTRACT_VERSION), F.lit(contract.CONTRACT_VERSIONS[0]))


def validate_deals(raw: DataFrame) -> DataFrame:
    """Type the contract columns and attach `reject_reason` (null when valid).

    The values as sent stay available as `_raw_<column>` so that `reject_detail` and the raw
    record of a rejected row can be built at the end, for rejected rows only. Checks that need
    reference data (unknown entity, counterparty, currency) are added by enrich. A valid
    `derivative_net` row (contract v2) leaves as the product of its direction with the absolute amount
    (contract.NET_DERIVATIVE_AS); its record as sent is kept in `_ingest_raw`.
    """
    net = F.col("product_type") == F.lit(contract.NET_DERIVATIVE)
    raw = _with_optional_columns(raw)
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
        # null when blank, so a v1 row's record (raw_record of a later reject) stays as v1 wrote it
        F.nullif(_as_string(raw, contract.CONTRACT_VERSION), F.lit("")).alias(contract.CONTRACT_VERSION),
        F.col("source_file"),
        F.col(RAW_RECORD),
        *[F.col(column).alias(RAW_PREFIX + column) for column in DEAL_COLUMNS_AS_SENT],
    )
    checks: list[tuple[str, Column]] = [
        ("malformed_row", F.col(RAW_RECORD).isNotNull()),
        ("missing_field", _empty("deal_id") | _empty("entity_id") | _empty("counterparty_id")),
        ("unknown_contract_version", ~_version().isin(*contract.CONTRACT_VERSIONS)),
        (
            "bad_date",
            F.col("as_of_date").isNull()
            | (F.col("maturity_date").isNull() & ~_empty(RAW_PREFIX + "maturity_date")),
        ),
        ("unknown_product_type", ~F.coalesce(F.col("product_type"), F.lit("")).isin(*contract.PRODUCT_TYPES)),
        (
            "product_not_in_version",
            F.col("product_type").isin(*contract.V2_PRODUCT_TYPES)
            & (_version() == contract.CONTRACT_VERSIONS[0]),
        ),
        (
            "bad_amount",
            F.col("amount").isNull()
            | (F.col("collateral_market_value").isNull() & ~_empty(RAW_PREFIX + "collateral_market_value")),
        ),
        ("negative_amount", ((F.col("amount") < 0) & ~net) | (F.col("collateral_market_value") < 0)),
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
    return (
        add_reject_checks(typed, checks)
        .transform(_keep_ingest_rejects)
        .transform(reject_duplicate_deal_ids)
        .transform(_net_derivatives_by_direction)
    )


def _net_derivatives_by_direction(deals: DataFrame) -> DataFrame:
    """A valid derivative_net row as derivative_payable (amount < 0) or derivative_receivable, amount >= 0."""
    net = (F.col("product_type") == F.lit(contract.NET_DERIVATIVE)) & F.col("reject_reason").isNull()
    direction = F.when(F.col("amount") < 0, F.lit(contract.NET_DERIVATIVE_AS["outflow"])).otherwise(
        F.lit(contract.NET_DERIVATIVE_AS["inflow"])
    )
    return deals.withColumns(
        {
            "product_type": F.when(net, direction).otherwise(F.col("product_type")),
            "amount": F.when(net, F.abs(F.col("amount"))).otherwise(F.col("amount")),
        }
    )


def reject_duplicate_deal_ids(deals: DataFrame) -> DataFrame:
    """Reject every row of an (as_of_date, deal_id) that comes more than once: `duplicate_deal_id`.

    Rows already rejected count (the bank sent the key twice) but keep their first reason. One
    window over the key: the only shuffle of the deal-level chain; its rows come out sorted by
    as_of_date, the order the partitioned write of the lake needs, so that write sorts nothing.
    """
    rows = F.count(F.lit(1)).over(Window.partitionBy("as_of_date", "deal_id"))
    duplicate = F.col("as_of_date").isNotNull() & ~_empty("deal_id") & (rows > 1)
    checked = add_reject_checks(deals.withColumn("_rows_per_key", rows), [("duplicate_deal_id", duplicate)])
    detail = F.concat(
        F.lit("deal_id '"),
        F.col("deal_id"),
        F.lit("' is on "),
        F.col("_rows_per_key").cast("string"),
        F.lit(" rows for as_of_date "),
        F.col("as_of_date").cast("string"),
    )
    is_duplicate = F.col("reject_reason") == F.lit("duplicate_deal_id")
    return checked.withColumn(
        "_ingest_detail", F.when(is_duplicate, detail).otherwise(F.col("_ingest_detail"))
    ).drop("_rows_per_key")


def add_reject_checks(frame: DataFrame, checks: list[tuple[str, Column]]) -> DataFrame:
    """Record the code of the first failing check as `reject_reason`; an earlier reason wins.

    Codes must be declared in contract.REJECT_REASONS (the list the lake's readers are told about).
    """
    undeclared = [code for code, _ in checks if code not in contract.REJECT_REASONS]
    if undeclared:
        raise ValueError(f"reject reason(s) {undeclared} are not declared in contract.REJECT_REASONS")
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


UNCLOSED_QUOTE_DETAIL = (
    "wrong number of fields: a quoted field in this record is never closed, so the lines after it "
    "were read into it"
)


def _unclosed_quote() -> Column:
    """A malformed record that spans lines and holds an odd number of quote characters: a quoted
    field opened and never closed, so the reader took the following lines into it (RFC 4180 pairs
    every opening quote with a closing one, and a quote inside a field is doubled). A stray quote
    inside an unquoted field (`12" pipe`) keeps its record on one line: that is a plain malformed row."""
    record = F.col(RAW_RECORD)
    quotes = F.length(record) - F.length(F.replace(record, F.lit('"'), F.lit("")))
    return (quotes % 2 == 1) & record.contains("\n")


def _ingest_details() -> dict[str, Column]:
    """Messages of the checks of validate_deals, from the values as sent."""
    return {
        "malformed_row": F.when(_unclosed_quote(), F.lit(UNCLOSED_QUOTE_DETAIL)).otherwise(
            F.lit("wrong number of fields")
        ),
        "missing_field": F.concat(
            _listed([(_empty(c), F.lit(c)) for c in ("deal_id", "entity_id", "counterparty_id")]),
            F.lit(": empty"),
        ),
        "bad_date": F.when(
            F.col("as_of_date").isNull(), F.concat(F.lit("as_of_date: "), _quoted_raw("as_of_date"))
        ).otherwise(F.concat(F.lit("maturity_date: "), _quoted_raw("maturity_date"))),
        "unknown_contract_version": F.concat(
            F.lit("contract_version: "),
            _quoted_raw(contract.CONTRACT_VERSION),
            F.lit(f" (this regcalc reads versions {', '.join(contract.CONTRACT_VERSIONS)}; blank is 1)"),
        ),
        "unknown_product_type": F.concat(F.lit("product_type: "), _quoted_raw("product_type")),
        "product_not_in_version": F.concat(
            F.lit("product_type: "),
            _quoted_raw("product_type"),
            F.lit(" needs contract_version 2; this row is version 1"),
        ),
        "bad_amount": F.when(
            F.col("amount").isNull(), F.concat(F.lit("amount: "), _quoted_raw("amount"))
        ).otherwise(F.concat(F.lit("collateral_market_value: "), _quoted_raw("collateral_market_value"))),
        "negative_amount": F.when(F.col("amount") < 0, F.concat(F.lit("amount: "), _raw("amount"))).otherwise(
            F.concat(F.lit("collateral_market_value: "), _raw("collateral_market_value"))
        ),
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
        F.to_json(F.struct(*[F.col(RAW_PREFIX + c).cast("string").alias(c) for c in DEAL_COLUMNS_AS_SENT])),
    )
    # A derivative_net row changes product and sign below: keep what was sent for a later reject.
    sent_differently = F.col("product_type") == F.lit(contract.NET_DERIVATIVE)
    return frame.withColumns(
        {
            "_ingest_detail": F.when(rejected, _detail(_ingest_details())),
            "_ingest_raw": F.when(rejected | sent_differently, raw_json),
        }
    ).drop(*[RAW_PREFIX + column for column in DEAL_COLUMNS_AS_SENT], RAW_RECORD)


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
    typed = F.to_json(F.struct(*[F.col(c).cast("string").alias(c) for c in DEAL_COLUMNS_AS_SENT]))
    return F.coalesce(F.col("_ingest_raw"), typed)
