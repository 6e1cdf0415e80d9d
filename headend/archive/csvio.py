"""CSV import and export of archive files through the column mapping.

Import streams the file: each row is mapped, validated and, when good, COPied into a
staging table (:mod:`headend.archive.bulk`) inside one transaction; references are
then resolved in the database. Every bad row is reported as ``line N: reason`` with
N the line of the file where the row starts (the header is line 1). With any bad
row nothing is committed, unless ``partial``: then the good rows are.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

import psycopg
from pydantic import ValidationError

from headend.archive.bulk import Counts, Stage
from headend.archive.errors import ArchiveError
from headend.archive.mapping import KindMapping, Mapping, date_fields, normalize_header
from headend.archive.models import MODELS, ArchiveModel, Kind, Meter
from headend.archive.repository import stream, transaction
from headend.archive.tables import ENTITIES, describe

#: (bytes read, file size): called every PROGRESS_EVERY rows and at the end.
Progress = Callable[[int, int], None]
PROGRESS_EVERY: Final = 2000
SNIFF_BYTES: Final = 64 * 1024
_ENUM_ERRORS: Final = {"literal_error", "enum"}
_ENCODING_NAMES: Final = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GBK"}


class CsvFormatError(ArchiveError):
    """The file cannot be read as a whole (encoding, header); nothing is imported."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ImportResult:
    """What an import did. ``counts`` is None when nothing was committed."""

    kind: Kind
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    counts: Counts | None = None

    @property
    def committed(self) -> bool:
        return self.counts is not None


def reading_encoding(configured: str, head: bytes, *, sniff: bool = True) -> str:
    """The codec to read a file with.

    A UTF-8 BOM wins. Then, when ``sniff``, a file whose first block is valid UTF-8
    with non-ASCII text is UTF-8: GBK text is practically never valid UTF-8, while
    UTF-8 read as GB 18030 decodes without error into nonsense. Otherwise the
    configured encoding, GBK read as its superset GB 18030.
    """
    name = codecs.lookup(configured).name  # LookupError: unknown
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sniff and name != "utf-8" and _looks_utf8(head):
        return "utf-8"
    if name in ("gbk", "gb2312", "cp936", "gb18030"):
        return "gb18030"
    if name == "utf-8":
        return "utf-8-sig"  # a BOM is optional
    return configured


def _looks_utf8(head: bytes) -> bool:
    if head.isascii():
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The block may end inside a character; anything else is not UTF-8.
        return exc.reason == "unexpected end of data" and exc.start >= len(head) - 3
    return True


def _undecodable_line(path: Path, encoding: str) -> int:
    """The first line that does not decode (the text layer decodes blocks ahead).

    Line by line is exact for UTF-8 and GB 18030: no multi-byte character contains
    the byte 0x0A.
    """
    number = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return max(number, 1)


class CsvReader:
    """The rows of one file as (line, {field: text}); header problems raise."""

    def __init__(
        self, path: Path, km: KindMapping, encoding: str | None = None
    ) -> None:
        self.path = path
        self.km = km
        self._raw = io.BufferedReader(io.FileIO(path, "r"), buffer_size=SNIFF_BYTES)
        self.size = path.stat().st_size
        head = self._raw.peek(SNIFF_BYTES)[:SNIFF_BYTES]
        try:
            self.encoding = reading_encoding(
                encoding or km.encoding, head, sniff=not encoding
            )
        except LookupError:
            self._raw.close()
            raise CsvFormatError(f"unknown encoding {encoding!r}") from None
        self._text: TextIO = io.TextIOWrapper(
            self._raw, encoding=self.encoding, newline=""
        )
        self._csv = csv.reader(self._text, delimiter=km.delimiter)
        self.headers: dict[str, str] = {}  # field → the header used in this file
        self._index: list[tuple[str, int]] = []
        self._width = 0
        self._dates = date_fields(km.kind)

    def close(self) -> None:
        self._text.close()

    @property
    def position(self) -> int:
        return self._raw.tell() if not self._raw.closed else self.size

    def read_header(self) -> list[str]:
        """Match the header to the mapping; returns the fields this file carries."""
        first = self._next()
        if first is None:
            raise CsvFormatError("line 1: the file is empty (a header is expected)")
        found = {normalize_header(h): i for i, h in reversed(list(enumerate(first)))}
        self._width = len(first)
        model = MODELS[self.km.kind]
        for column in self.km.columns:
            for header in column.headers:
                if normalize_header(header) in found:
                    self._index.append((column.field, found[normalize_header(header)]))
                    self.headers[column.field] = header
                    break
            else:
                if model.model_fields[column.field].is_required():
                    raise CsvFormatError(
                        f"line 1: missing column {column.headers[0]} ({column.field})"
                    )
        for ref in ENTITIES[self.km.kind].references:
            present = [f for f in ref.fields if f in self.headers]
            if 0 < len(present) < len(ref.fields):
                names = [
                    h
                    for c in self.km.columns
                    if c.field in ref.fields
                    for h in c.headers[:1]
                ]
                raise CsvFormatError(f"line 1: {ref.label} needs the columns {names}")
        return list(self.headers)

    def _next(self) -> list[str] | None:
        try:
            return next(self._csv)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            line = _undecodable_line(self.path, self.encoding)
            name = _ENCODING_NAMES.get(self.encoding, self.encoding)
            raise CsvFormatError(
                f"line {line}: not {name} text; "
                "set the encoding in the mapping or with --encoding"
            ) from None
        except csv.Error as exc:
            raise CsvFormatError(f"line {self._csv.line_num}: {exc}") from None

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | str]]:
        """(line, fields) per data row, or (line, reason) when it cannot be split."""
        # Per column: field, index, value table, is a date (the loop runs per cell).
        plan = [
            (name, i, self.km.values.get(name), name in self._dates)
            for name, i in self._index
        ]
        end = self._csv.line_num
        while (cells := self._next()) is not None:
            line, end = end + 1, self._csv.line_num
            if len(cells) != self._width:
                if any(c.strip() for c in cells):
                    yield line, f"{len(cells)} fields, the header has {self._width}"
                continue  # a blank line
            values: dict[str, Any] = {}
            for name, i, table, is_date in plan:
                text = cells[i].strip()
                if text:
                    if table:
                        text = table.get(text, text)
                    values[name] = self._date(text) if is_date else text
            if values or any(c.strip() for c in cells):
                yield line, values

    def _date(self, text: str) -> Any:
        try:
            return datetime.strptime(text, self.km.date_format).date()
        except ValueError:
            return text  # the model knows the other forms


