"""The ``kg`` command line: turns arguments into calls of the library and
results into output. Nothing here that a notebook could not do.

Each command is a handler with its options beside it, registered with
:func:`command`; the parser is built for the one command being run (a cold
``kg query`` builds no other command's options). Choices such as formats and
engines come from :mod:`kg.registry`, which imports nothing heavy.

Every failure is one line on stderr (``kg: error: ...``) and an exit code:
1 when a check answered "no", 2 for unusable input. A SPARQL syntax error adds
two lines: the query's line, and a caret under the place.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import namedtuple
from collections.abc import Callable, Sequence
from pathlib import Path

from kg.errors import EXIT_FAILED, EXIT_USAGE, KGError
from kg.project import Project
from kg.registry import ENGINE_NAMES, EXPORT_FORMATS, OLD_NAMES, QUERY_FORMATS, __version__

TYPE_CHECKING = False  # the store and the web layer are imported by the commands that use them
if TYPE_CHECKING:
    from kg.store import Engine
    from kg.web.settings import Settings

EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE

Args = argparse.Namespace
Options = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[Args], int]


#: a command: name, help, options (adds its arguments), run (the handler), and fast_exit
#: (read-only and spawns nothing: it may leave without the interpreter's teardown)
Command = namedtuple("Command", "name help options run fast_exit")


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, options: Options, *, fast_exit: bool = False) -> Callable:
    """Register the decorated handler as ``kg NAME``, with ``options`` adding its arguments."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, options, run, fast_exit)
        return run

    return register


def _terminal_columns() -> int | None:
    """$COLUMNS, or the terminal's width when stdout is one; None in a pipe. Help and
    tables both read it."""
    try:
        return int(os.environ.get("COLUMNS", "")) or None
    except ValueError:
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else None
    except OSError:
        return None


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, told the terminal's width: left to itself it imports shutil
    (with bz2, lzma and zlib: 3 ms of a cold ``kg query``) each time it checks an option."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:  # fmt: skip
        if width is None:
            width = (_terminal_columns() or 80) - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    #: the program's parser: each command's parser, by name (Tab completion reads them)
    commands: dict[str, argparse.ArgumentParser]

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not argparse's usage block; it names the help to read."""
        raise KGError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


def _project(args: Args) -> Project:
    return Project.find(args.root)


def _write(text: str) -> None:
    sys.stdout.write(text)


def _params(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise KGError(f"--param and --service want NAME=VALUE, got {pair!r}")
        if name.strip() in out:  # "last one wins" would answer a question nobody asked
            raise KGError(f"{name.strip()!r} given twice ({out[name.strip()]!r} and {value!r})",
                          EXIT_USAGE)
        out[name.strip()] = value
    return out


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default="oxigraph",
        help="oxigraph (in memory, default), oxigraph-disk (build/oxigraph/) or rdflib",
    )
    p.add_argument(
        "--endpoint",
        metavar="URL",
        help="ask a remote SPARQL 1.1 endpoint instead (auth: $KG_ENDPOINT_TOKEN, "
        "or $KG_ENDPOINT_USER and $KG_ENDPOINT_PASSWORD)",
    )
    p.add_argument(
        "--graph",
        metavar="IRI",
        help="with --endpoint: the graph to query (sent as default-graph-uri)",
    )


def _engine(args: Args, project: Project) -> Engine:
    from kg.store import open_engine

    return open_engine(args.engine, project, endpoint=args.endpoint, graph=args.graph)


# -- kg validate ------------------------------------------------------------------------


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
        [Path(f) for f in args.files], with_data=args.with_data, project=_project(args)
    )
    _write(report.to_json() if args.format == "json" else report.to_text())
    return 0 if report.conforms else EXIT_FAILED


# -- kg query, kg queries ---------------------------------------------------------------


def _query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME|FILE",
        help="saved query name (see 'kg queries') or a .rq file",
    )
    p.add_argument("-e", "--expression", metavar="SPARQL", help="inline query text")
    p.add_argument(
        "--show", action="store_true", help="print the saved query's SPARQL instead of running it"
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="bind a parameter of the query (repeatable)",
    )
    p.add_argument(
        "-f",
        "--format",
        choices=QUERY_FORMATS,
        default=None,
        help="table (default), json, xml, csv, tsv; turtle, nt, jsonld for graphs",
    )
    _engine_options(p)
    p.add_argument("--limit", type=int, metavar="N", help="answer at most N rows (a page)")
    p.add_argument(
        "--offset", type=int, metavar="N", help="skip the first N rows (with --limit: a later page)"
    )
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="let queries tagged 'network' ask remote SPARQL services",
    )
    p.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="send SERVICE <FROM> to endpoint TO instead (a mirror or test double)",
    )


