"""`regcalc rules impact`: what the adjustment rules do to the LCR of one as-of date and scenario.

dbt builds the LCR without any rule (var apply_adjustments false) from the same lake into the sibling
schema `<schema>_unadjusted` (var build_schema, macro generate_schema_name), on the same target. One
query then puts side by side, per entity and metric, the unadjusted value, the base scenario's and the
scenario's from fct_lcr, and the change (scenario - unadjusted); a second one reads each rule's status
and what it changed on that date from rpt_adjustment_rule_status.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from regcalc.dbt import invoke_dbt
from regcalc.marts import Marts, read_lcr
from regcalc.progress import Progress
from regcalc.settings import PROJECT_DIR, RegcalcError, Settings

IMPACT_COLUMNS = ("entity_id", "metric", "unadjusted", "base", "scenario", "change")
IMPACT_METRICS = ("hqla", "total_outflows", "total_inflows", "capped_inflows", "net_cash_outflows", "lcr")
RULE_STATUS_COLUMNS = (
    "rule_id",
    "injection_point",
    "rule_scenario",
    "status",
    "changed_values",
    "total_delta",
)


def unadjusted_schema(settings: Settings) -> str:
    """Where the LCR without adjustment rules is built: a sibling of the target schema."""
    return f"{settings.schema}_unadjusted"


def rules_impact(
    settings: Settings,
    as_of: date,
    scenario: str = "base",
    *,
    project_dir: Path = PROJECT_DIR,
    extra_vars: dict | None = None,
    progress: Progress | None = None,
) -> dict:
    """The impact document: {as_of_date, scenario, unadjusted_schema, impact: rows of IMPACT_COLUMNS
    (amounts in the entity's reporting currency, lcr a ratio; per entity, in IMPACT_METRICS order),
    rules: rows of RULE_STATUS_COLUMNS by rule_id}.

    Builds `+fct_lcr` without rules into unadjusted_schema(settings) first (no data tests; the lake
    tables are kept as the last build registered them). `extra_vars` go to that dbt build (e.g. the
    lake_schema of a test). Raises RegcalcError if fct_lcr has no row of the date and scenario."""
    with Marts(settings, project_dir) as marts:
        if not read_lcr(marts, as_of, scenario=scenario):
            raise RegcalcError(f"no LCR for as-of {as_of} in scenario {scenario}: run `regcalc run` first")
    unadjusted = unadjusted_schema(settings)
    progress = progress or Progress()
    with progress.stage(f"dbt build the LCR without adjustment rules into schema {unadjusted}"):
        invoke_dbt(
            ["build", "--select", "+fct_lcr", "--exclude", "resource_type:test", "resource_type:unit_test"],
            settings,
            {"apply_adjustments": False, "build_schema": unadjusted} | (extra_vars or {}),
            project_dir=project_dir,
            progress=progress,
        )
    with Marts(settings, project_dir) as marts:
        impact = marts.query(impact_query(marts, as_of, scenario, unadjusted))
        rules = marts.query(rule_status_query(marts, as_of, scenario))
    return {
        "as_of_date": as_of,
        "scenario": scenario,
        "unadjusted_schema": unadjusted,
        "impact": sorted(impact, key=lambda row: (row["entity_id"], IMPACT_METRICS.index(row["metric"]))),
        "rules": sorted(rules, key=lambda row: row["rule_id"]),
    }


def impact_query(marts: Marts, as_of: date, scenario: str, unadjusted: str) -> str:
    """SQL: per entity of the scenario on the date and per metric, IMPACT_COLUMNS."""
    day, base = marts.literal(as_of), marts.literal("base")
    compared = ",\n        ".join(
        f"unadjusted.{metric} as unadjusted_{metric}, base_lcr.{metric} as base_{metric}, "
        f"scenario_lcr.{metric} as scenario_{metric}"
        for metric in IMPACT_METRICS
    )
    metrics = "\nunion all\n".join(
        f"select compared.entity_id, {marts.literal(metric)} as metric, compared.unadjusted_{metric} as "
        f"unadjusted, compared.base_{metric} as base, compared.scenario_{metric} as scenario, "
        f"compared.scenario_{metric} - compared.unadjusted_{metric} as change\nfrom compared"
        for metric in IMPACT_METRICS
    )
    return f"""with lcr as (
    select * from {marts.relation("fct_lcr")} as lcr where lcr.as_of_date = {day}
),
unadjusted_lcr as (
    select * from {marts.relation("fct_lcr", unadjusted)} as unadjusted_lcr
    where unadjusted_lcr.as_of_date = {day} and unadjusted_lcr.scenario = {base}
),
compared as (
    select
        scenario_lcr.entity_id,
        {compared}
    from lcr as scenario_lcr
    left join lcr as base_lcr
        on base_lcr.entity_id = scenario_lcr.entity_id and base_lcr.scenario = {base}
    left join unadjusted_lcr as unadjusted
        on unadjusted.entity_id = scenario_lcr.entity_id
    where scenario_lcr.scenario = {marts.literal(scenario)}
)
{metrics}"""


def rule_status_query(marts: Marts, as_of: date, scenario: str) -> str:
    """SQL: rpt_adjustment_rule_status of the date and scenario, RULE_STATUS_COLUMNS."""
    columns = ", ".join(f"status.{column}" for column in RULE_STATUS_COLUMNS)
    return (
        f"select {columns}\nfrom {marts.relation('rpt_adjustment_rule_status')} as status\n"
        f"where status.as_of_date = {marts.literal(as_of)} and status.scenario = {marts.literal(scenario)}"
    )
