"""A polite client for the Wikidata API (wbsearchentities, wbgetentities).

Follows Wikimedia's rules for API clients: a descriptive User-Agent with a
contact, one request at a time, ``maxlag`` on every request, and backing off
when told to (HTTP 429/503 with ``Retry-After``, or a ``maxlag`` error).
Timeouts and connection failures are retried with exponential backoff.
Answers are cached on disk (``build/wikidata-cache/``), so repeated runs and
``offline`` mode need no network. Every failure is a :class:`KGError` with
exit code 2; nothing here writes to the project's data.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import KGError
from kg.fileio import atomic_write
from kg.namespaces import WIKIDATA_ENTITY
from kg.registry import __version__

API = "https://www.wikidata.org/w/api.php"
CONTACT = "https://w3id.org/israel-japan-kg; Israel-Japan relations knowledge graph"
ENTITY = WIKIDATA_ENTITY


def user_agent() -> str:
    """Per Wikimedia's User-Agent policy: tool/version (contact) library/version."""
    import httpx

    contact = os.environ.get("KG_CONTACT", CONTACT)
    contact = contact.encode("ascii", "replace").decode("ascii")  # headers are ASCII
    return f"israel-japan-kg/{__version__} ({contact}) httpx/{httpx.__version__}"


@dataclass
class WikidataClient:
    """Wikidata's action API, sequential, cached, and retried with backoff."""

    api: str = API
    cache_dir: Path | None = None
    offline: bool = False
    timeout: float = 20.0
    retries: int = 4
    maxlag: int = 5
    max_wait: float = 120.0  # never sleep longer than this for one Retry-After
    sleep: Callable[[float], None] = time.sleep
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _http: Any = field(default=None, repr=False)

    def _client(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.Client(
                headers={"User-Agent": user_agent(), "Accept": "application/json"},
                timeout=self.timeout,
                follow_redirects=True,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _cache_path(self, params: dict[str, str]) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps({"api": self.api, **params}, sort_keys=True)
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def get(self, **params: str) -> dict[str, Any]:
        """One API call (``action=...``) as parsed JSON, from the cache when there."""
        params = {**params, "format": "json"}
        cache = self._cache_path(params)
        if cache is not None and cache.is_file():
            try:
                return json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                cache.unlink(missing_ok=True)  # a damaged cache entry is refetched
        if self.offline:
            raise KGError(
                f"offline, and Wikidata's answer to {params.get('action')} "
                f"{params.get('ids') or params.get('search') or ''} is not cached"
            )
        with self._lock:  # one request at a time, whoever calls
            doc = self._fetch({**params, "maxlag": str(self.maxlag)})
        if cache is not None:
            atomic_write(cache, json.dumps(doc, ensure_ascii=False, sort_keys=True).encode())
        return doc

    def _fetch(self, params: dict[str, str]) -> dict[str, Any]:
        import httpx

        last = "no attempt made"
        for attempt in range(self.retries + 1):
            backoff = min(2.0**attempt, self.max_wait)
            try:
                response = self._client().get(self.api, params=params)
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
                self._wait(backoff, attempt)
                continue
            except httpx.TransportError as e:
                last = f"cannot connect ({type(e).__name__}: {e})"
                self._wait(backoff, attempt)
                continue
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if response.status_code in (429, 503):
                last = f"HTTP {response.status_code} (server busy)"
                self._wait(retry_after if retry_after is not None else backoff, attempt)
                continue
            if response.status_code >= 400:
                raise KGError(
                    f"Wikidata answered HTTP {response.status_code} to {params.get('action')}"
                )
            try:
                doc = response.json()
            except ValueError:
                raise KGError(
                    "Wikidata answered something that is not JSON "
                    f"({response.headers.get('Content-Type', 'no content type')})"
                ) from None
            error = doc.get("error") if isinstance(doc, dict) else None
            if error and error.get("code") == "maxlag":
                last = "replication lag above maxlag"
                self._wait(retry_after if retry_after is not None else 5.0, attempt)
                continue
            if error:
                raise KGError(f"Wikidata API error {error.get('code')}: {error.get('info', '')}")
            if not isinstance(doc, dict):
                raise KGError("Wikidata answered JSON of an unexpected shape")
            return doc
        raise KGError(f"Wikidata could not be reached after {self.retries + 1} attempts: {last}")

    def _wait(self, seconds: float, attempt: int) -> None:
        if attempt >= self.retries:
            return  # no retry left: fail without sleeping
        if seconds > self.max_wait:
            raise KGError(
                f"Wikidata asked to wait {seconds:g} s, more than the "
                f"{self.max_wait:g} s this client waits; try again later"
            )
        self.sleep(seconds)

    # -- the two calls the project uses ------------------------------------

    def search(self, text: str, *, language: str = "en", limit: int = 7) -> list[dict[str, Any]]:
        """Candidate items for a name (wbsearchentities)."""
        doc = self.get(
            action="wbsearchentities",
            search=text,
            language=language,
            uselang=language,
            type="item",
            limit=str(limit),
        )
        return list(doc.get("search", []))

    def entities(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Items by ID (wbgetentities), keyed by the ID asked for.

        A redirected ID maps to its target's data with ``redirects`` set; a
        deleted or unknown ID maps to ``{"missing": ""}``.
        """
        ids = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 50):  # the API takes at most 50 IDs a call
            batch = ids[i : i + 50]
            doc = self.get(
                action="wbgetentities",
                ids="|".join(batch),
                props="labels|aliases|descriptions|claims",
                languages="en",
            )
            entities = doc.get("entities", {})
            for qid in batch:
                entity = entities.get(qid)
                if entity is None:  # answered under the redirect target's ID
                    entity = next(
                        (e for e in entities.values() if e.get("redirects", {}).get("from") == qid),
                        None,
                    )
                out[qid] = entity if entity is not None else {"id": qid, "missing": ""}
        return out


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def qid(iri: str) -> str | None:
    """``Q42`` from ``http://www.wikidata.org/entity/Q42``; None for any other form."""
    if iri.startswith(ENTITY):
        local = iri[len(ENTITY) :]
        if local[:1] == "Q" and local[1:].isdigit() and not local.startswith("Q0"):
            return local
    return None


def label(entity: dict[str, Any], language: str = "en") -> str | None:
    return entity.get("labels", {}).get(language, {}).get("value")


def aliases(entity: dict[str, Any], language: str = "en") -> list[str]:
    return [a.get("value", "") for a in entity.get("aliases", {}).get(language, [])]


def claim_items(entity: dict[str, Any], prop: str) -> set[str]:
    """The item IDs an entity's statements of ``prop`` point to."""
    found = set()
    for claim in entity.get("claims", {}).get(prop, []):
        value = claim.get("mainsnak", {}).get("datavalue", {}).get("value")
        if isinstance(value, dict) and value.get("id"):
            found.add(value["id"])
    return found