@command(
    "query", "Run a saved query, a query file or inline SPARQL.", _query_options, fast_exit=True
)
def cmd_query(args: Args) -> int:
    from kg.formats import write
    from kg.queries import check_params, find_query, query

    if args.expression is not None and args.name is not None:
        raise KGError("give either a query name/file or -e TEXT, not both")
    if args.expression is None and args.name is None:
        raise KGError(
            "give a saved query name, a .rq file, or -e 'SPARQL'; 'kg queries' lists the saved ones"
        )
    project = _project(args)
    if args.show:
        if args.name is None:
            raise KGError("--show wants a saved query name or a .rq file")
        _write(find_query(args.name, project).text.rstrip("\n") + "\n")
        return 0
    params = _params(args.param)
    if args.name is not None:  # fail on a bad name before loading the graph
        check_params(find_query(args.name, project), params)
    engine = _engine(args, project)
    result = query(
        args.name,
        params,
        text=args.expression,
        engine=engine,
        project=project,
        allow_network=args.allow_network,
        service_map=_params(args.service) if args.service else {},
        limit=args.limit,
        offset=args.offset,
    )
    # solutions stream from pyoxigraph's writers; a table fits the terminal
    write(result, args.format, sys.stdout.buffer, columns=_terminal_columns())
    if args.expression is not None or args.name.endswith(".rq"):  # saved ones are reviewed
        from kg.querylint import warnings_for

        text = args.expression
        if text is None:
            text = find_query(args.name, project).text
        for warning in warnings_for(text, engine):
            print(f"kg: warning: {warning}", file=sys.stderr)
    return 0


def _queries_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", metavar="TAG", help="only the queries with this tag")


@command("queries", "List the saved queries with their summaries and parameters.", _queries_options)
def cmd_queries(args: Args) -> int:
    from kg.queries import list_queries

    found = [q for q in list_queries(_project(args)) if args.tag is None or args.tag in q.tags]
    if not found:
        raise KGError(f"no saved query has the tag {args.tag!r}")
    for q in found:
        params = " ".join(
            f"{p.name} ({p.type}" + (f", default {p.default})" if p.default else ")")
            for p in q.params
        )
        _write(f"{q.name:22s} {q.summary}" + (f"  [{params}]" if params else "") + "\n")
    return 0


# -- kg export, kg stats, kg describe, kg coverage, kg docs ---------------------------------


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
    project = _project(args)
    data = export(fmt, args.output, validate=not args.no_validate, project=project)
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        from kg.dataset import write_beside

        described = write_beside(args.output, fmt, data, project)
        print(f"wrote {args.output} ({fmt}, {len(data):,} bytes) and its description "
              f"{described}", file=sys.stderr)
    return 0


@command(
    "stats",
    "Count triples, entities per class, facts per section.",
    _engine_options,
    fast_exit=True,
)
def cmd_stats(args: Args) -> int:
    from kg.statistics import stats

    _write(stats(engine=_engine(args, _project(args))).to_text())
    return 0


def _describe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("entity", metavar="LABEL_OR_IRI")
    _engine_options(p)


@command(
    "describe",
    "Show everything the graph says about one entity (label, prefixed name or IRI).",
    _describe_options,
    fast_exit=True,
)
def cmd_describe(args: Args) -> int:
    from kg.description import describe

    _write(describe(args.entity, engine=_engine(args, _project(args))).to_text())
    return 0


def _article_path(args: Args, project: Project, *, required: bool = False) -> Path | None:
    """--article FILE, else the seed copy beside the project when it is there."""
    from kg.units import default_article

    given = getattr(args, "article", None)
    if given:
        if not Path(given).is_file():
            raise KGError(f"{given}: no such file")
        return Path(given)
    found = default_article(project.root)
    if found is None and required:
        raise KGError("the article's text is not at hand: give FILE "
                      "(kg article fetch writes one under build/)")
    return found


