"""What every answer carries, added in one pass: the security headers
(:mod:`kg.web.headers`), the licence ``Link`` (:mod:`kg.licence`), CORS, and the
validators for shared caches (:mod:`kg.web.caching`: ``ETag``, ``Cache-Control``,
``Vary: Accept``, ``304`` before any handler runs).

One pure ASGI middleware, the outermost layer of the application. It was four
(security, licence, Starlette's CORS, cache validators), each wrapping every answer's
``send`` in a closure of its own; with Starlette's router around ``/sparql`` they took
27% of the HTTP process's time on a lookup (issue 26's profile: 661 µs a lookup with
them, 483 µs without). ``/sparql`` is also dispatched here, to its handler, without the
router: it is most of what a public endpoint answers.

What each part does, as before:

- CORS: any origin may read any answer (``Access-Control-Allow-Origin: *``) and the
  headers in :data:`EXPOSED`; every answer says ``Vary: Origin``; a preflight
  (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered by
  Starlette's own CORS code (:data:`CORS`), with no validators.
- validators: a ``GET``/``HEAD`` answered 200 gets a strong ``ETag`` of the request and
  ``Cache-Control: public, max-age=300`` unless the handler said ``no-store``; an
  ``If-None-Match`` naming that tag is answered 304 before the handler runs;
  ``/health`` and ``/static/`` are left to themselves.
- the security headers replace any the handler set; an exception that escapes before
  an answer has begun is answered 500 here, so a 500 carries them too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kg.web.caching import CONTROL, NOT_CACHED, entity_tag, matches, vary_accept
from kg.web.headers import FRAMEABLE, header_list
from kg.web.licence import LINK

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: what a page on another origin may read besides the simple headers: the lint's
#: warnings, the page of an answer and its next page
EXPOSED = ("KG-Warning", "X-KG-Page", "Link")
#: the CORS rules, as Starlette's CORSMiddleware is given them (its preflight answers)
CORS = {
    "allow_origins": ["*"],
    "allow_methods": ["GET", "HEAD", "POST"],
    "allow_headers": ["Accept", "Content-Type"],
    "expose_headers": list(EXPOSED),
    "max_age": 3600,
}
_CORS_HEADERS = [(b"access-control-allow-origin", b"*"),
                 (b"access-control-expose-headers", ", ".join(EXPOSED).encode())]  # fmt: skip
#: the methods of /sparql (the router answers others 405, with ``Allow``)
_LANE_METHODS = frozenset(("GET", "HEAD", "POST"))
_SECURITY = header_list()
_SECURITY_FRAMEABLE = header_list(frameable=True)
_SECURITY_NAMES = frozenset(name for name, _ in _SECURITY)
_CORS_NAMES = frozenset(name for name, _ in _CORS_HEADERS)


def finish_headers(
    headers: list[tuple[bytes, bytes]], *, status: int, cacheable: bool, etag: str | None,
    origin: bool, frameable: bool = False, preflight: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The headers an answer goes out with, from those its handler set: validators
    (``etag`` None: none for this path), CORS (``origin``: the request named one; none
    for a ``preflight`` answer, which has its own), the licence and the security headers.

    >>> names = [k for k, _ in finish_headers([(b"content-type", b"text/plain")], status=200,
    ...          cacheable=True, etag='"t"', origin=False)]
    >>> names  # doctest: +NORMALIZE_WHITESPACE
    [b'content-type', b'cache-control', b'etag', b'vary', b'link',
     b'content-security-policy', b'x-content-type-options', b'referrer-policy']
    """
    if etag is not None:
        headers = vary_accept(headers)
        control = b", ".join(v for k, v in headers if k.lower() == b"cache-control")
        if cacheable and status == 200 and b"no-store" not in control:
            if not control:
                headers.append((b"cache-control", CONTROL))
            if not any(k.lower() == b"etag" for k, _ in headers):
                headers.append((b"etag", etag.encode()))
    if preflight:
        kept = [(k, v) for k, v in headers if k.lower() not in _SECURITY_NAMES]
    else:
        vary = [v for k, v in headers if k.lower() == b"vary"]
        kept = [(k, v) for k, v in headers if (name := k.lower()) != b"vary" and not (
            origin and name in _CORS_NAMES) and name not in _SECURITY_NAMES]
        if origin:
            kept.extend(_CORS_HEADERS)
        kept.append((b"vary", b", ".join([*vary, b"Origin"])))
    kept.append((b"link", LINK))
    kept.extend(_SECURITY_FRAMEABLE if frameable else _SECURITY)
    return kept


class Finish:
    """ASGI middleware: every answer of ``app`` finished by :func:`finish_headers`;
    ``GET``, ``HEAD`` and ``POST`` of ``/sparql`` go straight to ``sparql``, an ASGI handler given
    the scope with ``app`` set, as Starlette's router would."""

    def __init__(self, app: ASGIApp, tag: str, sparql: ASGIApp | None = None) -> None:
        from starlette.middleware.cors import CORSMiddleware

        self.app, self.tag, self.sparql = app, tag, sparql
        self.cors = CORSMiddleware(app, **CORS)  # type: ignore[arg-type]

    @property
    def state(self) -> Any:
        """The application's state (``app.state.kg`` is the :class:`~kg.web.state.AppState`)."""
        return self.app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        origin = preflight = False
        if_none_match = b""
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = True
            elif name == b"if-none-match":
                if_none_match = value if not if_none_match else if_none_match + b", " + value
            elif name == b"access-control-request-method":
                preflight = True
        preflight = preflight and origin and method == "OPTIONS"
        if preflight:
            from starlette.datastructures import Headers

            app: ASGIApp = self.cors.preflight_response(request_headers=Headers(scope=scope))
            etag, cacheable = None, False
        else:
            app = self.app
            if path == "/sparql" and self.sparql is not None and method in _LANE_METHODS:
                scope["app"] = self.app  # where the handler finds the state (state_of)
                app = self.sparql
            cacheable = method in ("GET", "HEAD")
            etag = None if path.startswith(NOT_CACHED) else (
                entity_tag(self.tag, scope) if cacheable else "")
            if cacheable and etag and matches(if_none_match, etag):
                app = _not_modified(etag)
        frameable = path in FRAMEABLE
        started = False

        async def finished(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = finish_headers(
                    list(message.get("headers", ())), status=message["status"],
                    cacheable=cacheable, etag=etag, origin=origin, frameable=frameable,
                    preflight=preflight)
            await send(message)

        try:
            await app(scope, receive, finished)
        except Exception:
            if not started:  # answered here, so that a 500 carries the headers too
                body = b"Internal Server Error"
                await finished({
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())],
                })
                await finished({"type": "http.response.body", "body": body})
            raise  # for the server's log, as before


def _not_modified(etag: str) -> ASGIApp:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"etag", etag.encode()), (b"cache-control", CONTROL)]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return answer


__all__ = ["CORS", "EXPOSED", "Finish", "finish_headers"]
