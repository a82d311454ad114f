"""What a query answers, whatever engine answered it: solutions, a boolean or triples.

Terms are pyoxigraph terms, so answers compare and print alike across engines.
This module imports nothing but pyoxigraph (and the standard library).

A :class:`SelectResult` made from pyoxigraph's own solutions keeps them unread
until someone asks for ``rows``: an answer that is only written out (``kg query
-f csv``, the server) then goes straight through pyoxigraph's writers, with no
Python object per row (see :func:`kg.formats.write`).

>>> import pyoxigraph as ox
>>> r = SelectResult(["s"], [(ox.NamedNode("http://example.org/a"),)])
>>> r.rows[0][0].value
'http://example.org/a'
>>> r == SelectResult(["s"], [(ox.NamedNode("http://example.org/a"),)])
True
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

import pyoxigraph as ox

from kg.errors import KGError

Term = ox.NamedNode | ox.BlankNode | ox.Literal


class SelectResult:
    """Variable names and rows of terms (``None`` where a variable is unbound)."""

    # a plain class with slots: dataclasses import inspect, 7 ms of every cold ``kg query``
    __slots__ = ("_native", "_rows", "variables")

    def __init__(
        self,
        variables: list[str],
        rows: list[tuple[Term | None, ...]] | None = None,
        *,
        native: ox.QuerySolutions | None = None,
    ) -> None:
        self.variables = list(variables)
        self._rows = rows if rows is not None or native is not None else []
        self._native = native

    @classmethod
    def from_native(cls, solutions: ox.QuerySolutions) -> SelectResult:
        """Solutions as pyoxigraph answered them, read lazily."""
        return cls([v.value for v in solutions.variables], native=solutions)

    @property
    def rows(self) -> list[tuple[Term | None, ...]]:
        if self._rows is None:
            if self._native is None:
                raise RuntimeError("these solutions were already written out by kg.formats.write")
            n = len(self.variables)
            native, self._native = self._native, None
            try:
                self._rows = [tuple(s[i] for i in range(n)) for s in native]
            except OSError as e:  # pyoxigraph evaluates lazily: a SERVICE call fails here
                raise answer_failed(e) from None
        return self._rows

    def take_native(self) -> ox.QuerySolutions | None:
        """pyoxigraph's unread solutions, handed over once (the writer streams them);
        ``None`` when the rows were read or the result was built from rows."""
        if self._rows is not None:
            return None
        native, self._native = self._native, None
        return native

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SelectResult)
            and other.variables == self.variables
            and other.rows == self.rows
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        rows = "unread" if self._rows is None else f"{len(self._rows)} rows"
        return f"SelectResult({self.variables!r}, {rows})"


# collections.namedtuple, not typing.NamedTuple: importing typing costs a cold kg query 7 ms
AskResult = namedtuple("AskResult", "value")
AskResult.__doc__ = "The answer of an ASK query: ``value`` is a bool."
GraphResult = namedtuple("GraphResult", "triples")
GraphResult.__doc__ = "The answer of a CONSTRUCT or DESCRIBE: ``triples``, pyoxigraph triples."

Result = SelectResult | AskResult | GraphResult


class Engine:
    """What every query engine is: a ``name`` and :meth:`query`."""

    name = "engine"

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        """Answer ``text`` with ``bindings`` (variable name → RDF term) bound, never pasted in."""
        raise NotImplementedError

    def select(
        self, text: str, bindings: Mapping[str, Term] | None = None
    ) -> list[tuple[Term | None, ...]]:
        """The rows of a SELECT query (for the library's own queries, which are SELECTs)."""
        result = self.query(text, bindings)
        if not isinstance(result, SelectResult):
            raise TypeError(f"a SELECT query was expected, not {type(result).__name__}")
        return result.rows


def answer_failed(error: OSError) -> KGError:
    """The one-line error for a query that failed while its answer was read: with pyoxigraph
    that is where a SERVICE call to an unreachable server fails."""
    return KGError(f"the query failed while answering (a SERVICE call?): {error}")


def from_native(answer: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> Result:
    """pyoxigraph's answer (from a query or from :func:`pyoxigraph.parse_query_results`)."""
    if isinstance(answer, ox.QueryBoolean):
        return AskResult(bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        return SelectResult.from_native(answer)
    return GraphResult(list(answer))
