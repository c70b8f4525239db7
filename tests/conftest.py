from __future__ import annotations

pytest_plugins = ["idsync.testing.pytest_postgres"]
