"""`make bench`: time the pipeline on a generated bank and compare with one in-process SQL engine.

Prints, per stage, rows, seconds and rows/s; the peak memory of the Python process and of the
Spark JVM; the output sizes; and the DuckDB baseline that computes the same LCR from the same
input in one query (the yardstick of the performance targets). The LCRs of both are compared,
so the baseline is known to do the same work. It also checks that money reconciles exactly: the
deal rows summed per entity and date equal fct_lcr's components to the last digit (the bank of
issue 10, which failed that check in double precision: --deals 1000000 --entities 5 --dates 2
--seed 7).

`--warehouse` (make bench-warehouse) times the same `dbt build` (shipped rules, every test) on the local
Spark target and on a throwaway PostgreSQL (regcalc.pgserver) from the same lake, with the load of the
lake into PostgreSQL, and compares the two fct_lcr (4 decimals, the ratio 6).

`--recalc` (make bench-recalc) measures incremental recalculation instead: with --dates of history
built, one rule is changed on one date; the time of `regcalc recalc` (plan + build) is compared with
a full rebuild of the same state, and both results are compared table by table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

from regcalc import contract
from regcalc.params import RULE_BOOLEAN_COLUMNS, Parameters, load_parameters
from regcalc.progress import Progress, StageTiming
from regcalc.settings import PROJECT_DIR, Settings


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _duckdb_deal_ctes(input_dir: Path, params: Parameters) -> str:
    """The deal-level work as DuckDB CTEs ending in `unwound`: one row per deal with its reference
    joins, FX, maturity bucket, first-match category, weight and unwind."""
    rule_cases = []
    for rule in params.rules:
        tests = []
        for column, values in rule.conditions.items():
            if column in RULE_BOOLEAN_COLUMNS:
                tests.append(f"coalesce({column}, false) in ({', '.join(values)})")
            else:
                tests.append(f"{column} in ({', '.join(_sql_literal(v) for v in values)})")
        rule_cases.append(f"when {' and '.join(tests) or 'true'} then {_sql_literal(rule.category_code)}")
    categories = ", ".join(
        f"({_sql_literal(c.code)}, {_sql_literal(c.section)}, {_sql_literal(c.hqla_level or '')}, {c.weight})"
        for c in params.categories.values()
    )
    collateral = ", ".join(
        f"({_sql_literal(hqla_class)}, {_sql_literal(category.hqla_level)}, {category.weight})"
        for hqla_class in contract.HQLA_CLASSES
        if (category := params.haircut_for_class(hqla_class)) is not None
    )
    deals = input_dir / "deals"
    deals_source = (
        f"read_parquet('{deals}/*.parquet')" if any(deals.glob("*.parquet")) else f"read_csv('{deals}/*.csv')"
    )
    return f"""
