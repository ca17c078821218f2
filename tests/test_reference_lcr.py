"""Guards the test oracle (tests/reference_lcr.py): it must reproduce every hand-computed case, and its
Annex 1 cap formula must give the regulation's 15% / 40% composition. No Spark needed."""

from __future__ import annotations

import csv
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from regcalc import contract

sys.path.insert(0, str(Path(__file__).parent))

import reference_lcr as ref  # noqa: E402

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "expected_lcr.csv").exists())
AMOUNT_COLUMNS = ref.OUTPUT_COLUMNS[2:-1]
AMOUNT_TOL = 0.01
LCR_TOL = 1e-6


def read_expected(case: str) -> dict[tuple[str, str], dict[str, str]]:
    with (CASES_DIR / case / "expected_lcr.csv").open(newline="") as handle:
        return {(r["entity_id"], r["as_of_date"]): r for r in csv.DictReader(handle)}


def assert_matches_expected(rows: list[dict], case: str) -> None:
    expected = read_expected(case)
    got = {(r["entity_id"], r["as_of_date"]): r for r in rows}
    assert set(got) == set(expected), f"{case}: entity/date keys differ"
    for key, exp in expected.items():
        row = got[key]
        for col in AMOUNT_COLUMNS:
            assert row[col] == pytest.approx(float(exp[col]), abs=AMOUNT_TOL), f"{case} {key} {col}"
        if exp["lcr"] == "":
            assert row["lcr"] is None, f"{case} {key} lcr"
        else:
            assert row["lcr"] == pytest.approx(float(exp["lcr"]), abs=LCR_TOL), f"{case} {key} lcr"


def test_all_cases_present():
    expected = {
        "no_cap_binds", "l2b_cap_binds", "l2_cap_binds", "unwind_binds", "inflow_cap_binds",
        "multi_currency", "rejects", "mdb_secured_funding", "central_bank_secured_funding", "encumbered_cash",
        "operational_placement", "l2b_at_the_limit", "contract_v2",
    }  # fmt: skip
    assert expected <= set(CASES)
    for case in CASES:
        assert (CASES_DIR / case / "README.md").exists(), case


@pytest.mark.parametrize("case", CASES)
def test_oracle_reproduces_hand_computed_case(case):
    assert_matches_expected(ref.compute_lcr(CASES_DIR / case), case)


@pytest.mark.parametrize("case", CASES)
def test_rejects(case):
    path = CASES_DIR / case / "expected_rejects.csv"
    expected = {}
    if path.exists():
        with path.open(newline="") as handle:
            expected = {r["deal_id"]: r["reason"] for r in csv.DictReader(handle)}
    assert ref.rejected_deals(CASES_DIR / case) == expected
    assert ref.rejected_deal_ids(CASES_DIR / case) == set(expected)


def test_rejects_case_has_every_reason():
    """The rejects case earns every reason of the contract but `unclassified` (which no input can reach:
    see its README); the oracle finds the same reasons as the contract lists."""
    reasons = Counter(ref.rejected_deals(CASES_DIR / "rejects").values())
    assert set(reasons) == set(contract.REJECT_REASONS) - {"unclassified"}
    assert reasons["bad_amount"] == 4  # nan, 1e400, -Infinity as amount and as collateral value


