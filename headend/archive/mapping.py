"""The CSV column mapping (``config/archive-mapping.toml``, documented in docs/archive.md).

For each kind, the mapping names the CSV header(s) of each model field as the
marketing system (营销系统) exports them, optional value tables (``"运行" = "active"``),
and the file's encoding, delimiter and date format. The first header listed for a
field is the one written on export; any of them is accepted on import.
"""

from __future__ import annotations

import codecs
import tomllib
import typing
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Final

from headend.archive.errors import ArchiveError
from headend.archive.models import MODELS, Kind
from headend.archive.tables import ENTITIES

DEFAULT_MAPPING: Final = (
    Path(__file__).resolve().parents[2] / "config" / "archive-mapping.toml"
)
_KIND_KEYS: Final = {"columns", "values", "encoding", "delimiter", "date_format"}
_DEFAULTS: Final = {"encoding": "gbk", "delimiter": ",", "date_format": "%Y-%m-%d"}


class MappingError(ArchiveError):
    """The mapping file is malformed or does not fit the models."""


@dataclass(frozen=True, slots=True)
class Column:
    """A model field and the CSV headers that carry it (the first is exported)."""

    field: str
    headers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KindMapping:
    """How one kind's CSV file looks."""

    kind: Kind
    columns: tuple[Column, ...]
    #: field → {CSV text → model value}
    values: dict[str, dict[str, str]]
    encoding: str
    delimiter: str
    date_format: str

    def to_model(self, field: str, text: str) -> str:
        table = self.values.get(field)
        return table.get(text, text) if table else text

    def to_csv(self, field: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, date):
            return value.strftime(self.date_format)
        text = str(value)
        for label, model_value in self.values.get(field, {}).items():
            if model_value == text:
                return label
        return text

    def labels(self, field: str) -> list[str]:
        """The CSV values a value table accepts for a field (for error messages)."""
        return list(self.values.get(field, {}))


@dataclass(frozen=True, slots=True)
class Mapping:
    """The whole mapping file."""

    path: Path | None
    kinds: dict[Kind, KindMapping]

    def __getitem__(self, kind: Kind) -> KindMapping:
        try:
            return self.kinds[kind]
        except KeyError:
            where = self.path or "the mapping"
            raise MappingError(f"{where} has no [{kind}] section") from None


def date_fields(kind: Kind) -> frozenset[str]:
    """The model fields of a kind holding calendar dates."""
    out = set()
    for name, info in MODELS[kind].model_fields.items():
        for arg in typing.get_args(info.annotation) or (info.annotation,):
            if arg is date or (
                typing.get_origin(arg) is Annotated and date in typing.get_args(arg)
            ):
                out.add(name)
    return frozenset(out)


def load_mapping(path: Path | None = None) -> Mapping:
    """Read and check a mapping file (default: ``config/archive-mapping.toml``)."""
    path = path or DEFAULT_MAPPING
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: {exc}") from None
    return parse_mapping(data, path)


def parse_mapping(data: dict[str, Any], path: Path | None = None) -> Mapping:
    where = str(path) if path else "mapping"
    data = dict(data)
    defaults = {**_DEFAULTS, **data.pop("defaults", {})}
    unknown = set(defaults) - set(_DEFAULTS)
    if unknown:
        raise MappingError(f"{where}: [defaults] has unknown keys {sorted(unknown)}")
    kinds = {}
    for name, section in data.items():
        try:
            kind = Kind(name)
        except ValueError:
            valid = ", ".join(k.value for k in Kind)
            raise MappingError(
                f"{where}: unknown section [{name}] (kinds: {valid})"
            ) from None
        kinds[kind] = _kind(kind, section, defaults, f"{where} [{name}]")
    return Mapping(path, kinds)


def _kind(
    kind: Kind, section: Any, defaults: dict[str, Any], where: str
) -> KindMapping:
    if not isinstance(section, dict):
        raise MappingError(f"{where}: expected a table")
    unknown = set(section) - _KIND_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    settings = {k: section.get(k, defaults[k]) for k in _DEFAULTS}
    for key, value in settings.items():
        if not isinstance(value, str):
            raise MappingError(f"{where}: {key} must be a string")
    try:
        codecs.lookup(settings["encoding"])
    except LookupError:
        raise MappingError(
            f"{where}: unknown encoding {settings['encoding']!r}"
        ) from None
    if len(settings["delimiter"]) != 1:
        raise MappingError(f"{where}: the delimiter must be one character")
    columns = _columns(kind, section.get("columns", {}), where)
    mapped = {c.field for c in columns}
    values: dict[str, dict[str, str]] = {}
    for field, table in section.get("values", {}).items():
        if field not in mapped:
            raise MappingError(f"{where}: values for {field}, which has no column")
        if not isinstance(table, dict) or not all(
            isinstance(v, str | int) for v in table.values()
        ):
            raise MappingError(
                f"{where}: values.{field} must map text to text or numbers"
            )
        values[field] = {str(k).strip(): str(v) for k, v in table.items()}
    return KindMapping(
        kind,
        columns,
        values,
        settings["encoding"],
        settings["delimiter"],
        settings["date_format"],
    )


def _columns(kind: Kind, table: Any, where: str) -> tuple[Column, ...]:
    model = MODELS[kind]
    if not isinstance(table, dict) or not table:
        raise MappingError(f"{where}: [columns] must map fields to CSV headers")
    columns = []
    used: dict[str, str] = {}
    for field, headers in table.items():
        if field not in model.model_fields:
            valid = ", ".join(model.model_fields)
            raise MappingError(f"{where}: unknown field {field!r} (fields: {valid})")
        names = (headers,) if isinstance(headers, str) else tuple(headers)
        if not names or not all(isinstance(h, str) and h.strip() for h in names):
            raise MappingError(f"{where}: {field} needs one or more non-empty headers")
        for header in names:
            norm = normalize_header(header)
            if norm in used:
                raise MappingError(
                    f"{where}: header {header!r} is used by {used[norm]} and {field}"
                )
            used[norm] = field
        columns.append(Column(field, tuple(h.strip() for h in names)))
    mapped = {c.field for c in columns}
    required = [f for f, info in model.model_fields.items() if info.is_required()]
    missing = [f for f in required if f not in mapped]
    if missing:
        raise MappingError(f"{where}: required fields without a column: {missing}")
    for ref in ENTITIES[kind].references:
        if 0 < sum(f in mapped for f in ref.fields) < len(ref.fields):
            raise MappingError(f"{where}: map all of {list(ref.fields)} or none")
    return tuple(columns)


def normalize_header(text: str) -> str:
    """Headers match ignoring surrounding blanks, full-width spaces and ASCII case."""
    return text.replace("\u3000", " ").strip().casefold()
