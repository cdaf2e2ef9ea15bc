"""`caseledger identity ...`: operators' tokens (统一身份认证) — a development identity
provider, issuing a token, checking one, the role table (docs/identity.md)."""

from __future__ import annotations

import click

from caseledger.cli.network import exec_node_module


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def identity(args: tuple[str, ...]) -> None:
    """Operators' tokens: init|issue|show|roles (a development identity provider).

    Every argument goes to `caseledger.nodes identity`; --help lists them. For example:
    caseledger identity init --dir pki/identity;
    caseledger identity issue --dir pki/identity --operator lixia.window.01 --name 张敏
    --role window_clerk --division 370102000000 --audience caseledger > token.
    `network up` makes one in the network's pki folder. See docs/identity.md.
    """
    exec_node_module("identity", *args)
