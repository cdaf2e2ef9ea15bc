"""`caseledger network up FILE`: run every node of a network file, each its own process.

The supervisor lives in `caseledger.nodes` (`nodes/network/supervisor.py`); this
command line never imports it, so `up` replaces this process with
`python -m caseledger.nodes network up ...` under the same interpreter, as
`node serve` does for one node.
"""

from __future__ import annotations

import os
import sys

import click


def node_module_argv(*args: str) -> list[str]:
    """The command line of `python -m caseledger.nodes ARGS` under this interpreter."""
    return [sys.executable, "-m", "caseledger.nodes", *args]


def exec_node_module(*args: str) -> None:
    """Become `python -m caseledger.nodes ARGS` (signals and exit status are then its own)."""
    argv = node_module_argv(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


@click.group()
def network() -> None:
    """Run a whole network (网络) on this machine."""


@network.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def up(args: tuple[str, ...]) -> None:
    """Run every node of a network file as its own process, until Ctrl-C.

    Every argument goes to `caseledger.nodes network up`; --help lists them.
    For example: caseledger network up shandong.yaml --data var/run
    (or --demo for the packaged Shandong demo network). Each node logs to
    <data>/logs/<code>.log; one LISTENING line per node is printed once all
    listen. Ctrl-C stops every node cleanly.
    """
    exec_node_module("network", "up", *args)


@network.command(
    "drop-keyspaces",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def drop_keyspaces(args: tuple[str, ...]) -> None:
    """Drop the Cassandra keyspaces of a network file's nodes (after a throwaway run).

    Lists them first; --yes drops them. For example:
    caseledger network drop-keyspaces var/run/network.yaml --yes
    """
    exec_node_module("network", "drop-keyspaces", *args)


@network.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def status(args: tuple[str, ...]) -> None:
    """Every node of a network file: answers, health, lag per source, quarantine.

    Every argument goes to `caseledger.nodes network status`; --help lists them.
    For example: caseledger network status var/run/network.yaml --metrics-base-port
    9100 --json. Exit status 0 when nothing is wrong, 1 when something is.
    """
    exec_node_module("network", "status", *args)


@network.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def pki(args: tuple[str, ...]) -> None:
    """The network PKI (证书): init|import the CA, issue|renew|revoke node certificates, list.

    Every argument goes to `caseledger.nodes pki`; --help lists them. For example:
    caseledger network pki init --network shandong --dir pki;
    caseledger network pki issue 370000000000 --dir pki --data var/370000000000.
    See docs/trust.md.
    """
    exec_node_module("pki", *args)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Benchmark P1 (durable appends beside baselines) in this process.

    Every argument goes to `caseledger.nodes bench`, e.g. --seconds 5 --json p1.json.
    """
    exec_node_module("bench", *args)
