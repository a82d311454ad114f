"""Warnings about a query that runs but cannot mean what it says — never refusals.

A query the engines accept can still answer nothing, or the wrong thing, without a
word: a misspelt term (``ij:dat``), a class where a property goes, a variable that
is selected but that the pattern never binds, a saved query's parameter that the
edited text no longer uses. :func:`lint` reads the query with rdflib's SPARQL parser
(its parse tree, where every pattern keeps the order it was written in) and names
each of these in one line; ``kg query`` prints them on standard error, ``/sparql``
and ``/api/queries/NAME`` send them in the ``KG-Warning`` header, and the query page
shows them beside the answer.

The same reading gives :func:`bound_variables` (which variables the pattern binds:
a parameter is bound only where it is one of them) and :func:`explicit_projection`
(``SELECT *`` with its columns in the order the pattern first names them, where
engines choose their own order: pyoxigraph sorts them by name).

Parsing costs milliseconds (and rdflib's import half a second, once), so every
reading is cached by the query's text.

>>> terms = Vocabulary({"https://w3id.org/israel-japan-kg/ontology#date": "property"})
>>> lint("SELECT ?v ?x WHERE { ?v ij:dat ?d }", terms)
['ij:dat is not a term of the graph or its ontology; did you mean ij:date?', \
'?x is selected but the pattern never binds it: its column stays empty']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from kg import sparql
from kg.namespaces import BASE, PREFIXES, shorten
from kg.sparqltext import mask

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: texts longer than this are not read (the lint is a courtesy; parsing grows with size)
MAX_TEXT = 20_000
#: nor texts with more operators than this outside strings, IRIs and comments: rdflib's
#: parser takes about 2 ms an operator of a chain (128: 0.25 s; 9,000 in 18 KB: 30 s of a
#: server's thread, s36-attack), and no saved or library query has more than 14
MAX_OPERATORS = 128
# a hyphen next to a letter is in a name (visit:2015-shinzo-abe), elsewhere a minus
_OPERATOR = re.compile(r"&&|\|\||[!<>]=|[+*/!<>=|^]|(?<![A-Za-z_])-(?![A-Za-z_])")


class Vocabulary:
    """The graph's IRIs, each with how it is used: ``class``, ``property`` or ``resource``
    (a term used both as a class and as a property counts as both)."""

    def __init__(self, kinds: Mapping[str, str | set[str]]) -> None:
        self.kinds: dict[str, set[str]] = {
            iri: ({k} if isinstance(k, str) else set(k)) for iri, k in kinds.items()
        }

    @classmethod
    def of(cls, engine: Any) -> Vocabulary:
        """Read from an engine (the library's query ``lint-terms``)."""
        kinds: dict[str, set[str]] = {}
        for t, is_class, is_property in engine.select(sparql.load("lint-terms")):
            found = kinds.setdefault(t.value, set())
            if is_class is not None and is_class.value == "1":
                found.add("class")
            if is_property is not None and is_property.value == "1":
                found.add("property")
            if not found:
                found.add("resource")
        return cls(kinds)

    def near(self, iri: str, kind: str | None) -> str | None:
        """The known term whose name is closest to ``iri``'s, of ``kind`` when given."""
        namespace = _namespace(iri)
        local = iri[len(namespace) :]
        pool = {
            t[len(namespace) :]: t
            for t, kinds in self.kinds.items()
            if t.startswith(namespace) and "/" not in t[len(namespace) :]
            and (kind is None or kind in kinds)
        }
        close = difflib.get_close_matches(local, list(pool), n=1, cutoff=0.6)
        if not close:  # a prefix of a name (ij:dat for ij:date), case aside
            starts = sorted(n for n in pool if n.lower().startswith(local.lower()))
            close = starts[:1]
        return pool[close[0]] if close else None


def _namespace(iri: str) -> str:
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    return iri[:cut]


class Reading:
    """What the lint reads off one query: its terms by position, the variables it selects
    and binds (in the order of their first appearance)."""

    __slots__ = ("bound", "classes", "predicates", "selected", "star", "terms")

    def __init__(self) -> None:
        self.terms: list[str] = []  # every IRI, in order
        self.predicates: list[str] = []  # IRIs where a property goes
        self.classes: list[str] = []  # objects of rdf:type
        self.bound: list[str] = []  # variables the pattern binds, first appearance first
        self.selected: list[str] | None = None  # None: SELECT * (or not a SELECT)
        self.star = False


def _too_many_operators(text: str) -> bool:
    """More than :data:`MAX_OPERATORS` operators in ``text``'s code, counted up to one past
    the bound."""
    found = _OPERATOR.finditer(mask(text))
    return any(n >= MAX_OPERATORS for n, _ in enumerate(found))


@lru_cache(maxsize=512)
def read(text: str) -> Reading | None:
    """The query's reading; None when it is not valid SPARQL (the engine says why) or too
    long to read here."""
    if len(text) > MAX_TEXT or _too_many_operators(text):
        return None
    try:
        from functools import partial

        from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse
        from rdflib.plugins.sparql.parser import parseQuery

        tree = parseQuery(text)
        prologue = translatePrologue(tree[0], None, initNs=PREFIXES)
        body = traverse(tree[1], visitPost=partial(translatePName, prologue=prologue))
    except Exception:
        return None
    found = Reading()
    if body.name == "SelectQuery":
        projection = _get(body, "projection")
        if projection:
            found.selected = [str(v["var"]) for v in projection if _get(v, "var") is not None]
            found.bound += [str(v["evar"]) for v in projection if _get(v, "evar") is not None]
        else:
            found.star = True
    _walk(_get(body, "where"), found, binds=True)
    group = _get(body, "groupby")
    for condition in (_get(group, "condition") if group else None) or []:
        if hasattr(condition, "get") and _get(condition, "var") is not None:
            found.bound.append(str(condition["var"]))
    found.bound = list(dict.fromkeys(found.bound))
    return found


def _walk(node: Any, found: Reading, *, binds: bool) -> None:
    """Collect terms and bound variables from a pattern of the parse tree, in order."""
    from rdflib.term import URIRef, Variable

    if node is None:
        return
    name = getattr(node, "name", None)
    if name == "TriplesBlock":
        for block in node["triples"]:
            items = list(block)
            for i in range(0, len(items) - 2, 3):
                s, p, o = items[i : i + 3]
                for term, where in ((s, "node"), (p, "predicate"), (o, "node")):
                    if isinstance(term, Variable) and binds:
                        found.bound.append(str(term))
                    elif isinstance(term, URIRef):
                        found.terms.append(str(term))
                    elif where == "predicate":
                        for iri in _path_iris(term):
                            found.terms.append(iri)
                            found.predicates.append(iri)
                        for v in _variables(term):
                            if binds:
                                found.bound.append(v)
                if isinstance(p, URIRef):
                    found.predicates.append(str(p))
                if _is_type(p) and isinstance(o, URIRef):
                    found.classes.append(str(o))
        return
    if name in ("Filter", "MinusGraphPattern"):
        _walk(_get(node, "graph"), found, binds=False)  # binds nothing outside
        return
    if name == "ServiceGraphPattern":
        return  # a remote graph's terms are not this graph's
    if name == "Bind":
        if binds:
            found.bound.append(str(node["var"]))
        return
    if name == "InlineData" or name == "InlineDataOneVar":
        if binds:
            found.bound += [str(v) for v in _get(node, "var") or [] if isinstance(v, Variable)]
        return
    if name == "SubSelect":
        # it binds what it selects and its own pattern binds (a selected name alone binds
        # nothing: the parameter of an edited saved query must not come back through it)
        inner = Reading()
        _walk(_get(node, "where"), inner, binds=True)
        projection = _get(node, "projection")
        if projection:
            evars = [str(_get(v, "evar")) for v in projection if _get(v, "evar") is not None]
            named = [str(_get(v, "var")) for v in projection if _get(v, "var") is not None]
            inner_bound = set(inner.bound) | set(evars)
            exposed = [v for v in named if v in inner_bound] + evars
        else:
            exposed = inner.bound
        found.terms += inner.terms
        found.predicates += inner.predicates
        found.classes += inner.classes
        if binds:
            found.bound += exposed
        return
    if name == "GraphGraphPattern" and isinstance(_get(node, "term"), Variable) and binds:
        found.bound.append(str(node["term"]))
    if hasattr(node, "items"):
        for key, value in node.items():
            if not key.startswith("_"):
                _walk(value, found, binds=binds)
    elif isinstance(node, list | tuple):
        for value in node:
            _walk(value, found, binds=binds)


def _get(node: Any, key: str) -> Any:
    """A field of a parse-tree node, or None (``CompValue.get`` answers the key itself)."""
    return dict.get(node, key) if isinstance(node, dict) else None


def _is_type(p: Any) -> bool:
    return str(p) == RDF_TYPE or (list(_path_iris(p)) == [RDF_TYPE] and _simple(p))


def _simple(p: Any) -> bool:
    try:
        (seq,) = p["part"]
        (elt,) = seq["part"]
        return not _get(elt, "mod")
    except (KeyError, TypeError, ValueError):
        return False


def _path_iris(node: Any) -> Iterator[str]:
    from rdflib.term import URIRef

    if isinstance(node, URIRef):
        yield str(node)
    elif hasattr(node, "items"):
        for key, value in node.items():
            if not key.startswith("_"):
                yield from _path_iris(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _path_iris(value)


def _variables(node: Any) -> Iterator[str]:
    from rdflib.term import Variable

    if isinstance(node, Variable):
        yield str(node)
    elif hasattr(node, "items"):
        for key, value in node.items():
            if not key.startswith("_"):
                yield from _variables(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _variables(value)


def bound_variables(text: str) -> frozenset[str] | None:
    """The variables the query's pattern binds (not those only selected or filtered);
    None when it cannot be read.

    >>> sorted(bound_variables("SELECT ?state ?v WHERE { ?v ij:toState state:israel }"))
    ['v']
    """
    found = read(text)
    return None if found is None else frozenset(found.bound)


_STAR = re.compile(r"\bSELECT(\s+(?:DISTINCT|REDUCED))?\s*\*", re.I)


def selects_star(text: str) -> bool:
    """Might :func:`explicit_projection` change ``text`` (it has a ``SELECT *``)? A regular
    expression, without reading the query.

    >>> selects_star("SELECT * { ?s ?p ?o }"), selects_star("SELECT (COUNT(*) AS ?n) {}")
    (True, False)
    """
    return _STAR.search(text) is not None


def explicit_projection(text: str) -> str:
    """``text`` with a top-level ``SELECT *`` naming its columns in the order the pattern
    first names them (the same columns: those the pattern binds); any other text as it is.

    >>> explicit_projection("SELECT * WHERE { ?s ?p ?o }")
    'SELECT ?s ?p ?o WHERE { ?s ?p ?o }'
    """
    if not selects_star(text):  # no rdflib for the queries that do not ask (cold start)
        return text
    found = read(text)
    if found is None or not found.star or not found.bound:
        return text
    m = _STAR.search(mask(text))
    if m is None:
        return text
    names = " ".join("?" + v for v in found.bound)
    head = text[: m.end() - 1]
    return head + ("" if head[-1:].isspace() else " ") + names + text[m.end() :]


def warnings_for(text: str, engine: Any) -> list[str]:
    """:func:`lint` with the vocabulary of ``engine``'s graph (read each time: for one
    query of the command line)."""
    if read(text) is None:
        return []
    return lint(text, Vocabulary.of(engine))


def lint(
    text: str,
    vocabulary: Vocabulary,
    params: Mapping[str, str] | None = None,
) -> list[str]:
    """One line for each thing in ``text`` that makes its answer wrong or empty without
    an error: a term of this graph's namespaces that is not in the graph, a class used as
    a property or a property as a class, a variable selected but never bound, a
    parameter of ``params`` (name to the value given) that the text no longer binds.
    Nothing for a text that is not valid SPARQL."""
    return list(_lint(text, vocabulary, tuple(sorted((params or {}).items()))))


@lru_cache(maxsize=512)
def _lint(
    text: str, vocabulary: Vocabulary, params: tuple[tuple[str, str], ...]
) -> tuple[str, ...]:
    found = read(text)
    if found is None:
        return ()
    out: list[str] = []
    seen: set[str] = set()
    for iri in found.terms:
        if iri in seen:
            continue
        seen.add(iri)
        kinds = vocabulary.kinds.get(iri)
        if kinds is None:
            if not iri.startswith(BASE):
                continue  # other vocabularies' terms: not ours to know
            want = "property" if iri in found.predicates else (
                "class" if iri in found.classes else None)
            close = vocabulary.near(iri, want)
            hint = f"; did you mean {shorten(close)}?" if close else ""
            out.append(f"{shorten(iri)} is not a term of the graph or its ontology{hint}")
        elif iri in found.predicates and "property" not in kinds:
            what = "a class" if "class" in kinds else "a resource"
            close = vocabulary.near(iri, "property")
            hint = f" (did you mean {shorten(close)}?)" if close else ""
            out.append(f"{shorten(iri)} is {what}, used here as a property{hint}: "
                       "no triple has it as its predicate")  # fmt: skip
        elif iri in found.classes and "class" not in kinds:
            what = "a property" if "property" in kinds else "a resource"
            out.append(f"{shorten(iri)} is {what}, used here as a class: nothing has it "
                       "as its rdf:type")  # fmt: skip
    bound = set(found.bound)
    for v in found.selected or []:
        if v not in bound and v not in dict(params):
            out.append(f"?{v} is selected but the pattern never binds it: its column stays empty")
    for name, value in params:
        if name not in bound:
            out.append(f"the parameter {name} ({value}) is not used by the edited query, "
                       f"so it was dropped: the pattern no longer binds ?{name}")  # fmt: skip
    return tuple(out)


def header_value(warnings: Iterable[str]) -> str:
    """Warnings as one HTTP header value: each percent-encoded (UTF-8) so that it is
    ASCII and holds no comma, joined by ``, ``.

    >>> header_value(["a, b", "é"])
    'a%2C b, %C3%A9'
    """
    from urllib.parse import quote

    return ", ".join(quote(w, safe=" !\"#$&'()*+-./:;<=>?@[]^_`{|}~") for w in warnings)


__all__ = [
    "Vocabulary",
    "bound_variables",
    "explicit_projection",
    "header_value",
    "lint",
    "read",
    "selects_star",
    "warnings_for",
]
