"""Regulatory parameters: the seed CSVs under seeds/regulatory, loaded and checked.

The seeds are the single source of every rate, haircut, cap and classification rule: the Spark
jobs read them here, dbt loads the same files as seeds for lineage and the LCR caps. Every rate is an
exact Decimal that the rate type holds (README "What is exact").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from regcalc import contract
from regcalc.decimals import RATE
from regcalc.settings import SEEDS_DIR, RegcalcError

REGULATORY_DIR = SEEDS_DIR / "regulatory"

# Columns of lcr_classification_rules.csv that are matched against deal attributes.
RULE_MATCH_COLUMNS = (
    "product_type",
    "counterparty_type",
    "hqla_class",
    "is_insured",
    "is_stable_relationship",
    "is_operational",
    "is_encumbered",
    "is_domestic",
    "maturity_bucket",
)
RULE_BOOLEAN_COLUMNS = (
    "is_insured",
    "is_stable_relationship",
    "is_operational",
    "is_encumbered",
    "is_domestic",
)
MATURITY_BUCKETS = ("open", "within_30d", "beyond_30d")
HQLA_LEVELS = ("L1", "L2A", "L2B")
# The parameter of a deal's row, one column per LCR section (the Category fields, the lake's and the models'
# deal columns): null outside its section, all null for an excluded deal; weight is the factor applied.
SECTION_RATE_COLUMNS = {"hqla": "haircut", "outflow": "run_off_rate", "inflow": "inflow_rate"}


@dataclass(frozen=True)
class Category:
    """One parameter row: what a classified deal contributes to the LCR and why."""

    code: str
    section: str  # hqla | outflow | inflow | excluded
    weight: Decimal  # the applied factor of the amount: 1 - haircut (hqla), the rate (flows), 0 (excluded)
    parameter_table: str
    bcbs_paragraph: str
    # The parameter of the row, in the field of its section (SECTION_RATE_COLUMNS; the others None).
    haircut: Decimal | None = None  # hqla
    run_off_rate: Decimal | None = None  # outflow
    inflow_rate: Decimal | None = None  # inflow
    hqla_level: str | None = None
    hqla_class: str | None = None


@dataclass(frozen=True)
class ClassificationRule:
    rule_order: int
    conditions: dict[str, tuple[str, ...]]  # column -> accepted values (an absent column matches anything)
    category_code: str


@dataclass(frozen=True)
class Parameters:
    categories: dict[str, Category]
    rules: tuple[ClassificationRule, ...]
    caps: dict[str, Decimal]

    @property
    def horizon_days(self) -> int:
        return int(self.caps["HORIZON_DAYS"])

    def haircut_for_class(self, hqla_class: str) -> Category | None:
        """The HQLA parameter row of a security class (used for repo collateral in the unwind)."""
        for category in self.categories.values():
            if category.hqla_class == hqla_class:
                return category
        return None


class _SeedReader:
    """Reads one seed CSV and collects every problem with its file, line and column."""

    def __init__(self, path: Path, required: tuple[str, ...], errors: list[str]):
        self.path = path
        self.errors = errors
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in required if column not in (reader.fieldnames or [])]
            if missing:
                raise RegcalcError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}"
                )
            # Line 1 is the header, so data rows start at line 2.
            self.rows = [(line, row) for line, row in enumerate(reader, start=2)]

    def error(self, line: int, column: str, message: str) -> None:
        self.errors.append(f"{self.path.name}:{line}: column {column}: {message}")

    def number(self, line: int, row: dict, column: str, low: int = 0, high: int = 1) -> Decimal:
        """The exact decimal written in the cell: in [low, high] and held by the rate type."""
        raw = (row.get(column) or "").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.error(line, column, f"{raw!r} is not a number")
            return Decimal(0)
        problem = RATE.problem(value)
        if problem:
            self.error(line, column, f"{raw!r} {problem}")
        elif not low <= value <= high:
            self.error(line, column, f"{value} is outside [{low}, {high}]")
        return value


def load_parameters(directory: Path = REGULATORY_DIR) -> Parameters:
    errors: list[str] = []
    categories: dict[str, Category] = {}

    def add(reader: _SeedReader, line: int, category: Category) -> None:
        if category.code in categories:
            reader.error(line, "category_code", f"{category.code} is defined twice")
        categories[category.code] = category

    haircuts = _SeedReader(
        directory / "param_hqla_haircuts.csv",
        ("category_code", "hqla_class", "hqla_level", "haircut", "bcbs_paragraph"),
        errors,
    )
    for line, row in haircuts.rows:
        haircut = haircuts.number(line, row, "haircut")
        if row["hqla_level"] not in HQLA_LEVELS:
            haircuts.error(
                line, "hqla_level", f"{row['hqla_level']!r} is not one of {', '.join(HQLA_LEVELS)}"
            )
        hqla_class = row["hqla_class"] or None
        if hqla_class is not None and hqla_class not in contract.HQLA_CLASSES:
            haircuts.error(line, "hqla_class", f"{hqla_class!r} is not an HQLA class of the input contract")
        add(
            haircuts,
            line,
            Category(
                row["category_code"],
                "hqla",
                1 - haircut,
                "param_hqla_haircuts",
                row["bcbs_paragraph"],
                haircut=haircut,
                hqla_level=row["hqla_level"],
                hqla_class=hqla_class,
            ),
        )

    for table, section, rate_column in (
        ("param_outflow_rates", "outflow", "run_off_rate"),
        ("param_inflow_rates", "inflow", "inflow_rate"),
    ):
        reader = _SeedReader(
            directory / f"{table}.csv", ("category_code", rate_column, "bcbs_paragraph"), errors
        )
        for line, row in reader.rows:
            rate = reader.number(line, row, rate_column)
            add(
                reader,
                line,
                Category(
                    row["category_code"],
                    section,
                    rate,
                    table,
                    row["bcbs_paragraph"],
                    **{SECTION_RATE_COLUMNS[section]: rate},
                ),
            )

    excluded = _SeedReader(
        directory / "param_excluded_categories.csv", ("category_code", "bcbs_paragraph"), errors
    )
    for line, row in excluded.rows:
        add(
            excluded,
            line,
            Category(
                row["category_code"],
                "excluded",
                Decimal(0),
                "param_excluded_categories",
                row["bcbs_paragraph"],
            ),
        )

    caps_reader = _SeedReader(
        directory / "param_lcr_caps.csv", ("cap_code", "cap_value", "bcbs_paragraph"), errors
    )
    caps = {
        row["cap_code"]: caps_reader.number(line, row, "cap_value", 0, 366) for line, row in caps_reader.rows
    }
    for required in ("L2B_CAP", "L2_CAP", "INFLOW_CAP", "HORIZON_DAYS"):
        if required not in caps:
            errors.append(f"param_lcr_caps.csv: cap_code {required} is missing")

    rules = _load_rules(directory / "lcr_classification_rules.csv", categories, errors)
    if errors:
        raise RegcalcError("regulatory parameter seeds are invalid:\n  " + "\n  ".join(errors))
    return Parameters(categories, rules, caps)


def _load_rules(
    path: Path, categories: dict[str, Category], errors: list[str]
) -> tuple[ClassificationRule, ...]:
    allowed = {
        "product_type": contract.CLASSIFIED_PRODUCT_TYPES,
        "counterparty_type": contract.COUNTERPARTY_TYPES,
        "hqla_class": contract.HQLA_CLASSES,
        "maturity_bucket": MATURITY_BUCKETS,
        **{column: ("true", "false") for column in RULE_BOOLEAN_COLUMNS},
    }
    reader = _SeedReader(path, ("rule_order", *RULE_MATCH_COLUMNS, "category_code"), errors)
    rules = []
    seen_orders: set[int] = set()
    for line, row in reader.rows:
        try:
            order = int(row["rule_order"])
        except ValueError:
            reader.error(line, "rule_order", f"{row['rule_order']!r} is not an integer")
            continue
        if order in seen_orders:
            reader.error(line, "rule_order", f"{order} is used twice; the order must be unique")
        seen_orders.add(order)
        conditions = {}
        for column in RULE_MATCH_COLUMNS:
            raw = (row[column] or "").strip()
            if not raw:
                continue
            values = tuple(value.strip() for value in raw.split("|"))
            unknown = [value for value in values if value not in allowed[column]]
            if unknown:
                reader.error(line, column, f"{', '.join(unknown)} not in {', '.join(allowed[column])}")
            conditions[column] = values
        if row["category_code"] not in categories:
            reader.error(line, "category_code", f"{row['category_code']!r} is in no parameter seed")
        rules.append(ClassificationRule(order, conditions, row["category_code"]))
    return tuple(sorted(rules, key=lambda rule: rule.rule_order))