with deals as (select * from {deals_source}),
entities as (select * from read_csv('{input_dir}/entities.csv')),
counterparties as (select * from read_csv('{input_dir}/counterparties.csv')),
fx as (select * from read_csv('{input_dir}/fx_rates.csv')),
categories(category_code, section, level, weight) as (values {categories}),
collateral(hqla_class, level, weight) as (values {collateral}),
enriched as (
    select d.*, e.reporting_currency, c.counterparty_type, e.country = c.country as is_domestic,
        dfx.rate_to_usd / rfx.rate_to_usd as fx_rate,
        case when d.maturity_date is null then 'open'
             when d.maturity_date - d.as_of_date <= {params.horizon_days} then 'within_30d'
             else 'beyond_30d' end as maturity_bucket
    from deals d
    join entities e on e.as_of_date = d.as_of_date and e.entity_id = d.entity_id
    join counterparties c on c.as_of_date = d.as_of_date and c.counterparty_id = d.counterparty_id
    join fx dfx on dfx.as_of_date = d.as_of_date and dfx.currency = d.currency
    join fx rfx on rfx.as_of_date = d.as_of_date and rfx.currency = e.reporting_currency
),
classified as (
    select enriched.*, case {" ".join(rule_cases)} end as category_code from enriched
),
weighted as (
    select k.deal_id, k.entity_id, k.as_of_date, k.currency, k.reporting_currency, k.category_code,
        cat.section, cat.level,
        k.amount * k.fx_rate * cat.weight as weighted,
        case when k.product_type in ('repo', 'reverse_repo') and k.maturity_bucket <> 'beyond_30d'
             and col.level is not null then true else false end as unwinds,
        k.product_type, k.amount * k.fx_rate as amount_reporting_ccy,
        k.collateral_market_value * k.fx_rate * coalesce(col.weight, 0) as collateral_value,
        col.level as collateral_level, coalesce(k.is_encumbered, false) as is_encumbered
    from classified k
    join categories cat on cat.category_code = k.category_code
    left join collateral col on col.hqla_class = k.hqla_class
),
unwound as (
    select *,
        case when not unwinds then 0
             when product_type = 'repo'
                 then -amount_reporting_ccy
                     + (case when collateral_level = 'L1' then collateral_value else 0 end)
             else amount_reporting_ccy
                 - (case when collateral_level = 'L1' and not is_encumbered then collateral_value else 0 end)
        end as u1,
        case when not unwinds or collateral_level <> 'L2A' then 0
             when product_type = 'repo' then collateral_value
             when is_encumbered then 0 else -collateral_value end as u2a,
        case when not unwinds or collateral_level <> 'L2B' then 0
             when product_type = 'repo' then collateral_value
             when is_encumbered then 0 else -collateral_value end as u2b
    from weighted
)"""


def duckdb_deal_sql(input_dir: Path, params: Parameters, out: Path) -> str:
    """The deal-level work (as the jobs stage does it, without validation) in one DuckDB statement
    writing parquet partitioned by as_of_date, like the lake."""
    return (
        f"copy ({_duckdb_deal_ctes(input_dir, params)} select * from unwound) to {_sql_literal(str(out))} "
        "(format parquet, partition_by (as_of_date), overwrite_or_ignore)"
    )


def duckdb_lcr_sql(input_dir: Path, params: Parameters) -> str:
    """The whole LCR (classification, haircuts, unwind, caps, inflow cap) as one DuckDB query."""
    caps = params.caps
    c15, c40 = caps["L2B_CAP"], caps["L2_CAP"]
    return f"""{_duckdb_deal_ctes(input_dir, params)},
components as (
    select entity_id, as_of_date,
        sum(case when section = 'hqla' and level = 'L1' then weighted else 0 end) as l1,
        sum(case when section = 'hqla' and level = 'L2A' then weighted else 0 end) as l2a,
        sum(case when section = 'hqla' and level = 'L2B' then weighted else 0 end) as l2b,
        sum(u1) as u1, sum(u2a) as u2a, sum(u2b) as u2b,
        sum(case when section = 'outflow' then weighted else 0 end) as outflows,
        sum(case when section = 'inflow' then weighted else 0 end) as inflows
    from unwound group by entity_id, as_of_date
),
caps as (
    select *, greatest(l2b + u2b - {c15 / (1 - c15)} * (l1 + u1 + l2a + u2a),
                       l2b + u2b - {c15 / (1 - c40)} * (l1 + u1), 0) as adj15
    from components
),
final as (
    select *, greatest(l2a + u2a + l2b + u2b - adj15 - {c40 / (1 - c40)} * (l1 + u1), 0) as adj40
    from caps
)
select entity_id, as_of_date,
    (l1 + l2a + l2b - adj15 - adj40)
        / (outflows - least(inflows, {caps["INFLOW_CAP"]} * outflows)) as lcr
