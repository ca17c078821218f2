"""Incremental recalculation: from a change to the smallest `dbt build` that brings the marts up to date.

The state of the last successful build (a copy of the rule and parameter seeds, and the run id of
every lake partition) is kept under $REGCALC_HOME/recalc_state/<schema>/. A plan compares it with
the current seeds and lake:

* a rule whose rows changed (adjustment_rules / _conditions / _actions, keyed by rule_id) affects
  its injection point on the dates of its old and new effective ranges that are in the lake; the
  build covers the changed seeds, the point's model and everything downstream of it (networkx over
  dbt's manifest.json), with var `recalc_dates`: the as-of-date partitioned models rewrite only
  those dates (macro recalc_dates_condition). When a point's columns change (rules added, removed,
  approved, reordered, or a new scenario) the point's model has new columns: that selection is
  rebuilt with --full-refresh instead.
* a new or rerun lake partition affects everything downstream of the lake sources, on its date and
  on the later dates (an SCD2 version's key is its first date, so a rerun date can change the
  dimension keys of the dates after it).
* changed regulatory parameters are read by the Spark jobs: the jobs must be rerun for every date
  (`regcalc run`), which rebuilds everything.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import networkx as nx

from regcalc.lake import Lake
from regcalc.pipeline import DEAL_DATASET
from regcalc.progress import Progress
from regcalc.rules import approval_status, load_points
from regcalc.settings import PROJECT_DIR, RegcalcError, Settings

RULE_SEEDS = ("adjustment_rules", "adjustment_conditions", "adjustment_actions")
# Seeds that dbt alone reads, on every as-of date: the parameter sets (national discretions) and the
# template LIQ1's rows and category mapping. A changed row rebuilds the seed and what reads it, every date.
DBT_PARAMETER_FOLDERS = ("jurisdictions", "liq1")
SEED_FOLDERS = ("adjustments", "regulatory", *DBT_PARAMETER_FOLDERS)


@dataclass(frozen=True)
class BuildState:
    """What a successful build was made from: the seed CSVs and the run id of each lake date."""

    seeds_dir: Path  # holds adjustments/*.csv and regulatory/*.csv
    lake_runs: dict[str, str]  # as-of date (yyyy-mm-dd) -> run id of its deal_liquidity partition


@dataclass
class Plan:
    changes: list[str] = field(default_factory=list)
    points: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # models and seeds to build, in build order
    all_models: bool = False  # the selection is the whole project: build with no --select
    dates: list[str] = field(default_factory=list)  # as-of dates to recalculate (empty with full_refresh)
    full_refresh: str | None = None  # why the selection is rebuilt for every date, if it is
    rerun_jobs: str | None = None  # why the Spark jobs must run again, if they must
    notes: list[str] = field(default_factory=list)
    # The lake tables need registering again (the default) unless the lake is as the last successful
    # build of this schema left it; registering costs a few seconds per dataset.
    lake_unchanged: bool = False
    # With the lake changed: the dates whose partitions are new or rerun, which the warehouse loads
    # before the build (regcalc.warehouse); None: load every date (first build, or dates removed).
    lake_dates: list[str] | None = None
    # Leave out the data and unit tests (those of the partitioned models read only the recalculated
    # dates, macro recalc_test_relation; the others every date): a faster recalc whose tests then run
    # in the next full build or `dbt test`.
    skip_tests: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.models and not self.rerun_jobs

    def dbt_args(self) -> list[str]:
        args = ["build"] if self.all_models else ["build", "--select", *self.models]
        if self.skip_tests:
            args += ["--exclude-resource-type", "test", "unit_test"]
        return [*args, "--full-refresh"] if self.full_refresh else args

    def dbt_vars(self) -> dict:
        return {} if self.full_refresh else {"recalc_dates": self.dates}

    def command(self) -> str:
        text = "dbt " + " ".join(self.dbt_args())
        return text + (f" --vars '{json.dumps(self.dbt_vars())}'" if self.dbt_vars() else "")

    def render(self) -> str:
        if self.is_empty:
            return "nothing to recalculate: the seeds and the lake are as of the last successful build"
        lines = [f"changes ({len(self.changes)}):", *[f"  {change}" for change in self.changes]]
        if self.rerun_jobs:
            lines += [
                f"the Spark jobs must be rerun for every as-of date: {self.rerun_jobs}",
                "  run `regcalc run --input DIR` (jobs for all dates, then a full dbt build of everything "
                "downstream); `regcalc recalc` does not run the jobs",
            ]
            return "\n".join(lines + [f"note: {note}" for note in self.notes])
        lines.append("injection points: " + (", ".join(self.points) or "none"))
        if self.full_refresh:
            lines.append(f"dates: all (full refresh of the selection: {self.full_refresh})")
        else:
            lines.append(f"dates ({len(self.dates)}): " + (", ".join(self.dates) or "none"))
        lines.append(f"models and seeds ({len(self.models)}): " + ", ".join(self.models))
        lines.append(f"command: {self.command()}")
        return "\n".join(lines + [f"note: {note}" for note in self.notes])


# ------------------------------------------------------------------------------------------------
# Reading seeds, the lake and the manifest
# ------------------------------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


def lake_runs(lake_uri: str, spark=None) -> dict[str, str]:
    """As-of date -> run id of the current deal_liquidity version (the lake's commit records). A local
    lake is read without Spark, so `regcalc recalc --plan` needs no JVM."""
    return {day: partition.run_id for day, partition in Lake(spark, lake_uri).published(DEAL_DATASET).items()}


def manifest_graph(manifest: dict) -> nx.DiGraph:
    """Models, seeds, snapshots and sources of a dbt manifest, edges from parent to child (no tests)."""
    graph = nx.DiGraph()
    buildable = ("model", "seed", "snapshot")
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] in buildable:
            graph.add_node(unique_id, name=node["name"], resource_type=node["resource_type"])
    for unique_id, source in manifest.get("sources", {}).items():
        graph.add_node(unique_id, name=source["name"], resource_type="source")
    for child, parents in manifest["parent_map"].items():
        if child in graph:
            graph.add_edges_from((parent, child) for parent in parents if parent in graph)
    return graph


def node_id(graph: nx.DiGraph, name: str, resource_type: str = "model") -> str:
    for unique_id, data in graph.nodes(data=True):
        if data["name"] == name and data["resource_type"] == resource_type:
            return unique_id
    raise RegcalcError(f"no {resource_type} {name} in dbt's manifest; run `dbt parse` and check the project")


# ------------------------------------------------------------------------------------------------
# Rule changes
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleVersion:
    row: dict[str, str]
    conditions: tuple[tuple[str, ...], ...]
    actions: tuple[tuple[str, ...], ...]

    @property
    def approved(self) -> bool:
        return approval_status(self.row) == "approved"


def rule_versions(adjustments_dir: Path) -> dict[str, RuleVersion]:
    by_rule: dict[str, dict[str, list]] = defaultdict(lambda: {"conditions": [], "actions": []})
    for kind in ("conditions", "actions"):
        for row in read_rows(adjustments_dir / f"adjustment_{kind}.csv"):
            by_rule[row["rule_id"]][kind].append(tuple(row.values()))
    return {
        row["rule_id"]: RuleVersion(
            row,
            # In file order: two actions of a rule on one field apply in that order.
            tuple(by_rule[row["rule_id"]]["conditions"]),
            tuple(by_rule[row["rule_id"]]["actions"]),
        )
        for row in read_rows(adjustments_dir / "adjustment_rules.csv")
    }


def point_layouts(versions: dict[str, RuleVersion]) -> dict[str, tuple]:
    """Per point, what decides the columns of its model: the approved rules in application order
    (priority, then rule_id) with the fields they change, and the scenarios of the run (the same
    selection as macros adjustment_point_rules and load_adjustment_rules)."""
    approved = [version for version in versions.values() if version.approved]
    scenarios = tuple(sorted({version.row["scenario"] or "base" for version in approved} | {"base"}))

    def priority(version: RuleVersion) -> float:
        try:
            return float(version.row["priority"] or 0)
        except ValueError:
            return 0.0

    layouts: dict[str, list] = defaultdict(list)
    for version in sorted(approved, key=lambda version: (priority(version), version.row["rule_id"])):
        fields = tuple(sorted({action[1] for action in version.actions}))
        layouts[version.row["injection_point"]].append((version.row["rule_id"], fields))
    return defaultdict(
        lambda: ((), scenarios), {point: (tuple(rules), scenarios) for point, rules in layouts.items()}
    )


def rule_dates(row: dict[str, str], lake_dates: Iterable[str]) -> set[str]:
    """The lake dates within a rule's effective range (every date if the range cannot be read)."""
    try:
        start = date.fromisoformat(row["effective_from"])
        end = date.fromisoformat(row["expiry"]) if row["expiry"] else date.max
    except ValueError:
        return set(lake_dates)
    return {day for day in lake_dates if start <= date.fromisoformat(day) <= end}


def seed_changes(old_dir: Path, new_dir: Path) -> list[tuple[str, str]]:
    """(seed, what changed) for each seed of a folder that differs between two versions of it."""
    changes = [
        (path.stem, f"{count} row(s)")
        for path in sorted(new_dir.glob("*.csv"))
        if (count := changed_seed_rows(old_dir, new_dir, path.stem))
    ]
    return changes + [
        (path.stem, "removed") for path in sorted(old_dir.glob("*.csv")) if not (new_dir / path.name).exists()
    ]


def changed_seed_rows(old_dir: Path, new_dir: Path, name: str) -> int:
    """How many rows differ between two versions of a seed (row by row, order ignored)."""
    old = [tuple(row.items()) for row in read_rows(old_dir / f"{name}.csv")]
    new = [tuple(row.items()) for row in read_rows(new_dir / f"{name}.csv")]
    remaining = list(old)
    added = 0
    for row in new:
        if row in remaining:
            remaining.remove(row)
        else:
            added += 1
    return added + len(remaining)


# ------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------
def make_plan(
    graph: nx.DiGraph,
    point_models: dict[str, str],
    previous: BuildState | None,
    seeds_dir: Path,
    current_lake_runs: dict[str, str],
) -> Plan:
    """The smallest build after the change from `previous` to the current seeds and lake.

    `point_models`: injection point -> its model (e.g. deal -> int_deal_liquidity__adjusted).
    """
    plan = Plan()
    everything = [
        data["name"] for _, data in _in_build_order(graph, graph.nodes) if data["resource_type"] != "source"
    ]
    if previous is None:
        plan.changes.append("no record of a successful build of this schema and lake")
        plan.models, plan.all_models = everything, True
        plan.full_refresh = "first build"
        return plan
    lake_dates = sorted(current_lake_runs)
    regulatory = seed_changes(previous.seeds_dir / "regulatory", seeds_dir / "regulatory")
    if regulatory:
        plan.changes += [f"regulatory parameters changed: {name}: {change}" for name, change in regulatory]
        plan.rerun_jobs = "the classification, haircuts and rates are applied by the jobs to every deal"
        plan.dates = lake_dates
    selection = _Selection()
    _plan_rule_changes(plan, selection, graph, point_models, (previous.seeds_dir, seeds_dir), lake_dates)
    _plan_parameter_changes(plan, selection, graph, (previous.seeds_dir, seeds_dir), lake_dates)
    _plan_lake_changes(plan, selection, graph, previous.lake_runs, current_lake_runs)
    if plan.rerun_jobs:
        plan.models, plan.all_models = everything, True
        return plan
    if selection.start_nodes:
        _select(plan, selection, graph)
    return plan


@dataclass
class _Selection:
    """What the changes found select: the nodes the build starts from, the edges it must not follow
    (rule seeds -> points whose rules did not change), the dates to rewrite, and the reasons, if any,
    that every date must be rebuilt (--full-refresh)."""

    start_nodes: set[str] = field(default_factory=set)
    removed_edges: list[tuple[str, str]] = field(default_factory=list)
    dates: set[str] = field(default_factory=set)
    refresh_reasons: list[str] = field(default_factory=list)


def _plan_rule_changes(
    plan: Plan,
    selection: _Selection,
    graph: nx.DiGraph,
    point_models: dict[str, str],
    seeds: tuple[Path, Path],
    lake_dates: list[str],
) -> None:
    """The rules added, removed or changed between the old and new seeds (`seeds`): the rule seeds
    they touch start the build, only through the points whose rules changed, on the dates the
    approved versions cover; a point whose columns change needs every date rebuilt."""
    old_rules, new_rules = (rule_versions(folder / "adjustments") for folder in seeds)
    old_layouts, new_layouts = point_layouts(old_rules), point_layouts(new_rules)
    affected_points: set[str] = set()
    changed_seeds: set[str] = set()
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        old, new = old_rules.get(rule_id), new_rules.get(rule_id)
        if old == new:
            continue
        what = "added" if old is None else "removed" if new is None else "changed"
        plan.changes.append(f"rule {rule_id} {what}")
        for seed, part in zip(RULE_SEEDS, ("row", "conditions", "actions"), strict=True):
            if getattr(old, part, None) != getattr(new, part, None):
                changed_seeds.add(seed)
        for version in (old, new):
            if version is not None and version.approved:
                affected_points.add(version.row["injection_point"])
                selection.dates |= rule_dates(version.row, lake_dates)
    for point in sorted(set(old_layouts) | set(new_layouts) | set(point_models)):
        if point in point_models and old_layouts[point] != new_layouts[point]:
            affected_points.add(point)
            selection.refresh_reasons.append(
                f"the columns of point {point} change (rules added, removed or reordered)"
            )
    if not changed_seeds:
        return
    seed_ids = {node_id(graph, seed, "seed") for seed in changed_seeds}
    selection.start_nodes |= seed_ids
    point_ids = {point: node_id(graph, model) for point, model in point_models.items()}
    # Every point model reads the rule seeds; only the affected ones are rebuilt.
    selection.removed_edges = [
        (seed_id, point_id)
        for seed_id in seed_ids
        for point, point_id in point_ids.items()
        if point not in affected_points and graph.has_edge(seed_id, point_id)
    ]
    plan.points = [point for point in point_models if point in affected_points]


def _plan_parameter_changes(
    plan: Plan, selection: _Selection, graph: nx.DiGraph, seeds: tuple[Path, Path], lake_dates: list[str]
) -> None:
    """Parameter sets and LIQ1 seeds: the seed and everything downstream, on every date of the lake."""
    old_seeds, new_seeds = seeds
    for folder in DBT_PARAMETER_FOLDERS:
        for name, change in seed_changes(old_seeds / folder, new_seeds / folder):
            plan.changes.append(f"{folder} seed changed: {name}: {change}")
            if (new_seeds / folder / f"{name}.csv").exists():
                selection.start_nodes.add(node_id(graph, name, "seed"))
            selection.dates |= set(lake_dates)


def _plan_lake_changes(
    plan: Plan,
    selection: _Selection,
    graph: nx.DiGraph,
    previous_runs: dict[str, str],
    current_runs: dict[str, str],
) -> None:
    """Lake partitions new, rerun or removed since the last build: the sources start the build."""
    new_dates = sorted(day for day, run in current_runs.items() if previous_runs.get(day) != run)
    removed_dates = sorted(set(previous_runs) - set(current_runs))
    plan.lake_unchanged = not (new_dates or removed_dates)
    plan.lake_dates = None if removed_dates else new_dates
    if plan.lake_unchanged:
        return
    for day in new_dates:
        what = "new" if day not in previous_runs else "rerun"
        plan.changes.append(f"lake partition {day}: {what} (run {current_runs[day]})")
    plan.changes += [f"lake partition {day}: removed" for day in removed_dates]
    selection.start_nodes |= {
        unique_id for unique_id, data in graph.nodes(data=True) if data["resource_type"] == "source"
    }
    if removed_dates:
        selection.refresh_reasons.append("lake dates were removed")
    # An SCD2 version is keyed by its first date: a new or rerun date can move the keys of the
    # dimension versions valid on the later dates, so the facts of those dates are rewritten too.
    selection.dates |= {day for day in current_runs if new_dates and day >= new_dates[0]}


def _select(plan: Plan, selection: _Selection, graph: nx.DiGraph) -> None:
    """The models downstream of the start nodes (not through the removed edges), and the dates to
    rewrite or why every date is rebuilt."""
    pruned = graph.copy()
    pruned.remove_edges_from(selection.removed_edges)
    selected = set(selection.start_nodes)
    for start in selection.start_nodes:
        selected |= nx.descendants(pruned, start)
    plan.models = [
        data["name"] for _, data in _in_build_order(graph, selected) if data["resource_type"] != "source"
    ]
    if selection.refresh_reasons:
        plan.full_refresh = "; ".join(selection.refresh_reasons)
        return
    plan.dates = sorted(selection.dates)
    if not plan.dates:
        plan.notes.append(
            "the changed rules are unapproved or cover no date of the lake: only the rule tables change"
        )


def _in_build_order(graph: nx.DiGraph, nodes: Iterable[str]) -> list[tuple[str, dict]]:
    wanted = set(nodes)
    order = nx.lexicographical_topological_sort(graph, key=lambda unique_id: graph.nodes[unique_id]["name"])
    return [(unique_id, graph.nodes[unique_id]) for unique_id in order if unique_id in wanted]


# ------------------------------------------------------------------------------------------------
# State of the last successful build
# ------------------------------------------------------------------------------------------------
def state_dir(settings: Settings) -> Path:
    return settings.home / "recalc_state" / settings.schema


def load_state(settings: Settings) -> BuildState | None:
    directory = state_dir(settings)
    record = directory / "build.json"
    if not record.exists():
        return None
    data = json.loads(record.read_text())
    if data.get("lake") != settings.lake or data.get("target") != settings.target:
        return None  # built from another lake or on another target: nothing is known
    return BuildState(directory / "seeds", data["lake_runs"])


def save_state(settings: Settings, project_dir: Path, runs: dict[str, str]) -> None:
    """Record a successful build: copy the seeds, then write build.json (the record that counts) last."""
    directory = state_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "build.json").unlink(missing_ok=True)
    shutil.rmtree(directory / "seeds", ignore_errors=True)
    for folder in SEED_FOLDERS:
        shutil.copytree(project_dir / "seeds" / folder, directory / "seeds" / folder)
    record = {"lake": settings.lake, "target": settings.target, "lake_runs": runs}
    (directory / "build.json").write_text(json.dumps(record, indent=2, sort_keys=True))


