"""The ``kg`` command line: turns arguments into calls of the library and
results into output. Nothing here that a notebook could not do.

The commands live in rooms, one module per family (:data:`ROOMS`), each loaded
only when one of its commands runs: a cold ``kg query`` imports this module,
:mod:`kg.cli.common` and :mod:`kg.cli.querying`, and builds no other command's
options. A room registers each handler with its options beside it
(:func:`kg.cli.common.command`). Choices such as formats and engines come from
:mod:`kg.registry`, which imports nothing heavy.

Every failure is one line on stderr (``kg: error: ...``) and an exit code:
1 when a check answered "no", 2 for unusable input. A SPARQL syntax error adds
two lines: the query's line, and a caret under the place.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module

from kg.cli.common import COMMANDS, Command, Parser
from kg.errors import EXIT_USAGE, KGError
from kg.registry import __version__

EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE

#: each command's room, in the order ``kg --help`` lists them
ROOMS: dict[str, str] = {
    "validate": "kg.cli.checking",
    "query": "kg.cli.querying",
    "queries": "kg.cli.querying",
    "export": "kg.cli.publishing",
    "stats": "kg.cli.querying",
    "describe": "kg.cli.querying",
    "search": "kg.cli.querying",
    "sources": "kg.cli.querying",
    "article": "kg.cli.checking",
    "coverage": "kg.cli.checking",
    "release": "kg.cli.publishing",
    "cite": "kg.cli.publishing",
    "docs": "kg.cli.publishing",
    "link": "kg.cli.linking",
    "serve": "kg.cli.serving",
    "publish": "kg.cli.publishing",
    "completion": "kg.cli.shell",
}

__all__ = ["COMMANDS", "EXIT_INTERNAL", "ROOMS", "build_parser", "load", "main", "run"]


def load(name: str) -> Command:
    """The command ``name``, importing its room (once)."""
    if name not in COMMANDS:
        import_module(ROOMS[name])
    return COMMANDS[name]


def build_parser(only: str | None = None) -> Parser:
    """The parser of every command, or with ``only`` of that command alone: each parser
    argparse builds costs ~0.5 ms (gettext looks for translations), 6 ms for all of them,
    and a cold ``kg query`` needs one (and imports one room)."""
    parser = Parser(prog="kg", description="The Israel–Japan relations knowledge graph.")
    parser.add_argument("--root", help="project folder (default: this checkout or $KG_ROOT)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in ROOMS:
        if only is None or only == name:
            c = load(name)
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
            return word if word in ROOMS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kg`` with ``argv`` (default: the program's arguments); the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from kg import progress

    progress.enable()  # long steps count seconds on a terminal; silent in a pipe
    if argv[:1] == ["__complete"] and len(argv) == 3 and argv[1] in ("bash", "zsh"):
        from kg.cli.shell import complete

        return complete(argv[1], argv[2], build_parser())
    try:
        name = _command_name(argv)
        if name is not None:
            argv = getattr(import_module(ROOMS[name]), "modernise", lambda a: a)(argv)
        parser = build_parser(name)
        args, extra = parser.parse_known_args(argv)
        if extra:
            where = " ".join(["kg", *filter(None, (name, getattr(args, "task", None)))])
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
    if name is not None and name in COMMANDS and COMMANDS[name].fast_exit:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        else:
            os._exit(code)
    sys.exit(code)
