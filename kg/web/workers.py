"""Query workers: untrusted SPARQL runs in confined child processes that can be killed.

pyoxigraph can neither interrupt a running query nor be told not to fetch a
``SERVICE`` URL, so the server runs each client's query in one of a few worker
processes, forked from a zygote (:mod:`kg.web.zygote`) that confined itself with
:func:`kg.web.sandbox.confine` before forking any: a worker cannot open a network
connection, and all share one copy of the store. The server talks to workers over
Unix socket pairs only.

Limits (:class:`kg.web.settings.Settings`), each enforced where its effect happens:

- time: a query that outlives ``timeout`` (counted from when a worker takes
  it, not while it waits in the queue) has its worker killed and replaced;
- rows and bytes: the worker stops reading solutions as soon as either cap is
  passed, and answers 413;
- memory: ``RLIMIT_AS`` in the worker (its size after loading the store plus
  ``max_worker_memory``); a worker that dies of it is reported as such, and one
  that grew past half that margin is replaced after answering;
- fair use (:class:`Fairness`): at most ``per_client`` queries of one client
  at a time (429); each client a budget of ``client_budget`` seconds of worker
  time a minute (429 once spent, as the Wikidata Query Service does); queries
  expected to be long (their client, or the same text, recently kept a worker
  busy) never take the last idle worker while another client is about, so
  quick queries always have a lane; waiting queries go quick first, then the
  shortest expected (the text's last run) first, then the least-used client
  first; at most ``max_queue`` waiting, each for at most ``queue_wait`` seconds
  (503). Every refusal carries ``Retry-After``.

A worker that dies is reported as what it was (:func:`_death`): a query that
tried to connect (the sandbox's ``SIGSYS``) is a 403, a parser stack overflow
a 400, memory a 413 — never "time limit".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import pickle
import struct
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import pyoxigraph as ox

from kg.formats import graph_bytes, write
from kg.namespaces import PREFIXES
from kg.registry import by_media_type, offered
from kg.sparqltext import explain_syntax_error
from kg.store import AskResult, from_native
from kg.web.sandbox import KILLED_BY, describe_exit
from kg.web.settings import MiB, Settings
from kg.web.zygote import ForkedProcess, Zygote, ZygoteFailed, log_tail


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    recycle: bool = False  # the worker grew large: replace it after this answer
    rows: int = -1  # solutions or triples in the answer (-1: an ASK, or an error)


class Job(NamedTuple):
    text: str
    accept: list[str]
    bindings: dict[str, Any]  # variable name → pyoxigraph term (pickled through the pipe)
    base_iri: str | None = None
    context_url: str | None = None  # JSON-LD answers reference this context
    page: bool = False  # the server's own query for a page: the row cap does not apply


#: the most characters an error's message keeps: a syntax error quotes the query's line,
#: and a request may be longer than the frame the server reads an answer in (the byte cap
#: and ``_FRAME_SLACK``): past it, the error was taken for a broken worker (500, after 5 s)
_MESSAGE_CAP = 64 * 1024


def _error(status: int, message: str, *headers: tuple[str, str]) -> Answer:
    if len(message) > _MESSAGE_CAP:
        message = message[:_MESSAGE_CAP] + " …"
    return Answer(status, "text/plain; charset=utf-8", (message + "\n").encode(), headers)


class _TooLarge(Exception):
    pass


def run_query(store: Any, job: Job, limits: Settings) -> Answer:
    """Run one query on ``store`` and write its answer in the first acceptable type."""
    import pyoxigraph as ox

    if job.page:  # a page shows every fact of its resource; the byte cap still holds
        limits = _no_row_cap(limits)
    subs = {ox.Variable(k): v for k, v in job.bindings.items()} if job.bindings else None
    try:
        res = store.query(
            job.text, substitutions=subs, base_iri=job.base_iri, prefixes=used_prefixes(job.text)
        )
    except SyntaxError as e:
        return _error(400, explain_syntax_error(job.text, str(e)))
    except (OSError, ValueError, RuntimeError) as e:
        return _error(400, f"query failed: {e}")
    kind = "graph" if isinstance(res, ox.QueryTriples) else "solutions"
    spec = next(
        (f for f in map(by_media_type, job.accept) if f is not None and f.kind == kind), None
    )
    if spec is None:
        offered_types = ", ".join(offered(kind))
        return _error(
            406, f"cannot answer this query in {', '.join(job.accept)}; offered: {offered_types}"
        )
    rows = -1
    try:
        if isinstance(res, ox.QueryBoolean):
            body = write(AskResult(bool(res)), spec.name) or b""
        elif isinstance(res, ox.QuerySolutions):
            body, rows = _solutions(res, spec.name, limits)
        else:
            body, rows = _graph(res, spec.name, limits, job.context_url)
    except _TooMany:
        unit = "triples" if kind == "graph" else "rows"
        return _error(
            413,
            f"the answer has more than {limits.max_results} {unit}, this endpoint's "
            "limit; add LIMIT or narrow the query",
        )
    except _Inexpressible as e:
        return _error(406, str(e))
    except _TooLarge:
        return _error(
            413,
            f"the answer is larger than {limits.max_result_bytes} bytes, this endpoint's limit; "
            "add LIMIT or ask for less",
        )
    except (SyntaxError, OSError, ValueError, RuntimeError) as e:  # raised while evaluating
        return _error(400, f"query failed: {e}")
    return Answer(200, spec.content_type, body, rows=rows)


class _TooMany(Exception):
    pass


@functools.lru_cache(maxsize=4)
def _no_row_cap(limits: Settings) -> Settings:
    from dataclasses import replace

    return replace(limits, max_results=2**62)


def used_prefixes(text: str) -> dict[str, str]:
    """The project's prefixes that ``text`` may use (``name:`` appears in it): pyoxigraph
    reads every prefix it is given on every query: the 31 cost a lookup 25-50 µs, nearly
    as much as evaluating it (measured in issue 26). All of them when the text has
    ``\\u`` escapes, which the parser expands before it reads names."""
    if "\\u" in text or "\\U" in text:
        return PREFIXES
    return {p: ns for p, ns in PREFIXES.items() if p + ":" in text}


class _Capped:
    """A sink for pyoxigraph's TSV writer that counts rows (one a line, TSV escapes line
    breaks) and bytes as they come, and stops the writer as soon as a cap is passed."""

    def __init__(self, limits: Settings) -> None:
        self.data = bytearray()
        self.lines = 0
        self.limits = limits

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        self.lines += chunk.count(b"\n")
        if self.lines - 1 > self.limits.max_results:  # the first line is the header
            raise _TooMany
        if len(self.data) > self.limits.max_result_bytes:
            raise _TooLarge
        return len(chunk)

    def flush(self) -> None:
        pass


def _solutions(solutions: Any, fmt: str, limits: Settings) -> tuple[bytes, int]:
    """Solutions in ``fmt``, written by pyoxigraph: first as TSV, counted while it streams,
    then, for another format, read back and rewritten natively. TSV is the one format
    with exactly one row a line; at 70,000 rows the detour costs a fraction of what
    evaluating the query does (``python bench/serialise.py``)."""
    import pyoxigraph as ox

    sink = _Capped(limits)
    solutions.serialize(sink, format=ox.QueryResultsFormat.TSV)
    # the sink's own buffer, not a copy of it: a large answer is held fewer times at once
    again = from_native(ox.parse_query_results(sink.data, ox.QueryResultsFormat.TSV))
    body = write(again, fmt) or b""  # TSV: the canonical form (to_tsv), as kg query writes it
    rows = sink.lines - 1
    del again, sink
    if len(body) > limits.max_result_bytes:
        raise _TooLarge
    return body, rows


def _term_size(term: Any) -> int:
    """About the bytes a term takes: its text, or its parts' for an RDF 1.2 triple term
    (``<<( s p o )>>``, which has no ``value``: a CONSTRUCT of one answered 500)."""
    if isinstance(term, ox.Triple):
        return _term_size(term.subject) + len(term.predicate.value) + _term_size(term.object)
    return len(term.value)


class _Inexpressible(Exception):
    """A graph the asked format cannot write (406, saying which formats can)."""


def _graph(triples: Any, fmt: str, limits: Settings, context_url: str | None) -> tuple[bytes, int]:
    """Triples in ``fmt``, counted and sized as they are read."""
    rows: list[Any] = []
    size = 0
    for triple in triples:
        rows.append(triple)
        if len(rows) > limits.max_results:
            raise _TooMany
        size += _term_size(triple.subject) + len(triple.predicate.value) + _term_size(
            triple.object)
        if size > limits.max_result_bytes:
            raise _TooLarge
    if fmt == "jsonld" and any(isinstance(t.subject, ox.Triple) or isinstance(t.object, ox.Triple)
                               for t in rows):
        raise _Inexpressible("JSON-LD cannot hold an RDF 1.2 triple term (<<( … )>>); ask "
                             "for Turtle, N-Triples or RDF/XML")
    body = graph_bytes(rows, fmt, context=context_url)
    if len(body) > limits.max_result_bytes:
        raise _TooLarge
    return body, len(rows)


def _statm(field: int) -> int:
    """A field of /proc/self/statm in bytes (0: address space, 1: resident); 0 without /proc."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _resident_bytes() -> int:
    return _statm(1)


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _usage() -> tuple[int, int]:
    """The most this process has been resident, in bytes, and its minor page faults so far
    (a copy-on-write copy is one): one system call."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_maxrss * 1024, usage.ru_minflt


def _address_space() -> int:
    return _statm(0)


def _private_bytes() -> int:
    """Pages no other process maps (``Private_Clean`` and ``Private_Dirty`` of
    /proc/self/smaps_rollup): what a fork holds of its own; 0 without /proc."""
    total = 0
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return total


#: the least a worker may copy of the shared store before it is replaced (bytes)
_COPY_FLOOR = 16 * MiB
#: the share of the store a worker may copy before it is replaced: at 1.7 M triples, half
#: (workers then outlive timeline) served the rotated saved queries no faster (10.2-12.1
#: against 9.6-12.0 req/s) and raised serving memory from 1.23x to 1.35x Oxigraph's
_COPY_SHARE = 0.25


def worker_main(conn: Connection, store: Any, limits: Settings, mechanism: str) -> None:
    """A worker forked by the zygote: its memory cap (``RLIMIT_AS``: its size now plus
    ``max_worker_memory``), then jobs until told to stop."""
    import resource

    if _address_space():
        cap = _address_space() + limits.max_worker_memory
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    conn.send_bytes(f"ready {mechanism}".encode())  # data, not a pickle (answer_fields)
    serve_jobs(conn, store, limits)


def serve_jobs(conn: Connection, store: Any, limits: Settings) -> None:
    """A worker's loop: answer jobs from ``conn`` until told to stop (None, or the end of
    the pipe). A worker asks to be replaced after answering when it grew past half its
    memory margin, or when it holds privately more than a quarter of the store it shares
    with the zygote: pyoxigraph writes reference counts into the store's pages as a
    query reads them (a scan of every triple copied half of a 110 MiB store), and a fork
    keeps each page it wrote; a new fork shares them all again."""
    base_rss, base_private, (_, base_faults) = _resident_bytes(), _private_bytes(), _usage()
    copies = CopyWatch(max(int((base_rss - base_private) * _COPY_SHARE), _COPY_FLOOR),
                       base_faults, base_private)
    while True:
        try:
            job = pickle.loads(conn.recv_bytes())
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        try:
            answer = run_query(store, job, limits)
        except MemoryError:
            answer = _error(413, _MEMORY.format(limits.max_worker_memory // MiB))
            answer = answer._replace(recycle=True)
        except Exception as e:  # never let a worker die silently on a bad query
            answer = _error(500, f"the query failed inside the server: {type(e).__name__}: {e}")
        # /proc only when one system call says it may be needed: the peak size bounds the
        # size now (reading /proc/self/statm after every lookup was a fifth of a worker's
        # time on one, issue 26), and the page faults since it began bound what it copied (a
        # page it wrote was a fault first; /proc/self/smaps_rollup, which says exactly, takes
        # 15 ms at 1.7 M triples, and the answer waits for it)
        peak, faults = _usage()
        if (peak - base_rss > limits.max_worker_memory // 2
                and _resident_bytes() - base_rss > limits.max_worker_memory // 2) or (
            copies.over(faults)
        ):
            answer = answer._replace(recycle=True)
        # the body apart, as it is: joined with the rest it would be copied once more on
        # each side, 30 MB for a large answer
        conn.send_bytes(answer_fields(answer))
        conn.send_bytes(answer.body)


def answer_fields(answer: Answer) -> bytes:
    """An answer's fields but its body, as JSON: what a worker says is data to the server,
    never code (unpickling it would run whatever a worker taken over chose to send)."""
    import json

    return json.dumps([answer.status, answer.content_type, [list(h) for h in answer.headers],
                       answer.recycle, answer.rows]).encode()


def read_answer(fields: bytes, body: bytes) -> Answer:
    """The answer a worker sent (:func:`answer_fields` and its body); EOFError, as for a
    broken worker, when the fields are not what a worker writes."""
    import json

    try:
        status, ctype, headers, recycle, rows = json.loads(fields)
        ok = (type(status) is int and 100 <= status <= 599 and type(ctype) is str
              and type(recycle) is bool and type(rows) is int and type(headers) is list
              and all(type(h) is list and len(h) == 2 and all(type(x) is str for x in h)
                      for h in headers))
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise EOFError("a worker's answer that no worker writes")
    return Answer(status, ctype, body, tuple((k, v) for k, v in headers), recycle, rows)


class CopyWatch:
    """Whether a worker has copied more than ``cap`` bytes of the store it shares, counted
    (``private()``: ``/proc/self/smaps_rollup``, 15 ms at 1.7 M triples) only when it may
    have. A page becomes a worker's own only through a page fault, so what it copied can
    have passed the cap only once the faults since the last count could make up the rest.
    Not after every query (``statm`` alone was a fifth of a lookup's time), and not only
    after long ones, as before: entity pages' many quick queries copied 559 MiB into two
    workers that were never counted."""

    def __init__(self, cap: int, faults: int, private: int,
                 read: Any = None) -> None:  # fmt: skip
        self.cap, self.base = cap, private
        self.read = read or _private_bytes
        self.at = faults + cap // _PAGE
        self.counted = 0  # times private() was read

    def over(self, faults: int) -> bool:
        """After a query: ``faults``, the worker's minor page faults since it began."""
        if faults < self.at:
            return False
        self.counted += 1
        copied = self.read() - self.base
        self.at = faults + max(self.cap - copied, _PAGE) // _PAGE
        return copied > self.cap


_MEMORY = (
    "the query needed more than {} MiB of memory, this endpoint's limit; narrow it or add LIMIT"
)


class WorkerFailed(RuntimeError):
    """A worker could not be started; the message says why."""


class _Worker:
    """A worker as the pool sees it: its end of the socket pair and its process, forked
    by the zygote (:mod:`kg.web.zygote`) from the one loaded store."""

    def __init__(self, zygote: Zygote) -> None:
        import socket

        fd, self.log = tempfile.mkstemp(prefix="kg-worker-", suffix=".log")
        os.close(fd)
        ours, theirs = socket.socketpair()
        try:
            self.process: ForkedProcess = zygote.fork(theirs, self.log)
        except BaseException:  # not named (or not forked): its end closed, it ends
            ours.close()
            self.remove_log()
            raise
        finally:
            theirs.close()
        self.conn: Connection = Connection(ours.detach())
        try:
            said = self.conn.recv_bytes(1024) if self.conn.poll(60) else b""
        except (EOFError, OSError):
            said = b""  # it died while starting: its log says why
        word, _, mechanism = said.decode("utf-8", "replace").partition(" ")
        if word != "ready":
            self.kill()
            raise WorkerFailed(f"a query worker did not start within 60 s: {self.tail()}")
        self.mechanism: str = mechanism
        # from now on read on the event loop, never waiting in a read (ask)
        self.sock = socket.socket(fileno=os.dup(self.conn.fileno()))
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self.buffer = bytearray(_CHUNK)
        self.largest = _FRAME_SLACK  # set by the pool: its byte cap and this slack

    async def ask(self, job: Job, running: _Running, timeout: float) -> Answer | None:
        """Send ``job``; its answer, or None when ``timeout`` passed or the query was
        preempted first. Raises EOFError when the worker died.

        One frame each way in multiprocessing's format (a 4-byte length, the bytes), read
        without blocking as they come: the Connection's own send and two receives cost a
        lookup about 60 µs of this process (issue 26's profile)."""
        loop = running.ready.get_loop()
        payload = pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
        try:
            await loop.sock_sendall(self.sock, struct.pack("!i", len(payload)) + payload)
        except OSError as e:  # its end was closed: it died before it had the job
            raise _Unsent from e
        deadline = loop.time() + timeout
        # an answer is at most the byte cap (and its fields): a worker that says more is
        # broken, and is not believed (nothing is set aside for what it claims)
        frames = _Frames(self.largest)
        view = memoryview(self.buffer)
        ready = running.ready  # preemption stops the wait for the answer to begin
        while True:
            if not await _readable(loop, self.fd, deadline - loop.time(), ready):
                return None
            ready = loop.create_future()  # a long answer's next part: only time stops it
            while True:
                try:
                    n = self.sock.recv_into(view)
                except BlockingIOError:
                    break
                except OSError:
                    raise EOFError from None
                if not n:
                    raise EOFError
                done = frames.feed(view[:n])
                if done is not None:
                    meta, body = done
                    return read_answer(meta, body)

    def gone(self) -> bool:
        """Whether this idle worker has died (its end of the socket pair closed): a look at
        the socket, no wait. A busy worker's death is found by its query."""
        import socket

        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def tail(self, lines: int = 5) -> str:
        return log_tail(self.log, lines)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        self.process.release()
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.sock.close()

    def remove_log(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.log)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.setblocking(True)
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        self.process.release()
        with contextlib.suppress(Exception):
            self.sock.close()
        self.remove_log()


#: how much of an answer one read takes (bytes)
_CHUNK = 256 * 1024


#: what an answer's fields and an error's text may add to the byte cap (bytes)
_FRAME_SLACK = 1 * MiB


class _Unsent(Exception):
    """A job could not be sent: the worker had died while idle (its zygote went, and took
    it along), so the query never ran and may go to another worker."""


class _Frames:
    """The two frames of an answer (its fields as JSON, then its body) as they arrive, in
    multiprocessing's format: a 4-byte big-endian length, or -1 and an 8-byte one; a frame
    longer than ``largest`` raises EOFError, as a dead worker's pipe does."""

    def __init__(self, largest: int) -> None:
        self.data = bytearray()
        self.done: list[bytes] = []
        self.largest = largest

    def feed(self, chunk: Any) -> tuple[bytes, bytes] | None:
        """Take ``chunk``; both frames once they are complete."""
        self.data += chunk
        while len(self.done) < 2:
            data = self.data
            if len(data) < 4:
                return None
            (size,), start = struct.unpack_from("!i", data), 4
            if size == -1:
                if len(data) < 12:
                    return None
                (size,), start = struct.unpack_from("!Q", data, 4), 12
            if size > self.largest or size < 0:
                raise EOFError(f"a frame of {size} bytes")
            if len(data) < start + size:
                return None
            self.done.append(bytes(data[start:start + size]))
            del data[:start + size]
        return self.done[0], self.done[1]


async def _readable(
    loop: asyncio.AbstractEventLoop, fd: int, timeout: float, ready: asyncio.Future
) -> bool:
    """Whether ``fd`` has something to read (an answer, or the end of a dead worker's
    pipe) within ``timeout`` seconds, waiting on the event loop, not in a thread; False
    too when ``ready`` is given False from elsewhere (the query was preempted)."""
    if ready.done():
        return bool(ready.result())
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
    # a timer rather than asyncio.wait_for, which makes a task of every wait
    timer = loop.call_later(timeout, lambda: ready.done() or ready.set_result(False))
    try:
        return await ready
    finally:
        timer.cancel()
        loop.remove_reader(fd)


def _death(worker: _Worker, limits: Settings) -> Answer:
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
        return _error(413, _MEMORY.format(limits.max_worker_memory // MiB))
    if code == -11 or "overflow" in tail:  # SIGSEGV: the parser's recursion ran out of stack
        return _error(
            400,
            "the query crashed the query engine (stack overflow, usually from deep nesting); "
            "simplify it",
        )
    return _error(
        500, f"the query worker stopped unexpectedly ({describe_exit(code)}); please report it"
    )


#: a query is expected to be long once its client's recent use, or the last run of the same
#: text, passed this many seconds of worker time
QUICK = 0.5
#: a client counts as about (so long queries leave it a lane) this long after its last query
ABOUT = 30.0
#: a quick query that has waited this long stops the most-used client's long query, when
#: every worker runs one that has run this long (new clients' first long queries)
PREEMPT_AFTER = 1.0
_REMEMBERED_TEXTS = 1024
#: clients' buckets kept before the drained ones are forgotten
_REMEMBERED_CLIENTS = 4 * _REMEMBERED_TEXTS
#: how fast buckets drain with no budget (``--client-budget 0``): as at the default
_NO_BUDGET_DRAIN = 30.0 / 60.0


class Fairness:
    """Who may have a worker next: per-client budgets of worker time, and a lane for quick
    queries.

    Each client (an address; IPv6 by /64, see :func:`client_key`) has a leaky bucket of
    worker seconds that drains at ``budget / 60`` a second; a query's time is added when
    it ends. A client whose bucket is full is refused (429) until it drains. A query is
    *long* when its client's bucket holds more than :data:`QUICK` seconds, or the same
    text last ran longer than that; a long query may not take the last idle worker while
    another client has used the pool in the last :data:`ABOUT` seconds. So two clients
    looping the heaviest queries they can share all workers but one, and a third
    client's quick query finds that one free.

    With no budget (0) nobody is refused, and buckets drain at :data:`_NO_BUDGET_DRAIN`
    for the lane. A drained bucket is forgotten once more than
    :data:`_REMEMBERED_CLIENTS` are kept: page work charges clients that never ask a
    query, and every address that fetched a page was otherwise kept for good.
    """

    def __init__(self, budget: float, clock: Any = None) -> None:
        import time

        self.budget = budget
        self.rate = budget / 60.0 if budget > 0 else _NO_BUDGET_DRAIN
        self._prune_at = _REMEMBERED_CLIENTS
        self.clock = clock or time.monotonic
        self.used: dict[str, tuple[float, float]] = {}  # client → (bucket level, when)
        self.seen: dict[str, float] = {}  # client → last time it asked
        self.texts: dict[str, float] = {}  # query text → seconds of its last run

    def level(self, client: str) -> float:
        level, when = self.used.get(client, (0.0, 0.0))
        return max(0.0, level - (self.clock() - when) * self.rate)

    def over_budget(self, client: str) -> float:
        """Seconds until ``client`` may ask again; 0 when it may now."""
        if self.budget <= 0:
            return 0.0
        excess = self.level(client) - self.budget
        return excess / self.rate if excess > 0 else 0.0

    def refusal(self, client: str) -> tuple[str, int] | None:
        """Why ``client`` is refused now, and in how many seconds it may ask again; None
        when it may ask."""
        wait = self.over_budget(client)
        if wait <= 0:
            return None
        return (f"this client has used its {self.budget:g} s of query time a minute, this "
                f"endpoint's limit; try again in {wait:.0f} s", max(1, round(wait + 0.5)))

    def charge(self, client: str, seconds: float) -> None:
        """Add ``seconds`` of the server's time to ``client``'s bucket."""
        self.used[client] = (self.level(client) + seconds, self.clock())
        if len(self.used) > self._prune_at:
            self._forget_drained()

    def _forget_drained(self) -> None:
        """Drop the buckets that have drained; the next pass once twice as many are kept
        (a pass per charge while all are live would cost the number of clients each)."""
        self.used = {c: v for c, v in self.used.items() if self.level(c) > 0}
        self._prune_at = max(_REMEMBERED_CLIENTS, 2 * len(self.used))

    def is_long(self, client: str, text: str) -> bool:
        return self.level(client) > QUICK or self.texts.get(text, 0.0) > QUICK

    def others_about(self, client: str) -> bool:
        now = self.clock()
        return any(c != client and now - t < ABOUT for c, t in self.seen.items())

    def asked(self, client: str) -> None:
        now = self.clock()
        self.seen[client] = now
        if len(self.seen) > 4 * _REMEMBERED_TEXTS:  # forget clients long gone
            self.seen = {c: t for c, t in self.seen.items() if now - t < ABOUT}
            self._forget_drained()

    def spent(self, client: str, text: str, seconds: float) -> None:
        self.charge(client, seconds)
        self.texts.pop(text, None)
        self.texts[text] = seconds
        if len(self.texts) > _REMEMBERED_TEXTS:
            del self.texts[next(iter(self.texts))]


@functools.lru_cache(maxsize=4096)
def client_key(address: str) -> str:
    """The unit the fair-use limits count: an IPv4 address, an IPv6 /64 (one host often
    holds a whole /64), anything else as it is.

    >>> client_key("2001:db8:1:2:aaaa::1"), client_key("203.0.113.7")
    ('2001:db8:1:2::/64', '203.0.113.7')
    """
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class _Running:
    """A query a worker is running: whose, since when, and how to stop waiting for it."""

    __slots__ = ("client", "preempted", "ready", "since")

    def __init__(self, client: str, since: float, ready: asyncio.Future) -> None:
        self.client, self.since, self.ready, self.preempted = client, since, ready, False


class _Waiter(NamedTuple):
    rank: tuple[int, float, float, int]  # (long, text's last run, client's use, arrival)
    client: str
    long: bool
    future: asyncio.Future


#: the client the server's own page queries count as (no address is this)
PAGES = "(pages)"


class QueryPool:
    """A fixed number of confined worker processes; each runs one query at a time."""

    def __init__(
        self, nt_path: Path, root: Path, limits: Settings | None = None, store: Any = None
    ) -> None:
        """``store``: the loaded pyoxigraph store of this process, which the workers then
        share (the zygote is forked from this process at :meth:`start`, so start the pool
        before any thread); without it the zygote loads ``nt_path`` itself."""
        self.nt_path, self.root = nt_path, root
        self.limits = limits or Settings()
        self._store = store
        self._zygote: Zygote | None = None
        self._idle: list[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._waiters: list[_Waiter] = []
        self._running: dict[_Worker, _Running] = {}
        self._arrivals = 0
        self._per_client: dict[str, int] = {}
        self.fair = Fairness(self.limits.client_budget)
        self.mechanism = ""
        self._renewing = threading.Lock()
        self.renewed = 0  # zygotes started in place of one that had gone
        self._stopped = False
        self.killed = 0
        self.replaced = 0
        self.preempted = 0

    def _spawn(self) -> _Worker:
        zygote = self._zygote
        assert zygote is not None
        try:
            worker = _Worker(zygote)
        except ZygoteFailed:  # it has gone (killed, out of memory): a new one, then the worker
            self._renew(zygote)
            assert self._zygote is not None
            worker = _Worker(self._zygote)
        worker.largest = self.limits.max_result_bytes + _FRAME_SLACK
        self._all.add(worker)
        self.mechanism = worker.mechanism
        return worker

    def _renew(self, gone: Zygote) -> None:
        """Start a zygote in place of ``gone``, unless another thread did already. It is a
        fresh interpreter that loads the graph file (this process has threads now, and a
        fork of it could inherit a lock held by one of them), so its workers share that
        copy of the store, not this process's: serving goes on, at the memory of one more
        copy. Raises ZygoteFailed (or SandboxUnavailable) when it cannot start."""
        import sys

        with self._renewing:
            if self._stopped:  # not gone: stopped, with the pool (a late replacement's spawn)
                raise ZygoteFailed("the query pool has stopped")
            if self._zygote is not gone:
                return
            with contextlib.suppress(Exception):
                gone.stop()
            print(f"kg serve: the query workers' zygote had gone ({gone.tail(1) or 'no log'}); "
                  "starting a new one, which loads the graph itself", file=sys.stderr,
                  flush=True)  # fmt: skip
            self._zygote = Zygote(self.nt_path, self.root, self.limits, worker_main)
            self.renewed += 1

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._idle = []
        if self._store is not None:  # forked from here, now: before any thread of ours
            self._zygote = Zygote(self.nt_path, self.root, self.limits, worker_main, self._store)
        else:  # a fresh interpreter that loads the file
            self._zygote = await loop.run_in_executor(
                None, Zygote, self.nt_path, self.root, self.limits, worker_main
            )
        for _ in range(self.limits.workers):  # a fork each: milliseconds
            self._release(self._spawn())

    async def stop(self) -> None:
        self._stopped = True  # a replacement still starting in a thread starts no zygote
        for w in list(self._all):
            w.stop()
        self._all.clear()
        if self._zygote is not None:
            self._zygote.stop()
            self._zygote = None

    async def run(self, job: Job, client: str = "") -> Answer:
        """Answer one query: wait (boundedly, in turn) for a worker, then run it within the
        time limit."""
        assert self._idle is not None, "start() the pool first"
        limits = self.limits
        if self._per_client.get(client, 0) >= limits.per_client:
            return _error(
                429,
                f"this client already has {limits.per_client} queries running or waiting, "
                "this endpoint's limit; wait for them",
                self._retry,
            )
        refused = self.fair.refusal(client)
        if refused is not None:
            return _error(429, refused[0], ("Retry-After", str(refused[1])))
        full = self._queue_full()
        if full is not None:
            return full
        long = self.fair.is_long(client, job.text)
        self.fair.asked(client)
        self._per_client[client] = self._per_client.get(client, 0) + 1
        try:
            return await self._run(job, client, long)
        finally:
            left = self._per_client[client] - 1
            if left:
                self._per_client[client] = left
            else:
                del self._per_client[client]

    async def run_page(self, job: Job) -> Answer:
        """Answer one of the server's own queries for a page (:mod:`kg.web.pooled`): no
        client's limits (a browser asks for a page and its parts at once), but the queue,
        the lane for quick queries and the time limit like any query."""
        assert self._idle is not None, "start() the pool first"
        return self._queue_full() or await self._run(job._replace(page=True), PAGES, False)

    @property
    def _retry(self) -> tuple[str, str]:
        """When a refused query may be asked again: after one time limit."""
        return ("Retry-After", str(max(1, round(self.limits.timeout))))

    def _queue_full(self) -> Answer | None:
        """503 when the queue is full and no worker is idle, else None."""
        if len(self._waiters) >= self.limits.max_queue and not self._idle:
            return _error(503, "the endpoint is busy; try again shortly", self._retry)
        return None

    async def _run(self, job: Job, client: str, long: bool) -> Answer:
        retry = self._retry
        # a worker found dead before it had the job: the next one (each such is replaced)
        for _ in range(self.limits.workers + 1):
            worker = await self._acquire(client, long, job.text)
            if worker is None:
                return _error(503, "all query workers are busy; try again shortly", retry)
            start = self._loop.time()
            try:
                answer = await self._on(worker, job, client)
            finally:
                self.fair.spent(client, job.text, self._loop.time() - start)
            if answer is not None:
                return answer
        return _error(503, "the query workers are being replaced; try again shortly", retry)

    def _may_start(self, client: str, long: bool) -> bool:
        """Whether a query may take an idle worker now: a long one never takes the last
        one while another client is about."""
        assert self._idle is not None
        if not self._idle:
            return False
        return not long or len(self._idle) > 1 or not self.fair.others_about(client)

    async def _acquire(self, client: str, long: bool, text: str = "") -> _Worker | None:
        assert self._idle is not None
        if not self._waiters and self._may_start(client, long):
            return self._idle.pop()
        self._arrivals += 1
        # the lane first, then the shortest expected (the text's last run; a text not seen
        # is expected short, as a new client's first query is), then the least-used client
        rank = (int(long), self.fair.texts.get(text, 0.0), self.fair.level(client),
                self._arrivals)  # fmt: skip
        waiter = _Waiter(rank, client, long, self._loop.create_future())
        self._waiters.append(waiter)
        self._waiters.sort()
        self._dispatch()  # an idle worker that the waiters before it may not have
        if not long:
            self._loop.call_later(PREEMPT_AFTER, self._preempt_for, waiter)
        # a timer rather than asyncio.wait_for(shield()), which wraps the wait twice
        timer = self._loop.call_later(
            self.limits.queue_wait, lambda: waiter.future.done() or waiter.future.set_result(None))
        got = False
        try:
            worker = await waiter.future
            got = worker is not None
            return worker
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not got and waiter.future.done() and not waiter.future.cancelled() and (
                    waiter.future.result() is not None):
                self._release(waiter.future.result())  # given one as the request went away

    def _preempt_for(self, waiter: _Waiter) -> None:
        """A quick query has waited :data:`PREEMPT_AFTER`: if every worker is running a
        query that has run longer than that (and none is being replaced), stop the one
        whose client used most, so the quick one runs. Only new clients' first long
        queries get here: once known, long queries leave a worker free (:class:`Fairness`)."""
        if waiter.future.done() or waiter not in self._waiters or self._idle:
            return
        if len(self._all) < self.limits.workers:
            return  # a replacement is starting: it will take the quick query
        now = self._loop.time()
        running = [r for r in self._running.values()
                   if now - r.since >= PREEMPT_AFTER and r.client != waiter.client
                   and not r.preempted]  # fmt: skip
        if len(running) < len(self._all):
            return  # some query is about to finish, or is the waiter's own client's
        victim = max(running, key=lambda r: (self.fair.level(r.client), now - r.since))
        victim.preempted = True
        if not victim.ready.done():
            victim.ready.set_result(False)

    def _release(self, worker: _Worker) -> None:
        """A worker is free: hand it to the first waiter that may have it, or keep it idle."""
        assert self._idle is not None
        self._idle.append(worker)
        self._dispatch()

    def _dispatch(self) -> None:
        """Give idle workers to waiters, in rank order, each that may have one."""
        assert self._idle is not None
        for waiter in list(self._waiters):
            if not self._idle:
                return
            if waiter.future.done():
                continue
            if self._may_start(waiter.client, waiter.long):
                self._waiters.remove(waiter)
                waiter.future.set_result(self._idle.pop())

    async def _on(self, worker: _Worker, job: Job, client: str) -> Answer | None:
        """The answer of ``worker`` to ``job``; None when the worker had died before it had
        the job (it is replaced; the job may go to another)."""
        loop = asyncio.get_running_loop()
        answer: Answer | None = None
        died = unsent = False
        ready = loop.create_future()
        self._running[worker] = _Running(client, loop.time(), ready)
        try:
            # on the event loop itself: an idle worker is waiting to read the job, and the
            # answer is read once the pipe says it is there (a thread hop per step cost
            # half the throughput: 1,441 lookups/s before, 2,885 after, bench/load.py --lookups)
            answer = await worker.ask(job, self._running[worker], self.limits.timeout)
        except _Unsent:
            unsent = True
        except (EOFError, OSError):
            died = True  # find out why below
        except asyncio.CancelledError:
            # the request went away while its query ran: the worker's answer would come
            # to the next job, so it is replaced, never lost with the request
            self._retire(worker)
            raise
        finally:
            preempted = self._running.pop(worker).preempted
        if answer is not None and not answer.recycle:
            self._release(worker)
            return answer
        if unsent:
            pass  # replaced below, as every worker that is not returned; run() tries another
        elif died:
            answer = await loop.run_in_executor(None, _death, worker, self.limits)
        elif answer is None and preempted:
            self.preempted += 1
            answer = _error(
                503,
                f"the query was stopped after {PREEMPT_AFTER:g} s to give a quick query "
                "its turn: every worker was running a long query; try again shortly",
                self._retry,
            )
        elif answer is None:  # still running: the time limit stopped it
            self.killed += 1
            answer = _error(
                503,
                f"the query ran past this endpoint's time limit of "
                f"{self.limits.timeout:g} s and was stopped",
            )
        self._retire(worker)
        return answer

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker that is not to be given back, and start its replacement."""
        worker.kill()
        worker.remove_log()
        self._all.discard(worker)
        self._loop.run_in_executor(None, self._replace)

    def _replace(self) -> None:
        if self._stopped:
            return
        try:
            worker = self._spawn()
        except (RuntimeError, OSError):
            return  # no zygote could fork one (see _renew): the pool serves with those it has
        if self._stopped:  # stopped while it started
            worker.stop()
            return
        self.replaced += 1
        self._loop.call_soon_threadsafe(self._release, worker)

    @property
    def running(self) -> bool:
        """Started, and not stopped."""
        return self._idle is not None and not self._stopped

    def status(self) -> dict[str, Any]:
        """What ``/health`` shows of the pool (JSON): ``workers`` counts those alive (an idle
        one that died is not, until a query finds it and it is replaced)."""
        dead = sum(1 for w in self._idle or () if w.gone())
        return {
            "workers": len(self._all) - dead,
            "idle": len(self._idle or ()),
            "waiting": len(self._waiters),
            "sandbox": self.mechanism,
            "killed": self.killed,
            "replaced": self.replaced,
            "preempted": self.preempted,
            "renewed": self.renewed,
        }
