"""Running idsync as a service: the scheduler, the REST API, the web dashboard, metrics and the run report.

The web parts need the ``web`` extra and are imported only by ``idsync serve``; ``readmodel`` (what every front end
shows, secrets redacted) needs nothing beyond the core, so the command line uses it too.
"""

from __future__ import annotations
