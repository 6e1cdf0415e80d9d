"""The archive (档案): customers, 台区, terminals, meters, SIM cards.

Measuring points / meters, transformer areas (台区), audited changes, CSV
import/export from the marketing system (营销系统) and consistency checks.
See docs/archive.md.
"""
