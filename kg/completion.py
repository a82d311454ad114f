"""Tab completion for bash and zsh.

``kg completion bash`` (or ``zsh``) prints a script for the shell to source; on Tab
the script calls ``kg __complete SHELL LINE`` with the command line left of the
cursor, and prints what :func:`candidates` offers: commands, options, the choices
of an option (formats, engines), saved query names, and a saved query's parameter
names (``--param state=``). The offers come from the command line's own parsers
and the saved queries, so completion never disagrees with what ``kg`` accepts.
Where nothing is offered (``-o FILE``, a query file), the shell completes file names.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Sequence

BASH = r"""# kg: Tab completion for bash. Load it with:  source <(kg completion bash)
_kg() {
    local IFS=$'\n'
    COMPREPLY=($(kg __complete bash "${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
}
complete -o default -o nospace -F _kg kg
"""

ZSH = r"""#compdef kg
# kg: Tab completion for zsh. Load it with:  source <(kg completion zsh)
_kg() {
    local -a offers open
    offers=("${(@f)$(kg __complete zsh "$LBUFFER" 2>/dev/null)}")
    offers=(${offers:#})
    open=(${(M)offers:#*=})
    offers=(${offers:#*=})
    (( $#open )) && compadd -S '' -- $open
    (( $#offers )) && compadd -- $offers
    (( $#open + $#offers )) || _files
}
if (( $+functions[compdef] )); then compdef _kg kg; fi
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}


def script(shell: str) -> str:
    """The completion script for ``shell`` (bash or zsh)."""
    return SCRIPTS[shell]


def split_line(line: str) -> list[str]:
    """The words of a command line left of the cursor; the last is the one being typed
    ('' after a space). An unclosed quote is read as if closed.

    >>> split_line("kg query visits-to --param st")
    ['kg', 'query', 'visits-to', '--param', 'st']
    >>> split_line("kg query ")
    ['kg', 'query', '']
    """
    for closing in ("", '"', "'"):
        try:
            words = shlex.split(line + closing)
            break
        except ValueError:
            continue
    else:
        words = line.split()
    if not line or line[-1].isspace():
        words.append("")
    return words


def candidates(
    words: Sequence[str],
    parsers: dict[str, argparse.ArgumentParser],
    top: argparse.ArgumentParser,
    saved: Callable[[], dict[str, list[str]]],
    values: Callable[[str, str], list[str]] | None = None,
) -> list[str]:
    """What may come next: ``words`` follow ``kg`` (the last is being typed); ``parsers``
    are the commands' parsers, ``top`` the program's; ``saved`` gives each saved query's
    parameter names, ``values(query, parameter)`` the values a parameter may take.
    Whole words, sorted; ``NAME=`` offers end with ``=``."""
    *before, current = list(words) or [""]
    command, parser, positionals = _command(before, top, parsers)
    prev = before[-1] if before else None
    options = _options(parser or top)
    if prev in options and _takes_value(options[prev]):
        action = options[prev]
        if action.choices:
            return _starting(current, [str(c) for c in action.choices])
        if action.dest == "param" and positionals:
            name, eq, _ = current.partition("=")
            if eq and values is not None:
                return _starting(current, [f"{name}={v}" for v in values(positionals[0], name)])
            names = saved().get(positionals[0], [])
            return _starting(current, [f"{n}=" for n in names])
        return []  # a value: a file, a URL, a label
    if current.startswith("-"):
        return _starting(current, [o for o in options if o.startswith("--")] or list(options))
    if parser is None:
        return _starting(current, list(parsers))
    if _tasks(parser):
        return _starting(current, list(_tasks(parser)))
    if command == "query" and not positionals:
        return _starting(current, list(saved()))
    return []


def for_shell(shell: str, offers: list[str], current: str) -> list[str]:
    """bash replaces only the part of a word after its last ``=`` or ``:`` (its default
    COMP_WORDBREAKS) and adds no space itself here (``-o nospace``); zsh takes whole words."""
    if shell != "bash":
        return offers
    cut = max(current.rfind("="), current.rfind(":")) + 1
    return [o[cut:] + ("" if o.endswith("=") else " ") for o in offers]


def _command(
    before: Sequence[str], top: argparse.ArgumentParser, parsers: dict[str, argparse.ArgumentParser]
) -> tuple[str | None, argparse.ArgumentParser | None, list[str]]:
    """The command named in ``before``, the parser of what it runs (a task's own parser
    when the command has tasks, as ``kg link suggest`` does) and the positional words
    after it."""
    command: str | None = None
    parser: argparse.ArgumentParser | None = None
    positionals: list[str] = []
    skip = False
    for word in before:
        options = _options(parser or top)
        if skip:
            skip = False
        elif word in options:
            skip = _takes_value(options[word])
        elif word.startswith("-"):
            continue
        elif command is None:
            if word not in parsers:
                return None, None, []
            command, parser = word, parsers[word]
        elif not positionals and word in _tasks(parser):
            parser = _tasks(parser)[word]
        else:
            positionals.append(word)
    return command, parser, positionals


def _tasks(parser: argparse.ArgumentParser | None) -> dict[str, argparse.ArgumentParser]:
    """A command's tasks (``kg link check``, ``kg link suggest``…) by name, if it has any."""
    for action in parser._actions if parser is not None else ():
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings}


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0  # flags, --help and --version take none


def _starting(prefix: str, words: Sequence[str]) -> list[str]:
    return sorted(w for w in words if w.startswith(prefix))
