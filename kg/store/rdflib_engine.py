"""rdflib's SPARQL engine over the rdflib graph: the reference used to build and validate.

Terms cross between rdflib and pyoxigraph in a standard syntax, read and written
by the libraries themselves: bindings go in as N-Triples terms (rdflib's
``from_n3``), answers come out as SPARQL JSON or N-Triples (rdflib's writers,
pyoxigraph's parsers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kg.errors import KGError
from kg.namespaces import PREFIXES
from kg.project import Project
from kg.store.results import Engine, GraphResult, Result, Term, from_native

if TYPE_CHECKING:
    from rdflib import Graph


class RdflibEngine(Engine):
    """rdflib's SPARQL engine over an in-memory rdflib graph."""

    name = "rdflib"

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @classmethod
    def from_project(cls, project: Project | None = None) -> RdflibEngine:
        from kg.store.loading import load

        return cls(load(project))

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        from pyparsing.exceptions import ParseBaseException
        from rdflib import Variable
        from rdflib.util import from_n3

        init = {Variable(k): from_n3(str(v)) for k, v in (bindings or {}).items()}
        try:
            res = self.graph.query(text, initBindings=init, initNs=PREFIXES)
            # rdflib evaluates as the answer is read: its failures come from here too
            doc = res.serialize(format="json" if res.type in ("ASK", "SELECT") else "nt")
        except ParseBaseException as e:
            raise KGError(_explained(text, e)) from None
        except Exception as e:  # rdflib's evaluator raises bare exceptions
            if str(e).startswith("Unknown namespace prefix"):  # a syntax error, found late
                raise KGError(_explained(text, e)) from None
            raise KGError(f"query failed: {type(e).__name__}: {e}") from None
        if res.type in ("ASK", "SELECT"):
            return from_native(ox.parse_query_results(doc, ox.QueryResultsFormat.JSON))
        return GraphResult([q.triple for q in ox.parse(doc, format=ox.RdfFormat.N_TRIPLES)])


def _explained(text: str, error: Exception) -> str:
    """rdflib's complaint as :func:`kg.sparqltext.explain_syntax_error` words Oxigraph's:
    the line and column with a caret, and the hint for an unknown prefix or keyword."""
    from kg.sparqltext import explain_syntax_error

    message = str(error)
    at = re.search(r"\(line:(\d+), col:(\d+)\)", message)  # pyparsing's "(line:1, col:19)"
    if at:
        message = f"error at {at.group(1)}:{at.group(2)}: {message.split('  (at char')[0]}"
    return explain_syntax_error(text, message)
