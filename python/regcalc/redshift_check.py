"""Prove the project's SQL is valid Redshift SQL without a Redshift: compile offline, parse with sqlglot.

    python -m regcalc.redshift_check [--target-path DIR]

1. `dbt compile --target redshift --no-populate-cache` in-process, with the dbt var
   `offline_compile: true` (models and macros that would query the database while compiling must check
   it) and placeholder REGCALC_REDSHIFT_* variables where they are unset: nothing connects.
2. Every node of the manifest that has compiled SQL (models, data tests, analyses, hooks; unit tests
   when dbt compiled them) is parsed with sqlglot's redshift dialect. A parse error, a sqlglot warning
   or a statement sqlglot could only keep as an unparsed `exp.Command` is a failure.

Compiled SQL is the SELECT of each node: the DDL dbt wraps around it (create table / materialized view)
comes from dbt-redshift's own macros and is not checked here.

Exit status: 0 every node parsed, 1 a node failed to parse (or none was compiled), 2 dbt compile failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from regcalc.settings import PROFILES_DIR, PROJECT_DIR

DEFAULT_TARGET_PATH = PROJECT_DIR / "target" / "redshift"

# Placeholders so profiles.yml renders; --no-populate-cache means dbt never uses them to connect.
PLACEHOLDER_ENV = {
    "REGCALC_REDSHIFT_HOST": "offline-compile.invalid",
    "REGCALC_REDSHIFT_PORT": "5439",
    "REGCALC_REDSHIFT_USER": "offline_compile",
    "REGCALC_REDSHIFT_PASSWORD": "not-a-password",
    "REGCALC_REDSHIFT_DATABASE": "offline_compile",
}


@contextmanager
def _placeholder_env() -> Iterator[None]:
    """Set the placeholders that are absent, and remove them again afterwards."""
    added = [name for name in PLACEHOLDER_ENV if name not in os.environ]
    os.environ.update({name: PLACEHOLDER_ENV[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def compile_offline(target_path: Path) -> str | None:
    """Run the offline compile; return None on success, else what dbt reported."""
    from dbt.cli.main import dbtRunner  # imported late: dbt's import is slow

    args = [
        "compile",
        "--target",
        "redshift",
        "--no-populate-cache",
        "--quiet",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
        "--vars",
        json.dumps({"offline_compile": True}),
    ]
    with _placeholder_env():
        result = dbtRunner().invoke(args)
    if result.success:
        return None
    if result.exception is not None:
        return str(result.exception)
    errors = [
        f"{node.node.unique_id}: {(node.message or '').strip()}"
        for node in getattr(result.result, "results", None) or []
        if str(node.status) == "error"
    ]
    return "; ".join(errors) or "see the dbt output above"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"sqlglot warning: {record.getMessage()}")


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sql_problems(sql: str, dialect: str = "redshift") -> list[str]:
    """Why `sql` is not plain SQL of sqlglot's `dialect` (redshift, postgres, spark) to sqlglot (empty
    list: it parsed)."""
    problems: list[str] = []
    handler = _Collect()
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        statements = sqlglot.parse(sql, read=dialect)
    except ParseError as error:
        statements = []
        problems += [
            f"parse error at line {e.get('line')}, col {e.get('col')}: {e.get('description')}"
            for e in error.errors
        ] or [str(error)]
    except SqlglotError as error:
        statements = []
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    problems += [
        f"unparsed statement (exp.Command): {statement.sql(dialect=dialect)}"
        for statement in statements
        if isinstance(statement, exp.Command)
    ]
    return [_one_line(problem) for problem in problems + handler.messages]


def compiled_nodes(manifest: Mapping) -> Iterator[tuple[str, str]]:
    """(unique_id, compiled SQL) of every node dbt compiled to non-blank SQL."""
    for group in ("nodes", "unit_tests"):
        for unique_id, node in sorted((manifest.get(group) or {}).items()):
            code = node.get("compiled_code")
            if code and code.strip():
                yield unique_id, code


def check_manifest(manifest: Mapping) -> tuple[int, dict[str, list[str]]]:
    """Parse every compiled node: (number parsed, {unique_id: problems} of the failures)."""
    parsed = 0
    failures: dict[str, list[str]] = {}
    for unique_id, code in compiled_nodes(manifest):
        parsed += 1
        problems = sql_problems(code)
        if problems:
            failures[unique_id] = problems
    return parsed, failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m regcalc.redshift_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--target-path",
        type=Path,
        default=DEFAULT_TARGET_PATH,
        help=f"dbt target path for the Redshift artefacts (default {DEFAULT_TARGET_PATH})",
    )
    target_path = parser.parse_args(argv).target_path.resolve()

    error = compile_offline(target_path)
    if error is not None:
        print(f"redshift-check: dbt compile --target redshift failed: {error}")
        return 2
    manifest = json.loads((target_path / "manifest.json").read_text())
    parsed, failures = check_manifest(manifest)
    for unique_id, problems in failures.items():
        print(f"FAIL {unique_id}: {' | '.join(problems)}")
    if parsed == 0:
        print("redshift-check: no compiled SQL in the manifest (nothing was checked)")
    print(f"redshift-check: {parsed} nodes parsed, {len(failures)} failed")
    return 1 if failures or parsed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
