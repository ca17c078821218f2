"""regcalc: deal-level Basel III LCR pipeline (PySpark jobs, parquet lake, dbt marts)."""

__version__ = "0.1.0"
