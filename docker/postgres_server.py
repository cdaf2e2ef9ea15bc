"""PostgreSQL, where nodes may keep their views, from Debian's `postgresql` package.

`fetch` finds the server binaries of the installed package
(/usr/lib/postgresql/<major>/bin) and, when there are none and the script
runs as root, installs the package with apt-get first. One server runs per
run folder: its cluster in `<run>/data` (made by `initdb` on first start,
superuser `caseledger`, connections from 127.0.0.1 trusted), listening on
127.0.0.1 only and on no Unix socket, with a database `caseledger` made once
it answers. PostgreSQL refuses to run as root, so as root the cluster
belongs to, and the server runs as, the `postgres` system user the package
creates; that user must reach the cluster's folder, which a checkout in a
private folder (`mktemp -d` makes them 0700) does not let it, so as root the
cluster lives under /var/tmp/caseledger-postgres/ in a folder named after
the run folder, and `reset` removes it with the run folder.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jvm_process import ServerProcess, ServiceError, port_answers

PACKAGE = "postgresql"
SUPERUSER = "caseledger"
DATABASE = "caseledger"
SYSTEM_USER = "postgres"
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SHARED_CLUSTERS = Path("/var/tmp/caseledger-postgres")
"""Where clusters live when the server runs as `postgres` (see the module's note)."""


@dataclass(frozen=True)
class PostgresSettings:
    """Where one server keeps its cluster and logs, and its port."""

    run_dir: Path
    port: int = 5432

    @property
    def data_dir(self) -> Path:
        """The cluster; its path on the server's command line marks our process."""
        if os.geteuid() != 0:
            return self.run_dir / "data"
        run = str(self.run_dir.resolve()).encode()
        return SHARED_CLUSTERS / hashlib.sha256(run).hexdigest()[:16] / "data"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"


def bin_dir() -> Path | None:
    """The newest installed server's binaries, or None."""
    found = sorted(
        (Path(p) for p in glob.glob(_BIN_GLOB) if (Path(p) / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def install() -> tuple[bool, float]:
    """Make sure the server binaries are installed; whether apt-get ran, and seconds."""
    started = time.monotonic()
    if bin_dir() is not None:
        return False, time.monotonic() - started
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(
            "no PostgreSQL server in /usr/lib/postgresql; install Debian's "
            f"`{PACKAGE}` package (apt-get install {PACKAGE}) or run this as root"
        )
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE],
    ):
        done = subprocess.run(command, check=False, env=environment, capture_output=True, text=True)
        if done.returncode != 0:
            raise ServiceError(
                f"{' '.join(command)} failed (exit {done.returncode})\n{done.stdout}{done.stderr}"
            )
    if bin_dir() is None:
        raise ServiceError(f"apt-get installed {PACKAGE} but no server is in /usr/lib/postgresql")
    return True, time.monotonic() - started


def _binaries() -> Path:
    found = bin_dir()
    if found is None:
        raise ServiceError("no PostgreSQL server installed; run `fetch postgres` first")
    return found


def _as_server_user() -> list[str]:
    """The prefix that runs a command as the cluster's owner (none unless root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError as missing:
        raise ServiceError(
            f"running as root, but there is no `{SYSTEM_USER}` user to run PostgreSQL as"
        ) from missing
    return ["setpriv", f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}", "--init-groups", "--"]


def server_process(settings: PostgresSettings) -> ServerProcess:
    log = settings.logs_dir / "postgres.log"
    return ServerProcess(
        name="postgres",
        pid_file=settings.run_dir / "postgres.pid",
        marker=str(settings.data_dir),
        console_log=log,
        service_log=log,
        # SIGTERM would wait for every client to leave; SIGINT is the fast shutdown.
        stop_signal=signal.SIGINT,
    )


def busy_ports(settings: PostgresSettings) -> list[int]:
    return [settings.port] if port_answers(settings.port) else []


def prepare(settings: PostgresSettings) -> None:
    """Make the cluster on first start; its owner is the user the server runs as."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    if (settings.data_dir / "PG_VERSION").exists():
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    if os.geteuid() == 0:
        shutil.chown(settings.data_dir, SYSTEM_USER, SYSTEM_USER)
    done = subprocess.run(
        [
            *_as_server_user(),
            str(_binaries() / "initdb"),
            "-D",
            str(settings.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        raise ServiceError(f"initdb failed (exit {done.returncode})\n{done.stdout}{done.stderr}")


def start_command(settings: PostgresSettings) -> list[str]:
    return [
        *_as_server_user(),
        str(_binaries() / "postgres"),
        "-D",
        str(settings.data_dir),
        "-p",
        str(settings.port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=200",
    ]


def is_ready(settings: PostgresSettings) -> bool:
    """The server accepts connections, and the `caseledger` database exists."""
    bins = _binaries()
    address = ["-h", "127.0.0.1", "-p", str(settings.port), "-U", SUPERUSER]
    answered = subprocess.run(
        [str(bins / "pg_isready"), *address, "-d", "postgres"], capture_output=True, check=False
    )
    if answered.returncode != 0:
        return False
    present = subprocess.run(
        [
            str(bins / "psql"),
            *address,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if present.returncode != 0:
        return False
    if present.stdout.strip() != "1":
        made = subprocess.run(
            [str(bins / "createdb"), *address, DATABASE],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise ServiceError(f"createdb {DATABASE} failed\n{made.stdout}{made.stderr}")
    return True
