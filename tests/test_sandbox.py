"""The sandbox of query workers: a confined process cannot connect anywhere.

A listener on 127.0.0.1 records every connection it gets; confined processes
and real query workers are asked to connect to it (bypassing every text
check), and it must get none.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
from pathlib import Path

import pytest

from kg.web import sandbox
from kg.web.sandbox import SandboxUnavailable, confine

from .conftest import Listener


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


# -- the filter, read as the kernel reads it --------------------------------------


def run_bpf(program: list[tuple[int, int, int, int]], nr: int, arch: int, arg0: int,
            arg4: int = 0) -> int:
    """A classic-BPF interpreter for the few instructions the filter uses."""
    data = {0: nr, 4: arch, 16: arg0, 48: arg4 & 0xFFFFFFFF, 52: arg4 >> 32}
    acc, pc = 0, 0
    for _ in range(len(program) + 1):
        code, jt, jf, k = program[pc]
        if code == sandbox._LD_W_ABS:
            acc, pc = data[k], pc + 1
        elif code == sandbox._JEQ_K:
            pc += 1 + (jt if acc == k else jf)
        elif code == sandbox._JGE_K:
            pc += 1 + (jt if acc >= k else jf)
        elif code == sandbox._RET_K:
            return k
        else:
            raise AssertionError(f"unexpected BPF instruction {code:#x}")
    raise AssertionError("the filter did not return")


@pytest.mark.parametrize("machine", sorted(sandbox._ARCHES))
def test_the_filter_kills_every_way_to_a_network_socket(machine: str) -> None:
    arch = sandbox._ARCHES[machine]
    program = sandbox._program(arch)
    kill, allow = sandbox._RET_KILL_PROCESS, sandbox._RET_ALLOW

    def verdict(nr: int, arg0: int = 0, tag: int = arch["audit"], arg4: int = 0) -> int:
        return run_bpf(program, nr, tag, arg0, arg4)

    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_PACKET, socket.AF_NETLINK, 0):
        assert verdict(arch["socket"], family) == kill, family
    assert verdict(arch["socket"], socket.AF_UNIX) == allow
    assert verdict(arch["io_uring_setup"]) == kill
    assert verdict(arch["socket"] | sandbox._X32_BIT, socket.AF_INET) == kill
    assert verdict(arch["socket"], socket.AF_INET, tag=0x40000003) == kill  # i386
    assert verdict(0) == allow and verdict(1) == allow  # read, write
    assert verdict(arch["seccomp"]) == allow
    # no new connection of any kind, a Unix socket's included (a name lookup asks nscd first)
    assert verdict(arch["connect"], 3) == kill
    for name in ("sendmsg", "sendmmsg"):  # the address is behind a pointer: never allowed
        assert verdict(arch[name], 3) == kill, name
    for name in ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"):
        assert verdict(arch[name], 1) == kill, name  # nothing reaches into the server
    assert verdict(arch["sendto"], 3, arg4=0) == allow  # send() on the inherited pipe
    assert verdict(arch["sendto"], 3, arg4=0x7FFF_0000_1000) == kill  # an address named
    assert verdict(arch["sendto"], 3, arg4=0x1_0000_0000) == kill  # high half only


# -- a confined process, on this kernel -------------------------------------------


def _connect(order: tuple[str, ...], port: int, conn) -> None:
    try:
        conn.send(("confined", confine(order)))
    except SandboxUnavailable as e:
        conn.send(("unavailable", str(e)))
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    conn.send(("connect", s.connect_ex(("127.0.0.1", port))))


@pytest.mark.parametrize("mechanism", ["seccomp", "netns"])
def test_a_confined_process_cannot_connect(mechanism: str, listener: Listener) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_connect, args=((mechanism,), listener.port, child))
    proc.start()
    child.close()
    messages = []
    while parent.poll(20):
        try:
            messages.append(parent.recv())
        except EOFError:
            break
    proc.join(10)
    if messages and messages[0][0] == "unavailable":
        pytest.skip(f"{mechanism} cannot be applied on this machine: {messages[0][1]}")
    assert messages[0] == ("confined", mechanism)
    if mechanism == "seccomp":
        assert proc.exitcode == -sandbox.KILLED_BY  # killed at socket(), before any packet
        assert len(messages) == 1
    else:
        assert messages[1][0] == "connect" and messages[1][1] != 0
    assert listener.connections == 0


def _overreach(server: int, folder: str, conn) -> None:
    """Confined, try what a worker taken over would: write a file, run a program, signal
    the server, then reach into its memory (the last kills this process)."""
    import ctypes
    import os
    import subprocess

    conn.send(("confined", confine(("seccomp",))))
    for name, attempt in (
        ("write", lambda: open(os.path.join(folder, "planted.pth"), "w").close()),
        ("append", lambda: open(os.path.join(folder, "existing"), "a").close()),
        ("remove", lambda: os.unlink(os.path.join(folder, "existing"))),
        ("run", lambda: subprocess.run(["true"], check=False)),
        ("signal", lambda: os.kill(server, 0)),
        ("read", lambda: Path(folder, "existing").read_text()),
    ):
        try:
            attempt()
            conn.send((name, "done"))
        except OSError as e:
            conn.send((name, e.errno))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace(16, server, None, None)  # PTRACE_ATTACH: SIGSYS
    conn.send(("ptrace", "survived"))


def test_a_confined_process_writes_no_file_runs_nothing_and_leaves_the_server_alone(
        tmp_path: Path) -> None:
    """What a query worker taken over (a bug in the engine) could do beyond connecting,
    as the same user as the unconfined server: plant a file another program runs later,
    run a program, signal or trace the server. Landlock (Linux 5.13 and later; signals from
    its ABI 6) refuses the first ones, the seccomp filter kills the last; reading stays."""
    import errno
    import os

    if sandbox.landlock_abi() <= 0:
        pytest.skip("this kernel has no Landlock")
    (tmp_path / "existing").write_text("kept")
    said, proc = _told(_overreach, os.getpid(), str(tmp_path))
    if said.get("confined") != "seccomp":
        pytest.skip(f"seccomp cannot be applied here: {said}")
    refused = (errno.EACCES, errno.EPERM)
    assert said["write"] in refused and not (tmp_path / "planted.pth").exists()
    assert said["append"] in refused and said["remove"] in refused
    assert (tmp_path / "existing").read_text() == "kept"
    assert said["run"] in refused
    if sandbox.landlock_abi() >= 6:
        assert said["signal"] == errno.EPERM
    assert said["read"] == "done"
    assert "ptrace" not in said and proc.exitcode == -sandbox.KILLED_BY


def _told(target, *args) -> tuple[dict, multiprocessing.Process]:
    """Run ``target(*args, conn)`` in a spawned process; what it sent as (name, value)
    pairs until it ended (20 s between two at most), and the process, joined."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, child))
    proc.start()
    child.close()
    said = {}
    while parent.poll(20):
        try:
            name, value = parent.recv()
        except EOFError:
            break
        said[name] = value
    proc.join(10)
    return said, proc


