"""One loaded store for every query worker: a confined *zygote* process forks them.

Before this, each worker loaded its own copy of the store, and the server a third
(issue 26: 1.95–2.10 GiB at 1,000 synthetic pairs against the Oxigraph server's
0.62 GiB). Now the server forks one process, the zygote, from itself right after it
loaded the store and before it starts any thread (``kg serve``); the zygote
confines itself (:func:`kg.web.sandbox.confine`: the seccomp filter and the network
and mount namespaces are inherited by every process it forks, and cannot be undone
by them), closes every descriptor it inherited, and from then on only forks workers
when the server asks. A worker is a fork of the zygote: its pages are the zygote's,
shared copy-on-write with the server and every other worker, so serving holds one
copy of the store whatever ``--workers`` is, and a worker that grew past its memory
budget is replaced by a new fork in milliseconds, not by a reload.

Given no loaded store (a pool built from a file alone, as tests do), the zygote is a
fresh interpreter that confines itself and loads the file.

The server talks to the zygote over a Unix socket pair: it creates each worker's
socket pair itself and passes one end with ``SCM_RIGHTS`` (the zygote receives with
``recvmsg``; a confined process may not ``sendmsg``); the zygote answers with the
worker's pid, and, when asked, with how a worker ended (only the zygote, its parent,
can wait for it). Workers are killed by the server directly (same user).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kg.web.sandbox import SandboxUnavailable
from kg.web.settings import Settings

_PR_SET_PDEATHSIG = 1


def log_tail(path: str | Path, lines: int = 5) -> str:
    """The last ``lines`` of a process's log, on one line (for an error message)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " / ".join(text.strip().splitlines()[-lines:])


class ZygoteFailed(RuntimeError):
    """The zygote could not be started, or has gone; the message says why."""


def _die_with_parent() -> None:
    """Be killed when the process that forked this one ends (no orphaned workers)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _log_to(log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 2)  # the server reads the last lines when a process dies
    os.dup2(fd, 1)
    os.close(fd)


#: what a forked worker runs: ``serve(conn, store, limits, mechanism)`` (the pool's
#: :func:`kg.web.workers.worker_main`: its memory cap, then jobs until told to stop)
Serve = Callable[[Connection, Any, Settings, str], None]


def _zygote_main(conn: Connection, nt_path: str, limits: Settings, root: str, log: str,
                 serve: Serve, store: Any = None) -> None:  # fmt: skip
    """The zygote: confine itself, load the store if not given one, then fork workers."""
    from kg.web.sandbox import confine

    os.environ["RUST_BACKTRACE"] = "0"  # an abort's cause is its first line; keep logs short
    _log_to(log)
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops it (Ctrl-C reaches all)
    try:
        mechanism = confine()
    except SandboxUnavailable as e:
        if not limits.allow_outbound_risk:
            conn.send(("refused", str(e)))
            return
        mechanism = f"none ({e})"
    os.environ["KG_ROOT"] = root  # graph results need the project's JSON-LD context
    if store is None:
        import pyoxigraph as ox

        store = ox.Store()
        store.load(path=nt_path, format=ox.RdfFormat.N_TRIPLES)
    gc.freeze()  # what exists now is never collected: its pages stay shared with the workers
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=os.dup(conn.fileno()))
    conn.send(("ready", mechanism))
    ended: dict[int, int] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "fork":
            # its end of the socket pair, and its log opened by the server: confined, this
            # process may open no file for writing (kg.web.sandbox.landlock)
            _, fds, _, _ = socket.recv_fds(channel, 1, 2)
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the worker leaves through os._exit
                code = 1
                try:
                    conn.close()
                    channel.close()
                    for fd in (2, 1):
                        os.dup2(fds[1], fd)  # the server reads the last lines when it dies
                    os.close(fds[1])
                    _die_with_parent()
                    serve(Connection(fds[0]), store, limits, mechanism)
                    code = 0
                finally:
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            conn.send(("forked", pid))
        elif message[0] == "wait":
            conn.send(("ended", _wait(message[1], message[2], ended)))


def _wait(pid: int, timeout: float, ended: dict[int, int]) -> int | None:
    """How worker ``pid`` ended, as multiprocessing says it (``-signal`` or the exit
    status); None if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pid not in ended:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return ended.get(pid)
        if done:
            ended[pid] = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)
    return ended.pop(pid)


def _forked_zygote(conn: Connection, keep: int, *args: Any) -> None:  # pragma: no cover
    """In the child of the server's fork: drop every descriptor but the zygote's own
    channel (the listening socket, the event loop's, clients' connections …), then run."""
    code = 1
    try:
        gc.freeze()  # nothing inherited is ever finalised: no close() of a reused number
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_DFL)
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        _zygote_main(conn, *args)
        code = 0
    finally:
        os._exit(code)


