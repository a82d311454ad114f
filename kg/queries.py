"""Saved queries: ``queries/*.rq`` with a grlc-style header.

Each file is plain SPARQL that starts with ``#+`` comment lines which, with
the ``#+ `` taken off, are YAML (a subset: see :func:`read_header`)::

    #+ summary: one line
    #+ description: >-
    #+   a few sentences,
    #+   on as many indented lines as needed
    #+ params:
    #+   state: resource
    #+   limit: integer 10
    #+ tags: [visits, people]

A parameter is a SPARQL variable (``?state``) that the engine binds to an RDF
term; the value is never pasted into the query text. Parameter types:

- ``resource``: an IRI, a prefixed name (``state:japan``) or a label (``Japan``;
  case, accents and the marks between words do not count) that names exactly one
  resource of the graph;
- a class of the ontology (``ij:State``): a resource, as above, that is of that
  class, so that ``Shinzo Abe`` for a state is an error that says what he is
  rather than an empty answer;
- ``iri``: an IRI or prefixed name;
- ``string``, ``integer``, ``year`` (xsd:gYear), ``date`` (xsd:date).

A value left empty (the query page sends its fields even so) is not given, but for a
string.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping
from pathlib import Path

import pyoxigraph as ox

from kg import sparql
from kg.errors import KGError, clip
from kg.namespaces import WIKIDATA_ENTITY, XSD, expand, id_path, shorten, wikidata_item
from kg.project import Project
from kg.sparqltext import page, redirect_services
from kg.store import Engine, Result, SelectResult, Term, open_engine

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms; annotations need it only here
if TYPE_CHECKING:
    from typing import Any

PARAM_TYPES = ("resource", "iri", "string", "integer", "year", "date")


#: a declared parameter: its name (a variable of the query), type, default (or None)
Param = namedtuple("Param", "name type default", defaults=(None,))


class SavedQuery(
    namedtuple(
        "SavedQuery",
        "name text summary description params tags path",
        defaults=("", "", (), (), None),
    )
):
    """A query with its header: ``params`` is a tuple of :data:`Param`, ``tags`` of
    strings, ``path`` the file it came from (None for inline text)."""

    __slots__ = ()

    @property
    def needs_network(self) -> bool:
        return "network" in self.tags


def parse_query_file(path: Path) -> SavedQuery:
    """Read one saved query and its header; a bad header is an error naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KGError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return parse_query_text(text, name=path.stem, path=path)


def parse_query_text(text: str, *, name: str = "<inline>", path: Path | None = None) -> SavedQuery:
    r"""A query and its header (see the module's documentation); a bad header is an error
    naming its line.

    >>> q = parse_query_text(
    ...     "#+ summary: Visits to one state\n"
    ...     "#+ description: >-\n"
    ...     "#+   The visits whose destination\n"
    ...     "#+   is the given state.\n"
    ...     "#+ params:\n"
    ...     "#+   state: resource\n"
    ...     "#+   limit: integer 10\n"
    ...     "#+ tags: [visits]\n"
    ...     "SELECT * WHERE { ?visit ?p ?state } LIMIT 10\n"
    ... )
    >>> q.summary, q.description
    ('Visits to one state', 'The visits whose destination is the given state.')
    >>> [(p.name, p.type, p.default) for p in q.params]
    [('state', 'resource', None), ('limit', 'integer', '10')]
    >>> q.tags
    ('visits',)
    """
    meta = read_header(text, where=str(path or name))
    params = []
    for pname, spec in (meta.get("params") or {}).items():
        parts = str(spec).split(maxsplit=1)
        if not parts or not (parts[0] in PARAM_TYPES or _is_class_name(parts[0])):
            line = next((n for n, t in header_lines(text) if t.strip().startswith(pname + ":")), 0)
            raise KGError(
                f"{path or name}:{line}: parameter {pname!r} wants 'TYPE [default]' "
                f"with TYPE one of {', '.join(PARAM_TYPES)} or a class (ij:State)"
            )
        params.append(Param(pname, parts[0], parts[1] if len(parts) > 1 else None))
    return SavedQuery(
        name=name,
        text=text,
        summary=str(meta.get("summary", "")),
        description=str(meta.get("description", "")),
        params=tuple(params),
        tags=tuple(meta.get("tags") or ()),
        path=path,
    )