def _sources_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("entity", metavar="LABEL_OR_IRI")
    p.add_argument("--article", metavar="FILE",
                   help="a copy of the article to quote units from "
                        "(default ../shared/seed/ when present)")
    _engine_options(p)


@command(
    "sources",
    "List each fact about one entity with the unit of the article stating it.",
    _sources_options,
)
def cmd_sources(args: Args) -> int:
    from kg.sources import sources

    project = _project(args)
    _write(sources(args.entity, engine=_engine(args, project), project=project,
                   article=_article_path(args, project)).to_text())
    return 0


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


@command("article", "Segment the article into units, check a newer text, fetch a copy.",
         _article_options)
def cmd_article(args: Args) -> int:
    from kg import units

    project = _project(args)
    if args.action == "fetch":
        out = Path(args.output) if args.output else project.build_dir / "article.txt"
        size = units.fetch(args.api, out)
        print(f"wrote {out} ({size:,} characters); kg article check {out} compares it",
              file=sys.stderr)
        return 0
    if args.action == "units":
        path = Path(args.file) if args.file else _article_path(args, project, required=True)
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

    report = units.check(units.read_text(Path(args.file)), open_engine("oxigraph", project))
    fmt = args.format or "table"
    _write(report.to_text() if fmt == "table" else report.to_json())
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
    p.add_argument("-v", "--verbose", action="store_true", help="list what is covered too")


@command(
    "coverage",
    "Match every value of the article to the graph, or every resource a note names.",
    _coverage_options,
)
def cmd_coverage(args: Args) -> int:
    if args.units:
        from kg.store import open_engine
        from kg.units import unit_coverage

        project = _project(args)
        report = unit_coverage(open_engine("oxigraph", project),
                               project.data_dir / "units-exceptions.toml")
        _write(report.to_text(verbose=args.verbose))
        return 0 if report.ok else EXIT_FAILED
    if args.notes:
        from kg.notes import audit_notes

        notes = audit_notes(project=_project(args))
        _write(notes.to_text(verbose=args.verbose))
        return 0 if notes.ok else EXIT_FAILED
    from kg.article import coverage

    report = coverage(Path(args.article), project=_project(args))
    _write(report.to_text(verbose=args.verbose))
    return 0 if report.ok else EXIT_FAILED


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
        project=_project(args),
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


def _docs_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to write (default build/docs/ontology.html)"
    )


@command("docs", "Generate the ontology's HTML documentation with pyLODE.", _docs_options)
def cmd_docs(args: Args) -> int:
    from kg.documentation import docs

    path = docs(args.output, project=_project(args))
    print(f"wrote {path}", file=sys.stderr)
    return 0


# -- kg link --------------------------------------------------------------------------


def _statements_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f", "--format", choices=("v1", "csv"), default=None,
        help="with --statements: QuickStatements V1 commands (default) or its CSV dialect",
    )
    p.add_argument(
        "--article", metavar="FILE",
        help="with --statements: the article's pinned text, to quote (S1683) the sentence "
        "each cited statement comes from",
    )


def _link_options(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--check",
        action="store_true",
        help="offline checks of data/wikidata.ttl (exit 1 with a list on problems)",
    )
    mode.add_argument(
        "--suggest",
        action="store_true",
        help="rank Wikidata candidates for resources without a confirmed link",
    )
    mode.add_argument(
        "--verify",
        action="store_true",
        help="check every confirmed link against Wikidata (network)",
    )
    mode.add_argument(
        "--report",
        action="store_true",
        help="how many resources are linked, per kind, and why each one left is not",
    )
    mode.add_argument(
        "--statements",
        action="store_true",
        help="the article's facts about linked items as QuickStatements V1, with references",
    )
    p.add_argument("--markdown", action="store_true", help="with --report: the table in Markdown")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="with --statements: write here (atomically)"
    )
    _statements_options(p)
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="with --suggest: labels or prefixed names of the resources to look up",
    )
    p.add_argument("--type", metavar="CLASS", help="with --suggest: only this class (e.g. Person)")
    p.add_argument(
        "--accept",
        metavar="RESOURCE=QID",
        help="with --suggest: write this candidate as a confirmed link",
    )
    p.add_argument(
        "--no-item",
        metavar="RESOURCE",
        help="with --suggest: record that Wikidata has no item for RESOURCE, when a search "
        "for each of its labels finds none that fits (the search is the evidence)",
    )
    p.add_argument("--offline", action="store_true", help="use only cached Wikidata answers")
    p.add_argument(
        "--api",
        metavar="URL",
        help="Wikidata API endpoint (default: wikidata.org, or $KG_WIKIDATA_API)",
    )


