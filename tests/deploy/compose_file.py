"""docker/compose.yaml as Compose resolves it: `docker-compose config` (Debian's
docker-compose, which validates the file against its copy of the compose
specification's schema before it prints the file resolved: anchors merged,
variables put in, relative paths made absolute)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
DOCKER = REPOSITORY / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
NETWORK_FILE = DOCKER / "network.yaml"
DEPLOY_ENV = "CASELEDGER_DEPLOY"


def compose_tool() -> str:
    found = shutil.which("docker-compose")
    assert found is not None, (
        "docker-compose is not installed: apt-get install docker-compose "
        "(it validates docker/compose.yaml; no container engine is needed)"
    )
    return found


def resolved(deploy: Path) -> dict[str, Any]:
    """The compose file validated and resolved, its host files taken from `deploy`."""
    done = subprocess.run(
        [compose_tool(), "--project-name", "caseledger", "-f", str(COMPOSE_FILE), "config"],
        env={**os.environ, DEPLOY_ENV: str(deploy)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config
