"""The article as addressable units, without copying it.

:func:`segment` splits the article's plain text into units: the sentences of
the prose (pysbd, a rule-based sentence splitter), the rows of the infobox, the
data rows of each table and the items of each list. Each unit has a stable id
(section slug and ordinal, ``history-7``), character offsets into the text and a
fingerprint: the SHA-256 of its whitespace-normalised text, so that a quote read
from any copy of the article can be checked without the repository holding it.
:func:`units_turtle` writes ``data/units.ttl``; :func:`read_units` reads the
pinned units back from the graph; :func:`quote` gives a unit's words from a
user's copy, only when the copy's unit has the pinned fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from kg import sparql
from kg.errors import KGError
from kg.namespaces import ARTICLE, ID, PREFIXES, UNIT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kg.store import Engine, Term

TEXT = ID + "text/israel-japan-relations"
SEED = Path("..") / "shared" / "seed" / "israel-japan-relations.txt"

#: the kind of each unit, as its class in the ontology
KINDS = {"sentence": "Sentence", "infobox": "InfoboxRow", "row": "TableRow", "item": "ListItem"}

#: section headings whose slug is not the heading's own (data/sources.ttl)
_SLUGS = {"bilateral treaties and agreements": "treaties"}
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")


@dataclass(frozen=True)
class Unit:
    """One addressable piece of the article: ``text[start:end]`` is its wording."""

    section: str  # slug, as section:<slug>
    ordinal: int  # 1-based within the section
    kind: str  # a key of KINDS
    start: int
    end: int
    fingerprint: str

    @property
    def id(self) -> str:
        return f"{self.section}-{self.ordinal}"

    @property
    def iri(self) -> str:
        return UNIT + self.id

    @property
    def kind_label(self) -> str:
        return "sentence" if self.kind == "sentence" else ("item" if self.kind == "item" else "row")


def normalise(text: str) -> str:
    """Whitespace runs as one space, ends stripped: what a fingerprint hashes."""
    return " ".join(text.split())


def fingerprint(text: str) -> str:
    """SHA-256 (hex) of the whitespace-normalised ``text``."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def section_slug(heading: str) -> str:
    low = heading.strip().lower()
    return _SLUGS.get(low, re.sub(r"[^a-z0-9]+", "-", low).strip("-"))


def _blocks(text: str) -> list[tuple[str, int, int]]:
    """(section, start, end) of every paragraph, list line, table line or infobox line."""
    out: list[tuple[str, int, int]] = []
    section = "lead"
    pos = 0
    para: tuple[int, int] | None = None

    def flush() -> None:
        nonlocal para
        if para is not None:
            out.append((section, *para))
            para = None

    for line in text.splitlines(keepends=True):
        start, body = pos, line.rstrip("\r\n")
        pos += len(line)
        stripped = body.strip()
        heading = _HEADING.match(stripped)
        if not stripped or heading or stripped == "Infobox" or stripped[0] in "-|":
            flush()
        if heading:
            section = "title" if len(heading.group(1)) == 1 else section_slug(heading.group(2))
        elif stripped == "Infobox":
            section = "infobox"
        elif stripped and stripped[0] in "-|":
            lead = len(body) - len(body.lstrip())
            out.append((section, start + lead, start + len(body.rstrip())))
        elif stripped:
            if section == "infobox":  # the lead's prose follows the infobox's rows
                flush()
                section = "lead"
            end = start + len(body.rstrip())
            para = (para[0] if para else start + len(body) - len(body.lstrip()), end)
    flush()
    return out


