"""``idsync report RUN``: one self-contained HTML file about a run, to attach to a change ticket or an e-mail.

Everything is inline (styles, the throughput chart as SVG); the file loads nothing from anywhere. Secrets are
redacted as everywhere else.
"""

from __future__ import annotations

import time
from typing import Any

from markupsafe import Markup

from idsync import __version__
from idsync.service import readmodel as rm
from idsync.service.pages import environment, static_text

AUDIT_LIMIT = 1000
ERROR_LIMIT = 1000


def render_report(ws: Any, run_id: int) -> str:
    """The report of run ``run_id`` in workspace ``ws``; raises ``readmodel.NotFound`` for an unknown run."""
    store = ws.store
    run = rm.run_detail(store, run_id, error_limit=ERROR_LIMIT)
    audit = rm.audit_rows(store, rm.Secrets.of_workspace(ws), run_id=run_id, limit=AUDIT_LIMIT)
    return (
        environment()
        .get_template("report.html")
        .render(
            run=run,
            audit=audit,
            audit_limit=AUDIT_LIMIT,
            workspace=str(ws.root),
            version=__version__,
            now=time.time(),
            css=Markup(static_text("app.css")),  # noqa: S704 - our own stylesheet
        )
    )
