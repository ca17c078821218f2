"""A deterministic synthetic bank in input contract v1 (see contract.py and the design brief).

Deals are built by Spark from `spark.range`: every column is a SQL expression whose pseudo-random
inputs are `xxhash64(deal number, seed, stream)`, so 10 M deals take minutes, no Python runs per
row, and the output depends only on the arguments (not on the machine, the partitioning or the
run). Reference data is small and written with Python's csv module as single files with a header,
one full snapshot per as-of date, the way the bank's extract delivers it.

The bank is shaped so that the LCR computed from it is plausible: each entity's HQLA is mostly
Level 1 with some Level 2A / 2B, deposits are the main outflows, and an entity-specific scale on
the HQLA holdings puts the entities' LCRs at different points between about 1.1 and 1.8.

Output layout in `out_dir` (the ingest job relies on it):
    entities.csv, counterparties.csv, fx_rates.csv   one file each, header, all as-of dates
    deals/                                          Spark part files (csv with header, or parquet)
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc.contract import (
    COUNTERPARTIES,
    COUNTERPARTY_TYPES,
    DEALS,
    ENTITIES,
    FX_RATES,
    HQLA_CLASSES,
    PRODUCTS_WITH_HQLA_CLASS,
    SECURED_PRODUCTS,
)
from regcalc.contract import V1_PRODUCT_TYPES as PRODUCT_TYPES  # the bank is v1 unless contract_v2

FORMATS = ("csv", "parquet")
# Deals per output part file: 1 M deals give 2 files (both cores busy), 10 M give 20. A function of
# `deals` only, so the files themselves, not just their rows, are the same on every machine.
ROWS_PER_FILE = 500_000
# Money as fixed-point decimal: the CSV writer would print large doubles in scientific notation.
AMOUNT_TYPE = "decimal(18,2)"

# Currency, rate to USD on the first date. Amounts are drawn in USD and converted with these
# rates, so a JPY deal has a JPY-sized amount.
BASE_RATES_TO_USD: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.085,
    "GBP": 1.27,
    "JPY": 0.0068,
    "CHF": 1.12,
}
CURRENCIES = tuple(BASE_RATES_TO_USD)


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    entity_id: str
    entity_name: str
    country: str
    reporting_currency: str
    # Name from the second as-of date on (None: never renamed), so SCD2 has a change to track.
    later_name: str | None = None
    # Scale on the HQLA holdings: spreads the entities' LCRs over the realistic range.
    hqla_scale: float = 1.0


# Legal entities of the group; reused with a numeric suffix when more are asked for.
_ENTITY_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("Atlas Bancorp N.A.", "US", "USD"),
    ("Rheinland Bank AG", "DE", "EUR"),
    ("Thames Banking plc", "GB", "GBP"),
    ("Sakura Trust Bank K.K.", "JP", "JPY"),
    ("Helvetia Privatbank AG", "CH", "CHF"),
    ("Banque de la Seine SA", "FR", "EUR"),
    ("Lage Landen Bank N.V.", "NL", "EUR"),
    ("Liberty Street Bank", "US", "USD"),
)
# Relative HQLA holdings per entity (cycled). With the calibration below, the entities' LCRs
# land near 1.45 x scale (1.2-1.6 measured on 0.3-1 M deals and several seeds; a few thousand
# deals are noisier, as the amounts are heavy-tailed).
_HQLA_SCALES = (1.0, 0.93, 1.08, 0.97, 1.04)


def make_entities(count: int) -> list[Entity]:
    """The group's entities E01, E02, ...; the second one is renamed from the second date on."""
    width = max(2, len(str(count)))
    entities = []
    for i in range(count):
        name, country, currency = _ENTITY_TEMPLATES[i % len(_ENTITY_TEMPLATES)]
        if i >= len(_ENTITY_TEMPLATES):
            name = f"{name} {i // len(_ENTITY_TEMPLATES) + 1}"
        entities.append(
            Entity(
                entity_id=f"E{i + 1:0{width}d}",
                entity_name=name,
                country=country,
                reporting_currency=currency,
                hqla_scale=_HQLA_SCALES[i % len(_HQLA_SCALES)],
            )
        )
    # Rename one entity (a rebranding) so dim_entity has a history; E01 if it is alone.
    renamed = entities[1] if count > 1 else entities[0]
    stem, _, legal_form = renamed.entity_name.rpartition(" ")
    entities[entities.index(renamed)] = replace(renamed, later_name=f"{stem} Europe {legal_form}")
    return entities


