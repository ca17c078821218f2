"""`regcalc movement`: why an entity's LCR moved between two as-of dates.

With H the stock of HQLA and N the net cash outflows of fct_lcr on the dates d1 and d2, the change of the
ratio splits exactly into an HQLA effect (the new HQLA over the old outflows) and a net-outflow effect (the
new HQLA over the change of the outflows):

    H2/N2 - H1/N1  =  (H2 - H1) / N1  +  H2 (1/N2 - 1/N1)  =  sum(dH_i) / N1  -  H2 sum(dN_i) / (N1 N2)

Each is a sum of lines, linear in the lines' changes, so each line has an exact share of the change:

* HQLA lines (dH_i): every HQLA category of fct_lcr_category (weighted, after haircut),
  the lcr_components adjustments of the stock, and minus the changes of the two cap adjustments (adj_15_cap,
  adj_40_cap) with the unwind behind them;
* net-outflow lines (dN_i): every outflow category (+ its change), every inflow category (- its change),
  the lcr_components adjustments of the flows, and the inflow cap (the change of total_inflows -
  capped_inflows: inflows the 75% cap cuts off).

Lines are grouped by LCR category, by lcr_section or by template LIQ1 row (`--by liq1`: the seed
liq1_category_rows maps each category to its row, liq1_template_rows gives the label; HQLA categories are
row 1, a category LIQ1 does not show, e.g. beyond 30 days, is "not in LIQ1"), all through `group_lines`.
Beside the effects: the deals that moved most (new on d2, matured or gone since d1, changed) from
fct_deal_liquidity, ranked in the database, and the adjustment rules that applied to the entity on one date
and not the other. Amounts are in the entity's reporting currency; every value is read through Marts
(floats, for display), so the same document comes from every target.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from regcalc.marts import Marts, read_lcr
from regcalc.settings import RegcalcError

GROUPINGS = ("category", "lcr_section", "liq1")
NOT_IN_LIQ1 = "not in LIQ1"
LINE_COLUMNS = ("group", "value_from", "value_to", "change", "lcr_effect")
DEAL_COLUMNS = (
    "deal_id",
    "status",
    "product_type",
    "currency",
    "category_from",
    "category_to",
    "weighted_from",
    "weighted_to",
    "change",
)
_COMPONENT_LINES = (
    # (component of fct_lcr, lcr_section of its categories, line label of what the categories don't explain)
    ("hqla_stock", "hqla", "lcr_components adjustments (HQLA)"),
    ("total_outflows", "outflow", "lcr_components adjustments (outflows)"),
    ("total_inflows", "inflow", "lcr_components adjustments (inflows)"),
)


def _lcr_row(marts: Marts, entity: str, day: date, scenario: str) -> dict:
    rows = read_lcr(marts, day, entity, scenario)
    if not rows:
        dates = sorted({row["as_of_date"] for row in read_lcr(marts, None, entity, scenario)})
        raise RegcalcError(
            f"fct_lcr has no row for entity {entity} on {day} in scenario {scenario} "
            f"(dates of {entity}: {', '.join(map(str, dates)) or 'none'})"
        )
    row = rows[0]
    if not row["net_cash_outflows"]:
        raise RegcalcError(f"the LCR of {entity} on {day} is not defined: net cash outflows are 0")
    return row


def _categories(marts: Marts, entity: str, first: date, second: date, scenario: str) -> list[dict]:
    """Per LCR category: lcr_section, weighted amount on each date (0 where the category had no deal)."""
    totals = marts.relation("fct_lcr_category")
    sql = f"""
select totals.category_code, totals.lcr_section,
    sum(case when totals.as_of_date = {marts.literal(first)} then totals.weighted_amount else 0 end)
        as value_from,
    sum(case when totals.as_of_date = {marts.literal(second)} then totals.weighted_amount else 0 end)
        as value_to
from {totals} as totals
where totals.scenario = {marts.literal(scenario)} and totals.entity_id = {marts.literal(entity)}
    and totals.as_of_date in ({marts.literal(first)}, {marts.literal(second)})
    and totals.lcr_section in ('hqla', 'outflow', 'inflow')
