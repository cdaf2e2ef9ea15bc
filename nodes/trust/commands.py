"""`python -m caseledger.nodes pki ...` (`caseledger network pki ...`): the network
PKI's command line."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caseledger.ledger.audit.identity import key_file, next_key_file, stage_next
from caseledger.nodes.trust.authority import Authority, load_ca
from caseledger.nodes.trust.certificates import (
    DEFAULT_HOSTS,
    NODE_VALIDITY,
    IssuedCertificate,
    division_code_of,
    issue,
    parse_code,
    renew,
)
from caseledger.nodes.trust.clients import CLIENT_VALIDITY, issue_client
from caseledger.nodes.trust.errors import TrustError
from caseledger.nodes.trust.founding import import_ca, init_ca
from caseledger.nodes.trust.layout import PkiFolder
from caseledger.nodes.trust.registry import issued, latest_of
from caseledger.nodes.trust.revocation import REASONS, revoke

_PROG = "caseledger network pki"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `pki` subcommands, under `python -m caseledger.nodes pki`."""
    sub = parser.add_subparsers(dest="pki_command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        made = sub.add_parser(name, prog=f"{_PROG} {name}", help=help_text)
        made.add_argument("--dir", type=Path, required=True, help="the PKI folder (the CA's)")
        return made

    init = command("init", "make the network's CA (the province is the root)")
    init.add_argument("--network", required=True, help="the network's name, in the CA's subject")
    imported = command("import", "take over an existing CA's certificate and key")
    imported.add_argument("--cert", type=Path, required=True, help="the CA certificate (PEM)")
    imported.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
    issued_ = command("issue", "issue a node its certificate, beside its identity key")
    issued_.add_argument("code", help="the node's 12-digit division code")
    where = issued_.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=Path, help="the node's data folder")
    where.add_argument("--key", type=Path, help="the node's identity key file")
    issued_.add_argument(
        "--host",
        action="append",
        default=[],
        help="another DNS name or IP address the node listens on "
        f"(always: {', '.join(DEFAULT_HOSTS)})",
    )
    issued_.add_argument("--days", type=int, default=NODE_VALIDITY.days, help="validity in days")
    client = command(
        "issue-client", "issue a client (a window system, an auditor's CLI) its key and certificate"
    )
    client.add_argument("name", help="the client's name: lower-case letters, digits, '.', '_', '-'")
    client.add_argument(
        "--out", type=Path, required=True, help="the client's folder (the CLI's --tls)"
    )
    client.add_argument("--days", type=int, default=CLIENT_VALIDITY.days, help="validity in days")
    renewed = command("renew", "a new certificate for a node's same keys")
    renewed.add_argument("code", help="the node's 12-digit division code")
    renewed.add_argument("--data", type=Path, help="also write it into the node's data folder")
    renewed.add_argument("--days", type=int, default=NODE_VALIDITY.days, help="validity in days")
    revoked = command("revoke", "revoke a node's certificates, or one certificate")
    revoked.add_argument(
        "target",
        metavar="CODE|SERIAL",
        help="a division code (all its certificates) or a serial (hex)",
    )
    revoked.add_argument("--reason", required=True, choices=sorted(REASONS))
    command("list", "the certificates issued and their state")
    rotate = sub.add_parser(
        "rotate-key",
        prog=f"{_PROG} rotate-key",
        help="stage a node's next identity key: the node records the rotation in its log, "
        "signed by its key in force, and signs its checkpoints with the new one",
    )
    rotate.add_argument("code", help="the node's 12-digit division code")
    rotate.add_argument("--data", type=Path, required=True, help="the node's data folder")


