"""The submission record: what was reported, frozen, and what the current data says about it since.

`regcalc submit --as-of D --entity E [--scenario S] [--reason ...]` copies the entity's fct_lcr row of that
date into the table `lcr_submissions` of the target schema, with who and when, the lake run and the version
of the as-of date it was built from (Lake.versions: that version's files stay readable, so the submitted
figures can always be rebuilt), the code version, and digests of the parameters and rules the marts were
built with. Resubmitting a date adds a version, and needs a reason.

The table is not a dbt model: no dbt command (`build`, `run`, `--full-refresh`, `regcalc recalc`, a rerun
of the jobs) writes or drops it; regcalc only creates it and inserts into it. The figures are copied by the
database itself (INSERT ... SELECT from fct_lcr), so the exact decimals are stored as fct_lcr holds them,
with no round trip through Python. The same submission freezes the 23 rows of template LIQ1 of that date
(fct_liq1_entity_day: unweighted and weighted value) into `liq1_submissions`, keyed by `submission_id` and
`liq1_row`, append-only in the same way.

`regcalc restatements [--as-of D]` compares the latest version of each submitted date with fct_lcr and
fct_liq1_entity_day now, in the database (exact decimals), and lists every figure that differs (a LIQ1 cell
as metric `liq1_row_<N>_unweighted` / `_weighted`), or a row fct_lcr no longer has.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlparse

from regcalc.decimals import MONEY
from regcalc.lake import OBJECT_STORE_SCHEMES, Lake
from regcalc.marts import LCR_COLUMNS, Marts
from regcalc.pipeline import DEAL_DATASET, code_version
from regcalc.settings import RegcalcError, Settings

SUBMISSIONS_TABLE = "lcr_submissions"
LIQ1_SUBMISSIONS_TABLE = "liq1_submissions"
LIQ1_FIGURES = ("unweighted_value", "weighted_value")
# The figures frozen: fct_lcr's amounts (money) and the ratio (stored as money: it is rounded to 6 decimals).
FIGURES = LCR_COLUMNS[2:]
# The seed tables of the target whose rows the parameters digest covers (what the marts were built with).
PARAMETER_SEEDS = (
    "lcr_classification_rules",
    "param_excluded_categories",
    "param_hqla_haircuts",
    "param_inflow_rates",
    "param_lcr_caps",
    "param_outflow_rates",
    "param_liability_products",
    "param_significant_currency",
)


@dataclass(frozen=True)
class Submission:
    """One row of lcr_submissions as `regcalc submit` reports it."""

    submission_id: str
    version: int
    scenario: str
    entity_id: str
    as_of_date: date
    run_id: str
    lake_version: int
    submitted_by: str
    submitted_at: str
    reason: str | None


def _key_columns(marts: Marts) -> list[tuple[str, str]]:
    """The columns that say which submission a row of either table belongs to."""
    text = marts.string_type
    return [
        ("submission_id", text),
        ("version", "int"),
        ("scenario", text),
        ("entity_id", text),
        ("as_of_date", "date"),
    ]


def _columns(marts: Marts) -> list[tuple[str, str]]:
    text, money = marts.string_type, MONEY.sql
    return [
        *_key_columns(marts),
        ("reporting_currency", text),
        *[(figure, money) for figure in FIGURES],
        ("run_id", text),
        ("lake_version", "int"),
        ("run_code_version", text),
        ("run_parameters_digest", text),
        ("code_version", text),
        ("parameters_digest", text),
        ("rules_digest", text),
        ("submitted_by", text),
        ("submitted_at", "timestamp"),
        ("reason", text),
    ]


def _liq1_columns(marts: Marts) -> list[tuple[str, str]]:
    return [
        *_key_columns(marts),
        ("liq1_row", "int"),
        *[(figure, MONEY.sql) for figure in LIQ1_FIGURES],
    ]


def _create(marts: Marts, table: str, columns: list[tuple[str, str]]) -> str:
    relation = marts.relation(table)
    listed = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in columns)
    marts.execute(f"create table if not exists {relation} (\n    {listed}\n)")
    return relation


def ensure_table(marts: Marts) -> str:
    """Create lcr_submissions and liq1_submissions in the target schema if they are not there; return the
    relation of lcr_submissions."""
    _create(marts, LIQ1_SUBMISSIONS_TABLE, _liq1_columns(marts))
    return _create(marts, SUBMISSIONS_TABLE, _columns(marts))


def _digest(rows: list[dict]) -> str:
    """sha256 (16 hex digits) of rows, independent of their order and of the engine's number types."""
    lines = sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def build_digests(marts: Marts) -> tuple[str, str]:
    """(parameters digest, rules digest) of what the marts were built with: the rows of the regulatory
    and reporting seed tables, and of dim_adjustment_rule (each rule with conditions, actions, dates,
    approval)."""
    parameters = []
    for seed in PARAMETER_SEEDS:
        parameters += [{"seed": seed, **row} for row in marts.query(f"select * from {marts.relation(seed)}")]
    rules = marts.query(f"select * from {marts.relation('dim_adjustment_rule')}")
    return _digest(parameters), _digest(rules)


