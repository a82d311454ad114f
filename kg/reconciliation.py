"""The graph as a reconciliation service (W3C Reconciliation Service API, version 0.2).

The protocol OpenRefine speaks: a researcher with a column of names ("Rabin",
"Foreign Minister of Japan", "Tel Aviv") gets, for each, this graph's resources
ranked by how well they match, and through their ``skos:exactMatch`` links, the
Wikidata items. This module is the library; :mod:`kg.web.reconcile` serves it
at ``/reconcile``.

Identifiers are the resources' paths under ``https://w3id.org/israel-japan-kg/id/``
(``person/shinzo-abe``); types and properties are the ontology's local names
(``Person``, ``officeHeld``). Scores run from 0 to 100:

- 100 for a name equal to the query (case and accents aside), in any language;
- a query that is one or more whole words of a name scores by the share of the
  name it covers (``Rabin`` in ``Yitzhak Rabin``: 75.4);
- a name's words in another order, as Japanese names are written family name first
  (``Abe Shinzo`` for ``Shinzo Abe``): 95; some of its words in another order: 5 less
  than in the name's order;
- otherwise the names' similarity (difflib), below 80;
- each property constraint that holds adds 10, each that does not takes 30.

A candidate is a ``match`` when it scores at least 90 and 10 more than the next.

>>> index = Index([Entity("person/a", ["Yitzhak Rabin"], ["Person"])], {})
>>> [(c["id"], c["score"], c["match"]) for c in index.reconcile({"query": "rabin"})]
[('person/a', 75.4, False)]
"""

from __future__ import annotations

import difflib
import functools
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kg import boundedjson, sparql
from kg.errors import KGError, clip
from kg.names import fold as fold_name
from kg.namespaces import ID, IJ, SKOS_EXACT_MATCH, WIKIDATA_ENTITY
from kg.store import Engine

MATCH_SCORE, MATCH_MARGIN = 90.0, 10.0
#: a name's words all there, in another order (Abe Shinzo): a match, below the name itself
REORDERED = 95.0
_WORD = re.compile(r"\w+")
DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERIES = 5, 100, 500


class BatchTooLong(KGError):
    """A batch took longer than it was given (:meth:`Index.reconcile_batch`)."""


#: entities and constraints weighed between two looks at the clock
#: (:meth:`Index.reconcile`'s ``until``)
_CHECK_EVERY = 1024


@dataclass
class Entity:
    id: str
    names: list[str]
    types: list[str]
    facts: dict[str, set[str]] = field(default_factory=dict)  # property → value ids and names
    wikidata: str | None = None
    #: the types and every class they are a kind of (an Envoy is a Person), which a
    #: query's ``type`` is matched against; empty: the types alone
    kinds: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.names[0] if self.names else self.id


def fold(text: str) -> str:
    """A name as matching compares it: :func:`kg.names.fold` (no case, no
    accents), with runs of space made one: ``"Ōsaka  Castle "`` → ``"osaka castle"``.

    >>> fold("  Ōsaka  Castle ")
    'osaka castle'
    """
    return " ".join(fold_name(text).split())


def _whole_words_score(query: str, name: str) -> float:
    """The score of a name that holds ``query`` as whole words, by the share it covers."""
    return round(60 + 40 * len(query) / len(name), 1)


@functools.lru_cache(maxsize=64)
def _words_counted(text: str) -> Counter[str]:
    """How often each word stands in ``text`` (not to be changed: it is shared)."""
    return Counter(_WORD.findall(text))


def similarity(query: str, name: str) -> float:
    """How well ``query`` names ``name`` (0 to 100), both already folded."""
    if query == name:
        return 100.0
    if query and query in name and re.search(rf"(?<!\w){re.escape(query)}(?!\w)", name):
        return _whole_words_score(query, name)
    # Abe Shinzo: Shinzo Abe; each word as often as the name has it ('Japan Japan' is not
    # Japan: counted as a set it scored 143, cut to 100, a match). The query's words are
    # read once, not once for each name that has them: a 60 KB 'japan japan …' was read
    # again for each of the names with 'japan', 43 s at 230 pairs (47,682 distinct names)
    ours = _words_counted(query)
    if ours.total() >= 2 and ours <= (theirs := Counter(_WORD.findall(name))):
        if ours == theirs:
            return REORDERED
        return round(_whole_words_score(" ".join(ours.elements()), name) - 5, 1)
    # the two upper bounds of the ratio first (from the lengths, then the letters): a query
    # far longer than any name (64 KB, as a batch may be) cost its length times every name
    # (22 s for one query over 233 entities) to score 0 in the end. The first, difflib's
    # real_quick_ratio, before a matcher is even built (building one indexes the name)
    if 2.0 * min(len(query), len(name)) / (len(query) + len(name)) < 0.8:
        return 0.0  # unrelated names (the same sum as real_quick_ratio's)
    matcher = difflib.SequenceMatcher(None, query, name)
    if matcher.quick_ratio() < 0.8:
        return 0.0  # unrelated names
    ratio = matcher.ratio()
    return round(80 * ratio, 1) if ratio >= 0.8 else 0.0  # below: unrelated names


