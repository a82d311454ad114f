"""Query workers: untrusted SPARQL runs in child processes that can be killed.

pyoxigraph cannot interrupt a running query, so the server runs each query
from a client in one of a few worker processes, each holding its own copy of
the store. A query that outlives the time limit has its worker killed and
replaced; the server, and the other workers, keep answering. Results are
capped in size and serialised in the worker, so only bytes cross processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: media types a worker can write, by result kind
SOLUTION_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
}
CONTENT_TYPE = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
}


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _error(status: int, message: str) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", (message + "\n").encode())


def _term(spec: tuple[str, str, str | None, str | None]) -> Any:
    import pyoxigraph as ox

    kind, value, datatype, language = spec
    if kind == "uri":
        return ox.NamedNode(value)
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)


def run_query(
    store: Any,
    text: str,
    accept: list[str],
    bindings: dict[str, tuple],
    max_results: int,
    context_path: str | None = None,
) -> Answer:
    """Run one query on ``store`` and write its answer in the first acceptable type."""
    import pyoxigraph as ox

    from kg import results
    from kg.engine import GraphResult, SelectResult

    subs = {ox.Variable(k): _term(v) for k, v in bindings.items()}
    try:
        res = store.query(text, substitutions=subs)
    except SyntaxError as e:
        return _error(400, f"invalid SPARQL: {e}")
    except (OSError, ValueError, RuntimeError) as e:
        return _error(400, f"query failed: {e}")
    graph = not isinstance(res, (ox.QuerySolutions, ox.QueryBoolean))
    table = GRAPH_TYPES if graph else SOLUTION_TYPES
    fmt = next((table[t] for t in accept if t in table), None)
    if fmt is None:
        offered = ", ".join(table)
        return _error(406, f"cannot answer this query in {', '.join(accept)}; offered: {offered}")
    if isinstance(res, ox.QueryBoolean):
        text_out = results.format_result(results.AskResult(bool(res)), fmt)
        return Answer(200, CONTENT_TYPE[fmt], text_out.encode())
    rows: list[Any] = []
    for item in res:
        rows.append(item)
        if len(rows) > max_results:
            return _error(
                413,
                f"the answer has more than {max_results} "
                f"{'triples' if graph else 'rows'}, this endpoint's limit; "
                "add LIMIT or narrow the query",
            )
    if graph:
        text_out = results.graph_to_text(GraphResult(rows), fmt)
    else:
        names = [v.value for v in res.variables]
        sel = SelectResult(names, [tuple(sol[i] for i in range(len(names))) for sol in rows])
        text_out = results.format_result(sel, fmt)
    return Answer(200, CONTENT_TYPE[fmt], text_out.encode("utf-8"))


def _worker_main(conn: Connection, nt_path: str, max_results: int, root: str) -> None:
    """A worker process: load the store once, then answer jobs until told to stop."""
    import os

    import pyoxigraph as ox

    os.environ["KG_ROOT"] = root  # graph results need the project's JSON-LD context
    store = ox.Store()
    store.load(path=nt_path, format=ox.RdfFormat.N_TRIPLES)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        text, accept, bindings = job
        try:
            answer = run_query(store, text, accept, bindings, max_results)
        except Exception as e:  # never let a worker die silently on a bad query
            answer = _error(500, f"the query failed inside the server: {type(e).__name__}: {e}")
        conn.send(answer)


class _Worker:
    def __init__(self, ctx: Any, nt_path: Path, max_results: int, root: Path) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(
            target=_worker_main, args=(child, str(nt_path), max_results, str(root)), daemon=True
        )
        self.process.start()
        child.close()
        if not parent.poll(60) or parent.recv() != "ready":
            self.kill()
            raise RuntimeError("a query worker did not start within 60 s")

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()


class QueryPool:
    """A fixed number of worker processes; each runs one query at a time."""

    def __init__(
        self,
        nt_path: Path,
        root: Path,
        *,
        size: int = 2,
        timeout: float = 10.0,
        max_results: int = 10_000,
    ) -> None:
        self.nt_path, self.root = nt_path, root
        self.size, self.timeout, self.max_results = size, timeout, max_results
        self._ctx = multiprocessing.get_context("spawn")  # no fork from a threaded server
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self.killed = 0

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.nt_path, self.max_results, self.root)
        self._all.add(worker)
        return worker

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(
            *(loop.run_in_executor(None, self._spawn) for _ in range(self.size))
        )
        for w in workers:
            self._idle.put_nowait(w)

    async def stop(self) -> None:
        for w in list(self._all):
            w.stop()
        self._all.clear()

    async def run(
        self, text: str, accept: list[str], bindings: dict[str, tuple] | None = None
    ) -> Answer:
        """Answer one query within the time limit (waiting for a free worker counts)."""
        assert self._idle is not None, "start() the pool first"
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.timeout
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.timeout)
        except TimeoutError:
            return _error(503, "all query workers are busy; try again shortly")
        try:
            worker.conn.send((text, accept, bindings or {}))
            left = max(0.0, deadline - time.monotonic())
            ready = await loop.run_in_executor(None, worker.conn.poll, left)
            if ready:
                answer = worker.conn.recv()
                self._idle.put_nowait(worker)
                return answer
        except (EOFError, OSError, BrokenPipeError):
            pass  # the worker died: replace it below
        self.killed += 1
        worker.kill()
        self._all.discard(worker)
        loop.run_in_executor(None, self._replace)
        return _error(
            503,
            f"the query ran past this endpoint's time limit of {self.timeout:g} s and was stopped",
        )

    def _replace(self) -> None:
        try:
            worker = self._spawn()
        except RuntimeError:
            return
        assert self._idle is not None
        self._loop.call_soon_threadsafe(self._idle.put_nowait, worker)
