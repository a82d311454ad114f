"""Candidates (``kg link suggest``): Wikidata items for unlinked resources,
ranked by label, type and facts (country, offices) against what the graph knows;
accepting one of them (``kg link accept``), and the search behind a "no item"
record (``kg link no-item``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import KGError
from kg.names import fold
from kg.namespaces import shorten, wikidata_item
from kg.project import Project
from kg.wikidata.client import WikidataClient, aliases, claim_items, label
from kg.wikidata.records import LINKABLE, LinkState, accept, expected, read_state


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
        known = {t.casefold(): t for ts in state.types.values() for t in ts}
        known.update({t.casefold(): t for t in LINKABLE})
        if type_.casefold() not in known:
            raise KGError(f"unknown class {type_!r}; linkable classes: {', '.join(LINKABLE)}")
        type_ = known[type_.casefold()]  # --type person, as one types it
        wanted = [r for r in wanted if type_ in state.types.get(r, set())]
    if names:
        def named(r: str) -> bool:
            return state.labels.get(r, "").casefold() in folded or shorten(r) in names or r in names

        folded = {n.casefold() for n in names}
        wanted = [r for r in wanted if named(r)]
        if not wanted:
            raise KGError(_not_unlinked(names, [r for r in state.linkable() if named(r)], state))
    out: list[Suggestion] = []
    for resource in wanted:
        text = state.labels.get(resource, "")
        hits = client.search(text)[:limit]
        entities = client.entities(h["id"] for h in hits) if hits else {}
        for hit in hits:
            entity = entities.get(hit["id"], {})
            if "missing" in entity:
                continue
            out.append(_scored(state, resource, text, hit, entity))
    out.sort(key=lambda s: (s.resource, -s.score, s.candidate))
    return out


def _not_unlinked(names: list[str], linked: list[str], state: LinkState) -> str:
    """Why none of ``names`` is a resource to suggest items for: each is linked already
    (``linked``, with its item), or no resource has that label or name (the closest
    unlinked labels offered)."""
    if linked:
        items = ", ".join(f"{shorten(r)} to {state.item_of(r)}" for r in linked)
        return f"already linked: {items} ('kg link verify' re-checks a link)"
    import difflib

    left = [r for r in state.linkable() if state.item_of(r) is None]
    unlinked = {fold(state.labels[r]): state.labels[r] for r in left if r in state.labels}
    # a resource's prefixed name too (person:kabun-mutto), as 'kg link accept' is given it
    unlinked.update({shorten(r): shorten(r) for r in left})
    shown = [shorten(n) if n.startswith("http") else n for n in names]  # as it was typed
    close = [unlinked[k] for n in shown
             for k in difflib.get_close_matches(n if ":" in n else fold(n), unlinked, n=3,
                                                cutoff=0.7)]
    hint = f"; did you mean {' or '.join(dict.fromkeys(close))}?" if close else ""
    return f"no unlinked resource named {', '.join(shown)}{hint}"


def _scored(
    state: LinkState, resource: str, text: str, hit: dict[str, Any], entity: dict[str, Any]
) -> Suggestion:
    """One search hit, scored against what the graph knows of ``resource``."""
    score, reasons = score_candidate(state, resource, entity)
    return Suggestion(
        resource,
        text,
        hit["id"],
        label(entity) or hit.get("label", ""),
        hit.get("description", ""),
        score,
        reasons,
    )


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


@dataclass
class NoItemSearch:
    """What Wikidata's search returned for every label of one resource."""

    resource: str
    searches: list[tuple[str, str, int]] = field(default_factory=list)  # language, text, hits
    seen: list[Suggestion] = field(default_factory=list)  # every item returned, scored
    fitting: list[Suggestion] = field(default_factory=list)  # items that may be the resource

    def evidence(self, day: datetime.date | None = None) -> str:
        """The record's evidence: the searches, and every item they returned."""
        day = day or datetime.date.today()
        asked = " and ".join(f"'{text}' ({lang}, {n} hit(s))" for lang, text, n in self.searches)
        items = "; ".join(
            f"{s.candidate} ({s.candidate_label or 'no English label'}"
            f"{' — ' + s.description if s.description else ''})"
            for s in self.seen
        )
        return (
            f"Wikidata's search (wbsearchentities) on {day.isoformat()} for {asked} "
            + (
                f"returned only items of another kind or name: {items}. "
                if items
                else "returned no item. "
            )
            + "None has this resource's label or alias, nor the type, country or office the "
            "graph gives it; a person reviewed the search and wrote this record with "
            "kg link no-item."
        )

    def refusal(self) -> str:
        """Why no "no item" record is written when the search found items that fit."""
        return (
            f"Wikidata's search found {len(self.fitting)} item(s) that may be "
            f"{shorten(self.resource)} (listed above); link one with 'kg link accept', or "
            "check them by hand; nothing written"
        )


