"""Link records: what ``data/wikidata.ttl`` says about each linkable resource, and writing
one accepted link.

Links live in ``data/wikidata.ttl``: ``skos:exactMatch`` from a resource to
``http://www.wikidata.org/entity/Q…`` plus one ``ij:WikidataLink`` record per
linkable resource saying how the link was established (or why there is none).

- :func:`read_state` — every link, candidate and record of the file, with the
  graph's labels and types of the linkable resources;
- :func:`accept` — writes one chosen link (atomically) with its evidence;
- :func:`record_no_item` — writes that Wikidata has no item for a resource, with the
  search that found none (atomically).

Checking the records is :mod:`kg.wikidata.check`'s work, ranking candidates
:mod:`kg.wikidata.candidates`'.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import KGError
from kg.fileio import atomic_write
from kg.namespaces import (
    ID,
    IJ,
    LINK,
    OWL_CLASS,
    RDF_TYPE,
    RDFS_LABEL,
    RDFS_SUBCLASS_OF,
    SKOS_EXACT_MATCH,
    shorten,
)
from kg.project import Project
from kg.wikidata.client import ENTITY, qid

#: classes whose members should have a Wikidata item (subclasses included)
LINKABLE = (
    "State",
    "Place",
    "Person",
    "Organisation",
    "Office",
    "DiplomaticMission",
    "BilateralRelation",
    "Group",
)

#: what a candidate's "instance of" (P31) should include, per class
EXPECTED_TYPES: dict[str, set[str]] = {
    "Person": {"Q5"},
    "State": {"Q6256", "Q3624078"},
}


@dataclass
class Record:
    iri: str
    subject: str | None = None
    status: str | None = None
    target: str | None = None
    candidates: list[str] = field(default_factory=list)
    distinct_from: list[str] = field(default_factory=list)
    evidence: str | None = None


@dataclass
class LinkState:
    """What the graph says about links: records, exactMatch triples, types, labels."""

    records: dict[str, Record]
    matches: dict[str, set[str]]  # resource -> Wikidata IRIs
    types: dict[str, set[str]]  # resource -> local names of ij classes (with superclasses)
    labels: dict[str, str]
    facts: dict[str, dict[str, set[str]]]  # resource -> property local name -> objects
    #: resource -> language -> label, for the labels in languages other than English
    other_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def record_for(self, resource: str) -> Record | None:
        return next((r for r in self.records.values() if r.subject == resource), None)

    def linkable(self) -> list[str]:
        return sorted(r for r, ts in self.types.items() if r.startswith(ID) and ts & set(LINKABLE))

    def item_of(self, resource: str) -> str | None:
        rec = self.record_for(resource)
        if rec and rec.status == "Confirmed" and rec.target:
            return qid(rec.target)
        return None


def read_state(project: Project | None = None) -> LinkState:
    """What the graph says about links, read from the cached N-Triples by pyoxigraph: no
    rdflib graph is built (parsing 9,100 triples into one took 0.25 s of the 0.3 s this
    took, and ``kg link check`` read the state twice)."""
    import pyoxigraph as ox

    from kg.exports import triples as read_triples

    triples = read_triples(project)
    classes: list[str] = []
    parents: dict[str, list[str]] = {}
    for t in triples:
        s_, p_, o = t.subject, t.predicate.value, t.object
        if not isinstance(s_, ox.NamedNode) or not isinstance(o, ox.NamedNode):
            continue
        if p_ == RDF_TYPE and o.value == OWL_CLASS and s_.value.startswith(IJ):
            classes.append(s_.value)
        elif p_ == RDFS_SUBCLASS_OF:
            parents.setdefault(s_.value, []).append(o.value)
    supers: dict[str, set[str]] = {}
    for cls in classes:  # the class and every class above it, in the ontology's namespace
        chain, todo = {cls}, [cls]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent not in chain:
                    chain.add(parent)
                    todo.append(parent)
        supers[cls[len(IJ) :]] = {c[len(IJ) :] for c in chain if c.startswith(IJ)}
    records: dict[str, Record] = {}
    matches: dict[str, set[str]] = {}
    types: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    facts: dict[str, dict[str, set[str]]] = {}
    other_labels: dict[str, dict[str, str]] = {}
    for t in triples:
        s, o = t.subject, t.object
        s_, p_, o_ = s.value, t.predicate.value, o.value
        iri = isinstance(o, ox.NamedNode)
        language = o.language.lower() if isinstance(o, ox.Literal) and o.language else None
        if p_ == RDF_TYPE and o_.startswith(IJ):
            types.setdefault(s_, set()).update(supers.get(o_[len(IJ) :], {o_[len(IJ) :]}))
        elif p_ == SKOS_EXACT_MATCH and "wikidata.org/" in o_ and s_.startswith(ID):
            matches.setdefault(s_, set()).add(o_)
        elif p_ == RDFS_LABEL and language == "en":
            labels[s_] = o_
        elif p_ == RDFS_LABEL and language:
            other_labels.setdefault(s_, {})[language] = o_
        elif p_.startswith(IJ) and iri:
            facts.setdefault(s_, {}).setdefault(p_[len(IJ) :], set()).add(o_)
        if s_.startswith(LINK):
            rec = records.setdefault(s_, Record(s_))
            local = p_[len(IJ) :] if p_.startswith(IJ) else None
            if local == "linkSubject":
                rec.subject = o_
            elif local == "linkStatus":
                rec.status = o_[len(IJ) :] if o_.startswith(IJ) else o_
            elif local == "linkTarget":
                rec.target = o_
            elif local == "candidate":
                rec.candidates.append(o_)
            elif local == "distinctFrom":
                rec.distinct_from.append(o_)
            elif local == "evidence":
                rec.evidence = o_
    return LinkState(records, matches, types, labels, facts, other_labels)


def expected(state: LinkState, resource: str) -> tuple[set[str], set[str], set[str]]:
    """Items the graph expects in a candidate's P31, P17/P27 and P39."""
    classes = state.types.get(resource, set())
    p31: set[str] = set()
    for cls, items in EXPECTED_TYPES.items():
        if cls in classes:
            p31 |= items
    countries: set[str] = set()
    positions: set[str] = set()
    facts = state.facts.get(resource, {})
    for place in facts.get("country", set()):
        if (q := state.item_of(place)) is not None:
            countries.add(q)
    for office in facts.get("heldOffice", set()):
        if (q := state.item_of(office)) is not None:
            positions.add(q)
        for st in state.facts.get(office, {}).get("jurisdiction", set()):
            if (q := state.item_of(st)) is not None:
                countries.add(q)
    return p31, countries, positions


