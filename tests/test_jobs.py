"""The deal-level transforms on their own: classification over every attribute combination
against the independent oracle, and the enrich / haircut arithmetic on a few hand-made rows."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from pyspark.sql import Row
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

import reference_lcr
from regcalc import contract
from regcalc.decimals import MONEY, RATE
from regcalc.jobs import classify, enrich, haircut, ingest
from regcalc.params import MATURITY_BUCKETS, RULE_BOOLEAN_COLUMNS, load_parameters

FLAG_COLUMNS = RULE_BOOLEAN_COLUMNS  # insured, stable, operational, encumbered, domestic


@pytest.fixture(scope="module")
def params():
    return load_parameters()


@pytest.fixture(scope="module")
def table(spark, params):
    return classify.classification_table(spark, params).collect()


def _valid_combinations():
    for product, cp_type, hqla_class, bucket in itertools.product(
        contract.CLASSIFIED_PRODUCT_TYPES,
        contract.COUNTERPARTY_TYPES,
        (*contract.HQLA_CLASSES, None),
        MATURITY_BUCKETS,
    ):
        if product in contract.PRODUCTS_WITH_HQLA_CLASS and hqla_class is None:
            continue  # rejected by ingest (missing_hqla_class)
        for bits in range(1 << len(FLAG_COLUMNS)):
            yield product, cp_type, hqla_class, bucket, bits


def test_every_valid_combination_has_exactly_one_category(table):
    keys = [
        (r.product_type, r.counterparty_type, r._hqla_key, r.maturity_bucket, r._flag_bits) for r in table
    ]
    assert len(keys) == len(set(keys))
    expected = {(p, c, h or "-", b, bits) for p, c, h, b, bits in _valid_combinations()}
    assert expected <= set(keys)


def test_classification_equals_the_oracle_on_every_combination(table):
    """57,000 combinations: the seed-driven rules agree with the oracle's hand-written BCBS logic."""
    by_key = {
        (r.product_type, r.counterparty_type, r._hqla_key, r.maturity_bucket, r._flag_bits): r for r in table
    }
    mismatches = []
    for product, cp_type, hqla_class, bucket, bits in _valid_combinations():
        flags = [bool(bits & (1 << position)) for position in range(len(FLAG_COLUMNS))]
        code, kind, rate = reference_lcr.classify(product, cp_type, hqla_class or "", *flags, bucket)
        row = by_key[(product, cp_type, hqla_class or "-", bucket, bits)]
        # the seeds' rate is an exact decimal: it must equal the oracle's rate as written, exactly, in the
        # column of its section (haircut, run_off_rate or inflow_rate; the others null)
        rates = (row.haircut, row.run_off_rate, row.inflow_rate)
        expected = (code, kind, reference_lcr.section_rates(kind, rate))
        if (row.category_code, row.lcr_section, rates) != expected:
            mismatches.append((product, cp_type, hqla_class, bucket, flags, row.category_code, code))
    assert mismatches == []


def _deal(**values) -> dict:
    base = dict.fromkeys(
        ("deal_id", "entity_id", "counterparty_id", "product_type", "currency", "hqla_class"), None
    ) | {
        "as_of_date": dt.date(2026, 9, 30),
        "amount": Decimal(100),
        "maturity_date": None,
        "collateral_market_value": None,
        "reject_reason": None,
    }
    base |= dict.fromkeys(contract.FLAG_COLUMNS, False)
    return base | values


DEAL_SCHEMA = T.StructType(
    [
        T.StructField("deal_id", T.StringType()),
        T.StructField("as_of_date", T.DateType()),
        T.StructField("entity_id", T.StringType()),
        T.StructField("counterparty_id", T.StringType()),
        T.StructField("product_type", T.StringType()),
        T.StructField("currency", T.StringType()),
        T.StructField("amount", T.DecimalType(MONEY.precision, MONEY.scale)),
        T.StructField("maturity_date", T.DateType()),
        T.StructField("hqla_class", T.StringType()),
        *[T.StructField(column, T.BooleanType()) for column in contract.FLAG_COLUMNS],
        T.StructField("collateral_market_value", T.DecimalType(MONEY.precision, MONEY.scale)),
        T.StructField("reject_reason", T.StringType()),
    ]
)


