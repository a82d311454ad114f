"""Everything the graph says about one entity, as subject and as object."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import sparql
from kg.errors import KGError
from kg.formats import display
from kg.namespaces import IJ, shorten
from kg.project import Project
from kg.queries import resolve_resource, wikidata_instead
from kg.store import Engine, SelectResult, open_engine

#: The groups of a resource page, in order. A fact goes to the first group whose
#: properties name its property, or whose classes name the class of the resource at
#: its other end; the rest go to "Other facts". Kept here, not in a template: a
#: table of the ontology's terms, which tests and other surfaces can read.
FACT_GROUPS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    (
        "Identity",
        frozenset(
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type "
            "http://www.w3.org/2000/01/rdf-schema#label "
            "http://www.w3.org/2004/02/skos/core#altLabel "
            "http://purl.org/dc/terms/alternative "
            "http://www.w3.org/2004/02/skos/core#exactMatch "
            "http://www.w3.org/2004/02/skos/core#closeMatch "
            "http://www.w3.org/2004/02/skos/core#notation "
            "http://www.w3.org/2004/02/skos/core#definition "
            "http://schema.org/url http://schema.org/image "
            f"{IJ}candidate {IJ}category {IJ}country {IJ}jurisdiction {IJ}distinctFrom".split()
        ),
        frozenset({IJ + "WikidataLink"}),
    ),
    (
        "Offices and missions",
        frozenset(
            f"{IJ}heldOffice {IJ}officeHeld {IJ}holder {IJ}position {IJ}headedMission "
            f"{IJ}headOffice {IJ}accreditedTo {IJ}predecessor {IJ}appointmentDate "
            f"{IJ}credentialsDate {IJ}sendingState {IJ}receivingState".split()
        ),
        frozenset({IJ + "Tenure", IJ + "Office", IJ + "Embassy", IJ + "Legation"}),
    ),
    ("Visits", frozenset(), frozenset({IJ + "Visit"})),
    (
        "Agreements and events",
        frozenset(),
        frozenset({IJ + "Agreement", IJ + "Event", IJ + "Statement", IJ + "Observation"}),
    ),
    (
        "Sources and notes",
        frozenset(
            "http://www.w3.org/ns/prov#wasDerivedFrom "
            "http://www.w3.org/ns/prov#wasAttributedTo "
            "http://www.w3.org/2004/02/skos/core#note "
            "http://www.w3.org/2000/01/rdf-schema#comment "
            "http://purl.org/dc/terms/source "
            f"{IJ}evidence {IJ}quotation".split()
        ),
        frozenset({IJ + "ArticleSection"}),
    ),
)
OTHER_FACTS = "Other facts"


def fact_group(prop: str, other_class: str | None) -> str:
    """The heading a fact goes under on a resource page.

    >>> fact_group("http://www.w3.org/2000/01/rdf-schema#label", None)
    'Identity'
    >>> fact_group("https://w3id.org/israel-japan-kg/ontology#visitor",
    ...            "https://w3id.org/israel-japan-kg/ontology#Visit")
    'Visits'
    """
    for title, props, classes in FACT_GROUPS:
        if prop in props or (other_class is not None and other_class in classes):
            return title
    return OTHER_FACTS


@dataclass
class Description:
    iri: str
    outgoing: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal, str | None]]
    incoming: list[tuple[ox.NamedNode, ox.NamedNode, str | None]]
    #: (property IRI, value in N-Triples) -> the ids of the units of the article stating it
    units: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: property IRI -> "inferred" or "general knowledge", as the resource flags it
    flags: dict[str, str] = field(default_factory=dict)
    #: for a Wikidata item, which the graph only links to: the resource to describe instead
    see: str | None = None

    def to_text(self) -> str:
        def lab(label: str | None) -> str:
            return f"  ({label})" if label else ""

        lines = [f"<{self.iri}>  {display(ox.NamedNode(self.iri))}", ""]
        if self.see:
            lines += [f"  {self.see}", ""]

        def cited(p: ox.NamedNode, o: ox.Term) -> str:
            # an uncited value of a flagged property is the flag's: Jericho a schema:City
            ids = self.units.get((p.value, str(o))) or [self.flags.get(p.value, "")]
            return f"  [{', '.join(ids)}]" if ids[0] else ""

        lines += [f"  {display(p)}  {display(o)}{lab(label)}{cited(p, o)}"
                  for p, o, label in self.outgoing]
        if self.incoming:
            lines += ["", "  referred to by:"]
            lines += [
                f"  {display(s)}{lab(label)}  {display(p)}  this" for s, p, label in self.incoming
            ]
        return "\n".join(lines) + "\n"


def describe(
    label_or_iri: str, *, engine: Engine | None = None, project: Project | None = None
) -> Description:
    """Everything about the resource named by an IRI, prefixed name or label."""
    engine = engine or open_engine(project=project)
    this = resolve_resource(label_or_iri, engine, what="describe", in_graph=True)
    out = engine.query(sparql.load("outgoing"), {"this": this})
    inc = engine.query(sparql.load("incoming"), {"this": this})
    assert isinstance(out, SelectResult) and isinstance(inc, SelectResult)
    if not out.rows and not inc.rows:
        raise KGError(f"describe: <{this.value}> is not in the graph")
    from kg.sources import citations_of, flags_of

    units = {k: [u.id for u in v] for k, v in citations_of(engine, this).items()}
    return Description(
        this.value,
        [(r[1], r[2], r[3].value if r[3] else None) for r in out.rows],  # type: ignore[misc]
        [(r[1], r[2], r[3].value if r[3] else None) for r in inc.rows],  # type: ignore[misc]
        units,
        flags_of(engine, this),
        # wd:Q17 is in the graph only as what state:japan links to
        None if out.rows else wikidata_instead(this.value, engine),
    )


def vocabulary(engine: Engine) -> list[dict[str, str]]:
    """The prefixed names a query can use — classes, properties and labelled resources —
    each with its kind and English label; IRIs no prefix fits are left out."""
    out = []
    for t, kind, label in engine.select(sparql.load("terms")):
        assert t is not None and kind is not None
        name = shorten(t.value)
        if not name.startswith("<"):
            out.append({"name": name, "kind": kind.value, "label": label.value if label else ""})
    return out
