"""The ``kg`` command line: turns arguments into calls of the library and
results into output. Nothing here that a notebook could not do.

Every failure is one line on stderr (``kg: error: ...``) and an exit code:
1 when a check answered "no", 2 for unusable input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kg.errors import EXIT_FAILED, EXIT_USAGE, KGError
from kg.namespaces import shorten
from kg.project import Project

EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE

QUERY_FORMATS = ("table", "csv", "tsv", "json", "xml", "turtle", "jsonld", "nt")
# Kept here rather than imported, so that parsing arguments loads neither the
# engines nor the exporters (tests/test_cli.py checks they match the library).
ENGINE_NAMES = ("oxigraph", "oxigraph-disk", "rdflib")
EXPORT_FORMATS = ("turtle", "jsonld", "nt", "trig", "xml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not argparse's usage block."""
        raise KGError(f"{self.prog}: {message} (see '{self.prog} --help')", EXIT_USAGE)


def _project(args: argparse.Namespace) -> Project:
    return Project.find(args.root)


def _write(text: str) -> None:
    sys.stdout.write(text)


def cmd_validate(args: argparse.Namespace) -> int:
    from kg.validation import validate

    report = validate(
        [Path(f) for f in args.files], with_data=args.with_data, project=_project(args)
    )
    _write(report.to_json() if args.format == "json" else report.to_text())
    return 0 if report.conforms else EXIT_FAILED


