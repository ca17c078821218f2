"""Input contract (versions 1 and 2): the bank's daily extract (see README "Input contract").

One place that names every dataset, its columns, the values a column may take and the reasons a
deal is rejected. The ingest job validates against it; the generator writes to it.

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
    # contract v2 (V2_PRODUCT_TYPES)
    "debt_issued",
    "other_contractual_outflow",
    "trade_finance",
    "guarantee",
    "derivative_net",
)
# Products a row may send only as contract_version 2 (README "How positions are sent"):
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

# Why a deal is rejected (`reject_reason` in the lake), in the order the checks run: a row takes the
# first reason it fails. The jobs refuse a code that is not listed here (ingest.add_reject_checks);
# tests prove the staging models' accepted_values and the README list the same codes.
REJECT_REASONS = (
    "malformed_row",  # a CSV record with the wrong number of fields
    "missing_field",  # deal_id, entity_id or counterparty_id empty
    "unknown_contract_version",  # contract_version not blank, 1 or 2
    "bad_date",  # as_of_date or maturity_date not a yyyy-mm-dd calendar date
    "unknown_product_type",
    "product_not_in_version",  # a contract v2 product on a version 1 row
    "bad_amount",  # amount or collateral_market_value not a finite number
    "negative_amount",  # below 0 (only derivative_net is signed)
    "maturity_before_as_of",
    "missing_hqla_class",
    "unknown_hqla_class",
    "bad_flag",
    "missing_collateral_value",
    "duplicate_deal_id",  # (as_of_date, deal_id) on more than one row: every such row
    "unknown_entity",  # not in the entities snapshot of the deal's as-of date
    "unknown_counterparty",
    "unknown_currency",  # deal or reporting currency not in fx_rates of that date
    "unclassified",  # no classification rule matches (a gap in the rules, not in the deal)
)
