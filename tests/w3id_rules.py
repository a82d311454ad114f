"""A small interpreter of the mod_rewrite subset that ``w3id/israel-japan-kg/.htaccess``
uses, as Apache applies a per-directory ``.htaccess`` (w3id.org serves each project's
folder this way):

- the folder's prefix (``israel-japan-kg/``) is stripped from the URL path before a
  ``RewriteRule`` pattern is matched; the query string is not matched;
- ``RewriteCond %{HTTP_ACCEPT} [!]REGEX [NC]`` lines apply to the next ``RewriteRule``
  only, all of them (AND); ``!`` negates, ``NC`` ignores case;
- ``RewriteRule REGEX TARGET [R=303,L]``: the first rule whose pattern matches (a
  search, as PCRE's; the patterns anchor themselves) and whose conditions hold
  redirects to TARGET with ``$N`` replaced; a ``?`` in TARGET replaces the query.

Anything else (another variable, another flag, [OR], QSA, a relative target) is
refused, so the interpreter can never silently differ from Apache on these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Rule:
    pattern: re.Pattern[str]
    target: str
    status: int
    conditions: list[tuple[bool, re.Pattern[str]]] = field(default_factory=list)


def parse(text: str) -> list[Rule]:
    rules: list[Rule] = []
    pending: list[tuple[bool, re.Pattern[str]]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "Options" or words == ["RewriteEngine", "on"]:
            continue
        if words[0] == "RewriteCond":
            if len(words) != 4 or words[1] != "%{HTTP_ACCEPT}" or words[3] != "[NC]":
                raise ValueError(f"line {n}: unsupported RewriteCond: {line}")
            negate, regex = words[2].startswith("!"), words[2].lstrip("!")
            pending.append((negate, re.compile(regex, re.IGNORECASE)))
            continue
        if words[0] == "RewriteRule":
            if len(words) != 4 or words[3] != "[R=303,L]" or not words[2].startswith("https://"):
                raise ValueError(f"line {n}: unsupported RewriteRule: {line}")
            rules.append(Rule(re.compile(words[1]), words[2], 303, pending))
            pending = []
            continue
        raise ValueError(f"line {n}: unsupported directive: {line}")
    if pending:
        raise ValueError("RewriteCond lines after the last RewriteRule")
    return rules


def load(path: Path) -> list[Rule]:
    return parse(path.read_text(encoding="utf-8"))


def redirect(rules: list[Rule], path: str, accept: str) -> str | None:
    """Where ``path`` (relative to the folder, no leading slash, no query) is sent for a
    client sending ``accept``; None when no rule applies (w3id.org answers 404)."""
    for rule in rules:
        m = rule.pattern.search(path)
        if m is None:
            continue
        if not all(bool(rx.search(accept)) != negate for negate, rx in rule.conditions):
            continue
        return re.sub(r"\$(\d)", lambda d, m=m: m.group(int(d.group(1))) or "", rule.target)
    return None
