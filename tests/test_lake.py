"""The lake's publish protocol (regcalc.lake), on a local folder and on s3a:// over the S3 protocol (moto
server): versions written once, one commit record per as-of date, readers following the records, every
published version kept, and a publish that fails part-way leaving each date whole at its old or new version.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from regcalc import contract
from regcalc.lake import (
    COMMITS,
    NULL_PARTITION,
    Commit,
    CommitLog,
    Lake,
    LakeError,
    LocalFiles,
    PublishedPartition,
    commit_record,
    parse_commit,
)
from regcalc.pipeline import DEAL_DATASET, run_jobs
from regcalc.recalc import lake_runs

CASES_DIR = Path(__file__).parent / "cases"
DAY1, DAY2 = "2026-09-30", "2026-10-01"
LAKE_DATASETS = (DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS))
DEALS_1 = [("A", 1.0, date(2026, 9, 30)), ("B", 2.0, date(2026, 9, 30)), ("C", 3.0, date(2026, 10, 1))]
UNDATED = [("X", 9.0, None)]  # a reject whose as_of_date could not be read: Spark's null partition
REFS = [("E1", date(2026, 9, 30)), ("E1", date(2026, 10, 1))]
DEALS_2 = [("C", 30.0, date(2026, 10, 1)), ("D", 40.0, date(2026, 10, 1))]  # a rerun of 2026-10-01


@pytest.fixture(params=["local", "s3a"])
def lake_uri(request, tmp_path) -> str:
    """A fresh lake: a local folder, or a prefix of the moto server's bucket read through S3A."""
    if request.param == "local":
        return str(tmp_path / "lake")
    bucket = request.getfixturevalue("s3a_bucket")
    return f"{bucket.uri}/{tmp_path.name}"


def deals(spark, rows):
    return spark.createDataFrame(rows, "deal_id string, amount double, as_of_date date")


def stage(spark, lake: Lake, run_id: str, rows, refs=()) -> None:
    lake.stage(deals(spark, rows), run_id, "deals")
    if refs:
        lake.stage(spark.createDataFrame(refs, "entity_id string, as_of_date date"), run_id, "refs")


def rows_of(frame) -> list[tuple]:
    return sorted((tuple(row) for row in frame.collect()), key=lambda row: (row[0], str(row[-1])))


def test_a_date_published_before_the_columns_changed_is_refused_until_published_again(spark, tmp_path):
    """check_columns compares the columns each current version was written with (the run's lake_columns)
    with the declared ones: a date of an older lake schema is named with what it lacks, and how to fix it."""
    lake = Lake(spark, str(tmp_path / "lake"))
    stage(spark, lake, "run-old", DEALS_1)
    lake.publish("run-old", ["deals"], {"run_id": "run-old", "code_version": "0.1.0+old"})
    declared = {"deals": ["deal_id", "amount", "haircut"]}  # a column added since
    with pytest.raises(LakeError) as raised:
        lake.check_columns(declared)
    assert str(raised.value) == (
        f"the lake {lake.uri} holds dates published before its columns changed:\n"
        f"  deals on {DAY1}, {DAY2} (regcalc 0.1.0+old) has no column haircut\n"
        "Publish those dates again with this version (`regcalc run --input DIR --as-of DATE`); "
        "the versions they replace stay in the lake."
    )
    lake.check_columns({"deals": ["deal_id", "amount"]})  # what it was written with: accepted

    # 2026-10-01 published again with the new column: only 2026-09-30 is left to fix
    lake.stage(deals(spark, DEALS_2).withColumn("haircut", F.lit(0.0)), "run-new", "deals")
    lake.publish("run-new", ["deals"], {"run_id": "run-new", "code_version": "0.2.0"})
    with pytest.raises(LakeError, match=f"deals on {DAY1} \\(regcalc 0.1.0\\+old\\) has no column haircut\n"):
        lake.check_columns(declared)

    # a run file without lake_columns (written before they were recorded) is named as such
    record = lake.files.read("_runs/run-old.json")
    lake.files.delete("_runs/run-old.json")
    lake.files.create(
        "_runs/run-old.json", json.dumps({k: v for k, v in json.loads(record).items() if k != "lake_columns"})
    )
    with pytest.raises(LakeError, match="has no record of its columns"):
        lake.check_columns(declared)


