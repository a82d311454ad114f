"""SPARQL text, read with the grammar's own terminals — without parsing the query.

Used where a message or an edit needs to know where the code is, apart from
strings, IRIs and comments: the friendly 403 of ``kg serve`` (:func:`refusal`),
and the place where parameters are inlined for a remote endpoint
(:func:`mask`). The rules follow the SPARQL 1.1 grammar's terminals as
pyoxigraph's parser (spargebra, a PEG grammar) implements them:

- white space is only space, tab, CR and LF (no Unicode spaces);
- a comment runs from ``#`` to the next CR or LF;
- strings take ``\\t \\b \\n \\r \\f \\" \\' \\\\`` and ``\\uXXXX``/``\\UXXXXXXXX`` escapes;
  short ones end at a raw CR or LF;
- ``<`` is the less-than operator only after an operand inside an
  expression's brackets (``FILTER(?a<?b)``), so what follows is code; it starts
  an IRI everywhere else, after an operand in a list's brackets too (a VALUES
  row ``(1 <a#>)``, a collection, ``COUNT(DISTINCT <a#>)``). A bracket is an
  expression's after FILTER, BIND, a function's name, in the projection and in
  the solution modifiers, and inside another expression's bracket; a list's in
  a pattern or a VALUES block;
- keywords are matched without word boundaries (``1SERVICE``, ``trueSERVICE``,
  ``SERVICE:x`` all reach the keyword), but never inside a variable or inside
  the local part of a prefixed name, which the parser takes greedily
  (``ex:myservice``); PN_LOCAL keeps only one dotted group, so in
  ``ex:a.b.SERVICE`` the keyword is code.

The check errs on the side of refusing: any ``service`` in code outside those
places is refused, which wrongly refuses only a prefix whose name contains
"service" (``PREFIX myservice: …``). It is a courtesy, not the guarantee: what
keeps the server from connecting anywhere is the worker's sandbox
(:mod:`kg.web.sandbox`), which stops any query that gets past this check. The
check gives the common case a clear 403 before a worker is involved, and
``tests/test_sparqltext.py`` holds it to pyoxigraph's own reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kg.errors import KGError, clip

# PN_CHARS_BASE, PN_CHARS_U, PN_CHARS and VARNAME from the grammar
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_U = _BASE + "_"
_CHARS = _U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_VARNAME = rf"[{_U}0-9][{_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*"
_HEX = "[0-9A-Fa-f]"
_UCHAR = rf"\\u{_HEX}{{4}}|\\U{_HEX}{{8}}"
_ECHAR = r"""\\[tbnrf"'\\]"""
_PLX = rf"%{_HEX}{_HEX}|\\[_~.\-!$&'()*+,;=/?#@%]"


class _Patterns:
    """The grammar's terminals as compiled patterns, built on first use: compiling them
    takes ~25 ms, which every cold ``kg query`` would pay for nothing."""

    def __init__(self) -> None:
        # PEG: every repetition is possessive, and the dotted tail is tried once.
        self.pn_local = re.compile(
            rf"(?:[{_U}:0-9]|{_PLX})(?:[{_CHARS}:]|{_PLX})*+(?:\.++(?:[{_CHARS}:]|{_PLX})++)?+"
        )
        self.bnode_label = re.compile(rf"[{_U}0-9][{_CHARS}]*+(?:\.++[{_CHARS}]++)*+")
        self.strings = [
            re.compile(rf'"""(?:(?:""|")?+(?:[^"\\]|{_ECHAR}|{_UCHAR}))*+"""'),
            re.compile(rf"'''(?:(?:''|')?+(?:[^'\\]|{_ECHAR}|{_UCHAR}))*+'''"),
            re.compile(rf'"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*+"'),
            re.compile(rf"'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*+'"),
        ]
        # an IRIREF whose characters the grammar allows (a bad one is a syntax error anyway)
        self.iriref = re.compile(rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*+>")
        self.var = re.compile(rf"[?$]{_VARNAME}")
        self.langtag = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")


_compiled: list[_Patterns] = []


def _patterns() -> _Patterns:
    if not _compiled:
        _compiled.append(_Patterns())
    return _compiled[0]


_WS = " \t\r\n"
_OPEN, _CLOSE = "({[", ")}]"

#: deepest bracket nesting accepted; pyoxigraph's parser recurses, and crashes
#: (SIGSEGV, stack overflow) somewhere between 1,000 and 5,000 levels
MAX_NESTING = 100

_UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY")


class Scan:
    """A query split into code and the rest.

    ``code`` is the text with strings, IRIs and comments blanked (same length,
    same line breaks), ``blanked`` where each of them is (start, end); ``names``
    marks every position that is inside a
    variable, a language tag, or the local part of a prefixed name or blank
    node label, where no keyword can start; ``unclosed`` is where the first quote
    that starts no string is (a string never closed), or None.
    """

    __slots__ = ("blanked", "code", "depth", "names", "text", "unclosed")

    def __init__(self, text: str) -> None:
        pat = _patterns()
        self.text = text
        code = list(text)
        names = bytearray(len(text))
        n, i, deepest = len(text), 0, 0
        # open brackets: "e" an expression's "(", "l" a list's "(" (a collection, a VALUES
        # row), "{", "["; '<' is the less-than operator only after an operand directly
        # inside an "e", and starts an IRI everywhere else, as the grammar has it
        stack: list[str] = []
        last, word = "", ""  # the last significant token's kind, and the last bare word
        callee = False  # the last token is an IRI or prefixed name called as a function
        clause = ""  # "select" from SELECT to its group, "modifiers" after GROUP/ORDER/HAVING
        prefix_before = ("", "")  # what stood before a bare word (a prefixed name's prefix)

        self.blanked: list[tuple[int, int]] = []
        self.unclosed: int | None = None

        def blank(a: int, b: int) -> None:
            self.blanked.append((a, b))
            for k in range(a, b):
                if code[k] not in "\r\n":
                    code[k] = " "

        while i < n:
            c = text[i]
            if c in _WS:
                i += 1
                continue
            if c == "#":
                j = i
                while j < n and text[j] not in "\r\n":
                    j += 1
                blank(i, j)
                i = j
                continue
            before, was_callee, callee = (last, word), callee, False
            if c in "\"'":
                m = next((m for p in pat.strings if (m := p.match(text, i))), None)
                if m is not None:
                    blank(i, m.end())
                    i = m.end()
                    tag = pat.langtag.match(text, i)
                    if tag is not None:
                        names[i : tag.end()] = b"\1" * (tag.end() - i)
                        i = tag.end()
                    last = "operand"
                    continue
                if self.unclosed is None:
                    self.unclosed = i
            if c == "<" and not (stack and stack[-1] == "e" and last == "operand"):
                m = pat.iriref.match(text, i)
                if m is not None:
                    blank(i, m.end())
                    i = m.end()
                    last, callee = "operand", _calls(before, clause)
                    continue
            if c in "?$":
                m = pat.var.match(text, i)
                if m is not None:
                    names[i : m.end()] = b"\1" * (m.end() - i)
                    i = m.end()
                    last = "operand"
                    continue
            if c == ":":
                pattern = pat.bnode_label if i and text[i - 1] == "_" else pat.pn_local
                m = pattern.match(text, i + 1)
                end = m.end() if m is not None else i + 1
                names[i + 1 : end] = b"\1" * (end - i - 1)
                glued = i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_-.")
                i = end
                last, callee = "operand", _calls(prefix_before if glued else before, clause)
                continue
            if c.isalnum() or c == "_" or (c == "." and text[i + 1 : i + 2].isdigit()):
                run = _word(text, i)
                prefix_before = before
                if not (run[0].isalpha() or run[0] == "_") or run.upper() in ("TRUE", "FALSE"):
                    last = "operand"  # a number or a boolean
                else:
                    last, word = "word", run.upper()
                    clause = _CLAUSES.get(word, clause)
                i += len(run)
                continue
            if c == "(":
                expression = (
                    not stack  # the outer query's projection and solution modifiers
                    or stack[-1] == "e"  # inside an expression: arguments, brackets
                    or clause in ("select", "modifiers")
                    or (last == "word" and word not in ("A", "VALUES"))  # FILTER(, STR( …
                    or was_callee  # FILTER ex:f(
                )
                stack.append("e" if expression else "l")
                deepest = max(deepest, len(stack))
                last = "open"
            elif c in "{[":
                stack.append(c)
                deepest = max(deepest, len(stack))
                last = "open"
                clause = "" if c == "{" else clause
            elif c in _CLOSE:
                if stack:
                    stack.pop()
                last = "operand"
                clause = "" if c == "}" else clause
            else:
                last = "other"
            i += 1
        self.code = "".join(code)
        self.names = bytes(names)
        self.depth = deepest

    def keyword(self, word: str, *, boundaries: bool = False) -> int | None:
        """Where ``word`` (any case) first stands in code as a keyword; None if nowhere.

        With ``boundaries``, only where it is not glued to other name
        characters (for words that are refused to give a message, not for
        safety).
        """
        for m in re.finditer(re.escape(word), self.code, re.I | re.A):
            a, b = m.span()
            if any(self.names[a:b]):
                continue
            glued = (a and _is_name(self.code[a - 1])) or (
                b < len(self.code) and _is_name(self.code[b])
            )
            if boundaries and glued:
                continue
            return a
        return None


def _is_name(c: str) -> bool:
    return c.isalnum() or c in "_-:"


_WORD = re.compile(r"\d*\.?\d+(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\w")
#: words that open a part of a query where every "(" is an expression's
_CLAUSES = {"SELECT": "select", "WHERE": "", "GROUP": "modifiers", "ORDER": "modifiers",
            "HAVING": "modifiers", "LIMIT": "", "OFFSET": "", "VALUES": ""}  # fmt: skip
#: words after which an IRI or prefixed name followed by "(" is a function call
_CALLERS = ("FILTER", "BY", "HAVING", "ASC", "DESC")


def _word(text: str, i: int) -> str:
    """The bare word, number or other name character run starting at ``i``."""
    m = _WORD.match(text, i)
    return m.group(0) if m else text[i]


def _calls(before: tuple[str, str], clause: str) -> bool:
    """Is an IRI or prefixed name that comes after ``before`` (kind, word) in a place
    where "(" after it calls it as a function (``FILTER ex:f(…)``, ``ORDER BY ex:f(…)``)?"""
    return (before[0] == "word" and before[1] in _CALLERS) or clause == "modifiers"


def mask(text: str) -> str:
    """``text`` with strings, IRIs and comments blanked, keeping every position."""
    return Scan(text).code


def check(text: str) -> tuple[int, str] | None:
    """Why ``text`` may not run on a read-only endpoint that never connects out, as an HTTP
    status and a message (400: nested too deep; 403: update, SERVICE, FROM); None if it may.

    One scan of the text serves every rule.
    """
    scan = Scan(text)
    if scan.depth > MAX_NESTING:
        return 400, (
            f"the query nests brackets {scan.depth} levels deep; this endpoint accepts at most "
            f"{MAX_NESTING}"
        )
    if any(scan.keyword(w, boundaries=True) is not None for w in (*_UPDATE_WORDS, "WITH")):
        return 403, "this endpoint is read-only: SPARQL Update is not accepted"
    if scan.keyword("SERVICE") is not None:
        return 403, "SERVICE is disabled: this endpoint never fetches a URL a query names"
    if scan.keyword("FROM", boundaries=True) is not None:
        return 403, (
            "FROM and FROM NAMED are not accepted: this endpoint serves one default graph "
            "and never loads graphs from elsewhere"
        )
    return None


def refusal(text: str) -> str | None:
    """The 403 message of :func:`check` (update, SERVICE, FROM); None otherwise."""
    found = check(text)
    return found[1] if found and found[0] == 403 else None


def too_deep(text: str) -> str | None:
    """The 400 message of :func:`check` (nesting deeper than :data:`MAX_NESTING`)."""
    found = check(text)
    return found[1] if found and found[0] == 400 else None


def inline_values(text: str, terms: Mapping[str, str]) -> str:
    """Bind variables for a remote endpoint: a ``VALUES`` block at the start of the outermost
    WHERE group (so the group's FILTERs see the values, as with substitution). ``terms``
    are N-Triples terms, as pyoxigraph's ``str()`` writes them.

    >>> inline_values("SELECT * WHERE { ?s ?p ?o }", {"s": "<http://example.org/a>"})
    'SELECT * WHERE { VALUES (?s) { (<http://example.org/a>) }  ?s ?p ?o }'
    """
    masked = mask(text)
    m = re.search(r"\bWHERE\s*\{", masked, re.I) or re.search(r"\{", masked)
    if m is None:
        from kg.errors import KGError

        raise KGError("cannot bind parameters: the query has no WHERE group")
    names = " ".join(f"?{k}" for k in terms)
    values = " ".join(terms.values())
    return f"{text[: m.end()]} VALUES ({names}) {{ ({values}) }} {text[m.end() :]}"


def uses_variable(text: str, name: str) -> bool:
    """Does the query mention the variable ``?name`` (or ``$name``) outside strings, IRIs
    and comments?

    >>> uses_variable("SELECT ?s WHERE { ?s ?p ?o } # ?x", "x"), uses_variable("ASK {$x ?p 1}", "x")
    (False, True)
    """
    return (
        re.search(rf"[?$]{re.escape(name)}(?![\w\u00b7\u0300-\u036f\u203f-\u2040])", mask(text))
        is not None
    )


_PNAME = re.compile(r"(?<![\w?$:.\-])([A-Za-z][\w.\-]*)?:(?![/\s]|$)")
_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.\-]*)?:", re.I)
_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
_PROLOGUE = re.compile(r"\s*(?:(?:PREFIX\s+[\w.\-]*:|BASE)\s*)*", re.I)


