"""Suite-wide pytest plugins: the fixtures in tests/fixtures/ (STYLE T1)."""

pytest_plugins = [
    "tests.fixtures.postgres",  # private PostgreSQL 15 and TimescaleDB clusters
    "tests.fixtures.mqtt",  # a private Mosquitto broker
]
