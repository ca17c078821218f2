"""The synthetic bank generator: deterministic, in contract v1, realistic enough to exercise every rule.

One small bank (2,000 deals, 3 entities, 2 dates) is generated once per module and read back with
Python's csv module; a few more generations check determinism, the seed, parquet and odd sizes.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from regcalc import contract
from regcalc.generate import counterparty_count, generate_bank

DEALS = 2_000
ENTITIES = 3
DATES = 2
FIRST_DATE = date(2026, 9, 29)
AS_OF_DATES = [(FIRST_DATE + timedelta(days=i)).isoformat() for i in range(DATES)]
AMOUNT = re.compile(r"^\d+\.\d{2}$")

Rows = list[dict[str, str]]


def read_csv(path: Path) -> tuple[list[str], Rows]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def deal_parts(out: Path, suffix: str) -> list[Path]:
    parts = sorted((out / "deals").glob(f"part-*{suffix}"))
    assert parts, f"no {suffix} part files in {out / 'deals'}"
    return parts


def read_deals(out: Path) -> tuple[list[str], Rows]:
    header: list[str] = []
    rows: Rows = []
    for part in deal_parts(out, ".csv"):
        header, part_rows = read_csv(part)
        rows.extend(part_rows)
    return header, rows


def file_bytes(out: Path) -> dict[str, bytes]:
    """Every output file's content; deal part files by position (their names hold a random id)."""
    files = {
        name: (out / name).read_bytes() for name in ("entities.csv", "counterparties.csv", "fx_rates.csv")
    }
    files.update({f"deals/{i}": part.read_bytes() for i, part in enumerate(deal_parts(out, ".csv"))})
    return files


def by_date(rows: Rows, key: str) -> dict[str, dict[str, dict[str, str]]]:
    """{as_of_date: {row[key]: row}}: one reference snapshot per date."""
    snapshots: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for row in rows:
        snapshots[row["as_of_date"]][row[key]] = row
    return snapshots


