"""The marts as the analyst commands read them: SQL run by the dbt adapter of the settings' target.

`regcalc lcr`, `regcalc explain`, `regcalc rules impact` and the LCR printed at the end of `regcalc run`
read the tables dbt built with plain SQL that Spark SQL, PostgreSQL and Redshift all run
(tests/test_explain.py parses every query with sqlglot in the three dialects). The queries go through
the adapter of the target in profiles/profiles.yml, one connection for all the queries of a command:

* `local` (dbt-spark `method: session`): the adapter runs them on this process's SparkSession, the one
  the jobs and an in-process `dbt build` use (session.get_spark);
* `spark` (Thrift), `postgres`, `redshift`: the adapter's connection to that warehouse.

The dbt project is not parsed (seconds that every command would pay): a model's relation is the target
schema plus the model's name, as this project builds it (no model has an alias or a custom schema),
rendered and quoted by the adapter's Relation class. The project's macros are loaded only when a query
needs one: a text value that must be escaped (macro string_literal) or, after a failed query, which of
its relations is missing (adapter.get_relation).
"""

from __future__ import annotations

import os
import re
from argparse import Namespace
from contextlib import contextmanager, nullcontext
from datetime import date
from decimal import Decimal
from pathlib import Path

from regcalc.dbt import brief_error, dbt_vars
from regcalc.settings import PROFILES_DIR, PROJECT_DIR, RegcalcError, Settings

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
# agg_lcr_date_entity_scenario's comparison with the base scenario, shown for any other scenario
VERSUS_BASE_COLUMNS = ("base_lcr", "lcr_change")

# Text that every target reads as written between single quotes (no quote, backslash or `$`, which Spark
# substitutes); any other text is written by the project's macro string_literal.
_PLAIN_TEXT = re.compile(r"[\w .:-]*")


class MartsError(RegcalcError):
    """A query of the marts failed: the engine's message, or which relations are not built."""


class Marts:
    """Queries of the marts in `settings.schema` on `settings.target`, in one connection.

    Use as a context manager: `with Marts(settings) as marts: rows = marts.query(sql)`. SQL is built
    with `relation(model)` and `literal(value)`; `string_type` is dbt's type_string() of the target.
    """

    def __init__(self, settings: Settings, project_dir: Path = PROJECT_DIR) -> None:
        self.settings = settings
        self.schema = settings.schema
        self.project_dir = project_dir
        self._adapter = None
        self._connection = None
        self._macros_loaded = False
        self._spark_error_log = None  # pyspark's log of failed queries (local target)
        self._relations: dict[str, tuple[str, str]] = {}  # rendered -> (schema, model)

    def __enter__(self) -> Marts:
        self._adapter = _target_adapter(self.settings, self.project_dir)
        credentials = self._adapter.config.credentials
        if credentials.type == "spark" and getattr(credentials, "method", None) == "session":
            # dbt-spark's session method: the adapter runs the queries on this process's SparkSession
            from pyspark.logger import PySparkLogger

            from regcalc.session import get_spark

            get_spark(self.settings)
            self._spark_error_log = PySparkLogger.getLogger("SQLQueryContextLogger")
        self._connection = self._adapter.connection_named("regcalc-marts")
        self._connection.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._connection.__exit__(*exc_info)
        finally:
            self._adapter.cleanup_connections()

    @property
    def string_type(self) -> str:
        """The target's text type: what dbt's type_string() renders (api.Column.translate_type)."""
        return self._adapter.Column.translate_type("string")

    def relation(self, model: str, schema: str | None = None) -> str:
        """The relation of a model or seed in the target schema (or `schema`), as SQL."""
        schema = schema or self.schema
        rendered = str(
            self._adapter.Relation.create(
                database=self._adapter.config.credentials.database, schema=schema, identifier=model
            )
        )
        self._relations[rendered] = (schema, model)
        return rendered

    def literal(self, value: str | date) -> str:
        """A SQL literal of the text or date, read back as written on every target (a date as
        `cast('yyyy-mm-dd' as date)`)."""
        if isinstance(value, date):
            return f"cast('{value.isoformat()}' as date)"
        if _PLAIN_TEXT.fullmatch(value):
            return f"'{value}'"
        self._load_macros()
        return str(self._adapter.execute_macro("string_literal", kwargs={"value": value})).strip()

    def query(self, sql: str) -> list[dict]:
        """The rows of one SELECT as {column: value}, columns as the query names them: text as str,
        integers as int, other numbers as float (DECIMAL columns too: these rows are displayed and
        explained, not summed into reported values), dates as date, flags as bool.

        Raises MartsError: which relations of the query are not built, or the engine's message."""
        from dbt_common.exceptions import DbtRuntimeError  # the adapters' database errors derive from it

        # pyspark logs a failed query with its JVM stack trace to stderr; the MartsError says it all
        with _muted(self._spark_error_log) if self._spark_error_log else nullcontext():
            try:
                _, cursor = self._adapter.connections.add_query(sql, auto_begin=False)
                names = [column[0] for column in cursor.description]
                # PyHive (the Thrift target) hands DECIMAL and DATE values over as text; its type codes say so
                readers = [_TEXT_READERS.get(str(column[1])) for column in cursor.description]
                rows = cursor.fetchall()
            except DbtRuntimeError as error:
                raise self._failure(sql, error) from None
        return [
            {
                name: _python_value(reader(value) if reader and isinstance(value, str) else value)
                for name, value, reader in zip(names, row, readers, strict=True)
            }
            for row in rows
        ]

    def execute(self, sql: str) -> None:
        """Run one statement that returns no rows (CREATE TABLE, INSERT) and commit it.

        Raises MartsError as `query` does."""
        from dbt_common.exceptions import DbtRuntimeError

        with _muted(self._spark_error_log) if self._spark_error_log else nullcontext():
            try:
                self._adapter.connections.add_query(sql, auto_begin=True)
                self._adapter.connections.commit_if_has_connection()
            except DbtRuntimeError as error:
                raise self._failure(sql, error) from None

    def _failure(self, sql: str, error: Exception) -> MartsError:
        where = f"target {self.settings.target}"
        missing = [
            f"{schema}.{model}"
            for rendered, (schema, model) in self._relations.items()
            if rendered in sql and not self._exists(schema, model)
        ]
        if missing:
            return MartsError(
                f"not built in {where}: {', '.join(missing)}; run `regcalc run --input DIR` first "
                f"(or `dbt build --target {self.settings.target}` with schema {self.schema})"
            )
        return MartsError(f"query of the marts on {where} failed: {_engine_message(error)}")

    def _exists(self, schema: str, model: str) -> bool:
        self._load_macros()  # the adapter lists relations with its macros
        database = self._adapter.config.credentials.database
        return self._adapter.get_relation(database, schema, model) is not None

    def _load_macros(self) -> None:
        if self._macros_loaded:
            return
        from dbt.context.providers import generate_runtime_macro_context
        from dbt.parser.manifest import ManifestLoader

        macros = ManifestLoader.load_macros(self._adapter.config, self._adapter.connections.set_query_header)
        self._adapter.set_macro_resolver(macros)
        self._adapter.set_macro_context_generator(generate_runtime_macro_context)
        self._macros_loaded = True


