"""JSON from strangers, read within limits: the one parser for JSON that arrives in a request.

Python's :func:`json.loads` recurses once per level of nesting, so about 2 KB of
``[[[[…`` raises :class:`RecursionError` (a 500 on the web), and it accepts what
JSON does not (``NaN``, ``Infinity``) and repeated keys (keeping the last). :func:`loads`
checks the size and the nesting depth first, in one pass without recursion, then parses
with those holes closed; every refusal is a :class:`~kg.errors.KGError` of one line
naming the limit.

>>> loads('{"q0": {"query": "Tel Aviv", "limit": 3}}')
{'q0': {'query': 'Tel Aviv', 'limit': 3}}
>>> loads("[" * 40 + "]" * 40)
Traceback (most recent call last):
...
kg.errors.KGError: the JSON is nested 40 levels deep; at most 32 are accepted
>>> loads('{"a": 1, "a": 2}')
Traceback (most recent call last):
...
kg.errors.KGError: the JSON is not accepted: the key 'a' appears twice in one object
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from kg.errors import KGError

#: the deepest nesting accepted (objects and arrays); a reconciliation batch needs 4
MAX_DEPTH = 32
#: the largest text accepted, in bytes of UTF-8, unless the caller says otherwise
MAX_BYTES = 64 * 1024
#: the most digits a number may have (a 64-bit integer has 19 or 20)
MAX_DIGITS = 20

# a string, or an unterminated one to the end (its brackets are no nesting)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|$)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def depth(text: str) -> int:
    """The deepest nesting of objects and arrays in ``text``, counted without recursion
    (brackets inside strings do not count; the text need not be valid JSON).

    >>> depth('{"a": [1, {"b": "[[["}]}'), depth("3"), depth("]]")
    (3, 0, 0)
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate((1 if c in "[{" else -1 for c in brackets), initial=0))


def loads(
    text: str,
    *,
    what: str = "the JSON",
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """``text`` parsed as JSON, or a :class:`~kg.errors.KGError` saying why not: larger than
    ``max_bytes``, nested deeper than ``max_depth``, a number longer than
    :data:`MAX_DIGITS` digits, ``NaN``/``Infinity``, a key twice in one object, a lone
    surrogate, or not JSON.
    ``what`` names the input in the messages (e.g. ``"'queries'"``).

    >>> loads('{"n": 1e999}')
    Traceback (most recent call last):
    ...
    kg.errors.KGError: the JSON is not accepted: the number 1e999 is out of range
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise KGError(f"{what} is {size} bytes long; at most {max_bytes} are accepted")
    deepest = depth(text)
    if deepest > max_depth:
        raise KGError(f"{what} is nested {deepest} levels deep; at most {max_depth} are accepted")
    try:
        value = json.loads(
            text,
            parse_int=_integer,
            parse_float=_real,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
        # a lone surrogate (\ud800) is valid JSON but no text: answers echoing it could
        # not be written as UTF-8
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except _Refused as e:
        raise KGError(f"{what} is not accepted: {e}") from None
    except UnicodeEncodeError:
        raise KGError(f"{what} is not accepted: it escapes a lone UTF-16 surrogate") from None
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise KGError(f"{what} is not JSON: {e}") from None
    return value


class _Refused(ValueError):
    pass


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"a number has more than {MAX_DIGITS} digits")
    return int(digits)


def _real(text: str) -> float:
    if len(text) > 2 * MAX_DIGITS:
        raise _Refused(f"a number is longer than {2 * MAX_DIGITS} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text} is out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS", "depth", "loads"]