def test_publish_commits_every_date_once_and_readers_follow_the_records(spark, lake_uri):
    lake = Lake(spark, lake_uri)
    stage(spark, lake, "run-1", DEALS_1 + UNDATED, REFS)

    published = lake.publish("run-1", ["deals", "refs"], {"run_id": "run-1", "inputs": {"deals": "a.csv"}})

    assert published == [
        f"deals/as_of_date={DAY1}",
        f"deals/as_of_date={DAY2}",
        f"deals/as_of_date={NULL_PARTITION}",
        f"refs/as_of_date={DAY1}",
        f"refs/as_of_date={DAY2}",
    ]
    metadata = {
        "run_id": "run-1",
        "inputs": {"deals": "a.csv"},
        "lake_columns": {"deals": ["deal_id", "amount"], "refs": ["entity_id"]},  # as staged
    }
    assert lake.published("deals") == {
        day: PublishedPartition(f"{lake_uri}/deals/run-1/as_of_date={day}", "run-1", 1, metadata)
        for day in (DAY1, DAY2, NULL_PARTITION)
    }
    assert list(lake.published("refs")) == [DAY1, DAY2]
    # The layout: version folders where the run wrote them, its metadata, one record per date.
    files = lake.files.list("")
    assert [path for path in files if not path.startswith(("deals/", "refs/"))] == [
        f"_commits/as_of_date={DAY1}/000001-run-1.json",
        f"_commits/as_of_date={DAY2}/000001-run-1.json",
        f"_commits/as_of_date={NULL_PARTITION}/000001-run-1.json",
        "_runs/run-1.json",
    ]
    assert {path.rsplit("/", 1)[0] for path in files if path.endswith(".parquet")} == {
        f"deals/run-1/as_of_date={DAY1}",
        f"deals/run-1/as_of_date={DAY2}",
        f"deals/run-1/as_of_date={NULL_PARTITION}",
        f"refs/run-1/as_of_date={DAY1}",
        f"refs/run-1/as_of_date={DAY2}",
    }
    lines = [
        json.loads(line)
        for line in lake.files.read(f"_commits/as_of_date={DAY1}/000001-run-1.json").splitlines()
    ]
    committed_at = {line.pop("committed_at") for line in lines}
    assert len(committed_at) == 1 and datetime.fromisoformat(committed_at.pop()).tzinfo is not None
    assert lines == [
        {
            "as_of_date": DAY1,
            "version": 1,
            "run_id": "run-1",
            "dataset": dataset,
            "location": f"{dataset}/run-1/as_of_date={DAY1}",
        }
        for dataset in ("deals", "refs")
    ]
    assert rows_of(lake.read("deals")) == sorted(DEALS_1 + UNDATED, key=lambda row: (row[0], str(row[-1])))
    assert lake.read("deals").columns == ["deal_id", "amount", "as_of_date"]


