"""Query workers: untrusted SPARQL runs in confined child processes that can be killed.

pyoxigraph can neither interrupt a running query nor be told not to fetch a
``SERVICE`` URL, so the server runs each client's query in one of a few worker
processes, each holding its own copy of the store, and each confined by
:func:`kg.sandbox.confine` before it loads anything: a worker cannot open a
network connection. The server talks to workers over Unix socket pairs only.

Limits, each enforced where its effect happens:

- time: a query that outlives ``timeout`` (counted from when a worker takes
  it, not while it waits in the queue) has its worker killed and replaced;
- rows and bytes: the worker stops reading solutions as soon as either cap is
  passed, and answers 413;
- memory: ``RLIMIT_AS`` in the worker (its size after loading the store plus
  ``max_memory``); a worker that dies of it is reported as such, and one
  that grew past half that margin is replaced after answering;
- fair use: at most ``per_client`` queries of one client at a time (429), at
  most ``max_queue`` waiting, each for at most ``queue_wait`` seconds (503);
  both with ``Retry-After``.

A worker that dies is reported as what it was (:func:`_death`): a query that
tried to connect (the sandbox's ``SIGSYS``) is a 403, a parser stack overflow
a 400, memory a 413 — never "time limit".
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

from kg.sandbox import KILLED_BY, SandboxUnavailable, describe_exit

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
    "application/rdf+xml": "rdfxml",
}
CONTENT_TYPE = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}

MiB = 1024 * 1024


class Limits(NamedTuple):
    timeout: float = 10.0
    max_results: int = 10_000
    max_bytes: int = 16 * MiB
    max_memory: int = 1024 * MiB
    workers: int = 2
    per_client: int = 1
    max_queue: int = 16
    queue_wait: float = 5.0
    allow_outbound_risk: bool = False


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    recycle: bool = False  # the worker grew large: replace it after this answer


class Job(NamedTuple):
    text: str
    accept: list[str]
    bindings: dict[str, Any]  # variable name → pyoxigraph term (pickled through the pipe)
    base_iri: str | None = None
    context_url: str | None = None  # JSON-LD answers reference this context


def _error(status: int, message: str, *headers: tuple[str, str]) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", (message + "\n").encode(), headers)


class _TooLarge(Exception):
    pass


def run_query(store: Any, job: Job, limits: Limits) -> Answer:
    """Run one query on ``store`` and write its answer in the first acceptable type."""
    import pyoxigraph as ox

    from kg import results
    from kg.engine import AskResult, GraphResult, SelectResult

    subs = {ox.Variable(k): v for k, v in job.bindings.items()}
    try:
        res = store.query(job.text, substitutions=subs, base_iri=job.base_iri)
    except SyntaxError as e:
        return _error(400, f"invalid SPARQL: {e}")
    except (OSError, ValueError, RuntimeError) as e:
        return _error(400, f"query failed: {e}")
    graph = not isinstance(res, (ox.QuerySolutions, ox.QueryBoolean))
    table = GRAPH_TYPES if graph else SOLUTION_TYPES
    fmt = next((table[t] for t in job.accept if t in table), None)
    if fmt is None:
        offered = ", ".join(table)
        return _error(
            406, f"cannot answer this query in {', '.join(job.accept)}; offered: {offered}"
        )
    if isinstance(res, ox.QueryBoolean):
        body = results.format_result(AskResult(bool(res)), fmt).encode()
        return Answer(200, CONTENT_TYPE[fmt], body)
    unit = "triples" if graph else "rows"
    rows: list[Any] = []
    size = 0
    try:
        for item in res:
            rows.append(item)
            if len(rows) > limits.max_results:
                return _error(
                    413,
                    f"the answer has more than {limits.max_results} {unit}, this endpoint's "
                    "limit; add LIMIT or narrow the query",
                )
            size += _size(item, graph)
            if size > limits.max_bytes:
                raise _TooLarge
        if graph:
            triples = GraphResult(rows)
            if fmt == "rdfxml":
                body = ox.serialize(rows, format=ox.RdfFormat.RDF_XML) or b""
            else:
                text = results.graph_to_text(triples, fmt)
                if fmt == "jsonld" and job.context_url:
                    text = _reference_context(text, job.context_url)
                body = text.encode()
        else:
            names = [v.value for v in res.variables]
            sel = SelectResult(names, [tuple(s[i] for i in range(len(names))) for s in rows])
            body = results.format_result(sel, fmt).encode()
        if len(body) > limits.max_bytes:
            raise _TooLarge
    except _TooLarge:
        return _error(
            413,
            f"the answer is larger than {limits.max_bytes} bytes, this endpoint's limit; "
            "add LIMIT or ask for less",
        )
    return Answer(200, CONTENT_TYPE[fmt], body)


def _size(item: Any, graph: bool) -> int:
    """A lower bound of the bytes ``item`` takes in any result format."""
    terms = (item.subject, item.predicate, item.object) if graph else item
    return sum(len(t.value) for t in terms if t is not None)


def _reference_context(text: str, url: str) -> str:
    import json

    doc = json.loads(text)
    if isinstance(doc, dict) and "@context" in doc:
        doc["@context"] = url
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _statm(field: int) -> int:
    """A field of /proc/self/statm in bytes (0: address space, 1: resident); 0 without /proc."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _resident_bytes() -> int:
    return _statm(1)


