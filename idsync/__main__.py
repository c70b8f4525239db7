"""``python -m idsync``: the same as the ``idsync`` command."""

from __future__ import annotations

from idsync.cli.main import main

main()
