"""Remember what a function said of a query text, per distinct text.

Reading a query's text for the rules of :func:`kg.sparqltext.check` and for
functions that change between askings took the server about 160 µs a request
(two scans, twelve keyword searches each; issue 26 found the check alone was 18%
of the HTTP process's time), and a public endpoint's traffic repeats texts. The
answer depends on the text alone, so it is kept: bounded in entries, and texts
longer than :data:`LONGEST` characters are read every time (a bound on memory:
at most ``entries × LONGEST`` characters kept).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: texts longer than this are not kept (characters)
LONGEST = 4096
#: what ``known`` says of a text not kept
MISSING = object()


def per_text(entries: int = 2048) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Decorate a function of a query text so that its answer is kept per distinct text,
    the ``entries`` most recently used.

    >>> calls = []
    >>> @per_text(2)
    ... def length(text: str) -> int:
    ...     calls.append(text)
    ...     return len(text)
    >>> [length(t) for t in ("ab", "ab", "abc", "d", "ab")], calls
    ([2, 2, 3, 1, 2], ['ab', 'abc', 'd', 'ab'])
    >>> length.known("ab"), length.known("abc") is MISSING
    (2, True)
    >>> length.known("d"), length("xyz"), length.known("d"), length.known("ab") is MISSING
    (1, 3, 1, True)
    """

    def wrap(fn: Callable[[str], T]) -> Callable[[str], T]:
        kept: OrderedDict[str, T] = OrderedDict()
        # a long text is read in a thread of the pool (kg.web.endpoint), a short one on the
        # event loop: the order is changed under a lock, the reading is done outside it
        lock = threading.Lock()

        @functools.wraps(fn)
        def remembered(text: str) -> T:
            with lock:
                try:
                    value = kept[text]
                    kept.move_to_end(text)
                    return value
                except KeyError:
                    pass
            value = fn(text)
            if len(text) <= LONGEST:
                with lock:
                    kept[text] = value
                    kept.move_to_end(text)
                    if len(kept) > entries:
                        kept.popitem(last=False)
            return value

        def known(text: str) -> Any:
            """What was kept for ``text``, or :data:`MISSING`, without computing it; a text
            found is kept longest, as a call's is (a hot text answered only here was
            dropped after ``entries`` others, and read again in a thread)."""
            with lock:
                value = kept.get(text, MISSING)
                if value is not MISSING:
                    kept.move_to_end(text)
                return value

        remembered.known = known  # type: ignore[attr-defined]
        return remembered

    return wrap


__all__ = ["LONGEST", "MISSING", "per_text"]
