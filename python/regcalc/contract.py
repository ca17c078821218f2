"""Input contract v1: the bank's daily extract (see README "Input contract").

One place that names every dataset, its columns and the values a column may take. The ingest
job validates against it; the generator writes to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


DEALS = Dataset(
    "deals",
    (
        "deal_id",
        "as_of_date",
        "entity_id",
        "counterparty_id",
        "product_type",
        "currency",
        "amount",
        "maturity_date",
        "hqla_class",
        "is_insured",
        "is_stable_relationship",
        "is_operational",
        "is_encumbered",
        "collateral_market_value",
    ),
    ("as_of_date", "deal_id"),
)
COUNTERPARTIES = Dataset(
    "counterparties",
    ("as_of_date", "counterparty_id", "counterparty_name", "counterparty_type", "country"),
    ("as_of_date", "counterparty_id"),
)
ENTITIES = Dataset(
    "entities",
    ("as_of_date", "entity_id", "entity_name", "country", "reporting_currency"),
    ("as_of_date", "entity_id"),
)
FX_RATES = Dataset("fx_rates", ("as_of_date", "currency", "rate_to_usd"), ("as_of_date", "currency"))

REFERENCE_DATASETS = (COUNTERPARTIES, ENTITIES, FX_RATES)
ALL_DATASETS = (DEALS, *REFERENCE_DATASETS)

PRODUCT_TYPES = (
    "cash",
    "central_bank_reserve",
    "security",
    "deposit",
    "loan",
    "repo",
    "reverse_repo",
    "credit_facility",
    "liquidity_facility",
    "derivative_payable",
    "derivative_receivable",
)
# Products whose hqla_class describes the security itself or the collateral of the repo.
PRODUCTS_WITH_HQLA_CLASS = ("security", "repo", "reverse_repo")
# Products where collateral_market_value is the collateral given (repo) or received (reverse repo).
SECURED_PRODUCTS = ("repo", "reverse_repo")

HQLA_CLASSES = ("L1", "L2A", "L2B_RMBS", "L2B", "NON_HQLA")

COUNTERPARTY_TYPES = (
    "retail",
    "small_business",
    "non_financial_corporate",
    "sovereign",
    "central_bank",
    "pse",
    "mdb",
    "bank",
    "other_financial",
)

FLAG_COLUMNS = ("is_insured", "is_stable_relationship", "is_operational", "is_encumbered")
TRUE_VALUES = ("true", "t", "1", "yes", "y")
FALSE_VALUES = ("false", "f", "0", "no", "n", "")

DATE_FORMAT = "yyyy-MM-dd"
