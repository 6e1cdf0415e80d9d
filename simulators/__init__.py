"""Terminal-side simulators (concentrators, DL/T 645 meters) built on ``protocols``."""
