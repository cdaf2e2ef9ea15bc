"""A typed client of Toxiproxy's HTTP API: proxies, and the toxics the fault
tests put on them.

Over `urllib` from the standard library: the Python clients on PyPI are
unmaintained (toxiproxy-python's last release is from 2019) and untyped, and
the API is five JSON calls. Toxiproxy runs as a service of
`docker/services.py`; `CASELEDGER_TOXIPROXY` names its API (host:port).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Literal

ENV = "CASELEDGER_TOXIPROXY"

Stream = Literal["upstream", "downstream"]
"""Which way a toxic acts: `upstream` is what the client sends to the server,
`downstream` what the server sends back."""


class ToxiproxyError(Exception):
    """Toxiproxy refused a call or could not be reached; the message says which."""


@dataclass(frozen=True)
class Latency:
    """Every chunk of data held back `milliseconds` (± `jitter`)."""

    milliseconds: int
    jitter: int = 0

    type = "latency"

    def attributes(self) -> dict[str, int]:
        return {"latency": self.milliseconds, "jitter": self.jitter}


@dataclass(frozen=True)
class Bandwidth:
    """At most `kilobytes_per_second` through (Toxiproxy counts KB/s, not kbit/s)."""

    kilobytes_per_second: int

    type = "bandwidth"

    def attributes(self) -> dict[str, int]:
        return {"rate": self.kilobytes_per_second}


@dataclass(frozen=True)
class ResetPeer:
    """Every connection reset (TCP RST) `milliseconds` after it opens, or at once."""

    milliseconds: int = 0

    type = "reset_peer"

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.milliseconds}


@dataclass(frozen=True)
class Timeout:
    """Nothing gets through; the connection is closed after `milliseconds`, or
    with 0 held open, half-dead, until the toxic is removed."""

    milliseconds: int = 0

    type = "timeout"

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.milliseconds}


Toxic = Latency | Bandwidth | ResetPeer | Timeout


def address() -> str:
    """The API's host:port; a missing service fails the test, never skips it."""
    value = os.environ.get(ENV, "")
    if not value:
        raise AssertionError(
            f"{ENV} is not set: start Toxiproxy with `python docker/services.py start "
            f"toxiproxy` and export {ENV}=127.0.0.1:8474 (tests/run does both)"
        )
    return value


class Toxiproxy:
    """The API of one Toxiproxy server."""

    def __init__(self, api: str) -> None:
        self._base = f"http://{api}"

    def version(self) -> str:
        answer = self._call("GET", "/version")
        return str(answer["version"])

    def create(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> Proxy:
        """A proxy from `listen` (port 0: a free one, as answered) to `upstream`."""
        answer = self._call(
            "POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream}
        )
        return Proxy(self, name, str(answer["listen"]), upstream)

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def _call(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> dict[str, object]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(
            self._base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10.0) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise ToxiproxyError(f"{method} {path}: HTTP {error.code}: {detail}") from error
        except OSError as error:
            raise ToxiproxyError(f"{method} {path}: Toxiproxy at {self._base}: {error}") from error
        if not raw:
            return {}
        answer = json.loads(raw)
        return answer if isinstance(answer, dict) else {}


@dataclass(frozen=True)
class Proxy:
    """One TCP proxy: clients dial `listen`, it dials `upstream`. TLS passes
    through unchanged, so a node behind it still proves who it is."""

    server: Toxiproxy
    name: str
    listen: str
    upstream: str

    def add(self, toxic: Toxic, stream: Stream = "downstream", toxicity: float = 1.0) -> str:
        """Put `toxic` on the proxy; the name to remove it by."""
        name = f"{toxic.type}-{stream}-{uuid.uuid4().hex[:8]}"
        self.server._call(
            "POST",
            f"/proxies/{self.name}/toxics",
            {
                "name": name,
                "type": toxic.type,
                "stream": stream,
                "toxicity": toxicity,
                "attributes": toxic.attributes(),
            },
        )
        return name

    def remove(self, toxic_name: str) -> None:
        self.server._call("DELETE", f"/proxies/{self.name}/toxics/{toxic_name}")

    def down(self) -> None:
        """Cut the link: open connections are closed and new ones refused."""
        self.server._call("POST", f"/proxies/{self.name}", {"enabled": False})

    def up(self) -> None:
        self.server._call("POST", f"/proxies/{self.name}", {"enabled": True})

    def delete(self) -> None:
        self.server.delete(self.name)
