"""Prove the project's SQL is valid Redshift SQL without a Redshift: compile offline, parse with sqlglot,
and check that every type it names is a Redshift type.

    python -m regcalc.redshift_check [--target-path DIR] [--project-dir DIR]

1. `dbt compile --target redshift --no-populate-cache` in-process, with the dbt var
   `offline_compile: true` (models and macros that would query the database while compiling must check
   it) and placeholder REGCALC_REDSHIFT_* variables where they are unset: nothing connects.
2. Every node of the manifest that has compiled SQL (models, data tests, analyses, hooks; unit tests
   when dbt compiled them) is parsed with sqlglot's redshift dialect. A parse error, a sqlglot warning
   or a statement sqlglot could only keep as an unparsed `exp.Command` is a failure.
3. Every type that becomes Redshift DDL or a Redshift cast must be one of Redshift's documented types
   (REDSHIFT_TYPE): the seeds' column_types as resolved for the redshift target, the columns of models
   with an enforced contract, the Spectrum columns of the lake sources (regcalc.spectrum), and every
   cast / `::` / CREATE TABLE column type in the compiled SQL, read from the SQL text as written
   (sqlglot would quietly read `string` as VARCHAR). A failure names the file and the column or cast.

Compiled SQL is the SELECT of each node: the DDL dbt wraps around it (create table / materialized view)
comes from dbt-redshift's own macros and is not checked here.

Exit status: 0 every node parsed and every type is Redshift's, 1 a node failed to parse, a type is not
Redshift's (or nothing was compiled), 2 dbt compile failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import TokenType

from regcalc.settings import PROFILES_DIR, PROJECT_DIR

DEFAULT_TARGET_PATH = PROJECT_DIR / "target" / "redshift"

# Redshift's data types and their aliases (Amazon Redshift Database Developer Guide, "Data types"):
# SMALLINT (INT2), INTEGER (INT, INT4), BIGINT (INT8), DECIMAL (NUMERIC), REAL (FLOAT4), DOUBLE
# PRECISION (FLOAT8, FLOAT), BOOLEAN (BOOL), CHAR (CHARACTER, NCHAR, BPCHAR), VARCHAR (CHARACTER
# VARYING, NVARCHAR, TEXT), DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, VARBYTE (VARBINARY, BINARY
# VARYING), SUPER, GEOMETRY, GEOGRAPHY, HLLSKETCH. Not Spark's STRING, nor a bare DOUBLE.
REDSHIFT_TYPE = re.compile(
    r"""(?:
        smallint | int2 | integer | int | int4 | bigint | int8
      | (?:decimal | numeric) (?:\(\d+(?:,\d+)?\))?
      | real | float4 | double\ precision | float8 | float
      | boolean | bool
      | (?:char | character | nchar | bpchar) (?:\(\d+\))?
      | (?:varchar | character\ varying | nvarchar | text) (?:\((?:\d+|max)\))?
      | date | timestamp | timestamptz | timestamp\ with(?:out)?\ time\ zone
      | time | timetz | time\ with(?:out)?\ time\ zone
      | (?:varbyte | varbinary | binary\ varying) (?:\(\d+\))?
      | super | geometry | geography | hllsketch
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Words that continue a type name after its first word (double precision, timestamp with time zone).
_TYPE_WORDS = {"precision", "varying", "with", "without", "time", "zone"}

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


def compile_offline(target_path: Path, project_dir: Path = PROJECT_DIR) -> str | None:
    """Run the offline compile; return None on success, else what dbt reported."""
    from dbt.cli.main import dbtRunner  # imported late: dbt's import is slow

    args = [
        "compile",
        "--target",
        "redshift",
        "--no-populate-cache",
        "--quiet",
        "--project-dir",
        str(project_dir),
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


def is_redshift_type(text: str) -> bool:
    """Is `text` (e.g. 'varchar(65535)', 'double precision') one of Redshift's types?"""
    normalised = re.sub(r"\s+", " ", text.strip())
    normalised = re.sub(r"\s*([(),])\s*", r"\1", normalised)
    return REDSHIFT_TYPE.fullmatch(normalised) is not None


def _type_text(sql: str, tokens: list, start: int) -> tuple[str, int]:
    """The type written from tokens[start]: its words and an optional (...) group; (text, next index)."""
    end = start + 1
    while end < len(tokens) and tokens[end].text.lower() in _TYPE_WORDS:
        end += 1
    if end < len(tokens) and tokens[end].token_type == TokenType.L_PAREN:
        depth = 0
        while end < len(tokens):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[end].token_type, 0)
            end += 1
            if depth == 0:
                break
    return sql[tokens[start].start : tokens[end - 1].end + 1], end


def written_types(sql: str) -> list[tuple[int, str, str]]:
    """(line, type as written, where) of every cast(x as T), try_cast(x as T), x::T, and column of a
    CREATE TABLE (...) column list in `sql`."""
    try:
        tokens = sqlglot.tokenize(sql, read="redshift")
    except SqlglotError:
        return []  # a parse problem, reported by sql_problems
    found = []
    casts: list[int] = []  # depth inside each open cast( ... ) waiting for its AS
    depth = index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.token_type
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            casts = [level for level in casts if level < depth]
            depth -= 1
        elif token.text.lower() in ("cast", "try_cast") and after and after.token_type == TokenType.L_PAREN:
            casts.append(depth + 1)
        elif after and (
            kind == TokenType.DCOLON or (kind == TokenType.ALIAS and casts and casts[-1] == depth)
        ):
            if kind == TokenType.ALIAS:
                casts.pop()
            text, index = _type_text(sql, tokens, index + 1)
            found.append(
                (token.line, text, f"cast(... as {text})" if kind == TokenType.ALIAS else f"::{text}")
            )
            continue
        elif kind == TokenType.TABLE and index and tokens[index - 1].token_type in _CREATE:
            columns, index = _table_columns(sql, tokens, index + 1)
            found += columns
            continue
        index += 1
    return found


_CREATE = (TokenType.CREATE, TokenType.TEMPORARY)
_TABLE_CONSTRAINTS = {"primary", "unique", "foreign", "constraint", "check", "distkey", "sortkey", "like"}


def _table_columns(sql: str, tokens: list, index: int) -> tuple[list[tuple[int, str, str]], int]:
    """The column types of CREATE TABLE [if not exists] name (column type [attributes], ...) from
    tokens[index] (after TABLE); none for CREATE TABLE ... AS. Returns (types, index after the list)."""
    while index < len(tokens) and tokens[index].token_type not in (TokenType.L_PAREN, TokenType.ALIAS):
        index += 1  # [if not exists] name
    if index >= len(tokens) or tokens[index].token_type != TokenType.L_PAREN:
        return [], index
    found = []
    index += 1
    while index + 1 < len(tokens):
        name = tokens[index]
        if name.text.lower().split()[0] not in _TABLE_CONSTRAINTS:
            text, index = _type_text(sql, tokens, index + 1)
            found.append((name.line, text, f"column {name.text} {text}"))
        level = 0  # skip the attributes up to the ',' or ')' that ends the item
        while index < len(tokens) and not (
            level == 0 and tokens[index].token_type in (TokenType.COMMA, TokenType.R_PAREN)
        ):
            level += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[index].token_type, 0)
            index += 1
        if index >= len(tokens) or tokens[index].token_type == TokenType.R_PAREN:
            break
        index += 1
    return found, index + 1