def _lake_version(settings: Settings, as_of: date, run_id: str) -> tuple[int, dict]:
    """The version of the as-of date that run `run_id` published, and the run's metadata."""
    spark = None
    if urlparse(settings.lake).scheme in OBJECT_STORE_SCHEMES:  # S3 is read through Spark's S3A
        from regcalc.session import get_spark

        spark = get_spark(settings)
    versions = Lake(spark, settings.lake).versions(DEAL_DATASET).get(as_of.isoformat(), [])
    for partition in versions:
        if partition.run_id == run_id:
            return partition.version, partition.metadata
    raise RegcalcError(
        f"fct_lcr's run {run_id} of {as_of} is not a published version in the lake {settings.lake} "
        f"(versions: {', '.join(p.run_id for p in versions) or 'none'}); is REGCALC_LAKE (--lake) the lake "
        "the marts were built from?"
    )


def _key_condition(marts: Marts, alias: str, scenario: str, entity: str, as_of: date) -> str:
    return (
        f"{alias}.scenario = {marts.literal(scenario)} and {alias}.entity_id = {marts.literal(entity)} "
        f"and {alias}.as_of_date = {marts.literal(as_of)}"
    )


def submit(
    marts: Marts,
    settings: Settings,
    entity: str,
    as_of: date,
    scenario: str = "base",
    reason: str | None = None,
) -> Submission:
    """Freeze fct_lcr's row of (scenario, entity, as_of) as a new version in lcr_submissions, and the
    23 rows of fct_liq1_entity_day of the same key in liq1_submissions (same submission_id and version).

    Raises RegcalcError: no such fct_lcr row (naming the dates there are), a resubmission without a reason,
    or the row's run not in the lake."""
    relation = ensure_table(marts)
    lcr = marts.relation("fct_lcr")
    found = marts.query(
        f"select lcr.run_id from {lcr} as lcr where {_key_condition(marts, 'lcr', scenario, entity, as_of)}"
    )
    if not found:
        dates = marts.query(
            f"select distinct lcr.as_of_date from {lcr} as lcr where lcr.entity_id = {marts.literal(entity)} "
            f"and lcr.scenario = {marts.literal(scenario)}"
        )
        listed = ", ".join(sorted(str(row["as_of_date"]) for row in dates)) or "none"
        raise RegcalcError(
            f"fct_lcr has no row for entity {entity} on {as_of} in scenario {scenario} "
            f"(dates of {entity}: {listed})"
        )
    run_id = found[0]["run_id"]
    previous = marts.query(
        f"select max(s.version) as version, count(*) as versions from {relation} as s "
        f"where {_key_condition(marts, 's', scenario, entity, as_of)}"
    )[0]
    version = (previous["version"] or 0) + 1
    if version > 1 and not reason:
        raise RegcalcError(
            f"{entity} on {as_of} ({scenario}) is already submitted ({version - 1} version(s)); "
            "a resubmission needs --reason"
        )
    lake_version, run = _lake_version(settings, as_of, run_id)
    parameters_digest, rules_digest = build_digests(marts)
    submission = Submission(
        submission_id=f"{entity}/{as_of.isoformat()}/{scenario}/v{version}",
        version=version,
        scenario=scenario,
        entity_id=entity,
        as_of_date=as_of,
        run_id=run_id,
        lake_version=lake_version,
        submitted_by=getpass.getuser(),
        submitted_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        reason=reason,
    )

    def text(value: str | None) -> str:
        return "null" if value is None else marts.literal(value)

    values = {
        "submission_id": text(submission.submission_id),
        "version": str(version),
        "scenario": "lcr.scenario",
        "entity_id": "lcr.entity_id",
        "as_of_date": "lcr.as_of_date",
        "reporting_currency": "lcr.reporting_currency",
        **{figure: f"cast(lcr.{figure} as {MONEY.sql})" for figure in FIGURES},
        "run_id": "lcr.run_id",
        "lake_version": str(lake_version),
        "run_code_version": text(run.get("code_version")),
        "run_parameters_digest": text(run.get("parameters_digest")),
        "code_version": text(code_version()),
        "parameters_digest": text(parameters_digest),
        "rules_digest": text(rules_digest),
        "submitted_by": text(submission.submitted_by),
        "submitted_at": f"cast({marts.literal(submission.submitted_at)} as timestamp)",
        "reason": text(reason),
    }
    marts.execute(
        f"insert into {relation} ({', '.join(values)})\n"
        f"select {', '.join(values.values())}\nfrom {lcr} as lcr\n"
        f"where {_key_condition(marts, 'lcr', scenario, entity, as_of)}"
    )
    liq1_values = {
        "submission_id": text(submission.submission_id),
        "version": str(version),
        "scenario": "liq1.scenario",
        "entity_id": "liq1.entity_id",
        "as_of_date": "liq1.as_of_date",
        "liq1_row": "liq1.liq1_row",
        **{figure: f"cast(liq1.{figure} as {MONEY.sql})" for figure in LIQ1_FIGURES},
    }
    marts.execute(
        f"insert into {marts.relation(LIQ1_SUBMISSIONS_TABLE)} ({', '.join(liq1_values)})\n"
        f"select {', '.join(liq1_values.values())}\nfrom {marts.relation('fct_liq1_entity_day')} as liq1\n"
        f"where {_key_condition(marts, 'liq1', scenario, entity, as_of)}"
    )
    return submission


