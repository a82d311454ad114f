"""SPARQL results written in the W3C result formats, and as a terminal table.

JSON, XML, CSV and TSV follow "SPARQL 1.1 Query Results JSON/XML/CSV and TSV
Formats"; graph results (CONSTRUCT, DESCRIBE) go through rdflib's writers with
the project's prefixes.
"""

from __future__ import annotations

import json

import pyoxigraph as ox

from kg.engine import AskResult, GraphResult, Result, SelectResult, Term
from kg.errors import KGError
from kg.namespaces import PREFIXES, shorten

XSD = PREFIXES["xsd"]
SELECT_FORMATS = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS = ("turtle", "jsonld", "nt")


def escape(text: str) -> str:
    """XML character data (xml.sax.saxutils pulls in urllib and email: 24 ms of imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;") + '"'


def term_json(t: Term) -> dict[str, str]:
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    out = {"type": "literal", "value": t.value}
    if t.language:
        out["xml:lang"] = t.language
    elif t.datatype.value != XSD + "string":
        out["datatype"] = t.datatype.value
    return out


def to_json(result: SelectResult | AskResult) -> str:
    if isinstance(result, AskResult):
        return json.dumps({"head": {}, "boolean": result.value}, indent=2) + "\n"
    bindings = [
        {v: term_json(t) for v, t in zip(result.variables, row, strict=True) if t is not None}
        for row in result.rows
    ]
    doc = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _xml_term(t: Term) -> str:
    if isinstance(t, ox.NamedNode):
        return f"<uri>{escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{escape(t.value)}</bnode>"
    if t.language:
        return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
    if t.datatype.value != XSD + "string":
        return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
    return f"<literal>{escape(t.value)}</literal>"


def to_xml(result: SelectResult | AskResult) -> str:
    lines = [
        '<?xml version="1.0"?>',
        '<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
        "  <head>",
    ]
    if isinstance(result, AskResult):
        lines += ["  </head>", f"  <boolean>{'true' if result.value else 'false'}</boolean>"]
    else:
        lines += [f"    <variable name={quoteattr(v)}/>" for v in result.variables]
        lines += ["  </head>", "  <results>"]
        for row in result.rows:
            lines.append("    <result>")
            for v, t in zip(result.variables, row, strict=True):
                if t is not None:
                    lines.append(f"      <binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
            lines.append("    </result>")
        lines.append("  </results>")
    lines.append("</sparql>")
    return "\n".join(lines) + "\n"


def _csv_field(t: Term | None) -> str:
    if t is None:
        return ""
    value = t.value if not isinstance(t, ox.BlankNode) else f"_:{t.value}"
    if any(c in value for c in ',"\r\n'):
        value = '"' + value.replace('"', '""') + '"'
    return value


def to_csv(result: SelectResult | AskResult) -> str:
    result = _as_table(result)
    lines = [",".join(result.variables)]
    lines += [",".join(_csv_field(t) for t in row) for row in result.rows]
    return "\r\n".join(lines) + "\r\n"


def to_tsv(result: SelectResult | AskResult) -> str:
    result = _as_table(result)
    lines = ["\t".join("?" + v for v in result.variables)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _as_table(result: SelectResult | AskResult) -> SelectResult:
    if isinstance(result, AskResult):
        return SelectResult(
            ["boolean"],
            [(ox.Literal(str(result.value).lower(), datatype=ox.NamedNode(XSD + "boolean")),)],
        )
    return result


def display(t: Term | None) -> str:
    """A short human form: prefixed IRIs, literal values without datatypes."""
    if t is None:
        return ""
    if isinstance(t, ox.NamedNode):
        return shorten(t.value)
    if isinstance(t, ox.BlankNode):
        return f"_:{t.value}"
    return t.value if t.language in (None, "", "en") else f"{t.value} @{t.language}"


def to_table(result: SelectResult | AskResult, *, width: int = 60) -> str:
    """A plain aligned table; cells longer than ``width`` fold onto more lines.

    Written by hand rather than with rich: this is the default output of a
    command people run dozens of times, and rich costs ~50 ms to import.
    """
    result = _as_table(result)
    header = list(result.variables)
    rows = [[display(t) for t in row] for row in result.rows]
    widths = [min(width, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(header)]

    def fold(cells: list[str]) -> list[str]:
        chunks = [
            [c[j : j + w] for j in range(0, len(c), w)] or [""]
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


def graph_to_text(result: GraphResult, fmt: str) -> str:
    from rdflib import Graph

    from kg.engine import to_rdflib

    g = Graph(bind_namespaces="none")
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)
    for tr in result.triples:
        g.add((to_rdflib(tr.subject), to_rdflib(tr.predicate), to_rdflib(tr.object)))
    if fmt == "turtle":
        return g.serialize(format="longturtle")
    if fmt == "nt":
        return "".join(
            sorted(line + "\n" for line in g.serialize(format="nt").splitlines() if line.strip())
        )
    if fmt == "jsonld":
        from kg.exports import jsonld_context

        return g.serialize(format="json-ld", context=jsonld_context(), auto_compact=True) + "\n"
    raise KGError(
        f"unknown format {fmt!r} for a graph result; choose from {', '.join(GRAPH_FORMATS)}"
    )


_SELECT_WRITERS = {"csv": to_csv, "tsv": to_tsv, "json": to_json, "xml": to_xml, "table": to_table}


def format_result(result: Result, fmt: str | None = None) -> str:
    """``result`` as text in ``fmt`` (default: table for solutions, Turtle for graphs)."""
    if isinstance(result, GraphResult):
        return graph_to_text(result, fmt or "turtle")
    fmt = fmt or "table"
    try:
        writer = _SELECT_WRITERS[fmt]
    except KeyError:
        raise KGError(
            f"unknown format {fmt!r} for query solutions; choose from {', '.join(SELECT_FORMATS)}"
        ) from None
    return writer(result)
