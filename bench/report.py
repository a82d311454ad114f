"""How every benchmark ends: its table printed and written under build/bench/, its numbers
as JSON beside it, and exit 1 when a target was missed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "build" / "bench"


def finish(name: str, lines: list[str], data: dict, missed: list[str]) -> int:
    """Write ``name``.md (``lines``) and ``name``.json (``data``); 1 if ``missed`` names any."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if missed:
        print(f"over budget: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0