from final order by as_of_date, entity_id
"""


def _peak_memory_mb(spark) -> dict[str, float]:
    python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    jvm_peak = 0.0
    with open(f"/proc/{jvm_pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                jvm_peak = int(line.split()[1]) / 1024
    return {"python": python_peak, "jvm": jvm_peak}


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regcalc-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000, help="deals to generate (default 1M)")
    parser.add_argument("--dates", type=int, default=1, help="as-of dates (default 1)")
    parser.add_argument("--entities", type=int, default=3, help="legal entities (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "bench-out", help="work folder")
    parser.add_argument("--keep-input", action="store_true", help="reuse a generated input of the same size")
    parser.add_argument(
        "--fixed-cost-deals",
        type=int,
        default=2000,
        help="also time the same dbt build on a bank of this many deals (default 2000; 0: skip)",
    )
    parser.add_argument(
        "--recalc", action="store_true", help="time an incremental recalculation against a full rebuild"
    )
    parser.add_argument(
        "--warehouse", action="store_true", help="time dbt build on Spark and on PostgreSQL from one lake"
    )
    args = parser.parse_args(argv)
    if args.recalc:
        return recalc_benchmark(args)
    if args.warehouse:
        return warehouse_benchmark(args)

    work = args.out
    input_dir = work / f"input-{args.deals}-{args.dates}-{args.entities}-{args.seed}"
    os.environ["REGCALC_HOME"] = str(work / "home")
    os.environ["REGCALC_SCHEMA"] = "bench"
    settings = Settings.from_env(lake=str(work / "lake"))
    for folder in ("lake", "plain", "duckdb-deals"):
        shutil.rmtree(work / folder, ignore_errors=True)

    from regcalc.bench_plain import plain_deal_level
    from regcalc.dbt import invoke_dbt
    from regcalc.pipeline import run_jobs
    from regcalc.session import get_spark
    from regcalc.warehouse import load_lake

    progress = Progress()
    with progress.stage("spark session start") as timing:
        spark = get_spark(settings)
    _generate_input(spark, args, input_dir, progress)
    params = load_parameters()
    # The plain job runs once before the jobs and once after them, and the ratio uses their mean: a
    # single run after the jobs (and the dbt build) gets a warm JIT and flatters the yardstick's speed.
    with progress.stage("plain PySpark job, before the jobs (bench_plain)") as plain_before:
        plain_deal_level(spark, input_dir, params, work / "plain")
        plain_before.rows = args.deals
    run_start = time.perf_counter()
    report = run_jobs(spark, settings.lake, input_dir, max_reject_rate=0.0, progress=progress)
    jobs_seconds = time.perf_counter() - run_start
    for timing in progress.timings:
        if timing.name.startswith("jobs") or timing.name.startswith("check"):
            timing.rows = report.total_accepted
    progress.timings.append(
        StageTiming("jobs stage total (regcalc run --skip-dbt)", jobs_seconds, report.total_accepted)
    )
    with progress.stage("register the lake (once per run)"):
        load_lake(spark, settings)
    with progress.stage("dbt build, data tests included") as build:
        # The regulation's LCR without the example adjustment rules: the same thing the baseline computes.
        # --full-refresh, like regcalc run: every date from scratch, whatever an earlier bench left
        invoke_dbt(["build", "--full-refresh"], settings, {"apply_adjustments": False})
        build.rows = report.total_accepted
    run_seconds = time.perf_counter() - run_start
    progress.timings.append(
        StageTiming("regcalc run total (jobs + register + dbt build)", run_seconds, report.total_accepted)
    )
    spark_lcr = {
        (row["entity_id"], row["as_of_date"]): row["lcr"]
        for row in spark.table("bench.fct_lcr").select("entity_id", "as_of_date", "lcr").collect()
    }
    with progress.stage("reconcile: deal rows summed vs fct_lcr, exactly") as timing:
        reconciliation = spark.sql(RECONCILIATION_SQL).collect()[0]
        timing.rows = report.total_accepted
    # Before the baselines: DuckDB runs in this Python process and would count as the pipeline's memory.
    memory = _peak_memory_mb(spark)

    import duckdb

    with progress.stage("plain PySpark job, after the jobs and the build") as plain_after:
        plain_deal_level(spark, input_dir, params, work / "plain")
        plain_after.rows = args.deals
    plain_seconds = (plain_before.seconds + plain_after.seconds) / 2
    with progress.stage("DuckDB, same deal-level work in one statement") as duck_deals:
        duckdb.connect().execute(duckdb_deal_sql(input_dir, params, work / "duckdb-deals"))
        duck_deals.rows = args.deals
    with progress.stage("DuckDB, whole LCR in one query") as duck_lcr:
        baseline = duckdb.connect().execute(duckdb_lcr_sql(input_dir, params)).fetchall()
        duck_lcr.rows = args.deals
    mismatches = [
        (entity, day, lcr, spark_lcr.get((entity, day)))
        for entity, day, lcr in baseline
        if spark_lcr.get((entity, day)) is None or abs(spark_lcr[(entity, day)] - lcr) > 1e-5
    ]
    fixed = _fixed_cost(spark, args, work, progress) if args.fixed_cost_deals else None

    print("\nregcalc benchmark")
    print(f"{'stage':58} {'rows':>12} {'seconds':>9} {'rows/s':>12}")
    for timing in progress.timings:
        rows = f"{timing.rows:,}" if timing.rows else ""
        rate = f"{timing.rows / timing.seconds:,.0f}" if timing.rows and timing.seconds else ""
        print(f"{timing.name[:58]:58} {rows:>12} {timing.seconds:9.1f} {rate:>12}")
    peak_gb = (memory["python"] + memory["jvm"]) / 1024
    print(
        f"\npeak memory of the run (input generation and the first plain job included, baselines not): "
        f"python {memory['python']:,.0f} MB, spark jvm {memory['jvm']:,.0f} MB"
    )
    print(
        f"input {_size_mb(input_dir):,.0f} MB; lake {_size_mb(work / 'lake'):,.0f} MB; "
        f"warehouse {_size_mb(work / 'home' / 'spark-warehouse'):,.0f} MB"
    )
    print(f"\nissue 11 targets ({report.total_accepted:,} deals, {len(report.as_of_dates)} as-of dates):")
    ratios = [
        ("jobs stage / plain PySpark job (mean of two)", jobs_seconds / plain_seconds, "x", "<= 1.0x"),
        ("dbt build with tests / jobs stage", build.seconds / jobs_seconds, "x", "<= 1.0x"),
        ("whole run / DuckDB whole-LCR query", run_seconds / duck_lcr.seconds, "x", "<= 20x (at 10M)"),
        ("peak memory python + jvm", peak_gb, " GB", "<= 8 GB (at 10M)"),
        ("(reference) jobs stage / DuckDB deal-level", jobs_seconds / duck_deals.seconds, "x", ""),
    ]
    if fixed is not None:
        ratios.insert(
            2, (f"fixed cost: dbt build on {args.fixed_cost_deals:,} deals", fixed, " s", "<= 30 s")
        )
    for name, value, unit, target in ratios:
        print(f"  {name:44} {value:8.1f}{unit:3} {('target ' + target) if target else ''}")
    print("LCR of baseline and pipeline: " + ("identical" if not mismatches else f"DIFFER: {mismatches[:5]}"))
    exact = reconciliation["groups"] > 0 and reconciliation["differing"] == 0
    print(
        f"money: {reconciliation['groups']} entity-dates, largest total outflows "
        f"{reconciliation['largest_outflows']:,} ({reconciliation['amount_type']}); deal rows vs fct_lcr: "
        + ("equal to the last digit" if exact else f"{reconciliation['differing']} DIFFER")
    )
    return 1 if mismatches or not exact else 0


def _fixed_cost(spark, args, work: Path, progress: Progress) -> float:
    """Seconds of the same `dbt build` (tests included) on a bank of args.fixed_cost_deals deals (same
    entities, dates and seed), in its own schemas: what the dbt layer costs whatever the volume."""
    from regcalc.dbt import invoke_dbt
    from regcalc.pipeline import run_jobs
    from regcalc.warehouse import load_lake

    small = argparse.Namespace(**{**vars(args), "deals": args.fixed_cost_deals, "keep_input": True})
    input_dir = work / f"input-{small.deals}-{small.dates}-{small.entities}-{small.seed}"
    _generate_input(spark, small, input_dir, progress)
    os.environ["REGCALC_SCHEMA"] = "bench_fixed"
    settings = Settings.from_env(lake=str(work / "lake-fixed"))
    shutil.rmtree(work / "lake-fixed", ignore_errors=True)
    lake_schema = {"lake_schema": "bench_fixed_lake"}
    run_jobs(spark, settings.lake, input_dir, max_reject_rate=0.0, progress=Progress(quiet=True))
    load_lake(spark, settings, schema=lake_schema["lake_schema"])
    with progress.stage(f"fixed cost: dbt build on {small.deals:,} deals, tests included") as timing:
        invoke_dbt(["build", "--full-refresh"], settings, {"apply_adjustments": False, **lake_schema})
        timing.rows = small.deals
    return timing.seconds


# Sums of the valid deal rows per entity and date against fct_lcr's base rows: with exact decimals every
# component must be equal, not close (tolerance 0).
RECONCILIATION_SQL = """
with deals as (
    select as_of_date, entity_id,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L1' then weighted_amount else 0 end) as l1,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L2A' then weighted_amount else 0 end) as l2a,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L2B' then weighted_amount else 0 end) as l2b,
        sum(unwind_level1) as u1, sum(unwind_level2a) as u2a, sum(unwind_level2b) as u2b,
        sum(case when lcr_section = 'outflow' then weighted_amount else 0 end) as outflows,
        sum(case when lcr_section = 'inflow' then weighted_amount else 0 end) as inflows
    from bench.int_deal_liquidity
    group by as_of_date, entity_id
),
lcr as (select * from bench.fct_lcr where scenario = 'base')
select
    count(*) as groups,
    sum(case when deals.l1 = lcr.hqla_level1 and deals.l2a = lcr.hqla_level2a and deals.l2b = lcr.hqla_level2b
             and deals.l1 + deals.u1 = lcr.adjusted_level1 and deals.l2a + deals.u2a = lcr.adjusted_level2a
             and deals.l2b + deals.u2b = lcr.adjusted_level2b and deals.outflows = lcr.total_outflows
             and deals.inflows = lcr.total_inflows then 0 else 1 end) as differing,
    max(lcr.total_outflows) as largest_outflows,
    typeof(max(lcr.total_outflows)) as amount_type
