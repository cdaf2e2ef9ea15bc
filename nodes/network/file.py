"""The network file (网络配置文件): a YAML list of a network's nodes, checked on load.

One file drives both the embedded demo (`demo_network.yaml`, shipped in
this package) and a real deployment::

    network: shandong-demo
    defaults:                     # optional; each node may override each key
      data_dir: var/demo          # relative to the working directory; default var
      store: sqlite               # sqlite | memory | cassandra; default sqlite
      feed: grpc                  # grpc (pull the subtree's log streams) | kafka
    security:                     # optional
      pki: var/demo/pki           # the network CA's folder; nodes read its ca.crl;
                                  # default: pki in defaults.data_dir
      insecure: false             # true: plaintext, no caller checked (experiments only)
      audience: caseledger        # what operators' tokens must name; default caseledger;
                                  # the provider's keys: identity/identity-provider.jwks.json
                                  # in the pki folder
    views:                        # optional; default: each node's <code>.views.sqlite
      store: postgres             # sqlite | postgres (docs/reporting-schema.md)
      dsn: postgresql://caseledger@127.0.0.1:5432/caseledger
                                  # default $CASELEDGER_VIEWS_DSN of the node process
      schema_prefix: run1         # node schemas are [<prefix>_]views_<code>
    kafka:                        # required once any node's feed is kafka
      bootstrap: 127.0.0.1:9092   # host:port, or a list of them
      topic_prefix: caseledger    # default caseledger
      replication_factor: 3       # copies of each topic; default 1; at most the brokers
      min_insync_replicas: 2      # copies that hold a record before it is confirmed;
                                  # default min(2, replication_factor)
    nodes:
      - code: "370000000000"      # 12-digit statistical or 6-digit GB/T 2260 code
        name: 山东省
        address: 127.0.0.1:50110  # where the node's gRPC server listens
        store:
          kind: cassandra
          contact_points: [127.0.0.1:9042]  # port defaults to 9042; default
                                            # $CASELEDGER_CASSANDRA, else 127.0.0.1:9042
          keyspace: caseledger_37           # default caseledger_<code>
          replication_factor: 1             # default 1; at most the cluster's nodes
          lease_seconds: 10                 # writer lease; default the module's (10)
          write_consistency: LOCAL_QUORUM   # default LOCAL_QUORUM; also ONE, TWO, THREE,
          read_consistency: LOCAL_QUORUM    # QUORUM, ALL, EACH_QUORUM, LOCAL_ONE
          serial_consistency: LOCAL_SERIAL  # lightweight transactions: LOCAL_SERIAL
                                            # (default) or SERIAL
        feed: kafka
      - code: "370100"
        name: 济南市
        level: city               # optional: province | city | county | township
        address: 127.0.0.1:50111
      - code: "370124102000"
        name: 东阿镇
        parent: "370100000000"    # its county is not listed: say so (see below)
        address: 127.0.0.1:50112

Rules, all checked on load:

- Nesting is read from the codes: a node's parent is its nearest listed
  ancestor. Exactly one node has no listed ancestor (the root, usually the
  province); every other node lies inside its prefix. A node whose nearest
  listed ancestor is not the division directly above it (a township whose
  county is not listed) is refused unless its `parent` names that ancestor:
  a mistyped code would otherwise hang silently under the province.
- Codes are distinct; so are addresses, and no two nodes take one port of
  the same machine (`localhost` and `127.0.0.1` are one host; `0.0.0.0`
  takes the port on every interface).
- Every node has a name; `level`, when given, matches the code.
- A node's `store` replaces `defaults.store` as a whole (no merging). Two
  Cassandra nodes on one cluster need different keyspaces. A lease of
  `lease_seconds` is how long a node killed outright keeps its successor
  waiting; it is at least 2. The consistency levels are Cassandra's names,
  in capitals.
- A topic cannot have more copies in sync than it has copies:
  `kafka.min_insync_replicas` is at most `kafka.replication_factor`.
- Unknown keys and duplicate keys are refused, so a typo never falls back
  to a default silently.

Every problem found is reported, each with its line, in one
`NetworkFileError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from caseledger.ledger.codes.division import DivisionCode, Level
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.network.model import (
    CASSANDRA_PORT,
    FEED_KINDS,
    KEYSPACE_NAME,
    SHORTEST_LEASE_SECONDS,
    STORE_KINDS,
    Address,
    FeedKind,
    KafkaSettings,
    Network,
    StoreKind,
    StoreSpec,
    ViewsSettings,
)
from caseledger.nodes.network.rules import (
    Location,
    NodeDraft,
    address_clashes,
    duplicate_codes,
    extra_roots,
    kafka_feeds,
    shared_keyspaces,
    skipped_levels,
)

DEMO_NETWORK = "demo_network.yaml"

_TOP_KEYS = ("network", "defaults", "security", "views", "kafka", "nodes")
_VIEWS_KEYS = ("store", "dsn", "schema_prefix")
_VIEWS_STORES = ("sqlite", "postgres")
# Node schemas are <prefix>_views_<code>, within PostgreSQL's 63 bytes.
_SCHEMA_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SECURITY_KEYS = ("pki", "insecure", "audience")
_DEFAULT_KEYS = ("data_dir", "store", "feed")
_KAFKA_KEYS = ("bootstrap", "topic_prefix", "replication_factor", "min_insync_replicas")
_NODE_KEYS = ("code", "name", "level", "parent", "address", "store", "feed", "data_dir")
_STORE_KEYS = (
    "kind",
    "contact_points",
    "keyspace",
    "replication_factor",
    "lease_seconds",
    "write_consistency",
    "read_consistency",
    "serial_consistency",
)
_CONSISTENCY_KEYS = ("write_consistency", "read_consistency", "serial_consistency")
_NOT_TEXT = "must be a non-blank text"
_LEVELS = {level.name.lower(): level for level in Level}
# Kafka topic characters (the code and a dot follow).
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")

_Raw = Mapping[object, object]


class NetworkFileError(Exception):
    """A network file that cannot be used; `problems` lists every fault found."""

    def __init__(self, path: str | Path, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{self.path}: {count} problem{'s' if count != 1 else ''} in the network file\n"
            f"{listing}"
        )


def load_network(path: str | Path) -> Network:
    """Read and check a network file; `NetworkFileError` lists all that is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NetworkFileError(path, [f"cannot read the file: {error}"]) from error
    return parse_network(text, str(path))


