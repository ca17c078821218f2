"""Enrich: reference joins per as-of date, FX to the entity's reporting currency, residual maturity.

FX rates are floating point (the bank's rates and their quotient); the amounts they convert are money:
amount x rate is computed in decimals, the rate taken to FX_RATE_DECIMALS places, and rounded HALF_UP to
the money scale (README "What is exact").
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from regcalc.decimals import money
from regcalc.jobs.ingest import add_reject_checks

# The double FX rate as the decimal that multiplies an amount: 18 places keep every digit a double has
# (about 16 significant), and amount x rate then fits decimal(38, 6) after Spark's exact product.
FX_RATE_DECIMALS = "decimal(38,18)"


def _snapshot_key(snapshot: DataFrame, key: str) -> list[str]:
    """The join key of a reference snapshot: with as_of_date when dated, the id alone when undated."""
    return ["as_of_date", key] if "as_of_date" in snapshot.columns else [key]


def enrich(
    deals: DataFrame, entities: DataFrame, counterparties: DataFrame, fx_rates: DataFrame, horizon_days: int
) -> DataFrame:
    """Join each deal to the reference snapshot of its own as-of date and convert its amounts.

    `entities` and `counterparties` are dated snapshots (with `as_of_date`) or one undated snapshot
    (without it) that applies to every date. Reference tables are small next to the deals, so they
    are broadcast: no shuffle of the deals. A deal whose entity, counterparty or currency is missing
    from that date's snapshot is rejected.
    """
    entity_key, counterparty_key = (
        _snapshot_key(entities, "entity_id"),
        _snapshot_key(counterparties, "counterparty_id"),
    )
    entity = entities.select(*entity_key, "reporting_currency", F.col("country").alias("_entity_country"))
    counterparty = counterparties.select(
        *counterparty_key, "counterparty_type", F.col("country").alias("_counterparty_country")
    )
    deal_fx = fx_rates.select("as_of_date", "currency", F.col("rate_to_usd").alias("_deal_rate_to_usd"))
    reporting_fx = fx_rates.select(
        "as_of_date",
        F.col("currency").alias("reporting_currency"),
        F.col("rate_to_usd").alias("_reporting_rate_to_usd"),
    )
    joined = (
        deals.join(F.broadcast(entity), entity_key, "left")
        .join(F.broadcast(counterparty), counterparty_key, "left")
        .join(F.broadcast(deal_fx), ["as_of_date", "currency"], "left")
        .join(F.broadcast(reporting_fx), ["as_of_date", "reporting_currency"], "left")
    )
    fx_rate = F.col("_deal_rate_to_usd") / F.col("_reporting_rate_to_usd")
    exact_rate = F.col("fx_rate").cast(FX_RATE_DECIMALS)
    days = F.datediff(F.col("maturity_date"), F.col("as_of_date"))
    enriched = (
        joined.withColumn("fx_rate", fx_rate)
        .withColumn("amount_reporting_ccy", money(F.col("amount") * exact_rate))
        .withColumn("collateral_value_reporting_ccy", money(F.col("collateral_market_value") * exact_rate))
        .withColumn("residual_maturity_days", days)
        .withColumn(
            "maturity_bucket",
            F.when(F.col("maturity_date").isNull(), F.lit("open"))
            .when(days <= horizon_days, F.lit("within_30d"))
            .otherwise(F.lit("beyond_30d")),
        )
        .withColumn("is_domestic", F.col("_entity_country") == F.col("_counterparty_country"))
    )
    checked = add_reject_checks(
        enriched,
        [
            ("unknown_entity", F.col("reporting_currency").isNull()),
            ("unknown_counterparty", F.col("counterparty_type").isNull()),
            (
                "unknown_currency",
                F.col("_deal_rate_to_usd").isNull() | F.col("_reporting_rate_to_usd").isNull(),
            ),
        ],
    )
    return checked.drop(
        "_entity_country", "_counterparty_country", "_deal_rate_to_usd", "_reporting_rate_to_usd"
    )
