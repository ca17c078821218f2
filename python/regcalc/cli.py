"""The regcalc command line: generate a sample bank, run the pipeline, read the LCR."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from pathlib import Path

from regcalc.settings import RegcalcError, Settings

LCR_COLUMNS = (
    "entity_id",
    "as_of_date",
    "hqla_level1",
    "hqla_level2a",
    "hqla_level2b",
    "adj_15_cap",
    "adj_40_cap",
    "hqla",
    "total_outflows",
    "total_inflows",
    "capped_inflows",
    "net_cash_outflows",
    "lcr",
)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (yyyy-mm-dd)") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regcalc",
        description="Deal-level Basel III LCR (BCBS 238): PySpark jobs to a parquet lake, dbt marts on Spark "
        "or Redshift.",
        epilog="Environment: REGCALC_HOME (state dir, default ./.regcalc), REGCALC_LAKE (lake URI), "
        "REGCALC_TARGET (dbt target), REGCALC_SCHEMA (dbt schema).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate",
        help="write a deterministic synthetic bank (input contract v1)",
        description="Write a deterministic synthetic bank in input contract v1 format.",
    )
    generate.add_argument(
        "--deals", type=_positive_int, default=20_000, help="number of deals (default 20000)"
    )
    generate.add_argument("--entities", type=_positive_int, default=3, help="legal entities (default 3)")
    generate.add_argument(
        "--dates", type=_positive_int, default=2, help="consecutive as-of dates (default 2)"
    )
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument("--first-date", type=_date, default=date(2026, 9, 29), help="first as-of date")
    generate.add_argument("--format", choices=("csv", "parquet"), default="csv", help="deals file format")
    generate.add_argument("--out", type=Path, required=True, help="output folder (created or overwritten)")

    run = commands.add_parser(
        "run",
        help="run the Spark jobs, then dbt build, in one process",
        description="Read the extract in --input, write the deal-level lake, then run "
        "`dbt build` on the same SparkSession and print the LCR.",
    )
    run.add_argument(
        "--input",
        type=Path,
        required=True,
        help="folder with deals, counterparties, entities, "
        "fx_rates (.csv, .parquet or a folder of part files)",
    )
    run.add_argument(
        "--lake", help="lake URI (default ./lake or $REGCALC_LAKE; s3a://bucket/prefix in production)"
    )
    run.add_argument(
        "--as-of",
        type=_date,
        action="append",
        dest="as_of",
        help="only this as-of date (repeatable; default: every date in the input)",
    )
    run.add_argument("--target", help="dbt target (default local, or $REGCALC_TARGET)")
    run.add_argument(
        "--max-reject-rate",
        type=float,
        default=0.01,
        help="fail, publishing nothing, if more than this share of deals is rejected (default 0.01)",
    )
    run.add_argument("--skip-dbt", action="store_true", help="only run the Spark jobs")

    lcr = commands.add_parser(
        "lcr",
        help="print the LCR per entity and as-of date",
        description="Print the LCR per entity and as-of date from the marts.",
    )
    lcr.add_argument("--as-of", type=_date, help="as-of date (default: every date)")
    lcr.add_argument("--entity", help="only this entity")
    lcr.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"generate": cmd_generate, "run": cmd_run, "lcr": cmd_lcr}[args.command](args)
    except RegcalcError as error:
        print(f"regcalc {args.command}: error: {error}", file=sys.stderr)
        return 1


def cmd_generate(args) -> int:
    from regcalc.generate import generate_bank
    from regcalc.progress import Progress
    from regcalc.session import get_spark

    progress = Progress()
    spark = get_spark(Settings.from_env())
    with progress.stage(f"generate {args.deals:,} deals into {args.out}") as timing:
        counts = generate_bank(
            spark,
            args.out,
            deals=args.deals,
            entities=args.entities,
            dates=args.dates,
            seed=args.seed,
            fmt=args.format,
            first_date=args.first_date,
        )
        timing.rows = counts.get("deals")
    for name, count in counts.items():
        print(f"{name}: {count:,} rows")
    return 0


def cmd_run(args) -> int:
    from regcalc.dbt import invoke_dbt
    from regcalc.pipeline import run_jobs
    from regcalc.progress import Progress
    from regcalc.session import get_spark

    settings = Settings.from_env(lake=args.lake, target=args.target)
    progress = Progress()
    spark = get_spark(settings)
    report = run_jobs(
        spark,
        settings.lake,
        args.input,
        as_of_dates=args.as_of,
        max_reject_rate=args.max_reject_rate,
        progress=progress,
    )
    progress.info(
        f"accepted {report.total_accepted:,} deals on {len(report.as_of_dates)} as-of date(s); "
        f"rejected {report.total_rejected:,}"
    )
    for reason, count in sorted(report.rejected.items()):
        progress.info(f"  rejected {reason}: {count:,}")
    for example in report.examples[:10]:
        progress.info(f"    {example}")
    if args.skip_dbt:
        return 0
    with progress.stage(f"dbt build (target {settings.target})"):
        invoke_dbt(["build"], settings)
    rows = read_lcr(spark, settings, None, None)
    dates = set(report.as_of_dates)
    print(format_lcr([row for row in rows if row["as_of_date"] in dates], "table"))
    return 0


def read_lcr(spark, settings: Settings, as_of: date | None, entity: str | None) -> list[dict]:
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        frame = spark.table(f"{settings.schema}.fct_lcr")
    except AnalysisException:
        raise RegcalcError(
            f"no LCR in schema {settings.schema} yet: run `regcalc run --input DIR` first"
        ) from None
    if as_of:
        frame = frame.where(F.col("as_of_date") == F.lit(as_of))
    if entity:
        frame = frame.where(F.col("entity_id") == F.lit(entity))
    rows = [row.asDict() for row in frame.select(*LCR_COLUMNS).orderBy("as_of_date", "entity_id").collect()]
    return rows


def cmd_lcr(args) -> int:
    from regcalc.session import get_spark

    settings = Settings.from_env()
    rows = read_lcr(get_spark(settings), settings, args.as_of, args.entity)
    if not rows:
        raise RegcalcError(
            "no LCR rows"
            + (f" for as-of {args.as_of}" if args.as_of else "")
            + (f" and entity {args.entity}" if args.entity else "")
        )
    print(format_lcr(rows, args.format))
    return 0


def format_lcr(rows: list[dict], fmt: str) -> str:
    def text(column: str, value) -> str:
        if value is None:
            return ""
        if column == "lcr":
            return f"{value:.4f}"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    if fmt == "json":
        return json.dumps(
            [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in rows],
            indent=2,
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(LCR_COLUMNS)
        for row in rows:
            writer.writerow([text(column, row[column]) for column in LCR_COLUMNS])
        return buffer.getvalue().rstrip("\n")
    cells = [[text(column, row[column]) for column in LCR_COLUMNS] for row in rows]
    widths = [
        max([len(column)] + [len(line[index]) for line in cells]) for index, column in enumerate(LCR_COLUMNS)
    ]
    lines = ["  ".join(column.rjust(width) for column, width in zip(LCR_COLUMNS, widths, strict=True))]
    lines += [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in cells
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
