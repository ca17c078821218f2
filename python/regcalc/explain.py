"""`regcalc explain`: where one reported LCR number comes from.

For one entity, as-of date and scenario it reads the marts dbt built and returns one document:
the metric as fct_lcr holds it; its BCBS 238 formula with the values filled in and which cap bound;
each component of the formula with its categories, its top contributing deals (with their lineage:
classification rule, parameter table, BCBS paragraph) and how the component moved through the
adjustment points (vars.adjustment_points of dbt_project.yml, in their order); and every
adjustment rule that changed a row feeding the metric (fct_adjustment_audit). Nothing is
recomputed from the deals except sums that must reconcile with the marts; the formula's values are
fct_lcr's.

The marts are read with SQL through the target's dbt adapter (regcalc.marts): sums, counts and the
ranking of deals and audit rows run in the database, only their results come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from regcalc.marts import Marts
from regcalc.params import SECTION_RATE_COLUMNS
from regcalc.render import amount as _amount
from regcalc.rules import Point, load_points
from regcalc.settings import RegcalcError


@dataclass(frozen=True)
class Component:
    """A component of the LCR that is a sum over categories and deals (a column of int_lcr_components)."""

    name: str
    description: str
    value_column: str  # the deal / category column summed into it
    lcr_section: str | None = None  # None: every row with a non-zero value_column (the unwind)
    hqla_level: str | None = None

    def condition(self, alias: str, literal: Callable[[str], str]) -> str:
        """SQL: whether a deal or category row `alias` (lcr_section, hqla_level, value_column) feeds it
        (a null is no: the row is left out)."""
        if self.lcr_section is None:
            return f"{alias}.{self.value_column} <> 0"
        condition = f"{alias}.lcr_section = {literal(self.lcr_section)}"
        if self.hqla_level is not None:
            condition += f" and {alias}.hqla_level = {literal(self.hqla_level)}"
        return condition


COMPONENTS = {
    component.name: component
    for component in (
        Component("hqla_level1", "Level 1 assets after haircuts", "weighted_amount", "hqla", "L1"),
        Component("hqla_level2a", "Level 2A assets after haircuts", "weighted_amount", "hqla", "L2A"),
        Component("hqla_level2b", "Level 2B assets after haircuts", "weighted_amount", "hqla", "L2B"),
        Component(
            "unwind_level1", "Level 1 change on unwinding secured transactions <= 30d", "unwind_level1"
        ),
        Component(
            "unwind_level2a", "Level 2A change on unwinding secured transactions <= 30d", "unwind_level2a"
        ),
        Component(
            "unwind_level2b", "Level 2B change on unwinding secured transactions <= 30d", "unwind_level2b"
        ),
        Component("total_outflows", "amount x run-off rate", "weighted_amount", "outflow"),
        Component("total_inflows", "amount x inflow rate, before the 75% cap", "weighted_amount", "inflow"),
    )
}
HQLA_COMPONENTS = tuple(name for name in COMPONENTS if name.startswith(("hqla_", "unwind_")))
FLOW_COMPONENTS = ("total_outflows", "total_inflows")
# metric -> the components its formula sums up, and the formula steps shown
METRICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lcr": (
        HQLA_COMPONENTS + FLOW_COMPONENTS,
        ("adjusted_levels", "adj_15_cap", "adj_40_cap", "hqla", "capped_inflows", "net_cash_outflows", "lcr"),
    ),
    "hqla": (HQLA_COMPONENTS, ("adjusted_levels", "adj_15_cap", "adj_40_cap", "hqla")),
    "adj_15_cap": (HQLA_COMPONENTS, ("adjusted_levels", "adj_15_cap")),
    "adj_40_cap": (HQLA_COMPONENTS, ("adjusted_levels", "adj_15_cap", "adj_40_cap")),
    "net_cash_outflows": (FLOW_COMPONENTS, ("capped_inflows", "net_cash_outflows")),
    "capped_inflows": (FLOW_COMPONENTS, ("capped_inflows",)),
} | {name: ((name,), ("sum",)) for name in COMPONENTS}


def stage_of(point: str) -> str:
    """The stage a component reaches once the rules of adjustment point `point` ran."""
    return f"after_{point}_rules"


LEVELS = (("1", "level1"), ("2A", "level2a"), ("2B", "level2b"))
DEAL_COLUMNS = (
    "deal_id", "category_code", "counterparty_id", "product_type", "currency", "amount",
    "amount_reporting_ccy", *SECTION_RATE_COLUMNS.values(), "weight", "contribution", "classification_rule",
    "parameter_table", "bcbs_paragraph", "adjustment_rule_ids",
)  # fmt: skip
RULE_COLUMNS = ("description", "priority", "author", "approver", "approved_at", "reference")
# a row of fct_adjustment_audit as explain reads it: which rule changed which field of which row, how
AUDIT_ROW_COLUMNS = ("row_key", "value_before", "value_after", "delta")
AUDIT_COLUMNS = ("injection_point", "rule_id", "field", *AUDIT_ROW_COLUMNS, *RULE_COLUMNS)
CATEGORY_COLUMNS = (
    "entity_id",
    "category_code",
    "lcr_section",
    "hqla_level",
    "deal_count",
    "adjustment_rule_ids",
)


def explain(
    marts: Marts,
    entity: str,
    as_of: date,
    scenario: str = "base",
    metric: str = "lcr",
    top: int = 5,
) -> dict:
    """The explanation of `metric` for one entity, as-of date and scenario, as one JSON-ready dict
    (amounts in the entity's reporting currency). Raises RegcalcError if fct_lcr has no such row,
    naming the entities, dates or scenarios it has."""
    if metric not in METRICS:
        raise RegcalcError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    components = [COMPONENTS[name] for name in METRICS[metric][0]]
    reader = _Reader(marts, entity, as_of, scenario, components)
    lcr = reader.lcr_row()
    caps = reader.caps()
    audit = reader.audit(top)
    categories_after = reader.categories(after_rules=True)
    return {
        "entity_id": entity,
        "as_of_date": as_of.isoformat(),
        "scenario": scenario,
        "reporting_currency": lcr["reporting_currency"],
        "metric": metric,
        "value": _reported(lcr, metric),
        "formula": _formula(metric, lcr, caps, categories_after),
        "caps": _caps(metric, lcr, caps),
        "components": reader.components(lcr, audit, categories_after, top),
        "adjustments": audit,
    }


def _reported(lcr: dict, name: str) -> float | None:
    """A value as fct_lcr holds it; the unwind is fct_lcr's adjusted level minus its stock level."""
    if name.startswith("unwind_"):
        level = name.removeprefix("unwind_")
        return _round(lcr[f"adjusted_{level}"] - lcr[f"hqla_{level}"])
    return lcr[name]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class _Reader:
    """The queries of the marts for one entity, as-of date and scenario, for the given components."""

    def __init__(self, marts: Marts, entity: str, as_of: date, scenario: str, components: list[Component]):
        self.marts = marts
        self.points = load_points(marts.project_dir)  # in their DAG order
        self.entity, self.as_of, self.scenario = entity, as_of, scenario
        self.components_explained = components

    def _where(self, alias: str, *, scenario: bool = True) -> str:
        """SQL: the rows of this entity and date (and scenario, if the relation has one)."""
        literal = self.marts.literal
        condition = (
            f"{alias}.entity_id = {literal(self.entity)} and {alias}.as_of_date = {literal(self.as_of)}"
        )
        if scenario:
            condition += f" and {alias}.scenario = {literal(self.scenario)}"
        return condition

    def _rows(self, model: str) -> list[dict]:
        """Every column of the model's rows of this entity, date and scenario."""
        return self.marts.query(
            f"select * from {self.marts.relation(model)} as source where {self._where('source')}"
        )

    def lcr_row(self) -> dict:
        rows = self._rows("fct_lcr")
        if not rows:
            raise RegcalcError(self._not_found())
        return rows[0]

    def _not_found(self) -> str:
        """Which of entity, date and scenario fct_lcr does not hold, and what it holds instead."""
        keys = self.marts.query(
            "select distinct lcr.scenario, lcr.entity_id, lcr.as_of_date "
            f"from {self.marts.relation('fct_lcr')} as lcr"
        )
        keys = [(row["scenario"], row["entity_id"], row["as_of_date"]) for row in keys]

        def listing(values) -> str:
            return ", ".join(sorted({str(value) for value in values})) or "nothing"

        asked = f"entity {self.entity}, as-of {self.as_of}, scenario {self.scenario}"
        if not any(entity == self.entity for _, entity, _ in keys):
            problem = f"entity {self.entity!r} is not in fct_lcr (entities: {listing(k[1] for k in keys)})"
        elif not any(entity == self.entity and day == self.as_of for _, entity, day in keys):
            dates = listing(day for _, entity, day in keys if entity == self.entity)
            problem = f"fct_lcr has no as-of {self.as_of} for entity {self.entity} (dates: {dates})"
        else:
            scenarios = listing(s for s, entity, day in keys if entity == self.entity and day == self.as_of)
            problem = f"scenario {self.scenario!r} is not in fct_lcr for that date (scenarios: {scenarios})"
        return (
            f"nothing to explain for {asked}: {problem}; choose from those, or run "
            "`regcalc run --input DIR` for that date first"
        )

    def caps(self) -> dict[str, dict]:
        """param_lcr_caps by cap_code: the rate and the BCBS paragraph."""
        rows = self.marts.query(
            "select caps.cap_code, caps.cap_value, caps.bcbs_paragraph "
            f"from {self.marts.relation('param_lcr_caps')} as caps"
        )
        return {
            row["cap_code"]: {"value": row["cap_value"], "bcbs_paragraph": row["bcbs_paragraph"]}
            for row in rows
        }

    def _component_names(self) -> str:
        """SQL: a relation `component` with the name of each component explained."""
        literal = self.marts.literal
        return "\n    union all\n    ".join(
            f"select {literal(component.name)} as component" for component in self.components_explained
        )

    def _members(self, model: str, columns: tuple[str, ...], *, scenario: bool = True) -> str:
        """SQL: one row per (row of `model` of this entity, date and scenario, component it feeds):
        `columns`, the `component` and the row's `contribution` to it. One scan of the model."""
        relation, literal = self.marts.relation(model), self.marts.literal
        selected = "".join(f"source.{column}, " for column in columns)
        contribution = " ".join(
            f"when {literal(component.name)} then source.{component.value_column}"
            for component in self.components_explained
        )
        contribution = f"case components.component {contribution} end"
        feeds = "\n    or ".join(
            f"(components.component = {literal(component.name)} and {component.condition('source', literal)})"
            for component in self.components_explained
        )
        return f"""select {selected}components.component, {contribution} as contribution
from {relation} as source
inner join (
    {self._component_names()}
) as components
    on {feeds}
where {self._where("source", scenario=scenario)}"""

    def _deals_after(self) -> str:
        """SQL: the deals of the scenario after the deal rules (fct_deal_liquidity), per component."""
        return self._members("fct_deal_liquidity", tuple(c for c in DEAL_COLUMNS if c != "contribution"))

    def _deals_unadjusted(self) -> str:
        """SQL: the deals before any rule (int_deal_liquidity, the rows arriving at the deal point)."""
        return self._members("int_deal_liquidity", ("deal_id",), scenario=False)

    def categories(self, *, after_rules: bool) -> list[dict]:
        """Category totals per component, after the entity_category rules or before them."""
        if after_rules:
            return self.marts.query(self._members("fct_lcr_category", CATEGORY_COLUMNS))
        return self.marts.query(self._members("int_lcr_category_totals", ("entity_id", "category_code")))

    def top_deals(self, top: int) -> tuple[dict[str, tuple[int, float]], list[dict]]:
        """Per component its deals after the deal rules (count, sum of contributions), and its `top`
        deals by |contribution| (ties by deal_id), in that order."""
        sql = f"""with members as (
{self._deals_after()}
),
ranked as (
    select
        members.*,
        count(*) over (partition by members.component) as component_deals,
        sum(members.contribution) over (partition by members.component) as component_amount,
        row_number() over (
            partition by members.component
            order by abs(members.contribution) desc nulls last, members.deal_id
        ) as ranking
    from members
)
select * from ranked where ranked.ranking <= {top}"""
        rows = sorted(self.marts.query(sql), key=lambda row: (row["component"], row["ranking"]))
        totals = {row["component"]: (row["component_deals"], row["component_amount"]) for row in rows}
        return totals, rows

    def point_totals(self, point: Point) -> dict[str, float | None]:
        """Per component its value after the rules of `point`, from the point's adjusted model: the
        row's own column at an entity's grain, else the sum of the contributions of its rows."""
        if _grain(point) == "entity":
            rows = self._rows(point.adjusted_model)
            return {
                component.name: rows[0][component.name] if rows else None
                for component in self.components_explained
            }
        members = self._members(point.adjusted_model, ())
        rows = self.marts.query(
            "select members.component, sum(members.contribution) as amount\n"
            f"from (\n{members}\n) as members\ngroup by members.component"
        )
        amounts = {row["component"]: row["amount"] for row in rows}
        return {component.name: amounts.get(component.name, 0.0) for component in self.components_explained}

    def unadjusted_totals(self) -> dict[str, tuple[int, float]]:
        """Per component the deals before any rule: count and sum of contributions."""
        rows = self.marts.query(
            "select members.component, count(*) as deals, sum(members.contribution) as amount\n"
            f"from (\n{self._deals_unadjusted()}\n) as members\ngroup by members.component"
        )
        return {row["component"]: (row["deals"], row["amount"]) for row in rows}

    def components(self, lcr: dict, audit: list[dict], categories_after: list[dict], top: int) -> list[dict]:
        """Per component: value, stages through the adjustment points, categories and top deals."""
        after_totals, top_deals = self.top_deals(top)
        unadjusted_totals = self.unadjusted_totals()
        before = {
            (row["component"], row["category_code"]): row["contribution"]
            for row in self.categories(after_rules=False)
        }
        after_points = {point.name: self.point_totals(point) for point in self.points.values()}
        rules_by_stage = _rules_by_stage(audit)
        result = []
        for component in self.components_explained:
            name = component.name
            deal_count, deal_sum = after_totals.get(name, (0, 0.0))
            categories = sorted(
                (row for row in categories_after if row["component"] == name),
                key=lambda row: (-abs(row["contribution"] or 0.0), row["category_code"]),
            )
            listed = [
                {column: row[column] for column in DEAL_COLUMNS}
                for row in top_deals
                if row["component"] == name
            ]
            result.append(
                {
                    "component": name,
                    "description": component.description,
                    "value": _reported(lcr, name),
                    "stages": {"unadjusted": unadjusted_totals.get(name, (0, 0.0))[1]}
                    | {stage_of(point): totals.get(name) for point, totals in after_points.items()},
                    "rules_by_stage": {
                        stage_of(point): rules_by_stage.get((stage_of(point), name), [])
                        for point in self.points
                    },
                    "categories": [
                        {
                            "category_code": row["category_code"],
                            "lcr_section": row["lcr_section"],
                            "hqla_level": row["hqla_level"],
                            "deal_count": row["deal_count"],
                            "amount_before_rules": before.get((name, row["category_code"])),
                            "amount": row["contribution"],
                            "adjustment_rule_ids": row["adjustment_rule_ids"],
                        }
                        for row in categories
                    ],
                    "deal_count": deal_count,
                    "top_deals": listed,
                    "other_deals": {
                        "count": deal_count - len(listed),
                        "amount": deal_sum - sum(deal["contribution"] for deal in listed),
                    },
                }
            )
        return result

    def audit(self, top: int) -> list[dict]:
        """Every rule that changed a row feeding one of the components: per rule and field, the rows
        changed, the sum of the deltas, the components moved and the `top` largest changes
        (fct_adjustment_audit), in the order of the points, then priority, rule_id and field."""
        rule_key = ("injection_point", "rule_id", "field")
        rules: dict[tuple, dict] = {}
        components: dict[tuple, set[str]] = {}
        examples: dict[tuple, dict] = {}
        for row in sorted(self.marts.query(self._audit_sql(top)), key=lambda row: row["ranking"]):
            key = tuple(row[column] for column in rule_key)
            components.setdefault(key, set()).add(row["component"])
            rule = rules.setdefault(
                key,
                {column: row[column] for column in (*rule_key, *RULE_COLUMNS, "rows_changed", "total_delta")}
                | {"components": [], "rows": []},
            )
            if row["ranking"] > top:
                continue  # only there to name a component the rule moved
            example = examples.get((*key, row["row_key"]))
            if example is None:
                example = {column: row[column] for column in AUDIT_ROW_COLUMNS} | {"components": []}
                examples[(*key, row["row_key"])] = example
                rule["rows"].append(example)
            example["components"] = sorted({*example["components"], row["component"]})
        for key, rule in rules.items():
            rule["components"] = sorted(components[key])
        point_order = list(self.points)
        return sorted(
            rules.values(),
            key=lambda rule: (
                point_order.index(rule["injection_point"]),
                rule["priority"],
                rule["rule_id"],
                rule["field"],
            ),
        )

    def _audit_keys(self) -> str:
        """SQL: (injection_point, row_key, component) of every row that feeds a component, before or
        after the rules of each adjustment point, with row_key built as fct_adjustment_audit builds it
        from the point's key."""
        literal, selects = self.marts.literal, []
        for point in self.points.values():
            row_key = _row_key(point, "members", self.marts.string_type)
            for members in self._point_members(point):
                selects.append(
                    f"select {literal(point.name)} as injection_point, {row_key} as row_key, "
                    f"members.component\nfrom (\n{members}\n) as members"
                )
        return "\nunion all\n".join(selects)

    def _point_members(self, point: Point) -> list[str]:
        """SQL: the rows arriving at `point` and leaving it, per component they feed, with the point's
        key columns. A row of an entity's grain feeds every component (the audit's field says which
        one a rule moved)."""
        key = tuple(column for column in point.key if column not in ("scenario", "as_of_date"))
        if _grain(point) != "entity":
            has_scenario = "scenario" in point.fields
            return [
                self._members(point.model, key, scenario=has_scenario),
                self._members(point.adjusted_model, key),
            ]
        selected = "".join(f"source.{column}, " for column in key)
        return [
            f"select {selected}components.component\n"
            f"from {self.marts.relation(point.adjusted_model)} as source\n"
            f"cross join (\n    {self._component_names()}\n) as components\n"
            f"where {self._where('source')}"
        ]

    def _audit_sql(self, top: int) -> str:
        """SQL: the rows of fct_adjustment_audit of this date and scenario that feed a component, once
        per component each feeds, with per rule and field the rows changed, the sum of their deltas and
        the row's `ranking` (|delta| largest first, nulls last; ties by row_key). Returned: the rows
        ranked up to `top`, and per rule and component its first row, so every component a rule moved
        is named."""
        literal = self.marts.literal
        rule_key = "changed.injection_point, changed.rule_id, changed.field"
        entity_points = ", ".join(
            literal(name) for name, point in self.points.items() if _grain(point) == "entity"
        )
        entity_points = entity_points or literal("")  # `not in ()` is no SQL
        return f"""with feeding_keys as (
{self._audit_keys()}
),
audit_rows as (
    select * from {self.marts.relation("fct_adjustment_audit")} as audit_rows
    where audit_rows.scenario = {literal(self.scenario)} and audit_rows.as_of_date = {literal(self.as_of)}
),
matched as (
    select distinct {", ".join(f"audit_rows.{column}" for column in AUDIT_COLUMNS)}, feeding_keys.component
    from audit_rows
    inner join feeding_keys
        on audit_rows.injection_point = feeding_keys.injection_point
        and audit_rows.row_key = feeding_keys.row_key
    -- a row of an entity's grain is the whole entity: only the changed component is moved
    where audit_rows.injection_point not in ({entity_points})
        or audit_rows.field = feeding_keys.component
),
changed as (
    select distinct {", ".join(f"matched.{column}" for column in AUDIT_COLUMNS)} from matched
),
ranked as (
    select
        changed.*,
        count(*) over (partition by {rule_key}) as rows_changed,
        sum(changed.delta) over (partition by {rule_key}) as total_delta,
        row_number() over (
            partition by {rule_key} order by abs(changed.delta) desc nulls last, changed.row_key
        ) as ranking
    from changed
),
labelled as (
    select
        ranked.*,
        matched.component,
        row_number() over (
            partition by matched.injection_point, matched.rule_id, matched.field, matched.component
            order by ranked.ranking
        ) as component_ranking
    from ranked
    inner join matched
        on ranked.injection_point = matched.injection_point
        and ranked.rule_id = matched.rule_id
        and ranked.field = matched.field
        and ranked.row_key = matched.row_key
)
select * from labelled where labelled.ranking <= {top} or labelled.component_ranking = 1"""


def _grain(point: Point) -> str:
    """deal | category | entity: what one row of the point's model is, read from its key."""
    if "deal_id" in point.key:
        return "deal"
    return "category" if "category_code" in point.key else "entity"


def _row_key(point: Point, alias: str, string_type: str) -> str:
    """SQL: fct_adjustment_audit's row_key, the point's key without scenario and as-of date as text,
    '|'-joined."""
    columns = [column for column in point.key if column not in ("scenario", "as_of_date")]
    return " || '|' || ".join(f"cast({alias}.{column} as {string_type})" for column in columns)


def _rules_by_stage(audit: list[dict]) -> dict[tuple[str, str], list[str]]:
    """(stage, component) -> the rule ids whose changes moved the component into that stage."""
    found: dict[tuple[str, str], list[str]] = {}
    for rule in audit:
        for component in rule["components"]:
            ids = found.setdefault((stage_of(rule["injection_point"]), component), [])
            if rule["rule_id"] not in ids:
                ids.append(rule["rule_id"])
    return found


# ------------------------------------------------------------------------------------------------
# The formula (BCBS 238 Annex 1, para 69) with fct_lcr's values
# ------------------------------------------------------------------------------------------------
def _fraction(numerator: float, denominator: float) -> str:
    """A cap fraction as the regulation writes it, e.g. 15/85 from the cap rates 0.15 and 0.85."""
    return f"{numerator * 100:g}/{denominator * 100:g}"


def _cap_rates(caps: dict[str, dict]) -> tuple[float, float, float]:
    return caps["L2B_CAP"]["value"], caps["L2_CAP"]["value"], caps["INFLOW_CAP"]["value"]


def _formula(metric: str, lcr: dict, caps: dict, categories: list[dict]) -> list[dict]:
    """The formula steps of the metric, each with its values filled in from fct_lcr."""
    l2b_cap, l2_cap, inflow_cap = _cap_rates(caps)
    a1, a2a, a2b = lcr["adjusted_level1"], lcr["adjusted_level2a"], lcr["adjusted_level2b"]
    f15a, f15b, f40 = (
        _fraction(l2b_cap, 1 - l2b_cap),
        _fraction(l2b_cap, 1 - l2_cap),
        _fraction(l2_cap, 1 - l2_cap),
    )
    steps = []
    for step in METRICS[metric][1]:
        if step == "adjusted_levels":
            for label, level in LEVELS:
                stock, adjusted = lcr[f"hqla_{level}"], lcr[f"adjusted_{level}"]
                steps.append(
                    {
                        "name": f"adjusted_{level}",
                        "formula": f"hqla_{level} + unwind_{level}",
                        "with_values": f"{_amount(stock)} + {_amount(adjusted - stock)}",
                        "value": adjusted,
                        "note": f"Level {label} after the unwind of secured transactions <= 30d (para 48)",
                    }
                )
        elif step == "adj_15_cap":
            by_level_1_2a = l2b_cap / (1 - l2b_cap) * (a1 + a2a)
            by_level_1 = l2b_cap / (1 - l2_cap) * a1
            steps.append(
                {
                    "name": "adj_15_cap",
                    "formula": f"max(adjusted_level2b - {f15a} x (adjusted_level1 + adjusted_level2a), "
                    f"adjusted_level2b - {f15b} x adjusted_level1, 0)",
                    "with_values": f"max({_amount(a2b)} - {_amount(by_level_1_2a)}, {_amount(a2b)} - "
                    f"{_amount(by_level_1)}, 0)",
                    "value": lcr["adj_15_cap"],
                    "note": "Annex 1 para 6: Level 2B above 15% of HQLA",
                }
            )
        elif step == "adj_40_cap":
            steps.append(
                {
                    "name": "adj_40_cap",
                    "formula": "max(adjusted_level2a + adjusted_level2b - adj_15_cap - "
                    f"{f40} x adjusted_level1, 0)",
                    "with_values": f"max({_amount(a2a)} + {_amount(a2b)} - {_amount(lcr['adj_15_cap'])} - "
                    f"{_amount(l2_cap / (1 - l2_cap) * a1)}, 0)",
                    "value": lcr["adj_40_cap"],
                    "note": "Annex 1 para 6: Level 2 above 40% of HQLA",
                }
            )
        elif step == "hqla":
            terms = [
                lcr[name]
                for name in ("hqla_level1", "hqla_level2a", "hqla_level2b", "adj_15_cap", "adj_40_cap")
            ]
            steps.append(
                {
                    "name": "hqla",
                    "formula": "hqla_level1 + hqla_level2a + hqla_level2b - adj_15_cap - adj_40_cap",
                    "with_values": " + ".join(_amount(value) for value in terms[:3])
                    + "".join(f" - {_amount(value)}" for value in terms[3:]),
                    "value": lcr["hqla"],
                    "note": "Annex 1: the stock levels less the cap adjustments",
                }
            )
        elif step == "capped_inflows":
            outflows, inflows = lcr["total_outflows"], lcr["total_inflows"]
            steps.append(
                {
                    "name": "capped_inflows",
                    "formula": f"min(total_inflows, {inflow_cap * 100:g}% x total_outflows)",
                    "with_values": f"min({_amount(inflows)}, {_amount(inflow_cap * outflows)})",
                    "value": lcr["capped_inflows"],
                    "note": "para 69 and 144: inflows offset at most 75% of outflows",
                }
            )
        elif step == "net_cash_outflows":
            steps.append(
                {
                    "name": "net_cash_outflows",
                    "formula": "total_outflows - capped_inflows",
                    "with_values": f"{_amount(lcr['total_outflows'])} - {_amount(lcr['capped_inflows'])}",
                    "value": lcr["net_cash_outflows"],
                    "note": "para 69",
                }
            )
        elif step == "lcr":
            steps.append(
                {
                    "name": "lcr",
                    "formula": "hqla / net_cash_outflows",
                    "with_values": f"{_amount(lcr['hqla'])} / {_amount(lcr['net_cash_outflows'])}",
                    "value": lcr["lcr"],
                    "note": "para 22 (n/a when net cash outflows are 0)",
                }
            )
        else:  # a single component: the sum of its categories
            rows = sorted(
                (row for row in categories if row["component"] == metric),
                key=lambda row: row["category_code"],
            )
            steps.append(
                {
                    "name": metric,
                    "formula": f"sum of {COMPONENTS[metric].value_column} over its categories, then the "
                    "lcr_components rules",
                    "with_values": " + ".join(
                        f"{_amount(row['contribution'])} ({row['category_code']})" for row in rows
                    )
                    or "0 (no category)",
                    "value": _reported(lcr, metric),
                    "note": COMPONENTS[metric].description,
                }
            )
    return steps


def _caps(metric: str, lcr: dict, caps: dict) -> list[dict]:
    """Which of the caps bound (fct_lcr's flags), for the caps the metric's formula contains."""
    steps = METRICS[metric][1]
    l2b_cap, l2_cap, inflow_cap = _cap_rates(caps)
    result = []
    if "adj_15_cap" in steps:
        a1, a2a, a2b = lcr["adjusted_level1"], lcr["adjusted_level2a"], lcr["adjusted_level2b"]
        by_level_1_2a = a2b - l2b_cap / (1 - l2b_cap) * (a1 + a2a)
        by_level_1 = a2b - l2b_cap / (1 - l2_cap) * a1
        term = f"{_fraction(l2b_cap, 1 - l2b_cap)} x (adjusted_level1 + adjusted_level2a)"
        if by_level_1 > by_level_1_2a:
            term = f"{_fraction(l2b_cap, 1 - l2_cap)} x adjusted_level1"
        result.append(
            {
                "cap": "L2B_CAP",
                "name": f"Level 2B {l2b_cap * 100:g}% cap",
                "binds": lcr["l2b_cap_binds"],
                "adjustment": lcr["adj_15_cap"],
                "binding_term": term if lcr["l2b_cap_binds"] else None,
                "bcbs_paragraph": caps["L2B_CAP"]["bcbs_paragraph"],
            }
        )
    if "adj_40_cap" in steps:
        result.append(
            {
                "cap": "L2_CAP",
                "name": f"Level 2 {l2_cap * 100:g}% cap",
                "binds": lcr["l2_cap_binds"],
                "adjustment": lcr["adj_40_cap"],
                "binding_term": None,
                "bcbs_paragraph": caps["L2_CAP"]["bcbs_paragraph"],
            }
        )
    if "capped_inflows" in steps:
        result.append(
            {
                "cap": "INFLOW_CAP",
                "name": f"{inflow_cap * 100:g}% inflow cap",
                "binds": lcr["inflow_cap_binds"],
                "adjustment": _round(lcr["total_inflows"] - lcr["capped_inflows"]),
                "binding_term": None,
                "bcbs_paragraph": caps["INFLOW_CAP"]["bcbs_paragraph"],
            }
        )
    return result
