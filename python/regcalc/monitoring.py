"""Run monitoring: a concise progress line per dbt node while dbt runs, and the run log that the
on-run-end hooks write (macros/monitoring/run_log.sql, table `regcalc_run_log`) read back and
summarised at the end of `regcalc run`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from regcalc.progress import Progress
from regcalc.render import table

RUN_LOG_TABLE = "regcalc_run_log"
# Statuses of a node that did what it should (dbt: models and seeds succeed, tests pass).
OK_STATUSES = ("success", "pass")
# Statuses of a node that failed (dbt: a model or seed errored, a test failed or errored); a warning is
# neither ok nor failed.
FAILED_STATUSES = ("error", "fail", "runtime error")
BUILT_TYPES = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class NodeRun:
    """One row of the run log."""

    node_unique_id: str
    node_name: str
    resource_type: str
    materialization: str | None
    status: str
    execution_seconds: float
    rows_out: int | None
    rows_in: int | None
    failures: int | None

    @classmethod
    def from_row(cls, row: dict) -> NodeRun:
        """A run-log row as any engine returns it (a Spark Row's dict, or dbt show's Decimals)."""
        number = {"execution_seconds": float, "rows_out": int, "rows_in": int, "failures": int}
        return cls(
            **{
                name: row[name] if row[name] is None or name not in number else number[name](row[name])
                for name in cls.__dataclass_fields__
            }
        )


class DbtProgress:
    """A dbt callback: one progress line per model, seed or snapshot built and per test that did not
    pass (passing tests are only counted: there are over a hundred). `k/N` is dbt's node numbering."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.total: int | None = None
        self.finished = 0

    def __call__(self, event) -> None:
        name = event.info.name
        if name == "LogStartLine" and self.total is None:
            self.total = event.data.total
        if name != "NodeFinished":
            return
        self.finished += 1
        self.progress.advance(self.finished, self.total)  # the live bar counts passing tests too
        node, result = event.data.node_info, event.data.run_result
        if node.materialized == "ephemeral" or node.resource_type == "exposure":
            return  # nothing was built: dbt inlines an ephemeral model; an exposure is a BI consumer
        if node.resource_type not in BUILT_TYPES and result.status == "pass":
            return
        counter = f"{self.finished}/{self.total}" if self.total else str(self.finished)
        kind = f"{node.resource_type} {node.node_name}"
        if node.resource_type == "model":
            kind += f" ({node.materialized})"
        failures = f", {result.num_failures} failing rows" if result.num_failures else ""
        self.progress.info(f"dbt {counter} {kind}: {result.status} in {result.execution_time:.1f}s{failures}")


def run_log_query(relation: str, regcalc_run_id: str) -> str:
    """SQL (every target) for the run-log rows in `relation` of the dbt invocations of one `regcalc run`;
    `regcalc_run_id` is a run id of the jobs (pipeline.new_run_id: digits, letters, '-')."""
    if not regcalc_run_id.replace("-", "").isalnum():
        raise ValueError(f"not a regcalc run id: {regcalc_run_id!r}")
    columns = ", ".join(NodeRun.__dataclass_fields__)
    return f"select {columns} from {relation} where regcalc_run_id = '{regcalc_run_id}'"


def read_run_log(settings, regcalc_run_id: str) -> list[NodeRun]:
    """The run-log rows of one `regcalc run` in the settings' schema, read through the target's dbt
    adapter (regcalc.marts): the local session, a Thrift server, PostgreSQL or Redshift alike.

    Raises MartsError when the run log is not built in that schema."""
    from regcalc.marts import Marts

    with Marts(settings) as marts:
        rows = marts.query(run_log_query(marts.relation(RUN_LOG_TABLE), regcalc_run_id))
    return [NodeRun.from_row(row) for row in rows]


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def format_run_summary(nodes: list[NodeRun], slowest: int = 5) -> str:
    """Totals per node type, the slowest models and seeds with their rows, and every failure."""
    if not nodes:
        return "dbt run log: no rows for this run (see logs/dbt.log)"
    types = Counter(node.resource_type for node in nodes)
    failed = [node for node in nodes if node.status not in OK_STATUSES]
    seconds = sum(node.execution_seconds for node in nodes)
    lines = [
        "dbt: "
        + ", ".join(f"{count} {kind}s" for kind, count in sorted(types.items()))
        + f"; {seconds:.1f}s in nodes; {len(failed)} not ok"
    ]
    built = sorted(
        (node for node in nodes if node.resource_type in BUILT_TYPES),
        key=lambda node: (-node.execution_seconds, node.node_name),
    )[:slowest]
    if built:
        cells = [
            (f"{node.execution_seconds:.1f}", _count(node.rows_out), _count(node.rows_in), node.node_name)
            for node in built
        ]
        lines.append(f"slowest {len(built)}:")
        columns = ("seconds", "rows_out", "rows_in", "node")
        lines += ["  " + line for line in table(cells, columns, left={"node"}).splitlines()]
    for node in sorted(failed, key=lambda node: node.node_unique_id):
        failures = f" ({node.failures:,} failing rows)" if node.failures else ""
        lines.append(f"{node.status.upper()} {node.node_unique_id}{failures}")
    return "\n".join(lines)


def run_summary(read_nodes: Callable[[], list[NodeRun]]) -> str:
    """The end-of-run summary from the run log as `read_nodes` reads it; a note instead if it cannot be
    read."""
    try:
        return format_run_summary(read_nodes())
    except Exception as error:  # the summary must never hide the run's own result or error
        return f"dbt run log could not be read: {error}"