_KEYS = ("summary", "description", "params", "tags")


def read_header(text: str, *, where: str = "<inline>") -> dict[str, Any]:
    """The ``#+`` header of a query as data: the subset of YAML that headers use (plain and
    quoted one-line strings, a ``>-`` folded block, a mapping of one-line strings, a flow
    list), read without a YAML library (PyYAML's import would cost a cold ``kg query``
    ~15 ms). tests/test_queries.py checks that ``yaml.safe_load`` reads every saved
    query's header the same.
    """
    lines = header_lines(text)
    meta: dict[str, Any] = {}
    i = 0
    while i < len(lines):
        lineno, line = lines[i]
        m = _KEY.match(line)
        if not m or m.group(1) not in _KEYS:
            raise KGError(
                f"{where}:{lineno}: a header line is 'KEY: value' with KEY one of "
                f"{', '.join(_KEYS)}" + (" (one 'params:' block)" if "param" in line else "")
            )
        key, value = m.group(1), m.group(2)
        if key in meta:
            raise KGError(
                f"{where}:{lineno}: {key!r} given twice; a long value is one "
                f"'{key}: >-' block of indented lines"
            )
        block = []
        while i + 1 < len(lines) and lines[i + 1][1].startswith(" "):
            i += 1
            block.append(lines[i])
        meta[key] = _value(key, value, block, where, lineno)
        i += 1
    return meta


_KEY = re.compile(r"^(\w+):(?:\s+(.*?))?\s*$")


