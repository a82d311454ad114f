"""Answers kept for repeated queries.

The graph ``kg serve`` answers from is read-only for the life of the process, so
the answer to a query text (with its bindings and requested formats) is the same
every time it is asked, and the second asking need not reach a worker: this is
the cache the Wikidata Query Service keeps in front of its store too, there for
five minutes, here for as long as the process lives. Kept: successful answers
only, least recently used first out, bounded by bytes (``kg serve
--cache-bytes``; 0 keeps none). Not kept: queries whose answer changes between
askings (``NOW()``, ``RAND()``, ``UUID()``, ``STRUUID()``, ``BNODE()``), and any
one answer larger than an eighth of the cache, so that one listing cannot push
out every lookup.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from kg.sparqltext import Scan
from kg.web.pertext import per_text
from kg.web.workers import Answer, Job

_CHANGING = re.compile(r"\b(NOW|RAND|UUID|STRUUID|BNODE)\s*\(", re.I)


@per_text()
def changes_between_askings(text: str) -> bool:
    """Does the query call a function whose value changes each time it is asked?"""
    return _CHANGING.search(Scan(text).code) is not None


def _key(job: Job) -> tuple[Any, ...]:
    bindings = tuple(sorted((name, str(term)) for name, term in job.bindings.items()))
    return job.text, tuple(job.accept), bindings, job.base_iri, job.context_url


class AnswerCache:
    """A least-recently-used map from a job to its answer, bounded by bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = self.hits = 0
        self._answers: OrderedDict[tuple[Any, ...], tuple[Answer, int]] = OrderedDict()

    def get(self, job: Job) -> Answer | None:
        if not self.max_bytes:
            return None
        key = _key(job)
        found = self._answers.get(key)
        if found is None:
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return found[0]

    def put(self, job: Job, answer: Answer, *, changing: bool | None = None) -> None:
        """Keep ``answer`` to ``job``; ``changing``: whether it changes between askings,
        when the caller has read that already (:func:`changes_between_askings`)."""
        if answer.status != 200 or not self.max_bytes:
            return
        cost = len(answer.body) + len(job.text) + 256  # the key, the tuple, the dict slot
        if changing is None:
            changing = changes_between_askings(job.text)
        if cost > self.max_bytes // 8 or changing:
            return
        key = _key(job)
        if key in self._answers:
            return
        self._answers[key] = (answer._replace(recycle=False), cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, freed) = self._answers.popitem(last=False)
            self.size -= freed

    def __len__(self) -> int:
        return len(self._answers)
