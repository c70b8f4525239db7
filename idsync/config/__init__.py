"""Workspace configuration: pydantic models, the YAML loader with positions, secret references.

The problems (``ConfigError``) and secret references load with the package; the models (``SecretRef``, the
pydantic field type of a secret, among them) and the loader, most of the command line's start-up time, load when a
name of theirs is first used: ``idsync --help`` needs neither, and imports no pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from idsync.config.issues import CONFIG_FILE, ConfigError, ConfigIssue, Position
from idsync.config.secrets import SecretError, SecretResolver, is_reference

if TYPE_CHECKING:
    from idsync.config.loader import LoadedConfig, PositionMap, load_config, load_config_text
    from idsync.config.models import (
        AttributeDecl,
        Flow,
        InboundRule,
        MVDeletionRule,
        MVType,
        OutboundRule,
        Safety,
        SecretRef,
        SettingError,
        Step,
        WorkspaceConfig,
        as_expression,
    )

_LAZY = {
    **dict.fromkeys(("LoadedConfig", "PositionMap", "load_config", "load_config_text"), "idsync.config.loader"),
    **dict.fromkeys(
        (
            "AttributeDecl",
            "Flow",
            "InboundRule",
            "MVDeletionRule",
            "MVType",
            "OutboundRule",
            "Safety",
            "SecretRef",
            "SettingError",
            "Step",
            "WorkspaceConfig",
            "as_expression",
        ),
        "idsync.config.models",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
