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
    return {p.stem.split("_", 1)[0]: p for p in ROOT.glob("*/*.hex")}


def vector(name: str) -> bytes:
    """A vector by its id (``"T06"``) or full stem (``"X_login_2013"``)."""
    index = _index()
    if name in index:
        return load_hex(index[name])
    matches = list(ROOT.glob(f"*/{name}.hex"))
    if len(matches) != 1:
        raise KeyError(f"no vector {name!r}")
    return load_hex(matches[0])


def all_vectors() -> list[Path]:
    return sorted(ROOT.glob("*/*.hex"))
