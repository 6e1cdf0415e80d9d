"""Pure, sans-IO codecs for the wire protocols a head-end speaks.

Nothing in this package performs IO, reads the clock or logs: bytes go in, frames and
events come out, and time is an argument. ``tests/test_architecture.py`` enforces it.
"""
