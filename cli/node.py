"""`caseledger node`: run a node process, or check that one answers.

The node itself lives in `caseledger.nodes`; this command line is only a
network client and never imports it, so `serve` replaces this process with
`python -m caseledger.nodes serve ...` under the same interpreter.
"""

from __future__ import annotations

import os
import sys

import click

from caseledger.cli.output import console, emit_json
from caseledger.cli.session import Session
from caseledger.v1 import ledger_pb2


def serve_argv(args: tuple[str, ...]) -> list[str]:
    """The command line the node process is started with."""
    return [sys.executable, "-m", "caseledger.nodes", "serve", *args]


@click.group()
def node() -> None:
    """Run a node (节点), or ping one."""


@node.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Start a node in this process; every argument goes to `caseledger.nodes serve`.

    For example: caseledger node serve --code 370102000000 --listen
    127.0.0.1:50051 --data ./var/lixia
    """
    argv = serve_argv(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


@node.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def ping(session: Session, as_json: bool) -> None:
    """Check that the node answers, and which division code it serves."""
    response = session.ledger.Ping(ledger_pb2.PingRequest(), timeout=session.timeout)
    if as_json:
        emit_json({"address": session.address, "node": response.node})
    else:
        console().print(f"node {response.node} answers at {session.address}")
