"""``kg completion`` and the ``kg __complete`` the completion scripts call on Tab."""

from __future__ import annotations

import argparse

from kg.cli.common import Args, Parser, command, write
from kg.errors import KGError
from kg.project import Project


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

    write(script(args.shell))
    return 0


def complete(shell: str, line: str, program: Parser) -> int:
    """``kg __complete SHELL LINE``, which the completion scripts call: one offer a line,
    read from ``program`` (the parser of every command). Silent on any error, as a
    shell's Tab must be."""
    from kg.completion import candidates, for_shell, split_line

    words = split_line(line)[1:]  # after "kg"
    root = words[words.index("--root") + 1] if "--root" in words[:-1] else None

    def saved() -> dict[str, list[str]]:
        from kg.queries import list_queries

        try:
            return {q.name: [p.name for p in q.params] for q in list_queries(Project.find(root))}
        except KGError:
            return {}

    def values(query: str, param: str) -> list[str]:
        """The resources a class-typed parameter takes, by prefixed name (no spaces)."""
        from kg.queries import find_query, resources_of_class

        try:
            spec = next(p for p in find_query(query, Project.find(root)).params if p.name == param)
            return resources_of_class(spec.type, project=Project.find(root))
        except (KGError, StopIteration):
            return []

    offers = candidates(words, program.commands, program, saved, values)
    write("".join(o + "\n" for o in for_shell(shell, offers, words[-1] if words else "")))
    return 0
