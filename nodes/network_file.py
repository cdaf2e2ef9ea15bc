"""The network file (网络配置文件): a YAML list of a network's nodes, checked on load.

One file drives both the embedded demo (`demo_network.yaml`, shipped in
this package) and a real deployment::

    network: shandong-demo
    defaults:                     # optional; each node may override each key
      data_dir: var/demo          # relative to the working directory; default var
      store: sqlite               # sqlite | memory | cassandra; default sqlite
      feed: grpc                  # grpc (pull the subtree's log streams) | kafka
    kafka:                        # required once any node's feed is kafka
      bootstrap: 127.0.0.1:9092   # host:port, or a list of them
      topic_prefix: caseledger    # default caseledger
    nodes:
      - code: "370000000000"      # 12-digit statistical or 6-digit GB/T 2260 code
        name: 山东省
        address: 127.0.0.1:50110  # where the node's gRPC server listens
        store:
          kind: cassandra
          contact_points: [127.0.0.1:9042]  # port defaults to 9042
          keyspace: caseledger_37           # default caseledger_<code>
          replication_factor: 1             # default 1
        feed: kafka
      - code: "370100"
        name: 济南市
        level: city               # optional: province | city | county | township
        address: 127.0.0.1:50111

Rules, all checked on load:

- Nesting is read from the codes, never written: a node's parent is its
  nearest listed ancestor. Exactly one node has no listed ancestor (the
  root, usually the province); every other node lies inside its prefix.
- Codes are distinct; so are addresses, and no two nodes take one port of
  the same machine (`localhost` and `127.0.0.1` are one host; `0.0.0.0`
  takes the port on every interface).
- Every node has a name; `level`, when given, matches the code.
- A node's `store` replaces `defaults.store` as a whole (no merging). Two
  Cassandra nodes on one cluster need different keyspaces.
- Unknown keys and duplicate keys are refused, so a typo never falls back
  to a default silently.

Every problem found is reported, each with its line, in one
`NetworkFileError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import yaml

from caseledger.ledger.division import DivisionCode, Level
from caseledger.ledger.errors import InvalidInput
from caseledger.nodes.network import (
    CASSANDRA_PORT,
    FEED_KINDS,
    STORE_KINDS,
    Address,
    FeedKind,
    KafkaSettings,
    Network,
    NodeSpec,
    StoreKind,
    StoreSpec,
)

DEMO_NETWORK = "demo_network.yaml"

_TOP_KEYS = ("network", "defaults", "kafka", "nodes")
_DEFAULT_KEYS = ("data_dir", "store", "feed")
_KAFKA_KEYS = ("bootstrap", "topic_prefix")
_NODE_KEYS = ("code", "name", "level", "address", "store", "feed", "data_dir")
_STORE_KEYS = ("kind", "contact_points", "keyspace", "replication_factor")
_LEVELS = {level.name.lower(): level for level in Level}
# Unquoted CQL identifiers; Kafka topic characters (the code and a dot follow).
_KEYSPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "*"})

_Path = tuple[str | int, ...]
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
    """The Shandong demo network shipped with the package (DOMAIN §5)."""
    resource = resources.files("caseledger.nodes").joinpath(DEMO_NETWORK)
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
        raise NetworkFileError(source, [text for _, text in ordered])
    return network


def parse_address(text: str, default_port: int | None = None) -> Address:
    """`host:port` (`[v6]:port` for IPv6); ValueError says what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [IPv6 host]:port")
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            host, port_text = text, ""
        elif ":" in host:
            raise ValueError(f"{text!r}: write an IPv6 host in brackets, e.g. [::1]:50110")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{text!r} has no host: write host:port")
    if not port_text:
        if default_port is None:
            raise ValueError(f"{text!r} has no port: write host:port")
        return Address(host, default_port)
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return Address(host, int(port_text))


def _syntax_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = ", ".join(part for part in (error.context, error.problem) if part)
        return f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {what}"
    return f"YAML syntax error: {error}"


def _dotted(path: _Path) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


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


def _clash(a: Address, b: Address) -> str | None:
    """Why two addresses cannot both be bound on one machine, or None."""
    if a.port != b.port:
        return None
    if a.host.lower() == b.host.lower():
        return f"{a} is already the address of"
    wildcard = next((h for h in (a.host, b.host) if h in _WILDCARD_HOSTS), None)
    if wildcard is not None:
        return f"port {a.port} clashes ({wildcard} takes it on every interface) with"

    def loopback(host: str) -> bool:
        return host.lower() == "localhost" or host == "::1" or host.startswith("127.")

    if loopback(a.host) and loopback(b.host):
        return f"port {a.port} clashes (both hosts are this machine's loopback) with"
    return None


@dataclass(frozen=True)
class _Defaults:
    data_dir: Path = Path("var")
    store: StoreSpec | None = StoreSpec()
    feed: FeedKind | None = "grpc"


