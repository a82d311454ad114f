"""The article's facts about linked items as QuickStatements, for a Wikidata editor to
review and run (``kg link statements``): V1 commands (one statement a line,
tab-separated) or QuickStatements' CSV dialect (``--format csv``).

Each statement is an item, a property and a value, then qualifiers, then one
reference:

- **imported from Wikimedia project** (S143) English Wikipedia (Q328);
- **Wikimedia import URL** (S4656): the article's URL with the anchor of the section
  the fact came from — the section of the sentence that states the triple when the
  graph cites one (``ij:statedIn``), else the first section of the resource;
- **retrieved** (S813): the day the pinned text was read (``pav:retrievedOn`` of the
  article, ``data/sources.ttl``), a date at day precision;
- **quote** (S1683, ``en:"…"``): only when the article's text is handed in
  (``--article FILE``) *and* the triple cites a unit whose offsets and fingerprint
  locate it in that text (:func:`quote`). Never by default: a quote would put the
  article's sentences into files the project keeps (the README's example among them).

What goes back: properties the ontology maps with ``skos:exactMatch`` to a Wikidata
property, between resources with confirmed links (never a candidate); position held
(P39) from tenures with start and end (P580/P582) where the graph dates the tenure;
the diplomatic relation (P530) with its start (P580) from the bilateral relation.
Dates keep the article's precision (``+1985-00-00T00:00:00Z/9`` is a year).

What is left out, and counted by reason (:attr:`Statements.left_out`): a value whose
resource carries a provenance flag naming the property — any annotation property
whose range is ``rdf:Property``, which is how ``ij:inferred`` and
``ij:fromGeneralKnowledge`` are declared, so a flag added the same way is honoured
without a change here; a value whose resource has no confirmed Wikidata item; a
literal that is not a date; and, when Wikidata can be asked, statements it has.
A jurisdiction (P1001) goes back when it is the article's by the data's rule (no
flag: the office's own name in the article states its state), and stays out when
flagged (the Mayor of Nagasaki's state is general knowledge).

>>> quickstatements_time("1985-12", "http://www.w3.org/2001/XMLSchema#gYearMonth")
'+1985-12-00T00:00:00Z/10'
>>> quote("One.  Two\\nthree. Four.", Locator(6, 17, None))
'Two three.'
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import sparql
from kg.namespaces import IJ, WIKIDATA_ENTITY, XSD
from kg.project import Project
from kg.store import Engine, open_engine

WDT = "http://www.wikidata.org/prop/direct/"
ENGLISH_WIKIPEDIA = "Q328"
_PRECISION = {XSD + "gYear": 9, XSD + "gYearMonth": 10, XSD + "date": 11}
#: the reference's properties, in the order they are written
REFERENCE = ("S143", "S4656", "S813", "S1683")


def quickstatements_time(value: str, datatype: str) -> str | None:
    """A date at its own precision in QuickStatements' syntax; None if it is not a date."""
    precision = _PRECISION.get(datatype)
    if precision is None:
        return None
    parts = [*value.split("-"), "00", "00"][:3]
    return f"+{parts[0]}-{parts[1]}-{parts[2]}T00:00:00Z/{precision}"


@dataclass(frozen=True)
class Locator:
    """Where a unit of the article (a sentence, a table row, an infobox row) lies in the
    pinned text: code-point offsets (end exclusive) and, when known, the SHA-256 of its
    words with whitespace runs made single spaces (``ij:fingerprint``)."""

    start: int
    end: int
    fingerprint: str | None


def quote(text: str, where: Locator) -> str | None:
    """The unit ``where`` locates in ``text``, whitespace made single spaces; None when
    the offsets fall outside ``text`` or the words do not match the fingerprint (another
    revision of the article), or when QuickStatements could not carry it (a ``"``)."""
    words = located(text, where)
    if not words or '"' in words or len(words) > 1500:  # P1683 holds 1,500 characters
        return None
    return words


def located(text: str, where: Locator) -> str | None:
    """The words of the unit ``where`` locates in ``text``, whitespace made single spaces;
    None when the offsets fall outside ``text`` or the words do not match the fingerprint:
    ``text`` is not the pinned revision there."""
    if not 0 <= where.start < where.end <= len(text):
        return None
    words = " ".join(text[where.start : where.end].split())
    if where.fingerprint and hashlib.sha256(words.encode()).hexdigest() != where.fingerprint:
        return None
    return words


@dataclass(frozen=True)
class Reference:
    url: str
    retrieved: str | None = None  # an xsd:date
    quote: str | None = None
    #: the article was given, but its text where the cited unit was pinned differs
    unlocated: bool = False

    def cells(self) -> list[tuple[str, str]]:
        out = [("S143", ENGLISH_WIKIPEDIA), ("S4656", f'"{self.url}"')]
        if self.retrieved:
            out.append(("S813", f"+{self.retrieved}T00:00:00Z/11"))
        if self.quote:
            out.append(("S1683", f'en:"{self.quote}"'))
        return out


