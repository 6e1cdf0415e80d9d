"""Storage: PostgreSQL / TimescaleDB schema, migrations, archive and the write path.

Nothing here imports the rest of ``headend`` (STYLE D2): services call storage, never
the reverse.
"""
