"""The optional role file: a YAML override of the default role table.

    # roles.yaml: each role named here gets exactly these commands;
    # roles not named keep the default; [] takes every command from a role.
    roles:
      window_clerk: [Ping, GetItem, GetCase, ListCaseEvents, Submit, Accept]
      catalogue_admin: [Ping, GetItem, PublishItem]

Errors name the file and the entry; a role file that gives EraseSubject to
any role but data_protection_officer is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

from caseledger.nodes.identity.claims import ROLE_NAME
from caseledger.nodes.identity.errors import IdentityError
from caseledger.nodes.identity.roles import DEFAULT_TABLE, RoleTable

MAX_ROLE_FILE_BYTES: Final = 64 * 1024


def load_role_table(path: Path | None, base: RoleTable = DEFAULT_TABLE) -> RoleTable:
    """`base` overridden by the role file at `path`; `base` itself without one."""
    if path is None:
        return base
    try:
        with path.open("rb") as file:
            content = file.read(MAX_ROLE_FILE_BYTES + 1)
    except OSError as error:
        raise IdentityError(f"cannot read the role file {path}: {error.strerror}") from error
    if len(content) > MAX_ROLE_FILE_BYTES:
        raise IdentityError(f"{path} is larger than {MAX_ROLE_FILE_BYTES} bytes")
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise IdentityError(f"{path} is not YAML: {error}") from error
    if not isinstance(document, dict) or set(document) != {"roles"}:
        raise IdentityError(f"{path}: a role file holds one mapping, `roles:`")
    roles = document["roles"]
    if not isinstance(roles, dict):
        raise IdentityError(f"{path}: `roles` maps each role to a list of commands")
    overrides: dict[str, list[str]] = {}
    for role, listed in roles.items():
        if not isinstance(role, str) or ROLE_NAME.fullmatch(role) is None:
            raise IdentityError(f"{path}: {role!r} is not a role name (lower-case snake case)")
        commands = [] if listed is None else listed
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise IdentityError(f"{path}: roles.{role} must be a list of command names")
        if len(set(commands)) != len(commands):
            raise IdentityError(f"{path}: roles.{role} names a command twice")
        overrides[role] = commands
    try:
        return base.overridden(overrides)
    except IdentityError as error:
        raise IdentityError(f"{path}: {error}") from error