@dataclass
class Index:
    """The graph's resources as matching sees them. Each distinct name is folded once and
    indexed by its words and its length, so a query is compared with the few names that can
    score (:meth:`_names_for`), not with every name: at 230 pairs (40,079 entities, 43,532
    names) a query took 268 ms when compared with all of them."""

    entities: list[Entity]
    terms: dict[str, tuple[str, str]]  # local name → (kind: type|property, label)
    #: each class (local name) and every class it is a kind of (Envoy: Person)
    ancestors: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id = {e.id: e for e in self.entities}
        self._names: list[str] = []  # the distinct folded names
        self._holders: list[list[int]] = []  # for each, the entities (indices) bearing it
        seen: dict[str, int] = {}
        for i, e in enumerate(self.entities):
            for n in e.names:
                folded = fold(n)
                k = seen.setdefault(folded, len(self._names))
                if k == len(self._names):
                    self._names.append(folded)
                    self._holders.append([])
                if not self._holders[k] or self._holders[k][-1] != i:
                    self._holders[k].append(i)
        self._with_word: dict[str, list[int]] = {}
        self._of_length: dict[int, list[int]] = {}
        for k, name in enumerate(self._names):
            for w in set(_WORD.findall(name)):
                self._with_word.setdefault(w, []).append(k)
            self._of_length.setdefault(len(name), []).append(k)
        self._letters: dict[int, dict[str, int]] = {}  # a name's letter counts, when asked
        self._known: dict[str, dict[str, str]] | None = None  # :meth:`_known_terms`

    @classmethod
    def from_engine(cls, engine: Engine) -> Index:
        """Every resource of the graph with its names, classes, facts and Wikidata item."""
        by_id: dict[str, Entity] = {}
        names = engine.select(sparql.load("reconcile-names"))
        for s, name, klass in names:
            e = by_id.setdefault(s.value[len(ID) :], Entity(s.value[len(ID) :], [], []))
            if name.value not in e.names:
                e.names.append(name.value)
            local = klass.value[len(IJ) :]
            if local not in e.types:
                e.types.append(local)
        ancestors: dict[str, set[str]] = {}
        for klass, ancestor in engine.select(sparql.load("class-ancestors")):
            ancestors.setdefault(klass.value[len(IJ) :], set()).add(ancestor.value[len(IJ) :])
        for e in by_id.values():
            e.kinds = set(e.types).union(*(ancestors.get(t, set()) for t in e.types))
        for s, p, o, name in engine.select(sparql.load("reconcile-facts")):
            e = by_id.get(s.value[len(ID) :])
            if e is None:
                continue
            if p.value == SKOS_EXACT_MATCH and o.value.startswith(WIKIDATA_ENTITY):
                e.wikidata = o.value[len(WIKIDATA_ENTITY) :]
            prop = p.value[len(IJ) :] if p.value.startswith(IJ) else p.value
            values = e.facts.setdefault(prop, set())
            values.update(fold(v) for v in (o.value, o.value.removeprefix(ID)))
            if name is not None:
                values.add(fold(name.value))
        terms = {
            r[0].value[len(IJ) :]: ("type" if r[1].value == "class" else "property", r[2].value)
            for r in engine.select(sparql.load("ontology-terms"))
            if r[1].value != "value"  # named values (agreement kinds …) are neither
        }
        return cls(sorted(by_id.values(), key=lambda e: e.id), terms, ancestors)

    def property_labels(self) -> dict[str, str]:
        """The ontology's properties, each local name with its label."""
        return {local: label for local, (kind, label) in self.terms.items()
                if kind == "property"}  # fmt: skip

    def _names_for(self, text: str, until: float | None = None) -> set[int]:
        """The names (indices into ``_names``) :func:`similarity` may score above 0 for
        ``text`` (folded, not empty); every other name scores 0, as these bounds show:

        - equal, or holding ``text`` as whole words: such a name has every word of ``text``
          (a run of word letters in ``text`` is bounded by non-word letters or by its ends,
          and so is it in the name); a ``text`` with no word in it is looked for in every
          name;
        - alike (difflib's ratio of at least 0.8): the name's length is within
          [2/3, 3/2] of the query's (the bound of ``similarity``), and the letters the two
          share come to 80% of both (difflib's ``quick_ratio``), counted here without
          building a matcher.

        With ``until``, :class:`BatchTooLong` once this thread's CPU time passes it."""
        words = set(_WORD.findall(text))
        if words:
            postings = sorted((self._with_word.get(w, []) for w in words), key=len)
            found = set(postings[0]).intersection(*postings[1:])
        else:
            found = {k for k, name in enumerate(self._names) if text in name}
        size, letters = len(text), Counter(text)
        work, step = 0, 1 + len(letters)
        # a name's letters that the query lacks are never shared: counted at C speed (the
        # name with the query's letters taken out) they rule out most names before the
        # count below: 175 ms to 88 ms for a long query over 43,532 distinct names
        absent = str.maketrans("", "", "".join(letters))
        for length in range(size * 2 // 3, size * 3 // 2 + 1):
            least = 0.4 * (size + length)  # letters shared for a quick_ratio of 0.8
            for k in self._of_length.get(length, ()):
                if k in found:
                    continue
                work += step
                if until is not None and work >= _CHECK_EVERY:
                    work = 0
                    if time.thread_time() > until:
                        raise BatchTooLong("the query ran past its time limit")
                if length - len(self._names[k].translate(absent)) < least:
                    continue
                theirs = self._letters.get(k)
                if theirs is None:
                    theirs = self._letters[k] = Counter(self._names[k])
                shared = sum(min(n, theirs.get(c, 0)) for c, n in letters.items())
                if 2.0 * shared / (size + length) >= 0.8:
                    found.add(k)
        return found

    def reconcile(self, query: dict[str, Any], until: float | None = None) -> list[dict[str, Any]]:
        """Candidates for one reconciliation query (``query``, ``type``, ``limit``,
        ``properties``), best first. With ``until`` (a :func:`time.thread_time`),
        :class:`BatchTooLong` once this thread's CPU time passes it: one query of 2,100
        property constraints is weighed against every entity (11.3 s at 40,079)."""
        text = fold(str(query.get("query", "")))
        best: dict[int, float] = {}  # entity index → its best name's score
        # a one-word query is whole words of every name that has that word: its score is
        # known without the pattern search (94 ms to 41 ms for "Japan" over 43,532 names)
        whole = set(self._with_word.get(text, ())) if _WORD.fullmatch(text) else set()
        for k in self._names_for(text, until) if text else ():
            name = self._names[k]
            if k in whole:  # as similarity() scores it
                score = 100.0 if name == text else _whole_words_score(text, name)
            else:
                score = similarity(text, name)
            if score > 0:
                for i in self._holders[k]:
                    best[i] = max(best.get(i, 0.0), score)
        return self._ranked(query, text, best, until)

    def reconcile_every_name(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """:meth:`reconcile` as it was before the index: every name of every entity folded
        and scored. Slow (268 ms a query at 40,079 entities); what the index must equal,
        kept for the tests and ``bench/reconcile.py`` to compare with."""
        text = fold(str(query.get("query", "")))
        best = {}
        for i, e in enumerate(self.entities):
            score = max((similarity(text, fold(n)) for n in e.names), default=0.0)
            if score > 0 and text:
                best[i] = score
        return self._ranked(query, text, best)

    def _ranked(self, query: dict[str, Any], text: str, best: dict[int, float],
                until: float | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """The candidates from each entity's best name score (``best``, by entity index;
        ``text``: the query folded): type and property constraints applied, best first, the
        first a match or not; with ``until``, :class:`BatchTooLong` once this thread's CPU
        time passes it."""
        wanted = _types(query.get("type"))
        limit = min(int(query.get("limit") or DEFAULT_LIMIT), MAX_LIMIT)
        constraints = [
            (_local(str(c.get("pid", ""))), {fold(str(v)) for v in _values(c.get("v"))})
            for c in query.get("properties") or []
        ]
        if not text and constraints:
            best = dict.fromkeys(range(len(self.entities)), 50.0)  # properties alone: level
        scored = []
        work, step = 0, 1 + len(constraints)
        for i in sorted(best):
            work += step
            if until is not None and work >= _CHECK_EVERY:
                work = 0
                if time.thread_time() > until:
                    raise BatchTooLong("the query ran past its time limit")
            e, score = self.entities[i], best[i]
            if wanted and not wanted & (e.kinds or set(e.types)):
                continue
            for pid, values in constraints:
                held = e.facts.get(pid, set())
                score += 10 if not values.isdisjoint(held) else -30
            score = round(max(0.0, min(100.0, score)), 1)  # not 36.900000000000006
            if score > 0:
                scored.append((score, e))
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        top = scored[:limit]
        out = [self.candidate(e, score) for score, e in top]
        if (
            out
            and out[0]["score"] >= MATCH_SCORE
            and (len(scored) == 1 or scored[0][0] - scored[1][0] >= MATCH_MARGIN)
        ):
            out[0]["match"] = True
        return out

    def reconcile_batch(
        self, batch: dict[str, dict[str, Any]], seconds: float | None = None
    ) -> dict[str, Any]:
        """The answers to a batch (:func:`parse_queries`), each query that repeats in it
        answered once. With ``seconds``, :class:`BatchTooLong` once matching has taken more
        than that much of this thread's CPU time (a server's time limit for one request)."""
        import json

        until = None if seconds is None else time.thread_time() + seconds
        answered: dict[str, list[dict[str, Any]]] = {}
        out = {}
        for done, (key, q) in enumerate(batch.items()):
            same = json.dumps(q, sort_keys=True)
            if same not in answered:
                try:
                    if until is not None and time.thread_time() > until:
                        raise BatchTooLong("the batch ran past its time limit")
                    answered[same] = self.reconcile(q, until)
                except BatchTooLong:
                    raise BatchTooLong(
                        f"the batch ran past this endpoint's time limit of {seconds:g} s after "
                        f"{done} of its {len(batch)} queries; send fewer queries at a time"
                    ) from None
            out[key] = {"result": answered[same]}
        return out

    def checked(self, batch: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """``batch`` with each type and property as the ontology names it (``person``:
        ``Person``, as one types it by hand); a :class:`KGError` naming the first that the
        graph has no class or property for, which matched nothing (a type) or took 30 off
        every candidate (a property) and said nothing."""
        known = self._known_terms()

        def named(key: str, kind: str, term: str) -> str:
            found, hint = term_named(term, known[kind])
            if found is not None:
                return found
            raise KGError(f"query {clip(key)!r}: no {kind} {clip(term)!r}{hint}; "
                          f"/reconcile/suggest/{kind}?prefix= lists them")  # fmt: skip

        out = {}
        for key, q in batch.items():
            q = dict(q)
            if q.get("type"):
                q["type"] = sorted(named(key, "type", t) for t in _types(q["type"]))
            if q.get("properties"):
                q["properties"] = [{**c, "pid": named(key, "property", str(c.get("pid", "")))}
                                   for c in q["properties"]]  # fmt: skip
            out[key] = q
        return out

    def _known_terms(self) -> dict[str, dict[str, str]]:
        """The types and properties a query may name, by kind, each by its name casefolded;
        read from the entities once: every batch read them again, 130 ms at 230 pairs
        (44,227 entities) for a batch of one query that names neither."""
        if self._known is None:  # built whole before it is seen: threads share the index
            known = {
                kind: {local.casefold(): local for local, (k, _) in self.terms.items()
                       if k == kind}
                for kind in ("type", "property")
            }  # fmt: skip
            for e in self.entities:  # properties outside the ontology: skos:exactMatch …
                known["property"].update((p.casefold(), p) for p in e.facts)
            self._known = known
        return self._known

    def candidate(self, e: Entity, score: float) -> dict[str, Any]:
        return {
            "id": e.id,
            "name": e.name,
            "type": [{"id": t, "name": self.terms.get(t, ("", t))[1]} for t in e.types],
            "score": score,
            "match": False,
            "description": self.describe(e),
        }

    def describe(self, e: Entity) -> str:
        kinds = ", ".join(self.terms.get(t, ("", t))[1] for t in e.types)
        return kinds + (f"; Wikidata {e.wikidata}" if e.wikidata else "")

    def find(self, id: str) -> Entity | None:
        return self._by_id.get(id)

    def suggest(self, kind: str, prefix: str, limit: int = 10) -> list[dict[str, Any]]:
        """Entities (``entity``), types or properties whose name has a word starting with
        ``prefix``, for type-ahead."""
        p = fold(prefix)
        if kind == "entity":
            held = {i for k, name in enumerate(self._names) if _starts(p, name)
                    for i in self._holders[k]}
            hits = [self.entities[i] for i in sorted(held)]
            return [
                {"id": e.id, "name": e.name, "description": self.describe(e)} for e in hits[:limit]
            ]
        terms = [
            (local, label)
            for local, (k, label) in sorted(self.terms.items())
            if k == kind and (_starts(p, fold(label)) or _starts(p, fold(local)))
        ]
        return [{"id": local, "name": label} for local, label in terms[:limit]]


def term_named(term: str, known: Mapping[str, str]) -> tuple[str | None, str]:
    """The ontology term ``term`` names, given as a local name, prefixed or in full and in
    any case (``known``: each term's local name casefolded, to the local name); else None
    and, where one comes close, `` (did you mean …?)``.

    >>> term_named("ij:person", {"person": "Person"}), term_named("Persn", {"person": "Person"})
    (('Person', ''), (None, ' (did you mean Person?)'))
    """
    found = known.get(_local(term).casefold())
    if found is not None:
        return found, ""
    close = difflib.get_close_matches(_local(term), list(known.values()), n=1)
    return None, f" (did you mean {close[0]}?)" if close else ""


def _local(term: str) -> str:
    """An ontology term as a local name, whether given as one, prefixed or in full."""
    return term.removeprefix(IJ).removeprefix("ij:")


def _starts(prefix: str, name: str) -> bool:
    return not prefix or any(w.startswith(prefix) for w in [name, *name.split()])


def _types(value: Any) -> set[str]:
    if not value:
        return set()
    items = value if isinstance(value, list) else [value]
    return {_local(str(t.get("id") if isinstance(t, dict) else t)) for t in items}


def _values(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [v.get("id") if isinstance(v, dict) else v for v in items if v is not None]


def manifest(base_url: str) -> dict[str, Any]:
    """The service manifest (what OpenRefine reads when the service is added): matching,
    type-ahead, previews and data extension (:mod:`kg.extension`)."""
    return {
        "versions": ["0.2"],
        "name": "Israel–Japan relations knowledge graph",
        "identifierSpace": ID,
        "schemaSpace": IJ,
        "defaultTypes": [
            {"id": t, "name": t} for t in ("Person", "State", "Place", "Organisation", "Office")
        ],
        "view": {"url": base_url + "/id/{{id}}"},
        "preview": {"url": base_url + "/reconcile/preview?id={{id}}", "width": 400, "height": 160},
        "suggest": {
            kind: {"service_url": base_url, "service_path": f"/reconcile/suggest/{kind}"}
            for kind in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {"service_url": base_url,
                                   "service_path": "/reconcile/properties"},
            "property_settings": [],
        },
    }


def parse_queries(
    raw: str, max_bytes: int = boundedjson.MAX_BYTES
) -> dict[str, dict[str, Any]]:
    """The ``queries`` parameter, checked: JSON of at most ``max_bytes`` bytes, nested at
    most :data:`kg.boundedjson.MAX_DEPTH` deep (:func:`kg.boundedjson.loads`), an object
    of at most :data:`MAX_QUERIES` queries, each an object with a string ``query`` or
    some ``properties``."""
    batch = boundedjson.loads(raw, what="'queries'", max_bytes=max_bytes)
    if not isinstance(batch, dict) or not batch:
        raise KGError(
            '\'queries\' must be a JSON object of queries, e.g. {"q0": {"query": "Tel Aviv"}}'
        )
    if len(batch) > MAX_QUERIES:
        raise KGError(f"at most {MAX_QUERIES} queries in one batch")
    for key, q in batch.items():
        if not isinstance(q, dict):
            raise KGError(f"query {key!r} must be an object")
        if not isinstance(q.get("query", ""), str) or not (q.get("query") or q.get("properties")):
            raise KGError(f"query {key!r} needs a string 'query' (or 'properties')")
        limit = q.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise KGError(f"query {key!r}: 'limit' must be a non-negative integer")
        if not isinstance(q.get("properties", []), list) or not all(
            isinstance(c, dict) for c in q.get("properties", [])
        ):
            raise KGError(f"query {key!r}: 'properties' must be a list of {{pid, v}} objects")
    return batch
