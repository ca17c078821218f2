"""Reference LCR: an independent, pure-Python test oracle for regcalc (Basel III, BCBS 238).

It reads the input-contract CSV files of one folder with the csv module and computes the LCR per
(entity_id, as_of_date). It does NOT use the regcalc package or the seed tables: the classification and
the rate table below are written from BCBS 238 directly, so that a disagreement between this module and
the pipeline points at a bug in one of them (only the contract's column names are shared).

    compute_lcr(input_dir)       -> list of dicts, one per (entity_id, as_of_date)
    rejected_deals(input_dir)    -> {deal_id: reason} for the rows that break the contract
    rejected_deal_ids(input_dir) -> set of those deal_ids
    evaluate(input_dir)          -> OracleResult (LCR rows, rejects and the classified deal lines)

Spec followed (shared with the pipeline):
- Amounts (and collateral_market_value) go to the entity's reporting currency with the same-date FX
  snapshot: amount * rate_to_usd(deal ccy) / rate_to_usd(reporting ccy).
- Residual maturity = maturity_date - as_of_date in days; blank = "open"; <= 30 "within_30d"; else
  "beyond_30d" (BCBS 238 para 16: a 30 calendar-day stress scenario; para 69: net cash outflows over the
  next 30 calendar days). is_domestic = counterparty.country == entity.country on the same snapshot
  ("domestic": the jurisdiction where the bank is incorporated, footnote to para 113).
- HQLA at post-haircut value; Annex 1 caps on the levels adjusted for the unwind of repos / reverse repos
  that are within 30 days or open; the 75% inflow cap (para 69 and 144).
- Contract v2 (a `contract_version` column; blank or absent = 1): debt issued, other contractual outflows,
  trade finance, guarantees, and signed net derivative flows per netting set (`derivative_net`: negative =
  net outflow, positive = net inflow; the row is the netting set).
- Arithmetic is exact (fractions.Fraction: amounts, FX rates and rates as the decimals written in the files
  and in the table below), so a cap exactly at its limit gives exactly 0; results are returned as floats.
  The pipeline rounds each product to 6 decimals, so the two agree to far better than a cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

# --------------------------------------------------------------------------------------------------------
# Contract vocabulary (contract v1; restated here so the oracle stays independent of the package)
# --------------------------------------------------------------------------------------------------------
DEAL_COLUMNS = (
    "deal_id", "as_of_date", "entity_id", "counterparty_id", "product_type", "currency", "amount",
    "maturity_date", "hqla_class", "is_insured", "is_stable_relationship", "is_operational",
    "is_encumbered", "collateral_market_value",
)  # fmt: skip
PRODUCT_TYPES = {
    "cash", "central_bank_reserve", "security", "deposit", "loan", "repo", "reverse_repo",
    "credit_facility", "liquidity_facility", "derivative_payable", "derivative_receivable",
}  # fmt: skip
# Contract v2 only: sent on a row whose contract_version is 2
V2_PRODUCT_TYPES = {
    "debt_issued",
    "other_contractual_outflow",
    "trade_finance",
    "guarantee",
    "derivative_net",
}
CONTRACT_VERSIONS = {"1", "2"}
WITH_HQLA_CLASS = {"security", "repo", "reverse_repo"}
HQLA_CLASSES = {"L1", "L2A", "L2B_RMBS", "L2B", "NON_HQLA"}
COUNTERPARTY_TYPES = {
    "retail", "small_business", "non_financial_corporate", "sovereign", "central_bank", "pse", "mdb",
    "bank", "other_financial",
}  # fmt: skip
TRUE_VALUES = {"true", "t", "1", "yes", "y"}
FALSE_VALUES = {"false", "f", "0", "no", "n", ""}

HORIZON_DAYS = 30  # BCBS 238 para 16 and 69: 30 calendar days

RETAIL_LIKE = {"retail", "small_business"}  # para 89: small business deposits are treated as retail
NON_FINANCIAL_WHOLESALE = {"non_financial_corporate", "sovereign", "central_bank", "pse", "mdb"}
FINANCIAL = {"bank", "other_financial"}

# --------------------------------------------------------------------------------------------------------
# BCBS 238 parameters (the oracle's own table)
# --------------------------------------------------------------------------------------------------------
# Haircuts on the stock of HQLA
HAIRCUT = {
    "L1": 0.00,  # para 50: Level 1 (coins and banknotes, CB reserves, 0% RW sovereign paper): no haircut
    "L2A": 0.15,  # para 52: Level 2A at least 15% haircut
    "L2B_RMBS": 0.25,  # para 54(a): Level 2B RMBS 25% haircut
    "L2B": 0.50,  # para 54(b)-(c): Level 2B corporate debt and equities 50% haircut
}
# Which cap bucket each class counts in (para 51 / 53; RMBS and other 2B are both Level 2B)
LEVEL_OF = {"L1": "L1", "L2A": "L2A", "L2B_RMBS": "L2B", "L2B": "L2B"}

L2B_CAP = 0.15  # para 47 and Annex 1: Level 2B at most 15% of HQLA (after haircuts, adjusted levels)
L2_CAP = 0.40  # para 51 and Annex 1: Level 2 at most 40% of HQLA
INFLOW_CAP = 0.75  # para 69 and 144: inflows offset at most 75% of outflows

# Run-off rates (outflows)
RETAIL_STABLE = 0.05  # para 75 (and para 89 for small business): insured + established relationship
RETAIL_LESS_STABLE = 0.10  # para 79 (and para 89)
RETAIL_TERM = 0.00  # para 82-83: no legal right to withdraw within 30 days -> excluded
WHOLESALE_TERM = 0.00  # para 86-87: only funding callable / maturing within 30 days counts
OPERATIONAL_INSURED = 0.05  # para 104: operational deposits fully covered by deposit insurance
OPERATIONAL = 0.25  # para 93: operational deposits (clearing, custody, cash management)
NONFIN_INSURED = 0.20  # para 108: non-financial corporates / sovereigns / CBs / PSEs / MDBs, fully insured
NONFIN = 0.40  # para 107: non-financial corporates / sovereigns / CBs / PSEs / MDBs
FINANCIAL_RUNOFF = 1.00  # para 109: banks and other financial institutions
SECURED_TERM = 0.00  # para 113: the factors apply to secured funding maturing within 30 days
SECURED_L1_OR_CB = 0.00  # para 114-115: backed by Level 1, or with the bank's DOMESTIC central bank
SECURED_L2A = 0.15  # para 115: backed by Level 2A
SECURED_DOMESTIC_SOV = 0.25  # para 114-115: domestic sovereign, domestic PSE, or ANY MDB; not L1 / L2A
SECURED_L2B_RMBS = 0.25  # para 115: backed by Level 2B RMBS
SECURED_L2B = 0.50  # para 115: backed by other Level 2B
SECURED_OTHER = 1.00  # para 115: all other secured funding
DERIVATIVE_OUT = 1.00  # para 116: net derivative cash outflows within 30 days
FACILITY_RETAIL = 0.05  # para 131(a): credit and liquidity facilities to retail / small business
CREDIT_FACILITY_NONFIN = 0.10  # para 131(b): credit facilities to non-fin corp / sov / CB / PSE / MDB
LIQUIDITY_FACILITY_NONFIN = 0.30  # para 131(c): liquidity facilities to the same
FACILITY_BANK = 0.40  # para 131(d): credit and liquidity facilities to banks
CREDIT_FACILITY_FIN = 0.40  # para 131(e): credit facilities to other financial institutions
LIQUIDITY_FACILITY_FIN = 1.00  # para 131(f): liquidity facilities to other financial institutions
UNSECURED_DEBT = 1.00  # para 110: notes, bonds and other debt securities issued, maturing within 30 days
OTHER_CONTRACTUAL = 1.00  # para 141: other contractual cash outflows within 30 days
TRADE_FINANCE = 0.05  # para 138-139: national rate, "relatively low (eg 5% or less)": regcalc's base is 5%
GUARANTEE = 0.05  # para 140: national discretion with no Basel rate; regcalc's base takes para 139's 5%

# Inflow rates
REVREPO_INFLOW = {  # para 145: maturing secured lending by collateral
    "L1": 0.00,
    "L2A": 0.15,
    "L2B_RMBS": 0.25,
    "L2B": 0.50,
    "NON_HQLA": 1.00,
}
REVREPO_REHYPOTHECATED = 0.00  # para 146: collateral re-used to cover short positions -> rolled over
LOAN_RETAIL = 0.50  # para 153: retail and small business
LOAN_NONFIN = 0.50  # para 154(b): non-financial wholesale
LOAN_FINANCIAL = 1.00  # para 154(a): financial institutions and central banks
OPERATIONAL_PLACEMENT = 0.00  # para 156: operational deposits held at other financial institutions
SECURITY_MATURING = 1.00  # para 155: non-HQLA securities maturing within 30 days
DERIVATIVE_IN = 1.00  # para 158: net derivative cash inflows within 30 days
# para 152: no inflow from loans with open maturity; inflows beyond 30 days are outside the horizon.


# --------------------------------------------------------------------------------------------------------
# Data structures
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One classified good deal, amounts in the reporting currency."""

    deal_id: str
    entity_id: str
    as_of_date: str
    product_type: str
    category: str  # category code (same names as the seed table, for deal-level comparison)
    kind: str  # hqla | outflow | inflow | excluded
    amount: Fraction  # converted amount (exact)
    # the line's parameter, in the field of its kind (the others None; all None for excluded)
    haircut: Fraction | None  # hqla
    run_off_rate: Fraction | None  # outflow
    inflow_rate: Fraction | None  # inflow
    value: Fraction  # hqla: amount * (1 - haircut); outflow / inflow: amount * rate; excluded: 0
    level: str | None  # L1 / L2A / L2B for hqla lines
    unwind_l1: Fraction = Fraction(0)
    unwind_level: str | None = None
    unwind_value: Fraction = Fraction(0)


