"""``Link: <licence>; rel="license"`` on every answer (RFC 8288; the licence is
:data:`kg.licence.LICENCE`), as a pure ASGI middleware: it adds one header to the
response start and touches nothing else, so streamed answers stay streamed."""

from __future__ import annotations

from typing import Any

from kg.licence import LICENCE

LINK = f'<{LICENCE}>; rel="license"'.encode()


class LicenceLink:
    """Adds the licence ``Link`` header to every HTTP response of ``app``."""

    def __init__(self, app: Any, link: bytes = LINK) -> None:
        self.app = app
        self.link = link

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_link(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"link", self.link)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_link)
