"""The yardstick of issue 11 for the jobs: the deal-level work of `regcalc run --skip-dbt` as a plain
PySpark job, written for the bench and sharing no code with the product's jobs (python/regcalc/jobs).

Read the extract (deals parquet or CSV, reference CSVs), join entity, counterparty and both FX rates,
convert to the reporting currency, bucket the residual maturity, classify first-match with the
project's rule seed (one CASE in rule order), weight, compute the short-dated secured unwind, and write
parquet partitioned by as_of_date. No validation, no rejects, no lineage columns: the gap between this
job and the product's jobs stage is what those cost. Double precision, like the DuckDB baseline.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc.params import RULE_BOOLEAN_COLUMNS, Parameters


def _read_csv(spark: SparkSession, path: Path) -> DataFrame:
    return spark.read.csv(str(path), header=True, inferSchema=True)


def _classification(params: Parameters) -> Column:
    """category_code of the first rule (in rule order) whose every condition holds."""
    case = None
    for rule in params.rules:
        test = F.lit(True)
        for column, values in rule.conditions.items():
            if column in RULE_BOOLEAN_COLUMNS:
                accepted = [value.strip().lower() == "true" for value in values]
                test = test & F.coalesce(F.col(column), F.lit(False)).isin(accepted)
            else:
                test = test & F.col(column).isin(list(values))
        case = (F if case is None else case).when(test, F.lit(rule.category_code))
    return case if case is not None else F.lit(None).cast("string")


def plain_deal_level(spark: SparkSession, input_dir: Path, params: Parameters, out: Path) -> None:
    """Write the classified, weighted deal rows of the extract in `input_dir` to `out` (parquet,
    partitioned by as_of_date). Raises what Spark raises: the bench feeds it a generated, valid bank."""
    deals_dir = input_dir / "deals"
    deals = (
        spark.read.parquet(str(deals_dir))
        if any(deals_dir.glob("*.parquet"))
        else _read_csv(spark, deals_dir)
    )
    deals = deals.withColumns(
        {"as_of_date": F.to_date("as_of_date"), "maturity_date": F.to_date("maturity_date")}
    )
    entities = _read_csv(spark, input_dir / "entities.csv").withColumn("as_of_date", F.to_date("as_of_date"))
    counterparties = _read_csv(spark, input_dir / "counterparties.csv").withColumn(
        "as_of_date", F.to_date("as_of_date")
    )
    fx = _read_csv(spark, input_dir / "fx_rates.csv").withColumn("as_of_date", F.to_date("as_of_date"))
    deal_fx = fx.select("as_of_date", "currency", F.col("rate_to_usd").alias("deal_rate"))
    reporting_fx = fx.select(
        "as_of_date",
        F.col("currency").alias("reporting_currency"),
        F.col("rate_to_usd").alias("reporting_rate"),
    )
    categories = spark.createDataFrame(
        [(c.code, c.section, c.hqla_level, float(c.weight)) for c in params.categories.values()],
        "category_code string, lcr_section string, hqla_level string, weight double",
    )
    collateral = spark.createDataFrame(
        [
            (hqla_class, category.hqla_level, float(category.weight))
            for hqla_class in {c.hqla_class for c in params.categories.values() if c.hqla_class}
            if (category := params.haircut_for_class(hqla_class)) is not None
        ],
        "hqla_class string, collateral_level string, collateral_weight double",
    )
    residual_days = F.datediff("maturity_date", "as_of_date")
    enriched = (
        deals.join(
            entities.select(
                "as_of_date", "entity_id", "reporting_currency", F.col("country").alias("entity_country")
            ),
            ["as_of_date", "entity_id"],
        )
        .join(
            counterparties.select("as_of_date", "counterparty_id", "counterparty_type", "country"),
            ["as_of_date", "counterparty_id"],
        )
        .join(deal_fx, ["as_of_date", "currency"])
        .join(reporting_fx, ["as_of_date", "reporting_currency"])
        .withColumns(
            {
                "is_domestic": F.col("entity_country") == F.col("country"),
                "fx_rate": F.col("deal_rate") / F.col("reporting_rate"),
                "maturity_bucket": F.when(F.col("maturity_date").isNull(), "open")
                .when(residual_days <= params.horizon_days, "within_30d")
                .otherwise("beyond_30d"),
            }
        )
    )
    classified = (
        enriched.withColumn("category_code", _classification(params))
        .join(F.broadcast(categories), "category_code")
        .join(F.broadcast(collateral), "hqla_class", "left")
    )
    amount_reporting_ccy = F.col("amount") * F.col("fx_rate")
    collateral_value = (
        F.col("collateral_market_value") * F.col("fx_rate") * F.coalesce("collateral_weight", F.lit(0.0))
    )
    unwinds = (
        F.col("product_type").isin("repo", "reverse_repo")
        & (F.col("maturity_bucket") != "beyond_30d")
        & F.col("collateral_level").isNotNull()
    )
    repo = F.col("product_type") == "repo"
    free = ~F.coalesce(F.col("is_encumbered"), F.lit(False))
    level = F.col("collateral_level")

    def unwind_of(collateral_level: str) -> Column:
        return (
            F.when(~unwinds | (level != collateral_level), 0.0)
            .when(repo, collateral_value)
            .when(free, -collateral_value)
            .otherwise(0.0)
        )

    level1 = (
        F.when(~unwinds, 0.0)
        .when(repo, -amount_reporting_ccy + F.when(level == "L1", collateral_value).otherwise(0.0))
        .otherwise(amount_reporting_ccy - F.when((level == "L1") & free, collateral_value).otherwise(0.0))
    )
    rows = classified.select(
        "deal_id", "entity_id", "counterparty_id", "counterparty_type", "product_type", "currency", "amount",
        "maturity_bucket", "reporting_currency", "fx_rate", "category_code", "lcr_section", "hqla_level",
        "weight", amount_reporting_ccy.alias("amount_reporting_ccy"),
        (amount_reporting_ccy * F.col("weight")).alias("weighted_amount"),
        level1.alias("unwind_level1"), unwind_of("L2A").alias("unwind_level2a"),
        unwind_of("L2B").alias("unwind_level2b"), "as_of_date",
    )  # fmt: skip
    rows.write.mode("overwrite").partitionBy("as_of_date").parquet(str(out))