# PyHive's type codes (HiveServer2 TTypeId names) of the values it returns as text
_TEXT_READERS = {"DECIMAL_TYPE": float, "DATE_TYPE": date.fromisoformat}


def _python_value(value):
    return float(value) if isinstance(value, Decimal) else value


def _engine_message(error: Exception) -> str:
    """The engine's own message, first line (what follows is Spark's query plan or PostgreSQL's
    pointer into the SQL), without dbt's "Runtime Error" / "Database Error" headings."""
    lines = [line.strip() for line in str(error).splitlines()]
    message = [line for line in lines if line and line not in ("Runtime Error", "Database Error")]
    return message[0] if message else type(error).__name__


@contextmanager
def _muted(log):
    disabled, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = disabled


def _target_adapter(settings: Settings, project_dir: Path):
    """The dbt adapter of `settings.target`, registered as dbt does; its events go to logs/dbt.log only."""
    from dbt.adapters.factory import get_adapter, register_adapter
    from dbt.config.runtime import RuntimeConfig
    from dbt.events.logging import setup_event_logger
    from dbt.flags import get_flags, set_from_args
    from dbt.mp_context import get_mp_context
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import DbtBaseException

    # profiles.yml reads the settings through env_var(): dbt's invocation context gets them, os.environ
    # is left as it is
    set_invocation_context({**os.environ, **settings.environment()})
    args = Namespace(
        project_dir=str(project_dir),
        profiles_dir=str(PROFILES_DIR),
        profile=None,
        target=settings.target,
        threads=None,
        vars=dbt_vars(settings),
        log_level="none",
        log_level_file="debug",
        log_path=str(project_dir / "logs"),
    )
    set_from_args(args, None)
    setup_event_logger(get_flags())
    try:
        config = RuntimeConfig.from_args(args)
    except DbtBaseException as error:
        raise MartsError(f"target {settings.target}: {brief_error(str(error))}") from None
    register_adapter(config, get_mp_context())
    return get_adapter(config)


def read_lcr(
    marts: Marts, as_of: date | None = None, entity: str | None = None, scenario: str = "base"
) -> list[dict]:
    """fct_lcr's rows of one scenario (and as-of date, entity), ordered by as-of date and entity:
    LCR_COLUMNS (amounts in the entity's reporting currency, lcr a ratio), plus VERSUS_BASE_COLUMNS from
    agg_lcr_date_entity_scenario for a scenario other than base."""
    conditions = [f"lcr.scenario = {marts.literal(scenario)}"]
    if as_of is not None:
        conditions.append(f"lcr.as_of_date = {marts.literal(as_of)}")
    if entity is not None:
        conditions.append(f"lcr.entity_id = {marts.literal(entity)}")
    columns = [f"lcr.{column}" for column in LCR_COLUMNS]
    joins = ""
    if scenario != "base":
        columns += [f"versus_base.{column}" for column in VERSUS_BASE_COLUMNS]
        joins = (
            f"\nleft join {marts.relation('agg_lcr_date_entity_scenario')} as versus_base"
            "\n    on versus_base.scenario = lcr.scenario"
            "\n    and versus_base.as_of_date = lcr.as_of_date"
            "\n    and versus_base.entity_id = lcr.entity_id"
        )
    sql = (
        f"select {', '.join(columns)}\nfrom {marts.relation('fct_lcr')} as lcr{joins}"
        f"\nwhere {' and '.join(conditions)}"
    )
    # ordered here, not in SQL: text order is the same on every target then (collations differ)
    return sorted(marts.query(sql), key=lambda row: (row["as_of_date"], row["entity_id"]))


def lcr_report(
    marts: Marts, as_of: date | None, entity: str | None, scenario: str
) -> tuple[list[dict], tuple[str, ...]]:
    """`regcalc lcr`: the rows of read_lcr and the columns to show; RegcalcError if there are none."""
    rows = read_lcr(marts, as_of, entity, scenario)
    if not rows:
        raise RegcalcError(
            "no LCR rows"
            + (f" for as-of {as_of}" if as_of else "")
            + (f" and entity {entity}" if entity else "")
            + (f" in scenario {scenario}" if scenario != "base" else "")
        )
    return rows, LCR_COLUMNS + (VERSUS_BASE_COLUMNS if scenario != "base" else ())
