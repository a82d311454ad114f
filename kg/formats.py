"""Answers written out: the W3C result formats, RDF formats, and a table for terminals.

pyoxigraph writes every standard format (SPARQL JSON, XML, CSV, TSV; Turtle,
N-Triples, RDF/XML), streaming solutions it produced itself without a Python
object per row. Written here, for a reason each:

- :func:`to_tsv`, the canonical form of solutions that the golden files keep
  (every term in full N-Triples syntax; pyoxigraph writes bare numbers);
- :func:`to_table`, the aligned table people read in a terminal;
- JSON-LD compacted with the project's context (pyoxigraph writes expanded JSON-LD
  only): built here with rdflib's JSON-LD ``Context`` choosing each key and value, and
  by rdflib's converter for what only it handles (blank nodes, lists).

The names of formats and their media types are :mod:`kg.registry`'s.

>>> import pyoxigraph as ox
>>> r = SelectResult(["n"], [(ox.Literal("3", datatype=ox.NamedNode(XSD + "integer")),)])
>>> format_result(r, "csv")
'n\\r\\n3\\r\\n'
>>> print(format_result(r, "tsv"), end="")
?n
"3"^^<http://www.w3.org/2001/XMLSchema#integer>
>>> print(format_result(r), end="")
n
─
3
1 row
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyoxigraph as ox

from kg.errors import KGError
from kg.namespaces import PREFIXES, XSD, shorten
from kg.project import Project
from kg.registry import RESULT_FORMATS
from kg.store.loading import ntriples
from kg.store.results import AskResult, GraphResult, Result, SelectResult, Term, answer_failed

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms; annotations need it only here
if TYPE_CHECKING:
    from typing import IO, Any

SELECT_FORMATS = tuple(n for n, f in RESULT_FORMATS.items() if f.kind in ("solutions", "text"))
GRAPH_FORMATS = tuple(n for n, f in RESULT_FORMATS.items() if f.kind == "graph")


# -- the JSON-LD context --------------------------------------------------------------


@cache
def _context(path: str) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return doc["@context"]
    except (OSError, ValueError, KeyError) as e:
        raise KGError(f"{path}: not a usable JSON-LD context: {e}") from None


def jsonld_context(project: Project | None = None) -> dict[str, Any]:
    """The project's JSON-LD ``@context`` (``ontology/context.jsonld``)."""
    project = project or Project.find()
    return _context(str(project.context_file))


# -- solutions ------------------------------------------------------------------------


def _as_table(result: SelectResult | AskResult) -> SelectResult:
    if isinstance(result, AskResult):
        value = ox.Literal(str(result.value).lower(), datatype=ox.NamedNode(XSD + "boolean"))
        return SelectResult(["boolean"], [(value,)])
    return result