def _metadata(folder: str, conn) -> None:
    """Confined, try in a child each what Landlock leaves alone: a file's mode (as root, a
    set-user-ID program for every local user), owner, times, extended attributes, and a new
    namespace; send how each child ended."""
    import ctypes
    import os

    conn.send(("confined", confine(("seccomp",))))
    target = os.path.join(folder, "existing")
    libc = ctypes.CDLL(None, use_errno=True)
    for name, attempt in (
        ("chmod", lambda: os.chmod(target, 0o4777)),
        ("chown", lambda: os.chown(target, os.getuid(), os.getgid())),
        ("utime", lambda: os.utime(target, (0, 0))),
        ("setxattr", lambda: os.setxattr(target, "user.kg", b"x")),
        ("unshare", lambda: libc.unshare(0x10000000)),  # CLONE_NEWUSER
    ):
        pid = os.fork()
        if pid == 0:
            try:
                attempt()
                os._exit(0)
            except OSError:
                os._exit(1)
        conn.send((name, os.waitpid(pid, 0)[1]))


def test_a_confined_process_changes_no_files_mode_owner_or_times(tmp_path: Path) -> None:
    """Landlock refuses writing a file, not changing its mode: a worker taken over, of a
    server run as root, chmod-ed /tmp from a confined process (and could have made any
    program set-user-ID); the seccomp filter kills each such call."""
    import os
    import signal

    target = tmp_path / "existing"
    target.write_text("kept")
    os.chmod(target, 0o600)
    said, _ = _told(_metadata, str(tmp_path))
    if said.get("confined") != "seccomp":
        pytest.skip(f"seccomp cannot be applied here: {said}")
    for name in ("chmod", "chown", "utime", "setxattr", "unshare"):
        status = said[name]
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, (name, status)
    assert target.stat().st_mode & 0o7777 == 0o600