def test_deals_folder_of_part_files(tmp_path):
    """A deals/ folder of *.csv part files (each with a header) gives the same LCR as deals.csv."""
    src = CASES_DIR / "multi_currency"
    for name in ("counterparties.csv", "entities.csv", "fx_rates.csv"):
        shutil.copy(src / name, tmp_path / name)
    lines = (src / "deals.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    (tmp_path / "deals").mkdir()
    for i in range(3):
        part = body[i::3]
        (tmp_path / "deals" / f"part-{i:05d}.csv").write_text("\n".join([header, *part]) + "\n")
    assert_matches_expected(ref.compute_lcr(tmp_path), "multi_currency")


def test_no_cap_binds_covers_every_product_family():
    lines = ref.evaluate(CASES_DIR / "no_cap_binds").lines
    assert {ln.product_type for ln in lines} >= ref.PRODUCT_TYPES - {"liquidity_facility"}
    kinds = {ln.kind for ln in lines}
    assert {"hqla", "outflow", "inflow"} <= kinds


def _stock_caps(row: dict) -> tuple[float, float]:
    return ref.cap_adjustments(row["hqla_level1"], row["hqla_level2a"], row["hqla_level2b"])


def test_each_case_binds_what_its_name_says():
    (row,) = ref.compute_lcr(CASES_DIR / "no_cap_binds")
    assert row["adj_15_cap"] == 0 and row["adj_40_cap"] == 0
    assert row["capped_inflows"] == row["total_inflows"]

    (row,) = ref.compute_lcr(CASES_DIR / "l2b_cap_binds")
    assert row["adj_15_cap"] > 0 and row["adj_40_cap"] == 0

    (row,) = ref.compute_lcr(CASES_DIR / "l2_cap_binds")
    assert row["adj_15_cap"] == 0 and row["adj_40_cap"] > 0

    e1, e2 = ref.compute_lcr(CASES_DIR / "unwind_binds")
    assert _stock_caps(e1) == (0, 0) and e1["adj_15_cap"] > 0  # binds only after the unwind
    assert _stock_caps(e2) == (0, 0) and e2["adj_40_cap"] > 0

    # Level 2B exactly 15% of the stock: exactly no adjustment (para 47: "no more than 15%")
    (row,) = ref.compute_lcr(CASES_DIR / "l2b_at_the_limit")
    assert row["hqla_level2b"] / row["hqla"] == pytest.approx(0.15)
    assert row["adj_15_cap"] == 0 and row["adj_40_cap"] == 0

    (row,) = ref.compute_lcr(CASES_DIR / "inflow_cap_binds")
    assert row["total_inflows"] > row["capped_inflows"] == pytest.approx(0.75 * row["total_outflows"])


# ---- Annex 1 cap formula -------------------------------------------------------------------------------


def test_caps_exactly_at_the_regulatory_limits_do_not_bind():
    # para 53: Level 2B exactly 15% of HQLA; para 51: Level 2 exactly 40% of HQLA
    assert ref.cap_adjustments(85, 0, 15) == pytest.approx((0, 0), abs=1e-12)
    assert ref.cap_adjustments(60, 40, 0) == pytest.approx((0, 0), abs=1e-12)
    assert ref.cap_adjustments(60, 25, 15) == pytest.approx((0, 0), abs=1e-12)


@pytest.mark.parametrize(
    ("l1", "l2a", "l2b", "adj15", "adj40"),
    [
        (60, 0, 40, 40 - 15 / 85 * 60, 0),  # 15/85 leg: 29.4118
        (50, 50, 0, 0, 50 - 2 / 3 * 50),  # 40% cap only: 16.6667
        (50, 20, 30, 30 - 15 / 85 * 70, 0),  # 15% binds, then Level 2 = 32.35 < 40%
        (40, 40, 20, 10, 40 + 20 - 10 - 2 / 3 * 40),  # 15/60 leg (L1 must be >= 60%) and 40% bind
        (100, 0, 0, 0, 0),
    ],
)
def test_cap_formula(l1, l2a, l2b, adj15, adj40):
    got15, got40 = ref.cap_adjustments(l1, l2a, l2b)
    assert got15 == pytest.approx(adj15, abs=1e-9)
    assert got40 == pytest.approx(adj40, abs=1e-9)


@pytest.mark.parametrize(
    ("l1", "l2a", "l2b"),
    [(60, 0, 40), (50, 50, 0), (50, 20, 30), (40, 40, 20), (10, 45, 45), (0, 0, 100), (30, 70, 0)],
)
def test_after_caps_composition_respects_15_and_40_percent(l1, l2a, l2b):
    """With no unwind the capped stock has Level 2B <= 15% and Level 2 <= 40% of HQLA (para 51, 53).

    The Level 2B excluded first is adj15; adj40 then takes Level 2A (or remaining 2B)."""
    adj15, adj40 = ref.cap_adjustments(l1, l2a, l2b)
    hqla = ref.hqla_amount(l1, l2a, l2b)
    assert hqla == pytest.approx(l1 + l2a + l2b - adj15 - adj40)
    if hqla > 0:
        level2 = hqla - l1
        level2b = l2b - adj15
        assert level2 <= 0.40 * hqla + 1e-9
        assert level2b <= 0.15 * hqla + 1e-9
        assert l1 >= 0.60 * hqla - 1e-9


def test_unwind_can_make_the_cap_exceed_the_stock_level():
    """Annex 1 subtracts adj15 from the stock even if it is larger than the stock Level 2B (no floor)."""
    # stock L1 5000 incl. 3000 repo cash; L2B stock 600; repo collateral L2B 4000 x 50% comes back
    assert ref.hqla_amount(5000, 0, 600, adj_l1=2000, adj_l2a=0, adj_l2b=2600) == pytest.approx(
        5600 - (2600 - 15 / 85 * 2000)
    )


def test_inflow_cap_and_zero_outflows(tmp_path):
    src = CASES_DIR / "rejects"
    for name in ("counterparties.csv", "entities.csv", "fx_rates.csv"):
        shutil.copy(src / name, tmp_path / name)
    header = ",".join(ref.DEAL_COLUMNS)  # version 1 (the rejects case has the v2 column too)
    (tmp_path / "deals.csv").write_text(
        header + "\nZ1,2026-09-30,E1,CB_US,cash,USD,100,,,,,,,\n"
        "Z2,2026-09-30,E1,BANK1,loan,USD,100,2026-10-01,,,,,,\n"
    )
    (row,) = ref.compute_lcr(tmp_path)
    assert row["total_outflows"] == 0 and row["capped_inflows"] == 0
    assert row["net_cash_outflows"] == 0 and row["lcr"] is None


def test_maturity_boundary_is_day_30():
    assert ref.classify("deposit", "bank", "", False, False, False, False, False, "within_30d")[2] == 1.0
    lines = {ln.deal_id: ln for ln in ref.evaluate(CASES_DIR / "l2b_cap_binds").lines}
    assert lines["B09"].category == "OUT_RETAIL_LESS_STABLE"  # 2026-10-30: day 30, within
    assert lines["B08"].category == "OUT_RETAIL_TERM"  # 2026-10-31: day 31, beyond


# ---- categories corrected by issue 10 (BCBS 238 text, not the old seed rows) ----------------------------


@pytest.mark.parametrize("collateral", ["L2B_RMBS", "L2B", "NON_HQLA"])
@pytest.mark.parametrize("domestic", [True, False])
def test_secured_funding_by_counterparty_not_backed_by_level1_or_2a(collateral, domestic):
    """Para 113-115: 25% for the domestic sovereign, a domestic PSE or any MDB; 0% only with the domestic
    central bank; every other lender (a foreign sovereign, PSE or central bank) by collateral."""
    by_collateral = {"L2B_RMBS": 0.25, "L2B": 0.50, "NON_HQLA": 1.00}[collateral]

    def rate(cp_type: str) -> tuple[str, float]:
        code, kind, value = ref.classify(
            "repo", cp_type, collateral, False, False, False, False, domestic, "within_30d"
        )
        assert kind == "outflow"
        return code, value

    assert rate("mdb") == ("OUT_SECURED_SOVEREIGN", 0.25)
    for cp_type in ("sovereign", "pse"):
        assert rate(cp_type)[1] == (0.25 if domestic else by_collateral)
    assert rate("central_bank") == (
        ("OUT_SECURED_L1_OR_CB", 0.0) if domestic else (rate("bank")[0], by_collateral)
    )


@pytest.mark.parametrize("product", ["cash", "central_bank_reserve"])
def test_encumbered_cash_and_reserves_are_not_hqla(product):
    """Para 31: every asset of the stock must be unencumbered, cash and reserves included."""
    assert ref.classify(product, "central_bank", "", False, False, False, True, True, "open")[:2] == (
        "EXCL_ENCUMBERED_ASSET",
        "excluded",
    )
    assert ref.classify(product, "central_bank", "", False, False, False, False, True, "open")[1] == "hqla"


@pytest.mark.parametrize("bucket", ["open", "within_30d", "beyond_30d"])
def test_operational_balances_at_financial_institutions_flow_in_at_zero(bucket):
    """Para 156: a loan / placement flagged operational at a bank or other financial institution: 0%."""
    for cp_type in ("bank", "other_financial"):
        got = ref.classify("loan", cp_type, "", False, False, True, False, False, bucket)
        assert got == ("IN_OPERATIONAL_DEPOSIT", "inflow", 0.0)
    # the flag means nothing on a loan to a non-financial borrower: para 153-154 as usual
    assert ref.classify(
        "loan", "non_financial_corporate", "", False, False, True, False, False, "within_30d"
    ) == (
        "IN_LOAN_NONFIN",
        "inflow",
        0.5,
    )
