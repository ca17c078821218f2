"""Input contract v1: the bank's daily extract (see README "Input contract").

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
)
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