def read_liq1_submissions(marts: Marts, submission_id: str) -> list[dict]:
    """The LIQ1 rows frozen with a submission (liq1_row, unweighted_value, weighted_value), by row."""
    ensure_table(marts)
    rows = marts.query(
        f"select s.liq1_row, s.unweighted_value, s.weighted_value "
        f"from {marts.relation(LIQ1_SUBMISSIONS_TABLE)} as s "
        f"where s.submission_id = {marts.literal(submission_id)}"
    )
    return sorted(rows, key=lambda row: row["liq1_row"])


def read_submissions(marts: Marts, as_of: date | None = None, entity: str | None = None) -> list[dict]:
    """Every version in lcr_submissions (of the date, entity), ordered by date, entity, scenario, version."""
    relation = ensure_table(marts)
    conditions = ["1 = 1"]
    if as_of is not None:
        conditions.append(f"s.as_of_date = {marts.literal(as_of)}")
    if entity is not None:
        conditions.append(f"s.entity_id = {marts.literal(entity)}")
    rows = marts.query(f"select * from {relation} as s where {' and '.join(conditions)}")
    return sorted(
        rows, key=lambda row: (row["as_of_date"], row["entity_id"], row["scenario"], row["version"])
    )


RESTATEMENT_COLUMNS = (
    "entity_id",
    "as_of_date",
    "scenario",
    "version",
    "metric",
    "submitted",
    "current",
    "difference",
)


def _same(current: str, submitted: str) -> str:
    """Exactly equal, and null (no ratio: net cash outflows 0; a shaded LIQ1 cell) equals null."""
    return f"({current} = {submitted} or ({current} is null and {submitted} is null))"


def _compared(figures: tuple[str, ...], current: str) -> tuple[str, str]:
    """(select list of submitted_/current_/difference_/changed_<figure>, condition: any figure changed) of
    the submitted alias `s` against the current alias `current`."""
    listed, changed = [], []
    for figure in figures:
        now = f"cast({current}.{figure} as {MONEY.sql})"
        listed.append(
            f"s.{figure} as submitted_{figure}, {now} as current_{figure}, "
            f"{now} - s.{figure} as difference_{figure}, "
            f"case when {_same(now, f's.{figure}')} then 0 else 1 end as changed_{figure}"
        )
        changed.append(f"not {_same(now, f's.{figure}')}")
    return ",\n    ".join(listed), " or ".join(changed)


