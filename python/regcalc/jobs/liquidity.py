"""Liquidity: Basel classification of every deal into one LCR category and its weight.

The ordered first-match rules of seeds/regulatory/lcr_classification_rules.csv become one CASE
expression (no join, no shuffle); the category's parameter row (rate, BCBS paragraph) is then
attached by a broadcast join, so each deal row carries the lineage of how it was classified.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from regcalc.jobs.ingest import add_reject_checks
from regcalc.params import RULE_BOOLEAN_COLUMNS, ClassificationRule, Parameters


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


_RULE_PARAMETER_SCHEMA = T.StructType(
    [
        T.StructField("classification_rule", T.IntegerType()),
        T.StructField("category_code", T.StringType()),
        T.StructField("lcr_section", T.StringType()),
        T.StructField("hqla_level", T.StringType()),
        T.StructField("rate", T.DoubleType()),
        T.StructField("weight", T.DoubleType()),
        T.StructField("parameter_table", T.StringType()),
        T.StructField("bcbs_paragraph", T.StringType()),
    ]
)


def rule_parameters(spark: SparkSession, params: Parameters) -> DataFrame:
    """One row per classification rule with the parameter row of its category."""
    rows = []
    for rule in params.rules:
        category = params.categories[rule.category_code]
        rows.append(
            (
                rule.rule_order,
                category.code,
                category.section,
                category.hqla_level,
                category.rate,
                category.weight,
                category.parameter_table,
                category.bcbs_paragraph,
            )
        )
    return spark.createDataFrame(rows, _RULE_PARAMETER_SCHEMA)


def classify(deals: DataFrame, rules: DataFrame, params: Parameters) -> DataFrame:
    """Attach classification_rule, category_code, lcr_section, rate, weight and their lineage."""
    classified = deals.withColumn("classification_rule", classification_rule(params)).join(
        F.broadcast(rules), "classification_rule", "left"
    )
    return add_reject_checks(
        classified,
        [
            (
                "unclassified",
                F.col("category_code").isNull(),
                F.concat(
                    F.lit("no classification rule matches product_type "),
                    F.coalesce(F.col("product_type"), F.lit("")),
                    F.lit(" / counterparty_type "),
                    F.coalesce(F.col("counterparty_type"), F.lit("")),
                ),
            )
        ],
    )
