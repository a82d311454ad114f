"""The pages' queries, answered by the query workers: after ``kg serve`` has forked the
workers' zygote, the HTTP process never reads its own copy of the store for a page.

pyoxigraph's in-memory store writes to the pages of memory a query reads, and a forked
process keeps its own copy of each page it writes: serving entity pages from the HTTP
process's store made it copy the store bit by bit (200 MiB of its own after 3,000 entity
pages at 230 pairs, against 9 MiB at start). Workers copy too, but one that copied a
quarter of the store is replaced by a fresh fork (:mod:`kg.web.workers`).

:class:`PooledEngine` is an :class:`~kg.store.Engine` for the page handlers, which run in
Starlette's thread pool: each query goes to the pool on the event loop
(:meth:`~kg.web.workers.QueryPool.run_page`: no client's limits, the quick lane and the
time limit like any query) and its answer, TSV or N-Triples, is read back into the
library's results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from kg.errors import KGError
from kg.store import Engine, GraphResult, Result, Term, from_native
from kg.web.workers import Job, QueryPool

#: what a page query's answer is asked in: formats that keep every term as it is
ACCEPT = ["text/tab-separated-values", "application/n-triples"]


class Busy(KGError):
    """The workers could not answer a page's query (busy, or being replaced): a 503."""

    def __init__(self, message: str, retry_after: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(KGError):
    """A page's query answered past the byte cap (a resource with hundreds of thousands of
    facts): the page is made from the server's own store instead."""


class PooledEngine(Engine):
    """The store as the query workers read it, for handlers running outside the event loop."""

    name = "workers"

    def __init__(self, pool: QueryPool, loop: asyncio.AbstractEventLoop) -> None:
        self.pool, self.loop = pool, loop

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        import pyoxigraph as ox

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # waiting here for the loop would wait for ever
            raise RuntimeError("PooledEngine.query was called on the event loop: call it "
                               "from a thread (a plain def handler, or run_in_threadpool)")
        job = Job(text, ACCEPT, dict(bindings or {}))
        limits = self.pool.limits
        # the pool answers within its queue's wait and its time limit; past both (the loop
        # stopping under it), the page is a 503 rather than a thread that waits for ever
        asked = asyncio.run_coroutine_threadsafe(self.pool.run_page(job), self.loop)
        try:
            answer = asked.result(limits.queue_wait + limits.timeout + 30)
        except TimeoutError:
            asked.cancel()
            raise Busy("the query workers did not answer; try again shortly", "5") from None
        said = answer.body.decode("utf-8", "replace").strip() if answer.status != 200 else ""
        if answer.status == 413:
            raise TooLarge(said)
        if answer.status == 503:
            raise Busy(said, dict(answer.headers).get("Retry-After", "1"))
        if answer.status != 200:
            raise KGError(f"a page's query failed ({answer.status}): {said}")
        if answer.content_type.startswith("application/n-triples"):
            triples = ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)
            return GraphResult([q.triple for q in triples])
        return from_native(ox.parse_query_results(answer.body, ox.QueryResultsFormat.TSV))


def pooled(pool: QueryPool) -> Any:
    """A :class:`PooledEngine` on ``pool``, for the running event loop (call it there)."""
    return PooledEngine(pool, asyncio.get_running_loop())


__all__ = ["ACCEPT", "Busy", "PooledEngine", "TooLarge", "pooled"]