def prefixes_declared(text: str) -> set[str]:
    """The prefixes ``text`` declares itself (``PREFIX p: <…>``)."""
    return {m.group(1) or "" for m in _DECLARED.finditer(mask(text))}


def _prefixed_names(masked: str) -> list[tuple[str, int]]:
    """(prefix, offset) of every prefixed name in masked text, declarations left out."""
    declared_at = {m.end() for m in _DECLARED.finditer(masked)}
    return [(m.group(1) or "", m.start()) for m in _PNAME.finditer(masked)
            if m.end() not in declared_at]  # fmt: skip


def prefixes_used(text: str) -> set[str]:
    """The prefixes of the prefixed names in ``text`` (outside strings, IRIs, comments).

    >>> sorted(prefixes_used('SELECT * { ?v a ij:Visit ; rdfs:label "x:y" } # z:w'))
    ['ij', 'rdfs']
    """
    return {prefix for prefix, _ in _prefixed_names(mask(text))}


def declare_prefixes(text: str, prefixes: Mapping[str, str]) -> str:
    """``text`` with a declaration of each of ``prefixes`` it uses but does not declare,
    put on its first line so that line numbers in errors stay the user's (for servers
    that know no prefixes of this project).

    >>> declare_prefixes("SELECT * { ?s a ij:Visit }", {"ij": "http://example.org/ij#"})
    'PREFIX ij: <http://example.org/ij#> SELECT * { ?s a ij:Visit }'
    """
    needed = sorted(p for p in prefixes_used(text) - prefixes_declared(text) if p in prefixes)
    if not needed:
        return text
    return " ".join(f"PREFIX {p}: <{prefixes[p]}>" for p in needed) + " " + text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