def segment(text: str) -> list[Unit]:
    """The units of ``text`` in reading order."""
    try:
        import pysbd
    except ImportError:  # pragma: no cover - a dependency of the package
        raise KGError("segmenting the article needs pysbd: pip install pysbd") from None
    splitter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    units: list[Unit] = []
    counts: dict[str, int] = {}
    headers: set[str] = set()

    def add(section: str, kind: str, start: int, end: int) -> None:
        counts[section] = counts.get(section, 0) + 1
        piece = text[start:end]
        units.append(Unit(section, counts[section], kind, start, end, fingerprint(piece)))

    for section, start, end in _blocks(text):
        if section == "title":
            continue
        first = text[start]
        if first == "|":
            if section not in headers:  # the first row of a table names its columns
                headers.add(section)
                continue
            add(section, "row", start, end)
        elif first == "-":
            add(section, "infobox" if section == "infobox" else "item", start, end)
        else:
            for span in splitter.segment(text[start:end]):
                s, e = start + span.start, start + span.end
                while e > s and text[e - 1].isspace():
                    e -= 1
                while s < e and text[s].isspace():
                    s += 1
                if s < e:
                    add(section, "sentence", s, e)
    return units


def units_turtle(text: str, *, revision: str | None = None, date: str | None = None) -> bytes:
    """``data/units.ttl``: the pinned text and every unit, deterministically."""
    units = segment(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    names = ("ij", "dcterms", "rdfs", "xsd", "section")
    lines = [f"@prefix {p}: <{PREFIXES[p]}> ." for p in names]
    lines += [f"@prefix unit: <{UNIT}> .", f"@prefix text: <{ID}text/> .", ""]
    lines += [
        "# GENERATED by `kg article units` from the pinned plain text of the article;",
        "# do not edit (a test regenerates it and compares the bytes). Offsets count",
        "# Unicode code points, end exclusive; a fingerprint is the SHA-256 of the",
        "# unit's text with whitespace runs made one space. The text is never stored.",
        "",
        "text:israel-japan-relations a ij:ArticleText ;",
        '    rdfs:label "Israel–Japan relations, the pinned plain text"@en ;',
        f"    dcterms:source <{ARTICLE}> ;",
    ]
    if revision:
        lines.append(f'    ij:revision "{int(revision)}"^^xsd:integer ;')
    if date:
        lines.append(f'    dcterms:date "{date}"^^xsd:date ;')
    lines += [f'    ij:sha256 "{digest}" ;', f"    ij:length {len(text)} .", ""]
    for u in units:
        label = f"{u.section.replace('-', ' ').capitalize()}, {u.kind_label} {u.ordinal}"
        lines += [
            f"unit:{u.id} a ij:{KINDS[u.kind]} ;",
            f'    rdfs:label "{label}"@en ;',
            f"    dcterms:isPartOf section:{u.section} ; ij:ordinal {u.ordinal} ;",
            f"    ij:startOffset {u.start} ; ij:endOffset {u.end} ;",
            f'    ij:fingerprint "{u.fingerprint}" .',
            "",
        ]
    return "\n".join(lines).encode("utf-8")


def read_text(path: Path) -> str:
    """The article text at ``path``, or a one-line :class:`KGError`."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KGError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pinned:
    """A unit as the graph pins it: where it is and its fingerprint, never its words."""

    iri: str
    section: str  # the section's IRI
    section_label: str
    url: str  # the section's web address (its anchor), or the article's
    ordinal: int
    start: int
    end: int
    fingerprint: str

    @property
    def id(self) -> str:
        return self.iri.rsplit("/", 1)[-1]

    @property
    def slug(self) -> str:
        return self.section.rsplit("/", 1)[-1]


def pinned_units(engine: Engine) -> list[Pinned]:
    """The units of ``data/units.ttl``, in reading order."""
    out = []
    for u, s, sl, o, a, b, f, url in engine.select(sparql.load("units")):
        assert u is not None and s is not None and sl is not None and f is not None
        out.append(Pinned(u.value, s.value, sl.value, url.value if url else "",
                          int(o.value), int(a.value), int(b.value), f.value))  # type: ignore[union-attr]
    return out


def pinned_digest(engine: Engine) -> str | None:
    """The SHA-256 of the pinned text, as the graph records it."""
    for row in engine.select(sparql.load("pinned-text")):
        return row[0].value if row[0] is not None else None
    return None


class ArticleCopy:
    """A user's copy of the article, read once and segmented, to quote units from.

    A unit is quoted only when the copy has a unit with the pinned fingerprint: the
    same words (up to whitespace) as the pinned text, wherever the copy puts them.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.text = read_text(self.path)
        self.units = segment(self.text)
        self.by_fingerprint = {u.fingerprint: u for u in reversed(self.units)}

    def quote(self, unit: Pinned) -> str | None:
        """The unit's words in this copy, whitespace made single; ``None`` when they differ."""
        found = self.by_fingerprint.get(unit.fingerprint)
        return normalise(self.text[found.start : found.end]) if found else None


#: how to get the text, for surfaces that have none
HOW_TO_GET_TEXT = ("the article's text is not at hand: pass --article FILE "
                   "(kg article fetch writes one under build/)")


def default_article(project_root: Path) -> Path | None:
    """The seed copy beside the project (``../shared/seed/``) when it is there."""
    path = (project_root / SEED).resolve()
    return path if path.is_file() else None


# ---------------------------------------------------------------------------
# kg article check: a newer text against the pinned units
# ---------------------------------------------------------------------------


#: what ``kg article check`` says of a date or number that a changed unit's newer words
#: give, or not (:func:`kg.article.check` reads them)
STILL_GIVEN, NO_LONGER_GIVEN = "value still in the newer words", "VALUE NOT IN THE NEWER WORDS"
#: and of a name that the unit's earlier words gave (with a copy of the pinned text at hand)
NAME_KEPT, NAME_GONE = "name still in the newer words", "NAME NOT IN THE NEWER WORDS"


@dataclass
class Change:
    """One unit's fate: ``unchanged``, ``changed``, ``gone`` or ``new``."""

    status: str
    unit: str  # the pinned unit's id, or the new unit's id in the newer text
    section: str
    facts: list[str]  # the triples citing the pinned unit, shortened, that no unchanged unit cites
    # the triples citing it that an unchanged unit still states, each with those units' ids
    still_stated: list[str] = field(default_factory=list)
    # where a changed unit's newer words are in the newer text (offsets, never the words)
    new_start: int | None = None
    new_end: int | None = None
    # a fact with a date, number or name -> whether the newer words still give it (kg.article)
    values: dict[str, str] = field(default_factory=dict)
    # the changed words, earlier -> newer, when a copy of the pinned text is at hand
    edits: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    digest_matches: bool
    changes: list[Change]
    #: each cited fact (as ``subject property value``) -> its property IRI and value, for
    #: :func:`kg.article.check` to read dates, numbers and names from
    terms: dict[str, tuple[str, Term]] = field(default_factory=dict)

    @property
    def broken(self) -> list[Change]:
        """Changed or gone units that some fact cites: to read again. Their facts that no
        unchanged unit states are now unconfirmed; the others are still stated."""
        return [c for c in self.changes
                if c.status in ("changed", "gone") and (c.facts or c.still_stated)]

    @property
    def unconfirmed(self) -> int:
        """The facts that every unit citing them left changed or gone."""
        return len({f for c in self.broken for f in c.facts})

    @property
    def lost(self) -> int:
        """The unconfirmed facts whose date, number or name the newer words no longer give:
        the ones an edit most likely broke (a reworded sentence keeps them)."""
        return len({f for c in self.broken for f, v in c.values.items()
                    if v in (NO_LONGER_GIVEN, NAME_GONE)})

    @property
    def ok(self) -> bool:
        return not self.broken

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("unchanged", "changed", "gone", "new")}
        for c in self.changes:
            out[c.status] += 1
        return out

    def to_json(self) -> str:
        import json

        doc = {"ok": self.ok, "same_text": self.digest_matches, "counts": self.counts(),
               "unconfirmed": self.unconfirmed, "lost": self.lost,
               "units": [c.__dict__ for c in self.changes if c.status != "unchanged"]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        c = self.counts()
        lines = [f"{c['unchanged']} unchanged, {c['changed']} changed, {c['gone']} gone, "
                 f"{c['new']} new; {len(self.broken)} cited unit(s) changed or gone, "
                 f"{self.unconfirmed} fact(s) now unconfirmed, {self.lost} of them with a "
                 "date, number or name the newer words no longer give"]
        for ch in self.changes:
            if ch.status == "unchanged":
                continue
            if ch.facts or ch.still_stated:
                note = f"{len(ch.facts)} fact(s) now unconfirmed" + (
                    f", {len(ch.still_stated)} still stated elsewhere" if ch.still_stated else "")
            else:
                note = "cited by no fact" if ch.status != "new" else "new, cited by no fact"
            lines.append(f"  {ch.status:8} {ch.unit:24} {note}")
            lines += [f"      edit: {e}" for e in ch.edits]
            # what the newer words lost first: a long sentence's other facts do not bury it
            lost = (NO_LONGER_GIVEN, NAME_GONE)
            facts = sorted(ch.facts, key=lambda f: ch.values.get(f) not in lost)
            lines += [f"      {f}" + (f"  ({ch.values[f]})" if f in ch.values else "")
                      for f in facts]
            lines += [f"      (still stated) {f}" for f in ch.still_stated]
        return "\n".join(lines) + "\n"


def check(text: str, engine: Engine) -> CheckReport:
    """Compare ``text`` (a newer copy of the article) with the pinned units.

    Units are matched by fingerprint within each section, in order (a sequence
    alignment, so an inserted sentence does not shift its neighbours): a pinned unit
    whose fingerprint is found is unchanged; pinned and new units left between two
    matches pair up as changed, and the rest are gone or new. Whitespace never
    counts, as fingerprints normalise it.
    """
    from difflib import SequenceMatcher

    pinned = pinned_units(engine)
    terms: dict[str, tuple[str, Term]] = {}
    facts = cited_facts(engine, terms)
    newer = segment(text)
    changes: list[Change] = []
    sections = list(dict.fromkeys([p.slug for p in pinned] + [u.section for u in newer]))
    for section in sections:
        old = [p for p in pinned if p.slug == section]
        new = [u for u in newer if u.section == section]
        matcher = SequenceMatcher(a=[p.fingerprint for p in old], b=[u.fingerprint for u in new],
                                  autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            olds, news = old[a0:a1], new[b0:b1]
            if op == "equal":
                changes += [Change("unchanged", p.id, section, []) for p in olds]
                continue
            paired = min(len(olds), len(news))
            for p, u in zip(olds[:paired], news[:paired], strict=True):
                changes.append(Change("changed", p.id, section, facts.get(p.iri, []),
                                      new_start=u.start, new_end=u.end))
            for p in olds[paired:]:
                changes.append(Change("gone", p.id, section, facts.get(p.iri, [])))
            for u in news[paired:]:
                changes.append(Change("new", u.id, section, []))
    # a fact another unit states unchanged is not unconfirmed by this unit's edit
    kept = {p.id for p in pinned} - {
        c.unit for c in changes if c.status in ("changed", "gone")}
    citing: dict[str, set[str]] = {}
    for iri, triples in facts.items():
        for f in triples:
            citing.setdefault(f, set()).add(iri.rsplit("/", 1)[-1])
    for c in changes:
        if c.status in ("changed", "gone"):
            still = {f: sorted(citing[f] & kept) for f in c.facts if citing[f] & kept}
            c.still_stated = [f"{f} [{', '.join(units)}]" for f, units in still.items()]
            c.facts = [f for f in c.facts if f not in still]
    digest = pinned_digest(engine)
    return CheckReport(digest == sha256_text(text), changes, terms)


def cited_facts(engine: Engine, terms: dict[str, tuple[str, Term]] | None = None
                ) -> dict[str, list[str]]:
    """unit IRI -> the triples that cite it, each as ``subject property value``; ``terms``,
    when given, gets each such triple's property IRI and value."""
    from kg.formats import display

    out: dict[str, list[str]] = {}
    for s, p, o, unit, _label in engine.select(sparql.load("unit-citations")):
        assert s is not None and p is not None and o is not None and unit is not None
        fact = f"{display(s)} {display(p)} {display(o)}"
        out.setdefault(unit.value, []).append(fact)
        if terms is not None:
            terms[fact] = (p.value, o)
    return out


TITLE = "Israel–Japan relations"


def fetch(api: str, out: Path, *, timeout: float = 30.0) -> int:
    """Write the article's plain-text extract from a MediaWiki API (``action=query``,
    ``prop=extracts``, ``explaintext``) to ``out``; the number of characters written.

    The extract is Wikipedia's own plain text: headings as ``== History ==``, no
    infobox and no tables, so units of those sections come out as gone when this copy
    is checked; the prose's units keep their fingerprints where the words are the same.
    """
    import httpx

    from kg.fileio import atomic_write
    from kg.registry import __version__

    if not api.startswith(("http://", "https://")):
        raise KGError(f"--api wants an http(s) address, got {api!r}")
    params = {"action": "query", "prop": "extracts", "explaintext": "1", "titles": TITLE,
              "format": "json", "formatversion": "2", "redirects": "1"}
    headers = {"User-Agent": f"israel-japan-kg/{__version__} (kg article fetch)"}
    try:
        reply = httpx.get(api, params=params, headers=headers, timeout=timeout)
        reply.raise_for_status()
        pages = reply.json()["query"]["pages"]
        text = pages[0]["extract"]
    except httpx.HTTPError as e:
        raise KGError(f"{api}: cannot fetch the article: {e}") from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise KGError(f"{api}: the answer holds no plain-text extract of {TITLE!r}") from None
    if not isinstance(text, str) or not text.strip():
        raise KGError(f"{api}: the answer holds no plain-text extract of {TITLE!r}")
    atomic_write(out, text.encode("utf-8"))
    return len(text)


# ---------------------------------------------------------------------------
# kg coverage --units: every unit, the facts citing it, and the units none cites
# ---------------------------------------------------------------------------


@dataclass
class UnitCoverage:
    units: list[tuple[Pinned, list[str]]]  # each unit with the triples citing it
    explained: dict[str, str]  # uncited unit id -> the reviewed reason
    stale: list[str]  # exceptions naming a unit that is cited or does not exist

    @property
    def open(self) -> list[str]:
        return [u.id for u, facts in self.units if not facts and u.id not in self.explained]

    @property
    def ok(self) -> bool:
        return not self.open and not self.stale

    def to_text(self, *, verbose: bool = False) -> str:
        lines = []
        for u, facts in self.units:
            state = (f"{len(facts)} fact(s)" if facts else
                     ("uncited (listed)" if u.id in self.explained else "UNCITED"))
            lines.append(f"{u.id:24} {state}")
            if verbose:
                lines += [f"    {f}" for f in facts]
                if u.id in self.explained:
                    lines.append(f"    reason: {self.explained[u.id]}")
        for s in self.stale:
            lines.append(f"stale exception: {s} (cited now, or no such unit); remove it")
        cited = sum(1 for _, f in self.units if f)
        lines.append(f"{len(self.units)} units: {cited} cited, {len(self.explained)} uncited "
                     f"with a reason, {len(self.open)} uncited")
        return "\n".join(lines) + "\n"


def unit_coverage(engine: Engine, exceptions: Path) -> UnitCoverage:
    """Every pinned unit with the facts citing it; uncited units are open unless
    ``exceptions`` (``data/units-exceptions.toml``) gives a reason."""
    from kg.fileio import read_entries

    listed = {e["unit"]: e["reason"] for e in read_entries(exceptions, "exception",
                                                         ("unit", "reason"))}
    facts = cited_facts(engine)
    units = [(u, facts.get(u.iri, [])) for u in pinned_units(engine)]
    uncited = {u.id for u, f in units if not f}
    return UnitCoverage(units, {k: v for k, v in listed.items() if k in uncited},
                        sorted(set(listed) - uncited))
