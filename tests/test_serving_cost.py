"""Serving at little cost over the engine: workers forked from one loaded, confined store.

The pool is given the store this process loaded (as ``kg serve`` gives it); its
workers are forks of a zygote forked from here, so they share the store's pages,
and they are still confined: a query that tries to connect kills its worker and
reaches nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.web.settings import Settings
from kg.web.workers import Job, QueryPool

from .conftest import Listener, free_port

JSON = "application/sparql-results+json"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


# pool._all is read through list(): a replacement is forked in an executor thread, which adds
# to the set while a test's own loop over it ran ("Set changed size during iteration", once)
def started(store: ox.Store, root: Path, settings: Settings) -> tuple[QueryPool, object]:
    loop = asyncio.new_event_loop()
    pool = QueryPool(Path("unused.nt"), root, settings, store)  # the file is never read
    loop.run_until_complete(pool.start())
    return pool, loop


def ask(pool: QueryPool, loop, text: str):
    return loop.run_until_complete(pool.run(Job(text, [JSON], {}), "test"))


@pytest.mark.parametrize("mechanism", ["seccomp", "netns"])
def test_a_worker_forked_from_the_loaded_store_cannot_connect(
    mechanism: str, ox_engine, project, monkeypatch
) -> None:
    from kg.web.sandbox import SandboxUnavailable

    monkeypatch.setenv("KG_SANDBOX_MECHANISMS", mechanism)
    listener = Listener()
    try:
        pool, loop = started(ox_engine.store, project.root, Settings(workers=2, timeout=20))
    except SandboxUnavailable as e:
        listener.close()
        pytest.skip(f"{mechanism} cannot be applied on this machine: {e}")
    try:
        assert pool.status()["sandbox"] == mechanism
        workers = [w.process.pid for w in list(pool._all)]
        zygotes = {parent_of(pid) for pid in workers}
        assert len(zygotes) == 1 and parent_of(next(iter(zygotes))) == os.getpid()  # forked
        url = f"http://127.0.0.1:{listener.port}/"
        for text in (f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                     f"ASK {{ FILTER EXISTS {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
                     # an address and a port nothing listens on (not a name, nor port 9,
                     # which pyoxigraph's client refuses before any socket: SILENT then
                     # answers empty without trying, as one full run saw)
                     f"SELECT * {{ SERVICE SILENT <http://127.0.0.1:{free_port()}/> "
                     "{ ?s ?p ?o } }"):
            answer = ask(pool, loop, text)  # the text check is not in the way here
            if mechanism == "seccomp":  # killed at socket(): the server knows why
                assert answer.status == 403, answer.body
                assert b"tried to open a network connection" in answer.body
            else:  # no interface to reach anything: SILENT swallows the error, else 400
                assert answer.status in (200, 400), answer.body
        assert listener.connections == 0
        assert ask(pool, loop, "ASK { ?s ?p ?o }").status == 200  # replaced by a new fork
        assert {parent_of(w.process.pid) for w in list(pool._all)} == zygotes
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()
        listener.close()


def test_workers_share_the_loaded_store_and_hold_none_of_the_servers_sockets(tmp_path) -> None:
    ns = "http://example.org/"
    data = "".join(f'<{ns}s{i}> <{ns}p{i % 7}> "a literal long enough to weigh {i}" .\n'
                   for i in range(150_000)).encode()  # fmt: skip
    empty = memory_kib(os.getpid(), "Rss")
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.N_TRIPLES)
    size = memory_kib(os.getpid(), "Rss") - empty  # what the store takes, KiB
    assert size > 20 * 1024
    held = socket.socket()  # a listening socket of the server: no worker may hold it
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    pool, loop = started(store, tmp_path, Settings(workers=2, timeout=20))
    try:
        lookup = ask(pool, loop, f"SELECT ?p ?o {{ <{ns}s77> ?p ?o }}")
        assert lookup.status == 200 and b"weigh 77" in lookup.body
        for w in list(pool._all):
            pid = w.process.pid
            private = memory_kib(pid, "Private_Clean") + memory_kib(pid, "Private_Dirty")
            # a worker that loaded its own copy holds the whole store privately (about
            # 100 MiB here); a fork holds what it wrote since: a few MiB. (A query that
            # reads the whole store writes to half its pages, pyoxigraph's reference counts:
            # a fork then holds that half privately until it is replaced.)
            assert private * 10 < size, (private, size)
            inode = os.fstat(held.fileno()).st_ino
            fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            assert f"socket:[{inode}]" not in fds, fds
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()
        held.close()


def test_a_worker_that_grew_is_replaced_by_a_fork_not_a_reload(ox_engine, project) -> None:
    settings = Settings(workers=1, timeout=20, max_worker_memory=64 * 1024 * 1024)
    pool, loop = started(ox_engine.store, project.root, settings)
    try:
        first = next(iter(pool._all)).process.pid
        text = "SELECT (STRLEN(GROUP_CONCAT(CONCAT(STR(?s), STR(?o), STR(?x)))) AS ?n) " \
               "{ ?s ?p ?o . ?x ?y ?z }"  # fmt: skip
        assert ask(pool, loop, text).status == 413
        loop.run_until_complete(asyncio.sleep(0.5))  # the replacement is forked meanwhile
        assert pool.status()["workers"] == 1 and pool.status()["replaced"] == 1
        second = next(iter(pool._all)).process.pid
        assert second != first and parent_of(parent_of(second)) == os.getpid()
        assert ask(pool, loop, "ASK { ?s ?p ?o }").status == 200
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()


def test_waiting_queries_go_shortest_expected_first_within_the_lane() -> None:
    async def go() -> list[str]:
        pool = QueryPool(Path("unused.nt"), Path("."))
        pool._loop, pool._idle = asyncio.get_running_loop(), []
        pool.fair.spent("other", "slow", 3.0)  # last runs of the texts; the client is "a"
        pool.fair.spent("other", "fast", 0.01)
        got: list[str] = []

        async def take(text: str) -> None:
            got.append(f"{text}:{await pool._acquire('a', False, text)}")

        waiting = [asyncio.ensure_future(take(t)) for t in ("slow", "fast", "new")]
        await asyncio.sleep(0.01)  # all three wait, in arrival order slow, fast, new
        for worker in ("w1", "w2", "w3"):
            pool._release(worker)
            await asyncio.sleep(0.01)
        await asyncio.gather(*waiting)
        return got

    # a text not seen yet is expected short; the one that ran 3 s last time goes last
    assert asyncio.run(go()) == ["new:w1", "fast:w2", "slow:w3"]


def _copy_and_replace(root: str, conn) -> None:
    """In a fresh process, whose memory is little but the store: ask a lookup, then a
    scan of every triple; send (replaced after the lookup, after the scan, the new
    worker's private KiB)."""
    ns = "http://example.org/"
    data = "".join(f'<{ns}s{i}> <{ns}p{i % 7}> "a literal long enough to weigh {i}" .\n'
                   for i in range(150_000)).encode()  # fmt: skip
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.N_TRIPLES)
    del data
    pool, loop = started(store, Path(root), Settings(workers=1, timeout=20))
    try:
        assert ask(pool, loop, f"SELECT ?o {{ <{ns}s9> ?p ?o }}").status == 200
        after_lookup = pool.status()["replaced"]
        # a scan of every triple writes reference counts into half the store's pages
        answer = ask(pool, loop, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(STRLEN(?o) > 3) }")
        assert answer.status == 200 and b'"150000"' in answer.body
        for _ in range(50):
            if pool.status()["replaced"] == 1 and pool.status()["idle"] == 1:
                break
            loop.run_until_complete(asyncio.sleep(0.05))
        worker = next(iter(pool._all)).process.pid
        private = memory_kib(worker, "Private_Clean") + memory_kib(worker, "Private_Dirty")
        conn.send((after_lookup, pool.status()["replaced"], private))
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()


