"""Active Directory (and Samba AD) connector: ``type: ad``."""

from __future__ import annotations

from typing import Any, ClassVar

from idsync.connectors.ad.config import AdConfig
from idsync.connectors.ad.connector import AdConnector
from idsync.connectors.base import ConnectorContext
from idsync.connectors.ldap import resolve_secret


class AdConnectorType:
    name: ClassVar[str] = "ad"
    config_model: ClassVar[type[AdConfig]] = AdConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> AdConnector:
        cfg = config if isinstance(config, AdConfig) else AdConfig.model_validate(config)
        return AdConnector(name, cfg, lambda: resolve_secret(cfg.password, context), context.secrets)


connector_type = AdConnectorType()

__all__ = ["AdConfig", "AdConnector", "AdConnectorType", "connector_type"]