def to_tsv(result: SelectResult | AskResult) -> str:
    """SPARQL TSV with every term in N-Triples syntax: the golden files' stable form."""
    result = _as_table(result)
    lines = ["\t".join("?" + v for v in result.variables)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def native_solutions(result: SelectResult | AskResult) -> ox.QuerySolutions | ox.QueryBoolean:
    """The answer as pyoxigraph's own results object, for its writers.

    Solutions pyoxigraph produced are handed over unread; solutions another engine
    produced are read back through their canonical TSV (:func:`to_tsv`).
    """
    if isinstance(result, AskResult):
        doc = '{"head":{},"boolean":%s}' % ("true" if result.value else "false")
        return ox.parse_query_results(doc, ox.QueryResultsFormat.JSON)  # type: ignore[return-value]
    native = result.take_native()
    if native is not None:
        return native
    if not result.variables:  # TSV cannot carry solutions without variables
        bindings = ",".join(["{}"] * len(result.rows))
        doc = '{"head":{"vars":[]},"results":{"bindings":[' + bindings + "]}}"
        return ox.parse_query_results(doc, ox.QueryResultsFormat.JSON)  # type: ignore[return-value]
    return ox.parse_query_results(to_tsv(result), ox.QueryResultsFormat.TSV)  # type: ignore[return-value]


def display(t: Term | None) -> str:
    """A short human form: prefixed IRIs, literal values without datatypes."""
    if t is None:
        return ""
    if isinstance(t, ox.NamedNode):
        return shorten(t.value)
    if isinstance(t, ox.BlankNode):
        return f"_:{t.value}"
    return t.value if t.language in (None, "", "en") else f"{t.value} @{t.language}"


def to_table(
    result: SelectResult | AskResult, *, width: int = 60, total: int | None = None
) -> str:
    """A plain aligned table; cells wider than their column fold onto more lines, at word
    boundaries where there are some. Columns are at most ``width`` wide; with ``total``
    (a terminal's width) the widest shrink until the table fits.

    Written by hand rather than with rich: this is the default output of a
    command people run dozens of times, and rich costs ~50 ms to import.
    """
    import textwrap

    result = _as_table(result)
    header = list(result.variables)
    rows = [[display(t) for t in row] for row in result.rows]
    widths = [min(width, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(header)]
    if total is not None:
        _fit(widths, header, rows, total - 2 * (len(widths) - 1))

    def fold(cells: list[str]) -> list[str]:
        chunks = [
            [c] if len(c) <= w else textwrap.wrap(c, w, break_on_hyphens=False) or [""]
            for c, w in zip(cells, widths, strict=True)
        ]
        height = max(len(c) for c in chunks)
        return [
            "  ".join(
                (c[k] if k < len(c) else "").ljust(w) for c, w in zip(chunks, widths, strict=True)
            ).rstrip()
            for k in range(height)
        ]

    lines = [*fold(header), "  ".join("─" * w for w in widths)]
    for row in rows:
        lines += fold(row)
    n = len(rows)
    return "\n".join(lines) + f"\n{n} row{'s' if n != 1 else ''}\n"


def _fit(widths: list[int], header: list[str], rows: list[list[str]], room: int) -> None:
    """Narrow ``widths`` in place until they sum to ``room``: first the widest column that
    still holds its longest word (text folds between words), then the widest of all."""
    floors = [
        max(len(w) for cell in [h, *(r[i] for r in rows)] for w in cell.split() or [""])
        for i, h in enumerate(header)
    ]
    while sum(widths) > room:
        text = [i for i, w in enumerate(widths) if w > floors[i]]
        pool = text or [i for i, w in enumerate(widths) if w > 8]
        if not pool:
            return
        widest = max(pool, key=lambda i: widths[i])
        widths[widest] -= 1


# -- graphs ---------------------------------------------------------------------------


def graph_bytes(
    triples: list[ox.Triple],
    fmt: str,
    *,
    context: str | dict[str, Any] | None = None,
    prefixes: dict[str, str] | None = None,
    presorted: bool = False,
) -> bytes:
    """Triples in ``fmt``, sorted, so equal graphs give equal bytes: the one writer of RDF
    graphs, for answers (CONSTRUCT, DESCRIBE), entity documents, service descriptions and
    exports. pyoxigraph writes every format but compacted JSON-LD (:func:`_compacted`);
    TriG and N-Quads put the triples in the named graph :data:`~kg.namespaces.GRAPH_IRI`.

    JSON-LD is compacted with the project's context, embedded (``context=None``), given
    (a dict), or referenced by URL (a string: the server's ``/context.jsonld``); its nodes
    and values are sorted. Turtle, TriG and RDF/XML declare the project's prefixes that
    the triples use, and ``prefixes`` (name → namespace) besides. ``presorted``: the
    triples are sorted already (the dumps, six writers of one graph sorted once: a sort
    costs 1.7 s at 230 synthetic pairs, ``python bench/dumps.py``).
    """
    if not presorted:
        triples = sorted(triples, key=str)
    spec = RESULT_FORMATS.get(fmt)
    if spec is None or spec.kind not in ("graph", "dataset"):
        raise KGError(
            f"unknown format {fmt!r} for a graph result; choose from {', '.join(GRAPH_FORMATS)}"
        )
    if fmt == "jsonld":
        return _jsonld(triples, context)
    if fmt in ("turtle", "rdfxml", "trig"):
        prefixes = {**_used_prefixes(triples), **(prefixes or {})}
    else:
        prefixes = None
    rdf_format = getattr(ox.RdfFormat, spec.pyoxigraph)
    if spec.kind == "dataset":
        from kg.namespaces import GRAPH_IRI

        graph = ox.NamedNode(GRAPH_IRI)
        # made as the writer reads them: a list of them first took twice as long (N-Quads:
        # 1.3 s instead of 0.65 s at 50 pairs)
        quads = (ox.Quad(s, p, o, graph) for s, p, o in triples)
        return ox.serialize(quads, format=rdf_format, prefixes=prefixes) or b""
    data = ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
    if fmt == "rdfxml":
        # an XML parser reads a raw CR (CR LF too) as LF, so a literal's CR is written as a
        # character reference; pyoxigraph 0.5 writes it raw (rdflib read "\r\n" back as "\n")
        data = data.replace(b"\r", b"&#13;")
    return data


def _used_prefixes(triples: list[ox.Triple]) -> dict[str, str]:
    """The project's prefixes that some IRI of ``triples`` starts with (the others would
    only add lines)."""
    iris = {t.value for tr in triples for t in tr if isinstance(t, ox.NamedNode)}
    iris |= {
        tr.object.datatype.value
        for tr in triples
        if isinstance(tr.object, ox.Literal) and not tr.object.language
    }
    return {p: ns for p, ns in PREFIXES.items() if any(i.startswith(ns) for i in iris)}


def _jsonld(triples: list[ox.Triple], context: str | dict[str, Any] | None) -> bytes:
    import json

    embedded = context if isinstance(context, dict) else jsonld_context()
    doc = _compacted(triples, embedded)  # in canonical order already
    if doc is None:  # what only rdflib's converter reads: blank nodes, lists, ...
        from rdflib import Graph

        graph = Graph(bind_namespaces="none")
        graph.parse(data=ntriples(triples), format="nt")
        text = graph.serialize(format="json-ld", context=embedded, auto_compact=True)
        doc = _canonical_json(json.loads(text))  # rdflib orders nodes by set iteration
    if isinstance(context, str) and isinstance(doc, dict) and "@context" in doc:
        doc["@context"] = context
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


class _Unsupported(Exception):
    """What :func:`_compacted` leaves to rdflib's converter."""


def _compacted(triples: list[ox.Triple], context: dict[str, Any]) -> Any:
    """The document rdflib's JSON-LD serializer makes of ``triples`` with ``context``
    (``auto_compact``; its choices of key and value are those of rdflib's ``Context``,
    asked once per predicate, datatype and language), or None for what it alone handles:
    blank nodes, lists, quoted triples, a context with a default language, ``@vocab``,
    ``@base``, reversed or language-tagged terms, or containers other than ``@language``
    and ``@set``.

    rdflib parsed the graph into its own store first and then built the document a triple
    at a time: its JSON-LD took 36 s of the 50-pair dumps' 49 s (420k triples), 174-196 s
    at 230 pairs (1.9 M); with this, 3.1-3.9 s and 17-23 s (``python bench/dumps.py``).
    It differs from rdflib only where rdflib's document lost a value, and which one
    depended on its set's order: rdflib put a second value of a key in place of the first
    when the first was falsy (0, false, an empty string), and began a ``@set`` language
    map with a null."""
    from rdflib import Literal, URIRef
    from rdflib.plugins.shared.jsonld.context import UNDEF, Context
    from rdflib.plugins.shared.jsonld.keys import ID, LANG, SET, VOCAB

    ctx = Context(context)
    if ctx.language or ctx.vocab or ctx.base or not ctx.active:
        return None
    if any(t.reverse or t.language or t.container - {LANG, SET} for t in ctx.terms.values()):
        return None
    id_key, type_key, value_key, lang_key = ctx.id_key, ctx.type_key, ctx.value_key, ctx.lang_key
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    rdf_type, first, rest = rdf + "type", rdf + "first", rdf + "rest"
    native = {XSD + n for n in ("boolean", "integer", "double", "string")}

    def key_of(p: str) -> str:  # the key of a predicate no term matched
        key = ctx.to_symbol(p) or p
        term = ctx.terms.get(key)
        return p if term and (term.type or term.container) else key

    def iri_rule(p: str) -> tuple[str, str, bool]:
        """(key, how the IRI is written: id, vocab, node or type, always a list)"""
        for coercion in (ID, VOCAB, UNDEF):
            term = ctx.find_term(p, coercion, None)  # type: ignore[arg-type]
            if term:
                break
        if not term:
            return (type_key, "type", False) if p == rdf_type else (key_of(p), "node", False)
        how = "id" if term.type == ID else "vocab" if term.type == VOCAB else "node"
        return term.name, how, SET in term.container

    def literal_rule(p: str, dt: str | None, lang: str | None) -> tuple[str, str, bool]:
        """(key, how the value is written: language map, lexical, raw; always a list)"""
        term = ctx.find_term(p, dt, language=lang)
        if not term:
            return (type_key if p == rdf_type else key_of(p)), "raw", False
        if LANG in term.container and lang:
            return term.name, "map", SET in term.container
        # rdflib keeps the literal itself (its lexical form) when the term's type is @id,
        # or the literal's datatype
        kept = term.type == ID or (term.type not in (UNDEF, VOCAB) and str(dt) == term.type)
        return term.name, "lexical" if kept else "raw", SET in term.container

    iri_rules: dict[str, tuple[str, str, bool]] = {}
    literal_rules: dict[tuple[str, str | None, str | None], tuple[str, str, bool]] = {}
    shrunk: dict[str, str] = {}
    symbols: dict[str, str] = {}
    typed: dict[tuple[str, str], tuple[str, Any]] = {}  # rdflib's lexical and Python value

    def shrink(iri: str) -> str:
        found = shrunk.get(iri)
        if found is None:
            found = shrunk[iri] = ctx.shrink_iri(iri)
        return found

    def symbol(iri: str) -> str:
        found = symbols.get(iri)
        if found is None:
            found = symbols[iri] = ctx.to_symbol(iri) or iri
        return found

    def literal_value(o: ox.Literal, dt: str | None, lang: str | None) -> tuple[str, Any]:
        """(the literal's lexical form as rdflib writes it, its raw JSON-LD value)"""
        if dt is None:
            return o.value, ({lang_key: lang, value_key: o.value} if lang else o.value)
        found = typed.get((o.value, dt))
        if found is None:
            lit = Literal(o.value, datatype=URIRef(dt))  # rdflib's normalised form
            if dt in native:
                value = lit.toPython()  # the literal itself when its form is not valid
                found = (str(lit), str(value) if isinstance(value, Literal) else value)
            else:
                found = (str(lit), {type_key: symbol(dt), value_key: str(lit)})
            typed[(o.value, dt)] = found
        return found

    nodes: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    subject, node, previous = None, {}, None
    try:
        for t in triples:
            if t == previous:
                continue
            previous = t
            s, p, o = t.subject, t.predicate.value, t.object
            if not isinstance(s, ox.NamedNode) or p in (first, rest):
                raise _Unsupported
            if s.value != subject:
                subject = s.value
                node_id = shrink(subject)
                if owners.setdefault(node_id, subject) != subject:  # two IRIs, one key
                    raise _Unsupported
                node = nodes.setdefault(node_id, {id_key: node_id})
            if isinstance(o, ox.NamedNode):
                rule = iri_rules.get(p)
                if rule is None:
                    rule = iri_rules[p] = iri_rule(p)
                key, how, many = rule
                value: Any = (shrink(o.value) if how == "id" else symbol(o.value)
                              if how in ("vocab", "type") else {id_key: shrink(o.value)})
            elif isinstance(o, ox.Literal) and not getattr(o, "direction", None):
                lang = o.language or None
                dt = None if lang or o.datatype.value == XSD + "string" else o.datatype.value
                rule = literal_rules.get((p, dt, lang))
                if rule is None:
                    rule = literal_rules[(p, dt, lang)] = literal_rule(p, dt, lang)
                key, how, many = rule
                if how == "map":
                    values = node.setdefault(key, {})
                    if not isinstance(values, dict):
                        raise _Unsupported
                    if lang in values:
                        if not isinstance(values[lang], list):
                            values[lang] = [values[lang]]
                        values[lang].append(o.value)
                    else:
                        values[lang] = [o.value] if many else o.value
                    continue
                lexical, raw = literal_value(o, dt, lang)
                value = lexical if how == "lexical" else raw
            else:
                raise _Unsupported
            if key in node:
                if not isinstance(node[key], list):
                    node[key] = [node[key]]
                node[key].append(value)
            else:
                node[key] = [value] if many else value
    except _Unsupported:
        return None
    # in :func:`_canonical_json`'s order (keys are sorted as the document is written):
    # 7 s of 22 at 230 pairs when that made the whole document again
    import json

    key = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    for node in nodes.values():
        for value in node.values():
            if isinstance(value, list):
                value.sort(key=key)
            elif isinstance(value, dict):  # a language map; a node or a value has no list
                for values in value.values():
                    if isinstance(values, list):
                        values.sort(key=key)
    # one node is the document itself, as rdflib writes it
    doc = next(iter(nodes.values())) if len(nodes) == 1 else {
        ctx.graph_key: sorted(nodes.values(), key=key)}
    doc["@context"] = _canonical_json(context)
    return doc


def _canonical_json(value: Any, key: Any = None) -> Any:
    """Keys sorted, and every array sorted (the graph's JSON-LD uses no @list) by its
    items' JSON with sorted keys."""
    if key is None:
        import json

        # one encoder for every item (json.dumps made a new one for each)
        key = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    if isinstance(value, dict):
        return {k: _canonical_json(v, key) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return sorted((_canonical_json(v, key) for v in value), key=key)
    return value


# -- any answer -----------------------------------------------------------------------


def write(
    result: Result,
    fmt: str | None = None,
    output: IO[bytes] | None = None,
    *,
    columns: int | None = None,
) -> bytes | None:
    """``result`` in ``fmt`` (default: table for solutions, Turtle for graphs), as bytes, or
    streamed into ``output`` (then ``None``); a table fits in ``columns`` when given.
    Solutions pyoxigraph produced are written by pyoxigraph without being read into
    Python first."""
    if isinstance(result, GraphResult):
        data = graph_bytes(result.triples, fmt or "turtle")
    else:
        fmt = fmt or "table"
        spec = RESULT_FORMATS.get(fmt)
        if isinstance(result, AskResult) and fmt == "csv":
            result = _as_table(result)  # a one-cell table, as TSV has it
        if fmt == "table":
            data = to_table(result, total=columns).encode()
        elif fmt == "tsv":
            data = to_tsv(result).encode()
        elif spec is not None and spec.kind == "solutions":
            native = native_solutions(result)
            qformat = getattr(ox.QueryResultsFormat, spec.pyoxigraph)
            try:
                if output is not None:
                    native.serialize(output, format=qformat)
                    return None
                data = native.serialize(format=qformat) or b""
            except OSError as e:
                if isinstance(e, BrokenPipeError):
                    raise
                raise answer_failed(e) from None
        else:
            raise KGError(
                f"unknown format {fmt!r} for query solutions; "
                f"choose from {', '.join(SELECT_FORMATS)}"
            )
    if output is None:
        return data
    output.write(data)
    return None


def format_result(result: Result, fmt: str | None = None) -> str:
    """``result`` as text in ``fmt`` (default: table for solutions, Turtle for graphs).

    >>> import kg
    >>> res = kg.query("visits-to", {"state": "Israel"})
    >>> print(format_result(res, "csv").splitlines()[0])
    state,visit,year,date,visitor,office,from
    >>> print(format_result(AskResult(True), "json"))
    {"head":{},"boolean":true}
    """
    return (write(result, fmt) or b"").decode("utf-8")
