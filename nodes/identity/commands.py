"""`python -m caseledger.nodes identity ...` (`caseledger identity ...`): the
development identity provider, and a token checker for any provider."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from pathlib import Path

from caseledger.nodes.identity.claims import OperatorIdentity
from caseledger.nodes.identity.errors import IdentityError, TokenRefused
from caseledger.nodes.identity.provider import (
    DEFAULT_LIFETIME,
    DEVELOPMENT_ISSUER,
    init_provider,
    issue_token,
)
from caseledger.nodes.identity.role_file import load_role_table
from caseledger.nodes.identity.roles import COMMANDS, RoleTable
from caseledger.nodes.identity.verifier import MAX_TOKEN_BYTES, TokenVerifier

_PROG = "caseledger identity"
_LIFETIME = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `identity` subcommands, under `python -m caseledger.nodes identity`."""
    sub = parser.add_subparsers(dest="identity_command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, prog=f"{_PROG} {name}", help=help_text)

    init = command("init", "make a development identity provider: its key and JWKS")
    init.add_argument("--dir", type=Path, required=True, help="the provider's folder")
    issue = command("issue", "sign an operator token; prints it on stdout")
    issue.add_argument("--dir", type=Path, required=True, help="the provider's folder")
    issue.add_argument("--operator", required=True, help="the operator's id (staff number)")
    issue.add_argument("--name", required=True, help="the operator's name")
    issue.add_argument("--role", action="append", required=True, help="a role (repeat for several)")
    issue.add_argument("--division", required=True, help="the 12-digit code of the unit served")
    issue.add_argument("--audience", required=True, help="whom the token is for (the network)")
    issue.add_argument(
        "--lifetime",
        type=_lifetime,
        default=DEFAULT_LIFETIME,
        help="how long it is valid: 8h, 30m, 1h30m (default 8h, at most 24h)",
    )
    issue.add_argument("--issuer", default=DEVELOPMENT_ISSUER, help="the `iss` it carries")
    show = command("show", "verify a token against a JWKS and show whom it names")
    show.add_argument("token", metavar="TOKEN|-", help="the token, or - to read it from stdin")
    show.add_argument("--jwks", type=Path, required=True, help="the provider's JWKS file")
    show.add_argument("--audience", required=True, help="the audience the node expects")
    show.add_argument(
        "--issuer",
        action="append",
        help=f"an accepted issuer (repeatable; default {DEVELOPMENT_ISSUER})",
    )
    show.add_argument("--roles", type=Path, help="a role file: list the commands it allows")
    roles = command("roles", "print the role table: the default, or with a role file")
    roles.add_argument("--roles", type=Path, help="a role file overriding the default")


def run(args: argparse.Namespace) -> int:
    try:
        if args.identity_command == "init":
            provider = init_provider(args.dir)
            print(f"key id {provider.key_id}")
            print(f"wrote {provider.folder.signing_key} (0600), {provider.folder.jwks}")
        elif args.identity_command == "issue":
            print(
                issue_token(
                    args.dir,
                    operator_id=args.operator,
                    name=args.name,
                    roles=args.role,
                    division=args.division,
                    audience=args.audience,
                    lifetime=args.lifetime,
                    issuer=args.issuer,
                )
            )
        elif args.identity_command == "show":
            return _show(args)
        else:
            _print_table(load_role_table(args.roles))
    except IdentityError as error:
        print(f"{_PROG} {args.identity_command}: {error}", file=sys.stderr)
        return 1
    return 0


def _lifetime(text: str) -> timedelta:
    match = _LIFETIME.fullmatch(text)
    if not text or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a lifetime such as 8h, 30m, 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _show(args: argparse.Namespace) -> int:
    table = load_role_table(args.roles)
    verifier = TokenVerifier.from_jwks_file(
        args.jwks, audience=args.audience, issuers=args.issuer or [DEVELOPMENT_ISSUER]
    )
    # One more character than a token may have, so an oversized one is refused as such.
    token = sys.stdin.read(MAX_TOKEN_BYTES + 1) if args.token == "-" else args.token
    try:
        identity = verifier.verify(token.strip())
    except TokenRefused as refused:
        print(f"{_PROG} show: refused, {refused.reason}: {refused.detail}", file=sys.stderr)
        return 1
    _print_identity(identity, table)
    return 0


def _print_identity(identity: OperatorIdentity, table: RoleTable) -> None:
    print(f"operator   {identity.operator_id}")
    print(f"name       {identity.name}")
    print(f"roles      {', '.join(identity.roles)}")
    print(f"division   {identity.division} ({identity.division.level.name.lower()})")
    print(f"issuer     {identity.issuer}")
    print(f"key id     {identity.key_id}")
    print(f"expires    {identity.expires_at.isoformat()}")
    allowed = sorted({c for role in identity.roles for c in table.commands_of.get(role, ())})
    print(f"may issue  {', '.join(allowed) or 'nothing'}")


def _print_table(table: RoleTable) -> None:
    for role, commands in table.commands_of.items():
        print(f"{role}: {', '.join(sorted(commands)) or '(nothing)'}")
    unused = sorted(COMMANDS - {c for commands in table.commands_of.values() for c in commands})
    if unused:
        print(f"no role may issue: {', '.join(unused)}")
