"""The base of every connector's configuration block: a pydantic model, kept apart from the Connector protocol
and its errors so that what only needs those (the command line's start-up, ``idsync --help``) loads no pydantic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConnectorConfig(BaseModel):
    """Base of every connector's configuration block. ``type`` picks the connector."""

    model_config = ConfigDict(extra="forbid")

    type: str
    description: str = ""
    export_batch_size: int | None = None
