"""spark-submit's entry point for the regcalc command line (spark-submit runs a .py file, not a console
script): `spark-submit --master URL [options] python/regcalc_submit.py run --input DIR ...` does what
`regcalc run --input DIR ...` does, on the master spark-submit chose (README "Running on a Spark cluster").

It lives beside the package, not in it: spark-submit puts the script's folder first on sys.path, and
inside python/regcalc the module regcalc/dbt.py would hide the dbt package. From here the driver imports
regcalc from this checkout, which also holds what it reads besides code (seeds, profiles, the dbt project).
"""

import sys

from pyspark.sql import SparkSession

from regcalc.cli import main


def submit(argv: list[str] | None = None) -> int:
    """The command, then the session stopped: on a cluster the executors are released now, not by
    the JVM's shutdown hooks after the driver's Python exits."""
    try:
        return main(argv)
    finally:
        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()


if __name__ == "__main__":
    sys.exit(submit())
