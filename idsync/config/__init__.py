"""Workspace configuration: pydantic models, the YAML loader with positions, secret references."""

from __future__ import annotations

from idsync.config.loader import (
    CONFIG_FILE,
    ConfigError,
    ConfigIssue,
    LoadedConfig,
    Position,
    PositionMap,
    load_config,
    load_config_text,
)
from idsync.config.models import (
    AttributeDecl,
    Flow,
    InboundRule,
    MVDeletionRule,
    MVType,
    OutboundRule,
    Safety,
    SettingError,
    Step,
    WorkspaceConfig,
    as_expression,
)
from idsync.config.secrets import SecretError, SecretRef, SecretResolver, is_reference

__all__ = [
    "CONFIG_FILE",
    "AttributeDecl",
    "ConfigError",
    "ConfigIssue",
    "Flow",
    "InboundRule",
    "LoadedConfig",
    "MVDeletionRule",
    "MVType",
    "OutboundRule",
    "Position",
    "PositionMap",
    "Safety",
    "SecretError",
    "SecretRef",
    "SecretResolver",
    "SettingError",
    "Step",
    "WorkspaceConfig",
    "as_expression",
    "is_reference",
    "load_config",
    "load_config_text",
]