def type_problems(manifest: Mapping, project_dir: Path = PROJECT_DIR) -> tuple[int, list[str]]:
    """Every type that is not Redshift's: (types checked, problems naming file and column or cast)."""
    from regcalc.spectrum import SOURCES_YAML, lake_datasets

    sources_yaml = project_dir / SOURCES_YAML.relative_to(PROJECT_DIR)

    checked = 0
    problems = []

    def check(kind: str, where: str) -> None:
        nonlocal checked
        checked += 1
        if not is_redshift_type(kind):
            problems.append(f"{where}: {kind!r} is not a Redshift type")

    for unique_id, node in sorted((manifest.get("nodes") or {}).items()):
        config = node.get("config") or {}
        yaml_file = (node.get("patch_path") or "").split("://")[-1] or node.get("original_file_path")
        if node.get("resource_type") == "seed":
            for column, kind in sorted((config.get("column_types") or {}).items()):
                check(str(kind), f"{yaml_file}: seed {node['name']} column {column} (column_types)")
        if (config.get("contract") or {}).get("enforced"):
            for column in (node.get("columns") or {}).values():
                check(
                    str(column.get("data_type")), f"{yaml_file}: model {node['name']} column {column['name']}"
                )
        for line, kind, written in written_types(node.get("compiled_code") or ""):
            check(
                kind,
                f"{node.get('original_file_path', unique_id)} ({unique_id}, compiled line {line}): {written}",
            )
    for dataset in lake_datasets(sources_yaml):
        for column, kind in dataset.columns:
            check(
                kind,
                f"{SOURCES_YAML.relative_to(PROJECT_DIR)}: Spectrum table {dataset.name} column {column}",
            )
    return checked, problems


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
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_DIR,
        help=f"the dbt project to check (default {PROJECT_DIR})",
    )
    args = parser.parse_args(argv)
    target_path, project_dir = args.target_path.resolve(), args.project_dir.resolve()

    error = compile_offline(target_path, project_dir)
    if error is not None:
        print(f"redshift-check: dbt compile --target redshift failed: {error}")
        return 2
    manifest = json.loads((target_path / "manifest.json").read_text())
    parsed, failures = check_manifest(manifest)
    for unique_id, problems in failures.items():
        print(f"FAIL {unique_id}: {' | '.join(problems)}")
    checked, wrong_types = type_problems(manifest, project_dir)
    for problem in wrong_types:
        print(f"FAIL type: {problem}")
    if parsed == 0:
        print("redshift-check: no compiled SQL in the manifest (nothing was checked)")
    print(
        f"redshift-check: {parsed} nodes parsed, {len(failures)} failed; "
        f"{checked} types checked, {len(wrong_types)} not Redshift types"
    )
    return 1 if failures or wrong_types or parsed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