def test_enrich_converts_to_reporting_currency_and_buckets_maturity(spark):
    day = dt.date(2026, 9, 30)
    deals = spark.createDataFrame(
        [
            _deal(
                deal_id="A",
                entity_id="E",
                counterparty_id="C",
                currency="USD",
                amount=Decimal(125),
                maturity_date=day + dt.timedelta(days=30),
            ),
            _deal(
                deal_id="B",
                entity_id="E",
                counterparty_id="C",
                currency="EUR",
                amount=Decimal(80),
                maturity_date=day + dt.timedelta(days=31),
                collateral_market_value=Decimal(40),
            ),
            _deal(deal_id="C", entity_id="E", counterparty_id="X", currency="GBP"),
        ],
        DEAL_SCHEMA,
    )
    entities = spark.createDataFrame(
        [(day, "E", "EUR", "DE")],
        "as_of_date date, entity_id string, reporting_currency string, country string",
    )
    counterparties = spark.createDataFrame(
        [(day, "C", "bank", "DE")],
        "as_of_date date, counterparty_id string, counterparty_type string, country string",
    )
    fx = spark.createDataFrame(
        [(day, "USD", 1.0), (day, "EUR", 1.25)], "as_of_date date, currency string, rate_to_usd double"
    )
    out = enrich.enrich(deals, entities, counterparties, fx, 30).select(
        "deal_id",
        "amount_reporting_ccy",
        "collateral_value_reporting_ccy",
        "maturity_bucket",
        "residual_maturity_days",
        "is_domestic",
        "reject_reason",
    )
    expected = spark.createDataFrame(
        [
            Row(
                deal_id="A",
                amount_reporting_ccy=Decimal(100),
                collateral_value_reporting_ccy=None,
                maturity_bucket="within_30d",
                residual_maturity_days=30,
                is_domestic=True,
                reject_reason=None,
            ),
            Row(
                deal_id="B",
                amount_reporting_ccy=Decimal(80),
                collateral_value_reporting_ccy=Decimal(40),
                maturity_bucket="beyond_30d",
                residual_maturity_days=31,
                is_domestic=True,
                reject_reason=None,
            ),
            Row(
                deal_id="C",
                amount_reporting_ccy=None,
                collateral_value_reporting_ccy=None,
                maturity_bucket="open",
                residual_maturity_days=None,
                is_domestic=None,
                reject_reason="unknown_counterparty",
            ),
        ],
        out.schema,
    )
    assertDataFrameEqual(out, expected)


def test_unwind_of_short_repos_and_reverse_repos(spark, params):
    """Annex 1: repo -> L1 minus cash, collateral level plus haircut value; reverse repo the opposite.
    Every contribution is money: the collateral value after haircut rounds HALF_UP to 6 decimals."""
    rows = [
        ("R1", "repo", "L2A", "within_30d", "100", "110", False),  # L1 -100, L2A +110*0.85
        ("R2", "reverse_repo", "L2B", "open", "50", "60", False),  # L1 +50, L2B -60*0.5
        ("R3", "reverse_repo", "L1", "within_30d", "70", "72", True),  # re-used collateral: L1 +70 only
        ("R4", "repo", "L1", "beyond_30d", "10", "11", False),  # beyond 30 days: no unwind
        ("R5", "repo", "NON_HQLA", "within_30d", "10", "11", False),  # non-HQLA collateral: no unwind
        # 0.000005 x 0.85 = 0.00000425 -> 0.000004; 0.00001 x 0.85 = 0.0000085 -> 0.000009 (HALF_UP)
        ("R6", "repo", "L2A", "within_30d", "0.000001", "0.000005", False),
        ("R7", "repo", "L2A", "within_30d", "0.000001", "0.00001", False),
    ]
    frame = spark.createDataFrame(
        [(d, p, h, b, Decimal(a), Decimal(c), e, Decimal(1)) for d, p, h, b, a, c, e in rows],
        "deal_id string, product_type string, hqla_class string, maturity_bucket string, "
        f"amount_reporting_ccy {MONEY.sql}, collateral_value_reporting_ccy {MONEY.sql}, "
        f"is_encumbered boolean, weight {RATE.sql}",
    )
    out = haircut.apply_haircuts(frame, params).select(
        "deal_id", "weighted_amount", "unwind_level1", "unwind_level2a", "unwind_level2b"
    )
    expected = spark.createDataFrame(
        [
            (d, Decimal(a), Decimal(u1), Decimal(u2a), Decimal(u2b))
            for d, a, u1, u2a, u2b in [
                ("R1", "100", "-100", "93.5", "0"),
                ("R2", "50", "50", "0", "-30"),
                ("R3", "70", "70", "0", "0"),
                ("R4", "10", "0", "0", "0"),
                ("R5", "10", "0", "0", "0"),
                ("R6", "0.000001", "-0.000001", "0.000004", "0"),
                ("R7", "0.000001", "-0.000001", "0.000009", "0"),
            ]
        ],
        out.schema,
    )
    assert {field.name: field.dataType.simpleString() for field in out.schema.fields[1:]} == dict.fromkeys(
        ("weighted_amount", "unwind_level1", "unwind_level2a", "unwind_level2b"), MONEY.sql
    )
    assertDataFrameEqual(out, expected)