def test_a_worker_that_copied_much_of_the_shared_store_is_replaced(tmp_path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_copy_and_replace, args=(str(tmp_path), child))
    proc.start()
    child.close()
    assert parent.poll(120), "the child did not answer"
    after_lookup, after_scan, private = parent.recv()
    proc.join(10)
    assert after_lookup == 0  # a lookup copies next to nothing
    assert after_scan == 1  # replaced by a new fork, which shares every page again
    assert private < 16 * 1024, private


def test_a_zygote_that_died_is_replaced_and_serving_goes_on(ox_engine, project) -> None:
    import signal
    import time

    from kg.store import graph_file

    loop = asyncio.new_event_loop()
    pool = QueryPool(graph_file(project), project.root, Settings(workers=2, timeout=20),
                     ox_engine.store)
    loop.run_until_complete(pool.start())
    try:
        old = pool._zygote
        os.kill(old.pid, signal.SIGKILL)
        time.sleep(0.2)
        victim = next(iter(pool._all))
        victim.process.kill()  # its replacement needs a zygote (by its pidfd: it died with
        # its zygote and was reaped by init, and its number may be another process's now)
        answers = [ask(pool, loop, "ASK { ?s ?p ?o }") for _ in range(3)]
        assert 200 in [a.status for a in answers]
        deadline = time.monotonic() + 60
        while pool.status()["workers"] < 2 and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.2))
        assert pool.status()["workers"] == 2 and pool.renewed == 1
        assert pool._zygote is not old and pool._zygote.pid != old.pid
        # the new workers are the new zygote's, and as confined as before
        assert any(parent_of(w.process.pid) == pool._zygote.pid for w in list(pool._all))
        for _ in range(4):
            assert ask(pool, loop, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").status == 200
        listener = Listener()
        try:
            url = f"http://127.0.0.1:{listener.port}/"
            for _ in range(2):
                ask(pool, loop, f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}")
            assert listener.connections == 0
        finally:
            listener.close()
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()


def test_workers_that_died_with_their_zygote_fail_no_query(ox_engine, project) -> None:
    """A zygote's workers die with it (PR_SET_PDEATHSIG): a query handed one of them, which
    never had it, goes to the next worker rather than answering 500 "stopped unexpectedly
    (still running); please report it", as the first queries after a zygote died did."""
    import signal
    import time

    from kg.store import graph_file

    loop = asyncio.new_event_loop()
    pool = QueryPool(graph_file(project), project.root, Settings(workers=2, timeout=20),
                     ox_engine.store)
    loop.run_until_complete(pool.start())
    try:
        os.kill(pool._zygote.pid, signal.SIGKILL)
        time.sleep(0.3)  # its workers are gone too
        answers = [ask(pool, loop, f"ASK {{ ?s ?p ?o }} # {i}") for i in range(3)]
        assert [a.status for a in answers] == [200] * 3, [a.body for a in answers]
        assert pool.renewed == 1
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()


def test_a_replacement_late_for_a_stopped_pool_starts_no_zygote(ox_engine, project) -> None:
    """A worker's replacement runs in a thread; one that found the zygote already stopped by
    the pool's stop() took it for one that had died, and started a new zygote (a process
    that loads the graph) that nothing would stop."""
    from kg.store import graph_file

    loop = asyncio.new_event_loop()
    pool = QueryPool(graph_file(project), project.root, Settings(workers=1), ox_engine.store)
    loop.run_until_complete(pool.start())
    zygote = pool._zygote
    stop = zygote.stop

    def stop_then_a_late_replacement() -> None:
        zygote.stop = stop  # once
        stop()
        pool._replace()  # the replacement's thread, between the zygote's end and the pool's

    zygote.stop = stop_then_a_late_replacement
    try:
        loop.run_until_complete(pool.stop())
        assert pool.renewed == 0 and pool._zygote is None
    finally:
        if pool._zygote is not None:
            pool._zygote.stop()
        loop.close()


def test_copies_are_counted_when_they_may_pass_the_cap_whatever_each_query_took() -> None:
    """Many quick queries each copying a little (entity pages') add up: the worker is
    replaced once they pass the cap, and what it holds is read only when the page faults
    since the last count could have made up the difference."""
    from kg.web.workers import _PAGE, CopyWatch

    held = [0]
    watch = CopyWatch(cap=1000 * _PAGE, faults=0, private=0, read=lambda: held[0])
    faults, replaced_at = 0, None
    for query in range(1, 10_000):
        faults += 30  # each query faults 30 pages, of which 10 are copies of the store
        held[0] += 10 * _PAGE
        if watch.over(faults):
            replaced_at = query
            break
    assert replaced_at == 101  # 1,010 pages copied: just past the cap of 1,000
    assert watch.counted <= 15  # a dozen reads of /proc (12), not one a query (101)


def test_a_worker_is_killed_through_its_pidfd_never_by_a_number_now_anothers() -> None:
    """A worker whose zygote died was reaped by init; its number may since be another
    program's (pids run to 32,768 here). The server kills a worker through the pidfd it
    opened while the number was surely the worker's: never that other program. A suite
    run lost its test server this way, to a test killing a dead worker by number."""
    import signal
    import subprocess
    import time

    from kg.web.zygote import ForkedProcess, _pidfd

    ended = subprocess.Popen(["true"])
    pidfd = _pidfd(ended.pid)  # named while a zombie, its number still held
    ended.wait()  # reaped: the number is free
    if pidfd is None:
        pytest.skip("this kernel has no pidfd_open (Linux 5.3 and later)")
    other = subprocess.Popen(["sleep", "30"])
    try:
        worker = ForkedProcess(None, other.pid, pidfd)  # type: ignore[arg-type]
        worker.kill()  # "its" number is now the other program's
        time.sleep(0.2)
        assert other.poll() is None
        worker.release()
        worker.kill()  # let go of: never signalled again, not by number either
        time.sleep(0.2)
        assert other.poll() is None
        alive = ForkedProcess(None, other.pid, _pidfd(other.pid))  # type: ignore[arg-type]
        alive.kill()  # a live worker is killed, as before
        assert other.wait(5) == -signal.SIGKILL
        alive.release()
    finally:
        other.kill()
        other.wait()


_RAN: list[str] = []


class _Payload:
    """What a worker taken over might send instead of its answer's fields."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_RAN.append, ("code from a worker",))


def test_a_workers_answer_is_read_as_data_never_run() -> None:
    """The server reads a worker's answer as JSON of known fields: a pickle (which would
    run what the worker chose, in the unconfined server) or any other shape is a broken
    worker (EOFError, answered as such), and nothing it holds runs."""
    import pickle

    from kg.web.workers import Answer, answer_fields, read_answer

    sent = Answer(413, "text/plain; charset=utf-8", b"", (("Retry-After", "5"),), True, 7)
    assert read_answer(answer_fields(sent), b"body") == sent._replace(body=b"body")
    for bad in (pickle.dumps(_Payload()), pickle.dumps(sent), b"[200]", b'{"status": 200}',
                b'[200, "t", [["a"]], false, 0]', b'[99, "t", [], false, 0]',
                b'[200, "t", [], 1, 0]', b'[true, "t", [], false, 0]', b"\xff"):
        with pytest.raises(EOFError):
            read_answer(bad, b"")
    assert _RAN == []


@pytest.mark.parametrize("error", ["ESRCH", "EMFILE"])
def test_a_worker_that_cannot_be_named_by_a_pidfd_is_never_killed_by_number(
        monkeypatch, tmp_path: Path, error: str) -> None:
    """``pidfd_open`` failing for a worker just forked (ESRCH: it had gone, with its zygote,
    and init reaped it; EMFILE: no descriptor to spare) is not a kernel without pidfds: the
    worker is not used, so nothing ever signals its number, which may be another program's.
    Before, any failure fell back to killing by number. A kernel without them (ENOSYS) or a
    container that forbids them (EPERM) still falls back, as the only way to stop one."""
    import errno
    import socket
    import threading

    from kg.web import zygote as zygote_module

    def refusing(code: int):  # pidfd_open failing with ``code``
        def refuse(pid: int) -> int:
            raise OSError(code, os.strerror(code))
        return refuse

    class Conn:  # the zygote's side of the channel, as it answers a fork
        def send(self, message: object) -> None:
            pass

        def poll(self, timeout: float) -> bool:
            return True

        def recv(self) -> tuple:
            return ("forked", 424242)

    ours, theirs = socket.socketpair()
    zygote = object.__new__(zygote_module.Zygote)
    zygote._lock, zygote.conn, zygote.channel, zygote.log = threading.Lock(), Conn(), ours, ""
    killed = []
    monkeypatch.setattr(os, "pidfd_open", refusing(getattr(errno, error)))
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    end = socket.socketpair()
    log = tmp_path / "worker.log"  # the server opens it, and hands it over with the socket
    log.touch()
    try:
        with pytest.raises((zygote_module.ZygoteFailed, OSError)):
            zygote.fork(end[0], str(log))
        for unsupported in (errno.ENOSYS, errno.EPERM):
            monkeypatch.setattr(os, "pidfd_open", refusing(unsupported))
            process = zygote.fork(end[0], str(log))
            assert process.pidfd is None
            process.kill()  # by number, as before pidfds
        assert killed == [424242, 424242]
    finally:
        for s in (ours, theirs, *end):
            s.close()


def test_a_query_whose_request_went_away_gives_its_worker_back(ox_engine, project) -> None:
    """A request cancelled while its query ran (a page's wait given up, the server
    stopping under it) took its worker with it: the worker was neither returned nor
    replaced, and with one worker every later query waited for nothing and was refused."""
    settings = Settings(workers=1, timeout=20, queue_wait=3)
    pool, loop = started(ox_engine.store, project.root, settings)
    endless = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    try:
        async def cancel_one_then_ask() -> object:
            asked = asyncio.ensure_future(pool.run(Job(endless, [JSON], {}), "gone"))
            await asyncio.sleep(0.5)  # the worker has it
            assert pool.status()["idle"] == 0
            asked.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asked
            return await pool.run(Job("ASK { ?s ?p ?o }", [JSON], {}), "next")

        answer = loop.run_until_complete(cancel_one_then_ask())
        assert answer.status == 200, answer.body
        assert pool.status()["workers"] == 1
    finally:
        loop.run_until_complete(pool.stop())
        loop.close()
