"""``kg link``: the links to Wikidata, one subcommand per task.

    kg link check | report | suggest | accept | no-item | verify | statements

``check`` and ``report`` read only ``data/``; the others ask Wikidata (through the
answers cached under ``build/``, or those alone with ``--offline``). The checks, the
ranking and every record's wording live in :mod:`kg.wikidata`; this room turns
options into those calls. The old spelling (``kg link --check``, ``--suggest NAME
--accept R=Q``, ``--suggest --no-item R``) still works for one release, with a
warning naming the new one (:func:`modernise`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kg.cli.common import Args, Parser, command, project_of, warn, write
from kg.errors import EXIT_FAILED, KGError

#: the old mode flags and the task each one is now
OLD_FLAGS = {"--check": "check", "--suggest": "suggest", "--verify": "verify",
             "--report": "report", "--statements": "statements"}  # fmt: skip


def modernise(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``kg link``'s old mode flags turned into its subcommands, and a
    warning that names the new spelling; anything else unchanged."""
    argv = list(argv)
    at = next(i for i, w in enumerate(argv) if w == "link" and (i == 0 or argv[i - 1] != "--root"))
    rest = argv[at + 1:]
    modes = [w for w in rest if w in OLD_FLAGS]
    if not modes:
        return argv
    task = OLD_FLAGS[modes[0]]
    rest.remove(modes[0])
    old = f"kg link {modes[0]}"
    if task == "suggest":
        for flag, new in (("--accept", "accept"), ("--no-item", "no-item")):
            if flag in rest[:-1]:
                i = rest.index(flag)
                value = rest[i + 1]
                del rest[i:i + 2]
                if new == "accept":  # the names only found the resource: it is named now
                    rest = _client_words(rest)
                rest = [value, *rest]
                old, task = f"{old} {flag}", new
                break
    warn(f"'{old}' is now 'kg link {task}'; the old flags go in the next release")
    return [*argv[:at + 1], task, *rest]


def _client_words(words: list[str]) -> list[str]:
    """The Wikidata client's options among ``words`` (``--api URL``, ``--offline``)."""
    kept: list[str] = []
    for i, word in enumerate(words):
        if word == "--offline" or word.startswith("--api="):
            kept.append(word)
        elif word == "--api":
            kept += words[i:i + 2]
    return kept


def _client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--offline", action="store_true", help="use only cached Wikidata answers")
    p.add_argument(
        "--api",
        metavar="URL",
        help="Wikidata API endpoint (default: wikidata.org, or $KG_WIKIDATA_API)",
    )


def _link_options(p: argparse.ArgumentParser) -> None:
    tasks = p.add_subparsers(dest="task", metavar="TASK", parser_class=Parser, required=True)

    def task(name: str, help: str, run: object, *, online: bool = True) -> argparse.ArgumentParser:
        t = tasks.add_parser(name, help=help, description=help)
        t.set_defaults(task_run=run)
        if online:
            _client_options(t)
        return t

    task("check", "offline checks of data/wikidata.ttl (exit 1 with a list on problems)",
         _check, online=False)  # fmt: skip
    t = task("report", "how many resources are linked, per kind, and why each one left is not",
             _report, online=False)  # fmt: skip
    t.add_argument("--markdown", action="store_true", help="the table in Markdown")
    t = task("suggest", "rank Wikidata candidates for resources without a confirmed link",
             _suggest)  # fmt: skip
    t.add_argument("names", nargs="*", metavar="NAME",
                   help="labels or prefixed names of the resources to look up (default: all)")
    t.add_argument("--type", metavar="CLASS", help="only this class (e.g. Person)")
    t = task("accept", "write a ranked candidate as the resource's confirmed link", _accept)
    t.add_argument("choice", metavar="RESOURCE=QID",
                   help="e.g. person:david-levy=Q…; the item as Wikidata writes it or as "
                        "copied from it: q123, wd:Q123, its page's address")  # fmt: skip
    t = task("no-item", "record that Wikidata has no item for RESOURCE, when a search for "
             "each of its labels finds none that fits (the search is the evidence)", _no_item)
    t.add_argument("resource", metavar="RESOURCE")
    task("verify", "check every confirmed link against Wikidata (network)", _verify)
    t = task("statements",
             "the article's facts about linked items as QuickStatements V1, with references",
             _statements)  # fmt: skip
    t.add_argument("-f", "--format", choices=("v1", "csv"), default="v1",
                   help="QuickStatements V1 commands (default) or its CSV dialect")
    t.add_argument("--article", metavar="FILE",
                   help="the article's pinned text, to quote (S1683) the sentence each cited "
                        "statement comes from")
    t.add_argument("-o", "--output", metavar="FILE", help="write here (atomically)")