group by totals.category_code, totals.lcr_section"""
    return sorted(marts.query(sql), key=lambda row: (row["lcr_section"], row["category_code"]))


def _lines(before: dict, after: dict, categories: list[dict]) -> list[dict]:
    """Every line with its change (dH_i or dN_i as it enters the formula) and its exact share of the
    LCR change."""
    h2, n1, n2 = after["hqla"], before["net_cash_outflows"], after["net_cash_outflows"]
    lines = []

    def add(
        kind: str, section: str, category: str | None, label: str, value_from, value_to, sign: int
    ) -> None:
        change = sign * (value_to - value_from)  # dH_i (kind hqla) or dN_i (kind net_outflow)
        effect = change / n1 if kind == "hqla" else -h2 * change / (n1 * n2)
        lines.append(
            {
                "effect_on": kind,
                "lcr_section": section,
                "category_code": category,
                "label": label,
                "value_from": value_from,
                "value_to": value_to,
                "change": value_to - value_from,
                "lcr_effect": effect,
            }
        )

    explained = {"hqla": [0.0, 0.0], "outflow": [0.0, 0.0], "inflow": [0.0, 0.0]}
    for row in categories:
        section = row["lcr_section"]
        explained[section][0] += row["value_from"]
        explained[section][1] += row["value_to"]
        kind, sign = ("hqla", 1) if section == "hqla" else ("net_outflow", 1 if section == "outflow" else -1)
        add(
            kind,
            section,
            row["category_code"],
            row["category_code"],
            row["value_from"],
            row["value_to"],
            sign,
        )
    for row in (before, after):
        row["hqla_stock"] = row["hqla_level1"] + row["hqla_level2a"] + row["hqla_level2b"]
    for component, section, label in _COMPONENT_LINES:
        residual_from = before[component] - explained[section][0]
        residual_to = after[component] - explained[section][1]
        if residual_from or residual_to:
            kind, sign = (
                ("hqla", 1) if section == "hqla" else ("net_outflow", 1 if section == "outflow" else -1)
            )
            add(kind, section, None, label, residual_from, residual_to, sign)
    add("hqla", "cap", None, "Level 2B cap (adj_15_cap)", before["adj_15_cap"], after["adj_15_cap"], -1)
    add("hqla", "cap", None, "Level 2 cap (adj_40_cap)", before["adj_40_cap"], after["adj_40_cap"], -1)
    cut = [row["total_inflows"] - row["capped_inflows"] for row in (before, after)]
    add("net_outflow", "cap", None, "75% inflow cap (inflows cut off)", cut[0], cut[1], 1)
    return lines


def group_lines(lines: list[dict], group_of: Callable[[dict], str]) -> list[dict]:
    """Lines summed per group (`group_of(line)`, e.g. its category or a LIQ1 row of a mapping seed), in the
    order each group first appears: group, value_from, value_to, change, lcr_effect. Cap and adjustment
    lines (no category) are their own groups."""
    groups: dict[str, dict] = {}
    for line in lines:
        name = group_of(line) if line["category_code"] is not None else line["label"]
        group = groups.setdefault(
            name, {"group": name, "value_from": 0.0, "value_to": 0.0, "change": 0.0, "lcr_effect": 0.0}
        )
        for column in ("value_from", "value_to", "change", "lcr_effect"):
            group[column] += line[column]
    return list(groups.values())


GROUPERS: dict[str, Callable[[dict], str]] = {
    "category": lambda line: line["category_code"],
    "lcr_section": lambda line: line["lcr_section"],
}


def liq1_rows(marts: Marts) -> dict[str, tuple[int, str]]:
    """LCR category -> (LIQ1 row, "row N: label") from the seeds liq1_category_rows and liq1_template_rows
    as built on the target; a category without a row (blank in the seed) is left out."""
    template, mapping = marts.relation("liq1_template_rows"), marts.relation("liq1_category_rows")
    labels = {
        int(row["liq1_row"]): row["row_label"]
        for row in marts.query(f"select template.liq1_row, template.row_label from {template} as template")
    }
    mapped = marts.query(
        f"select mapping.category_code, mapping.liq1_row from {mapping} as mapping "
        "where mapping.liq1_row is not null"
    )
    return {
        row["category_code"]: (
            int(row["liq1_row"]),
            f"row {int(row['liq1_row'])}: {labels[int(row['liq1_row'])]}",
        )
        for row in mapped
    }


def _grouped(marts: Marts, lines: list[dict], by: str) -> list[dict]:
    """The effects grouped `by`; LIQ1 rows in template order, then the lines of no category or row."""
    if by != "liq1":
        return group_lines(lines, GROUPERS[by])
    rows = liq1_rows(marts)
    groups = group_lines(lines, lambda line: rows.get(line["category_code"], (0, NOT_IN_LIQ1))[1])
    order = {label: number for number, label in rows.values()}
    return sorted(groups, key=lambda group: (group["group"] not in order, order.get(group["group"], 0)))


def _deals(marts: Marts, entity: str, first: date, second: date, scenario: str, top: int) -> list[dict]:
    """The `top` deals whose weighted amount moved most between the dates (new, matured, changed)."""
    deals = marts.relation("fct_deal_liquidity")

    def side(day: date) -> str:
        return (
            f"select deals.deal_id, deals.product_type, deals.currency, deals.category_code, "
            f"deals.weighted_amount, deals.unwind_level1, deals.unwind_level2a, deals.unwind_level2b "
            f"from {deals} as deals where deals.scenario = {marts.literal(scenario)} "
            f"and deals.entity_id = {marts.literal(entity)} and deals.as_of_date = {marts.literal(day)}"
        )

    change = "coalesce(later.weighted_amount, 0) - coalesce(earlier.weighted_amount, 0)"
    moved = " or ".join(
        f"earlier.{column} <> later.{column}"
        for column in (
            "category_code",
            "weighted_amount",
            "unwind_level1",
            "unwind_level2a",
            "unwind_level2b",
        )
    )
    sql = f"""
