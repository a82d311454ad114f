"""Progress of long steps, shown on a terminal only.

The library marks its long steps (reading the data files, validating, building the
on-disk store, writing an export) with :func:`step`; nothing is shown unless the
command line called :func:`enable` and stderr is a terminal, so programs, pipes,
logs and tests see no progress text. A step shows after half a second, so quick
ones stay silent, as a line that counts seconds and is cleared when the step ends.

>>> with step("reading"):  # not enabled: silent
...     pass
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms; annotations need it only here
if TYPE_CHECKING:
    import threading
    from typing import TextIO

_stream: TextIO | None = None
#: seconds before a step shows, and between redraws
DELAY, EVERY = 0.5, 0.2


def enable(stream: TextIO | None = None) -> None:
    """Show steps on ``stream`` (default stderr) when it is a terminal."""
    global _stream
    stream = stream or sys.stderr
    _stream = stream if stream.isatty() else None


class step:  # lower case: used as a function, ``with step("reading"):``
    """Show ``what… 2.4 s`` while the block runs (on a terminal, once enabled). A class,
    not a contextmanager: contextlib and threading stay off the query path."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.stream = _stream
        self.shown = False
        self.done: threading.Event | None = None
        self.painter: threading.Thread | None = None

    def __enter__(self) -> step:
        if self.stream is None:
            return self
        import threading
        import time

        start = time.monotonic()
        self.done = done = threading.Event()
        stream = self.stream

        def draw() -> None:
            if done.wait(DELAY):
                return
            while not done.is_set():
                stream.write(f"\r\x1b[K{self.what}… {time.monotonic() - start:.1f} s")
                stream.flush()
                self.shown = True
                done.wait(EVERY)

        self.painter = threading.Thread(target=draw, daemon=True)
        self.painter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.done is None or self.painter is None or self.stream is None:
            return
        self.done.set()
        self.painter.join()
        if self.shown:
            self.stream.write("\r\x1b[K")  # the line goes; what the command prints stays
            self.stream.flush()
