"""The regcalc command line: generate a sample bank, run the pipeline, read the LCR."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from regcalc.cli_template import add_template_parser, cmd_template
from regcalc.settings import RegcalcError, Settings, environment_help

TARGET_HELP = "dbt target (default local, or $REGCALC_TARGET)"


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


def _add_as_of(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--as-of",
        type=_date,
        action="append",
        dest="as_of",
        help=f"only this as-of date (repeatable; default: {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regcalc",
        description="Deal-level Basel III LCR (BCBS 238): PySpark jobs to a parquet lake, dbt marts on "
        "Spark, PostgreSQL or Redshift.",
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
    generate.add_argument(
        "--contract-v2",
        action="store_true",
        help="send some deals as contract v2 products (debt issued, trade finance, guarantees, other "
        "contractual outflows, net derivatives per netting set) with a contract_version column",
    )
    generate.add_argument("--out", type=Path, required=True, help="output folder (created or overwritten)")

    run = commands.add_parser(
        "run",
        help="run the Spark jobs, then dbt build, in one process",
        description="Read the extract in --input, write the deal-level lake, then run "
        "`dbt build` on the same SparkSession and print the LCR.",
        epilog="A lake at s3a://bucket/prefix needs Spark's S3A connector (`make jars`); its settings are "
        "REGCALC_S3A_JARS and the REGCALC_S3_* variables (`regcalc --help`). Credentials: S3A's chain "
        "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then an instance role).",
    )
    run.add_argument(
        "--input",
        type=_existing_dir,
        required=True,
        help="folder with deals, counterparties, entities, "
        "fx_rates (.csv, .parquet or a folder of part files)",
    )
    run.add_argument(
        "--lake",
        help="lake URI (default ./lake or $REGCALC_LAKE; s3a://bucket/prefix in production: see below)",
    )
    _add_as_of(run, "every date in the input")
    run.add_argument("--target", help=TARGET_HELP)
    run.add_argument(
        "--max-reject-rate",
        type=float,
        default=0.01,
        help="fail, publishing nothing, if more than this share of deals is rejected (default 0.01)",
    )
    run.add_argument(
        "--skip-dbt",
        action="store_true",
        help="only run the Spark jobs; print their run id on stdout (a scheduler passes it to dbt as var "
        "regcalc_run_id, then reads `regcalc run-summary`)",
    )

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
    lcr.add_argument(
        "--by-currency",
        action="store_true",
        help="the LCR per significant currency (>= 5%% of the entity's liabilities; fct_lcr_currency)",
    )
    lcr.add_argument("--target", help=TARGET_HELP + "; the marts are read through its dbt adapter")

    from regcalc.explain import METRICS

    explain = commands.add_parser(
        "explain",
        help="where one LCR number comes from: formula, caps, components, deals, adjustment rules",
        description="For one entity, as-of date and scenario: the metric as fct_lcr holds it, its BCBS 238 "
        "formula with the values filled in and which cap bound (Level 2B 15%, Level 2 40%, 75% inflows), "
        "each component with its categories and top contributing deals (classification rule, parameter "
        "table, BCBS paragraph), how each component moved at each adjustment point (vars.adjustment_points "
        "of dbt_project.yml), and every adjustment rule that changed a row feeding it (value before, after, "
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
    explain.add_argument("--target", help=TARGET_HELP + "; the marts are read through its dbt adapter")
    load = commands.add_parser(
        "load-lake",
        help="make the published lake readable by the dbt target (register, COPY or Spectrum)",
        description="The step `regcalc run` takes between the jobs and dbt build, alone. By the type of "
        "the target: spark (local, spark): external parquet tables over the lake (dbt macro "
        "register_lake_sources); postgres: COPY ... FROM STDIN of the published rows into tables of "
        "--schema, replacing the as-of dates loaded; redshift: Spectrum external tables over the S3 lake "
        "(partitions = published dates), or local tables loaded by COPY when REGCALC_REDSHIFT_LAKE_LOAD=copy "
        "(Data API: REGCALC_REDSHIFT_DATABASE, REGCALC_REDSHIFT_CLUSTER_ID or REGCALC_REDSHIFT_WORKGROUP, "
        "REGCALC_REDSHIFT_SECRET_ARN or REGCALC_REDSHIFT_USER, REGCALC_SPECTRUM_IAM_ROLE, "
        "REGCALC_SPECTRUM_CATALOG_DATABASE).",
    )
    load.add_argument("--lake", help="lake URI (default ./lake or $REGCALC_LAKE)")
    _add_as_of(load, "every published date")
    load.add_argument("--target", help=TARGET_HELP)
    load.add_argument(
        "--schema",
        default="regcalc_lake",
        help="schema of the lake tables, = dbt var lake_schema (default regcalc_lake)",
    )

    summary = commands.add_parser(
        "run-summary",
        help="print the dbt run log summary of one jobs run; exit 1 if a node failed",
        description="The summary `regcalc run` prints at its end (nodes per type, the slowest models "
        "with their rows, every failure), from the run log table regcalc_run_log of the target's schema, "
        "for the dbt invocations given --vars '{regcalc_run_id: RUN_ID}' (e.g. one per model under a "
        "scheduler). Exits 1 when one of them errored or a test failed, or when there is no row at all.",
    )
    summary.add_argument("--run-id", required=True, help="the jobs' run id (printed by run --skip-dbt)")
    summary.add_argument("--target", help=TARGET_HELP + "; the run log is read through its dbt adapter")

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
        help="build without the data tests; run them later as `dbt test` with the --select and --vars of the "
        "command --plan prints (with those vars they read only the rebuilt dates)",
    )
    recalc.add_argument("--target", help=TARGET_HELP)

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
    impact.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (json: one document)",
    )
    impact.add_argument("--target", help=TARGET_HELP + "; the LCR without rules is built there too")

    from regcalc import cli_reporting

    cli_reporting.add_parsers(commands, _date, _positive_int)
    add_template_parser(commands, TARGET_HELP)
    return parser


def _quiet_pyspark_error_logs() -> None:
    """PySpark logs each query error it raises as JSON with the JVM stack trace on stderr. The
    command line reports errors itself, on one line, so those two loggers are switched off."""
    from pyspark.logger import PySparkLogger

    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_pyspark_error_logs()
    try:
        commands = {
            "generate": cmd_generate,
            "run": cmd_run,
            "lcr": cmd_lcr,
            "explain": cmd_explain,
            "recalc": cmd_recalc,
            "load-lake": cmd_load_lake,
            "run-summary": cmd_run_summary,
            "publish": cmd_publish,
            "rules": cmd_rules,
            "template": cmd_template,
        }
        from regcalc.cli_reporting import COMMANDS as REPORTING_COMMANDS

        commands.update(REPORTING_COMMANDS)
        return commands[args.command](args)
    except RegcalcError as error:
        print(f"regcalc {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        # The last resort: errors are translated where inputs are read; a Spark or py4j error that
        # got past them still reaches the user as one line, never as a JVM stack trace.
        from regcalc.spark_errors import describe, is_spark_error

        if not is_spark_error(error):
            raise
        print(
            f"regcalc {args.command}: error: Spark failed: {describe(error)}; check the inputs and "
            "settings it names and rerun (the lake is published only by a run that succeeds)",
            file=sys.stderr,
        )
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
            contract_v2=args.contract_v2,
        )
        timing.rows = counts.get("deals")
    for name, count in counts.items():
        print(f"{name}: {count:,} rows")
    return 0


def cmd_run(args) -> int:
    from regcalc import render
    from regcalc.dbt import invoke_dbt
    from regcalc.marts import LCR_COLUMNS, Marts, read_lcr
    from regcalc.monitoring import read_run_log, run_summary
    from regcalc.pipeline import run_jobs
    from regcalc.progress import Progress
    from regcalc.recalc import lake_runs, save_state
    from regcalc.session import get_spark
    from regcalc.settings import PROJECT_DIR
    from regcalc.warehouse import load_lake

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
        print(report.run_id)
        return 0
    # dbt logs every node to regcalc_run_log under this run's id.
    build_vars = {"regcalc_run_id": report.run_id}
    with progress.stage(f"load the lake into target {settings.target}"):
        # The dates this run published (every date, rejects without one included, when no --as-of).
        loaded = load_lake(spark, settings, args.as_of, dbt_vars=build_vars)
    for line in loaded.lines():
        progress.info(line)
    # Every date from scratch (--full-refresh): the incremental models' columns follow the rule set of
    # this build.
    try:
        with progress.stage(f"dbt build (target {settings.target})"):
            invoke_dbt(["build", "--full-refresh"], settings, build_vars, progress=progress)
        save_state(settings, PROJECT_DIR, lake_runs(settings.lake, spark))  # what `regcalc recalc` diffs
    finally:  # also when the build failed
        progress.text(run_summary(lambda: read_run_log(settings, report.run_id)))
    if settings.target != "local":
        progress.info(
            f"LCR built in target {settings.target}, schema {settings.schema}; its dbt nodes in "
            f"regcalc_run_log where regcalc_run_id = '{report.run_id}'"
        )
    dates = set(report.as_of_dates)
    with Marts(settings) as marts:  # through the target's adapter: on any target
        rows = [row for row in read_lcr(marts) if row["as_of_date"] in dates]
    print(render.rows(rows, LCR_COLUMNS, "table"))
    return 0


def cmd_load_lake(args) -> int:
    from regcalc.settings import target_type
    from regcalc.warehouse import load_lake

    settings = Settings.from_env(lake=args.lake, target=args.target)
    spark = None
    if target_type(settings.target) != "redshift":  # Redshift reads S3 itself
        from regcalc.session import get_spark

        spark = get_spark(settings)
    print("\n".join(load_lake(spark, settings, args.as_of, schema=args.schema).lines()))
    return 0


def cmd_run_summary(args) -> int:
    from regcalc.monitoring import FAILED_STATUSES, format_run_summary, read_run_log

    nodes = read_run_log(Settings.from_env(target=args.target), args.run_id)
    print(format_run_summary(nodes))
    failed = [node for node in nodes if node.status in FAILED_STATUSES]
    if not nodes or failed:
        raise RegcalcError(
            f"run {args.run_id}: "
            + (f"{len(failed)} dbt node(s) failed" if nodes else "no dbt node in the run log for this run id")
        )
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
        run_recalc(plan, settings, spark=spark, progress=progress)
    return 0


def cmd_lcr(args) -> int:
    from regcalc import render
    from regcalc.marts import Marts, lcr_report

    with Marts(Settings.from_env(target=args.target)) as marts:
        if args.by_currency:
            from regcalc.currency import CURRENCY_COLUMNS, read_currency_lcr

            rows = read_currency_lcr(marts, args.as_of, args.entity, args.scenario)
            columns = CURRENCY_COLUMNS
        else:
            rows, columns = lcr_report(marts, args.as_of, args.entity, args.scenario)
    print(render.rows(rows, columns, args.format))
    return 0


def cmd_explain(args) -> int:
    from regcalc import render
    from regcalc.explain import explain
    from regcalc.marts import Marts

    with Marts(Settings.from_env(target=args.target)) as marts:
        document = explain(marts, args.entity, args.as_of, args.scenario, args.metric, args.top)
    print(render.to_json(document) if args.format == "json" else render.explain_text(document, args.top))
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


def cmd_rules_impact(args) -> int:
    from regcalc import render
    from regcalc.impact import rules_impact

    document = rules_impact(Settings.from_env(target=args.target), args.as_of, args.scenario)
    print(render.impact(document, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