def no_item_search(
    resource: str, *, client: WikidataClient, project: Project | None = None, limit: int = 7
) -> NoItemSearch:
    """Search Wikidata for every label of ``resource`` (English and any other language)
    and score what comes back. An item fits when it scores above zero (label or alias,
    type, country or office) or when the search matched one of our labels exactly."""
    state = read_state(project)
    if resource not in state.linkable():
        raise KGError(f"{shorten(resource)} is not a linkable resource of this graph")
    labels = {"en": state.labels.get(resource, "")} | state.other_labels.get(resource, {})
    out = NoItemSearch(resource)
    hits_by_id: dict[str, dict[str, Any]] = {}
    exact: set[str] = set()
    for lang, text in sorted(labels.items(), key=lambda kv: (kv[0] != "en", kv[0])):
        if not text:
            continue
        hits = client.search(text, language=lang, limit=limit)
        out.searches.append((lang, text, len(hits)))
        for h in hits:
            hits_by_id.setdefault(h["id"], h)
            match = h.get("match", {})
            if match.get("type") in {"label", "alias"} and fold(match.get("text", "")) == fold(
                text
            ):
                exact.add(h["id"])
    entities = client.entities(hits_by_id) if hits_by_id else {}
    for q, hit in sorted(hits_by_id.items()):
        entity = entities.get(q, {})
        if "missing" in entity:
            continue
        s = _scored(state, resource, labels["en"], hit, entity)
        if q in exact:
            s.reasons.append("the search matched one of our labels exactly")
        out.seen.append(s)
        if s.score > 0 or q in exact:
            out.fitting.append(s)
    return out


def accept_candidate(
    resource: str, item: str, *, client: WikidataClient, project: Project | None = None
) -> Path:
    """Write ``item`` as ``resource``'s confirmed link, if Wikidata's search ranks it
    among the resource's candidates; the search and the score are the record's evidence.
    A person decides; this only refuses an item the search did not offer. The item may be
    written as Wikidata writes it or as one copies it (``q123``, ``wd:Q123``, its page's
    address); anything else is refused before Wikidata is asked."""
    qid = wikidata_item(item)
    if qid is None:
        raise KGError(f"{item!r} is not a Wikidata item ID (Q followed by digits, e.g. Q132345)")
    item = qid
    picked = [s for s in suggest([resource], client=client, project=project)
              if s.resource == resource and s.candidate == item]  # fmt: skip
    if not picked:
        raise KGError(
            f"{item} is not a ranked candidate for {shorten(resource)}; see 'kg link suggest' "
            "for it, or add the link by hand with its evidence"
        )
    s = picked[0]
    return accept(
        resource,
        item,
        evidence=f"Accepted by a person from kg link accept: Wikidata's search for "
        f"'{s.label}' returned {item} ({s.candidate_label}: {s.description}).",
        checks=f"Score {s.score:.2f}: {', '.join(s.reasons) or 'none'}.",
        project=project,
    )
