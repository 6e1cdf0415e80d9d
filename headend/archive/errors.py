"""Domain errors of the archive (STYLE E5): callers never see raw psycopg errors."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of the archive's errors."""


class NotFound(ArchiveError):
    """The entity (or one it references) does not exist."""


class AlreadyExists(ArchiveError):
    """An entity with this natural key exists already."""


class Conflict(ArchiveError):
    """The change breaks a rule of the archive (a reference, a constraint, a race)."""


class MissingSchema(ArchiveError):
    """The archive tables are absent: the migrations have not been applied."""
