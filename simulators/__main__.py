"""``python -m simulators``: run a simulated fleet (see :mod:`simulators.fleet`)."""

from simulators.fleet import main

raise SystemExit(main())
