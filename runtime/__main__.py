"""``python -m runtime`` is the ``matakota`` command."""

from runtime.cli import main

main()
