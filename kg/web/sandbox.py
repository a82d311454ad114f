"""Confine a process so that it cannot open a network connection at all.

``kg serve`` runs every client's query in a worker process. pyoxigraph
evaluates ``SERVICE <url>`` with an HTTP request of its own and has no switch
to turn that off, so the rule "a query never makes the server connect
anywhere" is enforced where the connection would be made: in the kernel, at
the start of each worker, before it reads a query (workers are forked from a zygote
that confined itself before forking any: :mod:`kg.web.zygote`).

Mechanisms, tried in this order (:func:`confine`):

``seccomp``
    A seccomp filter (Linux ≥ 4.14, x86-64 or AArch64; no privileges needed
    once ``no_new_privs`` is set) that kills the process the moment it calls
    ``socket()`` for any address family but ``AF_UNIX``, ``connect()`` of any
    family (a Unix socket too: a name lookup first asks a local daemon such as
    nscd over one, which would carry an attacker's host name out), ``sendto()``
    naming an address, ``sendmsg()``/``sendmmsg()`` (their address sits behind a
    pointer the filter cannot read, and a worker never needs them), or
    ``io_uring_setup`` (io_uring can open sockets without those calls), or makes
    a system call through another ABI (x32, i386). The worker needs no new
    connection of any kind: it talks to the server over the socket pair it
    inherits, with ``read``/``write``. Being killed, rather than getting an
    error, is what lets the server tell *exactly* which query tried to connect
    — ``SERVICE SILENT`` would swallow an error — and answer it with 403: the
    worker's exit signal is ``SIGSYS`` (:data:`KILLED_BY`).
``netns``
    A new, empty network namespace (``unshare(CLONE_NEWNET)``, inside a new
    user namespace when not root): the process keeps ``socket()`` but has no
    interface but a loopback that is down, so every connection fails. Unix
    sockets named by a path are not the network namespace's, so it also gets
    a mount namespace of its own with an empty ``/run`` (``/var/run``) and
    ``/var/lib/sss``: the name-service daemons' sockets (nscd,
    systemd-resolved, D-Bus, avahi, sssd) are not there to connect to.

If neither can be applied (another operating system, a container that forbids
both), :func:`confine` raises :class:`SandboxUnavailable` and ``kg serve``
refuses to start unless it is given ``--allow-outbound-risk``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal
import socket
from typing import Any

#: the signal a seccomp-confined worker dies of when a query tries to connect
KILLED_BY = signal.SIGSYS


class SandboxUnavailable(RuntimeError):
    """No mechanism could confine this process; the message says what was tried."""


# -- seccomp ----------------------------------------------------------------------

# <linux/audit.h>, <asm/unistd.h>: per architecture, the audit tag and the numbers
# of the system calls the filter looks at.
_ARCHES = {
    "x86_64": {
        "audit": 0xC000003E, "socket": 41, "connect": 42, "sendto": 44, "sendmsg": 46,
        "sendmmsg": 307, "io_uring_setup": 425, "seccomp": 317, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
        "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93, "lchown": 94,
        "fchownat": 260, "fchmodat": 268, "fchmodat2": 452, "utime": 132, "utimes": 235,
        "futimesat": 261, "utimensat": 280, "setxattr": 188, "lsetxattr": 189,
        "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
        "setxattrat": 463, "removexattrat": 466, "unshare": 272, "setns": 308,
        "reboot": 169, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "kexec_load": 246, "kexec_file_load": 320,
    },
    "aarch64": {
        "audit": 0xC00000B7, "socket": 198, "connect": 203, "sendto": 206, "sendmsg": 211,
        "sendmmsg": 269, "io_uring_setup": 425, "seccomp": 277, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
        "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55, "fchmodat2": 452,
        "utimensat": 88, "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14,
        "lremovexattr": 15, "fremovexattr": 16, "setxattrat": 463, "removexattrat": 466,
        "unshare": 97, "setns": 268, "reboot": 142, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
    },
}  # fmt: skip
#: system calls killed whatever their arguments: the network's; those that reach into
#: another process (the server runs as the same user, unconfined); those that change a
#: file's mode, owner, times or extended attributes, which Landlock leaves alone (a worker
#: of a server run as root could make any program set-user-ID, any file writable by all);
#: new namespaces; and what a root process could do to the machine itself (reboot it, load
#: kernel code). A worker needs none of them; an architecture without one (aarch64 has no
#: ``chmod``, only ``fchmodat``) skips it
_ALWAYS_KILLED = ("connect", "sendmsg", "sendmmsg", "io_uring_setup", "ptrace",
                  "process_vm_readv", "process_vm_writev", "pidfd_getfd",
                  "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
                  "fchownat", "utime", "utimes", "futimesat", "utimensat", "setxattr",
                  "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
                  "setxattrat", "removexattrat", "unshare", "setns", "reboot",
                  "init_module", "finit_module", "delete_module", "kexec_load",
                  "kexec_file_load")
_X32_BIT = 0x40000000  # x86-64 system calls made through the x32 ABI carry this bit

# classic BPF, as <linux/filter.h> and <linux/seccomp.h> define it
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1  # every thread of the process, not only the caller
# offsets into struct seccomp_data: nr, arch, then args[6] of 64 bits from 16 (little-endian
# on both architectures, so an argument's low half comes first)
_NR, _ARCH, _ARG0 = 0, 4, 16
_ARG4_LOW, _ARG4_HIGH = 16 + 4 * 8, 16 + 4 * 8 + 4


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _assemble(lines: list[tuple]) -> list[tuple[int, int, int, int]]:
    """Classic BPF from lines ``(code, k)``, ``(code, k, true, false)`` (labels, or None for
    the next instruction) and ``("label", name)``; jumps only go forward."""
    labels, count = {}, 0
    for line in lines:
        if line[0] == "label":
            labels[line[1]] = count
        else:
            count += 1
    out: list[tuple[int, int, int, int]] = []
    for line in lines:
        if line[0] == "label":
            continue
        code, k, *jumps = line
        here = len(out)
        jt, jf = (0 if j is None else labels[j] - here - 1 for j in (jumps or (None, None)))
        out.append((code, jt, jf, k))
    return out


def _program(arch: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """The filter: (code, jump-if-true, jump-if-false, constant); jumps skip forward."""
    return _assemble([
        (_LD_W_ABS, _ARCH),
        (_JEQ_K, arch["audit"], None, "kill"),  # another ABI (i386 on x86-64) → kill
        (_LD_W_ABS, _NR),
        (_JGE_K, _X32_BIT, "kill", None),  # the x32 ABI → kill
        (_JEQ_K, arch["socket"], "socket", None),
        (_JEQ_K, arch["sendto"], "sendto", None),
        *((_JEQ_K, arch[name], "kill", None) for name in _ALWAYS_KILLED if name in arch),
        (_RET_K, _RET_ALLOW),
        ("label", "socket"),  # socket(family, …): a Unix socket only
        (_LD_W_ABS, _ARG0),
        (_JEQ_K, socket.AF_UNIX, "allow", "kill"),
        ("label", "sendto"),  # sendto(fd, buf, len, flags, dest_addr, addrlen): no dest_addr
        (_LD_W_ABS, _ARG4_LOW),
        (_JEQ_K, 0, None, "kill"),
        (_LD_W_ABS, _ARG4_HIGH),
        (_JEQ_K, 0, "allow", "kill"),
        ("label", "allow"),
        (_RET_K, _RET_ALLOW),
        ("label", "kill"),
        (_RET_K, _RET_KILL_PROCESS),
    ])  # fmt: skip


def _seccomp() -> None:
    if platform.system() != "Linux":
        raise OSError(f"seccomp is Linux only (this is {platform.system()})")
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        raise OSError(f"no seccomp filter written for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    rules = _program(arch)
    array = (_SockFilter * len(rules))(*(_SockFilter(*r) for r in rules))
    prog = _SockFprog(len(rules), array)
    if (
        libc.syscall(
            arch["seccomp"],
            _SECCOMP_SET_MODE_FILTER,
            _SECCOMP_FILTER_FLAG_TSYNC,
            ctypes.byref(prog),
        )
        != 0
    ):
        code = ctypes.get_errno()
        raise OSError(code, f"seccomp(): {os.strerror(code)}")


# -- Landlock: no file written, no program run, no signal out -------------------

_LANDLOCK_CREATE_RULESET, _LANDLOCK_RESTRICT_SELF = 444, 446  # one numbering, every arch
_LANDLOCK_CREATE_RULESET_VERSION = 1
#: file-system rights a confined process loses, by the Landlock ABI that knows them: write
#: or truncate a file, make or remove anything, link across folders, run a program, ioctl
#: on a device. Reading stays (the zygote reloads the graph file)
_LANDLOCK_FS = ((1, 0b1_1111_1111_0011), (2, 1 << 13), (3, 1 << 14), (5, 1 << 15))
_LANDLOCK_NET = (4, 0b11)  # bind and connect TCP
_LANDLOCK_SCOPED = (6, 0b11)  # abstract Unix sockets and signals outside the domain


class _LandlockRuleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (another system, Linux before
    5.13, or Landlock not enabled)."""
    if platform.system() != "Linux":
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    return max(0, int(libc.syscall(_LANDLOCK_CREATE_RULESET, None, 0,
                                   _LANDLOCK_CREATE_RULESET_VERSION)))