@dataclass
class _Draft:
    """A node as far as it could be read; a field that failed is None."""

    index: int
    code: DivisionCode | None
    name: str | None
    address: Address | None
    store: StoreSpec | None
    store_path: _Path
    feed: FeedKind | None
    feed_path: _Path
    data_dir: Path | None
    duplicate: bool = False

    @property
    def path(self) -> _Path:
        return ("nodes", self.index)

    def spec(self) -> NodeSpec | None:
        if (
            self.code is None
            or self.name is None
            or self.address is None
            or self.store is None
            or self.feed is None
            or self.data_dir is None
        ):
            return None
        return NodeSpec(
            self.code.code,
            self.name,
            self.code.level,
            self.address,
            self.store,
            self.feed,
            self.data_dir,
        )


class _Reader:
    """Reads the loaded YAML into a `Network`, collecting every problem with its line."""

    def __init__(self, tree: yaml.Node | None) -> None:
        self.problems: list[tuple[int, str]] = []
        self._lines: dict[_Path, int] = {}
        self._labels: dict[int, str] = {}
        self._visited: set[int] = set()
        if tree is not None:
            self._lines[()] = tree.start_mark.line + 1
            self._walk(tree, ())

    def _walk(self, node: yaml.Node, path: _Path) -> None:
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

    def report(self, path: _Path, reason: str) -> None:
        found = path
        while found and found not in self._lines:
            found = found[:-1]
        line = self._lines.get(found, 1)
        self.problems.append((line, f"line {line}: {self._where(path)}: {reason}"))

    def _where(self, path: _Path) -> str:
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            label = self._labels.get(path[1], f"nodes[{path[1]}]")
            return f"{label} {_dotted(path[2:])}".rstrip()
        return _dotted(path) or "file"

    def unknown_keys(self, raw: _Raw, known: tuple[str, ...], path: _Path) -> None:
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
            self.report(("network",), "missing: name the network" if name is None else "blank")
        defaults = self.defaults(data.get("defaults"))
        kafka = self.kafka(data.get("kafka"))
        drafts = self.nodes(data.get("nodes"), defaults)
        self.check_codes(drafts)
        self.check_addresses(drafts)
        self.check_tree(drafts)
        self.check_keyspaces(drafts)
        if data.get("kafka") is None:
            self.check_no_kafka_feed(drafts)
        specs = [draft.spec() for draft in drafts]
        if self.problems or not isinstance(name, str):
            return None
        return Network(name.strip(), tuple(s for s in specs if s is not None), kafka, source)

    def defaults(self, raw: object) -> _Defaults:
        path: _Path = ("defaults",)
        if raw is None:
            return _Defaults()
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_DEFAULT_KEYS)}")
            return _Defaults()
        self.unknown_keys(raw, _DEFAULT_KEYS, path)
        return _Defaults(
            self.data_dir(raw["data_dir"], (*path, "data_dir")) or Path("var")
            if "data_dir" in raw
            else Path("var"),
            self.store(raw["store"], (*path, "store")) if "store" in raw else StoreSpec(),
            self.feed(raw["feed"], (*path, "feed")) if "feed" in raw else "grpc",
        )

    def kafka(self, raw: object) -> KafkaSettings | None:
        path: _Path = ("kafka",)
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
        return None if len(self.problems) > before else KafkaSettings(bootstrap, prefix)

    def nodes(self, raw: object, defaults: _Defaults) -> list[_Draft]:
        if raw is None:
            self.report(("nodes",), "missing: list at least one node")
            return []
        if not isinstance(raw, list) or not raw:
            self.report(("nodes",), "must be a non-empty list of nodes")
            return []
        self._labels = {index: _label(index, item) for index, item in enumerate(raw)}
        drafts = (self.node(index, item, defaults) for index, item in enumerate(raw))
        return [draft for draft in drafts if draft is not None]

    def node(self, index: int, raw: object, defaults: _Defaults) -> _Draft | None:
        path: _Path = ("nodes", index)
        if not isinstance(raw, Mapping):
            self.report(path, f"must be a mapping of {', '.join(_NODE_KEYS)}")
            return None
        self.unknown_keys(raw, _NODE_KEYS, path)
        code = self.code(raw.get("code"), (*path, "code"))
        name = raw.get("name")
        if not _is_text(name):
            self.report((*path, "name"), "missing: the division's name" if name is None else "blank")
        self.level(raw.get("level"), (*path, "level"), code)
        address = self.addresses(raw.get("address"), (*path, "address"), None, single=True)
        store_path, feed_path = (*path, "store"), (*path, "feed")
        store = self.store(raw["store"], store_path) if "store" in raw else defaults.store
        feed = self.feed(raw["feed"], feed_path) if "feed" in raw else defaults.feed
        if store is not None and store.kind == "cassandra" and store.keyspace is None and code:
            store = replace(store, keyspace=f"caseledger_{code}")
        return _Draft(
            index,
            code,
            name.strip() if isinstance(name, str) and name.strip() else None,
            address[0] if address else None,
            store,
            store_path if "store" in raw else ("defaults", "store"),
            feed,
            feed_path if "feed" in raw else ("defaults", "feed"),
            self.data_dir(raw["data_dir"], (*path, "data_dir"))
            if "data_dir" in raw
            else defaults.data_dir,
        )

    def code(self, raw: object, path: _Path) -> DivisionCode | None:
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

    def level(self, raw: object, path: _Path, code: DivisionCode | None) -> None:
        if raw is None:
            return
        level = _LEVELS.get(raw) if isinstance(raw, str) else None
        if level is None:
            self.report(path, f"unknown level {raw!r}; expected one of {', '.join(_LEVELS)}")
        elif code is not None and code.level is not level:
            self.report(path, f"{raw} does not match code {code}, a {code.level.name.lower()}")

    def addresses(
        self, raw: object, path: _Path, default_port: int | None, *, single: bool = False
    ) -> tuple[Address, ...]:
        shape = "host:port" if single else "host:port, or a list of them"
        if raw is None:
            self.report(path, f"missing: {shape}")
            return ()
        items: object = raw.split(",") if isinstance(raw, str) and not single else raw
        if single:
            items = [raw]
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
                found.append(parse_address(item, default_port))
            except ValueError as error:
                self.report(where, str(error))
        return tuple(found)

    def store(self, raw: object, path: _Path) -> StoreSpec | None:
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
        points = self.addresses(spec.get("contact_points"), (*path, "contact_points"), CASSANDRA_PORT)
        keyspace = spec.get("keyspace")
        if keyspace is not None and not (
            isinstance(keyspace, str) and _KEYSPACE.fullmatch(keyspace)
        ):
            self.report((*path, "keyspace"), "must be a letter then up to 47 letters, digits or _")
        factor = spec.get("replication_factor", 1)
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            self.report((*path, "replication_factor"), "must be a whole number of at least 1")
        if len(self.problems) > before or not isinstance(factor, int):
            return None
        return StoreSpec(kind, points, keyspace if isinstance(keyspace, str) else None, factor)

    def feed(self, raw: object, path: _Path) -> FeedKind | None:
        kind = _feed_kind(raw)
        if kind is None:
            self.report(path, f"unknown feed kind {raw!r}; expected one of {', '.join(FEED_KINDS)}")
        return kind

    def data_dir(self, raw: object, path: _Path) -> Path | None:
        if not isinstance(raw, str) or not raw.strip():
            self.report(path, "must be a folder path")
            return None
        return Path(raw.strip())

    def check_codes(self, drafts: list[_Draft]) -> None:
        first: dict[str, _Draft] = {}
        for draft in drafts:
            if draft.code is None:
                continue
            earlier = first.setdefault(draft.code.code, draft)
            if earlier is not draft:
                draft.duplicate = True
                listed = self._labels[earlier.index]
                self.report((*draft.path, "code"), f"{draft.code} is already listed as {listed}")

    def check_addresses(self, drafts: list[_Draft]) -> None:
        seen: list[_Draft] = []
        for draft in drafts:
            if draft.address is None:
                continue
            for other in seen:
                assert other.address is not None
                clash = _clash(draft.address, other.address)
                if clash is not None:
                    where = (*draft.path, "address")
                    self.report(where, f"{clash} {self._labels[other.index]}")
                    break
            seen.append(draft)

    def check_tree(self, drafts: list[_Draft]) -> None:
        listed = {d.code.code: d for d in drafts if d.code is not None and not d.duplicate}
        roots = [
            draft
            for draft in listed.values()
            if draft.code is not None
            and not any(a.code in listed for a in draft.code.ancestors())
        ]
        if len(roots) < 2:
            return
        top = min(roots, key=lambda d: d.code.level.prefix_length if d.code else 0)
        assert top.code is not None
        root = self._labels[top.index]
        for draft in roots:
            assert draft.code is not None
            if draft is top:
                continue
            if draft.code.level is top.code.level:
                reason = (
                    f"a second root beside {root}: a network has exactly one root; "
                    "list a common ancestor or split the network"
                )
            else:
                reason = (
                    f"no listed ancestor: {draft.code} lies outside prefix {top.code.prefix} "
                    f"of the root {root}"
                )
            self.report((*draft.path, "code"), reason)

    def check_keyspaces(self, drafts: list[_Draft]) -> None:
        seen: list[_Draft] = []
        for draft in drafts:
            if draft.store is None or draft.store.kind != "cassandra":
                continue
            for other in seen:
                assert other.store is not None
                shared = set(other.store.contact_points) & set(draft.store.contact_points)
                if other.store.keyspace == draft.store.keyspace and shared:
                    self.report(
                        (*draft.store_path, "keyspace"),
                        f"{self._labels[draft.index]} shares keyspace {draft.store.keyspace} "
                        f"with {self._labels[other.index]} on one cluster; each node needs its own",
                    )
                    break
            seen.append(draft)

    def check_no_kafka_feed(self, drafts: list[_Draft]) -> None:
        reported: set[_Path] = set()
        for draft in drafts:
            if draft.feed == "kafka" and draft.feed_path not in reported:
                reported.add(draft.feed_path)
                self.report(draft.feed_path, "kafka needs the top-level kafka section (bootstrap)")
