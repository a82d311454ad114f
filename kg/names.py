"""Names as people type them: the one folding that every match by name shares (saved
queries' parameters, the reconciliation service and search, Wikidata link records).

>>> fold("Shinzō Abe") == fold("SHINZO ABE ")
True
"""

from __future__ import annotations


def fold(text: str) -> str:
    """Case- and accent-insensitive form: Shinzō Abe and Shinzo Abe compare equal."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


__all__ = ["fold"]