#: the most of a line an error message shows, around the place it points at
_SHOWN = 100


def _pointed(text: str, line: int, col: int, why: str) -> str:
    """The message: where, why, and the line with a caret under the place; of a line longer
    than :data:`_SHOWN`, the part around it (a 64 KB query on one line came back whole)."""
    lines = text.split("\n")
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    at = max(0, min(col, len(shown) + 1) - 1)
    if len(shown) > _SHOWN:
        start = max(0, min(at - _SHOWN // 2, len(shown) - _SHOWN))
        cut = shown[start : start + _SHOWN]
        shown = ("…" if start else "") + cut + ("…" if start + _SHOWN < len(shown) else "")
        at = at - start + (1 if start else 0)
    return f"invalid SPARQL at line {line}, column {col}: {why}\n  {shown}\n  {' ' * at}^"


def explain_syntax_error(text: str, message: str) -> str:
    """A parser's complaint about ``text`` as people read it: where (line, column, the line
    with a caret under the place) and a hint for the usual slips: an unknown prefix, a
    misspelt query form, an unclosed bracket. Otherwise the parser's own words, with a
    long list of what it expected cut short.

    >>> print(explain_syntax_error("SELEC * {}", "error at 1:10: expected CONSTRUCT"))
    invalid SPARQL at line 1, column 1: unknown keyword SELEC (did you mean SELECT?)
      SELEC * {}
      ^
    """
    import difflib

    from kg.namespaces import PREFIXES

    scan = Scan(text)
    if scan.unclosed is not None:  # first: the words after it read as code mislead the rest
        at = scan.unclosed
        quote = text[at]
        if text[max(0, at - 2) : at + 1] == quote * 3:  # """x: "" read as an empty string
            at, where = at - 2, f"{quote * 3} to {quote * 3}"
        else:
            where = f"{quote} to {quote} on one line"
        line, col = _line_col(text, at)
        return _pointed(text, line, col, f"this string is never closed: a string runs from "
                        f"{where}")  # fmt: skip
    masked = scan.code
    known_prefixes = set(PREFIXES) | prefixes_declared(text)
    for prefix, offset in _prefixed_names(masked):
        if prefix not in known_prefixes:
            line, col = _line_col(text, offset)
            close = difflib.get_close_matches(prefix, sorted(known_prefixes), n=1)
            hint = f" (did you mean {close[0]}:?)" if close else ""
            prefix = clip(prefix)
            return _pointed(text, line, col, f"unknown prefix {prefix}:{hint}; declare it with "
                            f"PREFIX {prefix}: <…>")  # fmt: skip
    start = _PROLOGUE.match(masked).end()  # type: ignore[union-attr]
    if not masked[start:].strip():  # empty, blank, comments or a prologue alone
        return (f"invalid SPARQL: the text holds no query; a query starts with "
                f"{', '.join(_FORMS[:-1])} or {_FORMS[-1]}")
    word = re.match(r"[A-Za-z]+", masked[start:])
    if word and word.group(0).upper() not in _FORMS:
        line, col = _line_col(text, start)
        close = difflib.get_close_matches(word.group(0).upper(), _FORMS, n=1)
        hint = (
            f" (did you mean {close[0]}?)"
            if close
            else f"; a query starts with {', '.join(_FORMS)}"
        )
        return _pointed(text, line, col, f"unknown keyword {clip(word.group(0))}{hint}")
    opened: list[int] = []
    for i, c in enumerate(masked):
        if c in _OPEN:
            opened.append(i)
        elif c in _CLOSE and opened:
            opened.pop()
    if opened:
        line, col = _line_col(text, opened[-1])
        return _pointed(text, line, col, f"this {text[opened[-1]]} is never closed")
    found = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
    if not found:
        return f"invalid SPARQL: {message}"
    why = found.group(3)
    line, col = int(found.group(1)), int(found.group(2))
    short = _short_pattern(text, scan, _offset(text, line, col))
    if short:
        return _pointed(text, line, col, short)
    if why.startswith("expected one of") and why.count(",") > 6:
        options = why[len("expected one of ") :].split(", ")
        why = f"unexpected here; the parser expected one of {len(options)} things, such as " + (
            ", ".join(options[:4])
        )
    return _pointed(text, line, col, why)


def _offset(text: str, line: int, col: int) -> int:
    """The offset of a line and column (both from 1) in ``text``."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return len(text)
    return min(start + col - 1, len(text))


def _short_pattern(text: str, scan: Scan, offset: int) -> str | None:
    """What a triple pattern that ends at ``offset`` lacks (``?s ?p }``: its object), or
    None. Only where the parser stopped at the end of a pattern (``}``, ``.``, ``;``,
    ``,``, a space or the text's end); each string, IRI and number counts as one term.
    ``scan`` is the text's :class:`Scan`, made once for the whole explanation."""
    if offset < len(text) and scan.code[offset] not in "}.;, \t\r\n":
        return None
    terms, shown = list(scan.code), list(text)
    for a, b in scan.blanked:  # a string or an IRI is a term; a comment is nothing
        if text[a] != "#":
            terms[a:b] = "x" * (b - a)
        else:
            shown[a:b] = " " * (b - a)
    code = "".join(terms[:offset])
    # a number's point is no full stop: 1.5 is one term
    # (starting only where a number starts: from inside a run of digits each start would
    # read the run again, 1 s for 16,000 digits)
    code = re.sub(r"(?<![\w.])[+-]?\d*+\.\d++(?:[eE][+-]?\d++)?",
                  lambda m: "x" * len(m.group(0)), code).rstrip()  # fmt: skip
    if code.endswith("}"):  # the parser stops after the brace that came too soon
        code = code[:-1].rstrip()
    if code.endswith(","):
        return "after ',' comes another object; there is none"
    if code.endswith((".", ";")):  # allowed after a pattern: the pattern before it
        code = code[:-1].rstrip()
    cut = max(code.rfind(c) for c in "{.;,")
    if cut < 0:
        return None
    said = code[cut + 1 :].split()
    if any(w.upper().split("(")[0] in _GROUP_WORDS for w in said):
        return None
    seen = clip(" ".join("".join(shown[cut + 1 : len(code)]).split()))
    if code[cut] in "{." and len(said) == 2:
        return f"this triple pattern ({seen}) has a subject and a predicate but no object"
    if code[cut] in "{." and len(said) == 1:
        return (f"this triple pattern ({seen}) has one term; a pattern is a subject, a "
                "predicate and an object")  # fmt: skip
    if code[cut] == ";" and len(said) == 1:
        return f"after ';' comes a predicate and its object; {seen} has no object"
    return None


#: words that begin something other than a triple pattern in a group
_GROUP_WORDS = {"FILTER", "BIND", "OPTIONAL", "MINUS", "VALUES", "GRAPH", "SERVICE", "UNION",
                "SELECT", "WHERE", "LATERAL"}  # fmt: skip


def page(text: str, limit: int | None = None, offset: int | None = None) -> str:
    """``text`` answering one page: ``LIMIT``/``OFFSET`` added after its last solution
    modifier, so its ``ORDER BY`` still decides which rows each page holds. A query that
    ends with its own LIMIT, OFFSET or VALUES, or an ASK, cannot be paged.

    >>> page("SELECT ?s { ?s ?p ?o } ORDER BY ?s", limit=10, offset=20)
    'SELECT ?s { ?s ?p ?o } ORDER BY ?s\\nLIMIT 10 OFFSET 20'
    """
    if limit is None and offset is None:
        return text
    if (limit is not None and limit < 0) or (offset is not None and offset < 0):
        raise KGError("a page's limit and offset are whole numbers, 0 or more")
    code = Scan(text).code
    clash = re.search(r"\b(LIMIT|OFFSET|VALUES)\b", code[_after_body(code) :].upper())
    if clash:
        raise KGError(f"this query ends with its own {clash.group(1)}, so it cannot be paged")
    first = re.search(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", code.upper())
    if first and first.group(1) == "ASK":
        raise KGError("an ASK query has one answer: it cannot be paged")
    clauses = ([f"LIMIT {limit}"] if limit is not None else []) + (
        [f"OFFSET {offset}"] if offset else [])
    return text.rstrip("\n") + "\n" + " ".join(clauses) if clauses else text


def _after_body(code: str) -> int:
    """Where the query's body ends: after its last top-level group, or before a trailing
    ``VALUES`` block (which has braces of its own)."""
    groups, depth, start = [], 0, 0
    for i, c in enumerate(code):
        if c == "{":
            depth += 1
            if depth == 1:
                start = i
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                groups.append((start, i + 1))
    if not groups:
        return 0
    if len(groups) > 1 and re.search(r"\bVALUES\b", code[groups[-2][1] : groups[-1][0]], re.I):
        return groups[-2][1]
    return groups[-1][1]


def redirect_services(text: str, service_map: Mapping[str, str]) -> str:
    """Point ``SERVICE <from>`` at another endpoint (a mirror, or a test double).

    >>> redirect_services("SERVICE <http://a/sparql> { }", {"http://a/sparql": "http://b/q"})
    'SERVICE <http://b/q> { }'
    """
    for source, target in service_map.items():
        pattern = rf"(SERVICE\s+(?:SILENT\s+)?)<{re.escape(source)}>"
        text = re.sub(pattern, lambda m, t=target: f"{m.group(1)}<{t}>", text, flags=re.I)
    return text


__all__ = [
    "MAX_NESTING",
    "Scan",
    "check",
    "declare_prefixes",
    "explain_syntax_error",
    "inline_values",
    "mask",
    "page",
    "prefixes_declared",
    "prefixes_used",
    "redirect_services",
    "refusal",
    "too_deep",
    "uses_variable",
]
