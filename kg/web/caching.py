"""Validators for shared caches: ``ETag``, ``Cache-Control``, ``Vary: Accept`` and ``304``.

The graph cannot change while it is served, so an answer is fixed by the request
(its path, query string and ``Accept``) and by what the server was started with:
the graph's content key, the package's version and its pages. :mod:`kg.web.finishing`
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
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]

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


def matches(if_none_match: bytes, etag: str) -> bool:
    # "*" is not taken: it asks whether any representation exists, which only the handler
    # knows (a 404 has none)
    wanted = [t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")]
    return etag.encode() in wanted


def vary_accept(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``Accept`` among what the answer varies on."""
    vary = [v for k, v in headers if k.lower() == b"vary"]
    names = {n.strip().lower() for v in vary for n in v.split(b",")}
    if b"accept" in names or b"*" in names:
        return headers
    kept = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*kept, (b"vary", b", ".join([*(v for v in vary if v.strip()), b"Accept"]))]


CONTROL = f"public, max-age={MAX_AGE}".encode()

__all__ = ["CONTROL", "MAX_AGE", "NOT_CACHED", "build_tag", "entity_tag", "matches", "vary_accept"]