@command("link", "Check, find and verify links to Wikidata (kg link TASK; see its --help).",
         _link_options)  # fmt: skip
def cmd_link(args: Args) -> int:
    return args.task_run(args)


def _client(args: Args) -> object:
    from kg.wikidata.client import API, WikidataClient

    return WikidataClient(
        api=args.api or os.environ.get("KG_WIKIDATA_API", API),
        cache_dir=project_of(args).build_dir / "wikidata-cache",
        offline=args.offline,
    )


def _check(args: Args) -> int:
    from kg.wikidata.check import check, summary
    from kg.wikidata.records import read_state

    state = read_state(project_of(args))  # once, for the problems and the summary
    problems = check(state=state)
    write("".join(f"- {p}\n" for p in problems) + summary(problems, state=state) + "\n")
    return EXIT_FAILED if problems else 0


def _report(args: Args) -> int:
    from kg.wikidata.report import link_report

    write(link_report(project_of(args)).to_text(markdown=args.markdown))
    return 0


def _suggest(args: Args) -> int:
    from kg.wikidata.candidates import suggest, suggestions_table

    client = _client(args)
    try:
        write(suggestions_table(suggest(args.names, type_=args.type, client=client,
                                        project=project_of(args))))  # fmt: skip
    finally:
        client.close()
    return 0


def _accept(args: Args) -> int:
    from kg.namespaces import expand, wikidata_item
    from kg.wikidata.candidates import accept_candidate

    resource, sep, item = args.choice.partition("=")
    if not sep:
        raise KGError("kg link accept wants RESOURCE=QID, e.g. person:shinzo-abe=Q132345")
    project = project_of(args)
    client = _client(args)
    try:
        path = accept_candidate(expand(resource) or resource, item, client=client,
                                project=project)  # fmt: skip
    finally:
        client.close()
    print(f"linked {resource} to {wikidata_item(item)} in {project.relative(path)}",
          file=sys.stderr)  # fmt: skip
    return 0


def _no_item(args: Args) -> int:
    from kg.namespaces import expand
    from kg.wikidata.candidates import no_item_search, suggestions_table
    from kg.wikidata.records import record_no_item

    project = project_of(args)
    resource = expand(args.resource) or args.resource
    client = _client(args)
    try:
        found = no_item_search(resource, client=client, project=project)  # type: ignore[arg-type]
    finally:
        client.close()
    if found.fitting:
        write(suggestions_table(found.fitting))
        raise KGError(found.refusal())
    path = record_no_item(resource, evidence=found.evidence(), project=project)
    print(f"recorded that Wikidata has no item for {args.resource} in "
          f"{project.relative(path)}", file=sys.stderr)  # fmt: skip
    return 0


def _verify(args: Args) -> int:
    from kg.namespaces import shorten
    from kg.wikidata.check import verify

    client = _client(args)
    try:
        results = verify(client=client, project=project_of(args))  # type: ignore[arg-type]
    finally:
        client.close()
    bad = [r for r in results if r.problems]
    for r in bad:
        for p in r.problems:
            write(f"- {shorten(r.resource)} ({r.item}): {p}\n")
    write(f"{len(results)} link(s) verified, {len(bad)} with problems\n")
    return EXIT_FAILED if bad else 0


def _statements(args: Args) -> int:
    from kg.fileio import atomic_write
    from kg.wikidata.statements import leave_out_present, statements

    text = None
    if args.article is not None:
        try:
            text = Path(args.article).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KGError(f"--article {args.article}: cannot read it ({e})") from None
    client = _client(args)
    try:
        result = leave_out_present(statements(project=project_of(args), article=text), client)
    finally:
        client.close()
    body = result.to_csv() if args.format == "csv" else result.to_text()
    if args.output:
        atomic_write(Path(args.output), body.encode())
    else:
        write(body)
    for st in result.present:
        print(f"already on Wikidata, left out: {st.item} {st.prop} {st.value}", file=sys.stderr)
    if result.unchecked:
        print(f"not checked against Wikidata: {result.unchecked}", file=sys.stderr)
    print(result.summary().rstrip("\n"), file=sys.stderr)
    if args.output:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