@dataclass(frozen=True)
class Statement:
    item: str
    prop: str
    value: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    reference: Reference = Reference("")

    @property
    def source(self) -> str:
        return self.reference.url

    def line(self) -> str:
        """The QuickStatements V1 command (tab-separated)."""
        cells = [self.item, self.prop, self.value]
        for p, v in [*self.qualifiers, *self.reference.cells()]:
            cells += [p, v]
        return "\t".join(cells)


@dataclass
class Statements:
    new: list[Statement]
    present: list[Statement] = field(default_factory=list)  # already on Wikidata
    unchecked: str | None = None  # why Wikidata could not be asked, if it could not
    #: values not given back, per property and reason
    left_out: Counter = field(default_factory=Counter)

    def to_text(self) -> str:
        return "".join(s.line() + "\n" for s in self.new)

    def to_csv(self) -> str:
        """QuickStatements' CSV dialect: a header naming each column — ``qid``, then
        for each property a ``P…`` column, its qualifiers (``qal…``), and its reference
        (``S…`` opens it, ``s…`` adds to it) — and one row a statement, the cells of
        the other properties' columns empty."""
        groups: dict[str, tuple[list[str], list[str]]] = {}
        for st in self.new:
            quals, refs = groups.setdefault(st.prop, ([], []))
            for p, _ in st.qualifiers:
                if p not in quals:
                    quals.append(p)
            for p, _ in st.reference.cells():
                if p not in refs:
                    refs.append(p)
        order = sorted(groups, key=lambda p: int(p[1:]))
        header = ["qid"]
        for prop in order:
            quals, refs = groups[prop]
            refs.sort(key=REFERENCE.index)
            header += [prop, *(f"qal{q[1:]}" for q in sorted(quals, key=lambda q: int(q[1:])))]
            header += [("S" if i == 0 else "s") + r[1:] for i, r in enumerate(refs)]
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for st in self.new:
            row = [st.item]
            for prop in order:
                quals, refs = groups[prop]
                mine = prop == st.prop
                qual = dict(st.qualifiers) if mine else {}
                ref = dict(st.reference.cells()) if mine else {}
                row += [st.value if mine else ""]
                row += [qual.get(q, "") for q in sorted(quals, key=lambda q: int(q[1:]))]
                row += [ref.get(r, "") for r in refs]
            writer.writerow(row)
        return out.getvalue()

    def summary(self) -> str:
        """Statements per property, and what was left out and why (for stderr)."""
        per = Counter(st.prop for st in self.new)
        lines = [
            f"{len(self.new)} statement(s): "
            + ", ".join(f"{p} {n}" for p, n in sorted(per.items(), key=lambda x: int(x[0][1:])))
        ]
        qualified = sum(1 for st in self.new if st.qualifiers)
        lines.append(f"{qualified} with start or end qualifiers; every reference: "
                     "S143 Q328, S4656 (section), S813 (retrieved)"
                     + ("" if all(st.reference.retrieved for st in self.new)
                        else " — no retrieval date in the data (pav:retrievedOn)"))  # fmt: skip
        quoted = sum(1 for st in self.new if st.reference.quote)
        if quoted:
            lines.append(f"{quoted} with a quote (S1683) from the article given")
        unlocated = sum(1 for st in self.new if st.reference.unlocated)
        if unlocated:
            lines.append(f"{unlocated} without a quote: the article given differs from the "
                         "pinned text where their units are (kg article check FILE lists "
                         "the changes)")  # fmt: skip
        if self.present:
            lines.append(f"{len(self.present)} already on Wikidata, left out")
        for (prop, reason), n in sorted(self.left_out.items()):
            lines.append(f"left out: {n} {prop} value(s): {reason}")
        return "".join(line + "\n" for line in lines)


def _qid(iri: str) -> str:
    return iri[len(WIKIDATA_ENTITY) :]


def _flag_name(flag: object) -> str:
    from kg.namespaces import shorten

    return shorten(flag.value)  # type: ignore[attr-defined]


