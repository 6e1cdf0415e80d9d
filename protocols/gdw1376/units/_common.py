"""Registration helper shared by the AFN 0C/0D unit modules.

Many Fns share one table (the standard's "数据排列及格式同…" clauses). Their shape is
declared once and registered under each Fn with that Fn's own name, taken from the
module's name table, since a registry key may only be registered once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from protocols.gdw1376.registry import unit

T = TypeVar("T", bound=type)


class Registrar(Protocol):
    """``@fns(33, 37)``: register the decorated shape under F33 and F37."""

    def __call__(self, *fns: int) -> Callable[[T], T]: ...


def fn_registrar(afn: int, direction: int, names: Mapping[int, str]) -> Registrar:
    """A :class:`Registrar` for one AFN and direction, naming units from ``names``."""

    def fns(*numbers: int) -> Callable[[T], T]:
        def deco(cls: T) -> T:
            for fn in numbers:
                unit([(int(afn), fn, int(direction))], name=names[fn])(cls)
            return cls

        return deco

    return fns
