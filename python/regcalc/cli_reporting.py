"""The reporting commands of the command line (issue 13): movement, submit, submissions, restatements,
report. Kept apart from cli.py, which adds them with `add_parsers` and runs them through `COMMANDS`."""

from __future__ import annotations

import argparse
from pathlib import Path

from regcalc.settings import Settings

TARGET_HELP = "dbt target (default local, or $REGCALC_TARGET); the marts are read through its dbt adapter"


def add_parsers(commands, date_type, positive_int) -> None:
    """Add the reporting commands to the `regcalc` subparsers."""
    from regcalc.movement import GROUPINGS

    movement = commands.add_parser(
        "movement",
        help="why an entity's LCR moved between two dates: HQLA and net-outflow effects, deals, rules",
        description="The change of the LCR of one entity from --from to --to, split exactly into the HQLA "
        "effect ((H2 - H1) / N1) and the net-outflow effect (H2 / N2 - H2 / N1), each by LCR category (or "
        "lcr_section, or template LIQ1 row with --by liq1) with the caps and the lcr_components adjustments "
        "as lines of their own; the deals "
        "whose weighted amount moved most (new, matured, changed); the adjustment rules that started or "
        "stopped applying to the entity.",
    )
    movement.add_argument("--entity", required=True, help="entity_id")
    movement.add_argument("--from", dest="first", type=date_type, required=True, help="first as-of date")
    movement.add_argument("--to", dest="second", type=date_type, required=True, help="second as-of date")
    movement.add_argument("--scenario", default="base", help="scenario (default base)")
    movement.add_argument(
        "--by", choices=GROUPINGS, default="category", help="group the effects (default category)"
    )
    movement.add_argument("--top", type=positive_int, default=10, help="deals shown (default 10)")
    movement.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    movement.add_argument("--target", help=TARGET_HELP)

    submit = commands.add_parser(
        "submit",
        help="freeze the reported LCR of an entity and date in the append-only submission record",
        description="Copy fct_lcr's row of the entity, date and scenario into the table lcr_submissions of "
        "the target schema (not a dbt model: no build, rerun or --full-refresh changes it), with the lake "
        "run and version it was built from, the code version, digests of the parameters and rules the marts "
        "were built with, who and when. Resubmitting a date adds a version and needs --reason.",
    )
    submit.add_argument("--as-of", type=date_type, required=True, help="as-of date")
    submit.add_argument("--entity", required=True, help="entity_id")
    submit.add_argument("--scenario", default="base", help="scenario (default base)")
    submit.add_argument("--reason", help="why (required to resubmit a date)")
    submit.add_argument("--lake", help="lake URI of the build (default ./lake or $REGCALC_LAKE)")
    submit.add_argument("--target", help=TARGET_HELP)

    submissions = commands.add_parser(
        "submissions",
        help="list the submission record",
        description="Every version in lcr_submissions (of the date, entity).",
    )
    submissions.add_argument("--as-of", type=date_type, help="only this as-of date")
    submissions.add_argument("--entity", help="only this entity")
    submissions.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    submissions.add_argument("--target", help=TARGET_HELP)

    restatements = commands.add_parser(
        "restatements",
        help="submitted dates whose figures the current marts no longer give, with the differences",
        description="Compare the latest submitted version of every date (or --as-of) with fct_lcr now, "
        "exactly, and list each figure that differs (submitted, current, difference = current - submitted).",
    )
    restatements.add_argument("--as-of", type=date_type, help="only this as-of date")
    restatements.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    restatements.add_argument("--target", help=TARGET_HELP)

    report = commands.add_parser(
        "report",
        help="the LCR in pictures: one self-contained HTML file (plotly)",
        description="Write one HTML file (plotly.js inside: it opens with no network): the LCR per entity "
        "over time with the 100%% line, the HQLA composition with the bite of the caps, net cash outflows by "
        "category, the adjustment waterfall (unadjusted -> each adjustment point -> reported) and the LCR by "
        "significant currency.",
    )
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--scenario", default="base", help="scenario (default base)")
    report.add_argument("--target", help=TARGET_HELP)


def cmd_movement(args: argparse.Namespace) -> int:
    from regcalc import render
    from regcalc.marts import Marts
    from regcalc.movement import movement

    with Marts(Settings.from_env(target=args.target)) as marts:
        document = movement(marts, args.entity, args.first, args.second, args.scenario, args.top, args.by)
    print(render.to_json(document) if args.format == "json" else render.movement_text(document))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from regcalc.marts import Marts
    from regcalc.submission import submit

    settings = Settings.from_env(lake=args.lake, target=args.target)
    with Marts(settings) as marts:
        done = submit(marts, settings, args.entity, args.as_of, args.scenario, args.reason)
    print(
        f"submitted {done.submission_id}: run {done.run_id} (lake version {done.lake_version} of "
        f"{done.as_of_date}) by {done.submitted_by} at {done.submitted_at} UTC"
        + (f"; reason: {done.reason}" if done.reason else "")
    )
    return 0


SUBMISSION_COLUMNS = (
    "entity_id",
    "as_of_date",
    "scenario",
    "version",
    "hqla",
    "net_cash_outflows",
    "lcr",
    "run_id",
    "lake_version",
    "code_version",
    "parameters_digest",
    "rules_digest",
    "submitted_by",
    "submitted_at",
    "reason",
)


def cmd_submissions(args: argparse.Namespace) -> int:
    from regcalc import render
    from regcalc.marts import Marts
    from regcalc.submission import read_submissions

    with Marts(Settings.from_env(target=args.target)) as marts:
        rows = read_submissions(marts, args.as_of, args.entity)
    print(render.rows(rows, SUBMISSION_COLUMNS, args.format) if rows else "no submissions")
    return 0


def cmd_restatements(args: argparse.Namespace) -> int:
    from regcalc import render
    from regcalc.marts import Marts
    from regcalc.submission import RESTATEMENT_COLUMNS, restatements

    with Marts(Settings.from_env(target=args.target)) as marts:
        rows = restatements(marts, args.as_of)
    if not rows and args.format == "table":
        print("no restatements: the current marts give every submitted figure")
    else:
        print(render.rows(rows, RESTATEMENT_COLUMNS, args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from regcalc.marts import Marts
    from regcalc.report import write_report

    with Marts(Settings.from_env(target=args.target)) as marts:
        titles = write_report(marts, args.out, args.scenario)
    print(f"wrote {args.out}: {len(titles)} charts ({'; '.join(titles)})")
    return 0


COMMANDS = {
    "movement": cmd_movement,
    "submit": cmd_submit,
    "submissions": cmd_submissions,
    "restatements": cmd_restatements,
    "report": cmd_report,
}