def _address_space() -> int:
    return _statm(0)


def _worker_main(conn: Connection, nt_path: str, limits: Limits, root: str, log: str) -> None:
    """A worker process: confine itself, load the store, then answer jobs until told to stop."""
    import resource

    os.environ["RUST_BACKTRACE"] = "0"  # an abort's cause is its first line; keep logs short
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 2)  # the server reads the last lines when a worker dies
    os.close(fd)
    from kg.sandbox import confine

    try:
        mechanism = confine()
    except SandboxUnavailable as e:
        if not limits.allow_outbound_risk:
            conn.send(("refused", str(e)))
            return
        mechanism = f"none ({e})"
    import pyoxigraph as ox

    os.environ["KG_ROOT"] = root  # graph results need the project's JSON-LD context
    store = ox.Store()
    store.load(path=nt_path, format=ox.RdfFormat.N_TRIPLES)
    base_rss = _resident_bytes()
    if _address_space():
        cap = _address_space() + limits.max_memory
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    conn.send(("ready", mechanism))
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        try:
            answer = run_query(store, job, limits)
        except MemoryError:
            answer = _error(413, _MEMORY.format(limits.max_memory // MiB))
            answer = answer._replace(recycle=True)
        except Exception as e:  # never let a worker die silently on a bad query
            answer = _error(500, f"the query failed inside the server: {type(e).__name__}: {e}")
        if _resident_bytes() - base_rss > limits.max_memory // 2:
            answer = answer._replace(recycle=True)
        conn.send(answer)


_MEMORY = (
    "the query needed more than {} MiB of memory, this endpoint's limit; narrow it or add LIMIT"
)


class WorkerFailed(RuntimeError):
    """A worker could not be started; the message says why."""


class _Worker:
    def __init__(self, ctx: Any, nt_path: Path, limits: Limits, root: Path) -> None:
        fd, self.log = tempfile.mkstemp(prefix="kg-worker-", suffix=".log")
        os.close(fd)
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, str(nt_path), limits, str(root), self.log),
            daemon=True,
        )
        self.process.start()
        child.close()
        try:
            message = parent.recv() if parent.poll(120) else None
        except (EOFError, OSError):
            message = None  # it died while starting: its log says why
        if not message or message[0] != "ready":
            self.kill()
            if message and message[0] == "refused":
                raise SandboxUnavailable(message[1])
            raise WorkerFailed(f"a query worker did not start within 120 s: {self.tail()}")
        self.mechanism: str = message[1]

    def tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.log).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " / ".join(text.strip().splitlines()[-lines:])

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()

    def remove_log(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.log)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        self.remove_log()


