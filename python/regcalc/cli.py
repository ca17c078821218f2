"""The regcalc command line: generate a sample bank, run the pipeline, read the LCR."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from datetime import date
from pathlib import Path

from regcalc.settings import RegcalcError, Settings, environment_help

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


def _existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is not a folder (generate one: regcalc generate --out {text})"
        )
    return path


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
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the epilog's one setting per line
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
        type=_existing_dir,
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
    lcr.add_argument(
        "--scenario", default="base", help="scenario (default base); others show the change vs base"
    )
    lcr.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")

    from regcalc.explain import METRICS

    explain = commands.add_parser(
        "explain",
        help="where one LCR number comes from: formula, caps, components, deals, adjustment rules",
        description="For one entity, as-of date and scenario: the metric as fct_lcr holds it, its BCBS 238 "
        "formula with the values filled in and which cap bound (Level 2B 15%, Level 2 40%, 75% inflows), "
        "each component with its categories and top contributing deals (classification rule, parameter "
        "table, BCBS paragraph), how each component moved at the adjustment points deal, entity_category "
        "and lcr_components, and every adjustment rule that changed a row feeding it (value before, after, "
        "delta). Reads the marts of the last `regcalc run`.",
    )
    explain.add_argument("--entity", required=True, help="entity_id")
    explain.add_argument("--as-of", type=_date, required=True, help="as-of date (yyyy-mm-dd)")
    explain.add_argument("--scenario", default="base", help="scenario (default base)")
    explain.add_argument(
        "--metric",
        choices=tuple(METRICS),
        default="lcr",
        metavar="METRIC",
        help=f"what to explain (default lcr): {', '.join(METRICS)}",
    )
    explain.add_argument(
        "--top", type=_positive_int, default=5, help="deals (and audit rows) shown per component (default 5)"
    )
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    spectrum = commands.add_parser(
        "register-spectrum",
        help="declare the S3 lake as Redshift Spectrum external tables (production)",
        description="Create the external schema, one external table per lake dataset (columns from the "
        "sources YAML) and a partition per published as-of date, through the Redshift Data API. "
        "`regcalc run --target redshift` does this after the jobs; run it alone after moving the lake. "
        "Connection: REGCALC_REDSHIFT_DATABASE, REGCALC_REDSHIFT_CLUSTER_ID or REGCALC_REDSHIFT_WORKGROUP, "
        "REGCALC_REDSHIFT_SECRET_ARN (or REGCALC_REDSHIFT_USER), REGCALC_SPECTRUM_IAM_ROLE, "
        "REGCALC_SPECTRUM_CATALOG_DATABASE.",
    )
    spectrum.add_argument("--lake", help="lake URI (s3://bucket/prefix; default $REGCALC_LAKE)")
    spectrum.add_argument(
        "--schema",
        default="regcalc_lake",
        help="external schema, = dbt var lake_schema (default regcalc_lake)",
    )

    publish = commands.add_parser(
        "publish",
        help="copy a file or folder to S3 all together or not at all (e.g. the docs site)",
        description="Upload SOURCE (a file, or every file under a folder) to S3_URI through a staging "
        "prefix: readers never see a half-written set, and a failure puts the previous files back.",
    )
    publish.add_argument("source", type=Path, help="file or folder to publish")
    publish.add_argument("s3_uri", help="destination, s3://bucket/prefix")
    publish.add_argument(
        "--mirror", action="store_true", help="also delete keys under the prefix that SOURCE no longer has"
    )

    recalc = commands.add_parser(
        "recalc",
        help="rebuild only what changed since the last successful build (rules, lake dates)",
        description="Compare the rule and parameter seeds and the lake with the last successful build "
        "(state in $REGCALC_HOME/recalc_state), work out the injection points, models and as-of dates "
        "affected, and run the smallest `dbt build` for them. Regulatory parameter changes need "
        "`regcalc run` (the Spark jobs apply them).",
    )
    recalc.add_argument("--plan", action="store_true", help="only print the plan and the dbt command")
    recalc.add_argument(
        "--skip-tests",
        action="store_true",
        help="build without the data tests (they read every date); run them later with `dbt test`",
    )
    recalc.add_argument("--target", help="dbt target (default local, or $REGCALC_TARGET)")

    rules = commands.add_parser(
        "rules",
        help="check adjustment rules, or show their impact",
        description="Adjustment rules (seeds/adjustments/*.csv).",
    )
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="RULES_COMMAND")
    check = rules_commands.add_parser(
        "check",
        help="validate the rule CSVs; every problem with file, line, column",
        description="Validate the adjustment rule CSVs without running anything.",
    )
    check.add_argument(
        "--dir", type=Path, default=None, help="folder of the three CSVs (default seeds/adjustments)"
    )
    impact = rules_commands.add_parser(
        "impact",
        help="LCR before and after adjustments per entity, and what each rule moved",
        description="Per entity, the LCR and its components without any adjustment and with them (for the "
        "scenario), and per rule its status and the values and amount it moved. Builds the unadjusted LCR "
        "into schema <schema>_unadjusted from the current lake (run `regcalc run` first).",
    )
    impact.add_argument("--as-of", type=_date, required=True, help="as-of date")
    impact.add_argument("--scenario", default="base", help="scenario (default base)")
    impact.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "generate": cmd_generate,
            "run": cmd_run,
            "lcr": cmd_lcr,
            "explain": cmd_explain,
            "recalc": cmd_recalc,
            "register-spectrum": cmd_register_spectrum,
            "publish": cmd_publish,
            "rules": cmd_rules,
        }
        return commands[args.command](args)
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
    from regcalc.monitoring import run_summary
    from regcalc.pipeline import run_jobs
    from regcalc.progress import Progress
    from regcalc.recalc import lake_runs, save_state
    from regcalc.session import get_spark
    from regcalc.settings import PROJECT_DIR

    settings = Settings.from_env(lake=args.lake, target=args.target)
    progress = Progress()
    spark = get_spark(settings)
    progress.info(f"Spark {spark.version}, master {spark.sparkContext.master}")
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
    if settings.target == "redshift":
        with progress.stage("register the lake in Redshift Spectrum"):
            register_lake_in_spectrum(settings.lake, "regcalc_lake")
    # Every date from scratch (--full-refresh): the incremental models' columns follow the rule set of
    # this build. dbt logs every node to regcalc_run_log under this run's id.
    build_vars = {"regcalc_run_id": report.run_id}
    try:
        with progress.stage(f"dbt build (target {settings.target})"):
            invoke_dbt(["build", "--full-refresh"], settings, build_vars, progress=progress)
        save_state(settings, PROJECT_DIR, lake_runs(settings.lake, spark))  # what `regcalc recalc` diffs
    finally:  # also when the build failed
        progress.text(run_summary(lambda: read_target_run_log(spark, settings, build_vars)))
    if settings.target == "local":
        rows = [
            row for row in read_lcr(spark, settings, None, None) if row["as_of_date"] in report.as_of_dates
        ]
    else:
        progress.info(
            f"LCR built in target {settings.target}, schema {settings.schema} (fct_lcr, agg_lcr_date_entity);"
            f" dbt nodes in {settings.schema}.regcalc_run_log where regcalc_run_id = '{report.run_id}'"
        )
        rows = read_target_lcr(settings, report.as_of_dates, build_vars)
    print(format_rows(rows, LCR_COLUMNS, "table"))
    return 0


def read_target_run_log(spark, settings: Settings, build_vars: dict):
    """The run log of the build with these vars (its regcalc_run_id): from the session on the local
    target, else through dbt on the target (with the build's vars, dbt reuses the build's parse)."""
    from regcalc.dbt import show
    from regcalc.monitoring import NodeRun, read_run_log, run_log_query

    run_id = build_vars["regcalc_run_id"]
    if settings.target == "local":
        return read_run_log(spark, settings.schema, run_id)
    rows = show(run_log_query(settings.schema, run_id), settings, build_vars)
    return [NodeRun.from_row(row) for row in rows]


def read_target_lcr(settings: Settings, as_of_dates: list[date], build_vars: dict) -> list[dict]:
    """fct_lcr's base-scenario rows of these dates as `read_lcr` gives them, read through dbt on a target
    this process holds no session for (a Spark Thrift server, Redshift); amounts as float."""
    from regcalc.dbt import show

    dates = ", ".join(f"cast('{day.isoformat()}' as date)" for day in as_of_dates)
    rows = show(
        f"select {', '.join(LCR_COLUMNS)} from {{{{ ref('fct_lcr') }}}} where scenario = 'base' "
        f"and as_of_date in ({dates}) order by as_of_date, entity_id",
        settings,
        build_vars,
    )
    keys = ("entity_id", "as_of_date")
    return [
        {column: value if value is None or column in keys else float(value) for column, value in row.items()}
        for row in rows
    ]


def register_lake_in_spectrum(lake: str, schema: str) -> None:
    from regcalc.spectrum import redshift_from_env, register_spectrum

    if not lake.startswith(("s3://", "s3a://")):
        raise RegcalcError(
            f"Redshift reads the lake from S3: {lake!r} is not an s3:// URI (use --lake s3://...)"
        )
    dates = register_spectrum(lake, schema=schema, **redshift_from_env(os.environ))
    for dataset, days in dates.items():
        print(
            f"{schema}.{dataset}: {len(days)} partition(s)" + (f", {days[0]} .. {days[-1]}" if days else "")
        )


def cmd_register_spectrum(args) -> int:
    register_lake_in_spectrum(Settings.from_env(lake=args.lake).lake, args.schema)
    return 0


def cmd_publish(args) -> int:
    from regcalc.aws import publish_directory

    keys = publish_directory(args.source, args.s3_uri, mirror=args.mirror)
    print(f"published {len(keys)} object(s) to {args.s3_uri}")

    return 0


def cmd_recalc(args) -> int:
    from regcalc.progress import Progress
    from regcalc.recalc import plan_recalc, run_recalc

    settings = Settings.from_env(target=args.target)
    progress = Progress()
    spark = None
    if not args.plan or "://" in settings.lake:
        from regcalc.session import get_spark

        spark = get_spark(settings)  # the build runs in-process on this session
    with progress.stage("plan: compare seeds and lake with the last successful build"):
        plan = plan_recalc(settings, spark=spark)
    plan.skip_tests = args.skip_tests
    print(plan.render())
    if args.plan or plan.is_empty:
        return 0
    with progress.stage(
        f"recalculate: {len(plan.models)} models and seeds, {len(plan.dates) or 'all'} date(s)"
    ):
        run_recalc(plan, settings, spark=spark)
    return 0


def read_lcr(
    spark, settings: Settings, as_of: date | None, entity: str | None, scenario: str = "base"
) -> list[dict]:
    from pyspark.sql import functions as F

    table = f"{settings.schema}.fct_lcr"
    if not spark.catalog.tableExists(table):
        raise RegcalcError(f"no LCR in schema {settings.schema} yet: run `regcalc run --input DIR` first")
    frame = spark.table(table).where(F.col("scenario") == F.lit(scenario))
    if as_of:
        frame = frame.where(F.col("as_of_date") == F.lit(as_of))
    if entity:
        frame = frame.where(F.col("entity_id") == F.lit(entity))
    return [row.asDict() for row in frame.select(*LCR_COLUMNS).orderBy("as_of_date", "entity_id").collect()]


def cmd_lcr(args) -> int:
    from regcalc.session import get_spark

    settings = Settings.from_env()
    spark = get_spark(settings)
    rows = read_lcr(spark, settings, args.as_of, args.entity, args.scenario)
    if not rows:
        raise RegcalcError(
            "no LCR rows"
            + (f" for as-of {args.as_of}" if args.as_of else "")
            + (f" and entity {args.entity}" if args.entity else "")
            + (f" in scenario {args.scenario}" if args.scenario != "base" else "")
        )
    columns = LCR_COLUMNS
    if args.scenario != "base":
        base = {
            (r["entity_id"], r["as_of_date"]): r["lcr"]
            for r in read_lcr(spark, settings, args.as_of, args.entity)
        }
        for row in rows:
            row["base_lcr"] = base.get((row["entity_id"], row["as_of_date"]))
            both = row["base_lcr"] is not None and row["lcr"] is not None
            row["lcr_change"] = row["lcr"] - row["base_lcr"] if both else None
        columns = (*LCR_COLUMNS, "base_lcr", "lcr_change")
    print(format_rows(rows, columns, args.format))
    return 0


def cmd_explain(args) -> int:
    from regcalc.explain import explain, render_text, to_json
    from regcalc.session import get_spark

    settings = Settings.from_env()
    spark = get_spark(settings)
    document = explain(spark, settings, args.entity, args.as_of, args.scenario, args.metric, args.top)
    print(to_json(document) if args.format == "json" else render_text(document, args.top))
    return 0


def cmd_rules(args) -> int:
    from regcalc import rules

    if args.rules_command == "check":
        directory = args.dir or rules.ADJUSTMENT_DIR
        problems = rules.check_rules(directory)
        if problems:
            print("\n".join(str(problem) for problem in problems), file=sys.stderr)
            raise RegcalcError(f"{len(problems)} problem(s) in the rules in {directory}; nothing was applied")
        print(f"rules in {directory}: no problems")
        return 0
    return cmd_rules_impact(args)


IMPACT_COLUMNS = ("entity_id", "metric", "unadjusted", "base", "scenario", "change")
IMPACT_METRICS = ("hqla", "total_outflows", "total_inflows", "capped_inflows", "net_cash_outflows", "lcr")
RULE_COLUMNS = ("rule_id", "injection_point", "rule_scenario", "status", "changed_values", "total_delta")


def cmd_rules_impact(args) -> int:
    from dataclasses import replace

    from pyspark.sql import functions as F

    from regcalc.dbt import invoke_dbt
    from regcalc.session import get_spark

    settings = Settings.from_env()
    spark = get_spark(settings)
    adjusted = {r["entity_id"]: r for r in read_lcr(spark, settings, args.as_of, None, args.scenario)}
    base = {r["entity_id"]: r for r in read_lcr(spark, settings, args.as_of, None)}
    if not adjusted:
        raise RegcalcError(
            f"no LCR for as-of {args.as_of} in scenario {args.scenario}: run `regcalc run` first"
        )
    # The LCR without any rule, built from the same lake into a sibling schema.
    unadjusted_settings = replace(settings, schema=f"{settings.schema}_unadjusted")
    invoke_dbt(
        ["build", "--select", "+fct_lcr", "--exclude", "resource_type:test", "resource_type:unit_test"],
        unadjusted_settings,
        # the lake tables already point at the lake of the last run: keep them
        {"apply_adjustments": False, "register_lake_sources": False},
    )
    settings.export()  # back to the main schema for anything that follows in this process
    unadjusted = {r["entity_id"]: r for r in read_lcr(spark, unadjusted_settings, args.as_of, None)}
    rows = []
    for entity, row in sorted(adjusted.items()):
        for metric in IMPACT_METRICS:
            before, after = unadjusted.get(entity, {}).get(metric), row[metric]
            rows.append(
                {
                    "entity_id": entity,
                    "metric": metric,
                    "unadjusted": before,
                    "base": base.get(entity, {}).get(metric),
                    "scenario": after,
                    "change": None if before is None or after is None else after - before,
                }
            )
    print(f"LCR impact of the adjustment rules on {args.as_of}: scenario {args.scenario} vs no adjustment")
    print(format_rows(rows, IMPACT_COLUMNS, args.format))
    status = (
        spark.table(f"{settings.schema}.rpt_adjustment_rule_status")
        .where((F.col("as_of_date") == F.lit(args.as_of)) & (F.col("scenario") == F.lit(args.scenario)))
        .orderBy("rule_id")
        .collect()
    )
    print("\nrules")
    print(format_rows([row.asDict() for row in status], RULE_COLUMNS, args.format))
    return 0


RATIO_COLUMNS = ("lcr", "base_lcr", "lcr_change")


def format_rows(rows: list[dict], columns: tuple[str, ...], fmt: str) -> str:
    """rows as an aligned table, CSV or JSON; amounts with 2 decimals, ratios with 4."""

    def text(column: str, row: dict) -> str:
        value = row[column]
        if value is None:
            return ""
        if isinstance(value, float):
            ratio = column in RATIO_COLUMNS or row.get("metric") == "lcr"
            return f"{value:.4f}" if ratio else f"{value:.2f}"
        return str(value)

    if fmt == "json":
        return json.dumps(
            [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in rows],
            indent=2,
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([text(column, row) for column in columns])
        return buffer.getvalue().rstrip("\n")
    cells = [[text(column, row) for column in columns] for row in rows]
    widths = [
        max([len(column)] + [len(line[index]) for line in cells]) for index, column in enumerate(columns)
    ]
    lines = ["  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in cells
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
