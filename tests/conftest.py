"""Shared fixtures: the real project, a scratch copy of it, both engines, a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.engine import OxigraphEngine, RdflibEngine
from kg.project import Project

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT.parent / "shared" / "seed" / "israel-japan-relations.txt"
KG = Path(sys.executable).parent / "kg"  # the installed console script


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def ox_engine(project: Project) -> OxigraphEngine:
    return OxigraphEngine.from_project(project)


@pytest.fixture(scope="session")
def rdflib_engine(project: Project) -> RdflibEngine:
    return RdflibEngine.from_project(project)


@pytest.fixture(scope="session")
def engines(ox_engine: OxigraphEngine, rdflib_engine: RdflibEngine) -> dict:
    return {"oxigraph": ox_engine, "rdflib": rdflib_engine}


@pytest.fixture
def scratch(tmp_path: Path) -> Project:
    """A copy of the project's edited files, safe to break."""
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return Project(tmp_path)


@pytest.fixture
def article() -> Path:
    if not ARTICLE.is_file():
        pytest.skip(f"the source article is not at {ARTICLE} (a user's clone has no ../shared)")
    return ARTICLE


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_kg(*args: str, root: Path | None = None, env: dict | None = None,
           stdin: str | None = None) -> Run:
    """Run the real ``kg`` entry point in a child process."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KG_DEBUG", None)
    cmd = [str(KG), *(["--root", str(root)] if root else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, input=stdin,
                          timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kg_cli():
    if not KG.exists():
        pytest.fail(f"the kg console script is not installed at {KG}; pip install -e '.[test]'")
    return run_kg
