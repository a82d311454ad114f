"""Saved queries: ``queries/*.rq`` with a grlc-style header.

Each file is plain SPARQL that starts with comment lines::

    #+ summary: one line
    #+ description: a few sentences
    #+ param: state resource
    #+ param: limit integer 10

A parameter is a SPARQL variable (``?state``) that the engine binds to an RDF
term; the value is never pasted into the query text. Parameter types:

- ``resource``: an IRI, a prefixed name (``state:japan``) or a label (``Japan``)
  that names exactly one resource of the graph;
- ``iri``: an IRI or prefixed name;
- ``string``, ``integer``, ``year`` (xsd:gYear), ``date`` (xsd:date).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pyoxigraph as ox

from kg.engine import Engine, Result, SelectResult, Term
from kg.errors import KGError
from kg.namespaces import expand
from kg.project import Project

PARAM_TYPES = ("resource", "iri", "string", "integer", "year", "date")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*?)\s*$")


class Param(NamedTuple):
    name: str
    type: str
    default: str | None = None


class SavedQuery(NamedTuple):
    name: str
    text: str
    summary: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    tags: tuple[str, ...] = ()
    path: Path | None = None

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
    meta: dict[str, str] = {}
    params: list[Param] = []
    where = path or name
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2)
        if key == "param":
            parts = value.split(maxsplit=2)
            if len(parts) < 2 or parts[1] not in PARAM_TYPES:
                raise KGError(
                    f"{where}:{lineno}: '#+ param:' wants NAME TYPE [default] "
                    f"with TYPE one of {', '.join(PARAM_TYPES)}"
                )
            params.append(Param(parts[0], parts[1], parts[2] if len(parts) > 2 else None))
        else:
            meta[key] = f"{meta[key]} {value}".strip() if key in meta else value
    tags = tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip())
    return SavedQuery(
        name=name,
        text=text,
        summary=meta.get("summary", ""),
        description=meta.get("description", ""),
        params=tuple(params),
        tags=tags,
        path=path,
    )


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
    close = difflib.get_close_matches(name_or_file, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; 'kg queries' lists them"
    raise KGError(f"no saved query named {name_or_file!r}{hint}")


_LABEL_LOOKUP = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?s ?text WHERE {
  { ?s rdfs:label ?l } UNION { ?s skos:altLabel ?l }
  FILTER(LCASE(STR(?l)) = LCASE(STR(?text)))
} ORDER BY ?s
"""


def resolve_resource(value: str, engine: Engine, *, what: str = "resource") -> ox.NamedNode:
    """An IRI, prefixed name or label, resolved to exactly one resource of the graph."""
    iri = _as_iri(value)
    if iri is not None:
        return iri
    res = engine.query(_LABEL_LOOKUP, {"text": ox.Literal(value)})
    assert isinstance(res, SelectResult)
    found = [row[0] for row in res.rows if isinstance(row[0], ox.NamedNode)]
    if not found:
        raise KGError(f"{what}: no resource labelled {value!r}")
    if len(found) > 1:
        names = ", ".join(f"<{n.value}>" for n in found[:5])
        raise KGError(f"{what}: {value!r} names {len(found)} resources ({names}); give an IRI")
    return found[0]


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


def check_params(query: SavedQuery, values: Mapping[str, str]) -> None:
    """Refuse unknown parameters and missing ones without a default (no graph needed)."""
    declared = [p.name for p in query.params]
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise KGError(
            f"unknown parameter {unknown[0]!r} for query {query.name!r} "
            f"(its parameters: {', '.join(declared) or 'none'})"
        )
    for p in query.params:
        if p.name not in values and p.default is None:
            raise KGError(
                f"query {query.name!r} needs parameter {p.name!r} ({p.type}): "
                f"add --param {p.name}=VALUE"
            )


def bind_params(query: SavedQuery, values: Mapping[str, str], engine: Engine) -> dict[str, Term]:
    """Turn ``name=value`` strings into RDF terms for the query's declared parameters."""
    check_params(query, values)
    return {
        p.name: _convert(p, values.get(p.name, p.default), engine)  # type: ignore[arg-type]
        for p in query.params
    }


def _convert(p: Param, raw: str, engine: Engine) -> Term:
    bad = KGError(f"parameter {p.name!r}: {raw!r} is not a valid {p.type}")
    if p.type == "resource":
        return resolve_resource(raw, engine, what=f"parameter {p.name!r}")
    if p.type == "iri":
        iri = _as_iri(raw)
        if iri is None:
            raise bad
        return iri
    if p.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", raw.strip()):
            raise bad
        return ox.Literal(str(int(raw)), datatype=ox.NamedNode(_XSD + "integer"))
    if p.type == "year":
        if not re.fullmatch(r"\d{4}", raw.strip()):
            raise bad
        return ox.Literal(raw.strip(), datatype=ox.NamedNode(_XSD + "gYear"))
    if p.type == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            raise bad
        return ox.Literal(raw.strip(), datatype=ox.NamedNode(_XSD + "date"))
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
) -> Result:
    """Run a saved query (by name or file) or inline ``text``, with bound parameters.

    Queries tagged ``network`` (they use SERVICE) run only with ``allow_network``;
    ``service_map`` sends a SERVICE endpoint elsewhere (a mirror or a test double).

    >>> res = query("visits-to", {"state": "Japan"})          # doctest: +SKIP
    """
    from kg.engine import open_engine

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
    return engine.query(redirect_services(saved.text, service_map or {}), bindings)


def redirect_services(text: str, service_map: Mapping[str, str]) -> str:
    """Point ``SERVICE <from>`` at another endpoint (a mirror, or a test double)."""
    for source, target in service_map.items():
        pattern = rf"(SERVICE\s+(?:SILENT\s+)?)<{re.escape(source)}>"
        text = re.sub(pattern, lambda m, t=target: f"{m.group(1)}<{t}>", text, flags=re.I)
    return text
