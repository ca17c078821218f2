"""Deal-level Spark jobs: ingest -> enrich -> classify -> haircut.

Each module holds pure DataFrame -> DataFrame transforms; pipeline.py chains them into one Spark
plan and does the I/O, so the input is read once and the lake written once per run.
"""
