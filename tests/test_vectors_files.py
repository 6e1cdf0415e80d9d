"""The annotated vector files (STYLE T2) hold exactly the published bytes.

``EXPECTED`` is copied from the shared ``vectors.json`` (``hex`` of each entry), so the
annotated files cannot drift from the third-party frames even though CI runs in a fresh
clone without the shared directory. Constructed ``X_`` frames are checked for their
header and their checksum.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocols.dlt698 import crc16
from tests.vectors import ROOT, all_vectors, load_hex, vector

# id -> (protocol directory, hex as published in vectors.json)
EXPECTED: dict[str, tuple[str, str]] = {
    "T01": ("gdw1376", "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16"),
    "T02": ("gdw1376", "68 32 00 32 00 68 C9 71 01 22 08 00 02 79 00 00 04 00 E4 16"),
    "T03": ("gdw1376", "68 32 00 32 00 68 0B 49 24 45 58 02 00 60 00 00 01 00 78 16"),
    "T04": ("gdw1376", "68 32 00 32 00 68 C9 49 24 45 58 00 02 73 00 00 01 00 49 16"),
    "T05": (
        "gdw1376",
        (
            "68 4A 00 4A 00 68 4B 71 01 22 08 02 0C EC 01 01 01 04 0C 09 50 16 "
            "28 00 8B 16"
        ),
    ),
    "T06": (
        "gdw1376",
        (
            "68 B6 01 B6 01 68 88 71 01 22 08 02 0C AC 01 01 01 04 48 16 28 08 "
            "18 04 00 01 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE 0C "
            "09 50 16 28 00 93 16"
        ),
    ),
    "T07": (
        "gdw1376",
        (
            "68 56 00 56 00 68 4B 71 01 22 08 02 0D E5 01 01 01 00 27 08 18 05 "
            "05 34 16 28 00 A1 16"
        ),
    ),
    "T08": (
        "gdw1376",
        (
            "68 C2 01 C2 01 68 88 71 01 22 08 02 0D E5 01 01 01 00 27 08 18 59 "
            "23 27 08 18 04 00 01 00 00 00 EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE EE "
            "EE EE 05 05 34 16 28 00 06 16"
        ),
    ),
    "T09": (
        "gdw1376",
        (
            "68 E2 00 E2 00 68 4B 00 02 34 12 04 10 E6 00 00 01 00 1F 6B BC 0A "
            "10 00 68 61 10 01 30 12 15 68 11 04 36 38 33 37 86 16 00 00 00 00 "
            "00 00 00 00 00 00 00 00 00 00 00 00 06 12 06 00 22 05 55 16"
        ),
    ),
    "T10": (
        "gdw1376",
        (
            "68 A6 00 A6 00 68 A8 00 02 34 12 04 10 E6 00 00 01 00 1F 12 00 68 "
            "61 10 01 30 12 15 68 91 06 36 38 33 37 83 33 BE 16 4F 00 06 04 05 "
            "00 22 05 33 16"
        ),
    ),
    "T11": (
        "gdw1376",
        (
            "68 4A 00 4A 00 68 0B 20 21 07 00 00 00 61 00 00 04 00 02 00 00 04 "
            "00 00 BE 16"
        ),
    ),
    "T12": ("dlt645", "68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16"),
    "T13": ("dlt645", "68 14 01 00 31 82 21 68 91 08 33 33 34 33 39 33 33 33 F1 16"),
    "T14": ("dlt645", "68 01 00 00 00 00 00 68 91 08 33 33 34 33 59 B3 55 44 DC 16"),
    "T15": ("dlt645", "68 12 90 78 56 34 12 68 D1 01 35 8D 16"),
    "T16": ("dlt645", "68 12 90 78 56 34 12 68 11 04 33 33 34 33 EB 16"),
    "T17": (
        "dlt645",
        (
            "68 61 10 01 30 12 15 68 1C 10 35 6A 39 35 34 33 33 33 4D 33 33 33 "
            "33 63 45 CC 2C 16"
        ),
    ),
    "T18": ("dlt645", "FE FE FE 68 14 04 00 00 00 00 68 01 02 43 C3 F1 16"),
    "T19": ("dlt645", "68 14 04 00 00 00 00 68 81 06 43 C3 48 B3 C8 33 6B 16"),
    "T20": (
        "dlt698",
        (
            "68 1E 00 81 05 01 00 00 00 00 00 00 D2 B6 01 00 01 01 2C 07 E6 02 "
            "17 03 00 04 33 00 68 77 34 16"
        ),
    ),
    "T21": (
        "dlt698",
        (
            "68 1E 00 81 05 01 00 00 00 00 00 00 D2 B6 01 00 00 01 2C 07 E6 02 "
            "17 03 08 06 38 03 22 1C BC 16"
        ),
    ),
    "T22": (
        "csg",
        (
            "68 CD 00 CD 00 68 C4 FF FF FF FF FF FF 00 12 70 00 00 0D 03 00 E0 "
            "00 01 0C 00 00 01 00 01 00 61 00 00 00 26 07 01 00 00 00 00 01 01 "
            "01 00 19 00 00 00 26 07 01 00 00 00 00 01 02 01 00 41 00 00 00 26 "
            "07 01 00 00 00 00 01 03 01 00 00 00 00 00 26 07 01 00 00 00 00 01 "
            "04 01 00 00 00 00 00 26 07 01 00 00 00 00 01 00 03 00 21 00 00 00 "
            "26 07 01 00 00 00 00 01 00 02 00 00 00 00 00 26 07 01 00 00 00 00 "
            "01 01 02 00 00 00 00 00 26 07 01 00 00 00 00 01 02 02 00 00 00 00 "
            "00 26 07 01 00 00 00 00 01 03 02 00 00 00 00 00 26 07 01 00 00 00 "
            "00 01 04 02 00 00 00 00 00 26 07 01 00 00 00 00 01 00 04 00 05 00 "
            "00 00 26 07 01 00 00 20 26 07 01 00 00 CA 16"
        ),
    ),
}

#: Published with a wrong checksum (vectors.json "checksum_ok": false).
BAD_CHECKSUM = {"T16"}

NAME = re.compile(r"^(T\d\d|X)_[a-z0-9]+(_[a-z0-9]+)*\.hex$")
HEX_FIELD = re.compile(r"^[0-9A-F]{2}( [0-9A-F]{2})*$")


def _file_of(vid: str) -> Path:
    matches = sorted(ROOT.glob(f"*/{vid}_*.hex"))
    assert len(matches) == 1, f"{vid}: {matches}"
    return matches[0]


@pytest.mark.parametrize("vid", sorted(EXPECTED))
def test_bytes_match_the_published_frame(vid: str) -> None:
    proto, hex_text = EXPECTED[vid]
    path = _file_of(vid)
    assert path.parent.name == proto
    assert load_hex(path) == bytes.fromhex(hex_text)
    assert vector(vid) == bytes.fromhex(hex_text)


def test_no_unknown_vector_files() -> None:
    names = [p.name for p in all_vectors()]
    assert all(NAME.match(n) for n in names), names
    ids = {n.split("_", 1)[0] for n in names if n.startswith("T")}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("path", all_vectors(), ids=lambda p: p.stem)
def test_annotation_layout(path: Path) -> None:
    """A ``#`` header, then one field per line: uppercase hex, then ``# meaning``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert len(header) >= 3, "header missing"
    assert "Direction:" in text
    assert "Checksum:" in text
    if path.name.startswith("X_"):
        assert re.search(r"Constructed by PROTOCOLS\.md §\d", text), text
        assert "not a third-party capture" in text
    else:
        assert path.stem.split("_", 1)[0] in header[0]
        assert "Source:" in text
    for line in lines[len(header) :]:
        data, sep, comment = line.partition("#")
        assert HEX_FIELD.match(data.strip()), f"bad field bytes: {line!r}"
        assert sep, f"field without a comment: {line!r}"
        assert comment.strip(), f"empty comment: {line!r}"


