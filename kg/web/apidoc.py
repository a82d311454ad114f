"""``/openapi.json``: the HTTP API described in OpenAPI 3.1.

The description is a hand-edited file, ``openapi.json`` beside this module, not
generated from the code: it is the contract, read by people and by tools (the
suite's fuzzer, :mod:`tests.test_openapi`), and reviewed as a file when the API changes.
``tests/test_openapi.py`` checks it against :func:`kg.web.app.routes` both ways, so a
route added without a description (or a described one removed) fails the suite.

Served, it gains what only the running server knows: its address (``servers``) and the
names of its saved queries (the ``name`` of ``/api/queries/{name}``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kg.web.state import AppState, state_of

DOCUMENT = Path(__file__).parent / "openapi.json"


def description(state: AppState | None = None) -> dict[str, Any]:
    """The OpenAPI document; with ``state``, completed for that server."""
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    if state is not None:
        doc["servers"] = [{"url": state.base_url}]
        name = doc["components"]["parameters"]["name"]
        name["schema"]["enum"] = sorted(state.saved)
    return doc


async def openapi(request: Any) -> Any:
    from starlette.responses import Response

    state = state_of(request)
    body = state.once(
        "openapi.json",
        lambda: json.dumps(description(state), indent=2, ensure_ascii=False).encode("utf-8"),
    )
    return Response(body, media_type="application/json")


__all__ = ["DOCUMENT", "description", "openapi"]
