"""``python -m headend`` is the ``headend`` command."""

from headend.cli import main

main()
