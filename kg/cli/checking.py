"""Checking the graph against its shapes and its source: ``kg validate``,
``kg article`` and ``kg coverage``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kg.cli.common import Args, article_path, command, project_of, write
from kg.errors import EXIT_FAILED, KGError


def _validate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="data files to check instead of the project's"
    )
    p.add_argument(
        "--with-data", action="store_true", help="check FILEs together with the project's own data"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")


@command("validate", "Check the graph (or data files) against the SHACL shapes.", _validate_options)
def cmd_validate(args: Args) -> int:
    from kg.validation import validate

    report = validate(
        [Path(f) for f in args.files], with_data=args.with_data, project=project_of(args)
    )
    write(report.to_json() if args.format == "json" else report.to_text())
    return 0 if report.conforms else EXIT_FAILED



def _article_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("units", "check", "fetch"),
                   help="units: write data/units.ttl from the article; check: compare a "
                        "newer text with the pinned one; fetch: write a copy under build/")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="the article as plain text (units: default ../shared/seed/; "
                        "check: required)")
    p.add_argument("-f", "--format", choices=("table", "json"), default=None,
                   help="check's report: a table (default) or JSON")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where units or fetch write (data/units.ttl, build/article.txt)")
    p.add_argument("--revision", help="units: the Wikipedia revision id of the text")
    p.add_argument("--date", help="units: the date of that revision (YYYY-MM-DD)")
    p.add_argument("--api", default="https://en.wikipedia.org/w/api.php",
                   help="fetch: the MediaWiki API to ask")
    p.add_argument("--article", metavar="FILE",
                   help="check: a copy of the pinned text, to show each changed unit's "
                        "edit and check its names (default: ../shared/seed/ when there)")


@command("article", "Segment the article into units, check a newer text, fetch a copy.",
         _article_options)
def cmd_article(args: Args) -> int:
    from kg import article, units

    project = project_of(args)
    if args.action == "fetch":
        out = Path(args.output) if args.output else project.build_dir / "article.txt"
        size = units.fetch(args.api, out)
        print(f"wrote {out} ({size:,} characters); kg article check {out} compares it",
              file=sys.stderr)
        return 0
    if args.action == "units":
        path = Path(args.file) if args.file else article_path(args, project, required=True)
        if args.date and not __import__("re").fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
            raise KGError(f"--date wants YYYY-MM-DD, got {args.date!r}")
        if args.revision and not args.revision.isdigit():
            raise KGError(f"--revision wants a number, got {args.revision!r}")
        data = units.units_turtle(units.read_text(path), revision=args.revision, date=args.date)
        out = Path(args.output) if args.output else project.data_dir / "units.ttl"
        from kg.fileio import atomic_write

        atomic_write(out, data)
        print(f"wrote {out} ({data.count(b' a ij:') - 1} units)", file=sys.stderr)
        return 0
    if not args.file:
        raise KGError("kg article check needs FILE, the newer text of the article")
    from kg.store import open_engine

    pinned = article_path(args, project)  # the earlier words, when a copy is at hand
    report = article.check(units.read_text(Path(args.file)), open_engine("oxigraph", project),
                           pinned=pinned)
    fmt = args.format or "table"
    write(report.to_text() if fmt == "table" else report.to_json())
    return 0 if report.ok else EXIT_FAILED


def _coverage_options(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--article", metavar="PATH", help="the article as plain text")
    what.add_argument(
        "--notes",
        action="store_true",
        help="list notes that name a resource with no triple linking the two",
    )
    what.add_argument(
        "--units",
        action="store_true",
        help="list every unit of the article with the facts citing it, and the uncited ones",
    )
    what.add_argument(
        "--citations",
        metavar="PATH",
        help="check that every date and number of the graph is stated by a unit cited for "
        "it, in this copy of the article",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="list what is covered too")


@command(
    "coverage",
    "Match every value of the article to the graph, every resource a note names, every "
    "unit, or every cited date and number to its unit.",
    _coverage_options,
)
def cmd_coverage(args: Args) -> int:
    if args.citations:
        from kg.article import cited_values

        cited = cited_values(Path(args.citations), project=project_of(args))
        write(cited.to_text(verbose=args.verbose))
        return 0 if cited.ok else EXIT_FAILED
    if args.units:
        from kg.store import open_engine
        from kg.units import unit_coverage

        project = project_of(args)
        report = unit_coverage(open_engine("oxigraph", project),
                               project.data_dir / "units-exceptions.toml")
        write(report.to_text(verbose=args.verbose))
        return 0 if report.ok else EXIT_FAILED
    if args.notes:
        from kg.notes import audit_notes

        notes = audit_notes(project=project_of(args))
        write(notes.to_text(verbose=args.verbose))
        return 0 if notes.ok else EXIT_FAILED
    from kg.article import coverage

    report = coverage(Path(args.article), project=project_of(args))
    write(report.to_text(verbose=args.verbose))
    return 0 if report.ok else EXIT_FAILED



