"""Generic LDAP connector (OpenLDAP, 389 DS, OpenDJ, ...): ``type: ldap``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from idsync.config import SecretResolver
from idsync.connectors.base import ConnectorContext
from idsync.connectors.ldap.config import LdapConfig, ObjectTypeConfig
from idsync.connectors.ldap.connector import LdapConnector


def resolve_secret(reference: str | None, context: ConnectorContext) -> str | None:
    """A ``${env:...}`` / ``${file:...}`` reference resolved through the workspace's resolver (or one for the
    context's workspace folder)."""
    if reference is None:
        return None
    resolver = context.secrets if context.secrets is not None else SecretResolver(Path(context.workspace))
    return str(resolver.resolve(reference))


class LdapConnectorType:
    name: ClassVar[str] = "ldap"
    config_model: ClassVar[type[LdapConfig]] = LdapConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> LdapConnector:
        cfg = config if isinstance(config, LdapConfig) else LdapConfig.model_validate(config)
        return LdapConnector(name, cfg, lambda: resolve_secret(cfg.password, context))


connector_type = LdapConnectorType()

__all__ = ["LdapConfig", "LdapConnector", "LdapConnectorType", "ObjectTypeConfig", "connector_type"]