def test_a_new_version_of_a_date_becomes_current_and_the_old_one_stays_readable(spark, lake_uri):
    lake = Lake(spark, lake_uri)
    stage(spark, lake, "run-1", DEALS_1 + UNDATED, REFS)
    lake.publish("run-1", ["deals", "refs"], {"run_id": "run-1"})
    stage(spark, lake, "run-2", DEALS_2, [REFS[1]])

    # a rerun of one date keeps the published undated rows (replace_undated=False)
    assert lake.publish("run-2", ["deals", "refs"], {"run_id": "run-2"}, replace_undated=False) == [
        f"deals/as_of_date={DAY2}",
        f"refs/as_of_date={DAY2}",
    ]

    assert {day: (p.run_id, p.version) for day, p in lake.published("deals").items()} == {
        DAY1: ("run-1", 1),
        DAY2: ("run-2", 2),
        NULL_PARTITION: ("run-1", 1),
    }
    history = lake.versions("deals")[DAY2]
    assert [(p.run_id, p.version, p.metadata["run_id"]) for p in history] == [
        ("run-1", 1, "run-1"),
        ("run-2", 2, "run-2"),
    ]
    expected = DEALS_1[:2] + DEALS_2 + UNDATED
    assert rows_of(lake.read("deals")) == sorted(expected, key=lambda row: (row[0], str(row[-1])))
    assert rows_of(lake.read("deals", [date(2026, 10, 1)])) == DEALS_2
    assert rows_of(lake.read("deals", [None])) == UNDATED
    # The figures of the first run stay readable: its version of 2026-10-01 is still there, whole.
    old = spark.read.parquet(history[0].location).withColumn("as_of_date", F.lit(date(2026, 10, 1)))
    assert rows_of(old) == [DEALS_1[2]]
    with pytest.raises(LakeError) as raised:
        lake.read("deals", ["2026-10-02", DAY1])
    assert str(raised.value) == (
        f"the lake {lake_uri} has no published deals for 2026-10-02 "
        f"(published: {DAY1}, {DAY2}, {NULL_PARTITION})"
    )


def test_a_refused_run_leaves_no_trace(spark, lake_uri):
    lake = Lake(spark, lake_uri)
    stage(spark, lake, "run-1", DEALS_1, REFS)
    lake.publish("run-1", ["deals", "refs"], {"run_id": "run-1"})
    before = lake.files.list("")
    stage(spark, lake, "run-2", DEALS_2, REFS)

    lake.discard("run-2", ["deals", "refs"])

    assert lake.files.list("") == before


# ------------------------------------------------------------------------------------------------
# A fault in the middle of a publish, through the jobs
# ------------------------------------------------------------------------------------------------
def copy_case(case: str, dest: Path, amount_factor: float = 1.0) -> Path:
    """The contract files of a hand case, every deal amount multiplied by `amount_factor`."""
    dest.mkdir(parents=True)
    for dataset in contract.ALL_DATASETS:
        shutil.copyfile(CASES_DIR / case / f"{dataset.name}.csv", dest / f"{dataset.name}.csv")
    with (CASES_DIR / case / "deals.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (dest / "deals.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "amount": str(float(row["amount"]) * amount_factor)} for row in rows)
    return dest


def amounts(lake: Lake) -> dict[str, dict[str, tuple[float, str]]]:
    """As-of date -> deal_id -> (amount, run_id) of the current deal_liquidity rows."""
    result: dict[str, dict[str, tuple[float, str]]] = {}
    for row in lake.read(DEAL_DATASET).collect():
        result.setdefault(row["as_of_date"].isoformat(), {})[row["deal_id"]] = (row["amount"], row["run_id"])
    return result


