"""``idsync migrate cutover``: the generated workspace run in staging mode against the live tenant, and what an
engineer must see before the first write. Entry points: :func:`dry_run` (-> :class:`CutoverReport`) and the
renderers in :mod:`idsync.migrate.cutover.render`."""

from __future__ import annotations

from idsync.migrate.cutover.findings import CutoverReport
from idsync.migrate.cutover.run import NoGraphConnector, dry_run

__all__ = ["CutoverReport", "NoGraphConnector", "dry_run"]
