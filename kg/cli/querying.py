"""Asking the graph: ``kg query``, ``kg queries``, ``kg describe``, ``kg stats`` and
``kg sources``."""

from __future__ import annotations

import argparse
import sys

from kg.cli.common import (
    Args,
    article_path,
    command,
    engine,
    engine_options,
    pairs,
    project_of,
    terminal_columns,
    write,
)
from kg.errors import EXIT_FAILED, KGError
from kg.registry import QUERY_FORMATS


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
        help="table (default), json, xml, csv, tsv; for graphs (CONSTRUCT, DESCRIBE) "
        "turtle (default), nt, jsonld, rdfxml",
    )
    engine_options(p)
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
    from kg.formats import write as write_answer
    from kg.queries import check_params, find_query, query

    if args.expression is not None and args.name is not None:
        raise KGError("give either a query name/file or -e TEXT, not both")
    if args.expression is None and args.name is None:
        raise KGError(
            "give a saved query name, a .rq file, or -e 'SPARQL'; 'kg queries' lists the saved ones"
        )
    project = project_of(args)
    if args.show:
        if args.name is None:
            raise KGError("--show wants a saved query name or a .rq file")
        write(find_query(args.name, project).text.rstrip("\n") + "\n")
        return 0
    params = pairs(args.param)
    if args.name is not None:  # fail on a bad name before loading the graph
        check_params(find_query(args.name, project), params)
    asked = engine(args, project)
    result = query(
        args.name,
        params,
        text=args.expression,
        engine=asked,
        project=project,
        allow_network=args.allow_network,
        service_map=pairs(args.service) if args.service else {},
        limit=args.limit,
        offset=args.offset,
    )
    # solutions stream from pyoxigraph's writers; a table fits the terminal
    write_answer(result, args.format, sys.stdout.buffer, columns=terminal_columns())
    if args.expression is not None or args.name.endswith(".rq"):  # saved ones are reviewed
        from kg.querylint import warnings_for

        text = args.expression
        if text is None:
            text = find_query(args.name, project).text
        for warning in warnings_for(text, asked):
            print(f"kg: warning: {warning}", file=sys.stderr)
    return 0


def _queries_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", metavar="TAG", help="only the queries with this tag")


@command("queries", "List the saved queries with their summaries and parameters.", _queries_options)
def cmd_queries(args: Args) -> int:
    from kg.queries import list_queries

    found = [q for q in list_queries(project_of(args)) if args.tag is None or args.tag in q.tags]
    if not found:
        raise KGError(f"no saved query has the tag {args.tag!r}")
    for q in found:
        params = " ".join(
            f"{p.name} ({p.type}" + (f", default {p.default})" if p.default else ")")
            for p in q.params
        )
        write(f"{q.name:22s} {q.summary}" + (f"  [{params}]" if params else "") + "\n")
    return 0



@command(
    "stats",
    "Count triples, entities per class, facts by source, resources per section.",
    engine_options,
    fast_exit=True,
)
def cmd_stats(args: Args) -> int:
    from kg.statistics import stats

    write(stats(engine=engine(args, project_of(args))).to_text())
    return 0


def _describe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("entity", metavar="LABEL_OR_IRI")
    engine_options(p)


@command(
    "describe",
    "Show everything the graph says about one entity (label, prefixed name or IRI).",
    _describe_options,
    fast_exit=True,
)
def cmd_describe(args: Args) -> int:
    from kg.description import describe

    write(describe(args.entity, engine=engine(args, project_of(args))).to_text())
    return 0



def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="WORD",
                   help="a name, a year or date (1952, 1952-05), a word of a note or of a "
                        "date's wording (1990s); a resource must hold every word")
    p.add_argument("-n", "--limit", type=int, default=20, metavar="N",
                   help="show at most N hits, best first (default 20)")
    p.add_argument("-f", "--format", choices=("table", "json"), default="table",
                   help="a table (default) or JSON")
    engine_options(p)


@command(
    "search",
    "Find resources by a name, a year or date, a figure's number or a word of a note "
    "(as /search does).",
    _search_options,
    fast_exit=True,
)
def cmd_search(args: Args) -> int:
    from kg.search import SearchIndex, hits_json, hits_text

    if args.limit < 1:
        raise KGError(f"--limit must be 1 or more, got {args.limit}")
    text = " ".join(args.words)
    hits = SearchIndex.from_engine(engine(args, project_of(args))).search(text, None)
    shown = hits[: args.limit]
    write(hits_json(shown) if args.format == "json" else hits_text(text, shown))
    if len(hits) > len(shown):  # ties on score are cut by date or name, not by merit: say so
        print(f"kg: the {len(shown)} best of {len(hits)} shown; -n {len(hits)} shows them all",
              file=sys.stderr)
    return 0 if hits else EXIT_FAILED


def _sources_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("entity", metavar="LABEL_OR_IRI", nargs="+",
                   help="one or more entities, each a label, prefixed name or IRI")
    p.add_argument("--article", metavar="FILE",
                   help="a copy of the article to quote units from "
                        "(default ../shared/seed/ when present)")
    engine_options(p)


@command(
    "sources",
    "List each fact about an entity with the unit of the article stating it.",
    _sources_options,
)
def cmd_sources(args: Args) -> int:
    from kg.sources import sources

    project = project_of(args)
    store, article = engine(args, project), article_path(args, project)
    found = [sources(e, engine=store, project=project, article=article) for e in args.entity]
    write("\n".join(s.to_text() for s in found))  # each resolved before any is printed
    return 0



