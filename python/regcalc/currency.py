"""`regcalc lcr --by-currency`: the LCR per significant currency (mart fct_lcr_currency; BCBS 238
para 42-43)."""

from __future__ import annotations

from datetime import date

from regcalc.marts import LCR_COLUMNS, Marts
from regcalc.settings import RegcalcError

# fct_lcr_currency's key and share of the liabilities, then the figures of `regcalc lcr`
CURRENCY_COLUMNS = ("entity_id", "as_of_date", "currency", "liability_share", *LCR_COLUMNS[2:])


def read_currency_lcr(
    marts: Marts,
    as_of: date | None = None,
    entity: str | None = None,
    scenario: str = "base",
    significant_only: bool = True,
) -> list[dict]:
    """fct_lcr_currency's rows (CURRENCY_COLUMNS plus is_significant; amounts in the entity's reporting
    currency, liability_share and lcr ratios) of the scenario, date and entity, significant currencies only
    unless `significant_only` is false; ordered by date, entity, currency.

    Raises RegcalcError when there is none."""
    conditions = [f"lcr.scenario = {marts.literal(scenario)}"]
    if as_of is not None:
        conditions.append(f"lcr.as_of_date = {marts.literal(as_of)}")
    if entity is not None:
        conditions.append(f"lcr.entity_id = {marts.literal(entity)}")
    if significant_only:
        conditions.append("lcr.is_significant")
    columns = ", ".join(f"lcr.{column}" for column in (*CURRENCY_COLUMNS, "is_significant"))
    sql = (
        f"select {columns} from {marts.relation('fct_lcr_currency')} as lcr where {' and '.join(conditions)}"
    )
    rows = sorted(marts.query(sql), key=lambda row: (row["as_of_date"], row["entity_id"], row["currency"]))
    if not rows:
        raise RegcalcError(
            "no LCR by currency"
            + (f" for as-of {as_of}" if as_of else "")
            + (f" and entity {entity}" if entity else "")
            + (f" in scenario {scenario}" if scenario != "base" else "")
        )
    return rows
