"""Haircut: HQLA values after haircuts, weighted flows, and the unwind used by the Level 2 caps.

BCBS 238 para 48 and Annex 1: the 15% and 40% caps are computed on HQLA amounts adjusted as if
secured funding and secured lending maturing within 30 days were unwound. Each repo / reverse repo
in the horizon therefore carries its own signed contribution to adjusted Level 1, 2A and 2B.
Every product (amount x weight, collateral x weight) is money, rounded HALF_UP to the money scale.
"""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from regcalc import contract
from regcalc.decimals import MONEY, RATE, money
from regcalc.params import Parameters


def _literal_map(mapping: dict) -> Column:
    return F.create_map(*[F.lit(item) for item in chain.from_iterable(mapping.items())])


def apply_haircuts(deals: DataFrame, params: Parameters) -> DataFrame:
    """weighted_amount = amount in reporting currency x weight, and unwind_level1/2a/2b (all money)."""
    collateral_level = {}
    collateral_weight = {}
    for hqla_class in contract.HQLA_CLASSES:
        category = params.haircut_for_class(hqla_class)
        if category is not None:
            collateral_level[hqla_class] = category.hqla_level
            collateral_weight[hqla_class] = category.weight

    level = F.element_at(_literal_map(collateral_level), F.col("hqla_class"))
    # Annex 1 unwinds transactions that exchange HQLA for Level 1 assets (incl. cash) within the
    # horizon; a repo against non-HQLA collateral (no level) is left alone.
    in_horizon = (
        F.col("product_type").isin(*contract.SECURED_PRODUCTS)
        & (F.col("maturity_bucket") != "beyond_30d")
        & level.isNotNull()
    )
    is_repo = F.col("product_type") == "repo"
    # Unwinding a repo returns the cash borrowed and gets the pledged collateral back; unwinding a
    # reverse repo gets the cash lent back and returns the collateral received (only if we still
    # hold it, i.e. it was not re-used).
    cash_leg = F.when(is_repo, -F.col("amount_reporting_ccy")).otherwise(F.col("amount_reporting_ccy"))
    zero = F.lit(0).cast(MONEY.sql)
    collateral_value = money(
        F.col("collateral_value_reporting_ccy")
        * F.coalesce(
            F.element_at(_literal_map(collateral_weight), F.col("hqla_class")).cast(RATE.sql),
            F.lit(0).cast(RATE.sql),
        )
    )
    collateral_leg = (
        F.when(is_repo, collateral_value).when(~F.col("is_encumbered"), -collateral_value).otherwise(zero)
    )

    def unwind(target_level: str) -> Column:
        contribution = F.when(level == target_level, collateral_leg).otherwise(zero)
        if target_level == "L1":
            contribution = contribution + cash_leg
        return money(F.when(in_horizon, contribution).otherwise(zero))

    return (
        deals.withColumn("weighted_amount", money(F.col("amount_reporting_ccy") * F.col("weight")))
        .withColumn("unwind_level1", unwind("L1"))
        .withColumn("unwind_level2a", unwind("L2A"))
        .withColumn("unwind_level2b", unwind("L2B"))
    )
