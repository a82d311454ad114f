"""Does the graph carry every date, year and figure of the article?

:func:`coverage` reads the article as plain text, extracts each full date,
month, year, decade, money amount, percentage, plain number and a few number
words, and looks for graph resources whose literals carry that value. A value
that the graph deliberately does not carry is listed, with its reason, in
``data/coverage-exceptions.toml``; anything else unmatched is a gap. Listed
exceptions that no longer match anything are reported too, so the list stays
short and true.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from kg import sparql
from kg.errors import KGError
from kg.fileio import read_entries
from kg.namespaces import RDFS_LABEL, XSD, shorten
from kg.project import Project
from kg.store import SelectResult, open_engine
from kg.units import NAME_GONE, NAME_KEPT, NO_LONGER_GIVEN, STILL_GIVEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kg.store import Engine
    from kg.units import CheckReport

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        1,
    )
}
_MONTH = "|".join(MONTHS)
NUMBER_WORDS = {"twice": 2, "triple": 3, "sixtieth": 60}
#: ordinals a unit may state a place in a series with (``kg coverage --citations`` only: as
#: values of the article they would count every "first" of its prose)
ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3}
_SCALE = {"billion": Decimal(10) ** 9, "million": Decimal(10) ** 6, "": Decimal(1)}

# Order matters: longer patterns claim their characters first.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(rf"\b({_MONTH}) (\d{{1,2}}), (\d{{4}})\b")),
    ("month", re.compile(rf"\b({_MONTH}) (\d{{4}})\b")),
    ("money", re.compile(r"\$(\d[\d,]*(?:\.\d+)?)(?:\s*(billion|million))?")),
    ("percent", re.compile(r"\b(\d+(?:\.\d+)?)%")),
    ("decade", re.compile(r"\b(\d{3}0)s\b")),
    ("ordinal", re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")),
    ("year", re.compile(r"\b(1[89]\d\d|20\d\d)\b")),
    ("number", re.compile(r"\b(\d[\d,]*(?:\.\d+)?)\b")),
    ("word", re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.I)),
]

_INFOBOX_KEY = re.compile(r"^- [A-Za-z]+\d+: ")

_DATE_TYPES = {XSD + t for t in ("date", "gYearMonth", "gYear")}
_NUMBER_TYPES = {XSD + t for t in ("decimal", "integer", "double", "float")}


@dataclass
class Value:
    line: int
    text: str
    kind: str
    key: str  # normalised: YYYY-MM-DD, YYYY-MM, YYYY, or a decimal number
    resources: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def status(self) -> str:
        if self.resources:
            return "encoded"
        return "not encoded (listed)" if self.reason else "MISSING"


@dataclass
class CoverageReport:
    values: list[Value]
    stale_exceptions: list[str]

    @property
    def missing(self) -> list[Value]:
        return [v for v in self.values if v.status == "MISSING"]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.stale_exceptions

    def to_text(self, *, verbose: bool = False) -> str:
        lines = []
        for v in self.values:
            if v.status == "encoded" and not verbose:
                continue
            where = ", ".join(shorten(r) for r in v.resources[:4])
            more = f" (+{len(v.resources) - 4})" if len(v.resources) > 4 else ""
            detail = where + more if v.resources else (v.reason or "no resource carries it")
            lines.append(f"line {v.line:3d}  {v.text!r:28} {v.status:21} {detail}")
        for text in self.stale_exceptions:
            lines.append(f"stale exception: {text!r} matches no value of the article; remove it")
        encoded = sum(v.status == "encoded" for v in self.values)
        listed = sum(v.status == "not encoded (listed)" for v in self.values)
        lines.append(
            f"{len(self.values)} values: {encoded} encoded, {listed} not encoded "
            f"with a reason, {len(self.missing)} missing"
        )
        return "\n".join(lines) + "\n"


def extract_values(text: str) -> list[Value]:
    """Every date, year, figure and number word in ``text``, with its line."""
    values: list[Value] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        key = _INFOBOX_KEY.match(line)
        if key:  # infobox keys such as Mission1 carry digits that are not values
            line = " " * key.end() + line[key.end() :]
        taken = [False] * len(line)
        for kind, pattern in _PATTERNS:
            for m in pattern.finditer(line):
                if any(taken[m.start() : m.end()]):
                    continue
                key = _normalise(kind, m)
                if key is None:
                    continue
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                values.append(Value(lineno, m.group(0), kind, key))
    return values


def _normalise(kind: str, m: re.Match[str]) -> str | None:
    if kind == "date":
        return f"{m.group(3)}-{MONTHS[m.group(1)]:02d}-{int(m.group(2)):02d}"
    if kind == "month":
        return f"{m.group(2)}-{MONTHS[m.group(1)]:02d}"
    if kind in ("year", "decade"):
        return m.group(1)
    if kind == "word":
        return str(NUMBER_WORDS[m.group(1).lower()])
    try:
        number = Decimal(m.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    if kind == "money":
        number *= _SCALE[m.group(2) or ""]
    return _canonical(number)


def _canonical(number: Decimal) -> str:
    return format(number.normalize(), "f")


@dataclass
class _Index:
    dates: dict[str, set[str]] = field(default_factory=dict)  # lexical date -> subjects
    vague: dict[str, set[str]] = field(default_factory=dict)  # start year of a vague date
    numbers: dict[str, set[str]] = field(default_factory=dict)  # canonical number -> subjects
    words: dict[str, set[str]] = field(default_factory=dict)  # digits inside text -> subjects


def _index(project: Project) -> _Index:
    index = _Index()
    res = open_engine("oxigraph", project).query(sparql.load("article-literals"))
    assert isinstance(res, SelectResult)
    for s, o, vague in res.rows:
        subject, lexical, dtype = s.value, o.value, o.datatype.value  # type: ignore[union-attr]
        if dtype in _DATE_TYPES:
            index.dates.setdefault(lexical, set()).add(subject)
            if vague is not None and vague.value == "true":
                index.vague.setdefault(lexical[:4], set()).add(subject)
        elif dtype in _NUMBER_TYPES:
            with contextlib.suppress(InvalidOperation):
                index.numbers.setdefault(_canonical(Decimal(lexical)), set()).add(subject)
        else:
            for token in re.findall(r"\d+", lexical):
                index.words.setdefault(token, set()).add(subject)
    return index


def _match(value: Value, index: _Index) -> set[str]:
    """Subjects whose literals carry ``value``, by kind: dates match dates, numbers numbers."""
    if value.kind in ("date", "month"):
        return set(index.dates.get(value.key, ()))
    if value.kind == "year":  # a year is carried by that year or any finer date in it
        return {
            s
            for lex, subjects in index.dates.items()
            if lex == value.key or lex.startswith(value.key + "-")
            for s in subjects
        }
    if value.kind == "decade":
        return set(index.vague.get(value.key, ()))
    found = set(index.numbers.get(value.key, ()))
    if value.kind in ("word", "ordinal"):  # "sixtieth" is carried by a label saying 60th
        found |= index.words.get(value.key, set())
    return found


def load_exceptions(path: Path) -> dict[str, str]:
    """``text -> reason`` from the exceptions file; each entry needs both."""
    return {e["text"]: e["reason"] for e in read_entries(path, "exception", ("text", "reason"))}


def coverage(article: Path, *, project: Project | None = None) -> CoverageReport:
    """Match every value of ``article`` to the graph resources that carry it."""
    project = project or Project.find()
    try:
        text = Path(article).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KGError(f"{article}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    exceptions = load_exceptions(project.data_dir / "coverage-exceptions.toml")
    index = _index(project)
    values = extract_values(text)
    used: set[str] = set()
    for v in values:
        v.resources = sorted(_match(v, index))
        if not v.resources and v.text in exceptions:
            v.reason = exceptions[v.text]
            used.add(v.text)
    return CoverageReport(values, sorted(set(exceptions) - used))


# ---------------------------------------------------------------------------
# kg coverage --citations: does each cited unit state the date or number cited?
# ---------------------------------------------------------------------------


@dataclass
class CitedValue:
    """A date or number of the graph with the units cited for it, and whether one of them
    states it, in the copy of the article at hand (a fact may cite a second unit for
    another part of it: "launched on that occasion" beside the sentence giving the date)."""

    subject: str
    predicate: str
    value: str  # the literal's lexical form
    units: list[str]  # the units' ids (``history-14``)
    status: str  # "stated", "NOT STATED", or "unit not in this copy"


@dataclass
class CitationReport:
    values: list[CitedValue]

    @property
    def wrong(self) -> list[CitedValue]:
        return [v for v in self.values if v.status == "NOT STATED"]

    @property
    def ok(self) -> bool:
        return all(v.status == "stated" for v in self.values)

    def to_text(self, *, verbose: bool = False) -> str:
        lines = [f"{shorten(v.subject)} {shorten(v.predicate)} {v.value!r}  "
                 f"{', '.join(v.units)}  {v.status}"
                 for v in self.values if verbose or v.status != "stated"]
        stated = sum(v.status == "stated" for v in self.values)
        absent = sum(v.status == "unit not in this copy" for v in self.values)
        lines.append(f"{len(self.values)} cited dates and numbers: {stated} stated by a unit "
                     f"cited for them, {len(self.wrong)} not stated, {absent} in units this "
                     "copy lacks")
        return "\n".join(lines) + "\n"


def stated_in(lexical: str, datatype: str, text: str) -> bool:
    """Whether ``text`` (a unit's words) states the literal: a date that date, a month that
    month or a date in it, a year that year, a date in it or its decade ("the 2010s" for an
    inferred 2010), a number that number (digits with or without separators, money with
    its scale, a percentage, an ordinal, one of :data:`NUMBER_WORDS` or of
    :data:`ORDINAL_WORDS`)."""
    keys: dict[str, set[str]] = {}
    for v in extract_values(text):
        keys.setdefault(v.kind, set()).add(v.key)
    if datatype in _DATE_TYPES:
        dated = keys.get("date", set()) | keys.get("month", set())
        if datatype == XSD + "date":
            return lexical in keys.get("date", set())
        if datatype == XSD + "gYearMonth":
            return any(k == lexical or k.startswith(lexical + "-") for k in dated)
        return (lexical in keys.get("year", set()) | keys.get("decade", set())
                or any(k.startswith(lexical + "-") for k in dated))
    try:
        number = _canonical(Decimal(lexical))
    except InvalidOperation:
        return False
    if any(number in keys.get(kind, set())
           for kind in ("number", "money", "percent", "ordinal", "word")):
        return True
    # a place in a series (ij:seriesOrdinal) as the article words it: "the first …"
    return any(number == str(n) for word, n in ORDINAL_WORDS.items()
               if re.search(rf"\b{word}\b", text, re.I))


_LABELS = (RDFS_LABEL, "http://www.w3.org/2004/02/skos/core#altLabel")


def check(text: str, engine: Engine, *, pinned: Path | None = None) -> CheckReport:
    """:func:`kg.units.check`, and for the facts of each changed unit what the newer words
    still give: a date or number (:func:`stated_in`); with ``pinned``, a copy of the pinned
    text, also a name (a label, or a label of the fact's object) that the earlier words
    gave, and the changed words themselves. Of the facts an edit leaves unconfirmed, those
    whose value or name went are the ones it most likely broke."""
    from kg.names import fold
    from kg.units import ArticleCopy, pinned_units
    from kg.units import check as check_units

    report = check_units(text, engine)
    earlier = ArticleCopy(pinned) if pinned is not None else None
    units = {u.id: u for u in pinned_units(engine)}
    names: dict[str, list[str]] = {}  # a resource -> its labels, for objects
    if earlier is not None:
        for r, label in engine.select(sparql.load("labels")):
            if r is not None and label is not None:
                names.setdefault(r.value, []).append(label.value)
    literals: dict[str, tuple[str, str]] = {}
    named: dict[str, list[str]] = {}  # a fact -> the names it holds
    for fact, (p, o) in report.terms.items():
        datatype = getattr(getattr(o, "datatype", None), "value", None)
        if datatype in _DATE_TYPES | _NUMBER_TYPES:
            literals[fact] = (o.value, datatype)
        elif p in _LABELS:
            named[fact] = [o.value]
        elif o.value in names:
            named[fact] = names[o.value]
    for c in report.changes:
        if c.status != "changed" or c.new_start is None or c.new_end is None:
            continue
        words = text[c.new_start : c.new_end]
        was = earlier.quote(units[c.unit]) if earlier is not None else None
        if was is not None:
            c.edits = _word_edits(was, words)
        for fact in c.facts:
            if fact in literals:
                lexical, datatype = literals[fact]
                c.values[fact] = STILL_GIVEN if stated_in(lexical, datatype, words) \
                    else NO_LONGER_GIVEN
            elif was is not None and fact in named:
                given = [n for n in named[fact] if _says(fold(was), fold(n))]
                if given:  # a name the earlier words gave: the project's own labels are not
                    kept = any(_says(fold(words), fold(n)) for n in given)
                    c.values[fact] = NAME_KEPT if kept else NAME_GONE
    return report


def _says(words: str, name: str) -> bool:
    """Whether ``words`` hold ``name`` as whole words (Israel is not in "Israeli")."""
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", words) is not None


def _word_edits(was: str, now: str) -> list[str]:
    """The words that changed between two wordings of a unit, as ``[-earlier-] {+newer+}``."""
    from difflib import SequenceMatcher

    a, b = was.split(), now.split()
    out = []
    for op, a0, a1, b0, b1 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            gone, came = " ".join(a[a0:a1]), " ".join(b[b0:b1])
            out.append(" ".join(x for x in (gone and f"[-{gone}-]", came and f"{{+{came}+}}")
                                if x))
    return out


def cited_values(article: Path, *, project: Project | None = None) -> CitationReport:
    """Every date and number the graph cites a unit for, checked against that unit's words
    in ``article`` (a copy of the article: the graph pins units, never their words)."""
    from kg.units import ArticleCopy, pinned_units

    engine = open_engine("oxigraph", project or Project.find())
    copy = ArticleCopy(Path(article))  # a one-line KGError when it cannot be read
    units = {u.iri: u for u in pinned_units(engine)}
    cited: dict[tuple[str, str, str, str], list[str]] = {}
    for s, p, o, unit, _label in engine.select(sparql.load("unit-citations")):
        datatype = getattr(getattr(o, "datatype", None), "value", None)
        if datatype in _DATE_TYPES | _NUMBER_TYPES:
            assert s is not None and p is not None and o is not None and unit is not None
            cited.setdefault((s.value, p.value, o.value, datatype), []).append(unit.value)
    out = []
    for (s, p, value, datatype), iris in cited.items():
        texts = [copy.quote(units[i]) if i in units else None for i in iris]
        if any(t is not None and stated_in(value, datatype, t) for t in texts):
            status = "stated"
        elif None in texts:
            status = "unit not in this copy"
        else:
            status = "NOT STATED"
        out.append(CitedValue(s, p, value, [i.rsplit("/", 1)[-1] for i in iris], status))
    return CitationReport(out)