@pytest.fixture(scope="module")
def bank(spark, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("bank")
    counts = generate_bank(spark, out, deals=DEALS, entities=ENTITIES, dates=DATES, seed=42)
    return out, counts


@pytest.fixture(scope="module")
def deals(bank) -> Rows:
    return read_deals(bank[0])[1]


@pytest.fixture(scope="module")
def counterparties(bank) -> dict[str, dict[str, dict[str, str]]]:
    return by_date(read_csv(bank[0] / "counterparties.csv")[1], "counterparty_id")


def test_row_counts_are_exact(bank, deals):
    out, counts = bank
    cps = counterparty_count(DEALS)
    assert counts == {
        "deals": DEALS,
        "counterparties": cps * DATES,
        "entities": ENTITIES * DATES,
        "fx_rates": 5 * DATES,
    }
    assert len(deals) == DEALS
    assert Counter(d["as_of_date"] for d in deals) == dict.fromkeys(AS_OF_DATES, DEALS // DATES)
    for dataset in contract.REFERENCE_DATASETS:
        rows = read_csv(out / f"{dataset.name}.csv")[1]
        assert len(rows) == counts[dataset.name]
        # A full snapshot per date, one row per key.
        assert len({tuple(r[k] for k in dataset.key) for r in rows}) == len(rows)
        assert Counter(r["as_of_date"] for r in rows) == dict.fromkeys(AS_OF_DATES, len(rows) // DATES)


def test_columns_follow_the_contract_in_order(bank):
    out, _ = bank
    assert read_deals(out)[0] == list(contract.DEALS.columns)
    for dataset in contract.REFERENCE_DATASETS:
        assert read_csv(out / f"{dataset.name}.csv")[0] == list(dataset.columns)


def test_same_arguments_give_identical_files_and_another_seed_differs(spark, bank, tmp_path):
    out, _ = bank
    again = tmp_path / "again"
    generate_bank(spark, again, deals=DEALS, entities=ENTITIES, dates=DATES, seed=42)
    assert file_bytes(again) == file_bytes(out)

    other = tmp_path / "other"
    generate_bank(spark, other, deals=DEALS, entities=ENTITIES, dates=DATES, seed=7)
    original, reseeded = file_bytes(out), file_bytes(other)
    assert reseeded["deals/0"] != original["deals/0"]
    assert reseeded["counterparties.csv"] != original["counterparties.csv"]
    # Same shape: the seed changes values, not the contract or the sizes.
    assert read_deals(other)[0] == list(contract.DEALS.columns)
    assert len(read_deals(other)[1]) == DEALS


def test_every_category_is_present(deals, counterparties):
    assert {d["product_type"] for d in deals} == set(contract.V1_PRODUCT_TYPES)  # contract v1 unless asked
    deal_cp_types = {
        counterparties[d["as_of_date"]][d["counterparty_id"]]["counterparty_type"] for d in deals
    }
    assert deal_cp_types == set(contract.COUNTERPARTY_TYPES)
    for product in contract.PRODUCTS_WITH_HQLA_CLASS:
        assert {d["hqla_class"] for d in deals if d["product_type"] == product} == set(contract.HQLA_CLASSES)
    assert {d["currency"] for d in deals} == {"USD", "EUR", "GBP", "JPY", "CHF"}


def test_flags_sit_on_realistic_products(deals, counterparties):
    for flag in contract.FLAG_COLUMNS:
        assert {d[flag] for d in deals} == {"true", "false"}, flag

    def cp_type(deal: dict[str, str]) -> str:
        return counterparties[deal["as_of_date"]][deal["counterparty_id"]]["counterparty_type"]

    insured = [d for d in deals if d["is_insured"] == "true"]
    stable = [d for d in deals if d["is_stable_relationship"] == "true"]
    assert all(d["product_type"] == "deposit" for d in insured + stable)
    # Mostly retail and small business (allowing for a counterparty reclassified on day 2).
    retail_like = {"retail", "small_business"}
    assert sum(cp_type(d) in retail_like for d in insured) > 0.9 * len(insured)
    assert sum(cp_type(d) in retail_like for d in stable) > 0.9 * len(stable)
    operational = [d for d in deals if d["is_operational"] == "true"]
    # operational deposits received, and the bank's own operational balances placed at financials
    assert {d["product_type"] for d in operational} == {"deposit", "loan"}
    assert all(cp_type(d) in ("bank", "other_financial") for d in operational if d["product_type"] == "loan")
    assert sum(cp_type(d) not in retail_like for d in operational) > 0.9 * len(operational)
    encumbered = Counter(d["product_type"] for d in deals if d["is_encumbered"] == "true")
    assert set(encumbered) == {"security", "reverse_repo", "central_bank_reserve"}
    assert encumbered["security"] > encumbered["reverse_repo"]


def test_references_exist_in_the_same_dates_snapshots(bank, deals, counterparties):
    out, _ = bank
    entities = by_date(read_csv(out / "entities.csv")[1], "entity_id")
    fx_rates = by_date(read_csv(out / "fx_rates.csv")[1], "currency")
    assert sorted(entities) == sorted(counterparties) == sorted(fx_rates) == AS_OF_DATES
    for deal in deals:
        day = deal["as_of_date"]
        assert deal["entity_id"] in entities[day], deal
        assert deal["counterparty_id"] in counterparties[day], deal
        assert deal["currency"] in fx_rates[day], deal
    for day in AS_OF_DATES:
        assert sorted(entities[day]) == ["E01", "E02", "E03"]
        assert {e["reporting_currency"] for e in entities[day].values()} == {"USD", "EUR", "GBP"}
        assert fx_rates[day]["USD"]["rate_to_usd"] == "1.0000000000"


def test_maturities_amounts_and_collateral(deals):
    buckets: Counter[str] = Counter()
    for deal in deals:
        assert AMOUNT.match(deal["amount"]) and Decimal(deal["amount"]) >= 0, deal
        as_of = date.fromisoformat(deal["as_of_date"])
        if deal["maturity_date"] == "":
            buckets["open"] += 1
            assert deal["product_type"] not in ("repo", "reverse_repo"), deal
        else:
            residual = (date.fromisoformat(deal["maturity_date"]) - as_of).days
            assert residual >= 0, deal
            buckets["within_30d" if residual <= 30 else "beyond_30d"] += 1
        if deal["product_type"] in ("cash", "central_bank_reserve"):
            assert deal["maturity_date"] == "", deal
        if deal["product_type"] in contract.SECURED_PRODUCTS:
            ratio = Decimal(deal["collateral_market_value"]) / Decimal(deal["amount"])
            assert Decimal("1.019") <= ratio <= Decimal("1.101"), deal
        else:
            assert deal["collateral_market_value"] == "", deal
    assert min(buckets["open"], buckets["within_30d"], buckets["beyond_30d"]) > 0.05 * len(deals)
    dated_securities = [d for d in deals if d["product_type"] == "security" and d["maturity_date"]]
    assert len(dated_securities) > 0.8 * sum(d["product_type"] == "security" for d in deals)


def test_hqla_class_exactly_for_securities_and_repos(deals):
    for deal in deals:
        if deal["product_type"] in contract.PRODUCTS_WITH_HQLA_CLASS:
            assert deal["hqla_class"] in contract.HQLA_CLASSES, deal
        else:
            assert deal["hqla_class"] == "", deal


def test_deal_ids_unique_per_date_and_the_same_deal_recurs(deals):
    keys = Counter((d["as_of_date"], d["deal_id"]) for d in deals)
    assert max(keys.values()) == 1
    first, second = ({d["deal_id"]: d for d in deals if d["as_of_date"] == day} for day in AS_OF_DATES)
    assert set(first) == set(second)
    stable_columns = ("entity_id", "counterparty_id", "product_type", "currency", "hqla_class", "is_insured")
    for deal_id, deal in first.items():
        assert all(deal[c] == second[deal_id][c] for c in stable_columns), deal_id
    # Balances move a little from one day to the next.
    assert sum(first[i]["amount"] != second[i]["amount"] for i in first) > 0.9 * len(first)


def test_reference_data_changes_between_dates(bank, counterparties):
    out, _ = bank
    day1, day2 = (counterparties[day] for day in AS_OF_DATES)
    attributes = ("counterparty_name", "counterparty_type", "country")
    changed = [cp for cp in day1 if any(day1[cp][a] != day2[cp][a] for a in attributes)]
    assert any(day1[cp]["counterparty_type"] != day2[cp]["counterparty_type"] for cp in changed)
    assert any(day1[cp]["counterparty_name"] != day2[cp]["counterparty_name"] for cp in changed)
    assert len(changed) < 0.1 * len(day1)
    first, second = (by_date(read_csv(out / "entities.csv")[1], "entity_id")[day] for day in AS_OF_DATES)
    renamed = [e for e in first if first[e]["entity_name"] != second[e]["entity_name"]]
    assert renamed == ["E02"]
    fx_rates = by_date(read_csv(out / "fx_rates.csv")[1], "currency")
    assert fx_rates[AS_OF_DATES[0]]["EUR"] != fx_rates[AS_OF_DATES[1]]["EUR"]


def test_parquet_holds_the_same_deals_as_csv(spark, bank, tmp_path):
    out, _ = bank
    generate_bank(spark, tmp_path, deals=DEALS, entities=ENTITIES, dates=DATES, seed=42, fmt="parquet")
    assert deal_parts(tmp_path, ".parquet")
    parquet = spark.read.parquet(str(tmp_path / "deals"))
    assert tuple(parquet.columns) == contract.DEALS.columns
    # Missing values are nulls in parquet; empty fields in CSV read back as nulls too.
    assert parquet.filter(F.col("maturity_date").isNull()).count() > 0
    as_text = parquet.select(*[F.col(c).cast("string").alias(c) for c in contract.DEALS.columns])
    from_csv = spark.read.csv(
        str(out / "deals"), header=True, schema=", ".join(f"{c} string" for c in contract.DEALS.columns)
    )
    assertDataFrameEqual(as_text, from_csv)
    # Reference data is the same CSV whatever the deal format.
    for name in ("entities.csv", "counterparties.csv", "fx_rates.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_uneven_split_and_first_date(spark, tmp_path):
    counts = generate_bank(spark, tmp_path, deals=7, entities=1, dates=3, first_date=date(2027, 1, 30))
    assert counts["deals"] == 7 and counts["counterparties"] == 50 * 3 and counts["entities"] == 3
    deals = read_deals(tmp_path)[1]
    per_date = Counter(d["as_of_date"] for d in deals)
    assert per_date == {"2027-01-30": 3, "2027-01-31": 2, "2027-02-01": 2}
    assert {d["deal_id"] for d in deals} == {"D00000001", "D00000002", "D00000003"}


def test_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        generate_bank(None, tmp_path, deals=10, fmt="json")  # type: ignore[arg-type]


def test_contract_v2_bank_is_the_v1_bank_with_some_deals_sent_as_v2_products(spark, bank, tmp_path):
    """--contract-v2: every v2 product is there on version 2 rows; every other row is the v1 bank's row as
    it was; a v2 row is a v1 deal sent differently (a netting-set row is its derivative, signed: a
    payable negative, no maturity); the independent oracle reads the bank without a reject."""
    import reference_lcr

    v1_out, _ = bank
    out = tmp_path / "v2"
    generate_bank(spark, out, deals=DEALS, entities=ENTITIES, dates=DATES, seed=42, contract_v2=True)
    header, rows = read_deals(out)
    assert header == [*contract.DEALS.columns, *contract.DEALS.optional_columns]
    v1 = {(row["as_of_date"], row["deal_id"]): row for row in read_deals(v1_out)[1]}
    sent_as = Counter()
    for row in rows:
        original = v1[(row["as_of_date"], row["deal_id"])]
        version = row.pop("contract_version")
        if not version:
            assert row == original
            continue
        assert version == "2" and row["product_type"] in contract.V2_PRODUCT_TYPES, row
        sent_as[(original["product_type"], row["product_type"])] += 1
        if row["product_type"] == "derivative_net":
            sign = "-" if original["product_type"] == "derivative_payable" else ""
            assert (row["amount"], row["maturity_date"]) == (sign + original["amount"], ""), row
        else:
            assert {k: v for k, v in row.items() if k != "product_type"} == {
                k: v for k, v in original.items() if k != "product_type"
            }
    assert {v2 for _, v2 in sent_as} == set(contract.V2_PRODUCT_TYPES)
    assert set(sent_as) == {
        ("derivative_payable", "derivative_net"),
        ("derivative_receivable", "derivative_net"),
        ("deposit", "debt_issued"),
        ("deposit", "other_contractual_outflow"),
        ("credit_facility", "trade_finance"),
        ("credit_facility", "guarantee"),
    }
    assert reference_lcr.rejected_deals(out) == {}
