"""Every benchmark the README names answers --help with its usage, and runs nothing: a
newcomer reads what a script does before starting a run of minutes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMED = sorted(set(re.findall(r"\bbench/(\w+)\.py\b",
                              (ROOT / "README.md").read_text(encoding="utf-8"))))


def test_the_readme_names_benchmarks() -> None:
    assert "synth" in NAMED and "load" in NAMED and len(NAMED) >= 10, NAMED


@pytest.mark.parametrize("name", NAMED)
def test_a_named_benchmark_answers_help(name: str) -> None:
    script = ROOT / "bench" / f"{name}.py"
    assert script.is_file(), f"README.md names bench/{name}.py, which does not exist"
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                       text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.startswith("usage: "), (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
