"""Finding connector types by name: built-ins load lazily, third parties come through entry points.

As SQLAlchemy's dialect loader does, nothing is imported until a configuration names the type, so
``idsync --help`` never pulls in the LDAP or Graph stacks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "idsync.connectors"

BUILTIN: dict[str, str] = {
    "csv": "idsync.connectors.csv",
    "memory": "idsync.connectors.memory",
    "ldap": "idsync.connectors.ldap",
    "ad": "idsync.connectors.ad",
    "graph": "idsync.connectors.graph",
}


class UnknownConnectorType(LookupError):
    pass


@dataclass
class ConnectorRegistry:
    """Name -> connector type. One per process is enough, but nothing here is global: tests build their own."""

    _loaded: dict[str, Any] = field(default_factory=dict)
    _extra: dict[str, Any] = field(default_factory=dict)

    def register(self, name: str, connector_type: Any) -> None:
        self._extra[name] = connector_type

    def names(self) -> list[str]:
        found = set(BUILTIN) | set(self._extra)
        found |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
        return sorted(found)

    def get(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        if name in self._loaded:
            return self._loaded[name]
        target: Any = None
        if name in BUILTIN:
            try:
                module = importlib.import_module(BUILTIN[name])
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("idsync."):
                    raise UnknownConnectorType(
                        f"connector type {name!r} is not available in this version of idsync"
                    ) from None
                raise UnknownConnectorType(
                    f"connector type {name!r} needs the package {exc.name!r}: pip install 'idsync[{_extra_for(name)}]'"
                ) from None
            target = module.connector_type
        else:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name == name:
                    target = ep.load()
                    break
        if target is None:
            raise UnknownConnectorType(f"unknown connector type {name!r}; known types: {', '.join(self.names())}")
        self._loaded[name] = target
        return target


def _extra_for(name: str) -> str:
    return {"ldap": "ldap", "ad": "ldap", "graph": "graph"}.get(name, "all")
