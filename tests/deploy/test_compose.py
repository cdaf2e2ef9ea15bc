"""docker/compose.yaml: valid by the compose specification, every file it mounts
in the repository or made by docker/prepare-deploy.sh, every node of
docker/network.yaml a service whose command line the node itself accepts, and
every store on a named volume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from caseledger.nodes.__main__ import _parser
from caseledger.nodes.network.file import load_network
from tests.deploy.compose_file import DOCKER, NETWORK_FILE, resolved

STORES = {
    "kafka": "/var/lib/kafka/data",
    "cassandra": "/var/lib/cassandra",
    "postgres": "/var/lib/postgresql/data",
}


def _prepare(deploy: Path) -> subprocess.CompletedProcess[str]:
    # The caseledger command line of the environment the tests run in.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["sh", str(DOCKER / "prepare-deploy.sh"), str(deploy)],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deploy") / "deploy"
    done = _prepare(folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def compose(deploy: Path) -> dict[str, Any]:
    return resolved(deploy)


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Container path -> (source, options) of a service's volumes (short syntax)."""
    found = {}
    for entry in service.get("volumes", []):
        source, target, *options = entry.split(":")
        found[target] = (source, ":".join(options))
    return found


def test_the_compose_file_is_valid_and_runs_the_network_with_its_services(
    compose: dict[str, Any],
) -> None:
    network = load_network(NETWORK_FILE)
    nodes = {node.address.host for node in network.nodes}
    assert set(compose["services"]) == nodes | set(STORES)
    assert {"province", "city", "county", "township"} <= nodes


def test_every_file_it_mounts_is_in_the_repository_or_made_by_prepare_deploy(
    compose: dict[str, Any], deploy: Path
) -> None:
    for name, service in compose["services"].items():
        for target, (source, _) in _mounts(service).items():
            if source.startswith("/"):
                assert Path(source).exists(), f"{name}: {source} (for {target}) does not exist"
                assert Path(source).is_relative_to(DOCKER) or Path(source).is_relative_to(deploy)
    for name, secret in compose["secrets"].items():
        assert Path(secret["file"]).is_file(), f"secret {name}: {secret['file']}"


def test_every_node_command_line_is_accepted_by_the_node_and_names_its_own_node(
    compose: dict[str, Any],
) -> None:
    network = load_network(NETWORK_FILE)
    for node in network.nodes:
        service = compose["services"][node.address.host]
        args = _parser({}).parse_args(service["command"])
        assert args.command == "serve"
        assert args.code == node.code
        source, options = _mounts(service)[str(args.network)]
        assert Path(source) == NETWORK_FILE
        assert options == "ro"
        health = service["healthcheck"]["test"]
        assert health[-2:] == [str(args.network), node.code]
        assert Path(health[-3]).name == "node-health.py"


def test_every_store_is_a_named_volume_and_every_service_restarts_and_is_checked(
    compose: dict[str, Any],
) -> None:
    network = load_network(NETWORK_FILE)
    stores = dict(STORES) | {n.address.host: str(n.data_dir) for n in network.nodes}
    for name, service in compose["services"].items():
        source, _ = _mounts(service)[stores[name]]
        assert source in compose["volumes"], f"{name}: its store is not a named volume"
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert len({_mounts(compose["services"][n])[stores[n]][0] for n in stores}) == len(stores)


def test_nodes_get_their_credentials_and_the_networks_public_keys_but_never_the_cas_key(
    compose: dict[str, Any], deploy: Path
) -> None:
    network = load_network(NETWORK_FILE)
    for node in network.nodes:
        mounts = _mounts(compose["services"][node.address.host])
        credentials = Path(mounts["/run/caseledger/credentials"][0])
        assert credentials == deploy / "nodes" / node.code
        assert (credentials / f"{node.code}.node.crt").is_file()
        assert Path(mounts[str(network.pki / "ca.crl")][0]).is_file()
        assert Path(mounts[str(network.identity_jwks)][0]).is_file()
        assert not any(source.endswith("ca.key") for source, _ in mounts.values())
        assert not any(Path(source) == deploy / "pki" for source, _ in mounts.values())


def test_prepare_deploy_never_replaces_the_keys_of_a_network(deploy: Path) -> None:
    before = (deploy / "pki" / "ca.crt").read_bytes()
    done = _prepare(deploy)
    assert done.returncode == 1
    assert "already holds a CA" in done.stderr
    assert (deploy / "pki" / "ca.crt").read_bytes() == before
