"""Writing the graph out: ``kg export``, ``kg release``, ``kg cite``, ``kg docs`` and
``kg publish``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kg.cli.common import Args, command, project_of, write
from kg.errors import KGError
from kg.registry import EXPORT_FORMATS, OLD_NAMES


def _export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--format", choices=(*EXPORT_FORMATS, *OLD_NAMES), default="turtle",
                   help="the RDF format (default turtle; xml: the old name of rdfxml)")  # fmt: skip
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically), not stdout")
    p.add_argument(
        "--no-validate", action="store_true", help="export even when the graph does not conform"
    )


@command("export", "Write the whole graph in one RDF format.", _export_options)
def cmd_export(args: Args) -> int:
    from kg.exports import export, format_name

    fmt = format_name(args.format)
    if fmt != args.format:
        print(f"kg: warning: -f {args.format} is now -f {fmt}; the old name goes in the next "
              "release", file=sys.stderr)  # fmt: skip
    project = project_of(args)
    data = export(fmt, args.output, validate=not args.no_validate, project=project)
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        from kg.dataset import write_beside

        described = write_beside(args.output, fmt, data, project)
        print(f"wrote {args.output} ({fmt}, {len(data):,} bytes) and its description "
              f"{described}", file=sys.stderr)
    return 0



def _release_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION", help="MAJOR.MINOR.PATCH, e.g. 1.0.0")
    p.add_argument(
        "--date", metavar="YYYY-MM-DD",
        help="the release date (default: $SOURCE_DATE_EPOCH; never the clock)",
    )
    p.add_argument(
        "--download-base", metavar="URL",
        help="where the files will be published (default "
        "https://w3id.org/israel-japan-kg/release/VERSION/)",
    )
    p.add_argument(
        "--into", metavar="DIR", help="the folder of releases (default build/release)"
    )  # fmt: skip


@command(
    "release",
    "Write a numbered release: every dump, the description, SHA256SUMS, a changelog.",
    _release_options,
)
def cmd_release(args: Args) -> int:
    from kg.release import parse_version, release, release_date

    parse_version(args.version)  # before asking for a date
    folder, changes = release(
        args.version,
        issued=release_date(args.date),
        project=project_of(args),
        root=Path(args.into) if args.into else None,
        download_base=args.download_base,
    )
    against = f"against {changes.previous}" if changes.previous else "the first release"
    print(
        f"wrote {folder} ({against}: {len(changes.added):,} triples added, "
        f"{len(changes.removed):,} removed"
        + (f"; a {changes.bump} change)" if changes.previous else ")"),
        file=sys.stderr,
    )
    return 0


def _cite_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--format", choices=("text", "bibtex", "cff"), default="text",
                   help="a line of text (default), a BibTeX entry, or CITATION.cff")  # fmt: skip
    p.add_argument("--release", metavar="VERSION",
                   help="cite this release (its kg release number), not the package")  # fmt: skip
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the release's date")
    p.add_argument("--accessed", metavar="YYYY-MM-DD",
                   help="the day you read the graph (text and BibTeX; default today, UTC, "
                        "when no --release is given)")  # fmt: skip


@command("cite", "How to cite the graph: text, BibTeX or CITATION.cff.", _cite_options)
def cmd_cite(args: Args) -> int:
    from kg.citation import citation
    from kg.registry import __version__

    if args.release is not None:
        from kg.release import parse_version

        parse_version(args.release)
    elif args.date is not None:  # a date is a release's: the package's version has none
        raise KGError("--date is the date of a release: give --release VERSION with it")
    accessed = args.accessed
    if accessed is None and args.release is None and args.format != "cff":
        # a working copy changes: a citation of it says when it was read, as a web page's
        from datetime import UTC, datetime

        accessed = datetime.now(UTC).date().isoformat()
    write(citation(args.format, args.release or __version__, args.date, accessed))
    if args.release is None:  # a paper citing "version 0.1.0" names no one state of the data
        print(f"kg: version {__version__} is the package's, the same while the data changes; "
              "to cite the data you used, cite its release (kg release VERSION --date DAY, "
              "then kg cite --release VERSION --date DAY)", file=sys.stderr)
    return 0


def _docs_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to write (default build/docs/ontology.html)"
    )


@command("docs", "Generate the ontology's HTML documentation with pyLODE.", _docs_options)
def cmd_docs(args: Args) -> int:
    from kg.documentation import docs

    path = docs(args.output, project=project_of(args))
    print(f"wrote {path}", file=sys.stderr)
    return 0





def _publish_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint",
        required=True,
        metavar="URL",
        help="the server's query endpoint (for Oxigraph: http://host:7878/query)",
    )
    p.add_argument("--graph", metavar="IRI", help="the named graph (default the project's)")
    p.add_argument("--update", metavar="URL", help="SPARQL Update endpoint (default: derived)")
    p.add_argument(
        "--store",
        metavar="URL",
        help="Graph Store Protocol endpoint (default: "
        "derived for Oxigraph; without one, SPARQL Update INSERT DATA is used)",
    )
    p.add_argument("--no-validate", action="store_true", help="publish even if not conforming")


@command(
    "publish",
    "Replace a named graph on a SPARQL server by this graph, atomically, and check it.",
    _publish_options,
)
def cmd_publish(args: Args) -> int:
    from kg.namespaces import GRAPH_IRI
    from kg.publish import publish

    report = publish(
        args.endpoint,
        graph=args.graph or GRAPH_IRI,
        update=args.update,
        store=args.store,
        validate=not args.no_validate,
        project=project_of(args),
    )
    if not report.rewritten:
        write(
            f"published {report.triples} triples to <{report.graph}> at {args.endpoint} "
            f"({report.method}); read back and identical\n"
        )
        return 0
    from kg.formats import display

    write(
        f"published {report.triples} triples to <{report.graph}> at {args.endpoint} "
        f"({report.method}); read back: every triple is there, but the server stored "
        f"{len(report.rewritten)} literal(s) in another form:\n"
    )
    for old, new in report.rewritten:
        write(f"  {display(old.subject)} {display(old.predicate)}: sent "
               f"{old.object}, reads back {new.object}\n")  # fmt: skip
    return 0