def _checksum_ok(proto: str, b: bytes) -> bool:
    if proto in ("gdw1376", "csg"):
        length = b[1] | b[2] << 8
        user = length >> 2 if proto == "gdw1376" else length
        return len(b) == user + 8 and sum(b[6 : 6 + user]) & 0xFF == b[6 + user]
    if proto == "dlt645":
        i = b.index(0x68)  # after the FE preamble
        end = i + 10 + b[i + 9]
        return len(b) == end + 2 and sum(b[i:end]) & 0xFF == b[end]
    # dlt698: HCS over L .. CA, FCS over L .. end of APDU, both low byte first
    hcs_at = 6 + (b[4] & 0x0F) + 1
    fcs_at = len(b) - 3
    return (
        crc16(b, 1, hcs_at) == b[hcs_at] | b[hcs_at + 1] << 8
        and crc16(b, 1, fcs_at) == b[fcs_at] | b[fcs_at + 1] << 8
    )


@pytest.mark.parametrize("path", all_vectors(), ids=lambda p: p.stem)
def test_checksums(path: Path) -> None:
    vid = path.stem.split("_", 1)[0]
    ok = _checksum_ok(path.parent.name, load_hex(path))
    assert ok == (vid not in BAD_CHECKSUM)
    assert load_hex(path)[-1] == 0x16


def test_t16_header_says_the_checksum_is_wrong() -> None:
    header = _file_of("T16").read_text(encoding="utf-8")
    assert "WRONG CHECKSUM" in header