select coalesce(later.deal_id, earlier.deal_id) as deal_id,
    case when earlier.deal_id is null then 'new' when later.deal_id is null then 'matured' else 'changed' end
        as status,
    coalesce(later.product_type, earlier.product_type) as product_type,
    coalesce(later.currency, earlier.currency) as currency,
    earlier.category_code as category_from, later.category_code as category_to,
    earlier.weighted_amount as weighted_from, later.weighted_amount as weighted_to,
    {change} as change
from ({side(first)}) as earlier
full outer join ({side(second)}) as later
    on earlier.deal_id = later.deal_id
where earlier.deal_id is null or later.deal_id is null or {moved}
order by abs({change}) desc, coalesce(later.deal_id, earlier.deal_id)
limit {int(top)}"""
    return sorted(marts.query(sql), key=lambda row: (-abs(row["change"]), row["deal_id"]))


def _rules(marts: Marts, entity: str, day: date, scenario: str) -> set[str]:
    """Adjustment rules that changed a row of the entity on the date, at any point."""
    keys = (
        f"scenario = {marts.literal(scenario)} and entity_id = {marts.literal(entity)} "
        f"and as_of_date = {marts.literal(day)}"
    )
    lists = []
    for model, column, flag in (
        ("fct_deal_liquidity", "adjustment_rule_ids", "is_adjusted"),
        ("fct_lcr_category", "adjustment_rule_ids", "is_adjusted"),
        ("fct_lcr", "component_adjustment_rule_ids", "has_component_adjustments"),
    ):
        sql = f"select distinct {column} as rule_ids from {marts.relation(model)} where {keys} and {flag}"
        lists += [row["rule_ids"] for row in marts.query(sql)]
    return {rule.strip() for rule_ids in lists if rule_ids for rule in rule_ids.split(",") if rule.strip()}


def movement(
    marts: Marts,
    entity: str,
    first: date,
    second: date,
    scenario: str = "base",
    top: int = 10,
    by: str = "category",
) -> dict:
    """The movement document: lcr on both dates, change = hqla_effect + net_outflow_effect, `effects`
    (lines grouped `by` category, lcr_section or LIQ1 row: LINE_COLUMNS, amounts in reporting currency,
    lcr_effect a ratio), `lines` (ungrouped), `deals` (DEAL_COLUMNS, the `top` by |change|),
    `rules_started` and `rules_stopped` ({rule_id, description}).

    Raises RegcalcError: a date without fct_lcr row, an undefined LCR (net cash outflows 0), first not
    before second."""
    if first >= second:
        raise RegcalcError(f"--from {first} must be before --to {second}")
    if by not in GROUPINGS:
        raise RegcalcError(f"--by {by}: one of {', '.join(GROUPERS)}")
    before, after = _lcr_row(marts, entity, first, scenario), _lcr_row(marts, entity, second, scenario)
    lines = _lines(before, after, _categories(marts, entity, first, second, scenario))
    rules_from, rules_to = _rules(marts, entity, first, scenario), _rules(marts, entity, second, scenario)
    described = {
        row["rule_id"]: row["description"]
        for row in marts.query(f"select rule_id, description from {marts.relation('dim_adjustment_rule')}")
    }

    def rules(ids: set[str]) -> list[dict]:
        return [{"rule_id": rule, "description": described.get(rule)} for rule in sorted(ids)]

    hqla_effect = sum(line["lcr_effect"] for line in lines if line["effect_on"] == "hqla")
    outflow_effect = sum(line["lcr_effect"] for line in lines if line["effect_on"] == "net_outflow")
    return {
        "entity_id": entity,
        "scenario": scenario,
        "from": first,
        "to": second,
        "lcr_from": before["lcr"],
        "lcr_to": after["lcr"],
        "hqla_from": before["hqla"],
        "hqla_to": after["hqla"],
        "net_cash_outflows_from": before["net_cash_outflows"],
        "net_cash_outflows_to": after["net_cash_outflows"],
        "change": after["hqla"] / after["net_cash_outflows"] - before["hqla"] / before["net_cash_outflows"],
        "hqla_effect": hqla_effect,
        "net_outflow_effect": outflow_effect,
        "by": by,
        "effects": _grouped(marts, lines, by),
        "lines": lines,
        "deals": _deals(marts, entity, first, second, scenario, top),
        "rules_started": rules(rules_to - rules_from),
        "rules_stopped": rules(rules_from - rules_to),
    }
