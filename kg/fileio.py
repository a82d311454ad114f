"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kg.errors import KGError


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The temporary file is renamed over ``path`` only once it is complete and
    flushed, so an interrupted or failed write leaves ``path`` as it was.
    """
    import tempfile  # 3 ms (random, shutil) that read-only commands never need

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise KGError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise KGError(f"{path}: cannot write: {e.strerror or e}") from None
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_entries(path: Path, table: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """The ``[[table]]`` entries of a TOML file, each with a non-empty value for every one of
    ``keys`` (a reviewed list such as ``data/coverage-exceptions.toml``); none when the file
    is absent. A broken file or entry is a :class:`KGError` naming it."""
    import tomllib

    if not path.is_file():
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise KGError(f"{path}: {e}") from None
    entries = []
    for i, entry in enumerate(doc.get(table, []), 1):
        values = {k: str(entry.get(k) or "").strip() for k in keys}
        if not all(values.values()):
            wanted = ", ".join(f"'{k}'" for k in keys)
            raise KGError(f"{path}: {table} {i} needs a non-empty {wanted}")
        entries.append(values)
    return entries
