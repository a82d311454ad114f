"""Reconciliation (``kg link --suggest``): Wikidata candidates for unlinked resources,
ranked by label, type and facts (country, offices) against what the graph knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kg.errors import KGError
from kg.namespaces import shorten
from kg.project import Project
from kg.wikidata.client import WikidataClient, aliases, claim_items, label
from kg.wikidata.records import LINKABLE, LinkState, expected, fold, read_state


@dataclass
class Suggestion:
    resource: str
    label: str
    candidate: str
    candidate_label: str
    description: str
    score: float
    reasons: list[str]


def score_candidate(
    state: LinkState, resource: str, entity: dict[str, Any]
) -> tuple[float, list[str]]:
    """How well an item fits a resource: label, type, country, offices."""
    ours = state.labels.get(resource, "")
    score, reasons = 0.0, []
    theirs = label(entity) or ""
    if fold(theirs) == fold(ours):
        score += 0.4
        reasons.append("same English label")
    elif fold(ours) in {fold(a) for a in aliases(entity)}:
        score += 0.3
        reasons.append("our label is one of its aliases")
    p31, countries, positions = expected(state, resource)
    instance_of = claim_items(entity, "P31")
    if p31:
        if instance_of & p31:
            score += 0.3
            reasons.append(f"instance of {', '.join(sorted(instance_of & p31))}")
        else:
            score -= 0.5
            reasons.append(f"not an instance of {', '.join(sorted(p31))}")
    theirs_countries = claim_items(entity, "P27") | claim_items(entity, "P17")
    if countries and theirs_countries:
        if countries & theirs_countries:
            score += 0.2
            reasons.append(f"country/citizenship {', '.join(sorted(countries & theirs_countries))}")
        else:
            score -= 0.2
            reasons.append(
                f"country/citizenship {', '.join(sorted(theirs_countries))}, "
                f"not {', '.join(sorted(countries))}"
            )
    held = claim_items(entity, "P39")
    if positions and held & positions:
        score += 0.2
        reasons.append(f"held {', '.join(sorted(held & positions))}")
    return round(score, 2), reasons


def suggest(
    names: list[str] | None = None,
    *,
    type_: str | None = None,
    client: WikidataClient,
    project: Project | None = None,
    limit: int = 5,
) -> list[Suggestion]:
    """Ranked Wikidata candidates for resources without a confirmed link."""
    state = read_state(project)
    wanted = [r for r in state.linkable() if state.item_of(r) is None]
    if type_ is not None:
        if type_ not in LINKABLE and type_ not in {t for ts in state.types.values() for t in ts}:
            raise KGError(f"unknown class {type_!r}; linkable classes: {', '.join(LINKABLE)}")
        wanted = [r for r in wanted if type_ in state.types.get(r, set())]
    if names:
        folded = {n.casefold() for n in names}
        wanted = [
            r
            for r in wanted
            if state.labels.get(r, "").casefold() in folded or shorten(r) in names or r in names
        ]
        if not wanted:
            raise KGError(f"no unlinked resource named {', '.join(names)}")
    out: list[Suggestion] = []
    for resource in wanted:
        text = state.labels.get(resource, "")
        hits = client.search(text)[:limit]
        entities = client.entities(h["id"] for h in hits) if hits else {}
        for hit in hits:
            entity = entities.get(hit["id"], {})
            if "missing" in entity:
                continue
            score, reasons = score_candidate(state, resource, entity)
            out.append(
                Suggestion(
                    resource,
                    text,
                    hit["id"],
                    label(entity) or hit.get("label", ""),
                    hit.get("description", ""),
                    score,
                    reasons,
                )
            )
    out.sort(key=lambda s: (s.resource, -s.score, s.candidate))
    return out


def suggestions_table(suggestions: list[Suggestion]) -> str:
    if not suggestions:
        return "no candidates\n"
    lines = [f"{'resource':44} {'item':12} {'score':>5}  label — description; why"]
    for s in suggestions:
        lines.append(
            f"{shorten(s.resource):44} {s.candidate:12} {s.score:5.2f}  "
            f"{s.candidate_label} — {s.description}; {', '.join(s.reasons) or 'no match'}"
        )
    return "\n".join(lines) + "\n"
