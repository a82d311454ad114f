"""``kg release VERSION``: a numbered, checksummed copy of the dataset and what changed.

``build/release/VERSION/`` gets every export format (each with the licence
header), the dataset description (``void.ttl``, with the version, the date and one
distribution per dump), a changelog against the previous release (``CHANGES.md``:
triples added and removed per class and per property, IRIs gone and new, and the
full difference as ``changes/added.nt`` and ``changes/removed.nt``), and
``SHA256SUMS`` over all of them (``sha256sum -c`` reads it).

Semantic versioning for data (``MAJOR.MINOR.PATCH``, no pre-release tags), judged
against the previous release (the greatest version already under
``build/release/``), for the IRIs of the graph's own namespace
(``https://w3id.org/israel-japan-kg/``: resources, classes, properties; not the
citation nodes, whose IRIs are derived from the fact they cite), which is what
others link to:

- **major**: an IRI the previous release used is gone (removed or renamed: a link
  to it breaks);
- **minor**: no IRI gone, and new IRIs (new resources or terms);
- **patch**: the same IRIs; facts added, corrected or removed.

A version that is not semantic, not greater than the previous, or smaller a step
than the change needs, is refused with the reason; nothing is written. Output is
byte-deterministic: the release date is an input (``--date``, or
``SOURCE_DATE_EPOCH`` as reproducible builds set it), never the clock.

>>> parse_version("1.10.0") > parse_version("1.9.3")
True
>>> needed_bump({"a", "b"}, {"a"}), needed_bump({"a"}, {"a", "c"}), needed_bump({"a"}, {"a"})
('major', 'minor', 'patch')
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyoxigraph as ox

from kg.citation import cff
from kg.dataset import DUMPS, Dump, describe, description_bytes, dumps
from kg.errors import KGError
from kg.namespaces import BASE, RDF_TYPE, shorten
from kg.project import Project
from kg.store.oxigraph import OxigraphEngine

DCT_ISSUED = "http://purl.org/dc/terms/issued"

SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
BUMPS = ("patch", "minor", "major")


def parse_version(text: str) -> tuple[int, int, int]:
    """``MAJOR.MINOR.PATCH`` as numbers; a clear error for anything else."""
    m = SEMVER.fullmatch(text)
    if m is None:
        raise KGError(
            f"{text[:40]!r} is not a semantic version MAJOR.MINOR.PATCH (for example 1.0.0; "
            "no leading zeros, no pre-release tag)"
        )
    return int(m[1]), int(m[2]), int(m[3])


def release_date(given: str | None, environ: dict[str, str] | None = None) -> str:
    """The release date: ``given`` (YYYY-MM-DD), else ``SOURCE_DATE_EPOCH``; never the clock."""
    environ = dict(os.environ) if environ is None else environ
    if given is not None:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", given):
            raise KGError(f"--date {given[:40]!r} is not a date YYYY-MM-DD")
        try:
            return date.fromisoformat(given).isoformat()
        except ValueError:
            raise KGError(f"--date {given!r} is not a date YYYY-MM-DD") from None
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:  # empty counts as unset, as reproducible-builds tools read it
        try:
            return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise KGError(f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a number of seconds") from None
    raise KGError(
        "a release needs its date: give --date YYYY-MM-DD (or set SOURCE_DATE_EPOCH), so that "
        "the same release is the same bytes"
    )


def own_iris(triples: set[ox.Triple]) -> set[str]:
    """Every IRI of the graph's own namespace that ``triples`` use, in any position, but
    the citation nodes: their IRIs are derived from the triple they cite (a corrected
    fact has a new one), so nobody links to them and they do not version the data."""
    from kg.store.loading import CITATION

    return {
        t.value
        for tr in triples
        for t in (tr.subject, tr.predicate, tr.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(BASE)
        and not t.value.startswith(CITATION)
    }  # fmt: skip


def needed_bump(before: set[str], after: set[str]) -> str:
    """The least version step from IRIs ``before`` to IRIs ``after`` (see the module)."""
    if before - after:
        return "major"
    if after - before:
        return "minor"
    return "patch"


def check_step(previous: tuple[int, int, int], version: tuple[int, int, int], bump: str) -> None:
    """Refuse ``version`` unless it is greater than ``previous`` by at least ``bump``."""
    shown = ".".join(map(str, previous))
    wanted = ".".join(map(str, version))
    if version <= previous:
        raise KGError(f"version {wanted} is not greater than the previous release {shown}")
    step = "major" if version[0] > previous[0] else "minor" if version[1] > previous[1] else "patch"
    if BUMPS.index(step) < BUMPS.index(bump):
        raise KGError(
            f"version {wanted} is a {step} step from {shown}, but the change needs a {bump} "
            f"release ({_why(bump)}); release {_least(previous, bump)} or later"
        )


def _why(bump: str) -> str:
    return {
        "major": "IRIs of the previous release are gone",
        "minor": "new IRIs",
        "patch": "facts changed",
    }[bump]


def _least(previous: tuple[int, int, int], bump: str) -> str:
    major, minor, patch = previous
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def releases(root: Path) -> dict[tuple[int, int, int], Path]:
    """The complete releases under ``root`` (folders named by a version, with SHA256SUMS)."""
    found = {}
    if root.is_dir():
        for path in root.iterdir():
            if SEMVER.fullmatch(path.name) and (path / "SHA256SUMS").is_file():
                found[parse_version(path.name)] = path
    return found


def read_nt(data: bytes) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)}


@dataclass
class Changes:
    """The difference between two releases."""

    previous: str | None
    added: set[ox.Triple]
    removed: set[ox.Triple]
    iris_gone: set[str]
    iris_new: set[str]
    bump: str
    before: int
    after: int


def _classes(triples: set[ox.Triple]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for tr in triples:
        if tr.predicate.value == RDF_TYPE and isinstance(tr.object, ox.NamedNode):
            out.setdefault(tr.subject.value, []).append(tr.object.value)
    return out


def changelog(ch: Changes, version: str, issued: str, old: set[ox.Triple],
              new: set[ox.Triple]) -> str:  # fmt: skip
    """``CHANGES.md``: the summary per class and per property, and the IRIs gone and new."""
    lines = [f"# Release {version} ({issued})", ""]
    if ch.previous is None:
        lines += [f"First release: {ch.after:,} triples.", ""]
        return "\n".join(lines)
    from kg.store.loading import CITATION

    def facts(triples: set[ox.Triple]) -> set[ox.Triple]:
        return {t for t in triples if not t.subject.value.startswith(CITATION)}

    cited = (len(ch.added - facts(ch.added)), len(ch.removed - facts(ch.removed)))
    lines += [
        f"Against {ch.previous}: {ch.before:,} → {ch.after:,} triples; "
        f"{len(facts(ch.added)):,} added, {len(facts(ch.removed)):,} removed. "
        f"The change needs a {ch.bump} release ({_why(ch.bump)}).",
        "",
        f"The citations of the facts (nodes under <{CITATION}>) changed with them: "
        f"{cited[0]:,} triples added, {cited[1]:,} removed; the tables below count the "
        "facts only.",
        "",
        "The full difference: `changes/added.nt` and `changes/removed.nt`.",
        "",
    ]
    old_classes, new_classes = _classes(old), _classes(new)

    def per(triples: set[ox.Triple], classes: dict[str, list[str]], key: str) -> Counter:
        c: Counter = Counter()
        for tr in triples:
            if key == "property":
                c[shorten(tr.predicate.value)] += 1
            else:
                for k in classes.get(tr.subject.value, ["(no class)"]):
                    c[k if k == "(no class)" else shorten(k)] += 1
        return c

    for key in ("class", "property"):
        added = per(facts(ch.added), new_classes, key)
        removed = per(facts(ch.removed), old_classes, key)
        lines += [f"## Per {key} (of the subject)" if key == "class" else f"## Per {key}", ""]
        if not added and not removed:
            lines += ["No change.", ""]
            continue
        lines += [f"| {key} | added | removed |", "|---|---:|---:|"]
        for name in sorted(set(added) | set(removed)):
            lines.append(f"| `{name}` | {added[name]:,} | {removed[name]:,} |")
        lines.append("")
    for title, iris in (("IRIs gone", ch.iris_gone), ("New IRIs", ch.iris_new)):
        lines += [f"## {title} ({len(iris)})", ""]
        lines += [f"- <{i}>" for i in sorted(iris)] or ["None."]
        lines.append("")
    return "\n".join(lines)


def _issued(folder: Path) -> str | None:
    """The date a release was issued, from its description (``dcterms:issued``)."""
    try:
        quads = ox.parse(path=str(folder / "void.ttl"), format=ox.RdfFormat.TURTLE)
        return next((q.object.value for q in quads if q.predicate.value == DCT_ISSUED), None)
    except (OSError, SyntaxError):
        return None


def _check_after(previous: Path, issued: str, unchanged: bool) -> None:
    """Refuse a release dated before the one it follows, or one that changes nothing."""
    then = _issued(previous)
    if then is not None and issued < then:
        raise KGError(f"the release is dated {issued}, before {previous.name}'s {then}: a "
                      "later version cannot be older (give --date)")  # fmt: skip
    if unchanged:
        raise KGError(f"nothing changed since {previous.name}: the graph is the same, "
                      "so there is nothing to release")  # fmt: skip


def _ntriples(triples: set[ox.Triple]) -> bytes:
    return b"".join(sorted(f"{t} .\n".encode() for t in triples))


def release(
    version: str,
    *,
    issued: str,
    project: Project | None = None,
    root: Path | None = None,
    download_base: str | None = None,
    validate: bool = True,
) -> tuple[Path, Changes]:
    """Write release ``version`` under ``root`` (default ``build/release/``); the folder and
    the changes. Refuses (nothing written) a version that is not semantic, not greater
    than the previous release, or too small a step for the change."""
    wanted = parse_version(version)
    project = project or Project.find()
    root = root or project.build_dir / "release"
    found = releases(root)
    if (root / version).exists():
        raise KGError(f"{root / version} exists already; a release is never rewritten")
    if validate:
        from kg.exports import require_conforming

        require_conforming(project)
    from kg.exports import triples

    graph = triples(project)
    new = set(graph)
    if found:  # the step is checked before the dumps are made: a refusal costs no dump
        prev_version = max(found)
        old = read_nt((found[prev_version] / DUMPS["nt"][0]).read_bytes())
        before, after = own_iris(old), own_iris(new)
        bump = needed_bump(before, after)
        check_step(prev_version, wanted, bump)
        _check_after(found[prev_version], issued, old == new)
        changes = Changes(".".join(map(str, prev_version)), new - old, old - new,
                          before - after, after - before, bump, len(old), len(new))  # fmt: skip
    else:
        old = set()
        changes = Changes(None, new, set(), set(), own_iris(new), "major", 0, len(new))
    made = dumps(project, graph)
    base = download_base or f"{BASE}release/{version}/"
    engine = OxigraphEngine.from_project(project)
    description = describe(
        engine=engine, version=version, issued=issued, download_base=base, dumps=made
    )
    files: dict[str, bytes] = {d.name: d.data for d in made}
    files["void.ttl"] = description_bytes(description)
    files["CHANGES.md"] = changelog(changes, version, issued, old, new).encode()
    files["CITATION.cff"] = cff(version, issued).encode()  # cited as what was downloaded
    files["changes/added.nt"] = _ntriples(changes.added)
    files["changes/removed.nt"] = _ntriples(changes.removed)
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()
    tmp = root / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    for name, data in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    tmp.rename(root / version)  # a reader sees the whole release or none
    return root / version, changes


__all__ = ["Changes", "Dump", "check_step", "needed_bump", "parse_version", "release",
           "release_date", "releases"]  # fmt: skip