def test_a_publish_that_fails_midway_leaves_every_date_whole_and_a_rerun_succeeds(
    spark, lake_uri, tmp_path, monkeypatch
):
    first = run_jobs(spark, lake_uri, copy_case("multi_currency", tmp_path / "first"))
    before = amounts(Lake(spark, lake_uri))
    assert sorted(before) == [DAY1, DAY2] and {len(deals) for deals in before.values()} == {12}
    doubled = copy_case("multi_currency", tmp_path / "doubled", amount_factor=2.0)

    # The commit record of the second date cannot be written (an S3 error, a full disk, ...).
    files = type(Lake(spark, lake_uri).files)
    create = files.create

    def failing_create(self, path: str, text: str) -> None:
        if path.startswith(f"{COMMITS}/as_of_date={DAY2}/"):
            raise OSError(f"injected fault: cannot write {path}")
        create(self, path, text)

    monkeypatch.setattr(files, "create", failing_create)
    with pytest.raises(OSError, match="injected fault"):
        run_jobs(spark, lake_uri, doubled)
    monkeypatch.setattr(files, "create", create)

    lake = Lake(spark, lake_uri)
    failed_run = lake.published(DEAL_DATASET)[DAY1].run_id
    assert failed_run != first.run_id
    after = amounts(lake)
    # 2026-09-30 was committed: the new version, whole; 2026-10-01 was not: the old version, whole.
    assert after[DAY1] == {deal: (amount * 2, failed_run) for deal, (amount, _) in before[DAY1].items()}
    assert after[DAY2] == before[DAY2]
    for dataset in LAKE_DATASETS:  # every dataset of a date at the same version: never a mix
        assert {day: p.run_id for day, p in lake.published(dataset).items()} == {
            DAY1: failed_run,
            DAY2: first.run_id,
        }, dataset
    # What the failed run wrote for the date it did not commit is gone; what it committed stays.
    folders = {path.rsplit("/", 1)[0] for path in lake.files.list(DEAL_DATASET) if "/as_of_date=" in path}
    assert folders == {
        f"{DEAL_DATASET}/{first.run_id}/as_of_date={DAY1}",
        f"{DEAL_DATASET}/{first.run_id}/as_of_date={DAY2}",
        f"{DEAL_DATASET}/{failed_run}/as_of_date={DAY1}",
    }

    rerun = run_jobs(spark, lake_uri, doubled)

    assert amounts(lake) == {
        day: {deal: (amount * 2, rerun.run_id) for deal, (amount, _) in before[day].items()} for day in before
    }
    assert {day: [p.run_id for p in versions] for day, versions in lake.versions(DEAL_DATASET).items()} == {
        DAY1: [first.run_id, failed_run, rerun.run_id],
        DAY2: [first.run_id, rerun.run_id],
    }
    if "://" not in lake_uri:  # a local lake's commits are read without Spark (regcalc recalc --plan)
        assert lake_runs(lake_uri) == {DAY1: rerun.run_id, DAY2: rerun.run_id}


# ------------------------------------------------------------------------------------------------
# Commit records (no Spark)
# ------------------------------------------------------------------------------------------------
def test_commit_records_round_trip_and_stray_files_are_not_versions(tmp_path):
    log = CommitLog(LocalFiles(tmp_path))
    first = log.commit(DAY1, 1, "run-1", {"deals": f"deals/run-1/as_of_date={DAY1}"})
    undated = log.commit(NULL_PARTITION, 1, "run-1", {"deals": f"deals/run-1/as_of_date={NULL_PARTITION}"})
    second = log.commit(DAY1, 2, "run-2", {"deals": f"deals/run-2/as_of_date={DAY1}", "refs": "refs/x"})
    folder = tmp_path / COMMITS / f"as_of_date={DAY1}"
    (folder / ".000003-run-3.json.5f1e.tmp").write_text('{"as_of_date": "2026-09')  # a crashed local write
    (folder / "notes.txt").write_text("not a record")

    assert log.names() == {DAY1: [(1, "run-1"), (2, "run-2")], NULL_PARTITION: [(1, "run-1")]}
    assert log.current() == {DAY1: second, NULL_PARTITION: undated}
    assert log.history() == {DAY1: [first, second], NULL_PARTITION: [undated]}
    assert json.loads(commit_record(undated))["as_of_date"] is None


def test_a_damaged_commit_record_is_named(tmp_path):
    commit = Commit(DAY1, 1, "run-1", "2026-10-01T00:00:00+00:00", {"deals": "deals/run-1/as_of_date=x"})
    with pytest.raises(LakeError, match=rf"^{commit.path}: not a commit record of the lake"):
        parse_commit(commit.path, commit_record(commit)[:20])
    with pytest.raises(LakeError, match=r"its record says version 1 of 2026-09-30$"):
        parse_commit(f"{COMMITS}/as_of_date={DAY1}/000002-run-1.json", commit_record(commit))


def test_a_lake_uri_that_is_neither_a_folder_nor_an_object_store_is_refused():
    with pytest.raises(LakeError, match=r"a lake is a local folder or s3a://bucket/prefix, not hdfs://"):
        Lake(None, "hdfs://namenode/lake")
