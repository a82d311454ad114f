"""Where a project's files are: edited sources apart from generated output."""

from __future__ import annotations

import os
from pathlib import Path

from kg.errors import KGError

#: bump when the cache format or what goes into the graph changes
CACHE_VERSION = "1"


class Project:
    """A checkout: ``ontology/``, ``data/``, ``queries/`` (edited) and ``build/`` (generated).

    A plain class rather than a dataclass: ``dataclasses`` imports ``inspect``,
    7 ms of every cold ``kg query``.
    """

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        object.__setattr__(self, "root", Path(root))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Project is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Project) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Project(root={self.root!r})"

    @classmethod
    def find(cls, root: str | os.PathLike[str] | None = None) -> Project:
        """The project at ``root`` or ``$KG_ROOT`` when given, else this checkout or cwd.

        A folder named explicitly must be a project: it is never silently replaced.
        """
        named = root if root is not None else os.environ.get("KG_ROOT") or None
        if named is not None:
            if not (Path(named) / "ontology").is_dir():
                raise KGError(f"no project found at {named}: it has no ontology/ folder")
            return cls(Path(named).resolve())
        for c in (Path(__file__).resolve().parent.parent, Path.cwd()):
            if (c / "ontology").is_dir():
                return cls(c)
        raise KGError(
            "no project found: run inside a checkout or set KG_ROOT "
            "to a folder with ontology/ and data/"
        )

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "ontology" / "shapes"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def context_file(self) -> Path:
        return self.ontology_dir / "context.jsonld"

    def graph_files(self) -> list[Path]:
        """Every Turtle file of the graph: ontology and data, shapes excluded."""
        onto = [p for p in self.ontology_dir.rglob("*.ttl") if self.shapes_dir not in p.parents]
        return sorted(onto) + sorted(self.data_dir.rglob("*.ttl"))

    def shape_files(self) -> list[Path]:
        return sorted(self.shapes_dir.rglob("*.ttl"))

    def content_key(self, files: list[Path] | None = None) -> str:
        """A digest of the inputs' names and bytes: equal keys, equal graphs."""
        import hashlib  # here: a cold ``kg query`` finds the key in the cache's stamp

        h = hashlib.sha256(CACHE_VERSION.encode())
        for path in files if files is not None else self.graph_files() + self.shape_files():
            try:
                data = path.read_bytes()
            except OSError as e:
                raise KGError(f"{path}: cannot read: {e.strerror or e}") from None
            h.update(str(path.relative_to(self.root)).encode() + b"\0")
            h.update(hashlib.sha256(data).digest())
        return h.hexdigest()[:32]

    def relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
