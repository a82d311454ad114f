"""QuickStatements' two input syntaxes, as its documentation (Wikidata's
Help:QuickStatements) describes them, for the subset ``kg link statements`` writes:
adding a statement to an existing item, with qualifiers and one reference.

V1 commands: one a line, cells separated by TAB: an item, a property and a value,
then pairs of a qualifier property (``P…``) and its value, then pairs of a source
property (``S…``) and its value. Values: an item (``Q…``), a string in double quotes
(no escapes: it cannot hold ``"``), monolingual text (``en:"…"``), a time
``+YYYY-MM-DDT00:00:00Z/P`` whose precision P (9 year, 10 month, 11 day) matches the
zeros it keeps.

CSV: a header row, ``qid`` first, then columns ``P…`` (a statement's value),
``qal…`` (a qualifier of the statement of the ``P`` column before it), ``S…`` (opens
the statement's reference) and ``s…`` (adds to it); each cell holds a value in V1
syntax; a row gives the statements whose ``P`` cell is not empty.

A parsed statement is ``(item, property, value, qualifiers, reference)``, the last two
tuples of (property, value) pairs with P/S numbers as in V1.
"""

from __future__ import annotations

import csv
import io
import re

ITEM = r"Q[1-9]\d*"
STRING = r'"[^"\t\n]*"'
MONOLINGUAL = r'[a-z]{2,3}(?:-[a-z]+)*:"[^"\t\n]*"'
TIME = r"[+-]\d{4}-(\d\d)-(\d\d)T00:00:00Z/(9|10|11)"
VALUE = re.compile(rf"^(?:{ITEM}|{STRING}|{MONOLINGUAL}|{TIME})$")


def value_ok(text: str) -> bool:
    if not VALUE.match(text):
        return False
    m = re.fullmatch(TIME, text)
    if m:  # the precision says which parts are given
        month, day, precision = m.group(1), m.group(2), int(m.group(3))
        given = {9: ("00", "00"), 10: (None, "00"), 11: (None, None)}[precision]
        if (given[0] and month != "00") or (given[1] and day != "00"):
            return False
        if precision >= 10 and not 1 <= int(month) <= 12:
            return False
        if precision == 11 and not 1 <= int(day) <= 31:
            return False
    return True


def parse_v1(line: str) -> tuple:
    cells = line.split("\t")
    if len(cells) < 3 or len(cells) % 2 == 0:
        raise ValueError(f"not item, property, value and pairs: {line!r}")
    item, prop, value, rest = cells[0], cells[1], cells[2], cells[3:]
    if not re.fullmatch(ITEM, item) or not re.fullmatch(r"P[1-9]\d*", prop):
        raise ValueError(f"bad item or property: {line!r}")
    if not value_ok(value):
        raise ValueError(f"bad value {value!r}")
    qualifiers, sources = [], []
    for k in range(0, len(rest), 2):
        p, v = rest[k], rest[k + 1]
        if not value_ok(v):
            raise ValueError(f"bad value {v!r} of {p}")
        if re.fullmatch(r"P[1-9]\d*", p) and not sources:
            qualifiers.append((p, v))
        elif re.fullmatch(r"S[1-9]\d*", p):
            sources.append((p, v))
        else:
            raise ValueError(f"{p!r}: neither a qualifier before the sources nor a source")
    return item, prop, value, tuple(qualifiers), tuple(sources)


def parse_csv(text: str) -> list[tuple]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    if header[0] != "qid":
        raise ValueError("the first column must be qid")
    groups: list[list[tuple[int, str]]] = []
    opened = False
    for i, name in enumerate(header[1:], 1):
        if re.fullmatch(r"P[1-9]\d*", name):
            groups.append([(i, name)])
            opened = False
        elif not groups:
            raise ValueError(f"column {name!r} before any P column")
        elif re.fullmatch(r"qal[1-9]\d*", name) and not opened:
            groups[-1].append((i, "P" + name[3:]))
        elif re.fullmatch(r"S[1-9]\d*", name):
            groups[-1].append((i, name))
            opened = True
        elif re.fullmatch(r"s[1-9]\d*", name) and opened:
            groups[-1].append((i, "S" + name[1:]))
        else:
            raise ValueError(f"column {name!r} out of place")
    out = []
    for row in body:
        if len(row) != len(header) or not re.fullmatch(ITEM, row[0]):
            raise ValueError(f"bad row {row!r}")
        for group in groups:
            (pi, prop), rest = group[0], group[1:]
            if not row[pi]:
                if any(row[i] for i, _ in rest):
                    raise ValueError(f"qualifier or source without its statement: {row!r}")
                continue
            for i, _ in group:
                if row[i] and not value_ok(row[i]):
                    raise ValueError(f"bad value {row[i]!r}")
            qualifiers = tuple((p, row[i]) for i, p in rest if p.startswith("P") and row[i])
            sources = tuple((p, row[i]) for i, p in rest if p.startswith("S") and row[i])
            out.append((row[0], prop, row[pi], qualifiers, sources))
    return out
