"""How to cite the graph: one citation, written from the dataset's own metadata, as the
Citation File Format (``CITATION.cff``, which GitHub, Zenodo and Zotero read), BibTeX, or a
line of text.

A citation names the project, the title, the version and the permanent address, and
credits the source article, as its licence asks. The repository's ``CITATION.cff`` is
:func:`cff` of the package's version; ``kg release`` writes one with the release's number
and date into every release, so a release is cited as exactly what was downloaded.

>>> print(text("1.0.0", "2026-12-07"))  # doctest: +NORMALIZE_WHITESPACE
The Israel–Japan relations knowledge graph project (2026). Israel–Japan relations
knowledge graph, version 1.0.0, released 2026-12-07. https://w3id.org/israel-japan-kg/.
Facts from the English Wikipedia article “Israel–Japan relations” (CC BY-SA 4.0),
restated; data CC0 1.0.
"""

from __future__ import annotations

import re
from datetime import date

from kg.errors import KGError
from kg.licence import DESCRIPTION, KEYWORDS, PROJECT_NAME, TITLE
from kg.namespaces import ARTICLE, BASE
from kg.registry import __version__

#: what ``kg cite -f`` writes
FORMATS = ("text", "bibtex", "cff")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _checked(version: str, released: str | None, accessed: str | None = None) -> None:
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,39}", version):
        raise KGError(f"a version is a word of letters, digits, '.', '+' and '-', "
                      f"not {version[:40]!r}")  # fmt: skip
    for what, day in (("a release date", released), ("an access date", accessed)):
        if day is None:
            continue
        try:
            ok = bool(_DATE.fullmatch(day)) and str(date.fromisoformat(day)) == day
        except ValueError:  # 2026-02-30
            ok = False
        if not ok:
            raise KGError(f"{what} is YYYY-MM-DD, not {day[:40]!r}")


def text(version: str = __version__, released: str | None = None,
         accessed: str | None = None) -> str:
    """The citation as one paragraph of plain text; ``accessed``, the day a working copy
    (no release) was read, is written as the day it was retrieved, as a web page's is.

    >>> print(text(accessed="2026-12-07"))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    The Israel–Japan relations knowledge graph project (n.d.). Israel–Japan relations
    knowledge graph, version ..., unreleased. Retrieved 2026-12-07, from
    https://w3id.org/israel-japan-kg/. Facts ...
    """
    _checked(version, released, accessed)
    if released:
        year, when, where = f" ({released[:4]})", f", released {released}", f"{BASE}."
    elif accessed:
        year, when, where = " (n.d.)", ", unreleased", f"Retrieved {accessed}, from {BASE}."
    else:
        year, when, where = "", "", f"{BASE}."
    return (f"{PROJECT_NAME}{year}. {TITLE}, version {version}{when}. {where} "
            "Facts from the English Wikipedia article \u201cIsrael–Japan relations\u201d "
            "(CC BY-SA 4.0), restated; data CC0 1.0.")  # fmt: skip


def bibtex(version: str = __version__, released: str | None = None,
           accessed: str | None = None) -> str:
    """The citation as a BibTeX ``@misc`` entry (biblatex reads its ``version``, ``date``
    and ``urldate``, the day a working copy was read); the en dash written ``--``, as
    (La)TeX spells it."""
    _checked(version, released, accessed)

    def tex(s: str) -> str:
        return s.replace("–", "--")

    fields = [("author", "{" + tex(PROJECT_NAME) + "}"), ("title", tex(TITLE)),
              ("version", version)]  # fmt: skip
    if released:
        fields += [("year", released[:4]), ("date", released)]
    fields += [("url", BASE)]
    if accessed:
        fields += [("urldate", accessed)]
    fields += [
        # % begins a comment in (La)TeX: the article's address is percent-encoded
        ("note", "Facts from the English Wikipedia article ``Israel--Japan relations'' "
                 f"({ARTICLE.replace('%', chr(92) + '%')}), CC BY-SA 4.0, restated; "
                 "data CC0 1.0"),
    ]  # fmt: skip
    key = "israel-japan-kg-" + re.sub(r"[^\w.-]", "-", version)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def _yaml(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def cff(version: str = __version__, released: str | None = None) -> str:
    """The citation as ``CITATION.cff`` (Citation File Format 1.2.0): the dataset, with the
    source article as a reference."""
    _checked(version, released)
    if version == __version__ and released is None:
        written = "`kg cite -f cff`; the tests check the repository's copy against it."
    else:  # a release's own: the repository and its tests are not in the download
        when = f" --date {released}" if released else ""
        written = f"`kg cite -f cff --release {version}{when}`, for that release."
    lines = [
        "# How to cite this knowledge graph (Citation File Format, https://citation-file-format.github.io/).",
        f"# Written by {written}",
        "cff-version: 1.2.0",
        "message: >-",
        "  If you use this knowledge graph, please cite it as below, and credit the",
        "  English Wikipedia article its facts are taken from, as its licence asks.",
        "type: dataset",
        f"title: {_yaml(TITLE)}",
        "authors:",
        f"  - name: {_yaml(PROJECT_NAME)}",
        f"version: {_yaml(version)}",
    ]  # fmt: skip
    if released:
        lines.append(f"date-released: {_yaml(released)}")
    lines += [
        "license: CC0-1.0",
        f"url: {_yaml(BASE)}",
        f"abstract: {_yaml(DESCRIPTION)}",
        "keywords:",
        *(f"  - {_yaml(k)}" for k in KEYWORDS),
        "references:",
        "  - type: encyclopedia",
        f"    title: {_yaml('Israel–Japan relations')}",
        "    authors:",
        "      - name: Wikipedia contributors",
        "    publisher:",
        "      name: Wikipedia, The Free Encyclopedia",
        f"    url: {_yaml(ARTICLE)}",
        "    license: CC-BY-SA-4.0",
    ]
    return "\n".join(lines) + "\n"


def citation(fmt: str, version: str = __version__, released: str | None = None,
             accessed: str | None = None) -> str:
    """The citation in ``fmt`` (one of :data:`FORMATS`); ``accessed`` goes into text and
    BibTeX (CITATION.cff, a file kept in the repository, has no day it was read)."""
    if fmt not in FORMATS:
        raise KGError(f"no citation format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "cff":
        out = cff(version, released)
    else:
        out = {"text": text, "bibtex": bibtex}[fmt](version, released, accessed)
    return out if out.endswith("\n") else out + "\n"


__all__ = ["FORMATS", "bibtex", "cff", "citation", "text"]