def demo_network() -> Network:
    """The Shandong demo network shipped with the package (docs/domain.md)."""
    resource = resources.files("caseledger.nodes.network").joinpath(DEMO_NETWORK)
    return parse_network(resource.read_text(encoding="utf-8"), str(resource))


def parse_network(text: str, source: str = "<string>") -> Network:
    """Check the text of a network file; `source` names it in messages."""
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise NetworkFileError(source, [_syntax_problem(error)]) from error
    reader = _Reader(tree)
    network = reader.network(data, source)
    if network is None or reader.problems:
        ordered = sorted(reader.problems, key=lambda problem: problem[0])
        raise NetworkFileError(source, [message for _, message in ordered])
    return network


def _syntax_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = ", ".join(part for part in (error.context, error.problem) if part)
        return f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {what}"
    return f"YAML syntax error: {error}"


def _dotted(path: Location) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _store_kind(value: object) -> StoreKind | None:
    return next((kind for kind in STORE_KINDS if value == kind), None)


def _feed_kind(value: object) -> FeedKind | None:
    return next((kind for kind in FEED_KINDS if value == kind), None)


def _label(index: int, raw: object) -> str:
    """`nodes[2] (370102000000 历下区)`: what messages call a node, as written."""
    bits: list[str] = []
    if isinstance(raw, Mapping):
        for key in ("code", "name"):
            value = raw.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                bits.append(str(value).strip())
    return f"nodes[{index}] ({' '.join(bits)})" if bits else f"nodes[{index}]"


@dataclass(frozen=True)
class _Defaults:
    """What a node inherits; None where `defaults` had a bad value (already reported)."""

    data_dir: Path = Path("var")
    store: StoreSpec | None = field(default_factory=StoreSpec)
    feed: FeedKind | None = "grpc"


