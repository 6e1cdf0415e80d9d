"""Collection tests reuse the head-end worker fixtures."""

from tests.headend.conftest import make_settings

__all__ = ["make_settings"]
