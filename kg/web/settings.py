"""Everything ``kg serve`` can be told, declared once.

Each limit is one field of :class:`Settings` with its flag, unit, help and what 0
means (if 0 is allowed); the command line's options (``kg serve --help``), their
checks, the application's state and the query workers' limits all read this one
declaration, so a new limit is one entry here. Values are in the units the code uses
(seconds, bytes); ``scale`` is what one unit on the command line is worth (MiB for
``--max-worker-memory``).

>>> [f.flag for f in limits()][:3]
['--timeout', '--max-results', '--max-result-bytes']
>>> Settings().max_worker_memory == 1024 * MiB
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

MiB = 1024 * 1024


class Limit(NamedTuple):
    """How one field of :class:`Settings` is given on the command line."""

    name: str
    flag: str
    kind: type
    default: Any  # in command-line units
    metavar: str
    help: str
    scale: int  # what one command-line unit is worth in the field's unit
    zero: str | None  # what 0 means, when 0 is allowed

    def check(self, value: float) -> str | None:
        """Why ``value`` (command-line units) cannot work; None if it can."""
        if self.zero is None and value <= 0:
            return f"{self.flag} must be positive"
        if self.zero is not None and value < 0:
            return f"{self.flag} must be 0 ({self.zero}) or more"
        return None


def _plain(value: float) -> str:
    """``value`` as a person writes it: 16777216, 10, 0.5 (``:g`` gave 1.67772e+07)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _limit(default: float, flag: str, metavar: str, help: str, *, scale: int = 1,
           zero: str | None = None, size: bool = False) -> Any:  # fmt: skip
    """A limit's field, its option and help; ``size``: a number of bytes, whose default
    the help also gives in MiB (as the README does) when it is a whole number of them."""
    shown = _plain(default // scale if scale > 1 else default)
    if size and default % MiB == 0:
        shown += f" = {default // MiB} MiB"
    meta = {"flag": flag, "metavar": metavar, "scale": scale, "zero": zero,
            "help": f"{help} (default {shown}{'; 0: ' + zero if zero else ''})"}  # fmt: skip
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """What ``kg serve`` runs with; the defaults suit a public deployment on a small machine."""

    timeout: float = _limit(10.0, "--timeout", "S",
        "time limit of one query once a worker runs it, seconds; over: 503")  # fmt: skip
    max_results: int = _limit(10_000, "--max-results", "N",
        "most rows or triples one answer may have; over: 413")  # fmt: skip
    max_result_bytes: int = _limit(16 * MiB, "--max-result-bytes", "N",
        "largest answer in bytes; over: 413", size=True)  # fmt: skip
    max_worker_memory: int = _limit(1024 * MiB, "--max-worker-memory", "MIB",
        "memory a worker may use beyond its loaded store, MiB; over: 413", scale=MiB)  # fmt: skip
    max_request_bytes: int = _limit(64 * 1024, "--max-request-bytes", "N",
        "largest accepted request body or query string, bytes; over: 413/414")  # fmt: skip
    workers: int = _limit(2, "--workers", "N", "query worker processes")
    per_client: int = _limit(1, "--per-client", "N",
        "queries one client may have running or waiting, so one client never holds every "
        "worker; over: 429")  # fmt: skip
    max_queue: int = _limit(16, "--queue", "N", "queries that may wait for a worker; over: 503")
    queue_wait: float = _limit(5.0, "--queue-wait", "S",
        "longest wait for a free worker, seconds; over: 503")  # fmt: skip
    client_budget: float = _limit(30.0, "--client-budget", "S",
        "seconds of query time (and of page work in the server's threads) one client may "
        "use a minute; over: 429 with Retry-After",
        zero="no budget")  # fmt: skip
    read_timeout: float = _limit(10.0, "--read-timeout", "S",
        "time a client has to send a request's headers, and its body, seconds")  # fmt: skip
    max_connections: int = _limit(256, "--max-connections", "N",
        "open connections at once; over: 503")  # fmt: skip
    per_address_connections: int = _limit(32, "--per-address-connections", "N",
        "open connections from one client address at once (a --trusted-proxy is not "
        "counted); over: closed with 429")  # fmt: skip
    cache_bytes: int = _limit(64 * MiB, "--cache-bytes", "N",
        "answers kept for repeated queries, bytes; the graph is read-only while it is "
        "served, so a kept answer is always the current one", zero="no cache",
        size=True)  # fmt: skip
    base_url: str | None = None
    trusted_proxies: str = "127.0.0.1"
    allow_outbound_risk: bool = False
    #: a copy of the article: entity pages then quote each fact's unit (kg serve --article)
    article: str | None = None


def limits() -> list[Limit]:
    """The fields of :class:`Settings` given as command-line limits, in declaration order."""
    return [
        Limit(f.name, f.metadata["flag"], type(f.default), f.default // f.metadata["scale"],
              f.metadata["metavar"], f.metadata["help"], f.metadata["scale"], f.metadata["zero"])
        for f in fields(Settings) if "flag" in f.metadata
    ]  # fmt: skip


__all__ = ["Limit", "MiB", "Settings", "limits"]
