"""idsync: an identity synchronization engine in MIM's model (connector spaces, a metaverse, join, projection,
attribute flow with precedence, provisioning), with Connect Sync's safety and cloud sync's expression language."""

from __future__ import annotations

__version__ = "0.1.0"
