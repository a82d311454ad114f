"""One exception type for every failure a user can cause or fix.

The command line turns a :class:`KGError` into one line on stderr and its
``exit_code``; library callers catch it like any other exception.
"""

from __future__ import annotations

#: exit codes shared by every command
EXIT_FAILED = 1  # the check ran and the answer is "no" (non-conforming graph, failed links)
EXIT_USAGE = 2  # unusable input: bad syntax, unknown name, unreadable file, bad option


def clip(text: str, most: int = 60) -> str:
    """``text`` as a message echoes it: at most ``most`` characters, a cut marked with "…"
    (a 64 KB name sent back whole made the answer to a request as long as the request).

    >>> clip("Shinzo Abe"), clip("x" * 100, 5)
    ('Shinzo Abe', 'xxxx…')
    """
    return text if len(text) <= most else text[: most - 1] + "…"


class KGError(Exception):
    """A failure with a message meant for people and an exit code for shells."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