def _reasons(exc: ValidationError, km: KindMapping, headers: dict[str, str]) -> str:
    out = []
    for err in exc.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else ""
        header = headers.get(name, name)
        if err["type"] == "missing":
            out.append(f"{header}: missing value")
            continue
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in _ENUM_ERRORS and km.labels(name):
            message = "expected one of " + ", ".join(km.labels(name))
        out.append(f"{header} {err['input']!r}: {message}")
    return "; ".join(out)


def _file_key(item: ArchiveModel) -> tuple[Any, ...]:
    # A removed meter is history: several may share a point, not an address.
    if isinstance(item, Meter) and item.status == "removed":
        return (*item.key, item.address, "removed")
    return item.key


async def import_csv(
    conn: psycopg.AsyncConnection[Any],
    path: Path,
    kind: Kind,
    mapping: Mapping,
    *,
    actor: str,
    partial: bool = False,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one file; see the module docstring for what is committed when."""
    km = mapping[kind]
    entity = ENTITIES[kind]
    model = MODELS[kind]
    result = ImportResult(kind)
    errors: dict[int, list[str]] = {}
    reader = CsvReader(path, km, encoding)
    try:
        fields = reader.read_header()
        async with transaction(conn, actor), Stage(conn, entity, fields) as stage:
            seen: dict[tuple[Any, ...], int] = {}
            for line, values in reader.rows():
                result.rows += 1
                if progress and result.rows % PROGRESS_EVERY == 0:
                    progress(reader.position, reader.size)
                if isinstance(values, str):
                    errors[line] = [values]
                    continue
                try:
                    item = model.model_validate(values)
                except ValidationError as exc:
                    errors[line] = [_reasons(exc, km, reader.headers)]
                    continue
                key = _file_key(item)
                first = seen.setdefault(key, line)
                if first != line:
                    errors[line] = [
                        f"duplicate {describe(entity, item.key)} (first on line {first})"
                    ]
                    continue
                await stage.write(line, item)
            if progress:
                progress(reader.size, reader.size)
            unresolved = await stage.resolve()
            for line, reasons in unresolved.items():
                errors.setdefault(line, []).extend(reasons)
            result.errors = [
                RowError(n, "; ".join(r)) for n, r in sorted(errors.items())
            ]
            if errors and not partial:
                raise psycopg.Rollback
            await stage.discard(unresolved)
            result.counts = await stage.apply()
    finally:
        reader.close()
    return result


class CsvWriter:
    """Writes rows in the mapping's format (encoding, delimiter, headers, values).

    The rows go to ``FILE.part``, renamed to FILE by :meth:`commit`; :meth:`close`
    without a commit removes it, so a failed export leaves no half file behind.
    """

    def __init__(
        self, path: Path, km: KindMapping, encoding: str | None = None
    ) -> None:
        self.km = km
        self.path = path
        self.encoding = encoding or km.encoding
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise CsvFormatError(f"unknown encoding {self.encoding!r}") from None
        self._part = path.with_name(path.name + ".part")
        self._file = self._part.open("w", encoding=self.encoding, newline="")
        self._csv = csv.writer(
            self._file, delimiter=km.delimiter, lineterminator="\r\n"
        )
        self._csv.writerow([c.headers[0] for c in km.columns])

    def write(self, item: ArchiveModel) -> None:
        row = [self.km.to_csv(c.field, getattr(item, c.field)) for c in self.km.columns]
        try:
            self._csv.writerow(row)
        except UnicodeEncodeError as exc:
            entity = ENTITIES[self.km.kind]
            raise CsvFormatError(
                f"{describe(entity, item.key)}: {exc.object[exc.start : exc.end]!r} cannot "
                f"be written in {self.encoding}; export with --encoding utf-8-sig"
            ) from None

    def commit(self) -> None:
        self._file.close()
        self._part.replace(self.path)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
            self._part.unlink(missing_ok=True)


async def export_csv(
    conn: psycopg.AsyncConnection[Any],
    path: Path,
    kind: Kind,
    mapping: Mapping,
    *,
    encoding: str | None = None,
) -> int:
    """Write every entity of a kind in the format import reads; returns the count."""
    writer = CsvWriter(path, mapping[kind], encoding)
    count = 0
    try:
        # aclosing: an error while writing must end the stream's transaction now.
        async with aclosing(stream(conn, MODELS[kind])) as items:
            async for item in items:
                writer.write(item)
                count += 1
        writer.commit()
    finally:
        writer.close()
    return count
