"""The lake in the warehouse: one loading step, chosen by the type of the dbt target.

`regcalc run` runs it after the jobs; `regcalc load-lake` runs it alone (e.g. after a target's lake
tables were dropped, or to load older dates). Afterwards the dbt sources `lake.*` (schema
var('lake_schema')) read the published lake:

* spark (targets local, spark): external parquet tables over the lake's folders, declared by dbt's
  macro register_lake_sources (`dbt run-operation`) from the sources YAML's `external:` blocks; nothing
  is copied. Run once per `regcalc run` / `recalc` / `load-lake`, not by every dbt call: the builds
  and tests that follow on the same lake read the tables it left.
* postgres: tables in the lake schema, typed from the sources YAML (regcalc.spectrum.lake_datasets),
  loaded with COPY ... FROM STDIN from the published rows (Lake.read). A load replaces exactly the
  as-of dates it loads (all of them when no date is given), every dataset in one transaction.
* redshift: Spectrum external tables over the S3 lake (regcalc.spectrum, the default), or with
  REGCALC_REDSHIFT_LAKE_LOAD=copy, local tables loaded by COPY from each date's parquet files, one
  transaction per dataset and date (the same replace-the-dates rule as on PostgreSQL).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from regcalc.lake import PARTITION_COLUMN, Lake
from regcalc.settings import PROJECT_DIR, RegcalcError, Settings, target_profile, target_type
from regcalc.spectrum import SOURCES_YAML, LakeDataset, lake_datasets

LAKE_SCHEMA = "regcalc_lake"  # = dbt var lake_schema
REDSHIFT_LOAD_ENV = "REGCALC_REDSHIFT_LAKE_LOAD"
REDSHIFT_LOADS = ("spectrum", "copy")
COPY_READ_BYTES = 1 << 20  # what psycopg2 asks the row stream for at a time


class LoadError(RegcalcError):
    """The lake could not be loaded into the warehouse; the message says what failed and what of the
    load stands (on PostgreSQL nothing: one transaction)."""


@dataclass
class LoadReport:
    """What a load did: how, and per dataset the rows (PostgreSQL) or as-of dates (Redshift) loaded."""

    target: str
    method: str
    rows: dict[str, int] = field(default_factory=dict)
    dates: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"lake -> target {self.target}: {self.method}"]
        for dataset, rows in self.rows.items():
            lines.append(f"  {dataset}: {rows:,} rows")
        for dataset, days in self.dates.items():
            span = f", {days[0]} .. {days[-1]}" if days else ""
            lines.append(f"  {dataset}: {len(days)} as-of date(s){span}")
        return lines + [f"  note: {note}" for note in self.notes]


def load_lake(
    spark,
    settings: Settings,
    dates: Sequence[date] | None = None,
    *,
    schema: str = LAKE_SCHEMA,
    dbt_vars: dict | None = None,
    project_dir: Path | None = None,
) -> LoadReport:
    """Make the published lake at settings.lake readable by dbt on settings.target (see the module doc).

    `dates`: only these as-of dates (None: all; Spark targets always register every published date).
    `dbt_vars`, `project_dir` (Spark targets): those of the dbt build that follows, so that its parse
    reuses the registration's (dbt parses everything again when the vars or the project differ).
    Spark and PostgreSQL: a lake holding a date published before its columns changed is refused first
    (LakeError, Lake.check_columns). Raises LoadError (or AwsError on Redshift) saying what failed.
    """
    kind = target_type(settings.target)
    if kind in ("spark", "postgres"):
        declared = {dataset.folder: [name for name, _ in dataset.columns] for dataset in lake_datasets()}
        Lake(spark, settings.lake).check_columns(declared)
    if kind == "spark":
        method = "external parquet tables over the lake (dbt macro register_lake_sources)"
        from regcalc.dbt import invoke_dbt

        operation_vars = {**(dbt_vars or {}), **({"lake_schema": schema} if schema != LAKE_SCHEMA else {})}
        # --quiet: dbt's own log lines stay off stdout, which carries the command's result (the LCR table)
        invoke_dbt(
            ["run-operation", "register_lake_sources", "--quiet"],
            settings,
            operation_vars,
            project_dir=project_dir or PROJECT_DIR,
        )
        return LoadReport(settings.target, method)
    if kind == "postgres":
        connection = connect_postgres(settings.target)
        try:
            rows, notes = load_postgres(Lake(spark, settings.lake), connection, schema, dates)
        finally:
            connection.close()
        return LoadReport(settings.target, f"COPY FROM STDIN into {schema}.*", rows=rows, notes=notes)
    if kind == "redshift":
        return _load_redshift(settings, schema, dates)
    raise LoadError(f"target {settings.target} is of type {kind}: no way to load the lake into it")


# --- PostgreSQL -----------------------------------------------------------------------------------


def connect_postgres(target: str):
    """A psycopg2 connection with the credentials of `target` in profiles/profiles.yml."""
    import psycopg2

    profile = target_profile(target)
    try:
        return psycopg2.connect(
            host=profile["host"],
            port=profile["port"],
            user=profile["user"],
            password=profile.get("password") or None,
            dbname=profile["dbname"],
            sslmode=profile.get("sslmode", "prefer"),
            application_name="regcalc load-lake",
        )
    except psycopg2.OperationalError as error:
        raise LoadError(
            f"cannot connect to PostgreSQL {profile['host']}:{profile['port']} (target {target}): "
            f"{' '.join(str(error).split())} Fix: check REGCALC_POSTGRES_HOST, _PORT, _USER, _PASSWORD, "
            "_DATABASE"
        ) from None


def load_postgres(
    lake: Lake,
    connection,
    schema: str,
    dates: Sequence[date] | None,
    datasets: Sequence[LakeDataset] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """COPY the published rows of every lake dataset (default: those of the sources YAML) into
    `schema` in one transaction; return the rows loaded per dataset and notes (a table re-created
    because its columns changed)."""
    import psycopg2
    from psycopg2 import sql

    rows: dict[str, int] = {}
    notes: list[str] = []
    step = f"create schema {schema}"
    try:
        with connection, connection.cursor() as cursor:  # commits, or rolls back on any error
            cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            for dataset in lake_datasets() if datasets is None else datasets:
                step = f"load lake dataset {dataset.name} into {schema}.{dataset.name}"
                rows[dataset.name], note = _copy_dataset(lake, cursor, schema, dataset, dates)
                notes += [note] if note else []
        step = "analyze the loaded tables (the load itself is committed)"
        with connection.cursor() as cursor:  # planner statistics for the build that reads them
            connection.autocommit = True
            for dataset in rows:
                cursor.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, dataset)))
            connection.autocommit = False
    except psycopg2.Error as error:
        rolled_back = "" if step.startswith("analyze") else "; rolled back, nothing was loaded"
        raise LoadError(f"PostgreSQL: {step}: {' '.join(str(error).split())}{rolled_back}") from None
    return rows, notes


def _copy_dataset(
    lake: Lake, cursor, schema: str, dataset: LakeDataset, dates: Sequence[date] | None
) -> tuple[int, str | None]:
    """Replace the `dates` (None: all) of one dataset's table by the lake's rows; (rows, note)."""
    from psycopg2 import sql

    note = None
    columns = (*dataset.columns, (PARTITION_COLUMN, "date"))
    table = sql.Identifier(schema, dataset.name)
    state = _ensure_table(cursor, schema, dataset.name, columns)
    if state == "re-created":
        note = (
            f"{schema}.{dataset.name} re-created (its columns differ from the sources YAML), "
            "every date loaded; views over it are rebuilt by the next dbt build"
        )
    load_dates = dates if state == "kept" else None
    if load_dates is None:
        cursor.execute(sql.SQL("truncate table {}").format(table))
    else:
        cursor.execute(
            sql.SQL("delete from {} where {} = any(%s)").format(table, sql.Identifier(PARTITION_COLUMN)),
            (list(load_dates),),
        )
    names = [name for name, _ in columns]
    stream = CsvStream(_csv_lines(lake, dataset.name, names, load_dates))
    copy = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor.copy_expert(copy.as_string(cursor), stream, size=COPY_READ_BYTES)
    return stream.rows, note


def _ensure_table(cursor, schema: str, name: str, columns: Sequence[tuple[str, str]]) -> str:
    """Create the table if absent, re-create it if its columns or types differ from `columns`:
    'created', 're-created' (both empty) or 'kept'."""
    from psycopg2 import sql

    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind)) for column, kind in columns
    )
    table = sql.Identifier(schema, name)
    # The wanted columns as PostgreSQL spells them: a temporary table with the same definition.
    cursor.execute(sql.SQL("create temporary table pg_temp.wanted ({}) on commit drop").format(definition))
    wanted = _columns(cursor, "pg_temp.wanted")
    cursor.execute("drop table pg_temp.wanted")
    cursor.execute("select to_regclass(%s)", (f'"{schema}"."{name}"',))
    exists = cursor.fetchone()[0] is not None
    if exists:
        if _columns(cursor, f'"{schema}"."{name}"') == wanted:
            return "kept"
        # cascade: the dbt views over the table go too; the next build creates them again
        cursor.execute(sql.SQL("drop table {} cascade").format(table))
    cursor.execute(sql.SQL("create table {} ({})").format(table, definition))
    return "re-created" if exists else "created"


def _columns(cursor, relation: str) -> list[tuple[str, str]]:
    cursor.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (relation,),
    )
    return cursor.fetchall()


def _csv_lines(
    lake: Lake, dataset: str, columns: Sequence[str], dates: Sequence[date] | None
) -> Iterator[str]:
    """The published rows of `dataset` as CSV lines in `columns` order, streamed one Spark partition
    at a time: null is an empty field, an empty string is "", quotes are doubled (COPY's CSV)."""
    from pyspark.sql import functions as F

    frame = lake.read(dataset, dates)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise LoadError(
            f"lake dataset {dataset} has no column {', '.join(missing)} (the sources YAML declares it): "
            "rerun the jobs (regcalc run) so the lake has the current columns"
        )
    # Spark's CSV writer trims leading and trailing blanks unless told not to.
    options = {"escape": '"', "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false"}
    line = F.to_csv(F.struct(*columns), options).alias("line")
    for row in frame.select(line).toLocalIterator(prefetchPartitions=True):
        yield row.line


class CsvStream(io.RawIOBase):
    """Lines as the byte stream psycopg2's copy_expert reads (one line per row); counts the rows."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._buffer = bytearray()
        self.rows = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line.encode("utf-8") + b"\n"
            self.rows += 1
        size = len(self._buffer) if size < 0 else size
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        return chunk


# --- Redshift -------------------------------------------------------------------------------------


def _load_redshift(settings: Settings, schema: str, dates: Sequence[date] | None) -> LoadReport:
    from regcalc.spectrum import redshift_from_env, register_spectrum

    how = os.environ.get(REDSHIFT_LOAD_ENV, "spectrum").strip().lower()
    if how not in REDSHIFT_LOADS:
        raise LoadError(f"{REDSHIFT_LOAD_ENV}={how!r}: use one of {', '.join(REDSHIFT_LOADS)}")
    if not settings.lake.startswith(("s3://", "s3a://")):
        raise LoadError(
            f"Redshift reads the lake from S3: {settings.lake!r} is not an s3:// URI (use --lake s3://...)"
        )
    connection = redshift_from_env(os.environ)
    if how == "spectrum":
        registered = register_spectrum(settings.lake, schema=schema, **connection)
        return LoadReport(
            settings.target,
            f"Spectrum external tables in {schema} (every published date; a date is a partition)",
            dates=registered,
        )
    connection.pop("catalog_database", None)
    loaded = copy_lake(settings.lake, schema=schema, dates=dates, **connection)
    return LoadReport(settings.target, f"COPY from S3 into {schema}.*", dates=loaded)


def copy_lake(
    lake_uri: str,
    *,
    schema: str,
    iam_role: str,
    database: str,
    dates: Sequence[date] | None = None,
    s3_client=None,
    data_api_client=None,
    sources_yaml: Path = SOURCES_YAML,
    **data_api_target: str,
) -> dict[str, list[str]]:
    """Load the published dates of every lake dataset (or only `dates`) into local Redshift tables
    through the Data API; return the dates loaded per dataset. Loading every date also deletes the
    rows of dates no longer published."""
    import boto3

    from regcalc.aws import run_redshift_statements
    from regcalc.spectrum import published_partitions

    s3 = s3_client or boto3.client("s3")
    target = {"database": database, "client": data_api_client, **data_api_target}
    loaded: dict[str, list[str]] = {}
    datasets = lake_datasets(sources_yaml)
    published = published_partitions(lake_uri, s3)
    wanted = None if dates is None else sorted(day.isoformat() for day in dates)
    for dataset in datasets:
        folders = published.get(dataset.name, {})
        days = sorted(folders) if wanted is None else wanted
        unpublished = sorted(set(days) - set(folders))
        if unpublished:
            raise LoadError(
                f"{lake_uri}/{dataset.name}: no published partition for {', '.join(unpublished)}: "
                "run the jobs for those dates"
            )
        run_redshift_statements(redshift_table_statements(dataset, schema), **target)
        for day in days:
            run_redshift_statements(
                redshift_copy_statements(dataset, folders[day], day, schema, iam_role),
                transaction=True,
                **target,
            )
        if wanted is None:  # every date: the dates no longer in the lake go
            run_redshift_statements([redshift_prune_statement(dataset, schema, days)], **target)
        loaded[dataset.name] = list(days)
    return loaded


def redshift_table_statements(dataset: LakeDataset, schema: str) -> list[str]:
    """The schema and the local table of a lake dataset, if absent (as_of_date last, the sort key)."""
    from regcalc.aws import quote_identifier

    columns = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in dataset.columns)
    return [
        f"create schema if not exists {quote_identifier(schema)}",
        f"create table if not exists {quote_identifier(schema)}.{quote_identifier(dataset.name)} "
        f"({columns}, {PARTITION_COLUMN} date) sortkey ({PARTITION_COLUMN})",
    ]


def redshift_copy_statements(
    dataset: LakeDataset, folder: str, day: str, schema: str, iam_role: str
) -> list[str]:
    """One transaction that replaces one as-of date of a dataset by the parquet files of that date's
    current version (`folder`, an s3:// URI from the lake's commit records).

    COPY loads parquet by column position and the date lives only in the folder name, so the files go
    into a temporary table of the file columns first, and the insert adds the date."""
    from regcalc.aws import copy_statement, quote_identifier, quote_literal

    table = f"{quote_identifier(schema)}.{quote_identifier(dataset.name)}"
    staging = f"{dataset.name}__load"
    typed = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in dataset.columns)
    names = ", ".join(quote_identifier(name) for name, _ in dataset.columns)
    day_literal = quote_literal(day)
    return [
        f"create temp table {quote_identifier(staging)} ({typed})",
        copy_statement(staging, folder, iam_role),
        f"delete from {table} where {PARTITION_COLUMN} = {day_literal}",
        f"insert into {table} ({names}, {PARTITION_COLUMN}) "
        f"select {names}, cast({day_literal} as date) from {quote_identifier(staging)}",
        f"drop table {quote_identifier(staging)}",
    ]


def redshift_prune_statement(dataset: LakeDataset, schema: str, days: Sequence[str]) -> str:
    """Delete the rows of the dates that are no longer published (all rows when none is)."""
    from regcalc.aws import quote_identifier, quote_literal

    table = f"{quote_identifier(schema)}.{quote_identifier(dataset.name)}"
    if not days:
        return f"delete from {table}"
    kept = ", ".join(quote_literal(day) for day in days)
    return f"delete from {table} where {PARTITION_COLUMN} is null or {PARTITION_COLUMN} not in ({kept})"
