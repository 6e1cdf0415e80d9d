"""A terminal's event log (事件记录) for AFN 0EH, Std-2013 §5.14 and appendix B.

Important (重要事件) and normal (一般事件) events are kept apart, each with its
counter EC1/EC2 (0-255, wrapping) and at most 256 records: record number k of a
class lives at pointer k mod 256, exactly the pointer Pm/Pn a master asks for.
Records are stored encoded (ERC, Le, content), so an AFN0E answer is a join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from protocols.gdw1376.fields import layout_of

IMPORTANT: Final = 1  # AFN0E F1
NORMAL: Final = 2  # AFN0E F2
RING: Final = 256


@dataclass(slots=True)
class _Class:
    total: int = 0  # records ever written
    records: dict[int, bytes] = field(default_factory=dict)  # pointer -> record


class EventLog:
    """Both event classes of one terminal (bounded: 2 × 256 records)."""

    __slots__ = ("_classes",)

    def __init__(self) -> None:
        self._classes = (_Class(), _Class())

    def add(self, importance: int, erc: int, event: object) -> None:
        """Append an event; ``event`` is one of the ERC layouts of ``afn0e``."""
        body = layout_of(type(event)).encode(event)
        c = self._classes[importance - 1]
        c.records[c.total % RING] = bytes((erc, len(body))) + body
        c.total += 1

    @property
    def counters(self) -> tuple[int, int]:
        """(EC1, EC2): the next pointer of each class (Std-2013 §4.3.4.6.3)."""
        return self._classes[0].total % RING, self._classes[1].total % RING

    def records(self, importance: int, pm: int, pn: int, budget: int) -> tuple[
            int, list[bytes]]:  # fmt: skip
        """Records with pointers Pm ≤ p < Pn (mod 256) that fit in ``budget`` bytes.

        Returns the pointer after the last record included and the records.
        Pointers never written are skipped.
        """
        c = self._classes[importance - 1]
        out: list[bytes] = []
        used = 0
        p = pm
        for _ in range((pn - pm) % RING):
            record = c.records.get(p)  # overwriting keeps only the newest 256
            if record is not None:
                if used + len(record) > budget:
                    break
                out.append(record)
                used += len(record)
            p = (p + 1) % RING
        return p, out
