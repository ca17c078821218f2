"""Input contract (versions 1 and 2): the bank's daily extract (see README "Input contract").

One place that names every dataset, its columns, the values a column may take and the reasons a
deal is rejected. The ingest job validates against it; the generator writes to it. The lists of codes
that the marts check too (product types, counterparty types, reject reasons) are declared once, as the
accepted values of the staging models' tests (models/staging/_staging__models.yml, shown in the docs
site), and read from there.

Files: CSV (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; UTF-8 with or
without Excel's byte-order mark; LF or CRLF line ends) or parquet. Every numeric field is a finite
number (no NaN, no infinity, nothing beyond the range of a double).

Reference data (`entities`, `counterparties`) comes in one of two forms, both contract v1:
  - dated snapshots: an `as_of_date` column, a full copy of the dataset per as-of date;
  - one undated snapshot: no `as_of_date` column; it applies to every as-of date of the run and is
    written to the lake as the snapshot of each of them (the lake keeps reference data per date).
`fx_rates` are always dated.

Contract version 2 adds what template LIQ1 rows 8, 14, 15 and 19 need (README "How positions are
sent"): the products of V2_PRODUCT_TYPES. A deals file chooses its version per row in the optional
column `contract_version` (CONTRACT_VERSION): a file without the column, or a blank cell, is version 1;
any value but 1 or 2 is the reject `unknown_contract_version`. A v1 row is read exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from regcalc.settings import PROJECT_DIR

SNAPSHOT_DATE = "as_of_date"


@dataclass(frozen=True)
class Dataset:
    """A dataset of the extract: its columns and key in their dated form, as the generator writes them.

    `may_be_undated`: the file may leave out `as_of_date` (one snapshot for every as-of date).
    """

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    may_be_undated: bool = False
    optional_columns: tuple[str, ...] = ()  # later contract versions' columns: absent means version 1

    def required_columns(self, dated: bool) -> tuple[str, ...]:
        """The columns a file must have: all of them, less `as_of_date` for an undated snapshot."""
        return self.columns if dated else tuple(c for c in self.columns if c != SNAPSHOT_DATE)

    def key_columns(self, dated: bool) -> tuple[str, ...]:
        return self.key if dated else tuple(c for c in self.key if c != SNAPSHOT_DATE)


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
    optional_columns=("contract_version",),
)
CONTRACT_VERSION = "contract_version"
CONTRACT_VERSIONS = ("1", "2")  # a blank cell or a file without the column is "1"
COUNTERPARTIES = Dataset(
    "counterparties",
    ("as_of_date", "counterparty_id", "counterparty_name", "counterparty_type", "country"),
    ("as_of_date", "counterparty_id"),
    may_be_undated=True,
)
ENTITIES = Dataset(
    "entities",
    ("as_of_date", "entity_id", "entity_name", "country", "reporting_currency"),
    ("as_of_date", "entity_id"),
    may_be_undated=True,
)
FX_RATES = Dataset("fx_rates", ("as_of_date", "currency", "rate_to_usd"), ("as_of_date", "currency"))

REFERENCE_DATASETS = (COUNTERPARTIES, ENTITIES, FX_RATES)
ALL_DATASETS = (DEALS, *REFERENCE_DATASETS)


@cache
def _accepted_values(model: str, column: str) -> tuple[str, ...]:
    """The values of the accepted_values test of `column` of staging model `model`, in their order."""
    path = PROJECT_DIR / "models" / "staging" / "_staging__models.yml"
    for declared in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
        for declared_column in declared["columns"] if declared["name"] == model else ():
            for test in declared_column.get("data_tests") or ():
                if declared_column["name"] == column and isinstance(test, dict) and "accepted_values" in test:
                    return tuple(test["accepted_values"]["arguments"]["values"])
    raise LookupError(f"{path}: no accepted_values test on {model}.{column}")


PRODUCT_TYPES = _accepted_values("stg_lake__deal_liquidity", "product_type")
# Products a row may send only as contract_version 2 (README "How positions are sent"), declared
# after the v1 products, from debt_issued on:
#   debt_issued: unsecured notes, bonds and other debt securities issued by the bank (para 110);
#   other_contractual_outflow: other contractual cash outflows (para 141);
#   trade_finance: contingent trade finance obligations (para 138-139);
#   guarantee: guarantees and letters of credit unrelated to trade finance (para 140);
#   derivative_net: the net cash flow of one netting set within 30 days, signed (para 116, 158-159).
V2_PRODUCT_TYPES = PRODUCT_TYPES[PRODUCT_TYPES.index("debt_issued") :]
V1_PRODUCT_TYPES = tuple(p for p in PRODUCT_TYPES if p not in V2_PRODUCT_TYPES)
# A derivative_net row's amount is signed: negative = net outflow, positive = net inflow. Ingest sends
# it on as the product of its direction with the absolute amount, so the rules and every model see
# derivative flows one way; the deal_id names the netting set (one row per set and date).
NET_DERIVATIVE = "derivative_net"
NET_DERIVATIVE_AS = {"outflow": "derivative_payable", "inflow": "derivative_receivable"}
# The products the classification rules see (a derivative_net row arrives as one of NET_DERIVATIVE_AS).
CLASSIFIED_PRODUCT_TYPES = tuple(p for p in PRODUCT_TYPES if p != NET_DERIVATIVE)
# Products whose hqla_class describes the security itself or the collateral of the repo.
PRODUCTS_WITH_HQLA_CLASS = ("security", "repo", "reverse_repo")
# Products where collateral_market_value is the collateral given (repo) or received (reverse repo).
SECURED_PRODUCTS = ("repo", "reverse_repo")

HQLA_CLASSES = ("L1", "L2A", "L2B_RMBS", "L2B", "NON_HQLA")

COUNTERPARTY_TYPES = _accepted_values("stg_lake__counterparties", "counterparty_type")

FLAG_COLUMNS = ("is_insured", "is_stable_relationship", "is_operational", "is_encumbered")
TRUE_VALUES = ("true", "t", "1", "yes", "y")
FALSE_VALUES = ("false", "f", "0", "no", "n", "")

DATE_FORMAT = "yyyy-MM-dd"

# Why a deal is rejected (`reject_reason` in the lake), in the order the checks run: a row takes the
# first reason it fails (each one is explained where it is declared). The jobs refuse a code that is
# not listed (ingest.add_reject_checks); tests prove the README lists the same codes.
REJECT_REASONS = _accepted_values("stg_lake__deal_rejects", "reject_reason")