class Zygote:
    """The server's handle on the zygote: fork a worker, wait for one, stop."""

    def __init__(
        self, nt_path: Path, root: Path, limits: Settings, serve: Serve, store: Any = None
    ) -> None:
        fd, self.log = tempfile.mkstemp(prefix="kg-zygote-", suffix=".log")
        os.close(fd)
        self._lock = threading.Lock()
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        args = (str(nt_path), limits, str(root), self.log, serve)
        self.process: Any = None
        if store is not None:
            self.pid = os.fork()
            if self.pid == 0:  # pragma: no cover - leaves through os._exit
                _forked_zygote(theirs, theirs.fileno(), *args, store)
        else:
            self.process = ctx.Process(target=_zygote_main, args=(theirs, *args), daemon=True)
            self.process.start()
            self.pid = self.process.pid
        theirs.close()
        self.conn = ours
        self.channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM,
                                     fileno=os.dup(ours.fileno()))  # fmt: skip
        try:
            message = ours.recv() if ours.poll(300) else None
        except (EOFError, OSError):
            message = None
        if not message or message[0] != "ready":
            self.stop()
            if message and message[0] == "refused":
                raise SandboxUnavailable(message[1])
            raise ZygoteFailed(f"the query workers' zygote did not start: {self.tail()}")
        self.mechanism: str = message[1]

    def tail(self, lines: int = 5) -> str:
        return log_tail(self.log, lines)

    def fork(self, end: socket.socket, log: str) -> ForkedProcess:
        """A new worker that talks over ``end`` (a socket pair's end) and logs to ``log``."""
        with self._lock:
            try:
                logfd = os.open(log, os.O_WRONLY | os.O_APPEND)
                try:
                    self.conn.send(("fork",))
                    socket.send_fds(self.channel, [b"w"], [end.fileno(), logfd])
                finally:
                    os.close(logfd)
                message = self.conn.recv() if self.conn.poll(60) else None
            except (EOFError, OSError) as e:
                why = f"the query workers' zygote has gone ({e}): {self.tail()}"
                raise ZygoteFailed(why) from e
            if not message or message[0] != "forked":
                raise ZygoteFailed(f"the query workers' zygote did not fork: {self.tail()}")
            # named for good while the pid is surely the worker's: the zygote reaps a worker
            # only when asked to wait for it, and every ask holds this lock
            pid = int(message[1])
            try:
                return ForkedProcess(self, pid, _pidfd(pid))
            except ProcessLookupError as e:  # it died with its zygote; init reaped it
                raise ZygoteFailed(f"the query workers' zygote has gone: {self.tail()}") from e

    def wait(self, pid: int, timeout: float) -> int | None:
        """How worker ``pid`` ended (``-signal`` or exit status); None if still running."""
        with self._lock:
            try:
                self.conn.send(("wait", pid, timeout))
                message = self.conn.recv() if self.conn.poll(timeout + 10) else None
            except (EOFError, OSError):
                return None
        return message[1] if message else None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()
        with contextlib.suppress(OSError):
            self.conn.close()  # the zygote ends at the end of its channel
        if self.process is not None:
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2)
        else:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    if os.waitpid(self.pid, os.WNOHANG)[0]:
                        break
                    time.sleep(0.01)
                    continue
                break
            else:
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.unlink(self.log)


#: what ``pidfd_open`` fails with where there are no pidfds: a kernel before 5.3 (or
#: without the anonymous inode filesystem), a container's seccomp profile that forbids it
_NO_PIDFDS = (errno.ENOSYS, errno.ENODEV, errno.EPERM, errno.EACCES)


def _pidfd(pid: int) -> int | None:
    """A descriptor naming process ``pid`` itself (Linux 5.3 and later), or None where
    there are none. Raises OSError for any other failure (``ProcessLookupError``: gone;
    EMFILE: no descriptor to spare): a process that could not be named must not be used,
    as falling back to its number is what pidfds are for avoiding."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)  # type: ignore[no-any-return]
    except OSError as e:
        if e.errno in _NO_PIDFDS:
            return None
        raise


class ForkedProcess:
    """A worker forked by the zygote, seen like a multiprocessing process: ``kill``,
    ``join``, ``exitcode``, ``is_alive``.

    It is killed through a pidfd (``pidfd``), not its number. A worker is the zygote's
    child, not the server's: once the zygote died, its workers were reaped by init and
    their numbers were free for any process, and a server killing "its" worker by number
    (it cannot learn that the worker ended) could kill another program of the same user;
    pids run only to 32,768 on many machines. Without pidfds, by number, as before."""

    def __init__(self, zygote: Zygote, pid: int, pidfd: int | None = None) -> None:
        self.zygote, self.pid, self.pidfd = zygote, pid, pidfd
        self.exitcode: int | None = None
        self.named = pidfd is not None  # killed through its pidfd only, even once closed

    def kill(self) -> None:
        if self.exitcode is not None or (self.named and self.pidfd is None):
            return  # once reaped (or let go of), the pid may be another process's
        with contextlib.suppress(OSError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        if self.exitcode is None:
            self.exitcode = self.zygote.wait(self.pid, 30.0 if timeout is None else timeout)
            if self.exitcode is not None:
                self.release()

    def is_alive(self) -> bool:
        self.join(0)
        return self.exitcode is None

    def release(self) -> None:
        """Close the pidfd: the worker is done with, and is never signalled again."""
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = None


__all__ = ["ForkedProcess", "Zygote", "ZygoteFailed"]