class _Reader:
    """Reads the loaded YAML into a `Network`, collecting every problem with its line."""

    def __init__(self, tree: yaml.Node | None) -> None:
        self.problems: list[tuple[int, str]] = []
        self._lines: dict[Location, int] = {}
        self._labels: dict[int, str] = {}
        self._visited: set[int] = set()
        if tree is not None:
            self._lines[()] = tree.start_mark.line + 1
            self._walk(tree, ())

    def _walk(self, node: yaml.Node, path: Location) -> None:
        # Aliases share nodes (and may loop): each node is walked once.
        if id(node) in self._visited:
            return
        self._visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                line = key.start_mark.line + 1
                if name in seen:
                    self.problems.append(
                        (line, f"line {line}: {_dotted((*path, name))}: duplicate key")
                    )
                seen.add(name)
                self._lines[(*path, name)] = line
                self._walk(value, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._lines[(*path, index)] = item.start_mark.line + 1
                self._walk(item, (*path, index))

    def report(self, path: Location, reason: str) -> None:
        found = path
        while found and found not in self._lines:
            found = found[:-1]
        line = self._lines.get(found, 1)
        self.problems.append((line, f"line {line}: {self._where(path)}: {reason}"))

    def _where(self, path: Location) -> str:
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            label = self._labels.get(path[1], f"nodes[{path[1]}]")
            return f"{label} {_dotted(path[2:])}".rstrip()
        return _dotted(path) or "file"

    def unknown_keys(self, raw: _Raw, known: tuple[str, ...], path: Location) -> None:
        for key in raw:
            if key not in known:
                self.report((*path, str(key)), f"unknown key; expected one of {', '.join(known)}")

    def network(self, data: object, source: str) -> Network | None:
        if not isinstance(data, Mapping):
            what = "is empty" if data is None else "is not a mapping"
            self.report((), f"the file {what}; it needs the keys network and nodes")
            return None
        self.unknown_keys(data, _TOP_KEYS, ())
        name = data.get("network")
        if not _is_text(name):
            self.report(("network",), "missing: name the network" if name is None else _NOT_TEXT)
        defaults = self.defaults(data.get("defaults"))
        kafka = self.kafka(data.get("kafka"))
        views = self.views(data.get("views"))
        pki, insecure, audience = self.security(data.get("security"), defaults)
        drafts = self.nodes(data.get("nodes"), defaults)
        rules = [duplicate_codes, address_clashes, extra_roots, skipped_levels, shared_keyspaces]
        if data.get("kafka") is None:
            rules.append(kafka_feeds)
        # duplicate_codes runs first: it marks the copies the tree must ignore.
        for rule in rules:
            for finding in rule(drafts):
                self.report(finding.where, finding.reason)
        specs = [draft.spec() for draft in drafts]
        if self.problems or not isinstance(name, str):
            return None
        nodes = tuple(s for s in specs if s is not None)
        return Network(
            name.strip(),
            nodes,
            kafka,
            source,
            pki=pki,
            insecure=insecure,
            audience=audience,
            views=views,
        )

    def views(self, raw: object) -> ViewsSettings | None:
        path: Location = ("views",)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_VIEWS_KEYS)}")
            return None
        self.unknown_keys(raw, _VIEWS_KEYS, path)
        store = raw.get("store", "sqlite")
        if store not in _VIEWS_STORES:
            self.report((*path, "store"), f"must be one of {', '.join(_VIEWS_STORES)}")
            return None
        dsn = raw.get("dsn", "")
        if not isinstance(dsn, str) or (
            dsn and not dsn.startswith(("postgresql://", "postgres://"))
        ):
            self.report((*path, "dsn"), "must be a postgresql:// connection URI")
            return None
        prefix = raw.get("schema_prefix", "")
        if not isinstance(prefix, str) or (prefix and not _SCHEMA_PREFIX.fullmatch(prefix)):
            self.report(
                (*path, "schema_prefix"),
                "must be a lower-case letter then up to 39 lower-case letters, digits or _",
            )
            return None
        if store == "sqlite":
            for key in ("dsn", "schema_prefix"):
                if key in raw:
                    self.report((*path, key), "applies to store postgres only")
            return None
        return ViewsSettings(dsn, prefix)

    def security(self, raw: object, defaults: _Defaults) -> tuple[Path, bool, str]:
        path: Location = ("security",)
        default = (defaults.data_dir or Path("var")) / "pki"
        if raw is None:
            return default, False, "caseledger"
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_SECURITY_KEYS)}")
            return default, False, "caseledger"
        self.unknown_keys(raw, _SECURITY_KEYS, path)
        pki = self.data_dir(raw["pki"], (*path, "pki")) if "pki" in raw else None
        insecure = raw.get("insecure", False)
        if not isinstance(insecure, bool):
            self.report((*path, "insecure"), "must be true or false")
            insecure = False
        audience = raw.get("audience", "caseledger")
        if not _is_text(audience):
            self.report((*path, "audience"), _NOT_TEXT)
            audience = "caseledger"
        return pki or default, insecure, str(audience).strip()

    def defaults(self, raw: object) -> _Defaults:
        path: Location = ("defaults",)
        if raw is None:
            return _Defaults()
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_DEFAULT_KEYS)}")
            return _Defaults()
        self.unknown_keys(raw, _DEFAULT_KEYS, path)
        data_dir = (
            self.data_dir(raw["data_dir"], (*path, "data_dir")) if "data_dir" in raw else None
        )
        return _Defaults(
            data_dir or Path("var"),
            self.store(raw["store"], (*path, "store")) if "store" in raw else StoreSpec(),
            self.feed(raw["feed"], (*path, "feed")) if "feed" in raw else "grpc",
        )

    def kafka(self, raw: object) -> KafkaSettings | None:
        path: Location = ("kafka",)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_KAFKA_KEYS)}")
            return None
        before = len(self.problems)
        self.unknown_keys(raw, _KAFKA_KEYS, path)
        bootstrap = self.addresses(raw.get("bootstrap"), (*path, "bootstrap"), None)
        prefix = raw.get("topic_prefix", "caseledger")
        if not isinstance(prefix, str) or not _TOPIC_PREFIX.fullmatch(prefix):
            self.report((*path, "topic_prefix"), "must be letters, digits, '.', '_' or '-'")
            return None
        factor = raw.get("replication_factor", 1)
        if not _whole(factor, 1):
            self.report((*path, "replication_factor"), "must be a whole number of at least 1")
        in_sync = raw.get("min_insync_replicas")
        if in_sync is not None and not _whole(in_sync, 1):
            self.report((*path, "min_insync_replicas"), "must be a whole number of at least 1")
        elif isinstance(in_sync, int) and isinstance(factor, int) and in_sync > factor:
            self.report(
                (*path, "min_insync_replicas"),
                f"{in_sync} is more than replication_factor {factor}: "
                "no write could ever be confirmed",
            )
        if len(self.problems) > before or not isinstance(factor, int):
            return None
        return KafkaSettings(
            bootstrap, prefix, factor, in_sync if isinstance(in_sync, int) else None
        )

    def nodes(self, raw: object, defaults: _Defaults) -> list[NodeDraft]:
        if raw is None:
            self.report(("nodes",), "missing: list at least one node")
            return []
        if not isinstance(raw, list) or not raw:
            self.report(("nodes",), "must be a non-empty list of nodes")
            return []
        self._labels = {index: _label(index, item) for index, item in enumerate(raw)}
        drafts = (self.node(index, item, defaults) for index, item in enumerate(raw))
        return [draft for draft in drafts if draft is not None]

    def node(self, index: int, raw: object, defaults: _Defaults) -> NodeDraft | None:
        path: Location = ("nodes", index)
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_NODE_KEYS)}")
            return None
        self.unknown_keys(raw, _NODE_KEYS, path)
        code = self.code(raw.get("code"), (*path, "code"))
        name = raw.get("name")
        if not _is_text(name):
            missing = "missing: the division's name, e.g. 济南市"
            self.report((*path, "name"), missing if name is None else _NOT_TEXT)
        self.level(raw.get("level"), (*path, "level"), code)
        parent = self.code(raw["parent"], (*path, "parent")) if "parent" in raw else None
        address = self.addresses(raw.get("address"), (*path, "address"), None, single=True)
        store_at = (*path, "store") if "store" in raw else ("defaults", "store")
        feed_at = (*path, "feed") if "feed" in raw else ("defaults", "feed")
        store = self.store(raw["store"], store_at) if "store" in raw else defaults.store
        feed = self.feed(raw["feed"], feed_at) if "feed" in raw else defaults.feed
        if store is not None and store.kind == "cassandra" and store.keyspace is None and code:
            store = replace(store, keyspace=f"caseledger_{code}")
        data_dir = (
            self.data_dir(raw["data_dir"], (*path, "data_dir"))
            if "data_dir" in raw
            else defaults.data_dir
        )
        return NodeDraft(
            index,
            self._labels[index],
            code,
            name.strip() if isinstance(name, str) and name.strip() else None,
            address[0] if address else None,
            store,
            store_at,
            feed,
            feed_at,
            data_dir,
            parent=parent,
        )

    def code(self, raw: object, path: Location) -> DivisionCode | None:
        if raw is None:
            self.report(path, "missing: the 12-digit (or 6-digit) division code")
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            self.report(path, f"{raw!r} is not a division code: write it as a quoted text")
            return None
        try:
            return DivisionCode.parse(str(raw).strip(), "code")
        except InvalidInput as error:
            self.report(path, f"{raw} is not a division code: {error.violations[0].reason}")
            return None

    def level(self, raw: object, path: Location, code: DivisionCode | None) -> None:
        if raw is None:
            return
        level = _LEVELS.get(raw) if isinstance(raw, str) else None
        if level is None:
            self.report(path, f"unknown level {raw!r}; expected one of {', '.join(_LEVELS)}")
        elif code is not None and code.level is not level:
            self.report(path, f"{raw} does not match code {code}, a {code.level.name.lower()}")

    def addresses(
        self, raw: object, path: Location, default_port: int | None, *, single: bool = False
    ) -> tuple[Address, ...]:
        shape = "host:port" if single else "host:port, or a list of them"
        if raw is None:
            self.report(path, f"missing: {shape}")
            return ()
        items: object = [raw] if single else raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            self.report(path, f"must be {shape}")
            return ()
        found: list[Address] = []
        for index, item in enumerate(items):
            where = (*path, index) if isinstance(raw, list) else path
            if not isinstance(item, str):
                self.report(where, f"{item!r} is not {shape}")
                continue
            try:
                found.append(Address.parse(item, default_port))
            except ValueError as error:
                self.report(where, str(error))
        return tuple(found)

    def store(self, raw: object, path: Location) -> StoreSpec | None:
        kinds = ", ".join(STORE_KINDS)
        spec: object = {"kind": raw} if isinstance(raw, str) else raw
        if not isinstance(spec, Mapping):
            self.report(path, f"must be a store kind ({kinds}) or a mapping with kind")
            return None
        before = len(self.problems)
        self.unknown_keys(spec, _STORE_KEYS, path)
        kind = _store_kind(spec.get("kind"))
        if kind is None:
            given = spec.get("kind")
            found = "missing" if given is None else f"unknown store kind {given!r}"
            self.report((*path, "kind"), f"{found}; expected one of {kinds}")
            return None
        if kind != "cassandra":
            for key in _STORE_KEYS[1:]:
                if key in spec:
                    self.report((*path, key), f"applies to kind cassandra only, not {kind}")
            return None if len(self.problems) > before else StoreSpec(kind)
        # Without contact_points the node finds its cluster where the process
        # is told to (CASELEDGER_CASSANDRA, `NodeConfig.persistence_env`).
        points = (
            self.addresses(spec["contact_points"], (*path, "contact_points"), CASSANDRA_PORT)
            if "contact_points" in spec
            else ()
        )
        keyspace = spec.get("keyspace")
        if keyspace is not None and not (
            isinstance(keyspace, str) and KEYSPACE_NAME.fullmatch(keyspace)
        ):
            self.report((*path, "keyspace"), "must be a letter then up to 47 letters, digits or _")
        factor = spec.get("replication_factor", 1)
        if not _whole(factor, 1):
            self.report((*path, "replication_factor"), "must be a whole number of at least 1")
        lease = spec.get("lease_seconds")
        if lease is not None and not _whole(lease, SHORTEST_LEASE_SECONDS):
            self.report(
                (*path, "lease_seconds"),
                f"must be a whole number of seconds, at least {SHORTEST_LEASE_SECONDS}",
            )
        levels = self.consistency_levels(spec, path)
        if len(self.problems) > before or not isinstance(factor, int):
            return None
        return StoreSpec(
            kind,
            points,
            keyspace if isinstance(keyspace, str) else None,
            factor,
            lease if isinstance(lease, int) else None,
            *levels,
        )

    def consistency_levels(
        self, spec: _Raw, path: Location
    ) -> tuple[str | None, str | None, str | None]:
        """Write, read and serial consistency as the file gives them (None: not given)."""
        # Loaded here: the Cassandra module (and its driver) only for a file
        # that has a Cassandra store.
        from caseledger.ledger.cassandra.settings import CONSISTENCY_LEVELS, SERIAL_LEVELS

        found: list[str | None] = []
        for key in _CONSISTENCY_KEYS:
            allowed = SERIAL_LEVELS if key == "serial_consistency" else CONSISTENCY_LEVELS
            value = spec.get(key)
            if value is not None and value not in allowed:
                self.report(
                    (*path, key),
                    f"unknown level {value!r}; expected one of {', '.join(sorted(allowed))}",
                )
                value = None
            found.append(value if isinstance(value, str) else None)
        return found[0], found[1], found[2]

    def feed(self, raw: object, path: Location) -> FeedKind | None:
        kind = _feed_kind(raw)
        if kind is None:
            self.report(path, f"unknown feed kind {raw!r}; expected one of {', '.join(FEED_KINDS)}")
        return kind

    def data_dir(self, raw: object, path: Location) -> Path | None:
        if not isinstance(raw, str) or not raw.strip():
            self.report(path, "must be a folder path")
            return None
        return Path(raw.strip())