# Share of each counterparty type in the counterparty table. Types with a natural ceiling
# (there are only so many governments, central banks and development banks) are capped.
_COUNTERPARTY_MIX: dict[str, float] = {
    "retail": 0.50,
    "small_business": 0.18,
    "non_financial_corporate": 0.16,
    "sovereign": 0.01,
    "central_bank": 0.01,
    "pse": 0.02,
    "mdb": 0.01,
    "bank": 0.06,
    "other_financial": 0.05,
}
_COUNTRIES: dict[str, str] = {
    "US": "United States",
    "DE": "Germany",
    "GB": "United Kingdom",
    "JP": "Japan",
    "CH": "Switzerland",
    "FR": "France",
    "NL": "Netherlands",
    "IT": "Italy",
    "ES": "Spain",
    "CA": "Canada",
    "SG": "Singapore",
    "LU": "Luxembourg",
    "IE": "Ireland",
}
_MDBS: tuple[tuple[str, str], ...] = (
    ("International Bank for Reconstruction and Development", "US"),
    ("European Investment Bank", "LU"),
    ("Asian Development Bank", "PH"),
    ("European Bank for Reconstruction and Development", "GB"),
    ("African Development Bank", "CI"),
    ("Inter-American Development Bank", "US"),
    ("Council of Europe Development Bank", "FR"),
    ("Nordic Investment Bank", "FI"),
)
_CAPS = {"sovereign": len(_COUNTRIES), "central_bank": len(_COUNTRIES), "mdb": len(_MDBS)}


@dataclass(frozen=True)
class TypeRange:
    """Counterparties of one type are the contiguous indices [start, start + count)."""

    start: int
    count: int