def statements(
    *,
    engine: Engine | None = None,
    project: Project | None = None,
    article: str | None = None,
) -> Statements:
    """Every statement the graph can give Wikidata, each with its reference; ``article``
    is the pinned text of the article, for quotes (S1683) of cited units."""
    engine = engine or open_engine(project=project)
    sources: dict[str, list[str]] = {}
    for s, url in engine.select(sparql.load("sources-of")):
        sources.setdefault(s.value, []).append(url.value)  # type: ignore[union-attr]
    retrieved = None
    for row in engine.select(sparql.load("source-article")):
        retrieved = row[2].value if row[2] is not None else None
    cited: dict[tuple[str, str, str], list[tuple[str, Locator | None]]] = {}
    for s, p, o, _unit, url, start, end, fp in engine.select(sparql.load("citations")):
        where = (
            Locator(int(start.value), int(end.value), fp.value if fp else None)  # type: ignore[union-attr]
            if start is not None and end is not None
            else None
        )
        cited.setdefault((str(s), str(p), str(o)), []).append((url.value, where))  # type: ignore[union-attr]
    left_out: Counter = Counter()

    def reference(triple: tuple[object, object, object] | None, *resources: str) -> Reference:
        """The section of the first unit citing ``triple``, with its quote when the
        article is at hand; else the first section (in the article's order) all
        ``resources`` came from, else the first the first of them came from."""
        units = cited.get(tuple(str(t) for t in triple), []) if triple else []  # type: ignore[arg-type]
        if units:
            url = units[0][0]
            text, unlocated = None, False
            if article is not None:
                text = next((q for _, w in units if w and (q := quote(article, w))), None)
                unlocated = (text is None and any(w for _, w in units)
                             and not any(w and located(article, w) for _, w in units))
            return Reference(url, retrieved, text, unlocated)
        first = sources.get(resources[0], [])
        shared = [u for u in first if all(u in sources.get(r, []) for r in resources[1:])]
        return Reference((shared or first or [""])[0], retrieved)

    out: set[Statement] = set()
    seen: set[tuple[str, str, str]] = set()
    for s, item, p, prop, o, value, flag in engine.select(sparql.load("wikidata-statements")):
        pid = prop.value[len(WDT) :]  # type: ignore[union-attr]
        key = (s.value, p.value, str(o))  # type: ignore[union-attr]
        if key in seen:
            continue
        seen.add(key)
        if flag is not None:
            left_out[(pid, f"flagged {_flag_name(flag)} (not what the article says)")] += 1
            continue
        if value is not None:
            written = _qid(value.value)
            ref = reference((s, p, o), s.value, o.value)  # type: ignore[union-attr]
        elif hasattr(o, "datatype"):
            written = quickstatements_time(o.value, o.datatype.value)  # type: ignore[union-attr]
            ref = reference((s, p, o), s.value)  # type: ignore[union-attr]
            if written is None:
                left_out[(pid, "a literal that is not a date")] += 1
                continue
        else:
            left_out[(pid, "the value has no confirmed Wikidata item")] += 1
            continue
        out.add(Statement(_qid(item.value), pid, written, reference=ref))  # type: ignore[union-attr]

    def dated(
        pid: str, d: object, flag: object, qualifiers: list[tuple[str, str]]
    ) -> None:
        if d is None:
            return
        if flag is not None:
            left_out[(pid, f"qualifier flagged {_flag_name(flag)}")] += 1
            return
        written = quickstatements_time(d.value, d.datatype.value)  # type: ignore[attr-defined]
        if written is not None:
            qualifiers.append((pid, written))

    held, related = ox.NamedNode(IJ + "officeHeld"), ox.NamedNode(IJ + "diplomaticRelation")
    tenures: set[str] = set()
    for t, _holder, item, office, value, start, sflag, end, eflag in engine.select(
        sparql.load("wikidata-tenures")
    ):
        if t.value in tenures:  # type: ignore[union-attr]
            continue
        tenures.add(t.value)  # type: ignore[union-attr]
        qualifiers: list[tuple[str, str]] = []
        dated("P580", start, sflag, qualifiers)
        dated("P582", end, eflag, qualifiers)
        ref = reference((t, held, office), t.value)  # type: ignore[union-attr]
        out.add(Statement(_qid(item.value), "P39", _qid(value.value), tuple(qualifiers), ref))  # type: ignore[union-attr]
    for r, a, a_item, b, b_item, start, flag in engine.select(sparql.load("wikidata-relations")):
        qualifiers = []
        dated("P580", start, flag, qualifiers)
        ref = reference((a, related, b), a.value, r.value)  # type: ignore[union-attr]
        out.add(Statement(_qid(a_item.value), "P530", _qid(b_item.value), tuple(qualifiers), ref))  # type: ignore[union-attr]
    for (n,) in engine.select(sparql.load("wikidata-tenures-unlinked")):
        if int(n.value):  # type: ignore[union-attr]
            reason = "a dated tenure whose holder or office has no confirmed Wikidata item"
            left_out[("P39", reason)] += int(n.value)  # type: ignore[union-attr]
    ordered = sorted(
        out, key=lambda st: (int(st.item[1:]), int(st.prop[1:]), st.value, st.qualifiers)
    )
    # a bare statement is dropped where the same statement comes with qualifiers
    qualified = {(st.item, st.prop, st.value) for st in ordered if st.qualifiers}
    return Statements(
        [st for st in ordered if st.qualifiers or (st.item, st.prop, st.value) not in qualified],
        left_out=left_out,
    )


def leave_out_present(result: Statements, client: object) -> Statements:
    """``result`` without the statements Wikidata already has (their item, property and
    value), as ``client`` (a :class:`~kg.wikidata.client.WikidataClient`) reports them."""
    from kg.errors import KGError
    from kg.wikidata.client import claim_items

    try:
        entities = client.entities({st.item for st in result.new})  # type: ignore[attr-defined]
    except KGError as e:
        return Statements(result.new, [], e.message, result.left_out)
    new, present = [], []
    for st in result.new:
        entity = entities.get(st.item, {})
        (present if st.value in claim_items(entity, st.prop) else new).append(st)
    return Statements(new, present, None, result.left_out)
