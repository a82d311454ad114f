"""The security headers every answer carries, errors included: a strict
Content-Security-Policy, ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``.

A pure ASGI middleware (one header list appended to each ``http.response.start``, no
request or response objects built), the outermost of the application's middleware, so
CORS preflight answers, 404s, 400s, static files and the endpoints all carry them; an
exception that escapes before an answer has begun is answered here, as Starlette would
(500, ``Internal Server Error``), so 500s carry them too.

The policy: scripts, styles, pictures, fonts and fetches only from this site; no inline
script or style, no ``eval``, no plugins (``object-src 'none'``), no ``<base>``, no
framing, forms only to this site, and Trusted Types required, so that even a
``javascript:`` address that slipped into a link could not run. The one exception is
``/reconcile/preview``: clients of the reconciliation API (OpenRefine) show that card in
a frame of their own page, so it may be framed by any page; it has no form or action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
]

#: Paths whose answers other sites may show in a frame (the reconciliation preview card).
FRAMEABLE = ("/reconcile/preview",)


def policy(*, frameable: bool = False) -> str:
    """The Content-Security-Policy: :data:`POLICY`, with ``frame-ancestors *`` if
    ``frameable``."""
    rules = [r if not r.startswith("frame-ancestors") or not frameable else "frame-ancestors *"
             for r in POLICY]
    return "; ".join(rules)


def header_list(*, frameable: bool = False) -> list[tuple[bytes, bytes]]:
    """The headers, as ASGI sends them."""
    return [
        (b"content-security-policy", policy(frameable=frameable).encode()),
        (b"x-content-type-options", b"nosniff"),
        # nothing of an address leaves the site: the query page's address holds the query
        (b"referrer-policy", b"no-referrer"),
    ]


class SecurityHeaders:
    """ASGI middleware adding :func:`header_list` to every HTTP answer (replacing any the
    application set itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = header_list()
        self.frameable = header_list(frameable=True)
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.frameable if scope.get("path") in FRAMEABLE else self.headers
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                theirs = [h for h in message.get("headers", ()) if h[0].lower() not in self.names]
                message = {**message, "headers": [*theirs, *ours]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:  # answered here, so that a 500 carries the headers too
                body = b"Internal Server Error"
                await send_with_headers({
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())],
                })
                await send_with_headers({"type": "http.response.body", "body": body})
            raise  # for the server's log, as before


__all__ = ["FRAMEABLE", "POLICY", "SecurityHeaders", "header_list", "policy"]
