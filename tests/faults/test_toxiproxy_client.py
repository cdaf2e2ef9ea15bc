"""The Toxiproxy client against the running server: a proxy carries bytes to
its upstream, refuses connections while down, carries again once up, and
takes and drops toxics by name."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.faults.toxiproxy import Latency, Proxy, ResetPeer, Toxiproxy, ToxiproxyError

pytestmark = pytest.mark.toxiproxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def proxy(toxiproxy: Toxiproxy) -> Iterator[Proxy]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as echo:
        echo.daemon_threads = True
        threading.Thread(target=echo.serve_forever, daemon=True).start()
        host, port = echo.server_address[:2]
        made = toxiproxy.create(f"caseledger-echo-{port}", upstream=f"{host!s}:{port}")
        yield made
        made.delete()
        echo.shutdown()


def _echoed(proxy: Proxy, payload: bytes) -> bytes:
    host, port = proxy.listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(payload)
        return conn.recv(len(payload))


def _cut(proxy: Proxy) -> bool:
    """Whether a connection through `proxy` was reset or closed before an answer."""
    try:
        return _echoed(proxy, b"ping") == b""
    except ConnectionResetError:
        return True


def test_a_proxy_carries_bytes_to_its_upstream(proxy: Proxy) -> None:
    assert proxy.listen.startswith("127.0.0.1:")
    assert _echoed(proxy, b"\xe5\x8a\x9e\xe4\xbb\xb6") == "办件".encode()


def test_a_proxy_down_refuses_connections_until_it_is_up_again(proxy: Proxy) -> None:
    proxy.down()
    with pytest.raises(ConnectionRefusedError):
        _echoed(proxy, b"ping")
    proxy.up()
    assert _echoed(proxy, b"ping") == b"ping"


def test_a_reset_peer_toxic_cuts_connections_until_it_is_removed(proxy: Proxy) -> None:
    reset = proxy.add(ResetPeer(0), stream="downstream")
    assert _cut(proxy)
    proxy.remove(reset)
    assert _echoed(proxy, b"ping") == b"ping"


def test_a_latency_toxic_still_carries_every_byte(proxy: Proxy) -> None:
    proxy.add(Latency(50), stream="upstream")
    assert _echoed(proxy, b"slow link") == b"slow link"


def test_removing_a_toxic_that_is_not_there_is_an_error_naming_the_call(proxy: Proxy) -> None:
    with pytest.raises(ToxiproxyError, match="HTTP 404"):
        proxy.remove("no-such-toxic")


def test_the_server_is_the_pinned_version(toxiproxy: Toxiproxy) -> None:
    assert toxiproxy.version() == "2.12.0"