def run(args: argparse.Namespace) -> int:
    if args.pki_command == "rotate-key":
        return _rotate_key(args.code, args.data)
    folder = PkiFolder(args.dir)
    try:
        if args.pki_command == "init":
            authority = init_ca(folder, args.network)
            _print_ca(authority)
        elif args.pki_command == "import":
            authority = import_ca(folder, args.cert, args.key)
            _print_ca(authority)
        elif args.pki_command == "issue":
            made = issue(
                load_ca(folder),
                args.code,
                data=args.data,
                identity_key=args.key,
                hosts=args.host,
                validity=_days(args.days),
            )
            _print_issued(made)
        elif args.pki_command == "issue-client":
            made = issue_client(load_ca(folder), args.name, args.out, _days(args.days))
            print(f"client {args.name} serial {made.cert.serial_number:x}")
            print(f"valid until {made.cert.not_valid_after_utc.isoformat()}")
            for path in made.written:
                print(f"wrote {path}")
        elif args.pki_command == "renew":
            authority = load_ca(folder)
            previous = latest_of(authority, parse_code(args.code))
            _print_issued(renew(authority, previous, args.data, _days(args.days)))
        elif args.pki_command == "revoke":
            _revoke(load_ca(folder), args.target, args.reason)
        else:
            _list(load_ca(folder))
    except TrustError as error:
        print(f"{_PROG} {args.pki_command}: {error}", file=sys.stderr)
        return 1
    return 0


def _rotate_key(code: str, data: Path) -> int:
    try:
        code = parse_code(code)
        if not key_file(data, code).exists():
            raise TrustError(f"{data} holds no identity key of node {code}")
    except TrustError as error:
        print(f"{_PROG} rotate-key: {error}", file=sys.stderr)
        return 1
    staged_key = stage_next(data, code)
    print(f"staged {next_key_file(data, code)} (0600)")
    print(f"next verifier key {staged_key}")
    print("the node rotates to it within one signing round (or at its next start)")
    return 0


def _days(days: int) -> datetime.timedelta:
    if days < 1:
        raise TrustError(f"--days must be at least 1, not {days}")
    return datetime.timedelta(days=days)


def _print_ca(authority: Authority) -> None:
    print(f"CA {authority.cert.subject.rfc4514_string()}")
    print(f"serial {authority.cert.serial_number:x}")
    print(f"valid until {authority.cert.not_valid_after_utc.isoformat()}")
    print(
        f"wrote {authority.folder.ca_key} (0600), {authority.folder.ca_cert}, "
        f"{authority.folder.crl}"
    )


def _print_issued(made: IssuedCertificate) -> None:
    cert = made.cert
    print(f"node {division_code_of(cert)} serial {cert.serial_number:x}")
    print(f"valid until {cert.not_valid_after_utc.isoformat()}")
    key = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    print(f"TLS key {len(key)}-byte SPKI, ECDSA P-256")
    for path in made.written:
        print(f"wrote {path}")


def _revoke(authority: Authority, target: str, reason: str) -> None:
    entries = issued(authority)
    if len(target) == 12 and target.isdigit():
        code = parse_code(target)
        serials = [entry.serial for entry in entries if entry.code == code]
        if not serials:
            raise TrustError(f"no certificate was issued to {code}")
    else:
        try:
            serial = int(target.replace(":", ""), 16)
        except ValueError as error:
            raise TrustError(f"{target!r} is neither a division code nor a hex serial") from error
        if serial not in {entry.serial for entry in entries}:
            raise TrustError(f"this CA issued no certificate with serial {target}")
        serials = [serial]
    added = revoke(authority, serials, REASONS[reason])
    for serial in serials:
        print(f"{'revoked' if serial in added else 'already revoked'} {serial:x}")
    print(f"wrote {authority.folder.crl}")


def _list(authority: Authority) -> None:
    entries = issued(authority)
    if not entries:
        print("no certificates issued")
        return
    print(f"{'CODE':<12}  {'SERIAL':<40}  {'NOT AFTER':<25}  STATE")
    for entry in entries:
        state = entry.state.value
        if entry.reason is not None:
            state += f" ({entry.reason.name})"
        not_after = entry.cert.not_valid_after_utc.isoformat(timespec="seconds")
        print(f"{entry.code:<12}  {entry.serial:<40x}  {not_after:<25}  {state}")
