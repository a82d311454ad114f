"""How far linking has come (``kg link report``): per kind of resource, how many are
linked (a confirmed ``skos:exactMatch``), how many have a candidate awaiting evidence, how
many have neither, how many Wikidata was searched for and has no item for, and for each
one left, the reason its record gives.

The share linked is over the linkable resources: those with a Wikidata item, or not yet
known to lack one. A resource leaves that count only through an ``ij:NoItem`` record,
whose evidence is the search that found nothing (``kg link no-item``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.namespaces import shorten
from kg.project import Project
from kg.wikidata.records import LINKABLE, LinkState, read_state


@dataclass
class Row:
    kind: str
    linked: int = 0
    candidate: int = 0
    unconfirmed: int = 0
    no_item: int = 0

    @property
    def total(self) -> int:
        """Every resource with a record, linkable or not."""
        return self.linked + self.candidate + self.unconfirmed + self.no_item

    @property
    def linkable(self) -> int:
        """Resources with a Wikidata item, or not yet known to lack one."""
        return self.linked + self.candidate + self.unconfirmed

    @property
    def share(self) -> float:
        return self.linked / self.linkable if self.linkable else 0.0


@dataclass
class LinkReport:
    rows: list[Row]
    left: list[tuple[str, str, str]] = field(default_factory=list)  # resource, status, reason
    no_item: list[tuple[str, str]] = field(default_factory=list)  # resource, the search

    @property
    def all(self) -> Row:
        return Row(
            "all",
            sum(r.linked for r in self.rows),
            sum(r.candidate for r in self.rows),
            sum(r.unconfirmed for r in self.rows),
            sum(r.no_item for r in self.rows),
        )

    def to_text(self, *, markdown: bool = False) -> str:
        head = ("kind", "linked", "candidate", "unconfirmed", "no item", "share linked")
        body = [
            (r.kind, str(r.linked), str(r.candidate), str(r.unconfirmed), str(r.no_item),
             f"{r.share:.0%}")
            for r in [*self.rows, self.all]
        ]  # fmt: skip
        if markdown:
            lines = ["| " + " | ".join(head) + " |", "|---|---:|---:|---:|---:|---:|"]
            lines += ["| " + " | ".join(cells) + " |" for cells in body]
        else:
            widths = [max(len(c[i]) for c in [head, *body]) for i in range(len(head))]
            lines = [
                "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                          enumerate(zip(cells, widths, strict=True)))
                for cells in [head, *body]
            ]  # fmt: skip
        lines += ["", f"left ({len(self.left)}):"]
        lines += [f"- {name} [{status}]: {reason}" for name, status, reason in self.left]
        if self.no_item:
            lines += ["", f"no Wikidata item ({len(self.no_item)}):"]
            lines += [f"- {name}: {search}" for name, search in self.no_item]
        return "\n".join(lines) + "\n"


def _kind(state: LinkState, resource: str) -> str:
    types = state.types.get(resource, set())
    kind = next((k for k in LINKABLE if k in types), None)
    return kind or ("Event" if "Event" in types else "other")


def link_report(project: Project | None = None) -> LinkReport:
    """The linking report of the project's graph: every linkable resource and every
    resource with a link record, by kind (the first class of :data:`LINKABLE` it has)."""
    state = read_state(project)
    subjects = set(state.linkable()) | {r.subject for r in state.records.values() if r.subject}
    rows: dict[str, Row] = {k: Row(k) for k in LINKABLE}
    left = []
    no_item = []
    for resource in sorted(subjects):
        kind = _kind(state, resource)
        row = rows.setdefault(kind, Row(kind))
        rec = state.record_for(resource)
        if state.item_of(resource) is not None:
            row.linked += 1
            continue
        if rec is not None and rec.status == "NoItem":
            row.no_item += 1
            no_item.append((shorten(resource), rec.evidence or "no evidence recorded"))
            continue
        if rec is not None and rec.candidates:
            row.candidate += 1
            status = "candidate " + ", ".join(shorten(c) for c in rec.candidates)
        else:
            row.unconfirmed += 1
            status = "unconfirmed"
        reason = (rec.evidence if rec is not None else None) or "no link record"
        left.append((shorten(resource), status, reason))
    return LinkReport([r for r in rows.values() if r.total], left, no_item)
