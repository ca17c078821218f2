"""Spark's own launchers from the pyspark wheel (no SPARK_HOME install): spark-submit for the jobs on a
cluster master and for a Spark Thrift server that dbt's `spark` target (method thrift) connects to.

The wheel ships the Thrift server's jar but not Spark's sbin scripts; `start_thrift_server` does what
sbin/start-thriftserver.sh does (spark-submit --class HiveThriftServer2 ... spark-internal), with its own
Derby metastore and warehouse under one folder, and waits until the server accepts connections.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from regcalc.settings import RegcalcError

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
LOG_TAIL_LINES = 40


def spark_home() -> Path:
    """The pyspark package folder: the wheel's SPARK_HOME (bin/spark-submit, jars/)."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_submit_env() -> dict[str, str]:
    """This process's environment for the wheel's spark-submit: SPARK_HOME the wheel's (another Spark's
    would mix versions), and this interpreter, which has pyspark, as the driver's and the executors'
    Python where the caller did not choose one (the wheel's launcher otherwise looks for `python3`)."""
    env = dict(os.environ)
    env["SPARK_HOME"] = str(spark_home())
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", env["PYSPARK_PYTHON"])
    return env


def spark_submit(*args: str) -> list[str]:
    """The command line `spark-submit ARGS...` of the wheel's launcher."""
    return [str(spark_home() / "bin" / "spark-submit"), *args]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free now (the OS picks it), for a server that cannot bind to port 0 itself."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ThriftServer:
    """A running Spark Thrift server (HiveServer2 protocol): where it listens and its process group."""

    host: str
    port: int
    home: Path
    log: Path
    process: subprocess.Popen

    @property
    def profile_env(self) -> dict[str, str]:
        """What the dbt profile's `spark` target reads to reach this server."""
        return {"REGCALC_SPARK_HOST": self.host, "REGCALC_SPARK_PORT": str(self.port)}

    def stop(self, timeout: float = 60) -> None:
        """Stop the server's whole process group (the JVM and anything it started); SIGKILL if it hangs."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            self.process.wait()


def thrift_server_command(home: Path, host: str, port: int, conf: dict[str, str]) -> list[str]:
    """spark-submit for a Thrift server whose metastore (Derby) and warehouse live in `home`.
    `--class` comes first: spark-submit reads what follows the primary resource as the server's own."""
    settings = {
        "spark.sql.warehouse.dir": str(home / "spark-warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        ),
        "spark.ui.enabled": "false",
        **conf,
    }
    return spark_submit(
        "--class",
        THRIFT_SERVER_CLASS,
        "--name",
        "regcalc-thrift-server",
        "--driver-java-options",
        f"-Dderby.system.home={home}",
        *[item for key, value in settings.items() for item in ("--conf", f"{key}={value}")],
        "--hiveconf",
        f"hive.server2.thrift.port={port}",
        "--hiveconf",
        f"hive.server2.thrift.bind.host={host}",
        "spark-internal",
    )


def start_thrift_server(
    home: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    conf: dict[str, str] | None = None,
    timeout: float = 300,
) -> ThriftServer:
    """Start a Spark Thrift server from the wheel and return once it accepts connections on host:port.

    `home` gets the Derby metastore, the warehouse, derby.log and the server's log (`thrift-server.log`);
    `port` None picks a free one; `conf` adds Spark settings (e.g. spark.master, spark.driver.memory).
    The server runs in its own process group; stop it with `ThriftServer.stop()`. Raises RegcalcError,
    with the end of the server's log, if it exits or does not listen within `timeout` seconds.
    """
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    log = home / "thrift-server.log"
    with log.open("w") as log_handle:
        process = subprocess.Popen(
            thrift_server_command(home, host, port, conf or {}),
            cwd=home,
            env=spark_submit_env(),
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the JVM and its children
        )
    server = ThriftServer(host, port, home, log, process)
    deadline = time.monotonic() + timeout
    while not _accepts(host, port):
        if process.poll() is not None:
            raise RegcalcError(
                f"the Spark Thrift server exited with code {process.returncode} before listening on "
                f"{host}:{port}; its log ({log}) ends with:\n{log_tail(log)}"
            )
        if time.monotonic() > deadline:
            server.stop()
            raise RegcalcError(
                f"the Spark Thrift server did not listen on {host}:{port} within {timeout:.0f}s; "
                f"its log ({log}) ends with:\n{log_tail(log)}"
            )
        time.sleep(1)
    return server


def main(argv: list[str] | None = None) -> int:
    """`python -m regcalc.spark_submit thrift`: a Thrift server in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m regcalc.spark_submit",
        description="Start a local Spark Thrift server for dbt's `spark` target (method thrift).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    thrift = commands.add_parser("thrift", help="start a Spark Thrift server and wait until Ctrl-C")
    thrift.add_argument("--home", type=Path, required=True, help="folder of its metastore and warehouse")
    thrift.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    thrift.add_argument("--port", type=int, default=10000, help="port (default 10000, the profile's)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        server = start_thrift_server(args.home, host=args.host, port=args.port)
    except RegcalcError as error:
        print(f"thrift: error: {error}", file=sys.stderr)
        return 1
    print(
        f"Spark Thrift server on {server.host}:{server.port} after {time.monotonic() - started:.0f}s "
        f"(log {server.log}); in another shell:\n"
        f"  REGCALC_SPARK_HOST={server.host} REGCALC_SPARK_PORT={server.port} regcalc run --input DIR "
        "--target spark\nCtrl-C stops it.",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` too stops the server, via finally
    try:
        code = server.process.wait()  # returns only if the server stops by itself
    except KeyboardInterrupt:
        code = 0
    finally:
        server.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
