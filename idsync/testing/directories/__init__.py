"""Real directory servers for the tests: a private OpenLDAP slapd, 389 Directory Server and Samba AD DC on loopback.

Nothing here touches the system's own directory configuration: every file lives in a folder the caller owns,
every listener is on 127.0.0.1, and every process is stopped by its own id.
"""

from __future__ import annotations

from idsync.testing.directories.ds389 import DS389Server
from idsync.testing.directories.process import DirectoryServerUnavailable
from idsync.testing.directories.samba import SambaDC, SambaSettings
from idsync.testing.directories.slapd import SlapdServer, SlapdSettings
from idsync.testing.directories.tls import TestCA

__all__ = [
    "DS389Server",
    "DirectoryServerUnavailable",
    "SambaDC",
    "SambaSettings",
    "SlapdServer",
    "SlapdSettings",
    "TestCA",
]