def _beacon_child(mechanism: str) -> int:
    """In a mount namespace of its own, put a stand-in name-service daemon at nscd's socket,
    then let a confined grandchild look up a host and run a query naming one. 0: the daemon
    got no connection; 1: it got one; 77: this machine cannot set the test up."""
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    flags = 0x00020000 | (0 if os.getuid() == 0 else 0x10000000)  # CLONE_NEWNS (+ NEWUSER)
    if libc.unshare(flags) != 0:
        return 77
    ms_rec, ms_private = 0x4000, 1 << 18
    if (libc.mount(None, b"/", None, ms_rec | ms_private, None) != 0
            or libc.mount(b"none", os.path.realpath("/var/run").encode(), b"tmpfs", 0, None) != 0):
        return 77
    nscd = "/var/run/nscd/socket"  # glibc asks it first for any name
    try:
        os.makedirs(os.path.dirname(nscd), exist_ok=True)
        daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        daemon.bind(nscd)
        daemon.listen(16)
        daemon.setblocking(False)
    except OSError:
        return 77
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the grandchild leaves through os._exit
        try:
            confine((mechanism,))
        except SandboxUnavailable:
            os._exit(77)
        import pyoxigraph as ox

        with contextlib.suppress(OSError):
            socket.getaddrinfo("kg-beacon.example", 80)
        with contextlib.suppress(Exception):
            list(ox.Store().query("SELECT * { SERVICE <http://kg-beacon.example/q> { ?s ?p ?o } }"))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 77:
        return 77
    try:
        daemon.accept()
    except BlockingIOError:
        return 0
    return 1


@pytest.mark.parametrize("mechanism", ["seccomp", "netns"])
def test_a_local_name_service_daemon_is_never_reached(mechanism: str) -> None:
    """A host name in a query must not reach a lookup daemon on a Unix socket (nscd, …):
    that would carry the name out, a DNS beacon, before the worker is stopped."""
    import os

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        code = 77
        try:
            code = _beacon_child(mechanism)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    if code == 77:
        pytest.skip(f"cannot build a mount namespace or apply {mechanism} here")
    assert code == 0, f"the stand-in daemon was reached from a {mechanism}-confined process"


def test_no_mechanism_is_an_error_naming_each_one() -> None:
    with pytest.raises(SandboxUnavailable, match="no mechanism enabled"):
        confine(())
    with pytest.raises(SandboxUnavailable, match="carrier-pigeon: unknown"):
        confine(("carrier-pigeon",))


# -- real query workers, asked directly (no text check in the way) ----------------


@pytest.fixture(scope="module")
def pool(project):
    from kg.store.loading import cached_ntriples
    from kg.web.settings import Settings
    from kg.web.workers import QueryPool

    loop = asyncio.new_event_loop()
    p = QueryPool(cached_ntriples(project), project.root,
                  Settings(workers=1, timeout=20, max_results=500, max_result_bytes=50_000))
    loop.run_until_complete(p.start())
    p.loop = loop
    yield p
    loop.run_until_complete(p.stop())
    loop.close()


def ask(pool, text: str, accept: str = "application/sparql-results+json"):
    from kg.web.workers import Job

    return pool.loop.run_until_complete(pool.run(Job(text, [accept], {}), "test"))