def _raw_deals(spark, rows: list[dict]):
    """Deals as ingest.read_deals gives them: every contract column as text, plus source_file and
    raw_record (null: the CSV records had the right number of fields)."""
    columns = [*contract.DEALS.columns, "raw_record", "source_file"]
    defaults = dict.fromkeys(columns, "") | {"raw_record": None, "source_file": "deals.csv"}
    schema = T.StructType([T.StructField(column, T.StringType()) for column in columns])
    return spark.createDataFrame([tuple((defaults | row)[c] for c in columns) for row in rows], schema)


def test_validate_deals_rejects_non_finite_numbers_and_every_row_of_a_duplicated_id(spark):
    day = "2026-09-30"
    deal = {"as_of_date": day, "entity_id": "E", "counterparty_id": "C", "product_type": "deposit"}
    repo = deal | {"product_type": "repo", "hqla_class": "L1", "maturity_date": "2026-10-10"}
    raw = _raw_deals(
        spark,
        [
            deal | {"deal_id": "OK", "amount": " 100.5 "},
            deal | {"deal_id": "NAN", "amount": "NaN"},
            deal | {"deal_id": "INF", "amount": "inf"},
            deal | {"deal_id": "NEG_INF", "amount": "-Infinity"},
            deal | {"deal_id": "OVERFLOW", "amount": "1e400"},
            repo | {"deal_id": "CMV_NAN", "amount": "10", "collateral_market_value": "nan"},
            repo | {"deal_id": "CMV_NEG", "amount": "10", "collateral_market_value": "-5"},
            deal | {"deal_id": "1.23457E+15", "amount": "1"},
            deal | {"deal_id": "1.23457E+15", "amount": "2"},
            deal | {"deal_id": "1.23457E+15", "amount": "x"},  # rejected first for its amount
            deal | {"deal_id": "OK", "as_of_date": "2026-10-01", "amount": "3"},  # another date
        ],
    )
    out = ingest.validate_deals(raw).select("deal_id", "amount", "reject_reason", "_ingest_detail")
    duplicate = "deal_id '1.23457E+15' is on 3 rows for as_of_date 2026-09-30"
    expected = spark.createDataFrame(
        [
            ("OK", Decimal("100.5"), None, None),
            ("NAN", None, "bad_amount", "amount: 'NaN'"),
            ("INF", None, "bad_amount", "amount: 'inf'"),
            ("NEG_INF", None, "bad_amount", "amount: '-Infinity'"),
            ("OVERFLOW", None, "bad_amount", "amount: '1e400'"),
            ("CMV_NAN", Decimal(10), "bad_amount", "collateral_market_value: 'nan'"),
            ("CMV_NEG", Decimal(10), "negative_amount", "collateral_market_value: -5"),
            ("1.23457E+15", Decimal(1), "duplicate_deal_id", duplicate),
            ("1.23457E+15", Decimal(2), "duplicate_deal_id", duplicate),
            ("1.23457E+15", None, "bad_amount", "amount: 'x'"),
            ("OK", Decimal(3), None, None),
        ],
        out.schema,
    )
    assertDataFrameEqual(out, expected)


