"""Connections and request heads, guarded where each rule takes effect: in uvicorn's HTTP
protocol (httptools), as bytes arrive, before a request reaches the application.

- A connection that has not sent a request's headers within ``read_timeout`` of opening,
  or of its previous response, is closed (slow or idle clients); one that reads nothing of
  its answer for ``read_timeout`` is dropped, and the answer's bytes with it (a client that
  never read held up to ``--max-result-bytes`` of the server's memory for as long as it
  kept the connection).
- One address may hold at most ``per_address_connections`` connections (a trusted proxy is
  not counted: it carries many clients); past that a new one is answered 429 and closed
  at once, so one address never takes every connection slot (``--max-connections``).
- A request's head is capped as it is read: the request line (414), each header, all of
  them and their number (431); a head still unfinished past those sizes together is
  refused without being read further, so no request holds the event loop (a 4 MB
  ``Accept`` header once held it for 10 s).
- A request asking to upgrade the connection (WebSocket) is answered as a plain request:
  nothing here speaks WebSocket, and an upgraded connection left this guard's count.
- A request from an address that is not a ``--trusted-proxy`` but says it forwards for
  others (``X-Forwarded-For``) gets the server to say so on its error stream, once per
  address (for at most :data:`FORWARDERS_NAMED` addresses): if it is the operator's
  reverse proxy, every client behind it shares one budget and one connection cap, which
  nothing else would tell them until clients got 429s.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kg.web.headers import header_list
from kg.web.protocol import MAX_HEADER_BYTES, MAX_HEADERS, MAX_HEADERS_BYTES, URL_SLACK
from kg.web.settings import Settings
from kg.web.workers import client_key

#: the most addresses named by the warning about untrusted forwarders (a client may send
#: ``X-Forwarded-For`` itself: the log is not theirs to fill)
FORWARDERS_NAMED = 3

_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 429: b"Too Many Requests",
            431: b"Request Header Fields Too Large"}  # fmt: skip


@dataclass
class Guard:
    """One server's rules and the connections it counts per address."""

    read_timeout: float
    url_cap: int
    head_cap: int
    per_address: int
    trusted: frozenset[str]
    open_from: dict[str, int] = field(default_factory=dict)
    forwarders: set[str] = field(default_factory=set)  # untrusted, said X-Forwarded-For

    def forwarded_by(self, address: str) -> None:
        """An address that is not trusted sent ``X-Forwarded-For``: say so, once each."""
        if address in self.forwarders or len(self.forwarders) >= FORWARDERS_NAMED:
            return
        self.forwarders.add(address)
        print(f"kg serve: {address} sends X-Forwarded-For but is not a --trusted-proxy, so "
              "the header is ignored; if it is your reverse proxy, every client behind it "
              f"shares one budget and one connection cap: add --trusted-proxy {address}",
              file=sys.stderr, flush=True)  # fmt: skip

    @classmethod
    def of(cls, settings: Settings) -> Guard:
        url_cap = settings.max_request_bytes + URL_SLACK
        proxies = (a.strip() for a in settings.trusted_proxies.split(","))
        return cls(
            read_timeout=settings.read_timeout,
            url_cap=url_cap,
            head_cap=url_cap + MAX_HEADERS_BYTES + settings.max_request_bytes,
            per_address=settings.per_address_connections,
            trusted=frozenset(client_key(a) for a in proxies if a),
        )


class _Refusal(Exception):
    """Raised from a parser callback to stop parsing once a cap has answered."""


class GuardedProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """uvicorn's httptools protocol with the rules of :class:`Guard` (``guard``)."""

    guard: Guard
    _kg_timer: asyncio.TimerHandle | None = None
    _kg_key: str | None = None
    _kg_head = 0  # bytes of the head read so far; -1 once the headers are complete
    _kg_headers = 0
    _kg_refused = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        key = client_key(self.client[0]) if self.client else ""
        if key not in self.guard.trusted:
            held = self.guard.open_from.get(key, 0)
            if held >= self.guard.per_address:
                self._kg_refuse(429, f"this address already has {held} open connections, "
                                "this server's limit; close some")  # fmt: skip
                return
            self.guard.open_from[key] = held + 1
            self._kg_key = key
        self._kg_arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._kg_timer is not None:
            self._kg_timer.cancel()
        if self._kg_key is not None:
            left = self.guard.open_from.get(self._kg_key, 1) - 1
            if left > 0:
                self.guard.open_from[self._kg_key] = left
            else:
                self.guard.open_from.pop(self._kg_key, None)
            self._kg_key = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._kg_refused:
            return
        if self._kg_head >= 0:
            self._kg_head += len(data)
            if self._kg_head > self.guard.head_cap:
                self._kg_refuse(431, f"the request's head is larger than {self.guard.head_cap} "
                                "bytes")  # fmt: skip
                return
        super().data_received(data)

    def _should_upgrade(self) -> bool:
        # no WebSocket here: a request asking to upgrade is answered as any other request.
        # Upgraded, the connection passed to another protocol and this one never heard of
        # its end, so its address's count never came down: 32 handshakes shut the address
        # (everyone behind its NAT) out for good, each answered 403 without the headers
        return False

    def _unsupported_upgrade_warning(self) -> None:
        pass  # uvicorn's two lines on the error stream for every such request: not asked

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own 400 (a request httptools cannot parse) lacked the security headers
        if not self._kg_refused:  # a cap's refusal has answered already
            self._kg_refuse(400, msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._kg_headers = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.guard.url_cap:
            self._kg_refuse(414, f"the request line is longer than {self.guard.url_cap} bytes")
            raise _Refusal

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._kg_headers += size
        if size > MAX_HEADER_BYTES:
            shown = name[:40].decode("latin-1")  # a token: httptools refuses anything else
            why = f"the header {shown} is larger than {MAX_HEADER_BYTES} bytes"
        elif self._kg_headers > MAX_HEADERS_BYTES:
            why = f"the headers together are larger than {MAX_HEADERS_BYTES} bytes"
        elif len(self.headers) >= MAX_HEADERS:
            why = f"the request has more than {MAX_HEADERS} headers"
        else:
            super().on_header(name, value)
            if self._kg_key is not None and len(name) == 15 and (
                    name.lower() == b"x-forwarded-for") and self.client:
                self.guard.forwarded_by(self.client[0])
            return
        self._kg_refuse(431, why)
        raise _Refusal

    def on_headers_complete(self) -> None:
        self._kg_head = -1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._kg_head = 0  # a next request's head may follow

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._kg_arm()

    def _kg_refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` and close, reading nothing more."""
        self._kg_refused = True
        body = (message + "\n").encode()
        extra = [k + b": " + v for k, v in header_list()]  # as every answer of the app has
        if status == 429:
            extra.append(b"retry-after: 5")
        head = [b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
                b"content-type: text/plain; charset=utf-8", b"content-length: %d" % len(body),
                b"connection: close", *extra]  # fmt: skip
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _kg_arm(self) -> None:
        if self._kg_timer is not None:
            self._kg_timer.cancel()
        self._kg_timer = self.loop.call_later(
            self.guard.read_timeout, self._kg_expire, self.cycle
        )

    def _kg_expire(self, armed_with: Any, unread: int | None = None) -> None:
        if self.cycle is not armed_with:
            return  # a new request began in time
        left = self.transport.get_write_buffer_size()  # of the last answer, not yet taken
        if left and (unread is None or left < unread):  # still being read: wait on
            self._kg_timer = self.loop.call_later(
                self.guard.read_timeout, self._kg_expire, armed_with, left)
        elif left:  # nothing of it read in read_timeout: dropped, its memory with it
            self.transport.abort()
        elif not self.transport.is_closing():
            self.transport.close()  # no new request began in time


def guarded_protocol(settings: Settings) -> type:
    """The protocol class uvicorn is given: :class:`GuardedProtocol` with this server's
    :class:`Guard`."""
    return type("GuardedProtocol", (GuardedProtocol,), {"guard": Guard.of(settings)})


__all__ = ["Guard", "GuardedProtocol", "guarded_protocol"]
