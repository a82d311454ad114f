"""The connection guard (kg.web.connections) in uvicorn, in this process: what it tells the
operator about a reverse proxy it was not told to trust."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kg.web.connections import FORWARDERS_NAMED, guarded_protocol
from kg.web.settings import Settings


async def _ok(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def _server(trusted: str, app=_ok, **settings) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """uvicorn with kg's guarded protocol on a free 127.0.0.1 port, stopped on leaving."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    guarded = guarded_protocol(Settings(trusted_proxies=trusted, **settings))
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off",
                            http=guarded)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _get(port: int, *headers: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        head = "".join(h + "\r\n" for h in headers)
        c.sendall(f"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{head}\r\n".encode())
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    return data


def test_an_untrusted_forwarder_is_named_once_to_the_operator(capfd) -> None:
    """Behind a proxy that is not a --trusted-proxy every client shared one budget and one
    connection cap, and the server said nothing of it."""
    with _server(trusted="10.0.0.9") as port:
        for _ in range(3):
            assert _get(port, "X-Forwarded-For: 203.0.113.7").startswith(b"HTTP/1.1 200")
        assert _get(port).startswith(b"HTTP/1.1 200")
    said = [line for line in capfd.readouterr().err.splitlines() if "X-Forwarded-For" in line]
    assert len(said) == 1, said
    assert "127.0.0.1 sends X-Forwarded-For" in said[0]
    assert "--trusted-proxy 127.0.0.1" in said[0]


def test_a_trusted_proxy_or_a_plain_client_is_not_named(capfd) -> None:
    with _server(trusted="127.0.0.1") as port:
        assert _get(port, "x-forwarded-for: 203.0.113.7").startswith(b"HTTP/1.1 200")
    with _server(trusted="10.0.0.9") as port:
        assert _get(port, "X-Forwarded-Host: example.org").startswith(b"HTTP/1.1 200")
    assert "X-Forwarded-For" not in capfd.readouterr().err


def test_forwarders_named_are_bounded() -> None:
    from kg.web.connections import Guard

    guard = Guard.of(Settings())
    for i in range(FORWARDERS_NAMED + 5):
        guard.forwarded_by(f"192.0.2.{i}")
    assert len(guard.forwarders) == FORWARDERS_NAMED


def test_websocket_handshakes_do_not_use_up_an_address() -> None:
    """Each handshake was upgraded to uvicorn's WebSocket protocol, answered 403 (without
    the security headers) and closed, and the guard never counted the connection's end: 32
    of them and the address (everyone behind its NAT) got 429 for good."""
    handshake = ("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    with _server(trusted="10.0.0.9") as port:  # 127.0.0.1 is counted
        answers = [_get(port, *handshake) for _ in range(Settings().per_address_connections + 8)]
        assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers[-1][:80]
        assert _get(port).startswith(b"HTTP/1.1 200")


BIG = 8 * 1024 * 1024


async def _big(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(BIG).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"x" * BIG})


def test_a_client_that_never_reads_its_answer_is_dropped() -> None:
    """The answer waited in the server's memory for as long as the connection stayed open:
    40 such connections held 180 MB of `kg serve` for good (up to --max-result-bytes each)."""
    with _server(trusted="10.0.0.9", app=_big, read_timeout=1) as port:
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(3.5)  # reading nothing for three times read_timeout
        c.settimeout(5)
        got = 0
        try:
            while chunk := c.recv(1 << 16):
                got += len(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        c.close()
    assert got < BIG, got  # dropped: not all of it was still there to read


def test_a_slow_reader_still_gets_its_whole_answer() -> None:
    """A client that reads, however slowly, keeps its connection: only one that reads
    nothing for read_timeout is dropped."""
    with _server(trusted="10.0.0.9", app=_big, read_timeout=1) as port:
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.settimeout(5)
        got, began = 0, time.monotonic()
        while chunk := c.recv(1 << 16):
            got += len(chunk)
            time.sleep(0.03)  # 8 MB take seconds: past read_timeout, more than once
        c.close()
    assert got > BIG and time.monotonic() - began > 2