@pytest.mark.parametrize("template", [
    "SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "ASK {{ ?s ?p ?o FILTER EXISTS {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
    # '<' after an operand is less-than, so a text scan that takes '<?o||…#>' for an IRI misses
    # the keyword; the comment then hides the '>'
    "PREFIX : <{url}> SELECT * {{ BIND(1 AS ?o) FILTER(?o<?o||true)SERVICE SILENT:x#>\n"
    "{{ ?s ?p ?x }} }}",
    "SELECT * {{ SERVICE SILENT <http://localhost:{port}/> {{ ?s ?p ?o }} }}",
])
def test_a_worker_never_connects_whatever_the_query(template: str, pool, listener) -> None:
    text = template.format(url=listener.url, port=listener.port)
    answer = ask(pool, text)
    assert answer.status == 403, answer.body
    assert b"tried to open a network connection" in answer.body
    assert listener.connections == 0
    # the killed worker was replaced: the pool keeps answering
    assert ask(pool, "ASK { ?s ?p ?o }").status == 200
    assert pool.status()["sandbox"] in ("seccomp", "netns")


def test_caps_stop_a_worker_early_and_it_is_replaced(pool) -> None:
    answer = ask(pool, "SELECT ?s { ?s ?p ?o }")
    assert answer.status == 413 and b"more than 500 rows" in answer.body
    answer = ask(pool, "SELECT (GROUP_CONCAT(STR(?s)) AS ?all) { ?s ?p ?o }")  # one large row
    assert answer.status == 413 and b"larger than 50000 bytes" in answer.body
    assert ask(pool, "ASK { ?s ?p ?o }").status == 200


def test_an_error_longer_than_an_answer_may_be_is_still_its_error(pool) -> None:
    # a syntax error quotes the query's line (twice its length): past the byte cap and its
    # slack, the server took the frame for a broken worker's and answered 500 after 5 s
    text = 'SELECT * { ?s ?p "' + "a" * 600_000 + '" . ) }'
    answer = ask(pool, text)
    assert answer.status == 400 and answer.body.startswith(b"invalid SPARQL"), answer.body[:80]
    assert len(answer.body) < 1024 * 1024
    assert ask(pool, "ASK { ?s ?p ?o }").status == 200


def test_worker_crashes_are_reported_as_what_they_were(pool) -> None:
    deep = "SELECT * " + "{" * 20_000 + "}" * 20_000  # the parser's recursion overflows
    answer = ask(pool, deep)
    assert answer.status == 400 and b"stack overflow" in answer.body
    assert ask(pool, "ASK { ?s ?p ?o }").status == 200


def test_memory_limit_is_reported_as_memory(project) -> None:
    from kg.store.loading import cached_ntriples
    from kg.web.settings import Settings
    from kg.web.workers import Job, QueryPool

    async def go():
        p = QueryPool(cached_ntriples(project), project.root,
                      Settings(workers=1, timeout=30, max_worker_memory=64 * 1024 * 1024))
        await p.start()
        try:
            text = ('SELECT (STRLEN(GROUP_CONCAT(CONCAT(STR(?s), STR(?o), STR(?x))))'
                    ' AS ?n) { ?s ?p ?o . ?x ?y ?z }')
            return await p.run(Job(text, ["application/sparql-results+json"], {}))
        finally:
            await p.stop()

    answer = asyncio.run(go())
    assert answer.status == 413 and b"MiB of memory" in answer.body


def test_workers_refuse_to_start_unconfined(project, monkeypatch) -> None:
    from kg.store.loading import cached_ntriples
    from kg.web.settings import Settings
    from kg.web.workers import QueryPool

    monkeypatch.setenv("KG_SANDBOX_MECHANISMS", "")
    p = QueryPool(cached_ntriples(project), project.root, Settings(workers=1))
    with pytest.raises(SandboxUnavailable, match="no mechanism enabled"):
        asyncio.run(p.start())


# -- the fair share of workers, by the rules alone (a clock of our own) -------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_over_its_budget_waits_for_it_to_drain() -> None:
    from kg.web.workers import Fairness

    clock = Clock()
    fair = Fairness(budget=30.0, clock=clock)  # 30 s a minute: drains 0.5 s a second
    fair.spent("a", "q", 29.0)
    assert fair.over_budget("a") == 0.0
    fair.spent("a", "q", 3.0)  # 32 s used: 2 s over
    assert fair.over_budget("a") == pytest.approx(4.0)
    clock.now += 4.0
    assert fair.over_budget("a") == 0.0
    assert fair.over_budget("b") == 0.0  # others are not charged
    assert Fairness(budget=0.0, clock=clock).over_budget("a") == 0.0  # 0: no budget


def test_long_queries_are_known_by_their_client_or_their_text() -> None:
    from kg.web.workers import ABOUT, QUICK, Fairness

    clock = Clock()
    fair = Fairness(budget=30.0, clock=clock)
    assert not fair.is_long("a", "heavy")
    fair.spent("a", "heavy", 3.0)
    assert fair.is_long("a", "light") and fair.is_long("b", "heavy")  # the client; the text
    assert not fair.is_long("b", "light")
    clock.now += (3.0 - QUICK) / fair.rate + 0.1  # the bucket drained below QUICK
    assert not fair.is_long("a", "light")
    fair.asked("a")
    assert fair.others_about("b") and not fair.others_about("a")
    clock.now += ABOUT + 1
    assert not fair.others_about("b")


@pytest.mark.parametrize("budget", [30.0, 0.0])
def test_clients_that_only_use_pages_are_forgotten_once_drained(budget: float) -> None:
    """A client's page work is charged to its bucket (``charge``) without it ever asking a
    query (``asked``, which alone forgot clients): 20,000 addresses that each fetched a
    page were all kept, a bucket each, for good; with no budget (0) their buckets did not
    even drain. Now a drained bucket is forgotten, and with no budget buckets drain as
    they would at the default one (30 s a minute), as the quick lane still reads them."""
    from kg.web.workers import QUICK, Fairness

    clock = Clock()
    fair = Fairness(budget=budget, clock=clock)
    for i in range(20_000):
        clock.now += 0.01
        fair.charge(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", 0.002)
    assert len(fair.used) <= 4096, len(fair.used)
    fair.charge("heavy", 2 * QUICK)
    assert fair.level("heavy") == pytest.approx(2 * QUICK)  # a live bucket is kept
    assert fair.is_long("heavy", "q")
    clock.now += 2 * QUICK / 0.5 + 0.1  # drains at 0.5 s a second, budget or none
    assert not fair.is_long("heavy", "q") and fair.over_budget("heavy") == 0.0


def test_a_long_query_never_takes_the_last_idle_worker_while_others_are_about() -> None:
    from kg.web.workers import QueryPool

    async def go() -> list[str]:
        pool = QueryPool(Path("unused.nt"), Path("."))
        pool._loop, pool._idle = asyncio.get_running_loop(), ["w1"]
        pool.fair.asked("victim")
        got = []

        async def take(client: str, long: bool) -> None:
            worker = await pool._acquire(client, long)
            got.append(f"{client}:{worker}")

        heavy = asyncio.ensure_future(take("abuser", True))
        await asyncio.sleep(0.05)
        assert not got  # waiting: the one idle worker is the quick lane
        await take("victim", False)  # a quick query passes it
        pool._release("w2")  # one worker idle again: still the lane
        await asyncio.sleep(0.05)
        assert len(got) == 1
        pool._release("w1")  # two idle: the long query may have one
        await heavy
        return got

    assert asyncio.run(go()) == ["victim:w1", "abuser:w1"]


def test_a_quick_query_stops_a_new_clients_long_one_when_every_worker_runs_one(pool) -> None:
    """The one case the lane cannot cover: a new client's first long query (not yet known
    as long) holds every worker; a quick query that has waited PREEMPT_AFTER stops it."""
    from kg.web.workers import PREEMPT_AFTER, Job

    explosive = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"

    async def go():
        heavy = asyncio.ensure_future(pool.run(Job(explosive, ["text/csv"], {}), "new-client"))
        await asyncio.sleep(0.3)
        start = asyncio.get_running_loop().time()
        quick = await pool.run(Job("ASK { BIND(7 AS ?q) }", ["text/csv"], {}), "quick-client")
        return await heavy, quick, asyncio.get_running_loop().time() - start

    heavy, quick, waited = pool.loop.run_until_complete(go())
    assert heavy.status == 503 and b"give a quick query its turn" in heavy.body
    assert quick.status == 200
    assert waited >= PREEMPT_AFTER - 0.3  # it did wait its turn first (20 s time limit here)
