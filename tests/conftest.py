from __future__ import annotations

pytest_plugins = [
    "idsync.testing.directories.pytest_plugin",
    "idsync.testing.pytest_postgres",
]