def _death(worker: _Worker, limits: Limits) -> Answer:
    """What a worker that died in the middle of a query was stopped by, as an answer."""
    worker.process.join(5)
    code = worker.process.exitcode
    tail = worker.tail()
    if code == -KILLED_BY:
        return _error(
            403,
            "the query tried to open a network connection (SERVICE), which this endpoint "
            "never does; it was stopped before connecting",
        )
    if "memory allocation of" in tail or "MemoryError" in tail:
        return _error(413, _MEMORY.format(limits.max_memory // MiB))
    if code == -11 or "overflow" in tail:  # SIGSEGV: the parser's recursion ran out of stack
        return _error(
            400,
            "the query crashed the query engine (stack overflow, usually from deep nesting); "
            "simplify it",
        )
    return _error(
        500, f"the query worker stopped unexpectedly ({describe_exit(code)}); please report it"
    )


class QueryPool:
    """A fixed number of confined worker processes; each runs one query at a time."""

    def __init__(self, nt_path: Path, root: Path, limits: Limits | None = None) -> None:
        self.nt_path, self.root = nt_path, root
        self.limits = limits or Limits()
        self._ctx = multiprocessing.get_context("spawn")  # no fork from a threaded server
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        # pipe reads run here, never on the event loop (worker starts: the default executor)
        self._threads = ThreadPoolExecutor(
            max_workers=self.limits.workers + 1, thread_name_prefix="kg-pipe"
        )
        self._waiting = 0
        self._per_client: dict[str, int] = {}
        self.mechanism = ""
        self.killed = 0
        self.replaced = 0

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.nt_path, self.limits, self.root)
        self._all.add(worker)
        self.mechanism = worker.mechanism
        return worker

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(
            *(loop.run_in_executor(None, self._spawn) for _ in range(self.limits.workers))
        )
        for w in workers:
            self._idle.put_nowait(w)

    async def stop(self) -> None:
        for w in list(self._all):
            w.stop()
        self._all.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def run(self, job: Job, client: str = "") -> Answer:
        """Answer one query: wait (boundedly) for a worker, then run it within the time limit."""
        assert self._idle is not None, "start() the pool first"
        limits = self.limits
        retry = ("Retry-After", str(max(1, round(limits.timeout))))
        if self._per_client.get(client, 0) >= limits.per_client:
            return _error(
                429,
                f"this client already has {limits.per_client} queries running or waiting, "
                "this endpoint's limit; wait for them",
                retry,
            )
        if self._waiting >= limits.max_queue and self._idle.empty():
            return _error(503, "the endpoint is busy; try again shortly", retry)
        self._per_client[client] = self._per_client.get(client, 0) + 1
        try:
            self._waiting += 1
            try:
                worker = await asyncio.wait_for(self._idle.get(), limits.queue_wait)
            except TimeoutError:
                return _error(503, "all query workers are busy; try again shortly", retry)
            finally:
                self._waiting -= 1
            return await self._on(worker, job)
        finally:
            left = self._per_client[client] - 1
            if left:
                self._per_client[client] = left
            else:
                del self._per_client[client]

    async def _on(self, worker: _Worker, job: Job) -> Answer:
        loop = asyncio.get_running_loop()
        answer: Answer | None = None
        died = False
        try:
            await loop.run_in_executor(self._threads, worker.conn.send, job)
            ready = await loop.run_in_executor(self._threads, worker.conn.poll, self.limits.timeout)
            if ready:
                answer = await loop.run_in_executor(self._threads, worker.conn.recv)
        except (EOFError, OSError):
            died = True  # find out why below
        if answer is not None and not answer.recycle:
            self._idle.put_nowait(worker)  # type: ignore[union-attr]
            return answer
        if died:
            answer = await loop.run_in_executor(None, _death, worker, self.limits)
        elif answer is None:  # still running: the time limit stopped it
            self.killed += 1
            answer = _error(
                503,
                f"the query ran past this endpoint's time limit of "
                f"{self.limits.timeout:g} s and was stopped",
            )
        worker.kill()
        worker.remove_log()
        self._all.discard(worker)
        loop.run_in_executor(None, self._replace)
        return answer

    def _replace(self) -> None:
        try:
            worker = self._spawn()
        except (RuntimeError, OSError):
            return
        self.replaced += 1
        assert self._idle is not None
        self._loop.call_soon_threadsafe(self._idle.put_nowait, worker)

    def status(self) -> dict[str, Any]:
        return {
            "workers": len(self._all),
            "idle": self._idle.qsize() if self._idle else 0,
            "waiting": self._waiting,
            "sandbox": self.mechanism,
            "killed": self.killed,
            "replaced": self.replaced,
        }
