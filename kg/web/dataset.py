"""The dataset on the web: ``/.well-known/void`` (the VoID and DCAT description, where
the VoID specification puts it, by ``Accept`` or ``?format=``: Turtle, JSON-LD,
N-Triples or RDF/XML; Turtle for browsers and for no preference) and
``/download/NAME`` (the dumps the description lists, byte for byte those whose size
and SHA-256 it gives).

Both are made on first use and kept: the graph cannot change while served. The dumps
are files under ``build/dumps/`` made by another process (:func:`kg.dataset.dump_files`)
from the graph file the server loaded, sent from disk, never held in the server's memory.
When making them fails, every request for them in the next :data:`RETRY_AFTER` seconds is
told so at once (503 with ``Retry-After``), rather than starting another process that would
fail the same way.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from kg.dataset import DUMPS, Counts, DumpFile, counts, describe, description_bytes, dump_files
from kg.errors import KGError
from kg.registry import RESULT_FORMATS
from kg.web.protocol import document_format
from kg.web.state import AppState, state_of, text_response

#: the name each dump is served under, with its format
BY_NAME = {name: fmt for fmt, (name, _, _) in DUMPS.items()}


#: how long a failed making of the dumps is remembered (seconds)
RETRY_AFTER = 60
_FAILED = "dumps-failed"  # in the state's cache: (until when, why)


def served_dumps(state: AppState) -> list[DumpFile]:
    """Every dump of the served graph, as files (made once, by another process)."""
    return state.once("dumps", lambda: _make(state))  # type: ignore[no-any-return]


def _make(state: AppState) -> list[DumpFile]:
    """The dumps of the graph the server loaded; a failure is remembered for a while."""
    failed = state.cache.get(_FAILED)
    if failed is not None and time.monotonic() < failed[0]:
        raise KGError(failed[1])
    try:
        return dump_files(state.project, state.pool.nt_path)
    except KGError as e:
        state.cache[_FAILED] = (time.monotonic() + RETRY_AFTER, e.message)
        raise


def _unavailable(state: AppState, e: KGError) -> Any:
    """The one-line 503 for dumps that could not be made, with when to ask again."""
    failed = state.cache.get(_FAILED)
    wait = max(1, round(failed[0] - time.monotonic())) if failed else RETRY_AFTER
    return text_response(503, e.message, {"Retry-After": str(wait)})


def description(state: AppState, fmt: str) -> bytes:
    """The description of the served dataset in ``fmt`` (made once per format)."""

    def make() -> bytes:
        return description_bytes(state.once("void-triples", lambda: _triples(state)), fmt)

    return state.once(("void", fmt), make)  # type: ignore[no-any-return]


def _counts(state: AppState) -> Counts:
    """The description's counts over the whole graph (3.4 s at 230 pairs)."""
    return state.once("void-counts", lambda: counts(state.engine))  # type: ignore[no-any-return]


def _triples(state: AppState) -> list:
    """The description's triples."""
    return describe(
        engine=state.engine,
        base_url=state.base_url,
        download_base=state.base_url + "/download/",
        dumps=served_dumps(state),
        counted=_counts(state),
    )


async def void(request: Any) -> Any:
    from starlette.responses import Response

    state = state_of(request)
    try:
        fmt = document_format(request.query_params.get("format"), request.headers.get("accept", ""))
    except ValueError as e:
        return text_response(400, str(e))
    fmt = fmt or "turtle"
    try:
        # made once, a minute and seconds at 1.9 M triples, waited for holding no thread:
        # the description gives every dump's size and SHA-256, so it waits for the dumps,
        # and counts the graph meanwhile
        made = await asyncio.gather(
            dumps_ready(state),
            state.made("void-counts", lambda: counts(state.engine)),
            return_exceptions=True,
        )
        for failed in made:
            if isinstance(failed, BaseException):
                raise failed
        await state.made("void-triples", lambda: _triples(state))
        body = await state.in_thread(request, description, state, fmt)
    except KGError as e:  # the dumps it describes could not be made: say so, in one line
        return _unavailable(state, e)
    return Response(body, media_type=RESULT_FORMATS[fmt].content_type, headers={"Vary": "Accept"})


async def download(request: Any) -> Any:
    state = state_of(request)
    name = request.path_params["name"]
    fmt = BY_NAME.get(name)
    if fmt is None:
        return text_response(404, f"no dump named {name[:80]!r}; there are {', '.join(BY_NAME)}")
    try:
        dump, stat = await _on_disk(state, fmt)
    except KGError as e:
        return _unavailable(state, e)
    from kg.web.caching import entity_tag

    media = DUMPS[fmt][1]
    tag = getattr(request.app.state, "tag", None)  # the site's (kg.web.app.create_app)
    return _send_file(
        dump.path,
        entity_tag(tag, request.scope) if tag else None,
        media_type=media + ("; charset=utf-8" if media.startswith("text/") else ""),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        stat_result=stat,
    )


async def dumps_ready(state: AppState) -> list[DumpFile]:
    """:func:`served_dumps` for a handler on the event loop: requests that come while the
    dumps are being made wait for them holding no thread."""
    made = await state.made("dumps", lambda: _make(state))
    return made  # type: ignore[no-any-return]


async def _on_disk(state: AppState, fmt: str) -> tuple[DumpFile, os.stat_result]:
    """The dump in ``fmt`` and its file's status; made again once when its file is gone
    (another server of the project, serving an edited graph, removed the folders of other
    content keys, this one's among them)."""
    for attempt in (1, 2):
        dump = next(d for d in await dumps_ready(state) if d.fmt == fmt)
        try:
            return dump, os.stat(dump.path)
        except FileNotFoundError:
            if attempt == 2:
                raise KGError(f"the dump {dump.name} was removed while being made") from None
            state.forget("dumps")
    raise AssertionError("unreachable")  # pragma: no cover


def _send_file(path: Any, site_tag: str | None, **kwargs: Any) -> Any:
    """A ``FileResponse`` whose validators are the site's (:mod:`kg.web.finishing`): a
    ``Range`` with ``If-Range`` is served when that is the tag the site gives this request
    (``site_tag``), the whole file otherwise. Starlette's own check read the file's ``ETag``
    and ``Last-Modified``, which the site removes, and answered 500."""
    from starlette.responses import FileResponse

    class DumpResponse(FileResponse):
        def _should_use_range(self, http_if_range: str) -> bool:
            return site_tag is not None and http_if_range == site_tag

    response = DumpResponse(path, **kwargs)
    for header in ("etag", "last-modified"):
        del response.headers[header]
    return response
