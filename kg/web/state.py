"""What every handler of the web layer shares: the settings, and the application's state.

Handlers are module-level functions that read ``request.app.state.kg`` (an
:class:`AppState`) through :func:`state_of`, so each can be tested alone with a
state built for the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kg.project import Project
from kg.queries import SavedQuery
from kg.store.oxigraph import OxigraphEngine
from kg.web.answers import AnswerCache
from kg.web.workers import Limits, MiB, QueryPool


@dataclass(frozen=True)
class Settings:
    """Everything ``kg serve`` can be told; the defaults suit a public deployment."""

    timeout: float = 10.0
    max_results: int = 10_000
    max_result_bytes: int = 16 * MiB
    max_worker_memory: int = 1024 * MiB
    max_request_bytes: int = 64 * 1024
    workers: int = 2
    per_client: int = 1
    max_queue: int = 16
    queue_wait: float = 5.0
    read_timeout: float = 10.0
    max_connections: int = 256
    base_url: str | None = None
    trusted_proxies: str = "127.0.0.1"
    allow_outbound_risk: bool = False
    cache_bytes: int = 64 * MiB
    #: a copy of the article: entity pages then quote each fact's unit (kg serve --article)
    article: str | None = None

    def limits(self) -> Limits:
        return Limits(
            timeout=self.timeout,
            max_results=self.max_results,
            max_bytes=self.max_result_bytes,
            max_memory=self.max_worker_memory,
            workers=self.workers,
            per_client=self.per_client,
            max_queue=self.max_queue,
            queue_wait=self.queue_wait,
            allow_outbound_risk=self.allow_outbound_risk,
        )


@dataclass
class AppState:
    project: Project
    settings: Settings
    pool: QueryPool
    engine: OxigraphEngine  # the main process's own store: fixed queries only, never a client's
    triples: int
    saved: dict[str, SavedQuery]
    base_url: str
    env: Any
    cache: dict[Any, Any] = field(default_factory=dict)
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))

    @property
    def endpoint(self) -> str:
        return self.base_url + "/sparql"

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed on first use and kept (pages that do not depend on the request)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

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