@command("link", "Check, find and verify links to Wikidata.", _link_options)
def cmd_link(args: Args) -> int:
    from kg.wikidata.client import API, WikidataClient

    project = _project(args)
    if not args.suggest and (args.names or args.type or args.accept or args.no_item):
        raise KGError("NAME, --type, --accept and --no-item go with --suggest")
    if args.accept and args.no_item:
        raise KGError("--accept and --no-item: one decision at a time")
    if args.markdown and not args.report:
        raise KGError("--markdown goes with --report")
    if args.output and not args.statements:
        raise KGError("--output goes with --statements")
    if (args.format or args.article) and not args.statements:
        raise KGError("--format and --article go with --statements")
    if args.check:
        return _link_check(project)
    if args.report:
        from kg.wikidata.report import link_report

        _write(link_report(project).to_text(markdown=args.markdown))
        return 0
    client = WikidataClient(
        api=args.api or os.environ.get("KG_WIKIDATA_API", API),
        cache_dir=project.build_dir / "wikidata-cache",
        offline=args.offline,
    )
    try:
        if args.verify:
            return _link_verify(client, project)
        if args.statements:
            return _link_statements(client, project, args.output, args.format, args.article)
        from kg.wikidata.candidates import suggest, suggestions_table

        if args.no_item:
            return _no_item(args.no_item, client, project)
        suggestions = suggest(args.names, type_=args.type, client=client, project=project)
        if args.accept:
            return _accept(args.accept, suggestions, project)
        _write(suggestions_table(suggestions))
        return 0
    finally:
        client.close()


def _link_check(project: Project) -> int:
    from kg.wikidata.check import check
    from kg.wikidata.records import read_state

    problems = check(project)
    for p in problems:
        _write(f"- {p}\n")
    state = read_state(project)
    confirmed = sum(r.status == "Confirmed" for r in state.records.values())
    _write(
        f"{len(problems)} problem(s); {confirmed} confirmed link(s), "
        f"{len(state.records) - confirmed} resource(s) listed without one\n"
    )
    return EXIT_FAILED if problems else 0


def _link_statements(
    client: object, project: Project, output: str | None, fmt: str | None, article: str | None
) -> int:
    from kg.fileio import atomic_write
    from kg.wikidata.statements import leave_out_present, statements

    text = None
    if article is not None:
        try:
            text = Path(article).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KGError(f"--article {article}: cannot read it ({e})") from None
    result = leave_out_present(statements(project=project, article=text), client)
    body = result.to_csv() if fmt == "csv" else result.to_text()
    if output:
        atomic_write(Path(output), body.encode())
    else:
        _write(body)
    for st in result.present:
        print(f"already on Wikidata, left out: {st.item} {st.prop} {st.value}", file=sys.stderr)
    if result.unchecked:
        print(f"not checked against Wikidata: {result.unchecked}", file=sys.stderr)
    print(result.summary().rstrip("\n"), file=sys.stderr)
    if output:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _link_verify(client: object, project: Project) -> int:
    from kg.namespaces import shorten
    from kg.wikidata.check import verify

    results = verify(client=client, project=project)  # type: ignore[arg-type]
    bad = [r for r in results if r.problems]
    for r in bad:
        for p in r.problems:
            _write(f"- {shorten(r.resource)} ({r.item}): {p}\n")
    _write(f"{len(results)} link(s) verified, {len(bad)} with problems\n")
    return EXIT_FAILED if bad else 0