@dataclass
class OracleResult:
    lcr_rows: list[dict]
    rejects: dict[str, str]
    lines: list[Line] = field(default_factory=list)


class ContractError(ValueError):
    """A file breaks the contract as a whole (missing column, missing file)."""


# --------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_flag(text: str) -> bool | None:
    value = (text or "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    return None


def parse_number(text: str) -> Fraction | None:
    """The exact value of a finite decimal number as written, or None."""
    text = (text or "").strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    try:
        return Fraction(text)
    except ValueError:
        return Fraction(value)


def exact(rate: float) -> Fraction:
    """A rate of the table above as the decimal it is written as (0.15 -> 3/20)."""
    return Fraction(repr(rate))


def section_rates(kind: str, rate: float) -> tuple[Fraction | None, Fraction | None, Fraction | None]:
    """(haircut, run_off_rate, inflow_rate) of a line of `kind` whose classify() rate is `rate`: the exact
    rate in the field of its kind, None in the others (all None for an excluded line)."""
    value = exact(rate)
    return (
        value if kind == "hqla" else None,
        value if kind == "outflow" else None,
        value if kind == "inflow" else None,
    )


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    return header, rows


def _read_table(input_dir: Path, name: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    path = input_dir / f"{name}.csv"
    if not path.exists():
        raise ContractError(f"missing {path}")
    header, rows = _read_rows(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise ContractError(f"{path}: missing columns {missing}")
    out = []
    for row in rows:
        if len(row) != len(header):
            continue  # malformed reference row: ignored (the lookup then fails for its deals)
        out.append({h: v.strip() for h, v in zip(header, row, strict=True)})
    return out


def _deal_files(input_dir: Path) -> list[Path]:
    if (input_dir / "deals.csv").exists():
        return [input_dir / "deals.csv"]
    folder = input_dir / "deals"
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        raise ContractError(f"no deals.csv nor deals/*.csv under {input_dir}")
    return files


# --------------------------------------------------------------------------------------------------------
# Classification (BCBS 238; see the rate table above)
# --------------------------------------------------------------------------------------------------------
def classify(
    product: str,
    cp_type: str,
    hqla_class: str,
    insured: bool,
    stable: bool,
    operational: bool,
    encumbered: bool,
    domestic: bool,
    bucket: str,
) -> tuple[str, str, float]:
    """Return (category_code, kind, rate). For hqla, rate is the haircut; 0 for excluded (section_rates
    puts it in the deal's haircut, run_off_rate or inflow_rate)."""
    within = bucket != "beyond_30d"  # open counts as callable now

    if product in {"cash", "central_bank_reserve"} and encumbered:
        return "EXCL_ENCUMBERED_ASSET", "excluded", 0.0  # para 31: every asset of the stock unencumbered
    if product == "cash":
        return "HQLA_L1_CASH", "hqla", HAIRCUT["L1"]  # para 50(a)
    if product == "central_bank_reserve":
        return "HQLA_L1_CB_RESERVE", "hqla", HAIRCUT["L1"]  # para 50(b)

    if product == "security":
        if encumbered:
            return "EXCL_ENCUMBERED_ASSET", "excluded", 0.0  # para 31: HQLA must be unencumbered
        if hqla_class in HAIRCUT:
            code = {
                "L1": "HQLA_L1_SECURITY",
                "L2A": "HQLA_L2A_SECURITY",
                "L2B_RMBS": "HQLA_L2B_RMBS",
                "L2B": "HQLA_L2B_SECURITY",
            }[hqla_class]
            return code, "hqla", HAIRCUT[hqla_class]
        if bucket == "within_30d":  # NON_HQLA with a maturity within 30 days (open is not maturing)
            return "IN_SECURITY_MATURING", "inflow", SECURITY_MATURING
        return "EXCL_NON_HQLA_SECURITY", "excluded", 0.0

    if product == "deposit":
        if cp_type in RETAIL_LIKE:
            if bucket == "beyond_30d":
                return "OUT_RETAIL_TERM", "outflow", RETAIL_TERM
            prefix = "OUT_RETAIL" if cp_type == "retail" else "OUT_SME"
            if insured and stable:
                return f"{prefix}_STABLE", "outflow", RETAIL_STABLE
            return f"{prefix}_LESS_STABLE", "outflow", RETAIL_LESS_STABLE
        if bucket == "beyond_30d":
            return "OUT_WHOLESALE_TERM", "outflow", WHOLESALE_TERM
        if operational:
            if insured:
                return "OUT_OPERATIONAL_INSURED", "outflow", OPERATIONAL_INSURED
            return "OUT_OPERATIONAL", "outflow", OPERATIONAL
        if cp_type in NON_FINANCIAL_WHOLESALE:
            if insured:
                return "OUT_NONFIN_INSURED", "outflow", NONFIN_INSURED
            return "OUT_NONFIN", "outflow", NONFIN
        return "OUT_FINANCIAL", "outflow", FINANCIAL_RUNOFF

    if product == "repo":
        if not within:
            return "OUT_SECURED_TERM", "outflow", SECURED_TERM
        if hqla_class == "L1" or (cp_type == "central_bank" and domestic):
            return "OUT_SECURED_L1_OR_CB", "outflow", SECURED_L1_OR_CB
        if hqla_class == "L2A":
            return "OUT_SECURED_L2A", "outflow", SECURED_L2A
        if (domestic and cp_type in {"sovereign", "pse"}) or cp_type == "mdb":
            return "OUT_SECURED_SOVEREIGN", "outflow", SECURED_DOMESTIC_SOV
        if hqla_class == "L2B_RMBS":
            return "OUT_SECURED_L2B_RMBS", "outflow", SECURED_L2B_RMBS
        if hqla_class == "L2B":
            return "OUT_SECURED_L2B", "outflow", SECURED_L2B
        return "OUT_SECURED_OTHER", "outflow", SECURED_OTHER

    if product == "reverse_repo":
        if not within:
            return "EXCL_TERM_ASSET", "excluded", 0.0
        if encumbered:
            return "IN_REVREPO_REHYPOTHECATED", "inflow", REVREPO_REHYPOTHECATED
        code = {"L1": "IN_REVREPO_L1", "L2A": "IN_REVREPO_L2A", "L2B_RMBS": "IN_REVREPO_L2B_RMBS"}
        code |= {"L2B": "IN_REVREPO_L2B", "NON_HQLA": "IN_REVREPO_OTHER"}
        return code[hqla_class], "inflow", REVREPO_INFLOW[hqla_class]

    if product in {"credit_facility", "liquidity_facility"}:
        credit = product == "credit_facility"
        if cp_type in RETAIL_LIKE:
            return "OUT_FACILITY_RETAIL", "outflow", FACILITY_RETAIL
        if cp_type in NON_FINANCIAL_WHOLESALE:
            if credit:
                return "OUT_CREDIT_FACILITY_NONFIN", "outflow", CREDIT_FACILITY_NONFIN
            return "OUT_LIQUIDITY_FACILITY_NONFIN", "outflow", LIQUIDITY_FACILITY_NONFIN
        if cp_type == "bank":
            return "OUT_FACILITY_BANK", "outflow", FACILITY_BANK
        if credit:
            return "OUT_CREDIT_FACILITY_FIN", "outflow", CREDIT_FACILITY_FIN
        return "OUT_LIQUIDITY_FACILITY_FIN", "outflow", LIQUIDITY_FACILITY_FIN

    if product == "loan":
        if operational and cp_type in FINANCIAL:  # the bank's own operational deposit held there
            return "IN_OPERATIONAL_DEPOSIT", "inflow", OPERATIONAL_PLACEMENT
        if bucket == "open":
            return "EXCL_OPEN_MATURITY_LOAN", "excluded", 0.0  # para 152
        if bucket == "beyond_30d":
            return "EXCL_TERM_ASSET", "excluded", 0.0
        if cp_type in RETAIL_LIKE:
            return "IN_LOAN_RETAIL", "inflow", LOAN_RETAIL
        if cp_type in {"non_financial_corporate", "sovereign", "pse", "mdb"}:
            return "IN_LOAN_NONFIN", "inflow", LOAN_NONFIN
        return "IN_LOAN_FINANCIAL", "inflow", LOAN_FINANCIAL  # bank, other_financial, central_bank

    if product == "derivative_payable":
        if not within:
            return "OUT_DERIVATIVE_TERM", "outflow", 0.0
        return "OUT_DERIVATIVE", "outflow", DERIVATIVE_OUT

    if product == "derivative_receivable":
        if not within:
            return "EXCL_TERM_ASSET", "excluded", 0.0
        return "IN_DERIVATIVE", "inflow", DERIVATIVE_IN

    if product in {"debt_issued", "other_contractual_outflow"}:
        term, due, rate = {
            "debt_issued": ("OUT_UNSECURED_DEBT_TERM", "OUT_UNSECURED_DEBT", UNSECURED_DEBT),
            "other_contractual_outflow": (
                "OUT_OTHER_CONTRACTUAL_TERM",
                "OUT_OTHER_CONTRACTUAL",
                OTHER_CONTRACTUAL,
            ),
        }[product]
        return (due, "outflow", rate) if within else (term, "outflow", 0.0)
    if product == "trade_finance":  # contingent: the notional, whatever the maturity
        return "OUT_CONTINGENT_TRADE_FINANCE", "outflow", TRADE_FINANCE
    if product == "guarantee":
        return "OUT_CONTINGENT_GUARANTEE", "outflow", GUARANTEE

    raise AssertionError(f"unhandled product {product}")  # product types are validated before


# --------------------------------------------------------------------------------------------------------
# Annex 1
# --------------------------------------------------------------------------------------------------------
def cap_adjustments(adj_l1, adj_l2a, adj_l2b):
    """BCBS 238 Annex 1: (adjustment for the 15% cap, adjustment for the 40% cap) on adjusted levels
    (exact for Fraction or int levels)."""
    adj_15 = max(adj_l2b - Fraction(15, 85) * (adj_l1 + adj_l2a), adj_l2b - Fraction(15, 60) * adj_l1, 0)
    adj_40 = max(adj_l2a + adj_l2b - adj_15 - Fraction(2, 3) * adj_l1, 0)
    return adj_15, adj_40


def hqla_amount(
    l1: float, l2a: float, l2b: float, adj_l1: float | None = None, adj_l2a: float | None = None,
    adj_l2b: float | None = None,
) -> float:  # fmt: skip
    """HQLA = L1 + L2A + L2B - adj15 - adj40; adjusted levels default to the stock (no unwind)."""
    adj_15, adj_40 = cap_adjustments(
        l1 if adj_l1 is None else adj_l1,
        l2a if adj_l2a is None else adj_l2a,
        l2b if adj_l2b is None else adj_l2b,
    )
    return l1 + l2a + l2b - adj_15 - adj_40


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------
def evaluate(input_dir: Path) -> OracleResult:
    input_dir = Path(input_dir)
    counterparties = {
        (r["as_of_date"], r["counterparty_id"]): r
        for r in _read_table(
            input_dir, "counterparties", ("as_of_date", "counterparty_id", "counterparty_type", "country")
        )
    }
    entities = {
        (r["as_of_date"], r["entity_id"]): r
        for r in _read_table(
            input_dir, "entities", ("as_of_date", "entity_id", "country", "reporting_currency")
        )
    }
    fx: dict[tuple[str, str], Fraction] = {}
    for r in _read_table(input_dir, "fx_rates", ("as_of_date", "currency", "rate_to_usd")):
        rate = parse_number(r["rate_to_usd"])
        if rate is not None and rate > 0:
            fx[(r["as_of_date"], r["currency"])] = rate

    rejects: dict[str, str] = {}
    lines: list[Line] = []

    records = []
    for path in _deal_files(input_dir):
        header, rows = _read_rows(path)
        missing = [c for c in DEAL_COLUMNS if c not in header]
        if missing:
            raise ContractError(f"{path}: missing columns {missing}")
        for row in rows:
            if len(row) != len(header):
                rejects[row[0].strip()] = "malformed_row"
                continue
            records.append({h: v.strip() for h, v in zip(header, row, strict=True)})
    # A deal id sent twice for one date: every row of it is rejected (unless a row broke a rule first).
    keys = Counter((rec["as_of_date"], rec["deal_id"]) for rec in records if rec["deal_id"])
    for rec in records:
        reason, line = _deal_line(rec, counterparties, entities, fx)
        if reason is None and keys[(rec["as_of_date"], rec["deal_id"])] > 1:
            reason = "duplicate_deal_id"
        if reason is not None:
            rejects[rec["deal_id"]] = reason
        else:
            lines.append(line)

    return OracleResult(lcr_rows=_aggregate(lines), rejects=rejects, lines=lines)


def _deal_line(rec, counterparties, entities, fx) -> tuple[str | None, Line | None]:
    """Validate one deal row (first failing check wins) and classify it."""
    if not (rec["deal_id"] and rec["entity_id"] and rec["counterparty_id"]):
        return "missing_field", None
    version = rec.get("contract_version") or "1"  # a v1 file has no such column
    if version not in CONTRACT_VERSIONS:
        return "unknown_contract_version", None
    as_of = parse_date(rec["as_of_date"])
    if as_of is None:
        return "bad_date", None
    maturity_text = rec["maturity_date"]
    maturity = parse_date(maturity_text) if maturity_text else None
    if maturity_text and maturity is None:
        return "bad_date", None
    product = rec["product_type"].lower()
    if product not in PRODUCT_TYPES | V2_PRODUCT_TYPES:
        return "unknown_product_type", None
    if product in V2_PRODUCT_TYPES and version == "1":
        return "product_not_in_version", None
    amount = parse_number(rec["amount"])  # None also for NaN, infinities and overflow: not an amount
    if amount is None:
        return "bad_amount", None
    if product == "derivative_net":  # para 116 / 158: the netting set's net flow; its sign is the direction
        product = "derivative_payable" if amount < 0 else "derivative_receivable"
        amount = abs(amount)
    if amount < 0:
        return "negative_amount", None
    cmv = Fraction(0)
    if rec["collateral_market_value"]:
        cmv = parse_number(rec["collateral_market_value"])
        if cmv is None:
            return "bad_amount", None
        if cmv < 0:
            return "negative_amount", None
    day = as_of.isoformat()
    entity = entities.get((day, rec["entity_id"]))
    if entity is None:
        return "unknown_entity", None
    cp = counterparties.get((day, rec["counterparty_id"]))
    if cp is None or cp["counterparty_type"] not in COUNTERPARTY_TYPES:
        return "unknown_counterparty", None
    deal_rate = fx.get((day, rec["currency"]))
    reporting_rate = fx.get((day, entity["reporting_currency"]))
    if deal_rate is None or reporting_rate is None:
        return "unknown_currency", None
    if maturity is not None and maturity < as_of:
        return "maturity_before_as_of", None
    hqla_class = rec["hqla_class"]
    if hqla_class and hqla_class not in HQLA_CLASSES:
        return "unknown_hqla_class", None
    if product in WITH_HQLA_CLASS and not hqla_class:
        return "missing_hqla_class", None
    if product in ("repo", "reverse_repo") and not rec["collateral_market_value"]:
        return "missing_collateral_value", None
    flags = {f: parse_flag(rec[f]) for f in ("is_insured", "is_stable_relationship", "is_operational")}
    flags["is_encumbered"] = parse_flag(rec["is_encumbered"])
    if any(v is None for v in flags.values()):
        return "bad_flag", None

    if maturity is None:
        bucket = "open"
    elif (maturity - as_of).days <= HORIZON_DAYS:
        bucket = "within_30d"
    else:
        bucket = "beyond_30d"
    domestic = cp["country"] == entity["country"]
    fx_factor = deal_rate / reporting_rate
    amount_rc = amount * fx_factor
    cmv_rc = cmv * fx_factor

    category, kind, rate = classify(
        product,
        cp["counterparty_type"],
        hqla_class,
        flags["is_insured"],
        flags["is_stable_relationship"],
        flags["is_operational"],
        flags["is_encumbered"],
        domestic,
        bucket,
    )
    haircut, run_off_rate, inflow_rate = section_rates(kind, rate)
    level = None
    if kind == "hqla":
        value = amount_rc * (1 - exact(rate))
        level = "L1" if product in {"cash", "central_bank_reserve"} else LEVEL_OF[hqla_class]
    elif kind in {"outflow", "inflow"}:
        value = amount_rc * exact(rate)
    else:
        value = Fraction(0)

    # Annex 1 / para 48 unwind of secured transactions within 30 days or open that exchange HQLA
    # for Level 1 (incl. cash): a repo or reverse repo against non-HQLA collateral is not unwound.
    unwind_l1, unwind_level, unwind_value = Fraction(0), None, Fraction(0)
    if product in {"repo", "reverse_repo"} and bucket != "beyond_30d" and hqla_class in LEVEL_OF:
        collateral = cmv_rc * (1 - exact(HAIRCUT[hqla_class])) if hqla_class in HAIRCUT else Fraction(0)
        if product == "repo":  # cash goes back to the lender, the collateral comes back to us
            unwind_l1 = -amount_rc
            unwind_value = collateral
        else:  # reverse repo: our cash comes back, the collateral received goes back (if we hold it)
            unwind_l1 = amount_rc
            unwind_value = Fraction(0) if flags["is_encumbered"] else -collateral
        if hqla_class in LEVEL_OF and unwind_value:
            unwind_level = LEVEL_OF[hqla_class]
        else:
            unwind_value = Fraction(0)

    return None, Line(
        deal_id=rec["deal_id"],
        entity_id=rec["entity_id"],
        as_of_date=day,
        product_type=product,
        category=category,
        kind=kind,
        amount=amount_rc,
        haircut=haircut,
        run_off_rate=run_off_rate,
        inflow_rate=inflow_rate,
        value=value,
        level=level,
        unwind_l1=unwind_l1,
        unwind_level=unwind_level,
        unwind_value=unwind_value,
    )


def _aggregate(lines: list[Line]) -> list[dict]:
    groups: dict[tuple[str, str], list[Line]] = defaultdict(list)
    for line in lines:
        groups[(line.entity_id, line.as_of_date)].append(line)
    out = []
    for (entity_id, as_of_date), group in sorted(groups.items()):
        stock = {"L1": Fraction(0), "L2A": Fraction(0), "L2B": Fraction(0)}
        unwind = {"L1": Fraction(0), "L2A": Fraction(0), "L2B": Fraction(0)}
        outflows = inflows = Fraction(0)
        for line in group:
            if line.kind == "hqla":
                stock[line.level] += line.value
            elif line.kind == "outflow":
                outflows += line.value
            elif line.kind == "inflow":
                inflows += line.value
            unwind["L1"] += line.unwind_l1
            if line.unwind_level:
                unwind[line.unwind_level] += line.unwind_value
        adj = {k: stock[k] + unwind[k] for k in stock}
        adj_15, adj_40 = cap_adjustments(adj["L1"], adj["L2A"], adj["L2B"])
        hqla = stock["L1"] + stock["L2A"] + stock["L2B"] - adj_15 - adj_40
        capped = min(inflows, exact(INFLOW_CAP) * outflows)
        nco = outflows - capped
        amounts = {
            "hqla_level1": stock["L1"],
            "hqla_level2a": stock["L2A"],
            "hqla_level2b": stock["L2B"],
            "adj_15_cap": adj_15,
            "adj_40_cap": adj_40,
            "hqla": hqla,
            "total_outflows": outflows,
            "total_inflows": inflows,
            "capped_inflows": capped,
            "net_cash_outflows": nco,
        }
        out.append(
            {"entity_id": entity_id, "as_of_date": as_of_date}
            | {name: float(value) for name, value in amounts.items()}
            | {"lcr": None if nco == 0 else float(hqla / nco)}
        )
    return out


def compute_lcr(input_dir: Path) -> list[dict]:
    """One dict per (entity_id, as_of_date) over the good deals; see the module docstring."""
    return evaluate(input_dir).lcr_rows


def rejected_deals(input_dir: Path) -> dict[str, str]:
    """{deal_id: reason} for the rows excluded as contract breaks."""
    return evaluate(input_dir).rejects


def rejected_deal_ids(input_dir: Path) -> set[str]:
    return set(rejected_deals(input_dir))


OUTPUT_COLUMNS = (
    "entity_id", "as_of_date", "hqla_level1", "hqla_level2a", "hqla_level2b", "adj_15_cap", "adj_40_cap",
    "hqla", "total_outflows", "total_inflows", "capped_inflows", "net_cash_outflows", "lcr",
)  # fmt: skip


if __name__ == "__main__":  # print the oracle's view of a folder: python tests/reference_lcr.py DIR
    import sys

    result = evaluate(Path(sys.argv[1]))
    for ln in result.lines:
        parameters = (("haircut", ln.haircut), ("run-off", ln.run_off_rate), ("inflow", ln.inflow_rate))
        parameter = next((f"{name} {float(v):.2f}" for name, v in parameters if v is not None), "excluded")
        print(
            f"{ln.entity_id} {ln.as_of_date} {ln.deal_id:5} {ln.category:30} {float(ln.amount):12.4f} "
            f"{parameter} = {float(ln.value):12.4f}  unwind L1 {float(ln.unwind_l1):+.4f} "
            f"{ln.unwind_level or ''} {float(ln.unwind_value):+.4f}"
        )
    for row in result.lcr_rows:
        print(row)
    for deal_id, reason in sorted(result.rejects.items()):
        print("REJECT", deal_id, reason)