def counterparty_count(deals: int) -> int:
    """About one counterparty per 100 deals, at least 50 (every type present), at most 100,000."""
    return max(50, min(deals // 100, 100_000))


def counterparty_layout(total: int) -> dict[str, TypeRange]:
    """Split `total` counterparties into contiguous ranges per type (every type at least one).

    Contiguous ranges let a deal pick a counterparty of a given type with arithmetic alone
    (start + a random index below count), without a join.
    """
    counts = {t: max(1, round(total * share)) for t, share in _COUNTERPARTY_MIX.items()}
    counts.update({t: min(counts[t], cap) for t, cap in _CAPS.items()})
    # Retail absorbs the rounding so the total is exact.
    counts["retail"] += total - sum(counts.values())
    layout, start = {}, 0
    for cp_type in COUNTERPARTY_TYPES:
        layout[cp_type] = TypeRange(start, counts[cp_type])
        start += counts[cp_type]
    return layout


_FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hiro", "Ines", "Jonas",
    "Kate", "Luca", "Maria", "Noah", "Olivia", "Paul", "Sofia", "Tom", "Yuki", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Muller", "Brown", "Tanaka", "Rossi", "Martin", "Jones", "Schmidt", "Garcia",
    "Weber", "Dubois", "Taylor", "Suzuki", "Fischer", "Moreau", "Wilson", "de Vries", "Keller",
)  # fmt: skip
_TRADES = ("Bakery", "Plumbing", "Dental Practice", "Print Shop", "Cafe", "Garage", "Florist", "Studio")
_COMPANY_WORDS = (
    "Northwind", "Blue Ridge", "Alpine", "Harbor", "Summit", "Crescent", "Evergreen", "Ironbridge",
    "Silverline", "Orion", "Meridian", "Pioneer", "Redwood", "Granite", "Aurora", "Keystone",
)  # fmt: skip
_INDUSTRIES = ("Logistics", "Foods", "Energy", "Chemicals", "Retail", "Motors", "Telecom", "Pharma")
_LEGAL_FORMS = {
    "US": "Inc.", "DE": "GmbH", "GB": "Ltd", "JP": "K.K.", "CH": "AG", "FR": "SA", "NL": "B.V.",
    "IT": "S.p.A.", "ES": "S.L.", "CA": "Inc.", "SG": "Pte Ltd", "LU": "S.A.", "IE": "Ltd",
}  # fmt: skip
_PSE_KINDS = ("Municipal Authority", "Water Board", "Transit Authority", "Housing Agency", "Port Authority")
_FINANCIALS = ("Capital Partners", "Asset Management", "Insurance", "Pension Fund", "Securities")


@dataclass(frozen=True)
class Counterparty:
    counterparty_id: str
    counterparty_name: str
    counterparty_type: str
    country: str


def _counterparty(rng: random.Random, cp_id: str, cp_type: str, ordinal: int) -> Counterparty:
    """One plausible counterparty of a type; `ordinal` is its position within the type."""
    codes = tuple(_COUNTRIES)
    country = rng.choice(codes)
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    word = rng.choice(_COMPANY_WORDS)
    if cp_type == "retail":
        name = f"{first} {last}"
    elif cp_type == "small_business":
        name = f"{last} {rng.choice(_TRADES)} {_LEGAL_FORMS[country]}"
    elif cp_type == "non_financial_corporate":
        name = f"{word} {rng.choice(_INDUSTRIES)} {_LEGAL_FORMS[country]}"
    elif cp_type == "sovereign":
        country = codes[ordinal]
        name = f"Government of {_COUNTRIES[country]}"
    elif cp_type == "central_bank":
        country = codes[ordinal]
        name = f"Central Bank of {_COUNTRIES[country]}"
    elif cp_type == "pse":
        name = f"{word} {rng.choice(_PSE_KINDS)}"
    elif cp_type == "mdb":
        name, country = _MDBS[ordinal]
    elif cp_type == "bank":
        name = f"{word} Bank {_LEGAL_FORMS[country]}"
    else:
        name = f"{word} {rng.choice(_FINANCIALS)} {_LEGAL_FORMS[country]}"
    return Counterparty(cp_id, name, cp_type, country)


# Counterparty types whose members change over time; governments, central banks, PSEs and
# development banks keep their names.
_CHANGING_TYPES = ("retail", "small_business", "non_financial_corporate", "bank", "other_financial")


def _changed(cp: Counterparty, rng: random.Random) -> Counterparty:
    """The same counterparty after a typical life event: reclassified, renamed or redomiciled."""
    if cp.counterparty_type == "small_business":
        # Grew out of the retail treatment.
        return replace(cp, counterparty_type="non_financial_corporate")
    if cp.counterparty_type == "other_financial":
        # Obtained a banking licence.
        return replace(cp, counterparty_type="bank")
    if cp.counterparty_type == "retail":
        # Took a double-barrelled name on marriage.
        return replace(cp, counterparty_name=f"{cp.counterparty_name}-{rng.choice(_LAST_NAMES)}")
    if cp.counterparty_type == "non_financial_corporate" and rng.random() < 0.5:
        return replace(cp, country=rng.choice([c for c in _COUNTRIES if c != cp.country]))
    # Rebranded after a merger: a new first word.
    return replace(cp, counterparty_name=f"{rng.choice(_COMPANY_WORDS)} {cp.counterparty_name}")


def make_counterparties(total: int, dates: int, seed: int) -> list[list[Counterparty]]:
    """Counterparty snapshots, one list per as-of date.

    About 0.5% of the counterparties (always including the first small business, which is
    reclassified, and the first retail customer, who is renamed) change on one of the later dates
    and keep the change afterwards, so slowly-changing dimensions have something to track.
    """
    rng = random.Random(f"regcalc-counterparties-{seed}")
    layout = counterparty_layout(total)
    width = max(6, len(str(total)))
    base: list[Counterparty] = []
    for cp_type in COUNTERPARTY_TYPES:
        type_range = layout[cp_type]
        for ordinal in range(type_range.count):
            cp_id = f"C{type_range.start + ordinal + 1:0{width}d}"
            base.append(_counterparty(rng, cp_id, cp_type, ordinal))
    snapshots = [base]
    if dates < 2:
        return snapshots
    candidates = [i for i, cp in enumerate(base) if cp.counterparty_type in _CHANGING_TYPES]
    changing = {layout["small_business"].start, layout["retail"].start}
    changing.update(rng.sample(candidates, max(1, total // 200)))
    # Which later date each change takes effect on, and what the counterparty becomes.
    changes = {i: (1 + rng.randrange(dates - 1), _changed(base[i], rng)) for i in sorted(changing)}
    for day in range(1, dates):
        snapshots.append(
            [changes[i][1] if i in changes and changes[i][0] <= day else cp for i, cp in enumerate(base)]
        )
    return snapshots


def make_fx_rates(dates: int, seed: int) -> list[dict[str, float]]:
    """Rates to USD per as-of date: a small deterministic random walk (+-0.4% a day); USD = 1."""
    rng = random.Random(f"regcalc-fx-{seed}")
    rates = dict(BASE_RATES_TO_USD)
    per_date = []
    for _ in range(dates):
        per_date.append({ccy: round(rate, 10) for ccy, rate in rates.items()})
        rates = {
            ccy: rate if ccy == "USD" else rate * (1 + rng.uniform(-0.004, 0.004))
            for ccy, rate in rates.items()
        }
    return per_date


# ---------------------------------------------------------------------------------------------
# Deals
# ---------------------------------------------------------------------------------------------

# Share of deals per product. Counts, not amounts: deposits and loans are many and small,
# reserves and repos few and large (amounts below).
_PRODUCT_MIX: dict[str, float] = {
    "cash": 0.010,
    "central_bank_reserve": 0.004,
    "security": 0.060,
    "deposit": 0.520,
    "loan": 0.220,
    "repo": 0.020,
    "reverse_repo": 0.020,
    "credit_facility": 0.070,
    "liquidity_facility": 0.016,
    "derivative_payable": 0.030,
    "derivative_receivable": 0.030,
}
# Collateral quality: securities held are mostly Level 1, repo collateral mostly Level 1 / 2A.
_HQLA_MIX: dict[str, dict[str, float]] = {
    "security": {"L1": 0.62, "L2A": 0.16, "L2B_RMBS": 0.04, "L2B": 0.06, "NON_HQLA": 0.12},
    "repo": {"L1": 0.64, "L2A": 0.20, "L2B_RMBS": 0.05, "L2B": 0.05, "NON_HQLA": 0.06},
    "reverse_repo": {"L1": 0.61, "L2A": 0.20, "L2B_RMBS": 0.05, "L2B": 0.08, "NON_HQLA": 0.06},
}
# Issuer of a security given its HQLA class.
_ISSUER_MIX: dict[str, dict[str, float]] = {
    "L1": {"sovereign": 0.70, "central_bank": 0.10, "mdb": 0.12, "pse": 0.08},
    "L2A": {"sovereign": 0.25, "pse": 0.35, "non_financial_corporate": 0.40},
    "L2B_RMBS": {"other_financial": 1.0},
    "L2B": {"non_financial_corporate": 0.85, "other_financial": 0.15},
    "NON_HQLA": {"bank": 0.50, "other_financial": 0.30, "non_financial_corporate": 0.20},
}
# Counterparty type given the product (securities use _ISSUER_MIX).
_COUNTERPARTY_MIX_BY_PRODUCT: dict[str, dict[str, float]] = {
    # Notes and coins and reserves are claims on the central bank.
    "cash": {"central_bank": 1.0},
    "central_bank_reserve": {"central_bank": 1.0},
    "deposit": {
        "retail": 0.600,
        "small_business": 0.200,
        "non_financial_corporate": 0.120,
        "sovereign": 0.005,
        "central_bank": 0.003,
        "pse": 0.015,
        "mdb": 0.002,
        "bank": 0.030,
        "other_financial": 0.025,
    },
    "loan": {
        "retail": 0.55,
        "small_business": 0.20,
        "non_financial_corporate": 0.19,
        "pse": 0.02,
        "bank": 0.03,
        "other_financial": 0.01,
    },
    "repo": {"bank": 0.55, "other_financial": 0.30, "central_bank": 0.10, "sovereign": 0.05},
    "reverse_repo": {"bank": 0.55, "other_financial": 0.40, "central_bank": 0.05},
    "credit_facility": {
        "retail": 0.30,
        "small_business": 0.25,
        "non_financial_corporate": 0.35,
        "pse": 0.03,
        "bank": 0.03,
        "other_financial": 0.04,
    },
    "liquidity_facility": {
        "non_financial_corporate": 0.55,
        "sovereign": 0.03,
        "pse": 0.07,
        "bank": 0.15,
        "other_financial": 0.20,
    },
    "derivative_payable": {"bank": 0.60, "other_financial": 0.30, "non_financial_corporate": 0.10},
    "derivative_receivable": {"bank": 0.60, "other_financial": 0.30, "non_financial_corporate": 0.10},
}
_RETAIL_LIKE = ("retail", "small_business")

# Amount ranges in USD (log-uniform between low and high), by product, with smaller ones for
# retail and small-business customers. Calibrated against the regulatory seeds: deposits give
# about two thirds of the stressed outflows, inflows about a third of them (the 75% cap does not
# bind), HQLA about as much as the outflows, of which roughly 85% Level 1.
_AMOUNT_USD: dict[str, tuple[float, float]] = {
    "cash": (1e5, 2.4e6),
    "central_bank_reserve": (5.5e6, 6.5e7),
    "security": (2.8e5, 1.15e7),
    "deposit": (2e5, 2e7),
    "loan": (5e5, 1.5e7),
    "repo": (2e6, 4e7),
    "reverse_repo": (2e6, 4e7),
    "credit_facility": (5e5, 1.5e7),
    "liquidity_facility": (5e5, 1e7),
    "derivative_payable": (1e5, 8e6),
    "derivative_receivable": (1e5, 8e6),
}
_AMOUNT_USD_BY_TYPE: dict[tuple[str, str], tuple[float, float]] = {
    ("deposit", "retail"): (1e3, 5e5),
    ("deposit", "small_business"): (5e3, 2e6),
    ("loan", "retail"): (5e3, 6e5),
    ("loan", "small_business"): (2e4, 3e6),
    ("credit_facility", "retail"): (2e3, 1e5),
    ("credit_facility", "small_business"): (1e4, 1e6),
}
_HQLA_PRODUCTS = ("cash", "central_bank_reserve", "security")

# Share of open (on demand / no maturity) deals and the contractual terms of the others, in days.
# A dated deal sits at a uniformly random point of its term and rolls over at maturity, so the
# residual maturity is never negative and the same deal keeps its term on later dates.
_OPEN_SHARE: dict[str, float] = {
    "cash": 1.0,
    "central_bank_reserve": 1.0,
    "security": 0.03,
    "deposit": 0.55,
    "loan": 0.08,
    "repo": 0.0,
    "reverse_repo": 0.0,
    "credit_facility": 0.0,
    "liquidity_facility": 0.0,
    "derivative_payable": 0.0,
    "derivative_receivable": 0.0,
}
_TERMS_DAYS: dict[str, tuple[int, ...]] = {
    "security": (180, 365, 730, 1825, 3650, 10950),
    "deposit": (7, 30, 90, 180, 365, 730),
    "loan": (30, 90, 365, 1825, 3650, 7300),
    "repo": (1, 7, 14, 30, 90, 180),
    "reverse_repo": (1, 7, 14, 30, 90, 180),
    "credit_facility": (365, 1095, 1825),
    "liquidity_facility": (365, 1095, 1825),
    "derivative_payable": (30, 90, 180, 365, 1825),
    "derivative_receivable": (30, 90, 180, 365, 1825),
}

# Deals 0..98 of every date cycle through all products x (HQLA classes, counterparty types), so
# even a tiny bank contains every category (tests and demos rely on it).
_COVERAGE_DEALS = len(PRODUCT_TYPES) * len(COUNTERPARTY_TYPES)

# One independent pseudo-random stream per decision; the position is the stream number, so new
# streams go at the end and leave existing columns unchanged.
_STREAMS = (
    "entity",
    "product",
    "hqla",
    "cp_type",
    "cp",
    "ccy_local",
    "ccy",
    "amount",
    "open",
    "term",
    "age",
    "insured",
    "stable",
    "operational",
    "encumbered",
    "collateral",
    "drift",  # the only stream that also depends on the as-of date
    "v2",  # contract_v2 only: which deals are sent as a contract v2 product
)
_UNIT = float(1 << 53)


def _uniform(seed: int, stream: str, *keys: Column) -> Column:
    """A double in [0, 1) with 53 bits from xxhash64(keys, seed, stream): the same on every run."""
    hashed = F.xxhash64(*keys, F.lit(seed), F.lit(_STREAMS.index(stream)))
    return F.pmod(hashed, F.lit(1 << 53)) / _UNIT


def _below(u: Column, n: Column | int) -> Column:
    """An integer in [0, n) from a uniform u."""
    return F.floor(u * n)


def _pick(u: Column, weights: Mapping[Any, float]) -> Column:
    """The value whose cumulative-weight interval contains u (u uniform in [0, 1))."""
    total = sum(weights.values())
    items = list(weights.items())
    expr: Column | None = None
    cumulative = 0.0
    for value, weight in items[:-1]:
        cumulative += weight / total
        expr = (
            F.when(u < cumulative, F.lit(value)) if expr is None else expr.when(u < cumulative, F.lit(value))
        )
    last = F.lit(items[-1][0])
    return last if expr is None else expr.otherwise(last)


def _case(key: Column, values: Mapping[Any, Column], default: Column | None = None) -> Column:
    """CASE key WHEN k THEN v ... ELSE default END."""
    expr: Column | None = None
    for k, v in values.items():
        expr = F.when(key == k, v) if expr is None else expr.when(key == k, v)
    assert expr is not None
    return expr.otherwise(default if default is not None else F.lit(None))


def _element(values: Sequence[Any], index: Column) -> Column:
    """values[index] for a 0-based integer column."""
    return F.element_at(F.array(*[F.lit(v) for v in values]), (index + 1).cast("int"))


def deal_frame(
    spark: SparkSession,
    *,
    deals: int,
    entities: Sequence[Entity],
    layout: Mapping[str, TypeRange],
    dates: int,
    seed: int,
    first_date: date,
    contract_v2: bool = False,
) -> DataFrame:
    """The deals of all as-of dates, columns as DEALS.columns (typed: date, decimal, boolean).

    `contract_v2` sends some deals as contract v2 products (`_as_contract_v2`) and adds the column
    contract_version; without it the bank is contract v1, row for row as before.

    Deals are ordered by as-of date, then deal number; the first `deals % dates` dates get one
    deal more. Deal number n on each date is the same deal (same counterparty, product, terms),
    so its draws are hashed from n; only the amount drift and the maturity roll use the date.

    Each step is a `select` of new columns over the previous ones. The draws are columns of their
    own because a `_pick` compares its draw against every threshold: Spark keeps a non-trivial
    expression that is referenced several times in its own projection (computed once per row)
    instead of inlining the hash into every comparison.
    """
    per_date, extra = divmod(deals, dates)
    big = per_date + 1  # size of each of the first `extra` dates
    boundary = big * extra
    rest = max(per_date, 1)  # per_date is 0 only when every row is before the boundary
    row = F.col("id")
    day = F.when(row < boundary, F.floor(row / big)).otherwise(extra + F.floor((row - boundary) / rest))
    n = F.when(row < boundary, F.pmod(row, F.lit(big))).otherwise(F.pmod(row - boundary, F.lit(rest)))
    partitions = max(1, math.ceil(deals / ROWS_PER_FILE))
    frame = spark.range(0, deals, 1, partitions).select(day.cast("int").alias("day"), n.alias("n"))

    frame = frame.select(
        "*",
        *[_uniform(seed, s, F.col("n")).alias(f"u_{s}") for s in _STREAMS if s != "drift"],
        _uniform(seed, "drift", F.col("n"), F.col("day")).alias("u_drift"),
    )
    u = {s: F.col(f"u_{s}") for s in _STREAMS}
    product = F.col("product_type")
    coverage = F.col("n") < _COVERAGE_DEALS
    cycle = F.floor(F.col("n") / len(PRODUCT_TYPES))  # 0..8 inside the coverage block

    # Entity (sizes falling like 1, 1/2, 1/3, ...) and product; the coverage block cycles products.
    frame = frame.select(
        "*",
        _pick(u["entity"], {i: 1.0 / (i + 1) for i in range(len(entities))}).alias("entity"),
        F.when(coverage, _element(PRODUCT_TYPES, F.pmod(F.col("n"), F.lit(len(PRODUCT_TYPES)))))
        .otherwise(_pick(u["product"], _PRODUCT_MIX))
        .alias("product_type"),
    )

    # HQLA class of the security or the repo collateral; the coverage block cycles the classes.
    drawn = _case(product, {p: _pick(u["hqla"], mix) for p, mix in _HQLA_MIX.items()})
    cycled = _element(HQLA_CLASSES, F.pmod(cycle, F.lit(len(HQLA_CLASSES))))
    hqla = F.when(coverage & product.isin(*PRODUCTS_WITH_HQLA_CLASS), cycled).otherwise(drawn)
    frame = frame.select("*", hqla.alias("hqla_class"))

    # Counterparty type by product (by HQLA class for a security's issuer); deposits in the
    # coverage block come from every type.
    cp_type = _case(
        product,
        {p: _pick(u["cp_type"], mix) for p, mix in _COUNTERPARTY_MIX_BY_PRODUCT.items()},
        default=_case(F.col("hqla_class"), {h: _pick(u["cp_type"], mix) for h, mix in _ISSUER_MIX.items()}),
    )
    cp_type = F.when(coverage & (product == "deposit"), _element(COUNTERPARTY_TYPES, cycle)).otherwise(
        cp_type
    )
    frame = frame.select("*", cp_type.alias("cp_type"))
    retail_like = F.col("cp_type").isin(*_RETAIL_LIKE)

    # Counterparty: a member of the type's contiguous index range. Currency: mostly the entity's
    # reporting currency, the rest spread over all currencies.
    starts = _case(F.col("cp_type"), {t: F.lit(r.start) for t, r in layout.items()})
    counts = _case(F.col("cp_type"), {t: F.lit(r.count) for t, r in layout.items()})
    cp_width = max(6, len(str(sum(r.count for r in layout.values()))))
    cp_number = (starts + _below(u["cp"], counts) + 1).cast("string")
    local_ccy = _case(F.col("entity"), {i: F.lit(e.reporting_currency) for i, e in enumerate(entities)})
    currency = F.when(u["ccy_local"] < 0.7, local_ccy).otherwise(
        _element(CURRENCIES, _below(u["ccy"], len(CURRENCIES)))
    )
    # Amount range by product, narrowed for retail and small-business customers.
    low = _case(product, {p: F.lit(lo) for p, (lo, _) in _AMOUNT_USD.items()})
    high = _case(product, {p: F.lit(hi) for p, (_, hi) in _AMOUNT_USD.items()})
    for (product_type, type_), (lo, hi) in _AMOUNT_USD_BY_TYPE.items():
        override = (product == product_type) & (F.col("cp_type") == type_)
        low = F.when(override, lo).otherwise(low)
        high = F.when(override, hi).otherwise(high)
    # Maturity: the share of open deals and the contractual term of the dated ones.
    open_share = _case(product, {p: F.lit(s) for p, s in _OPEN_SHARE.items()})
    # Current and savings accounts: retail-like deposits are more often on demand.
    open_share = F.when(retail_like & (product == "deposit"), 0.65).otherwise(open_share)
    # Equities (part of Level 2B) have no maturity.
    open_share = F.when((product == "security") & (F.col("hqla_class") == "L2B"), 0.4).otherwise(open_share)
    terms = {p: _pick(u["term"], dict.fromkeys(days, 1.0)) for p, days in _TERMS_DAYS.items()}
    frame = frame.select(
        "*",
        _element([e.entity_id for e in entities], F.col("entity")).alias("entity_id"),
        F.concat(F.lit("C"), F.lpad(cp_number, cp_width, "0")).alias("counterparty_id"),
        currency.alias("currency"),
        low.alias("low"),
        high.alias("high"),
        (u["open"] < open_share).alias("is_open"),
        _case(product, terms, default=F.lit(1)).cast("int").alias("term"),
    )

    # Amount: log-uniform in USD, HQLA scaled per entity, a +-1% drift per date, in deal currency.
    amount_usd = F.col("low") * F.exp(u["amount"] * F.log(F.col("high") / F.col("low")))
    hqla_scale = _case(F.col("entity"), {i: F.lit(e.hqla_scale) for i, e in enumerate(entities)})
    amount_usd = F.when(product.isin(*_HQLA_PRODUCTS), amount_usd * hqla_scale).otherwise(amount_usd)
    drift = 1 + 0.02 * (u["drift"] - 0.5)
    rate = _case(F.col("currency"), {c: F.lit(r) for c, r in BASE_RATES_TO_USD.items()})
    frame = frame.select("*", F.round(amount_usd * drift / rate, 2).cast(AMOUNT_TYPE).alias("amount"))

    # A dated deal sits at a random age within its term and rolls over at maturity: the residual
    # maturity on date d is (age0 - d) mod term, never negative, and the same deal on later dates.
    residual = F.pmod(_below(u["age"], F.col("term")) - F.col("day"), F.col("term")).cast("int")
    as_of = F.date_add(F.lit(first_date), F.col("day"))
    maturity = F.when(F.col("is_open"), F.lit(None).cast("date")).otherwise(F.date_add(as_of, residual))

    # Flags, where they are true in practice: deposit insurance and established relationships
    # for retail and small-business depositors, operational deposits for wholesale customers and
    # the bank's own operational balances at other financial institutions (placements, para 156),
    # encumbrance for pledged securities, re-used reverse repo collateral and reserves the central
    # bank does not let be drawn in stress (para 31).
    deposit = product == "deposit"
    placement = (product == "loan") & F.col("cp_type").isin("bank", "other_financial")
    insured_share = _case(
        F.col("cp_type"),
        {"retail": F.lit(0.80), "small_business": F.lit(0.55), "non_financial_corporate": F.lit(0.04)},
        F.lit(0.0),
    )
    stable_share = _case(
        F.col("cp_type"),
        {"retail": F.lit(0.70), "small_business": F.lit(0.45), "non_financial_corporate": F.lit(0.05)},
        F.lit(0.0),
    )
    operational_share = F.when(retail_like, 0.0).otherwise(0.30)
    encumbered_share = _case(
        product,
        {"security": F.lit(0.12), "reverse_repo": F.lit(0.05), "central_bank_reserve": F.lit(0.20)},
        F.lit(0.0),
    )
    # Repos are over-collateralised by 2-10%.
    collateral = F.round(F.col("amount") * (1.02 + 0.08 * u["collateral"]), 2).cast(AMOUNT_TYPE)
    v2_product, amount, maturity = _as_contract_v2(product, F.col("cp_type"), u["v2"], maturity, contract_v2)
    version = [F.when(v2_product.isNotNull(), F.lit("2")).alias("contract_version")] if contract_v2 else []

    return frame.select(
        F.concat(F.lit("D"), F.lpad((F.col("n") + 1).cast("string"), max(8, len(str(big))), "0")).alias(
            "deal_id"
        ),
        as_of.alias("as_of_date"),
        "entity_id",
        "counterparty_id",
        F.coalesce(v2_product, product).alias("product_type"),
        "currency",
        amount.alias("amount"),
        maturity.alias("maturity_date"),
        "hqla_class",
        (deposit & (u["insured"] < insured_share)).alias("is_insured"),
        (deposit & (u["stable"] < stable_share)).alias("is_stable_relationship"),
        ((deposit | placement) & (u["operational"] < operational_share)).alias("is_operational"),
        (u["encumbered"] < encumbered_share).alias("is_encumbered"),
        F.when(product.isin(*SECURED_PRODUCTS), collateral).alias("collateral_market_value"),
        *version,
    )


# Contract v2 (generate --contract-v2): (product, counterparty type, share of those deals) sent as each v2
# product instead. Derivatives become one signed netting-set row each (payable negative), no maturity.
_V2_SHARES: dict[str, tuple[tuple[str, ...], tuple[str, ...], float, float]] = {
    # v2 product: (v1 products, counterparty types, draw from, draw below)
    "derivative_net": (("derivative_payable", "derivative_receivable"), (), 0.0, 0.5),
    "debt_issued": (("deposit",), ("other_financial",), 0.0, 0.5),
    "other_contractual_outflow": (("deposit",), ("non_financial_corporate",), 0.0, 0.05),
    "trade_finance": (("credit_facility",), ("non_financial_corporate",), 0.0, 0.2),
    "guarantee": (("credit_facility",), ("non_financial_corporate",), 0.2, 0.3),
}


def _as_contract_v2(
    product: Column, cp_type: Column, draw: Column, maturity: Column, enabled: bool
) -> tuple[Column, Column, Column]:
    """(v2 product or null, amount, maturity) of each deal: unchanged when not `enabled`."""
    amount = F.col("amount")
    if not enabled:
        return F.lit(None).cast("string"), amount, maturity
    v2_product: Column = F.lit(None).cast("string")
    for name, (products, types, low, high) in _V2_SHARES.items():
        chosen = product.isin(*products) & (draw >= low) & (draw < high)
        if types:
            chosen = chosen & cp_type.isin(*types)
        v2_product = F.when(chosen, F.lit(name)).otherwise(v2_product)
    net = v2_product == F.lit("derivative_net")
    signed = F.when(net & (product == "derivative_payable"), -amount).otherwise(amount)
    return v2_product, signed, F.when(net, F.lit(None).cast("date")).otherwise(maturity)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def generate_bank(
    spark: SparkSession,
    out_dir: Path,
    *,
    deals: int,
    entities: int = 3,
    dates: int = 2,
    seed: int = 42,
    fmt: str = "csv",
    first_date: date = date(2026, 9, 29),
    contract_v2: bool = False,
) -> dict[str, int]:
    """Write a synthetic bank in input contract v1 to `out_dir`; return rows written per dataset.

    `contract_v2`: some deals are contract v2 products (debt issued, other contractual outflows, trade
    finance, guarantees, signed net derivatives), with the column contract_version; the v1 bank is the same
    without it.

    `dates` consecutive calendar days from `first_date`, deals spread evenly over them. The
    output depends only on the arguments. Deals go to `out_dir/deals/` in `fmt` ("csv" with a
    header, or "parquet"), replacing what is there; reference data to single CSV files.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if deals < 0 or entities < 1 or dates < 1:
        raise ValueError(f"need deals >= 0, entities >= 1, dates >= 1 (got {deals}, {entities}, {dates})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of_dates = [(first_date + timedelta(days=i)).isoformat() for i in range(dates)]

    group = make_entities(entities)
    entity_rows = [
        (
            day,
            e.entity_id,
            e.later_name if i > 0 and e.later_name else e.entity_name,
            e.country,
            e.reporting_currency,
        )
        for i, day in enumerate(as_of_dates)
        for e in group
    ]
    _write_csv(out_dir / "entities.csv", ENTITIES.columns, entity_rows)

    total_cps = counterparty_count(deals)
    snapshots = make_counterparties(total_cps, dates, seed)
    cp_rows = [
        (day, cp.counterparty_id, cp.counterparty_name, cp.counterparty_type, cp.country)
        for day, snapshot in zip(as_of_dates, snapshots, strict=True)
        for cp in snapshot
    ]
    _write_csv(out_dir / "counterparties.csv", COUNTERPARTIES.columns, cp_rows)

    fx_rows = [
        (day, ccy, f"{rate:.10f}")
        for day, rates in zip(as_of_dates, make_fx_rates(dates, seed), strict=True)
        for ccy, rate in rates.items()
    ]
    _write_csv(out_dir / "fx_rates.csv", FX_RATES.columns, fx_rows)

    frame = deal_frame(
        spark,
        deals=deals,
        entities=group,
        layout=counterparty_layout(total_cps),
        dates=dates,
        seed=seed,
        first_date=first_date,
        contract_v2=contract_v2,
    )
    assert tuple(frame.columns) == DEALS.columns + (DEALS.optional_columns if contract_v2 else ())
    writer = frame.write.mode("overwrite")
    if fmt == "csv":
        # Nulls become empty fields; dates are written as yyyy-MM-dd, booleans as true/false.
        writer.option("header", True).option("dateFormat", "yyyy-MM-dd").csv(str(out_dir / "deals"))
    else:
        writer.parquet(str(out_dir / "deals"))
    return {
        DEALS.name: deals,
        COUNTERPARTIES.name: len(cp_rows),
        ENTITIES.name: len(entity_rows),
        FX_RATES.name: len(fx_rows),
    }
