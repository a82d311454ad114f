"""Checking links: offline (``kg link check``) and against Wikidata (``kg link verify``).

- :func:`check` — offline: well-formed IDs, one per resource, none shared,
  every linked resource typed, every linkable resource linked or listed,
  evidence on every confirmed link and every "no item" record, no candidate on a
  "no item" record, no link to a declared namesake.
- :func:`verify` — online: every linked item exists, is not a redirect, and its
  label and type agree with the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.names import fold
from kg.namespaces import shorten
from kg.project import Project
from kg.wikidata.client import ENTITY, WikidataClient, aliases, claim_items, label, qid
from kg.wikidata.records import LinkState, expected, read_state


def summary(
    problems: list[str], project: Project | None = None, *, state: LinkState | None = None
) -> str:
    """The last line of ``kg link check``: the problems, and how many resources have a
    confirmed link and how many are listed without one (in ``state`` when the caller
    has read it already)."""
    state = state if state is not None else read_state(project)
    confirmed = sum(r.status == "Confirmed" for r in state.records.values())
    return (
        f"{len(problems)} problem(s); {confirmed} confirmed link(s), "
        f"{len(state.records) - confirmed} resource(s) listed without one"
    )


def check(project: Project | None = None, *, state: LinkState | None = None) -> list[str]:
    """Offline problems with the links (of ``state`` when the caller has read it already);
    an empty list when all is well."""
    state = state if state is not None else read_state(project)
    problems: list[str] = []
    owners: dict[str, list[str]] = {}
    for resource, items in sorted(state.matches.items()):
        for item in sorted(items):
            if qid(item) is None:
                problems.append(
                    f"{shorten(resource)}: {item} is not a canonical Wikidata entity "
                    f"IRI ({ENTITY}Q…)"
                )
            owners.setdefault(item, []).append(resource)
        if len(items) > 1:
            problems.append(
                f"{shorten(resource)}: linked to {len(items)} items "
                f"({', '.join(sorted(items))}); one resource, one item"
            )
        if not state.types.get(resource):
            problems.append(f"{shorten(resource)}: linked but has no type of the ontology")
    for item, resources in sorted(owners.items()):
        if len(resources) > 1:
            problems.append(f"{item}: shared by {', '.join(shorten(r) for r in resources)}")
    seen: dict[str, str] = {}
    for rec in sorted(state.records.values(), key=lambda r: r.iri):
        name = shorten(rec.iri)
        if rec.subject is None:
            continue  # the shapes report records without a subject
        if rec.subject in seen:
            problems.append(
                f"{shorten(rec.subject)}: two link records ({seen[rec.subject]}, {name})"
            )
        seen[rec.subject] = name
        linked = state.matches.get(rec.subject, set())
        if rec.status == "Confirmed":
            if not rec.evidence or len(rec.evidence.strip()) < 20:
                problems.append(f"{name}: a confirmed link needs its evidence recorded")
            if rec.target not in linked:
                problems.append(
                    f"{name}: confirmed, but {shorten(rec.subject)} does not link to {rec.target}"
                )
        elif rec.status == "NoItem":
            if not rec.evidence or len(rec.evidence.strip()) < 20:
                problems.append(f"{name}: a 'no item' record needs the search it rests on")
            if rec.candidates:
                problems.append(
                    f"{name}: says Wikidata has no item, yet names candidate(s) "
                    f"{', '.join(sorted(rec.candidates))}"
                )
        if rec.status != "Confirmed" and linked:
            problems.append(
                f"{shorten(rec.subject)}: linked to {', '.join(sorted(linked))} "
                f"but its record says {rec.status}"
            )
        for bad in rec.distinct_from:
            if bad in linked:
                problems.append(
                    f"{shorten(rec.subject)}: linked to {bad}, which its record "
                    "names as a namesake (ij:distinctFrom)"
                )
    for resource in sorted(state.matches):
        if resource not in seen:
            problems.append(f"{shorten(resource)}: linked without a link record (evidence)")
    for resource in state.linkable():
        if resource not in seen:
            problems.append(
                f"{shorten(resource)}: neither linked nor listed as unconfirmed "
                "in data/wikidata.ttl"
            )
    return problems


@dataclass
class Verification:
    resource: str
    item: str
    problems: list[str]


def verify(*, client: WikidataClient, project: Project | None = None) -> list[Verification]:
    """Check every confirmed link against Wikidata: exists, not redirected, label and type agree."""
    state = read_state(project)
    linked = {r: q for r in state.linkable() if (q := state.item_of(r)) is not None}
    entities = client.entities(linked.values())
    out = []
    for resource, item in sorted(linked.items()):
        entity = entities.get(item, {"missing": ""})
        problems = []
        if "missing" in entity:
            problems.append("the item does not exist (deleted or never created)")
        else:
            redirect = entity.get("redirects", {})
            if redirect:
                problems.append(f"the item redirects to {redirect.get('to')}: link that instead")
            ours = fold(state.labels.get(resource, ""))
            names = {fold(label(entity) or ""), *(fold(a) for a in aliases(entity))}
            if ours not in names:
                problems.append(
                    f"its English label is {label(entity)!r}, not {state.labels.get(resource)!r}"
                )
            p31, _, _ = expected(state, resource)
            if p31 and not claim_items(entity, "P31") & p31:
                problems.append(f"it is not an instance of {', '.join(sorted(p31))}")
        out.append(Verification(resource, item, problems))
    return out
