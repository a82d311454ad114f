"""Data extension for the reconciliation service (W3C Reconciliation Service API 0.2):
once OpenRefine has matched a column to this graph's resources, it adds columns of their
facts, such as each person's offices or each resource's Wikidata item.

- :func:`propose` lists the properties the resources of a type hold (OpenRefine's
  "Add columns from reconciled values" dialog), with ``wikidata``, the linked item;
- :func:`parse_request` checks an ``extend`` request (ids and properties, within limits);
- :func:`extend` answers it: for each id, each property's values, a resource as
  ``{"id", "name"}`` (an id of this service), a Wikidata item, a date, a number or a
  boolean as such, and any other literal as ``{"str"}``.

Ids and properties are the reconciliation service's (:mod:`kg.reconciliation`): paths under
``https://w3id.org/israel-japan-kg/id/`` and the ontology's local names.

>>> parse_request('{"ids": ["person/shinzo-abe"], "properties": [{"id": "heldOffice"}]}',
...               known={"heldOffice": "held office"})
(['person/shinzo-abe'], ['heldOffice'])
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pyoxigraph as ox

from kg import boundedjson, sparql
from kg.errors import KGError, clip
from kg.namespaces import ID, IJ, SKOS_EXACT_MATCH, WIKIDATA_ENTITY, XSD, id_path
from kg.reconciliation import term_named
from kg.store import Engine

#: the property giving each resource's Wikidata item (its ``skos:exactMatch``)
WIKIDATA = "wikidata"
#: the most ids and properties one request may ask for: each id is one query of the
#: workers, run as a page's are (the pages' share of the pool, not the client's), so a
#: request is held to a few pages' worth; OpenRefine asks for 10 rows at a time
MAX_IDS, MAX_PROPERTIES = 50, 50
_FLAGS = {"inferred", "fromGeneralKnowledge"}
_INTEGERS = {XSD + t for t in ("integer", "int", "long", "nonNegativeInteger",
                               "positiveInteger", "short")}  # fmt: skip


def properties(engine: Engine) -> dict[str, dict[str, int]]:
    """For each class (local name), the properties its resources hold and how many hold
    each: read once, a scan of the graph."""
    held: dict[str, dict[str, int]] = {}
    for klass, p, n in engine.select(sparql.load("extend-properties")):
        held.setdefault(klass.value[len(IJ):], {})[p.value[len(IJ):]] = int(n.value)
    return held


def propose(held: Mapping[str, Mapping[str, int]], ancestors: Mapping[str, set[str]],
            labels: Mapping[str, str], type_: str, limit: int = 50) -> list[dict[str, str]]:
    """The properties to offer for ``type_`` (a class's local name): those held by its
    resources and its subclasses' (an Envoy's for Person), the most held first, after the
    Wikidata item; ``[]`` for a type the graph has not."""
    counts: dict[str, int] = {}
    for klass, props in held.items():
        if type_ == klass or type_ in ancestors.get(klass, set()):
            for p, n in props.items():
                counts[p] = counts.get(p, 0) + n
    if not counts:
        return []
    # the flags naming a property (ij:inferred …) are about the data, not facts to add
    ranked = sorted((p for p in counts if p not in _FLAGS), key=lambda p: (-counts[p], p))
    out = [{"id": WIKIDATA, "name": "Wikidata item"}]
    out += [{"id": p, "name": labels.get(p, p)} for p in ranked]
    return out[:limit]


def parse_request(raw: str, known: Mapping[str, str],
                  max_bytes: int = boundedjson.MAX_BYTES) -> tuple[list[str], list[str]]:
    """The ``extend`` parameter, checked: ``{"ids": [...], "properties": [{"id": ...}]}``
    with at most :data:`MAX_IDS` ids and :data:`MAX_PROPERTIES` properties, each property
    one of ``known`` (local name → label) or :data:`WIKIDATA`, matched without case."""
    asked = boundedjson.loads(raw, what="'extend'", max_bytes=max_bytes)
    if not isinstance(asked, dict):
        raise KGError('\'extend\' must be a JSON object: {"ids": [...], '
                      '"properties": [{"id": "heldOffice"}]}')
    ids, props = asked.get("ids"), asked.get("properties")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise KGError("'extend': 'ids' must be a list of the ids reconciliation gave")
    if not isinstance(props, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) for p in props):
        raise KGError("'extend': 'properties' must be a list of {\"id\": …} objects")
    if len(ids) > MAX_IDS or len(props) > MAX_PROPERTIES:
        raise KGError(f"'extend': at most {MAX_IDS} ids and {MAX_PROPERTIES} properties "
                      "in one request")
    named = {k.casefold(): k for k in [WIKIDATA, *known]}
    out = []
    for p in props:
        found, hint = term_named(p["id"], named)
        if found is None:
            raise KGError(f"'extend': no property {clip(p['id'])!r}{hint}; "
                          "/reconcile/properties?type= lists them")
        out.append(found)
    return ids, out


def extend(engine: Engine, ids: list[str], props: list[str],
           labels: Mapping[str, str]) -> dict[str, Any]:
    """The answer to an extend request: ``meta`` (each property's id and name) and, for each
    id, each property's values; an id that names no resource gets no values."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for i in dict.fromkeys(ids):
        row: dict[str, list[dict[str, Any]]] = {p: [] for p in props}
        iri = id_path(i)  # anything else names no resource: no query
        if iri is not None:
            seen: set[tuple[str, str]] = set()
            for _, p, o, name in engine.select(sparql.load("extend-values"),
                                               {"this": ox.NamedNode(iri)}):
                prop = _property(p.value, o)
                if prop in row and (prop, str(o)) not in seen:
                    seen.add((prop, str(o)))
                    row[prop].append(_cell(o, name))
        rows[i] = row
    meta = [{"id": p, "name": "Wikidata item" if p == WIKIDATA else labels.get(p, p)}
            for p in props]  # fmt: skip
    return {"meta": meta, "rows": rows}


def _property(iri: str, value: Any) -> str | None:
    if iri == SKOS_EXACT_MATCH and isinstance(value, ox.NamedNode) \
            and value.value.startswith(WIKIDATA_ENTITY):
        return WIKIDATA
    return iri[len(IJ):] if iri.startswith(IJ) else None


def _cell(o: Any, name: Any) -> dict[str, Any]:
    """One value as the API writes it."""
    if isinstance(o, ox.NamedNode):
        if o.value.startswith(WIKIDATA_ENTITY):
            return {"str": o.value[len(WIKIDATA_ENTITY):]}
        if o.value.startswith(ID):
            return {"id": o.value[len(ID):], "name": name.value if name else o.value[len(ID):]}
        return {"str": o.value}
    if isinstance(o, ox.Literal):
        datatype = o.datatype.value
        if datatype == XSD + "date":
            return {"date": o.value + "T00:00:00Z"}
        if datatype == XSD + "boolean":
            return {"bool": o.value == "true"}
        try:
            if datatype in _INTEGERS:
                return {"int": int(o.value)}
            if datatype in (XSD + "decimal", XSD + "double", XSD + "float"):
                return {"float": float(Decimal(o.value))}
        except (ValueError, InvalidOperation):
            pass
        return {"str": o.value}
    return {"str": str(o)}


__all__ = ["MAX_IDS", "MAX_PROPERTIES", "WIKIDATA", "extend", "parse_request", "properties",
           "propose"]
