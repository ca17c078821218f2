"""Classify: Basel classification of every deal into one LCR category and its weight.

The ordered first-match rules of seeds/regulatory/lcr_classification_rules.csv become one CASE
expression, evaluated on every combination of the attributes the rules test; deals then take
their rule, category and parameter row (haircut, run-off or inflow rate, weight, BCBS paragraph)
from that small table by a broadcast join, so each deal row carries the lineage of how it was
classified.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc import contract
from regcalc.decimals import RATE
from regcalc.jobs.ingest import add_reject_checks
from regcalc.params import (
    MATURITY_BUCKETS,
    RULE_BOOLEAN_COLUMNS,
    SECTION_RATE_COLUMNS,
    Category,
    ClassificationRule,
    Parameters,
)


def _rule_condition(rule: ClassificationRule) -> Column:
    condition = F.lit(True)
    for column, values in rule.conditions.items():
        if column in RULE_BOOLEAN_COLUMNS:
            accepted = [value == "true" for value in values]
            test = F.coalesce(F.col(column), F.lit(False)).isin(*accepted)
        else:
            test = F.col(column).isin(*values)
        condition = condition & test
    return condition


def classification_rule(params: Parameters) -> Column:
    """The rule_order of the first matching rule, or null when no rule matches."""
    expression: Column = F.lit(None).cast("int")
    for rule in reversed(params.rules):
        expression = F.when(_rule_condition(rule), F.lit(rule.rule_order)).otherwise(expression)
    return expression


_KEY_NULL = "-"  # stands for a null attribute in the join key (null never equals null)
_FLAG_COLUMNS = RULE_BOOLEAN_COLUMNS


def _flag_bits(columns: dict[str, Column]) -> Column:
    """The five yes/no attributes of a deal as one small integer (a join key)."""
    bits: Column = F.lit(0)
    for position, column in enumerate(_FLAG_COLUMNS):
        bits = bits + F.when(F.coalesce(columns[column], F.lit(False)), F.lit(1 << position)).otherwise(
            F.lit(0)
        )
    return bits


def _element(values: tuple, index: Column) -> Column:
    return F.element_at(F.array(*[F.lit(value) for value in values]), index + 1)


def _lookup(mapping: dict, key: Column) -> Column:
    return F.element_at(F.create_map(*[F.lit(item) for pair in mapping.items() for item in pair]), key)


def _parameter(categories: dict[int, Category], name: str, rule: Column) -> Column:
    """The rate-type field `name` of the rule's category; null for a category without it."""
    values = {order: getattr(c, name) for order, c in categories.items() if getattr(c, name) is not None}
    return _lookup(values, rule).cast(RATE.sql).alias(name)


def classification_table(spark: SparkSession, params: Parameters) -> DataFrame:
    """Every combination of the attributes a rule can test, with its category and parameter row.

    Deals take their classification from this table by a broadcast join: the rules' CASE
    expression is evaluated once per combination (about 63,000), not once per deal. The table is
    built from one `range` (no Python-side rows) so building it costs a fraction of a second.
    """
    dimensions = (
        ("product_type", contract.CLASSIFIED_PRODUCT_TYPES),
        ("counterparty_type", contract.COUNTERPARTY_TYPES),
        ("hqla_class", (*contract.HQLA_CLASSES, None)),
        ("maturity_bucket", MATURITY_BUCKETS),
        ("_flag_bits", tuple(range(1 << len(_FLAG_COLUMNS)))),
    )
    size = 1
    for _, items in dimensions:
        size *= len(items)
    columns, stride = {}, 1
    for name, items in dimensions:
        columns[name] = _element(items, ((F.col("id") / stride).cast("long") % len(items)).cast("int"))
        stride *= len(items)
    combinations = spark.range(size).select(*[column.alias(name) for name, column in columns.items()])
    flags = {
        column: (F.col("_flag_bits").bitwiseAND(F.lit(1 << position)) != 0)
        for position, column in enumerate(_FLAG_COLUMNS)
    }
    classified = combinations.withColumns(flags).withColumn(
        "classification_rule", classification_rule(params)
    )
    categories = {rule.rule_order: params.categories[rule.category_code] for rule in params.rules}
    rule = F.col("classification_rule")
    return classified.where(rule.isNotNull()).select(
        "product_type",
        "counterparty_type",
        F.coalesce(F.col("hqla_class"), F.lit(_KEY_NULL)).alias("_hqla_key"),
        "maturity_bucket",
        "_flag_bits",
        "classification_rule",
        _lookup({order: c.code for order, c in categories.items()}, rule).alias("category_code"),
        _lookup({order: c.section for order, c in categories.items()}, rule).alias("lcr_section"),
        _lookup({order: c.hqla_level for order, c in categories.items() if c.hqla_level}, rule).alias(
            "hqla_level"
        ),
        *[_parameter(categories, name, rule) for name in (*SECTION_RATE_COLUMNS.values(), "weight")],
        _lookup({order: c.parameter_table for order, c in categories.items()}, rule).alias("parameter_table"),
        _lookup({order: c.bcbs_paragraph for order, c in categories.items()}, rule).alias("bcbs_paragraph"),
    )


def apply_classification(deals: DataFrame, table: DataFrame) -> DataFrame:
    """Attach classification_rule, category_code, lcr_section, haircut, run_off_rate, inflow_rate (each
    null outside its section), weight and their lineage."""
    keyed = deals.withColumns(
        {
            "_hqla_key": F.coalesce(F.col("hqla_class"), F.lit(_KEY_NULL)),
            "_flag_bits": _flag_bits({column: F.col(column) for column in _FLAG_COLUMNS}),
        }
    )
    classified = keyed.join(
        F.broadcast(table),
        ["product_type", "counterparty_type", "_hqla_key", "maturity_bucket", "_flag_bits"],
        "left",
    ).drop("_hqla_key", "_flag_bits")
    return add_reject_checks(classified, [("unclassified", F.col("category_code").isNull())])
