"""Annotated hex vectors (STYLE T2).

Each file under ``tests/vectors/<protocol>/`` holds one frame: a header of ``#``
lines naming the source, then the bytes one field per line with a ``#`` comment.
Published third-party frames are named ``Tnn_<what>.hex`` after their id in the
shared ``vectors.json``; frames this project constructed are named ``X_<what>.hex``
and say so in their header.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

ROOT = Path(__file__).parent / "vectors"


def load_hex(path: Path) -> bytes:
    """The bytes of an annotated hex file (comments and whitespace ignored)."""
    hex_digits = []
    for line in path.read_text(encoding="utf-8").splitlines():
        hex_digits.append(line.split("#", 1)[0])
    return bytes.fromhex("".join(hex_digits))


@cache
def _index() -> dict[str, Path]:
    """Published vectors by id ("T06") and every vector by its full stem."""
    index = {p.stem: p for p in ROOT.glob("*/*.hex")}
    index.update({p.stem.split("_", 1)[0]: p for p in ROOT.glob("*/T*.hex")})
    return index


def vector(name: str) -> bytes:
    """A vector by its id (``"T06"``) or full stem (``"X_afn05_f1_remote_trip"``)."""
    path = _index().get(name)
    if path is None:
        raise KeyError(f"no vector {name!r}")
    return load_hex(path)


def all_vectors() -> list[Path]:
    return sorted(ROOT.glob("*/*.hex"))