from deals
full outer join lcr on deals.as_of_date = lcr.as_of_date and deals.entity_id = lcr.entity_id
"""


def _same_lcr_row(left: tuple, right: tuple) -> bool:
    """(scenario, entity, date, hqla, net_cash_outflows, lcr) rows equal: the key exactly, amounts to 4
    decimals, the ratio to 6 (fct_lcr's rounding; the last digit may differ where sums differ in order)."""
    if left[:3] != right[:3]:
        return False
    for index, (x, y) in enumerate(zip(left[3:], right[3:], strict=True)):
        tolerance = 1e-6 if index == 2 else 1e-4
        if (x is None) != (y is None) or (x is not None and abs(x - y) > tolerance):
            return False
    return True


def _generate_input(spark, args, input_dir: Path, progress: Progress) -> None:
    """The bank of args.deals deals over args.dates dates, unless --keep-input and it is there."""
    from regcalc.generate import generate_bank

    if not (args.keep_input and input_dir.exists()):
        shutil.rmtree(input_dir, ignore_errors=True)
        with progress.stage(f"generate {args.deals:,} deals over {args.dates} dates (parquet)") as timing:
            generate_bank(
                spark,
                input_dir,
                deals=args.deals,
                entities=args.entities,
                dates=args.dates,
                seed=args.seed,
                fmt="parquet",
            )
            timing.rows = args.deals


def warehouse_benchmark(args) -> int:
    """One lake; `dbt build --full-refresh` on the local Spark target, then load + build on PostgreSQL."""
    from regcalc import pgserver
    from regcalc.dbt import invoke_dbt
    from regcalc.pipeline import run_jobs
    from regcalc.session import get_spark
    from regcalc.warehouse import connect_postgres, load_lake

    work = args.out / "warehouse"
    input_dir = args.out / f"input-{args.deals}-{args.dates}-{args.entities}-{args.seed}"
    shutil.rmtree(work, ignore_errors=True)
    os.environ["REGCALC_HOME"] = str(work / "home")
    os.environ["REGCALC_SCHEMA"] = "bench_warehouse"
    lake = str(work / "lake")
    progress = Progress()
    spark = get_spark(Settings.from_env(lake=lake, target="local"))
    _generate_input(spark, args, input_dir, progress)
    report = run_jobs(spark, lake, input_dir, max_reject_rate=0.0, progress=progress)
    with progress.stage("dbt build --full-refresh on local Spark") as spark_build:
        local = Settings.from_env(lake=lake, target="local")
        load_lake(spark, local)
        invoke_dbt(["build", "--full-refresh"], local)
    columns = "scenario, entity_id, as_of_date, hqla, net_cash_outflows, lcr"
    spark_lcr = sorted(
        tuple(row) for row in spark.sql(f"select {columns} from bench_warehouse.fct_lcr").collect()
    )
    with pgserver.start() as server:
        os.environ.update(server.environ())
        warehouse = Settings.from_env(lake=lake, target="postgres")
        with progress.stage("load the lake into PostgreSQL (COPY)") as load:
            loaded = load_lake(spark, warehouse)
            load.rows = sum(loaded.rows.values())
        with progress.stage("dbt build --full-refresh on PostgreSQL") as postgres_build:
            invoke_dbt(["build", "--full-refresh"], warehouse)
        connection = connect_postgres("postgres")
        with connection.cursor() as cursor:
            cursor.execute(f"select {columns} from bench_warehouse.fct_lcr")
            postgres_lcr = sorted(cursor.fetchall())
        connection.close()
    differ = len(spark_lcr) != len(postgres_lcr) or not all(
        _same_lcr_row(a, b) for a, b in zip(spark_lcr, postgres_lcr, strict=False)
    )
    deals, dates = report.total_accepted, len(report.as_of_dates)
    print(f"\nwarehouse benchmark: {deals:,} deals on {dates} as-of dates, one lake")
    print(f"  dbt build on local Spark      {spark_build.seconds:7.1f} s")
    print(f"  load into PostgreSQL (COPY)   {load.seconds:7.1f} s  ({load.rows:,} rows)")
    print(f"  dbt build on PostgreSQL       {postgres_build.seconds:7.1f} s")
    print(f"  fct_lcr ({len(spark_lcr)} rows) on both: " + ("equal" if not differ else "DIFFER"))
    return 1 if differ else 0


# Tables whose rows the recalculation rewrites, compared between the incremental and the full build.
RECALC_COMPARED = (
    "int_deal_liquidity__adjusted",
    "int_lcr_category_totals__adjusted",
    "int_lcr_components__adjusted",
    "fct_lcr_category",
    "fct_lcr",
    "fct_adjustment_audit",
    "rpt_adjustment_rule_status",
    "bridge_deal_adjustment",
    "fct_lcr_currency",
    "rpt_lcr_adjustment_waterfall",
)


def slowest_nodes(run_results: Path, count: int = 12) -> str:
    """The `count` dbt nodes of the last invocation (dbt's run_results.json) that took longest, with their
    seconds and the invocation's node total: where a build's time goes."""
    results = json.loads(run_results.read_text())["results"]
    ranked = sorted(results, key=lambda result: result["execution_time"], reverse=True)
    total = sum(result["execution_time"] for result in results)
    lines = [f"slowest of {len(results)} nodes ({total:.1f} s summed over the threads):"]
    lines += [f"  {r['execution_time']:6.1f} s  {r['unique_id']}" for r in ranked[:count]]
    return "\n".join(lines)


def recalc_benchmark(args) -> int:
    """History of args.dates as-of dates built; ADJ-001 changed on one date; recalc vs full rebuild."""
    from datetime import date, timedelta

    from regcalc.dbt import copy_project
    from regcalc.pipeline import run_jobs
    from regcalc.recalc import plan_recalc, run_recalc
    from regcalc.rules import set_rule_cells
    from regcalc.session import get_spark

    work = args.out / "recalc"
    input_dir = args.out / f"input-{args.deals}-{args.dates}-{args.entities}-{args.seed}"
    shutil.rmtree(work, ignore_errors=True)
    os.environ["REGCALC_HOME"] = str(work / "home")
    lake = str(work / "lake")
    project = copy_project(work / "project")
    changed_day = (date(2026, 9, 29) + timedelta(days=args.dates // 2)).isoformat()
    # The deal-point rule ADJ-001 (run-off weight of E01's operational deposits) on one date only.
    set_rule_cells(
        project / "seeds" / "adjustments", "ADJ-001", effective_from=changed_day, expiry=changed_day
    )

    def settings(schema: str) -> Settings:
        os.environ["REGCALC_SCHEMA"] = schema
        return Settings.from_env(lake=lake)

    progress = Progress()
    spark = get_spark(settings("bench_recalc"))
    _generate_input(spark, args, input_dir, progress)
    report = run_jobs(spark, lake, input_dir, max_reject_rate=0.0, progress=progress)
    with progress.stage("full build of the history, with its data tests") as full_with_tests:
        run_recalc(plan_recalc(settings("bench_recalc"), project), settings("bench_recalc"), project)

    recalc_timings = []
    for value, skip_tests in (("0.95", False), ("0.85", True)):
        set_rule_cells(project / "seeds" / "adjustments", "ADJ-001", value=value)
        tests = "without data tests" if skip_tests else "with its data tests"
        with progress.stage(f"recalc ADJ-001 = {value} on {changed_day} ({tests}): plan + build") as timing:
            plan = plan_recalc(settings("bench_recalc"), project)
            plan.skip_tests = skip_tests
            run_recalc(plan, settings("bench_recalc"), project)
        recalc_timings.append((tests, timing))
        print(plan.render())
        print(slowest_nodes(project / "target" / "run_results.json"))
    with progress.stage("full build of the same state, without data tests") as full_without_tests:
        full_settings = settings("bench_full")
        plan = plan_recalc(full_settings, project)
        plan.skip_tests = True
        run_recalc(plan, full_settings, project)

    differences = []
    for table in RECALC_COMPARED:
        left, right = spark.table(f"bench_recalc.{table}"), spark.table(f"bench_full.{table}")
        if left.exceptAll(right).count() or right.exceptAll(left).count():
            differences.append(table)
    print(f"\nincremental recalculation: {report.total_accepted:,} deals on {args.dates} as-of dates")
    for (tests, timing), full in zip(recalc_timings, (full_with_tests, full_without_tests), strict=True):
        print(
            f"  {tests}: full build {full.seconds:6.1f} s, recalc (1 rule, 1 date) {timing.seconds:6.1f} s "
            f"= {timing.seconds / full.seconds:6.1%} (target <= 10%)"
        )
    print("  incremental vs full rebuild: " + ("identical" if not differences else f"DIFFER: {differences}"))
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
