"""`regcalc explain`: where one reported LCR number comes from.

For one entity, as-of date and scenario it reads the marts dbt built and returns one document:
the metric as fct_lcr holds it; its BCBS 238 formula with the values filled in and which cap bound;
each component of the formula with its categories, its top contributing deals (with their lineage:
classification rule, parameter table, BCBS paragraph) and how the component moved through the three
adjustment points; and every adjustment rule that changed a row feeding the metric
(fct_adjustment_audit). Nothing is recomputed from the deals except sums that must reconcile with
the marts; the formula's values are fct_lcr's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

import yaml
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from regcalc.settings import PROJECT_DIR, RegcalcError, Settings


@dataclass(frozen=True)
class Component:
    """A component of the LCR that is a sum over categories and deals (a column of int_lcr_components)."""

    name: str
    description: str
    value_column: str  # the deal / category column summed into it
    lcr_section: str | None = None  # None: every row with a non-zero value_column (the unwind)
    hqla_level: str | None = None

    def membership(self) -> Column:
        """Whether a deal or category row (with lcr_section, hqla_level, value_column) feeds it."""
        if self.lcr_section is None:
            return F.coalesce(F.col(self.value_column) != 0, F.lit(False))
        condition = F.col("lcr_section") == self.lcr_section
        if self.hqla_level is not None:
            condition = condition & (F.col("hqla_level") == self.hqla_level)
        return F.coalesce(condition, F.lit(False))


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

STAGES = ("unadjusted", "after_deal_rules", "after_entity_category_rules", "after_lcr_components_rules")
# The adjustment point whose rules move a component from the previous stage to this one.
STAGE_POINTS = {
    "after_deal_rules": "deal",
    "after_entity_category_rules": "entity_category",
    "after_lcr_components_rules": "lcr_components",
}
LEVELS = (("1", "level1"), ("2A", "level2a"), ("2B", "level2b"))
DEAL_COLUMNS = (
    "deal_id", "category_code", "counterparty_id", "product_type", "currency", "amount", "amount_rep",
    "rate", "weight", "contribution", "classification_rule", "parameter_table", "bcbs_paragraph",
    "adjustment_rule_ids",
)  # fmt: skip
RULE_COLUMNS = ("description", "priority", "author", "approver", "approved_at", "reference")


def explain(
    spark: SparkSession,
    settings: Settings,
    entity: str,
    as_of: date,
    scenario: str = "base",
    metric: str = "lcr",
    top: int = 5,
) -> dict:
    """The explanation of `metric` for one entity, as-of date and scenario, as one JSON-ready dict."""
    if metric not in METRICS:
        raise RegcalcError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    components = [COMPONENTS[name] for name in METRICS[metric][0]]
    marts = _Marts(spark, settings.schema, entity, as_of, scenario, components)
    lcr = marts.lcr_row()
    try:
        caps = marts.caps()
        audit = marts.audit(top)
        return {
            "entity_id": entity,
            "as_of_date": as_of.isoformat(),
            "scenario": scenario,
            "reporting_currency": lcr["reporting_currency"],
            "metric": metric,
            "value": _reported(lcr, metric),
            "formula": _formula(metric, lcr, caps, marts.categories_after),
            "caps": _caps(metric, lcr, caps),
            "components": marts.components(lcr, audit, top),
            "adjustments": audit,
        }
    finally:
        marts.release()


def _reported(lcr: dict, name: str) -> float | None:
    """A value as fct_lcr holds it; the unwind is fct_lcr's adjusted level minus its stock level."""
    if name.startswith("unwind_"):
        level = name.removeprefix("unwind_")
        return _round(lcr[f"adjusted_{level}"] - lcr[f"hqla_{level}"])
    return lcr[name]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class _Marts:
    """Reads of the marts for one entity, as-of date and scenario, for the given components."""

    def __init__(
        self,
        spark: SparkSession,
        schema: str,
        entity: str,
        as_of: date,
        scenario: str,
        components: list[Component],
    ):
        self.spark, self.schema = spark, schema
        self.entity, self.as_of, self.scenario = entity, as_of, scenario
        self.components_explained = components
        self._cached: list[DataFrame] = []

    def table(self, name: str, *, scenario: bool = True) -> DataFrame:
        """The table's rows of this entity and date (and scenario, if the table has one)."""
        frame = self.spark.table(f"{self.schema}.{name}")
        condition = (F.col("entity_id") == F.lit(self.entity)) & (F.col("as_of_date") == F.lit(self.as_of))
        if scenario:
            condition = condition & (F.col("scenario") == F.lit(self.scenario))
        return frame.where(condition)

    def lcr_row(self) -> dict:
        table = f"{self.schema}.fct_lcr"
        if not self.spark.catalog.tableExists(table):
            raise RegcalcError(f"no LCR in schema {self.schema} yet: run `regcalc run --input DIR` first")
        rows = self.table("fct_lcr").collect()
        if not rows:
            raise RegcalcError(self._not_found())
        return _plain_row(rows[0])

    def _not_found(self) -> str:
        """Which of entity, date and scenario fct_lcr does not hold, and what it holds instead."""
        keys = self.spark.table(f"{self.schema}.fct_lcr").select("scenario", "entity_id", "as_of_date")
        keys = [tuple(row) for row in keys.distinct().collect()]

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
        rows = self.spark.table(f"{self.schema}.param_lcr_caps").collect()
        return {
            row["cap_code"]: {"value": _plain(row["cap_value"]), "bcbs_paragraph": row["bcbs_paragraph"]}
            for row in rows
        }

    def _members(self, frame: DataFrame) -> DataFrame:
        """One row per (row of `frame`, component it feeds) with its `contribution` to the component."""
        entries = [
            F.when(
                component.membership(),
                F.struct(
                    F.lit(component.name).alias("component"),
                    F.col(component.value_column).cast("double").alias("contribution"),
                ),
            )
            for component in self.components_explained
        ]
        exploded = frame.select("*", F.explode(F.array(*entries)).alias("member"))
        return exploded.where(F.col("member").isNotNull()).select("*", "member.*").drop("member")

    def _cache(self, frame: DataFrame) -> DataFrame:
        # read several times (totals, top deals, audit keys): computed once from the views
        self._cached.append(frame.cache())
        return frame

    def release(self) -> None:
        for frame in self._cached:
            frame.unpersist()

    @cached_property
    def deals_after(self) -> DataFrame:
        """The deals of the scenario after the deal rules (fct_deal_liquidity), per component."""
        columns = [column for column in DEAL_COLUMNS if column != "contribution"]
        frame = self._members(self.table("fct_deal_liquidity")).select(*columns, "component", "contribution")
        return self._cache(frame)

    @cached_property
    def deals_unadjusted(self) -> DataFrame:
        """The deals before any rule (int_deal_liquidity, the rows arriving at the deal point)."""
        frame = self._members(self.table("int_deal_liquidity", scenario=False))
        return self._cache(frame.select("deal_id", "component", "contribution"))

    @cached_property
    def categories_after(self) -> list[dict]:
        """Category totals after the entity_category rules, per component."""
        frame = self._members(self.table("int_lcr_category_totals__adjusted"))
        return [_plain_row(row) for row in frame.collect()]

    @cached_property
    def categories_before(self) -> list[dict]:
        """Category totals before the entity_category rules, per component."""
        return [_plain_row(row) for row in self._members(self.table("int_lcr_category_totals")).collect()]

    def components(self, lcr: dict, audit: list[dict], top: int) -> list[dict]:
        """Per component: value, stages through the adjustment points, categories and top deals."""
        after_totals = _totals(self.deals_after)
        unadjusted_totals = _totals(self.deals_unadjusted)
        rank = Window.partitionBy("component").orderBy(F.abs("contribution").desc(), F.col("deal_id"))
        top_deals = (
            self.deals_after.withColumn("rank", F.row_number().over(rank))
            .where(F.col("rank") <= top)
            .orderBy("component", "rank")
            .collect()
        )
        before = {
            (row["component"], row["category_code"]): row["contribution"] for row in self.categories_before
        }
        before_rules = [_plain_row(row) for row in self.table("int_lcr_components").collect()]
        after_rules = [_plain_row(row) for row in self.table("int_lcr_components__adjusted").collect()]
        rules_by_stage = _rules_by_stage(audit)
        result = []
        for component in self.components_explained:
            name = component.name
            deal_count, deal_sum = after_totals.get(name, (0, 0.0))
            categories = sorted(
                (row for row in self.categories_after if row["component"] == name),
                key=lambda row: (-abs(row["contribution"] or 0.0), row["category_code"]),
            )
            listed = [_deal(row) for row in top_deals if row["component"] == name]
            result.append(
                {
                    "component": name,
                    "description": component.description,
                    "value": _reported(lcr, name),
                    "stages": {
                        "unadjusted": unadjusted_totals.get(name, (0, 0.0))[1],
                        "after_deal_rules": deal_sum,
                        # the marts' own sums from here on (the categories listed add up to the first)
                        "after_entity_category_rules": before_rules[0][name] if before_rules else None,
                        "after_lcr_components_rules": after_rules[0][name] if after_rules else None,
                    },
                    "rules_by_stage": {stage: rules_by_stage.get((stage, name), []) for stage in STAGES[1:]},
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
        changed, the sum of the deltas and the `top` largest changes (fct_adjustment_audit)."""
        audit = self.spark.table(f"{self.schema}.fct_adjustment_audit").where(
            (F.col("scenario") == F.lit(self.scenario)) & (F.col("as_of_date") == F.lit(self.as_of))
        )
        relevant = (
            audit.join(self._audit_keys(), ["injection_point", "row_key"])
            # the lcr_components row is the whole entity: only the changed component is moved
            .where((F.col("injection_point") != "lcr_components") | (F.col("field") == F.col("component")))
            .groupBy(
                "injection_point",
                "rule_id",
                "field",
                "row_key",
                "value_before",
                "value_after",
                "delta",
                *RULE_COLUMNS,
            )  # fmt: skip
            .agg(F.array_sort(F.collect_set("component")).alias("components"))
        )
        relevant = self._cache(relevant)
        rule_key = ["injection_point", "rule_id", "field"]
        summaries = (
            relevant.groupBy(*rule_key, *RULE_COLUMNS)
            .agg(
                F.count(F.lit(1)).alias("rows_changed"),
                F.sum("delta").alias("total_delta"),
                F.array_sort(F.array_distinct(F.flatten(F.collect_list("components")))).alias("components"),
            )
            .collect()
        )
        largest = Window.partitionBy(*rule_key).orderBy(F.abs("delta").desc_nulls_last(), F.col("row_key"))
        examples = (
            relevant.withColumn("rank", F.row_number().over(largest))
            .where(F.col("rank") <= top)
            .orderBy("rank")
            .collect()
        )
        point_order = list(_adjustment_points())
        result = []
        for summary in sorted(
            summaries,
            key=lambda row: (
                point_order.index(row["injection_point"]),
                row["priority"],
                row["rule_id"],
                row["field"],
            ),
        ):
            rule = _plain_row(summary)
            rule["rows"] = [
                {
                    column: _plain(row[column])
                    for column in ("row_key", "value_before", "value_after", "delta", "components")
                }
                for row in examples
                if tuple(row[column] for column in rule_key) == tuple(rule[column] for column in rule_key)
            ]
            result.append(rule)
        return result

    def _audit_keys(self) -> DataFrame:
        """(injection_point, row_key, component) of every row that feeds a component, before or after
        the rules, with row_key built as fct_adjustment_audit builds it from the point's key."""
        points = _adjustment_points()

        def keyed(frame: DataFrame, point: str) -> DataFrame:
            return frame.select(
                F.lit(point).alias("injection_point"), _row_key(points[point]).alias("row_key"), "component"
            )

        # entity_category and lcr_components rows: few, known here already
        entity_rows = [
            {"entity_id": self.entity, "category_code": row["category_code"], "component": row["component"]}
            for row in self.categories_before + self.categories_after
        ]
        category_keys = keyed(self.spark.createDataFrame(entity_rows, _ENTITY_ROW_SCHEMA), "entity_category")
        component_rows = [
            {"entity_id": self.entity, "category_code": None, "component": component.name}
            for component in self.components_explained
        ]
        component_keys = keyed(
            self.spark.createDataFrame(component_rows, _ENTITY_ROW_SCHEMA), "lcr_components"
        )
        deal_keys = keyed(self.deals_after, "deal").unionByName(keyed(self.deals_unadjusted, "deal"))
        return deal_keys.unionByName(category_keys).unionByName(component_keys).distinct()


_ENTITY_ROW_SCHEMA = "entity_id string, category_code string, component string"


def _totals(members: DataFrame) -> dict[str, tuple[int, float]]:
    rows = members.groupBy("component").agg(
        F.count(F.lit(1)).alias("rows"), F.sum("contribution").alias("amount")
    )
    return {row["component"]: (row["rows"], row["amount"]) for row in rows.collect()}


def _deal(row) -> dict:
    return {column: _plain(row[column]) for column in DEAL_COLUMNS}


def _plain(value):
    """A decimal of the marts as a float. explain shows amounts to the cent and only subtracts them for
    display; the exact values are the marts' (README "What is exact")."""
    return float(value) if isinstance(value, Decimal) else value


def _plain_row(row) -> dict:
    return {column: _plain(value) for column, value in row.asDict().items()}


def _adjustment_points() -> dict[str, dict]:
    """vars.adjustment_points of dbt_project.yml: the points in their DAG order, with their key."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return project["vars"]["adjustment_points"]


def _row_key(point: dict) -> Column:
    """fct_adjustment_audit's row_key: the point's key without scenario and as-of date, '|'-joined."""
    columns = [column for column in point["key"] if column not in ("scenario", "as_of_date")]
    return F.concat_ws("|", *[F.col(column).cast("string") for column in columns])


def _rules_by_stage(audit: list[dict]) -> dict[tuple[str, str], list[str]]:
    """(stage, component) -> the rule ids whose changes moved the component into that stage."""
    stage_of_point = {point: stage for stage, point in STAGE_POINTS.items()}
    found: dict[tuple[str, str], list[str]] = {}
    for rule in audit:
        for component in rule["components"]:
            ids = found.setdefault((stage_of_point[rule["injection_point"]], component), [])
            if rule["rule_id"] not in ids:
                ids.append(rule["rule_id"])
    return found


# ------------------------------------------------------------------------------------------------
# The formula (BCBS 238 Annex 1, para 69) with fct_lcr's values
# ------------------------------------------------------------------------------------------------
def _fraction(numerator: float, denominator: float) -> str:
    """A cap fraction as the regulation writes it, e.g. 15/85 from the cap rates 0.15 and 0.85."""
    return f"{numerator * 100:g}/{denominator * 100:g}"


def _amount(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


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


def to_json(document: dict) -> str:
    return json.dumps(document, indent=2, default=lambda value: value.isoformat())


# ------------------------------------------------------------------------------------------------
# Text rendering
# ------------------------------------------------------------------------------------------------
def _factor(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _audit_value(row: dict, column: str) -> str | None:
    """The audit keeps values as text (e.g. 1.5E9); numbers (rows with a delta) shown readably."""
    value = row[column]
    if value is None or row["delta"] is None:
        return value
    return _number(float(value))


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:g}"


def render_text(document: dict, top: int) -> str:
    from regcalc.cli import format_rows

    value = document["value"]
    shown = "n/a" if value is None else (f"{value:.6f}" if document["metric"] == "lcr" else _amount(value))
    lines = [
        f"{document['metric']} of {document['entity_id']} on {document['as_of_date']}, scenario "
        f"{document['scenario']}: {shown}  (fct_lcr; amounts in {document['reporting_currency']})",
        "",
        "Formula (BCBS 238)",
    ]
    width = max(len(step["name"]) for step in document["formula"])
    for step in document["formula"]:
        result = step["value"]
        result_text = f"{result:.6f}" if step["name"] == "lcr" and result is not None else _amount(result)
        lines.append(f"  {step['name']:<{width}} = {step['formula']}")
        lines.append(f"  {'':<{width}} = {step['with_values']} = {result_text}    [{step['note']}]")
    if document["caps"]:
        lines += ["", "Caps"]
        for cap in document["caps"]:
            verdict = "BINDS" if cap["binds"] else "does not bind"
            detail = f"reduces by {_amount(cap['adjustment'])}" if cap["binds"] else ""
            if cap["binding_term"]:
                detail += f" (binding term: {cap['binding_term']})"
            lines.append(f"  {cap['name']}: {verdict} {detail}".rstrip() + f"    [{cap['bcbs_paragraph']}]")
    lines += ["", "Components"]
    for component in document["components"]:
        lines.append(
            f"  {component['component']} = {_amount(component['value'])}  ({component['description']}; "
            f"{component['deal_count']} deals)"
        )
        stages = component["stages"]
        moves = [f"unadjusted {_amount(stages['unadjusted'])}"]
        for stage in STAGES[1:]:
            rules = component["rules_by_stage"][stage]
            moves.append(
                f"{stage.replace('_', ' ')} {_amount(stages[stage])}"
                + (f" ({', '.join(rules)})" if rules else "")
            )
        lines.append("    " + " -> ".join(moves))
        categories = [
            {
                "category_code": row["category_code"],
                "deals": row["deal_count"],
                "before_rules": row["amount_before_rules"],
                "amount": row["amount"],
                "rules": row["adjustment_rule_ids"],
            }
            for row in component["categories"]
        ]
        if categories:
            # the largest `top` categories here; the JSON lists all of them
            lines.append(f"    top {min(top, len(categories))} categories of {len(categories)}:")
            columns = ("category_code", "deals", "before_rules", "amount", "rules")
            table = format_rows(categories[:top], columns, "table")
            lines += ["      " + line for line in table.splitlines()]
            if len(categories) > top:
                rest = sum(row["amount"] or 0.0 for row in categories[top:])
                lines.append(f"      other {len(categories) - top} categories: {_amount(rest)}")
        if component["top_deals"]:
            lines.append(
                f"    top {min(top, len(component['top_deals']))} deals of {component['deal_count']}:"
            )
            deals = [
                deal | {"rate": _factor(deal["rate"]), "weight": _factor(deal["weight"])}
                for deal in component["top_deals"]
            ]
            table = format_rows(deals, DEAL_COLUMNS, "table")
            lines += ["      " + line for line in table.splitlines()]
            others = component["other_deals"]
            if others["count"]:
                lines.append(f"      other {others['count']} deals: {_amount(others['amount'])}")
        lines.append("")
    scenario = document["scenario"]
    lines.append(f"Adjustment rules that changed rows feeding it (fct_adjustment_audit, scenario {scenario})")
    if not document["adjustments"]:
        lines.append("  none")
    for rule in document["adjustments"]:
        delta = "" if rule["total_delta"] is None else f", sum of deltas {rule['total_delta']:,.4f}"
        lines.append(
            f"  [{rule['injection_point']}] {rule['rule_id']} (priority {rule['priority']}): {rule['field']} "
            f"changed on {rule['rows_changed']} row(s){delta}; moves {', '.join(rule['components'])}"
        )
        lines.append(
            f"    {rule['description']}  (author {rule['author']}, approved by {rule['approver']} on "
            f"{rule['approved_at']}, ref {rule['reference']})"
        )
        rows = [
            row
            | {column: _audit_value(row, column) for column in ("value_before", "value_after")}
            | {"delta": _number(row["delta"])}
            for row in rule["rows"]
        ]
        table = format_rows(rows, ("row_key", "value_before", "value_after", "delta"), "table")
        lines += ["    " + line for line in table.splitlines()]
        if rule["rows_changed"] > len(rule["rows"]):
            lines.append(f"    ... {rule['rows_changed'] - len(rule['rows'])} more row(s)")
    return "\n".join(line.rstrip() for line in lines)
