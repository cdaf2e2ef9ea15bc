"""The node image's install, run on this machine as docker/Dockerfile runs it:
its COPY lines' sources laid out as the image has them, then its RUN of
docker/install-node.sh, so the image cannot install other than what is tested."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.deploy.compose_file import DOCKER, REPOSITORY

DOCKERFILE = DOCKER / "Dockerfile"
INSTALL = "/opt/caseledger/install-node.sh"


def _instructions() -> list[tuple[str, str]]:
    """(instruction, its arguments), continuation lines joined, comments left out."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _lay_out_copies(image: Path) -> None:
    for word, rest in _instructions():
        if word != "COPY":
            continue
        *sources, target = shlex.split(rest)
        for source in sources:
            origin = REPOSITORY / source
            assert origin.exists(), f"COPY {source}: not in the repository"
            place = image / target.lstrip("/")
            if target.endswith("/"):
                place = place / origin.name
            place.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, place, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, place)


def _install_command(image: Path) -> list[str]:
    """The install step of the Dockerfile's RUN, its paths moved under `image`."""
    runs = [rest for word, rest in _instructions() if word == "RUN"]
    assert len(runs) == 1, "the image has one RUN, the install"
    step = runs[0].split("&&")[0].split()
    assert step[0] == INSTALL
    return [str(image / part.lstrip("/")) for part in step]


def test_the_images_install_step_installs_a_node_that_starts(tmp_path: Path) -> None:
    image = tmp_path / "image"
    _lay_out_copies(image)
    command = _install_command(image)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    venv = Path(command[2])
    entrypoint = dict(_instructions())["ENTRYPOINT"]
    started = image / json.loads(entrypoint)[0].lstrip("/")
    # The entry point runs the node with the interpreter the install made.
    prefix = "/" + str(venv.relative_to(image))
    assert f"{prefix}/bin/python -m caseledger.nodes" in started.read_text(encoding="utf-8")
    # What compose runs: the node's own argument parser, the health probe, the CLI.
    serve = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "caseledger.nodes", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert serve.returncode == 0
    assert "--network" in serve.stdout
    probe = subprocess.run(
        [str(venv / "bin" / "python"), str(image / "opt/caseledger/node-health.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 2
    assert "usage: node-health.py" in probe.stderr
    cli = subprocess.run(
        [str(venv / "bin" / "caseledger"), "--version"], capture_output=True, text=True, check=False
    )
    assert cli.returncode == 0, cli.stderr
