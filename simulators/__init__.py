"""Terminal-side simulators (concentrators, DL/T 645 meters) built on ``protocols``.

* :mod:`simulators.meter645`: a DL/T 645 meter with deterministic registers.
* :mod:`simulators.concentrator`: a Q/GDW 1376.1 concentrator (集中器) answering
  a head-end through :class:`~protocols.gdw1376.terminal.TerminalSession`.
* :mod:`simulators.profiles`: behaviour profiles (latency, loss, faults) in TOML.
* :mod:`simulators.fleet`: thousands of concentrators over several processes
  against a head-end on loopback (``python -m simulators``).

This package imports ``protocols`` and the standard library only.
"""