def header_lines(text: str) -> list[tuple[int, str]]:
    """The header's lines (numbered from 1) with their ``#+ `` taken off: the YAML text."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#+"):
            break
        out.append((lineno, line[3:] if line.startswith("#+ ") else line[2:]))
    return out


def _value(key: str, value: str | None, block: list, where: str, lineno: int) -> Any:
    bad = KGError(f"{where}:{lineno}: cannot read the value of {key!r}")
    if value in (">-", ">"):
        return " ".join(line.strip() for _, line in block)
    if block:
        if value:
            raise bad
        mapping = {}
        for n, line in block:
            m = _KEY.match(line.strip())
            if not m or not m.group(2):
                raise KGError(f"{where}:{n}: under {key!r}, write 'NAME: value'")
            mapping[m.group(1)] = _scalar(m.group(2))
        return mapping
    if value is None:
        return None
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(v.strip()) for v in value[1:-1].split(",") if v.strip()]
    return _scalar(value)


def _scalar(value: str) -> str:
    if len(value) > 1 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) > 1 and value[0] == value[-1] == '"':
        import json

        return json.loads(value)
    return value


def list_queries(project: Project | None = None) -> list[SavedQuery]:
    """Every saved query of the project, by name."""
    project = project or Project.find()
    return [parse_query_file(p) for p in sorted(project.queries_dir.glob("*.rq"))]


def find_query(name_or_file: str, project: Project | None = None) -> SavedQuery:
    """A saved query by name (file stem in queries/) or a path to a ``.rq`` file."""
    project = project or Project.find()
    path = Path(name_or_file)
    if path.suffix in (".rq", ".sparql") or path.is_file():
        if not path.is_file():
            raise KGError(f"{path}: no such query file")
        return parse_query_file(path)
    candidate = project.queries_dir / f"{name_or_file}.rq"
    if candidate.is_file():
        return parse_query_file(candidate)
    import difflib

    names = [p.stem for p in project.queries_dir.glob("*.rq")]
    close = difflib.get_close_matches(name_or_file[:100], names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; 'kg queries' lists them"
    raise KGError(f"no saved query named {clip(name_or_file)!r}{hint}")


def resolve_resource(
    value: str,
    engine: Engine,
    *,
    what: str = "resource",
    prefer: Callable[[ox.NamedNode], bool] | None = None,
    in_graph: bool = False,
) -> ox.NamedNode:
    """An IRI, prefixed name or label, resolved to exactly one resource of the graph; when
    a label names several, the one ``prefer`` accepts, if only one is. With ``in_graph``,
    an IRI the graph holds no triple of is refused too (a label is the graph's already)."""
    iri = _as_iri(value.strip())
    if iri is not None:
        return _require_in_graph(iri, engine, what=what) if in_graph else iri
    res = engine.query(sparql.load("label-lookup"), {"text": ox.Literal(value.strip())})
    assert isinstance(res, SelectResult)
    found = [row[0] for row in res.rows if isinstance(row[0], ox.NamedNode)]
    if not found:  # Shinzō Abe for Shinzo Abe: accents, which SPARQL cannot fold
        found = _folded_matches(value, engine)
    if not found:  # person/shinzo-abe: the id /reconcile and /search give
        named = _by_id_path(value.strip(), engine)
        if named is not None:
            return named
        instead = wikidata_instead(value, engine)
        if instead:
            raise KGError(f"{what}: no resource labelled {clip(value)!r}; {instead}")
        close = _close_labels(value, engine)
        raise KGError(f"{what}: no resource labelled {clip(value)!r}{_did_you_mean(close)}")
    if len(found) > 1 and prefer is not None:
        preferred = [n for n in found if prefer(n)]
        if len(preferred) == 1:
            return preferred[0]
    if len(found) > 1:
        names = " or ".join(shorten(n.value) for n in found[:5])  # each a name it accepts
        raise KGError(f"{what}: {value!r} names {len(found)} resources: give {names}")
    return found[0]


def _by_id_path(value: str, engine: Engine) -> ox.NamedNode | None:
    """The resource whose IRI is ``value`` under ``…/id/`` (``person/shinzo-abe``, the id
    the reconciliation service and ``/search`` give), if the graph holds it; else None."""
    iri = id_path(value)
    if iri is None:
        return None
    node = ox.NamedNode(iri)
    return node if engine.select(sparql.load("mentions"), {"this": node}) else None


def wikidata_instead(value: str, engine: Engine) -> str | None:
    """When ``value`` is a Wikidata item (``Q17``, ``wd:Q17``, its page's address), what to
    give instead: ``Q17 is Wikidata's item for Japan: give state:japan``, the resources
    linked to it by ``skos:exactMatch``; None for any other value."""
    qid = wikidata_item(value)
    if qid is None:
        return None
    rows = engine.select(sparql.load("linked-to"), {"this": ox.NamedNode(WIKIDATA_ENTITY + qid)})
    linked = [(shorten(s.value), label.value if label else shorten(s.value))
              for _, s, label in rows if s is not None]  # fmt: skip
    if not linked:
        return (f"{qid} is a Wikidata item that no resource of the graph is linked to "
                "('kg link report' lists the links)")  # fmt: skip
    return (f"{qid} is Wikidata's item for {' and '.join(label for _, label in linked)}: "
            f"give {' or '.join(name for name, _ in linked)}")  # fmt: skip


#: every label of an engine's graph, read and folded once per engine (weakly held)
_LABELS: weakref.WeakKeyDictionary[Engine, list[tuple[str, str, str, tuple[str, ...]]]] = (
    weakref.WeakKeyDictionary())


def _labels(engine: Engine) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(resource, label, folded label, its words) for every label of the graph. Read once per
    engine: only a name the graph lacks needs them, and reading and folding them took
    0.9-1.5 s at 230 pairs (88,000 labels) for each such name."""
    from kg.names import fold  # only when no label matches as typed: not a cold import

    with contextlib.suppress(KeyError):
        return _LABELS[engine]
    rows = []
    for s, label in engine.select(sparql.load("labels")):
        if label is not None:
            folded = fold(label.value)
            rows.append((s.value, label.value, folded, tuple(re.findall(r"\w+", folded))))
    _LABELS[engine] = rows
    return rows


def _folded_matches(value: str, engine: Engine) -> list[ox.NamedNode]:
    """The resources with a label of the same words as ``value`` once case, accents and the
    marks between words are taken off (Israel-Japan relations for Israel–Japan relations)."""
    from kg.names import fold

    want = tuple(re.findall(r"\w+", fold(value)))
    if not want:
        return []
    found = {s for s, _, _, words in _labels(engine) if words == want}
    return [ox.NamedNode(iri) for iri in sorted(found)]


def _did_you_mean(names: list[str]) -> str:
    """``; did you mean …?`` offering ``names``, each quoted when several (names hold commas)."""
    if len(names) < 2:
        return f"; did you mean {names[0]}?" if names else ""
    return f"; did you mean {', '.join(map(repr, names[:-1]))} or {names[-1]!r}?"


def _close_labels(value: str, engine: Engine, among: set[str] | None = None) -> list[str]:
    """Up to three labels of the graph (of the resources ``among``, if given) that come close
    to ``value`` (no case, no accents)."""
    import difflib

    from kg.names import fold  # only on this error path: it is not a cold import

    labels: dict[str, str] = {}
    words: dict[str, tuple[str, ...]] = {}  # each folded label's words, as _labels split them
    for s, label, folded, its_words in _labels(engine):
        if among is None or s in among:
            labels.setdefault(folded, label)
            words.setdefault(folded, its_words)
    # the names holding its words first (Abe, Peres, Tokyo embassy), then those with words
    # that start with them (Work-Holiday: Working holiday agreement), the shortest first;
    # then names spelt alike (Japn). Words of one letter do not count
    folded_value = fold(value)
    wanted = set(re.findall(r"\w\w+", folded_value))  # not the s of Japan's
    ranked = []
    for k in labels:
        have = set(words[k])
        starts = all(w in have or (len(w) > 2 and any(h.startswith(w) for h in have))
                     for w in wanted)  # fmt: skip
        if wanted and starts:
            ranked.append((not wanted <= have, len(k), k))
    alike = difflib.get_close_matches(folded_value, labels, n=3, cutoff=0.7)
    return [labels[k] for k in dict.fromkeys([k for *_, k in sorted(ranked)] + alike)][:3]


def _as_iri(value: str) -> ox.NamedNode | None:
    """``value`` as an IRI (``<…>``, absolute, or a prefixed name); None if it is none of them.

    An IRI that is written as one but is not valid (``http://a<b>``) is an error,
    not a label to look up.
    """
    raw = value
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I):
        full: str | None = value
    else:
        full = expand(value) if " " not in value else None
    if not full:
        return None
    try:
        return ox.NamedNode(full)
    except ValueError:
        raise KGError(f"{raw!r} is not a valid IRI") from None


def _is_class_name(text: str) -> bool:
    """A prefixed name of a project prefix, such as ``ij:State`` (a class-typed parameter)."""
    return bool(re.fullmatch(r"[A-Za-z][\w-]*:[A-Z][\w-]*", text)) and bool(expand(text))


def resources_of_class(
    type_name: str, *, engine: Engine | None = None, project: Project | None = None
) -> list[str]:
    """The prefixed names of the resources a parameter typed ``type_name`` (a class such as
    ``ij:State``) accepts; empty for other types. Tab completion offers them."""
    if not _is_class_name(type_name):
        return []
    engine = engine or open_engine(project=project)
    want = ox.NamedNode(expand(type_name))  # type: ignore[arg-type]
    rows = engine.select(sparql.load("instances"), {"want": want})
    return sorted(shorten(r[1].value) for r in rows if r[1] is not None)


def _classes(node: ox.NamedNode, p: Param, engine: Engine) -> tuple[bool, list[Any]]:
    """Whether ``node`` is of the class ``p.type`` (or a subclass), and its classes."""
    want = ox.NamedNode(expand(p.type))  # type: ignore[arg-type]
    rows = engine.select(sparql.load("classes-of"), {"this": node, "want": want})
    # the class itself, or a subclass; Virtuoso writes the EXISTS as 1, the others as true
    return any(c == want or (m is not None and m.value in ("true", "1"))
               for _, _, c, _, m in rows), rows  # fmt: skip


def _of_class(node: ox.NamedNode, raw: str, p: Param, engine: Engine) -> ox.NamedNode:
    """``node`` if it is of the class ``p.type`` (or a subclass); else an error naming what
    it is, instead of an answer with no rows."""
    fits, rows = _classes(node, p, engine)
    if fits:
        return node
    name = shorten(node.value)
    name = name if raw.strip() in (name, node.value, f"<{node.value}>") else f"{raw} ({name})"
    want = ox.NamedNode(expand(p.type))  # type: ignore[arg-type]
    named = engine.select(sparql.load("label-of"), {"this": want})
    wanted = _a(_class_name(want.value, named[0][1] if named else None))
    if not rows:
        instead = wikidata_instead(node.value, engine)
        if instead:  # wd:Q17 is in the graph, as Japan's link: it is no State of it
            raise KGError(f"parameter {p.name!r}: {name} is not {wanted} of this graph; {instead}")
        raise KGError(f"parameter {p.name!r}: {name} is not in the graph; {wanted} is wanted")
    kinds = sorted({_class_name(c.value, lab) for _, _, c, lab, _ in rows if c})
    # Defence for a section: the sections spelt alike, or holding its words (Defense)
    of_class = {r.value for _, r in engine.select(sparql.load("instances"), {"want": want}) if r}
    hint = _did_you_mean(_close_labels(raw, engine, among=of_class))
    raise KGError(
        f"parameter {p.name!r}: {name} is {' and '.join(map(_a, kinds))}, not {wanted}{hint}"
    )


def _require_in_graph(node: ox.NamedNode, engine: Engine, *, what: str) -> ox.NamedNode:
    """``node`` if a triple of the graph holds it; else an error that starts with ``what``
    (the command or parameter the user gave it) and offers the names closest to its last
    segment (person:netanyahu), instead of an answer with no rows."""
    if engine.select(sparql.load("mentions"), {"this": node}):
        return node
    name = shorten(node.value)
    instead = wikidata_instead(node.value, engine)
    if instead:  # a Wikidata page's address: www.wikidata.org/wiki/Q17
        raise KGError(f"{what}: {name} is not in the graph; {instead}")
    words = re.split(r"[/#:]", node.value.rstrip("/#"))[-1].replace("-", " ")
    close = _close_labels(words, engine) if words.strip() else []
    raise KGError(f"{what}: {name} is not in the graph{_did_you_mean(close)}")


def _class_name(iri: str, label: Any) -> str:
    """A class as a reader names it: its English label, else its IRI's last segment in
    words (schema:City, whose label the graph does not hold: City; EventSeries: Event
    series), not a prefixed name."""
    if label is not None and label.value:
        return label.value
    local = re.split(r"[/#:]", iri.rstrip("/#"))[-1]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local)
    return words[:1] + words[1:].lower()


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "AEIOU" else "a ") + noun


def check_params(
    query: SavedQuery, values: Mapping[str, str], *, add: str = "--param {}=VALUE"
) -> None:
    """Refuse unknown parameters and missing ones without a default (no graph needed);
    ``add`` says how to give one where it is asked (the command line's ``--param``)."""
    declared = [p.name for p in query.params]
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise KGError(
            f"unknown parameter {unknown[0]!r} for query {query.name!r} "
            f"(its parameters: {', '.join(declared) or 'none'})"
        )
    for p in query.params:
        if _given(p, values) is None and p.default is None:
            empty = " (it was given empty)" if p.name in values else ""
            raise KGError(
                f"query {query.name!r} needs parameter {p.name!r} ({p.type}){empty}: "
                f"add {add.format(p.name)}"
            )


def _given(p: Param, values: Mapping[str, str]) -> str | None:
    """The value given for ``p``; None if none is, or (but for a string) only blanks: the
    query page sends its fields even when left empty."""
    raw = values.get(p.name)
    return None if raw is None or (p.type != "string" and not raw.strip()) else raw


def bind_params(
    query: SavedQuery, values: Mapping[str, str], engine: Engine, *, add: str = "--param {}=VALUE"
) -> dict[str, Term]:
    """Turn ``name=value`` strings into RDF terms for the query's declared parameters."""
    check_params(query, values, add=add)
    bound = {}
    for p in query.params:
        raw = _given(p, values)
        bound[p.name] = _convert(p, p.default if raw is None else raw, engine)
    return bound


def _convert(p: Param, raw: str, engine: Engine) -> Term:
    bad = KGError(f"parameter {p.name!r}: {raw!r} is not a valid {p.type}")
    if p.type == "resource":
        return resolve_resource(raw, engine, what=f"parameter {p.name!r}", in_graph=True)
    if _is_class_name(p.type):  # "Defense" names a section and a topic: by-section's is clear
        node = resolve_resource(raw, engine, what=f"parameter {p.name!r}",
                                prefer=lambda n: _classes(n, p, engine)[0])
        return _of_class(node, raw, p, engine)
    if p.type == "iri":
        iri = _as_iri(raw)
        if iri is None:
            raise bad
        return iri
    if p.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", raw.strip()):
            raise bad
        return ox.Literal(str(int(raw)), datatype=ox.NamedNode(XSD + "integer"))
    if p.type == "year":
        if not re.fullmatch(r"\d{4}", raw.strip()):
            raise bad
        return ox.Literal(raw.strip(), datatype=ox.NamedNode(XSD + "gYear"))
    if p.type == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            raise bad
        return ox.Literal(raw.strip(), datatype=ox.NamedNode(XSD + "date"))
    return ox.Literal(raw)


def query(
    name_or_file: str | None = None,
    params: Mapping[str, str] | None = None,
    *,
    text: str | None = None,
    engine: Engine | None = None,
    project: Project | None = None,
    allow_network: bool = False,
    service_map: Mapping[str, str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Result:
    """Run a saved query (by name or file) or inline ``text``, with bound parameters.

    Queries tagged ``network`` (they use SERVICE) run only with ``allow_network``;
    ``service_map`` sends a SERVICE endpoint elsewhere (a mirror or a test double).
    ``limit`` and ``offset`` answer one page of a long answer, in the query's own order.

    >>> res = query("visits-to", {"state": "Japan"})
    >>> sorted({row[0].value for row in res.rows})
    ['https://w3id.org/israel-japan-kg/id/state/japan']
    """
    if (name_or_file is None) == (text is None):
        raise KGError("give a saved query name, a query file, or inline text (-e), not both")
    saved = (
        parse_query_text(text) if text is not None else find_query(name_or_file, project)  # type: ignore[arg-type]
    )
    if saved.needs_network and not allow_network:
        raise KGError(
            f"query {saved.name!r} asks a remote SPARQL service (SERVICE); "
            "allow it with --allow-network"
        )
    engine = engine or open_engine(project=project)
    bindings = bind_params(saved, params or {}, engine)
    text = saved.text
    if "*" in text:  # SELECT *: columns in the pattern's order (kg.querylint costs a cold
        from kg.querylint import explicit_projection  # kg query 5 ms to import: only then)

        text = explicit_projection(text)
    text = redirect_services(text, service_map or {})
    text = page(text, limit, offset)
    return engine.query(text, bindings)
