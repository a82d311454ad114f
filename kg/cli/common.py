"""What every room of the command line shares: the command registry, the parser's
one-line errors and the helpers that turn options into library arguments.

Light on purpose: a cold ``kg query`` imports this, :mod:`kg.cli` and the one room
its command lives in, and nothing heavy (the store, the web layer and rdflib are
imported inside the handlers that use them).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import namedtuple
from collections.abc import Callable, Sequence
from pathlib import Path

from kg.errors import EXIT_USAGE, KGError
from kg.project import Project
from kg.registry import ENGINE_NAMES

TYPE_CHECKING = False  # the store is imported by the commands that use it
if TYPE_CHECKING:
    from kg.store import Engine

Args = argparse.Namespace
Options = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[Args], int]

#: a command: name, help, options (adds its arguments), run (the handler), and fast_exit
#: (read-only and spawns nothing: it may leave without the interpreter's teardown)
Command = namedtuple("Command", "name help options run fast_exit")

#: the commands of the rooms loaded so far, by name (each room registers its own)
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, options: Options, *, fast_exit: bool = False) -> Callable:
    """Register the decorated handler as ``kg NAME``, with ``options`` adding its arguments."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, options, run, fast_exit)
        return run

    return register


def terminal_columns() -> int | None:
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


class Formatter(argparse.HelpFormatter):
    """argparse's help layout, told the terminal's width: left to itself it imports shutil
    (with bz2, lzma and zlib: 3 ms of a cold ``kg query``) each time it checks an option."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:  # fmt: skip
        if width is None:
            width = (terminal_columns() or 80) - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    #: the program's parser: each command's parser, by name (Tab completion reads them)
    commands: dict[str, argparse.ArgumentParser]

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not argparse's usage block; it names the help to read."""
        raise KGError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


def project_of(args: Args) -> Project:
    """The project the command works on: ``--root``, $KG_ROOT or this checkout."""
    return Project.find(args.root)


def write(text: str) -> None:
    """Text to stdout (a command's answer; messages go to stderr)."""
    sys.stdout.write(text)


def warn(text: str) -> None:
    """One line on stderr, ``kg: warning: ...``."""
    print(f"kg: warning: {text}", file=sys.stderr)


def pairs(given: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` options (``--param``, ``--service``) as a dict; a pair given twice
    or without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in given:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise KGError(f"--param and --service want NAME=VALUE, got {pair!r}")
        if name.strip() in out:  # "last one wins" would answer a question nobody asked
            raise KGError(f"{name.strip()!r} given twice ({out[name.strip()]!r} and {value!r})",
                          EXIT_USAGE)
        out[name.strip()] = value
    return out


def engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine``, ``--endpoint`` and ``--graph``, for the commands that ask the graph."""
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


def engine(args: Args, project: Project) -> Engine:
    """The engine the options of :func:`engine_options` name."""
    from kg.store import open_engine

    return open_engine(args.engine, project, endpoint=args.endpoint, graph=args.graph)


def article_path(args: Args, project: Project, *, required: bool = False) -> Path | None:
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
