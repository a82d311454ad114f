"""What every handler of the web layer shares: the settings, and the application's state.

Handlers are module-level functions that read ``request.app.state.kg`` (an
:class:`AppState`) through :func:`state_of`, so each can be tested alone with a
state built for the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kg.project import Project
from kg.queries import SavedQuery
from kg.store import Engine
from kg.web.answers import AnswerCache
from kg.web.settings import Settings
from kg.web.workers import QueryPool

#: the threads of the pool (Starlette's, 40) one client (:func:`kg.web.workers.client_key`)
#: may hold at a time; its other requests wait their turn on the event loop. A page that
#: keeps a thread long (a batch of 500 reconciliation queries: seconds, minutes at a
#: million triples) otherwise let two addresses' connections hold all 40, and no other
#: client's page was answered.
THREADS_PER_CLIENT = 4


@dataclass
class AppState:
    project: Project
    settings: Settings
    pool: QueryPool
    engine: Engine  # the main process's own (pyoxigraph, in memory): fixed queries only
    triples: int
    saved: dict[str, SavedQuery]
    base_url: str
    env: Any
    cache: dict[Any, Any] = field(default_factory=dict)
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    #: the pages' queries once the workers run (kg.web.pooled); until then ``engine``
    pages_engine: Engine | None = None
    _making: dict[Any, threading.Lock] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _building: dict[Any, Any] = field(default_factory=dict, repr=False)  # key: asyncio task
    _turns: dict[str, Any] = field(default_factory=dict, repr=False)  # client: [n, semaphore]

    @property
    def pages(self) -> Engine:
        """The engine a page's own queries go to: the query workers once they run (the
        HTTP process then never reads its copy of the store for a page, and copies none of
        it), else this process's store (a handler tested alone, no pool started)."""
        return self.pages_engine or self.engine

    @property
    def endpoint(self) -> str:
        return self.base_url + "/sparql"

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed on first use and kept (pages that do not depend on the request).

        Made once however many threads ask at the same time: handlers that build from the
        whole graph run in the thread pool, not on the event loop (at 1.7 M triples the
        names index behind ``/reconcile`` takes 10 s), and a second request for the same
        thing waits for the first one's result rather than building it again."""
        try:
            return self.cache[key]
        except KeyError:
            pass
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            if key not in self.cache:
                self.cache[key] = make()
        with self._lock:
            self._making.pop(key, None)
        return self.cache[key]

    async def made(self, key: Any, make: Callable[[], Any]) -> Any:
        """:meth:`once` for a handler on the event loop: ``make()`` runs in one thread of
        the pool, and every request asking meanwhile awaits it on the loop, holding no
        thread. With :meth:`once` alone, each waited in a thread of its own: 40 first
        requests for the names index (two addresses' connections) held all 40 threads for
        its 10 s at 1.7 M triples, and no resource page, which needs one, was answered."""
        import asyncio

        try:
            return self.cache[key]
        except KeyError:
            pass
        task = self._building.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            from starlette.concurrency import run_in_threadpool

            task = asyncio.ensure_future(run_in_threadpool(self.once, key, make))
            self._building[key] = task

            def done(finished: Any) -> None:
                if self._building.get(key) is finished:
                    del self._building[key]
                if not finished.cancelled():
                    finished.exception()  # retrieved: each waiter raises it itself

            task.add_done_callback(done)
        # a waiter that goes away (its client did) leaves the build to the others
        return await asyncio.shield(task)

    async def in_thread(self, request: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a thread of the pool, once the request's client holds fewer
        than :data:`THREADS_PER_CLIENT` of them; waiting for that on the event loop.

        The CPU time it takes counts against the client's budget (``--client-budget``), as
        a query's worker time does: a client that spent it is refused (:class:`OverBudget`,
        429) until its bucket drains. Before, one address could keep four threads matching
        batches of 500 reconciliation queries for minutes on end at a million triples, and
        every other client's requests shared the interpreter with them."""
        import asyncio
        import time

        from starlette.concurrency import run_in_threadpool

        from kg.web.workers import client_key

        key = client_key(request.client.host) if request.client else ""
        fair = self.pool.fair
        refused = fair.refusal(key)
        if refused is not None:
            raise OverBudget(*refused)
        spent = [0.0]

        def timed() -> Any:
            began = time.thread_time()
            try:
                return fn(*args)
            finally:
                spent[0] = time.thread_time() - began

        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = [0, asyncio.Semaphore(THREADS_PER_CLIENT)]
        turn[0] += 1
        try:
            async with turn[1]:
                # again once its turn came: its requests that waited were let in before
                # the ones ahead of them had been charged (16 batches sent together all ran)
                refused = fair.refusal(key)
                if refused is not None:
                    raise OverBudget(*refused)
                return await run_in_threadpool(timed)
        finally:
            fair.charge(key, spent[0])
            turn[0] -= 1
            if not turn[0] and self._turns.get(key) is turn:
                del self._turns[key]

    def forget(self, key: Any) -> None:
        """Drop what :meth:`once` kept under ``key``: it is made again on next use."""
        self.cache.pop(key, None)

    def page(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def state_of(request: Any) -> AppState:
    """The application's state, from a handler's request."""
    return request.app.state.kg


def text_response(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    """A one-line plain-text answer (every error of the web layer is one)."""
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(message.rstrip("\n") + "\n", status_code=status, headers=headers)


class Refused(Exception):
    """A request the protocol layer answers itself (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class OverBudget(Refused):
    """A client that has spent its budget of the server's time (429, with ``Retry-After``:
    the seconds until it may ask again)."""

    def __init__(self, message: str, retry: int) -> None:
        super().__init__(429, message)
        self.retry = retry