def accept(
    resource: str, item: str, *, evidence: str, checks: str, project: Project | None = None
) -> Path:
    """Replace ``resource``'s link record by a confirmed link to ``item``."""
    project = project or Project.find()
    if not re.fullmatch(r"Q[1-9]\d*", item):
        raise KGError(f"{item!r} is not a Wikidata item ID (Q followed by digits)")
    kind, local, path, text, record, found = _record_of(resource, project)
    slug = f"{kind}-{local}"
    state = read_state(project)
    rec = state.record_for(resource)
    if rec is not None and item in {qid(d) for d in rec.distinct_from}:
        raise KGError(f"{item} is recorded as a namesake of {kind}:{local}; not linking it")
    other = [
        r for r, items in state.matches.items() if f"{ENTITY}{item}" in items and r != resource
    ]
    if other:
        raise KGError(f"{item} is already linked to {shorten(other[0])}")
    block = (
        f"{kind}:{local} skos:exactMatch wd:{item} .\n"
        f"link:{slug} a ij:WikidataLink ;\n"
        f"    ij:linkSubject {kind}:{local} ;\n"
        f"    ij:linkStatus ij:Confirmed ;\n"
        f"    ij:linkTarget wd:{item} ;\n"
        f"    ij:checks {_turtle_string(checks)}@en ;\n" + _evidence_and_date(evidence)
    )
    return _replace_record(path, text, record, found, block)


def record_no_item(resource: str, *, evidence: str, project: Project | None = None) -> Path:
    """Replace ``resource``'s link record by one saying Wikidata has no item for it.

    Refused for a linked resource. Namesakes (``ij:distinctFrom``) are kept; candidates
    are dropped, since a person decided none of them is the resource (say so in
    ``evidence``).
    """
    project = project or Project.find()
    kind, local, path, text, record, found = _record_of(resource, project)
    state = read_state(project)
    if state.matches.get(resource):
        raise KGError(
            f"{kind}:{local} is linked to {', '.join(sorted(state.matches[resource]))}; "
            "remove that link first if it is wrong"
        )
    rec = state.record_for(resource)
    namesakes = "".join(
        f"    ij:distinctFrom wd:{qid(d)} ;\n" for d in (rec.distinct_from if rec else []) if qid(d)
    )
    block = (
        f"link:{kind}-{local} a ij:WikidataLink ;\n"
        f"    ij:linkSubject {kind}:{local} ;\n"
        f"    ij:linkStatus ij:NoItem ;\n"
        f"{namesakes}" + _evidence_and_date(evidence)
    )
    return _replace_record(path, text, record, found, block)


def _evidence_and_date(evidence: str) -> str:
    """A record's last two lines: its evidence, and today's date."""
    return (
        f"    ij:evidence {_turtle_string(evidence)}@en ;\n"
        f'    dcterms:date "{datetime.date.today().isoformat()}"^^xsd:date .\n'
    )


def _replace_record(
    path: Path, text: str, record: re.Pattern[str], found: list[str], block: str
) -> Path:
    """Write ``text`` with the old record (if ``found``) replaced by ``block``, atomically,
    after checking that the result parses."""
    text = record.sub("", text) if found else text
    new = text.rstrip("\n") + "\n\n" + block
    _parse_check(new, path)
    atomic_write(path, new.encode("utf-8"))
    return path


def _record_of(
    resource: str, project: Project
) -> tuple[str, str, Path, str, re.Pattern[str], list[str]]:
    """Where ``resource``'s record is: kind, local name, file, its text, the record's
    pattern and the records found (at most one, or a :class:`KGError`)."""
    if not resource.startswith(ID) or resource.count("/") < 5:
        raise KGError(f"{resource!r} is not a resource of this graph")
    kind, local = resource[len(ID) :].split("/", 1)
    path = project.data_dir / "wikidata.ttl"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    slug = f"{kind}-{local}"
    record = re.compile(rf"^link:{re.escape(slug)} a ij:WikidataLink ;\n(?:.*\n)*?.* \.\n", re.M)
    found = record.findall(text)
    if len(found) > 1:
        raise KGError(f"{path.name} has {len(found)} records for {kind}:{local}; edit it by hand")
    return kind, local, path, text, record, found


def _turtle_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _parse_check(text: str, path: Path) -> None:
    from rdflib import Graph

    try:
        Graph().parse(data=text, format="turtle")
    except Exception as e:
        raise KGError(
            f"{path.name} would not parse after the change ({e}); nothing written"
        ) from None