def _latest(relation: str) -> str:
    """The latest version of each submitted (scenario, entity, date), joined to the alias `s`."""
    return f"""inner join (
    select latest.scenario, latest.entity_id, latest.as_of_date, max(latest.version) as version
    from {relation} as latest
    group by latest.scenario, latest.entity_id, latest.as_of_date
) as latest
    on s.scenario = latest.scenario and s.entity_id = latest.entity_id
    and s.as_of_date = latest.as_of_date and s.version = latest.version"""


def restatements(marts: Marts, as_of: date | None = None) -> list[dict]:
    """The figures of the latest submitted version of each (scenario, entity, date) that fct_lcr and
    fct_liq1_entity_day no longer give: one row per figure (RESTATEMENT_COLUMNS; `current` and `difference`
    null when fct_lcr has no row any more, metric `row` then; a LIQ1 cell as metric
    `liq1_row_<N>_unweighted` / `liq1_row_<N>_weighted`), ordered by date, entity, scenario, then FIGURES
    order, then LIQ1 row. Compared in the database, exactly; the values come back as floats for display."""
    relation = ensure_table(marts)
    lcr = marts.relation("fct_lcr")
    date_filter = f"and s.as_of_date = {marts.literal(as_of)}" if as_of is not None else ""
    per_figure, changed = _compared(FIGURES, "lcr")
    sql = f"""
select s.entity_id, s.as_of_date, s.scenario, s.version, lcr.entity_id as current_entity_id,
    {per_figure}
from {relation} as s
{_latest(relation)}
left join {lcr} as lcr
    on s.scenario = lcr.scenario and s.entity_id = lcr.entity_id and s.as_of_date = lcr.as_of_date
where (lcr.entity_id is null or {changed}) {date_filter}"""
    liq1_figures, liq1_changed = _compared(LIQ1_FIGURES, "liq1")
    liq1_sql = f"""
select s.entity_id, s.as_of_date, s.scenario, s.version, s.liq1_row,
    {liq1_figures}
from {marts.relation(LIQ1_SUBMISSIONS_TABLE)} as s
{_latest(relation)}
inner join {marts.relation("fct_liq1_entity_day")} as liq1
    on s.scenario = liq1.scenario and s.entity_id = liq1.entity_id and s.as_of_date = liq1.as_of_date
    and s.liq1_row = liq1.liq1_row
where ({liq1_changed}) {date_filter}"""
    key_columns = ("entity_id", "as_of_date", "scenario", "version")
    found: dict[tuple, list[dict]] = {}
    for row in marts.query(sql):
        key = {column: row[column] for column in key_columns}
        differences = found.setdefault(tuple(key.values()), [])
        if row["current_entity_id"] is None:
            differences.append(
                {**key, "metric": "row", "submitted": None, "current": None, "difference": None}
            )
            continue
        differences += _differences(key, row, FIGURES, {figure: figure for figure in FIGURES})
    liq1_rows = sorted(marts.query(liq1_sql), key=lambda row: row["liq1_row"])
    for row in liq1_rows:
        key = {column: row[column] for column in key_columns}
        names = {figure: f"liq1_row_{row['liq1_row']}_{figure.split('_')[0]}" for figure in LIQ1_FIGURES}
        found.setdefault(tuple(key.values()), []).extend(_differences(key, row, LIQ1_FIGURES, names))
    ordered = sorted(found.items(), key=lambda item: (item[0][1], item[0][0], item[0][2]))
    return [difference for _, differences in ordered for difference in differences]


def _differences(key: dict, row: dict, figures: tuple[str, ...], names: dict[str, str]) -> list[dict]:
    return [
        {
            **key,
            "metric": names[figure],
            **{part: row[f"{part}_{figure}"] for part in ("submitted", "current", "difference")},
        }
        for figure in figures
        if row[f"changed_{figure}"]
    ]