def _accept(choice: str, suggestions: list, project: Project) -> int:
    from kg.namespaces import expand
    from kg.wikidata.records import accept

    resource, sep, item = choice.partition("=")
    resource_iri = expand(resource) or resource
    if not sep:
        raise KGError("--accept wants RESOURCE=QID, e.g. person:shinzo-abe=Q132345")
    picked = [s for s in suggestions if s.resource == resource_iri and s.candidate == item]
    if not picked:
        raise KGError(
            f"{item} is not a ranked candidate for {resource}; run --suggest for it "
            "first, or add the link by hand with its evidence"
        )
    s = picked[0]
    evidence = (
        f"Accepted by a person from kg link --suggest: Wikidata's search for "
        f"'{s.label}' returned {item} ({s.candidate_label}: {s.description})."
    )
    path = accept(
        resource_iri,
        item,
        evidence=evidence,
        checks=f"Score {s.score:.2f}: {', '.join(s.reasons) or 'none'}.",
        project=project,
    )
    print(f"linked {resource} to {item} in {project.relative(path)}", file=sys.stderr)
    return 0


def _no_item(resource: str, client: object, project: Project) -> int:
    from kg.namespaces import expand
    from kg.wikidata.candidates import no_item_search, suggestions_table
    from kg.wikidata.records import record_no_item

    resource_iri = expand(resource) or resource
    found = no_item_search(resource_iri, client=client, project=project)  # type: ignore[arg-type]
    if found.fitting:
        _write(suggestions_table(found.fitting))
        raise KGError(
            f"Wikidata's search found {len(found.fitting)} item(s) that may be {resource} "
            "(listed above); link one with --accept, or check them by hand; nothing written"
        )
    path = record_no_item(resource_iri, evidence=found.evidence(), project=project)
    print(
        f"recorded that Wikidata has no item for {resource} in {project.relative(path)}",
        file=sys.stderr,
    )
    return 0


# -- kg serve -----------------------------------------------------------------------------

def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--article", metavar="FILE",
                   help="a copy of the article: pages quote each fact's unit "
                        "(default ../shared/seed/ when present)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535 (default 8000)")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="the public URL the server is reached at, behind a proxy "
        "(default http://HOST:PORT); used in the service description and as the query base IRI",
    )
    from kg.web.settings import limits as declared

    limits = p.add_argument_group("limits (see README: Running it on the web)")
    for lim in declared():
        limits.add_argument(lim.flag, dest=lim.name, type=lim.kind, default=lim.default,
                            metavar=lim.metavar, help=lim.help)  # fmt: skip
    limits.add_argument(
        "--trusted-proxy",
        default="127.0.0.1",
        metavar="IPS",
        help="addresses whose X-Forwarded-For is believed, comma-separated (default 127.0.0.1)",
    )
    limits.add_argument(
        "--allow-outbound-risk",
        action="store_true",
        help="serve even where query workers cannot be confined (see README: the sandbox)",
    )


@command(
    "serve",
    "Serve the graph: SPARQL 1.1 endpoint, query page, a page per resource.",
    _serve_options,
)
def cmd_serve(args: Args) -> int:
    from kg.web.app import serve

    def ready(mechanism: str) -> None:
        if mechanism.startswith("none"):
            print(
                f"warning: query workers are NOT confined: {mechanism}; a query can make this "
                "server connect anywhere it can reach",
                file=sys.stderr,
            )
        print(
            f"serving the graph at http://{args.host}:{args.port}/ (SPARQL: /sparql; "
            f"workers confined by {mechanism.split(' ')[0]}); Ctrl-C stops",
            file=sys.stderr,
        )

    settings = _settings(args)
    serve(host=args.host, port=args.port, project=_project(args), settings=settings, on_ready=ready)
    return 0


def _port(value: str) -> int:
    """A TCP port number, or a usage error naming the range (not an OverflowError later)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535")
    return port


def _settings(args: Args) -> Settings:
    """kg serve's Settings from its options, refusing values that cannot work."""
    import re

    from kg.web.settings import Settings, limits

    bad = [lim for lim in limits() if lim.check(getattr(args, lim.name))]
    if bad:
        positive = [lim.flag for lim in bad if lim.zero is None]
        if positive:
            raise KGError(f"{', '.join(positive)} must be positive")
        raise KGError(str(bad[0].check(getattr(args, bad[0].name))))
    if args.base_url and not re.match(r"^https?://[^\s/]+(/\S*)?$", args.base_url):
        raise KGError(f"--base-url {args.base_url!r} is not an http(s) URL")
    return Settings(
        **{lim.name: getattr(args, lim.name) * lim.scale for lim in limits()},
        base_url=args.base_url,
        trusted_proxies=args.trusted_proxy,
        allow_outbound_risk=args.allow_outbound_risk,
        article=str(_article_path(args, _project(args)) or "") or None,
    )


