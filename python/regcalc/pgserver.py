"""A throwaway PostgreSQL server, set up to behave like Redshift where the two differ and it matters.

    python -m regcalc.pgserver        # start one, print its REGCALC_POSTGRES_* settings, stop on Ctrl-C

The test run starts one per session (tests/conftest.py) and builds the dbt project on it with the
`postgres` target. The server runs from the Debian `postgresql` package's binaries (`make postgres`
installs them), in a new temporary folder, listening on 127.0.0.1 on a free port and on a socket in
that folder, so several servers can run side by side. `initdb` refuses to run as root: as root the
server runs as the `postgres` system user the package creates, otherwise as the current user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from regcalc.settings import RegcalcError

# Where Redshift and PostgreSQL differ in a way the project's SQL can see.
REDSHIFT_LIKE = {
    # A backslash in a string literal is an escape character on Redshift; PostgreSQL's default
    # (on) keeps it literally. macro string_literal writes Redshift's form.
    "standard_conforming_strings": "off",
    "escape_string_warning": "off",  # else a WARNING for every backslash literal
    "timezone": "UTC",  # Redshift sessions run in UTC
    "datestyle": "ISO, YMD",
}
# A server for one test run: nothing has to survive a crash.
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
SERVICE_USER = "postgres"  # created by the Debian package; initdb refuses root
USER = "regcalc"
DATABASE = "regcalc"
START_ATTEMPTS = 5  # a free port can be taken by someone else between choosing it and binding it
START_TIMEOUT_SECONDS = 60.0


class PostgresServerError(RegcalcError):
    """The server could not be found, set up or started."""


def bin_dir() -> Path:
    """The folder holding initdb and postgres: $REGCALC_POSTGRES_BIN, Debian's newest
    /usr/lib/postgresql/<version>/bin, or the one of `initdb` on PATH."""
    configured = os.environ.get("REGCALC_POSTGRES_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise PostgresServerError(
        "no PostgreSQL server binaries (initdb, postgres) found: run `make postgres` (installs Debian's "
        "postgresql package) or set REGCALC_POSTGRES_BIN to their folder"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _service_account() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresServerError(
            f"running as root and there is no {SERVICE_USER!r} user to run PostgreSQL as (initdb refuses "
            "root): run `make postgres`, or run as an unprivileged user"
        ) from None


@dataclass
class PostgresServer:
    """A running server: connect with host/port/user/password/database, or through `environ()`."""

    host: str
    port: int
    user: str
    password: str
    database: str
    folder: Path  # data directory, socket and log; deleted by stop()
    process: subprocess.Popen = field(repr=False)

    def connection(self) -> dict[str, object]:
        """psycopg2.connect() arguments."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }

    def environ(self) -> dict[str, str]:
        """The settings the `postgres` target of profiles/profiles.yml reads."""
        return {
            "REGCALC_POSTGRES_HOST": self.host,
            "REGCALC_POSTGRES_PORT": str(self.port),
            "REGCALC_POSTGRES_USER": self.user,
            "REGCALC_POSTGRES_PASSWORD": self.password,
            "REGCALC_POSTGRES_DATABASE": self.database,
        }

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions), then delete the folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _log_tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n  ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(settings: dict[str, str] | None = None) -> PostgresServer:
    """initdb a new cluster in a temporary folder and start it; returns when it accepts connections.

    `settings`: extra server parameters (name -> value) on top of REDSHIFT_LIKE and THROWAWAY.
    Raises PostgresServerError with the server's log when it does not come up.
    """
    binaries = bin_dir()
    account = _service_account()
    folder = Path(tempfile.mkdtemp(prefix="regcalc-postgres-"))
    os.chown(folder, account.pw_uid, account.pw_gid)
    as_account = {"user": account.pw_uid, "group": account.pw_gid} if os.geteuid() == 0 else {}
    data = folder / "data"
    password = secrets.token_hex(16)
    password_file = folder / "password"
    password_file.write_text(password + "\n")
    os.chown(password_file, account.pw_uid, account.pw_gid)
    try:
        initdb = subprocess.run(
            [
                str(binaries / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                USER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            cwd=folder,
            **as_account,
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise PostgresServerError(f"initdb failed:\n  {initdb.stdout}{initdb.stderr}")
        parameters = {**REDSHIFT_LIKE, **THROWAWAY, **(settings or {})}
        for _attempt in range(START_ATTEMPTS):
            port = _free_port()
            server = _launch(binaries, data, folder, port, parameters, as_account, password)
            if server is not None:
                return server
        raise PostgresServerError(
            f"PostgreSQL did not start after {START_ATTEMPTS} attempts:\n  {_log_tail(folder / 'server.log')}"
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _launch(
    binaries: Path,
    data: Path,
    folder: Path,
    port: int,
    parameters: dict[str, str],
    as_account: dict,
    password: str,
) -> PostgresServer | None:
    """Start the postmaster on `port`; None if it exited (e.g. the port was taken meanwhile)."""
    import psycopg2

    options = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}"]
    for name, value in parameters.items():
        options += ["-c", f"{name}={value}"]
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - the server's stderr for its lifetime
    process = subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(data), "-p", str(port), *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=folder,
        start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop the server
        **as_account,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        server = PostgresServer("127.0.0.1", port, USER, password, DATABASE, folder, process)
        try:
            connection = psycopg2.connect(**{**server.connection(), "dbname": "postgres"}, connect_timeout=5)
        except psycopg2.OperationalError:
            time.sleep(0.2)
            continue
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"create database {DATABASE}")
        connection.close()
        return server
    process.kill()
    process.wait()
    raise PostgresServerError(
        f"PostgreSQL did not accept connections within {START_TIMEOUT_SECONDS:g} s:\n  "
        f"{_log_tail(folder / 'server.log')}"
    )


def main() -> int:
    """Start a server for a developer and keep it until Ctrl-C."""
    try:
        server = start()
    except RegcalcError as error:
        print(f"regcalc.pgserver: error: {error}", file=sys.stderr)
        return 1
    with server:
        print(f"PostgreSQL on {server.host}:{server.port} (data in {server.folder}); Ctrl-C stops it.")
        print("For the `postgres` dbt target, in another shell:")
        for name, value in server.environ().items():
            print(f"  export {name}={value}")
        print("  export REGCALC_TARGET=postgres")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
