"""Validators for shared caches: ``ETag``, ``Cache-Control``, ``Vary: Accept`` and ``304``.

The graph cannot change while it is served, so an answer is fixed by the request
(its path, query string and ``Accept``) and by what the server was started with:
the graph's content key, the package's version and its pages. :class:`CacheHeaders`
names that as a strong ``ETag`` on every successful ``GET``/``HEAD`` answer, and
answers ``304 Not Modified`` to an ``If-None-Match`` that names it — before the
request reaches a handler, so a revalidation costs no query. Every negotiated answer
says ``Vary: Accept``, so a shared cache never hands the HTML of ``/id/…`` to a client
that asked for Turtle.

A handler opts an answer out with its own ``Cache-Control: no-store`` (queries that
call ``NOW()``, ``RAND()`` …). Static files keep Starlette's own validators; ``/health``
says what is true now, so it is never cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: how long a shared cache may reuse an answer without asking (the graph changes only
#: when the server is restarted on new data, and then every ETag changes)
MAX_AGE = 300
NOT_CACHED = ("/health", "/static/")


def build_tag(graph_key: str, version: str, pages: Path) -> str:
    """What every ETag of one server run depends on besides the request: the graph, the
    package version and the page templates and static files (their names and bytes)."""
    digest = hashlib.sha256(f"{graph_key}\0{version}".encode())
    for path in sorted(p for p in pages.rglob("*") if p.is_file()):
        digest.update(path.relative_to(pages).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _header(scope: Scope, name: bytes) -> bytes:
    return b", ".join(v for k, v in scope.get("headers", ()) if k == name)


def entity_tag(tag: str, scope: Scope) -> str:
    """The strong ETag of the answer to this request (path, query string and Accept)."""
    request = b"\0".join((scope.get("raw_path") or scope["path"].encode(),
                          scope.get("query_string", b""), _header(scope, b"accept")))  # fmt: skip
    return f'"{tag}-{hashlib.sha256(request).hexdigest()[:20]}"'


def _matches(if_none_match: bytes, etag: str) -> bool:
    # "*" is not taken: it asks whether any representation exists, which only the handler
    # knows (a 404 has none)
    wanted = [t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")]
    return etag.encode() in wanted


def _vary_accept(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``Accept`` among what the answer varies on."""
    vary = [v for k, v in headers if k.lower() == b"vary"]
    names = {n.strip().lower() for v in vary for n in v.split(b",")}
    if b"accept" in names or b"*" in names:
        return headers
    kept = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*kept, (b"vary", b", ".join([*(v for v in vary if v.strip()), b"Accept"]))]


class CacheHeaders:
    """ASGI middleware: ETag, Cache-Control and 304 for GET and HEAD; Vary: Accept always."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], tag: str) -> None:
        self.app, self.tag = app, tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(NOT_CACHED):
            await self.app(scope, receive, send)
            return
        cacheable = scope["method"] in ("GET", "HEAD")
        etag = entity_tag(self.tag, scope) if cacheable else ""
        if cacheable and _matches(_header(scope, b"if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304,
                        "headers": _vary_accept([(b"etag", etag.encode()),
                                                 (b"cache-control", _CONTROL)])})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_validators(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _vary_accept(list(message.get("headers", [])))
                control = b", ".join(v for k, v in headers if k.lower() == b"cache-control")
                if cacheable and message["status"] == 200 and b"no-store" not in control:
                    if not control:
                        headers.append((b"cache-control", _CONTROL))
                    if not any(k.lower() == b"etag" for k, _ in headers):
                        headers.append((b"etag", etag.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_validators)


_CONTROL = f"public, max-age={MAX_AGE}".encode()

__all__ = ["MAX_AGE", "CacheHeaders", "build_tag", "entity_tag"]