def landlock() -> int:
    """Take from this process, and every process it forks, what no worker needs and an
    attacker who took one over would want (Linux 5.13 and later, unprivileged): writing,
    making or removing any file (a line added to a shell's profile or a ``.pth`` file would
    run unconfined later), running a program, and, where the kernel knows them (Landlock ABI
    4 and 6), TCP connections and signals to processes outside its domain (the server).
    Reading stays. Its Landlock ABI, or 0 when the kernel has none (nothing done: the
    network confinement does not rest on it)."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    attr = _LandlockRuleset(
        sum(bits for since, bits in _LANDLOCK_FS if abi >= since),
        _LANDLOCK_NET[1] if abi >= _LANDLOCK_NET[0] else 0,
        _LANDLOCK_SCOPED[1] if abi >= _LANDLOCK_SCOPED[0] else 0,
    )
    size = 24 if abi >= _LANDLOCK_SCOPED[0] else 16 if abi >= _LANDLOCK_NET[0] else 8
    fd = libc.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"landlock_create_ruleset(): {os.strerror(code)}")
    try:  # no rule added: every right handled is refused everywhere
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, fd, 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_restrict_self(): {os.strerror(code)}")
    finally:
        os.close(fd)
    return int(abi)


# -- network namespace ----------------------------------------------------------

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
#: where the name-service daemons listen on Unix sockets (nscd, systemd-resolved, D-Bus,
#: avahi under /run; sssd under /var/lib/sss): emptied for a netns-confined process
HIDDEN = ("/run", "/var/run", "/var/lib/sss")
#: the socket glibc asks first for any name lookup (nscd's)
NSCD_SOCKET = "/var/run/nscd/socket"


def _netns() -> None:
    if platform.system() != "Linux":
        raise OSError(f"network namespaces are Linux only (this is {platform.system()})")
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = _CLONE_NEWNET | _CLONE_NEWNS | (0 if uid == 0 else _CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare(): {os.strerror(code)}")
    if uid != 0:  # keep the same identity inside the new user namespace
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing leaks back to the host
    done: set[str] = set()
    for path in HIDDEN:
        real = os.path.realpath(path)
        if real in done or not os.path.isdir(real):
            continue
        _mount(libc, "none", real, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "size=64k")
        done.add(real)


def _mount(
    libc: ctypes.CDLL,
    source: str | None,
    target: str,
    kind: str | None,
    flags: int,
    data: str | None = None,
) -> None:
    def arg(value: str | None) -> bytes | None:
        return None if value is None else value.encode()

    if libc.mount(arg(source), arg(target), arg(kind), flags, arg(data)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount({target}): {os.strerror(code)}")


# -- checks ---------------------------------------------------------------------


def _verify(mechanism: str) -> None:
    """Fail unless this process really cannot reach the network."""
    if mechanism == "netns":
        names = [name for _, name in socket.if_nameindex()]
        if names != ["lo"]:
            raise OSError(f"the new network namespace has interfaces {names}")
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.settimeout(1)
            code = probe.connect_ex(("127.0.0.1", 9))
        finally:
            probe.close()
        if code not in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            raise OSError(f"a test connection in the new namespace gave {os.strerror(code)}")
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            code = local.connect_ex(NSCD_SOCKET)
        finally:
            local.close()
        if code != errno.ENOENT:
            raise OSError(f"{NSCD_SOCKET} is still reachable ({os.strerror(code)})")


MECHANISMS = {"seccomp": _seccomp, "netns": _netns}


def configured() -> tuple[str, ...]:
    """The mechanisms to try: ``$KG_SANDBOX_MECHANISMS`` (comma-separated), else all."""
    value = os.environ.get("KG_SANDBOX_MECHANISMS")
    if value is None:
        return tuple(MECHANISMS)
    return tuple(m.strip() for m in value.split(",") if m.strip())


def confine(order: tuple[str, ...] | None = None) -> str:
    """Make this process unable to open a network connection; returns the mechanism used.

    ``order``: the mechanisms to try, first that works wins (default
    :func:`configured`). Call it in a fresh, single-threaded process (a
    worker, before it reads any query): it cannot be undone. Raises
    :class:`SandboxUnavailable` naming what each mechanism answered when none
    could be applied.
    """
    order = configured() if order is None else order
    if not order:
        raise SandboxUnavailable("no mechanism enabled (KG_SANDBOX_MECHANISMS is empty)")
    failures = []
    for name in order:
        if name not in MECHANISMS:
            failures.append(f"{name}: unknown (choose from {', '.join(MECHANISMS)})")
            continue
        try:
            MECHANISMS[name]()
            _verify(name)
        except OSError as e:
            failures.append(f"{name}: {e}")
            continue
        landlock()  # on top, where the kernel has it
        return name
    raise SandboxUnavailable("; ".join(failures))


def probe(conn: Any) -> None:
    """In a throw-away process: confine it, and send ``("ok", mechanism)`` or
    ``("failed", why)`` over ``conn`` (``kg serve`` asks before it loads anything)."""
    try:
        conn.send(("ok", confine()))
    except SandboxUnavailable as e:
        conn.send(("failed", str(e)))


def describe_exit(exitcode: int | None) -> str:
    """A process's exit status in words (``-31`` → ``'signal SIGSYS'``)."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


__all__ = [
    "KILLED_BY",
    "MECHANISMS",
    "SandboxUnavailable",
    "configured",
    "confine",
    "describe_exit",
    "probe",
]
