"""`regcalc template liq1`: the command line of the disclosure templates (python/regcalc/liq1.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from regcalc.settings import RegcalcError, Settings

FORMATS = ("table", "csv", "json", "xlsx")


def _quarter(text: str) -> str:
    from regcalc.liq1 import parse_quarter

    try:
        return parse_quarter(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_template_parser(commands, target_help: str) -> None:
    """The `template` command and its `liq1` subcommand, on the subparsers of `regcalc`."""
    template = commands.add_parser(
        "template",
        help="a Pillar 3 disclosure template (LIQ1) of one entity and quarter",
        description="Basel Pillar 3 disclosure templates, from the marts of the last run.",
    )
    templates = template.add_subparsers(dest="template", required=True, metavar="TEMPLATE")
    liq1 = templates.add_parser(
        "liq1",
        help="LIQ1 (Basel Framework DIS85): LCR rows 1-23, quarterly averages of daily observations",
        description="Template LIQ1 (Basel Framework DIS85) of one entity and calendar quarter: rows 1-23, "
        "total unweighted and weighted values as simple averages of the quarter's daily observations "
        "(fct_liq1_entity_quarter), with their number. xlsx: a workbook laid out like the published "
        "template.",
    )
    liq1.add_argument("--entity", required=True, help="entity id")
    liq1.add_argument("--quarter", required=True, type=_quarter, help="calendar quarter, e.g. 2026Q3")
    liq1.add_argument("--scenario", default="base", help="scenario (default base)")
    liq1.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    liq1.add_argument(
        "--out", type=Path, help="file to write (required for xlsx; table, csv and json print by default)"
    )
    liq1.add_argument("--target", help=target_help + "; the marts are read through its dbt adapter")


def cmd_template(args) -> int:
    from regcalc.liq1 import read_liq1, render_text, write_xlsx
    from regcalc.marts import Marts

    if args.format == "xlsx" and args.out is None:
        raise RegcalcError("--format xlsx writes a workbook: name it with --out FILE.xlsx")
    with Marts(Settings.from_env(target=args.target)) as marts:
        liq1 = read_liq1(marts, args.entity, args.quarter, args.scenario)
    if args.format == "xlsx":
        print(f"wrote {write_xlsx(liq1, args.out)}")
        return 0
    text = render_text(liq1, args.format)
    if args.out is None:
        print(text)
        return 0
    try:
        args.out.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise RegcalcError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"wrote {args.out}")
    return 0
