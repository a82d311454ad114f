"""The security headers every answer carries, errors included: a strict
Content-Security-Policy, ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``.

The one list of them, which :mod:`kg.web.finishing` (the outermost layer of the
application) puts on every answer, replacing any a handler set: CORS preflight answers,
404s, 400s, static files, the endpoints and 500s all carry them, and so do the refusals
:mod:`kg.web.connections` writes itself.

The policy: scripts, styles, pictures, fonts and fetches only from this site; no inline
script or style, no ``eval``, no plugins (``object-src 'none'``), no ``<base>``, no
framing, forms only to this site, and Trusted Types required, so that even a
``javascript:`` address that slipped into a link could not run. The one exception is
``/reconcile/preview``: clients of the reconciliation API (OpenRefine) show that card in
a frame of their own page, so it may be framed by any page; it has no form or action.
"""

from __future__ import annotations

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


__all__ = ["FRAMEABLE", "POLICY", "header_list", "policy"]
