"""``Link: <licence>; rel="license"``, the header every answer carries (RFC 8288; the
licence is :data:`kg.licence.LICENCE`); :mod:`kg.web.finishing` adds it."""

from __future__ import annotations

from kg.licence import LICENCE

LINK = f'<{LICENCE}>; rel="license"'.encode()