# -- kg publish ---------------------------------------------------------------------------


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
        project=_project(args),
    )
    if not report.rewritten:
        _write(
            f"published {report.triples} triples to <{report.graph}> at {args.endpoint} "
            f"({report.method}); read back and identical\n"
        )
        return 0
    from kg.formats import display

    _write(
        f"published {report.triples} triples to <{report.graph}> at {args.endpoint} "
        f"({report.method}); read back: every triple is there, but the server stored "
        f"{len(report.rewritten)} literal(s) in another form:\n"
    )
    for old, new in report.rewritten:
        _write(f"  {display(old.subject)} {display(old.predicate)}: sent "
               f"{old.object}, reads back {new.object}\n")  # fmt: skip
    return 0


# -- kg completion ----------------------------------------------------------------------


def _completion_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh"))


@command(
    "completion",
    "Print Tab completion for bash or zsh: source <(kg completion bash)",
    _completion_options,
    fast_exit=True,
)
def cmd_completion(args: Args) -> int:
    from kg.completion import script

    _write(script(args.shell))
    return 0


def _complete(shell: str, line: str) -> int:
    """``kg __complete SHELL LINE``, which the completion scripts call: one offer a line.
    Silent on any error, as a shell's Tab must be."""
    from kg.completion import candidates, for_shell, split_line

    words = split_line(line)[1:]  # after "kg"
    root = words[words.index("--root") + 1] if "--root" in words[:-1] else None

    def saved() -> dict[str, list[str]]:
        from kg.queries import list_queries

        try:
            return {q.name: [p.name for p in q.params] for q in list_queries(Project.find(root))}
        except KGError:
            return {}

    program = build_parser()
    def values(query: str, param: str) -> list[str]:
        """The resources a class-typed parameter takes, by prefixed name (no spaces)."""
        from kg.queries import find_query, resources_of_class

        try:
            spec = next(p for p in find_query(query, Project.find(root)).params if p.name == param)
            return resources_of_class(spec.type, project=Project.find(root))
        except (KGError, StopIteration):
            return []

    offers = candidates(words, program.commands, program, saved, values)
    _write("".join(o + "\n" for o in for_shell(shell, offers, words[-1] if words else "")))
    return 0


# -- the program ----------------------------------------------------------------------------


def build_parser(only: str | None = None) -> _Parser:
    """The parser of every command, or with ``only`` of that command alone: each parser
    argparse builds costs ~0.5 ms (gettext looks for translations), 6 ms for all of them,
    and a cold ``kg query`` needs one."""
    parser = _Parser(prog="kg", description="The Israel–Japan relations knowledge graph.")
    parser.add_argument("--root", help="project folder (default: this checkout or $KG_ROOT)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for c in COMMANDS.values():
        if only is None or only == c.name:
            p = sub.add_parser(c.name, help=c.help, description=c.help)
            p.set_defaults(func=c.run)
            c.options(p)
    parser.commands = dict(sub.choices)
    return parser


def _command_name(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs (its first word that is not ``--root`` or its value)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--root":
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from kg import progress

    progress.enable()  # long steps count seconds on a terminal; silent in a pipe
    if argv[:1] == ["__complete"] and len(argv) == 3 and argv[1] in ("bash", "zsh"):
        return _complete(argv[1], argv[2])
    try:
        name = _command_name(argv)
        parser = build_parser(name)
        args, extra = parser.parse_known_args(argv)
        if extra:
            where = f"kg {name}" if name else "kg"
            raise KGError(
                f"unrecognized arguments: {' '.join(extra)} (see '{where} --help')", EXIT_USAGE
            )
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return args.func(args)
    except KGError as e:
        print(f"kg: error: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug, not bad input: say so in one line
        if os.environ.get("KG_DEBUG"):
            raise
        print(
            f"kg: internal error: {type(e).__name__}: {e} "
            "(set KG_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run() -> None:
    """The ``kg`` program: :func:`main`, then exit. A read-only command leaves without the
    interpreter's teardown, once its output is flushed (5 ms of a cold ``kg query``)."""
    argv = sys.argv[1:]
    code = main(argv)
    name = _command_name(argv)
    if name is not None and COMMANDS[name].fast_exit:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        else:
            os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