def test_enrich_applies_an_undated_snapshot_to_every_date(spark):
    """Entities and counterparties without as_of_date join deals of any date; FX stays per date."""
    day1, day2 = dt.date(2026, 9, 30), dt.date(2026, 10, 1)
    deals = spark.createDataFrame(
        [
            _deal(deal_id="A", as_of_date=day1, entity_id="E", counterparty_id="C", currency="EUR"),
            _deal(deal_id="B", as_of_date=day2, entity_id="E", counterparty_id="C", currency="EUR"),
            _deal(deal_id="C", as_of_date=day2, entity_id="X", counterparty_id="C", currency="EUR"),
        ],
        DEAL_SCHEMA,
    )
    entities = spark.createDataFrame(
        [("E", "USD", "US")], "entity_id string, reporting_currency string, country string"
    )
    counterparties = spark.createDataFrame(
        [("C", "bank", "DE")], "counterparty_id string, counterparty_type string, country string"
    )
    fx = spark.createDataFrame(
        [(day1, "USD", 1.0), (day1, "EUR", 1.25), (day2, "USD", 1.0), (day2, "EUR", 1.5)],
        "as_of_date date, currency string, rate_to_usd double",
    )
    out = enrich.enrich(deals, entities, counterparties, fx, 30).select(
        "deal_id", "counterparty_type", "amount_reporting_ccy", "is_domestic", "reject_reason"
    )
    expected = spark.createDataFrame(
        [
            ("A", "bank", Decimal(125), False, None),
            ("B", "bank", Decimal(150), False, None),
            ("C", "bank", None, None, "unknown_entity"),
        ],
        out.schema,
    )
    assertDataFrameEqual(out, expected)


def test_amounts_are_read_as_exact_money(spark):
    """Deal amounts and collateral values become decimal(38,6) as sent: more decimals round HALF_UP,
    exponents are read exactly, and what is no finite number or does not fit the type is a reject."""
    sent = [
        ("A", "1234567890123.1234565", "0.0000005"),  # HALF_UP at the 6th decimal: ...123457, 0.000001
        ("B", "1.5E+3", ""),  # exponent form; no collateral
        ("C", "nan", ""),  # not a finite number
        ("D", "1e40", ""),  # does not fit decimal(38,6)
        ("E", "100", "inf"),
    ]
    columns = list(contract.DEALS.columns)
    rows = []
    for deal_id, amount, collateral in sent:
        values = dict.fromkeys(columns, "") | {
            "deal_id": deal_id,
            "as_of_date": "2026-09-30",
            "entity_id": "E",
            "counterparty_id": "C",
            "product_type": "cash",
            "currency": "USD",
            "amount": amount,
            "collateral_market_value": collateral,
        }
        rows.append((*[values[column] for column in columns], "deals.csv", None))
    raw = spark.createDataFrame(
        rows,
        T.StructType([T.StructField(c, T.StringType()) for c in (*columns, "source_file", "raw_record")]),
    )
    out = {row["deal_id"]: row for row in ingest.validate_deals(raw).collect()}
    assert ingest.validate_deals(raw).schema["amount"].dataType.simpleString() == MONEY.sql
    assert (out["A"]["amount"], out["A"]["collateral_market_value"]) == (
        Decimal("1234567890123.123457"),
        Decimal("0.000001"),
    )
    assert (out["B"]["amount"], out["B"]["collateral_market_value"]) == (Decimal(1500), None)
    assert {deal_id: out[deal_id]["reject_reason"] for deal_id in "ABCDE"} == {
        "A": None,
        "B": None,
        "C": "bad_amount",
        "D": "bad_amount",
        "E": "bad_amount",
    }