def _params(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise KGError(f"--param and --service want NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def cmd_query(args: argparse.Namespace) -> int:
    from kg.engine import open_engine
    from kg.queries import query
    from kg.results import format_result

    if args.expression is not None and args.name is not None:
        raise KGError("give either a query name/file or -e TEXT, not both")
    if args.expression is None and args.name is None:
        raise KGError(
            "give a saved query name, a .rq file, or -e 'SPARQL'; 'kg queries' lists the saved ones"
        )
    project = _project(args)
    params = _params(args.param)
    if args.name is not None:  # fail on a bad name before loading the graph
        from kg.queries import check_params, find_query

        check_params(find_query(args.name, project), params)
    services = _params(args.service) if args.service else {}
    engine = open_engine(args.engine, project, endpoint=args.endpoint, graph=args.graph)
    result = query(
        args.name,
        params,
        text=args.expression,
        engine=engine,
        project=project,
        allow_network=args.allow_network,
        service_map=services,
    )
    _write(format_result(result, args.format))
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    from kg.queries import list_queries

    for q in list_queries(_project(args)):
        params = " ".join(
            f"{p.name}:{p.type}" + (f"={p.default}" if p.default else "") for p in q.params
        )
        _write(f"{q.name:22s} {q.summary}" + (f"  [{params}]" if params else "") + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from kg.exports import export

    data = export(args.format, args.output, validate=not args.no_validate, project=_project(args))
    if args.output is None:
        sys.stdout.buffer.write(data)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from kg.engine import open_engine
    from kg.statistics import stats

    project = _project(args)
    engine = open_engine(args.engine, project, endpoint=args.endpoint, graph=args.graph)
    _write(stats(engine=engine).to_text())
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from kg.description import describe
    from kg.engine import open_engine

    project = _project(args)
    engine = open_engine(args.engine, project, endpoint=args.endpoint, graph=args.graph)
    _write(describe(args.entity, engine=engine).to_text())
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from kg.article import coverage

    report = coverage(Path(args.article), project=_project(args))
    _write(report.to_text(verbose=args.verbose))
    return 0 if report.ok else EXIT_FAILED


def cmd_link(args: argparse.Namespace) -> int:
    from kg import linking
    from kg.wikidata import API, WikidataClient

    project = _project(args)
    if not args.suggest and (args.names or args.type or args.accept):
        raise KGError("NAME, --type and --accept go with --suggest")
    if args.check:
        problems = linking.check(project)
        for p in problems:
            _write(f"- {p}\n")
        state = linking.read_state(project)
        confirmed = sum(r.status == "Confirmed" for r in state.records.values())
        _write(
            f"{len(problems)} problem(s); {confirmed} confirmed link(s), "
            f"{len(state.records) - confirmed} resource(s) listed without one\n"
        )
        return EXIT_FAILED if problems else 0
    client = WikidataClient(
        api=args.api or os.environ.get("KG_WIKIDATA_API", API),
        cache_dir=project.build_dir / "wikidata-cache",
        offline=args.offline,
    )
    try:
        if args.verify:
            results = linking.verify(client=client, project=project)
            bad = [r for r in results if r.problems]
            for r in bad:
                for p in r.problems:
                    _write(f"- {shorten(r.resource)} ({r.item}): {p}\n")
            _write(f"{len(results)} link(s) verified, {len(bad)} with problems\n")
            return EXIT_FAILED if bad else 0
        suggestions = linking.suggest(args.names, type_=args.type, client=client, project=project)
        if args.accept:
            return _accept(args.accept, suggestions, project)
        _write(linking.suggestions_table(suggestions))
        return 0
    finally:
        client.close()


def _accept(choice: str, suggestions: list, project: Project) -> int:
    from kg import linking
    from kg.namespaces import expand

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
    path = linking.accept(
        resource_iri,
        item,
        evidence=evidence,
        checks=f"Score {s.score:.2f}: {', '.join(s.reasons) or 'none'}.",
        project=project,
    )
    print(f"linked {resource} to {item} in {project.relative(path)}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import re

    from kg.serve import Settings, serve

    numbers = {
        "--timeout": args.timeout,
        "--max-results": args.max_results,
        "--max-result-bytes": args.max_result_bytes,
        "--max-worker-memory": args.max_worker_memory,
        "--max-request-bytes": args.max_request_bytes,
        "--workers": args.workers,
        "--per-client": args.per_client,
        "--queue": args.queue,
        "--queue-wait": args.queue_wait,
        "--read-timeout": args.read_timeout,
        "--max-connections": args.max_connections,
    }
    bad = [name for name, value in numbers.items() if value <= 0]
    if bad:
        raise KGError(f"{', '.join(bad)} must be positive")
    if args.base_url and not re.match(r"^https?://[^\s/]+(/\S*)?$", args.base_url):
        raise KGError(f"--base-url {args.base_url!r} is not an http(s) URL")
    settings = Settings(
        timeout=args.timeout,
        max_results=args.max_results,
        max_result_bytes=args.max_result_bytes,
        max_worker_memory=args.max_worker_memory * 1024 * 1024,
        max_request_bytes=args.max_request_bytes,
        workers=args.workers,
        per_client=args.per_client,
        max_queue=args.queue,
        queue_wait=args.queue_wait,
        read_timeout=args.read_timeout,
        max_connections=args.max_connections,
        base_url=args.base_url,
        trusted_proxies=args.trusted_proxy,
        allow_outbound_risk=args.allow_outbound_risk,
    )

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

    serve(host=args.host, port=args.port, project=_project(args), settings=settings, on_ready=ready)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from kg.exports import GRAPH_IRI
    from kg.publish import publish

    report = publish(
        args.endpoint,
        graph=args.graph or GRAPH_IRI,
        update=args.update,
        store=args.store,
        validate=not args.no_validate,
        project=_project(args),
    )
    _write(
        f"published {report.triples} triples to <{report.graph}> at {args.endpoint} "
        f"({report.method}); read back and identical\n"
    )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from kg.documentation import docs

    path = docs(args.output, project=_project(args))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _engine_options(p: argparse.ArgumentParser, engines: tuple[str, ...]) -> None:
    p.add_argument(
        "--engine",
        choices=tuple(engines),
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kg", description="The Israel–Japan relations knowledge graph.")
    parser.add_argument("--root", help="project folder (default: this checkout or $KG_ROOT)")
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command(
        "validate", cmd_validate, "Check the graph (or data files) against the SHACL shapes."
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="data files to check instead of the project's graph",
    )
    p.add_argument(
        "--with-data", action="store_true", help="check FILEs together with the project's own data"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = command("query", cmd_query, "Run a saved query, a query file or inline SPARQL.")
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME|FILE",
        help="saved query name (see 'kg queries') or a .rq file",
    )
    p.add_argument("-e", "--expression", metavar="SPARQL", help="inline query text")
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
        help="table (default), csv, tsv, json, xml; turtle, jsonld, nt for graphs",
    )
    _engine_options(p, ENGINE_NAMES)
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

    command("queries", cmd_queries, "List the saved queries with their summaries and parameters.")

    p = command("export", cmd_export, "Write the whole graph in one RDF format.")
    p.add_argument("-f", "--format", choices=EXPORT_FORMATS, default="turtle")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically), not stdout")
    p.add_argument(
        "--no-validate", action="store_true", help="export even when the graph does not conform"
    )

    p = command("stats", cmd_stats, "Count triples, entities per class, facts per section.")
    _engine_options(p, ENGINE_NAMES)

    p = command(
        "describe",
        cmd_describe,
        "Show everything the graph says about one entity (label, prefixed name or IRI).",
    )
    p.add_argument("entity", metavar="LABEL_OR_IRI")
    _engine_options(p, ENGINE_NAMES)

    p = command(
        "coverage", cmd_coverage, "Match every year, date and figure of the article to the graph."
    )
    p.add_argument("--article", required=True, metavar="PATH", help="the article as plain text")
    p.add_argument("-v", "--verbose", action="store_true", help="list covered values too")

    p = command("link", cmd_link, "Check, find and verify links to Wikidata.")
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
    p.add_argument("--offline", action="store_true", help="use only cached Wikidata answers")
    p.add_argument(
        "--api",
        metavar="URL",
        help="Wikidata API endpoint (default: wikidata.org, or $KG_WIKIDATA_API)",
    )

    p = command(
        "serve", cmd_serve, "Serve the graph: SPARQL 1.1 endpoint, query page, a page per resource."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="the public URL the server is reached at, behind a proxy "
        "(default http://HOST:PORT); used in the service description and as the query base IRI",
    )
    limits = p.add_argument_group("limits (see README: Running it on the web)")
    limits.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="time limit of one query once a worker runs it, seconds (default 10)",
    )
    limits.add_argument(
        "--max-results",
        type=int,
        default=10_000,
        metavar="N",
        help="most rows or triples one answer may have (default 10000)",
    )
    limits.add_argument(
        "--max-result-bytes",
        type=int,
        default=16 * 1024 * 1024,
        metavar="N",
        help="largest answer in bytes (default 16 MiB)",
    )
    limits.add_argument(
        "--max-worker-memory",
        type=int,
        default=1024,
        metavar="MIB",
        help="memory a worker may use beyond its loaded store, MiB (default 1024)",
    )
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        default=64 * 1024,
        metavar="N",
        help="largest accepted request (default 65536)",
    )
    limits.add_argument(
        "--workers", type=int, default=2, metavar="N", help="query worker processes (default 2)"
    )
    limits.add_argument(
        "--per-client",
        type=int,
        default=1,
        metavar="N",
        help="queries one client address may have running or waiting (default 1, so one client "
        "never holds every worker; over: 429)",
    )
    limits.add_argument(
        "--queue",
        type=int,
        default=16,
        metavar="N",
        help="queries that may wait for a worker (default 16; over: 503)",
    )
    limits.add_argument(
        "--queue-wait",
        type=float,
        default=5.0,
        metavar="S",
        help="longest wait for a free worker, seconds (default 5; over: 503)",
    )
    limits.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="time a client has to send a request's headers, and its body (default 10)",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        default=256,
        metavar="N",
        help="open connections at once (default 256; over: 503)",
    )
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

    p = command(
        "publish",
        cmd_publish,
        "Replace a named graph on a SPARQL server by this graph, atomically, and check it.",
    )
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

    p = command("docs", cmd_docs, "Generate the ontology's HTML documentation with pyLODE.")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to write (default build/docs/ontology.html)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
