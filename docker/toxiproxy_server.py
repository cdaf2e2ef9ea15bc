"""Toxiproxy, the fault injector the fault tests put between nodes and services.

Built from source with the Go toolchain (the module comes from the Go module
proxy) into its own folder, and run as one detached process whose HTTP API
listens on 127.0.0.1. A marker beside the binary names the module version it
was built from, so a second build is free and a new pin builds again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jvm_process import ServerProcess, ServiceError, port_answers

MODULE = "github.com/Shopify/toxiproxy/v2"
VERSION = "v2.12.0"
# The server's main package; `cmd/toxiproxy-server` is only the release
# archives' name for it.
PACKAGE = f"{MODULE}/cmd/server"
BINARY = "toxiproxy-server"
MARKER_NAME = ".built"


@dataclass(frozen=True)
class ToxiproxySettings:
    """Where the binary is kept, where one server runs, and its API port."""

    lib_dir: Path
    run_dir: Path
    port: int = 8474

    @property
    def binary(self) -> Path:
        return self.lib_dir / BINARY

    @property
    def config(self) -> Path:
        """The proxies it starts with (none); its path marks our process."""
        return self.run_dir / "proxies.json"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_process(settings: ToxiproxySettings) -> ServerProcess:
    log = settings.logs_dir / "toxiproxy.log"
    return ServerProcess(
        name="toxiproxy",
        pid_file=settings.run_dir / "toxiproxy.pid",
        marker=str(settings.config),
        console_log=log,
        service_log=log,
    )


def is_built(settings: ToxiproxySettings) -> bool:
    marker = settings.lib_dir / MARKER_NAME
    return (
        settings.binary.exists()
        and marker.exists()
        and marker.read_text().strip() == f"{MODULE}@{VERSION}"
    )


def build(settings: ToxiproxySettings) -> tuple[bool, float]:
    """Build the pinned server into `lib_dir` unless it is there already.

    Returns whether the Go toolchain ran and the seconds it took. The binary
    lands in a scratch folder first and is moved in whole, so an interrupted
    build never leaves something that looks cached.
    """
    started = time.monotonic()
    if is_built(settings):
        return False, time.monotonic() - started
    if shutil.which("go") is None:
        raise ServiceError("go not found on PATH; toxiproxy is built with the Go toolchain")
    scratch = settings.lib_dir.with_name(settings.lib_dir.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    environment = {**os.environ, "GOBIN": str(scratch), "GOFLAGS": "-mod=mod"}
    # The release builds stamp the version the same way; without it `-version` says "git".
    stamp = f"-ldflags=-X {MODULE}.Version={VERSION.removeprefix('v')}"
    done = subprocess.run(
        ["go", "install", stamp, f"{PACKAGE}@{VERSION}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    built = scratch / Path(PACKAGE).name
    if done.returncode != 0 or not built.exists():
        raise ServiceError(
            f"building {PACKAGE}@{VERSION} failed (exit {done.returncode})\n"
            f"{done.stdout}{done.stderr}"
        )
    settings.lib_dir.mkdir(parents=True, exist_ok=True)
    built.replace(settings.binary)
    (settings.lib_dir / MARKER_NAME).write_text(f"{MODULE}@{VERSION}\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return True, time.monotonic() - started


def busy_ports(settings: ToxiproxySettings) -> list[int]:
    return [settings.port] if port_answers(settings.port) else []


def prepare(settings: ToxiproxySettings) -> None:
    """Start with no proxies: each test makes and removes its own."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.config.write_text("[]\n")


def start_command(settings: ToxiproxySettings) -> list[str]:
    return [
        str(settings.binary),
        "-host",
        "127.0.0.1",
        "-port",
        str(settings.port),
        "-config",
        str(settings.config),
    ]


def is_ready(settings: ToxiproxySettings) -> bool:
    """The API answers with the proxies it holds."""
    try:
        with urllib.request.urlopen(settings.api + "/proxies", timeout=2.0) as response:
            json.load(response)
            return True
    except (OSError, urllib.error.URLError, ValueError):
        return False