# ------------------------------------------------------------------------------------------------
# Entry points (regcalc recalc)
# ------------------------------------------------------------------------------------------------
def plan_recalc(
    settings: Settings, project_dir: Path = PROJECT_DIR, extra_vars: dict | None = None, spark=None
) -> Plan:
    """Parse the project (manifest.json) and plan against the state of the last successful build."""
    from regcalc.dbt import invoke_dbt

    invoke_dbt(["parse"], settings, extra_vars, project_dir=project_dir)
    manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    points = {name: point.adjusted_model for name, point in load_points(project_dir).items()}
    return make_plan(
        manifest_graph(manifest),
        points,
        load_state(settings),
        project_dir / "seeds",
        lake_runs(settings.lake, spark),
    )


def run_recalc(
    plan: Plan,
    settings: Settings,
    project_dir: Path = PROJECT_DIR,
    extra_vars: dict | None = None,
    spark=None,
    progress: Progress | None = None,
) -> None:
    """Load what changed in the lake into the warehouse (regcalc.warehouse), run the plan's build
    in-process, and record the new state only if it succeeded. With `progress`, dbt reports one line
    per node there instead of its own log (as in `regcalc run`)."""
    from regcalc.dbt import invoke_dbt
    from regcalc.warehouse import LAKE_SCHEMA, load_lake

    if plan.rerun_jobs:
        raise RegcalcError(
            f"{plan.rerun_jobs}: the regulatory parameters changed, so the Spark jobs must run again for "
            "every as-of date. Run `regcalc run --input DIR` (jobs for all dates, then a full build)."
        )
    runs = lake_runs(settings.lake, spark)  # before the build: a partition published meanwhile stays new
    if not plan.is_empty:
        build_vars = {**(extra_vars or {}), **plan.dbt_vars()}
        if not plan.lake_unchanged:  # registered once here, not by every build
            dates = None if plan.lake_dates is None else [date.fromisoformat(day) for day in plan.lake_dates]
            schema = build_vars.get("lake_schema", LAKE_SCHEMA)
            load_lake(spark, settings, dates, schema=schema, dbt_vars=build_vars, project_dir=project_dir)
        invoke_dbt(plan.dbt_args(), settings, build_vars, project_dir=project_dir, progress=progress)
    save_state(settings, project_dir, runs)
