"""Exact decimal types of money and rates, declared once: vars `money_type` and `rate_type` of
dbt_project.yml (see README "What is exact").

dbt reads them through the macros `type_money()` / `type_rate()` and the YAML data_types
(`"{{ var('money_type') }}"`); the Spark jobs, the parameter loader and the Spectrum DDL read them here.
A product or a quotient is rounded HALF_UP to the scale of its type (`money`), so Spark, PostgreSQL and
Redshift give the same digits and every sum of them is exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import jinja2
import yaml
from pyspark.sql import Column
from pyspark.sql import functions as F

from regcalc.settings import PROJECT_DIR, RegcalcError

_DECIMAL = re.compile(r"^\s*(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DecimalType:
    """decimal(precision, scale) as SQL text, with the checks a value of it must pass."""

    sql: str
    precision: int
    scale: int

    @classmethod
    def parse(cls, text: str) -> DecimalType:
        match = _DECIMAL.match(text or "")
        if not match:
            raise RegcalcError(f"{text!r} is not a decimal(precision, scale) type")
        precision, scale = int(match[1]), int(match[2])
        return cls(f"decimal({precision},{scale})", precision, scale)

    def problem(self, value: Decimal) -> str | None:
        """Why `value` cannot be held by this type exactly (e.g. "has more than 6 decimals (decimal(9,6))"),
        or None. The same words as the macro adjustment_decimal_problem."""
        if not value.is_finite():
            return "is not a finite number"
        _, digits, exponent = value.as_tuple()
        significant = "".join(map(str, digits)).rstrip("0")
        # digits after the decimal point, trailing zeros not counted (0.150 has 2, 1.5E+3 none)
        if significant and -(exponent + len(digits) - len(significant)) > self.scale:
            return f"has more than {self.scale} decimals ({self.sql})"
        if abs(value) >= Decimal(10) ** (self.precision - self.scale):
            return f"has more than {self.precision - self.scale} integer digits ({self.sql})"
        return None

    @classmethod
    def of(cls, data_type: str) -> DecimalType | None:
        """The decimal type a data_type names, or None for any other type."""
        return cls.parse(data_type) if _DECIMAL.match(data_type or "") else None


@cache
def project_vars() -> dict:
    """The vars of dbt_project.yml (the one definition of the decimal types)."""
    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def render_data_type(text: str) -> str:
    """A YAML data_type as dbt renders it, e.g. "{{ var('money_type') }}" -> "decimal(38,6)"."""
    variables = project_vars()
    return jinja2.Template(str(text)).render(var=lambda name, default=None: variables.get(name, default))


MONEY = DecimalType.parse(project_vars()["money_type"])
RATE = DecimalType.parse(project_vars()["rate_type"])


def money(column: Column) -> Column:
    """An exact money value: a decimal product, quotient or sum rounded HALF_UP to the money scale."""
    return F.round(column, MONEY.scale).cast(MONEY.sql)
