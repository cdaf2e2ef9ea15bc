"""Gather a server's jars from Maven Central into its own lib folder.

Each service has a throwaway `pom`-packaging project
(docker/kafka-broker/pom.xml, docker/cassandra-node/pom.xml); Maven's
dependency plugin copies its runtime dependencies into the lib folder. A
marker file holding the hash of the pom makes a second fetch free and a
changed pom (a new version) fetch again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jvm_process import ServiceError

MARKER_NAME = ".fetched"


@dataclass(frozen=True)
class JarSet:
    """The pom that names a server's jars and the folder they are copied to."""

    name: str
    pom: Path
    lib_dir: Path
    required_prefixes: Sequence[str]

    def pom_digest(self) -> str:
        return hashlib.sha256(self.pom.read_bytes()).hexdigest()

    def is_current(self) -> bool:
        marker = self.lib_dir / MARKER_NAME
        return marker.exists() and marker.read_text().strip() == self.pom_digest()

    def missing_jars(self, folder: Path) -> list[str]:
        present = [jar.name for jar in folder.glob("*.jar")]
        return [
            prefix
            for prefix in self.required_prefixes
            if not any(name.startswith(prefix) for name in present)
        ]


def fetch(jars: JarSet, work_dir: Path) -> tuple[bool, float]:
    """Fill `jars.lib_dir` unless it is current.

    Returns whether Maven ran and the seconds it took. Jars land in a
    scratch folder first and replace the lib folder only when complete, so
    an interrupted fetch never leaves a half-filled lib that looks cached.
    """
    started = time.monotonic()
    if jars.is_current():
        return False, time.monotonic() - started
    if shutil.which("mvn") is None:
        raise ServiceError("mvn not found on PATH; install Maven to fetch jars")
    work_dir.mkdir(parents=True, exist_ok=True)
    project = work_dir / "pom.xml"
    shutil.copyfile(jars.pom, project)
    scratch = jars.lib_dir.with_name(jars.lib_dir.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    command = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(project),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={scratch}",
    ]
    done = subprocess.run(command, cwd=work_dir, capture_output=True, text=True, check=False)
    missing = jars.missing_jars(scratch) if scratch.exists() else ["*"]
    # Some POMs under cassandra-all are flawed (a systemPath to tools.jar), so
    # Maven's complaints do not decide; whether the needed jars arrived does.
    if done.returncode != 0 and missing:
        raise ServiceError(
            f"fetching {jars.name} jars failed (mvn exit {done.returncode})\n"
            f"{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    if missing:
        raise ServiceError(
            f"fetching {jars.name} jars left out: {', '.join(missing)}\n"
            f"{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    shutil.rmtree(jars.lib_dir, ignore_errors=True)
    scratch.rename(jars.lib_dir)
    (jars.lib_dir / MARKER_NAME).write_text(jars.pom_digest() + "\n")
    return True, time.monotonic() - started


def jar_named(lib_dir: Path, prefix: str) -> Path:
    """The one jar in `lib_dir` whose name starts with `prefix`."""
    found = sorted(lib_dir.glob(f"{prefix}*.jar"))
    if not found:
        raise ServiceError(f"no {prefix}*.jar in {lib_dir}; run `fetch` first")
    return found[0]
