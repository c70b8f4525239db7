"""A workspace: a folder with ``idsync.yaml`` and its state. Loading one validates everything up front.

Loading parses the YAML with positions, validates every section and every connector block with its own model,
and compiles every expression, so a mistake fails here — with file, line and column — and never half-way
through a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from idsync.config import CONFIG_FILE, LoadedConfig, SecretError, SecretResolver, is_reference, load_config
from idsync.connectors.base import Capabilities, Connector, ConnectorContext, offline_schema
from idsync.connectors.registry import ConnectorRegistry, UnknownConnectorType
from idsync.engine.rules import KnownSchemas, RuleSet, compile_rules
from idsync.engine.schema_cache import load_schema
from idsync.model import ObjectTypeSchema, Schema
from idsync.store import Store, open_store


def connector_model_lookup(registry: ConnectorRegistry) -> Any:
    def lookup(type_name: str) -> type[BaseModel]:
        try:
            model: type[BaseModel] = registry.get(type_name).config_model
        except UnknownConnectorType as exc:
            raise LookupError(str(exc)) from None
        return model

    return lookup


def load_workspace_config(root: Path, registry: ConnectorRegistry) -> tuple[LoadedConfig, RuleSet]:
    loaded = load_config(root / CONFIG_FILE, connector_model_lookup(registry))
    return loaded, compile_rules(loaded, known=known_schemas(root, loaded, registry))


def known_schemas(root: Path, loaded: LoadedConfig, registry: ConnectorRegistry) -> KnownSchemas:
    """What each connector's objects have and take, where its type can tell without contacting the system: the
    rules' attribute names are checked against it when the configuration loads."""
    read: dict[str, Schema] = {}
    write: dict[str, Schema] = {}
    for name, config in loaded.connectors.items():
        connector_type = registry.get(str(loaded.config.connectors[name]["type"]))
        for writing, found in ((False, read), (True, write)):
            schema = offline_schema(connector_type, config, str(root), writing=writing)
            if schema is not None:
                found[name] = schema
    return KnownSchemas(read, write)


class Workspace:
    def __init__(
        self,
        root: Path,
        loaded: LoadedConfig,
        rules: RuleSet,
        store: Store,
        registry: ConnectorRegistry,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.root = root
        self.loaded = loaded
        self.config = loaded.config
        self.rules = rules
        self.store = store
        self.registry = registry
        self.options = options or {}
        self.secrets = SecretResolver(root)
        self._connectors: dict[str, Connector] = {}
        self._secret_values: dict[str, tuple[str, ...]] = {}
        self._schemas: dict[str, Schema] = {}

    @classmethod
    def load(
        cls, root: Path | str, *, registry: ConnectorRegistry | None = None, options: dict[str, Any] | None = None
    ) -> Workspace:
        root = Path(root).resolve()
        registry = registry or ConnectorRegistry()
        loaded, rules = load_workspace_config(root, registry)
        store = open_store(loaded.config.store, root)
        ws = cls(root, loaded, rules, store, registry, options)
        ws.recompile()
        return ws

    def recompile(self) -> None:
        """Compile the rules again with what imports discovered about each connector's schema."""
        schemas = {name: self.schema(name) for name in self.connector_names()}
        self.rules = compile_rules(self.loaded, schemas)
        self.store.configure_keys(self.rules.key_config())

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # connectors -------------------------------------------------------------------------------------------------
    def connector_names(self) -> list[str]:
        return list(self.config.connectors)

    def connector(self, name: str) -> Connector:
        found = self._connectors.get(name)
        if found is None:
            if name not in self.loaded.connectors:
                raise KeyError(f"no connector named {name!r}; known: {', '.join(self.connector_names())}")
            config = self.loaded.connectors[name]
            connector_type = self.registry.get(str(self.config.connectors[name]["type"]))
            context = ConnectorContext(str(self.root), self.secrets, dict(self.options))
            found = connector_type.create(name, config, context)
            self._connectors[name] = found
        return found

    def secret_values(self, name: str) -> tuple[str, ...]:
        """The resolved values of the secret references in connector ``name``'s configuration (client secrets,
        passwords): what a message recorded about its steps must never quote (``idsync.model.redaction.scrub``)."""
        found = self._secret_values.get(name)
        if found is None:
            found = self._secret_values[name] = connector_secret_values(self.secrets, self.config.connectors.get(name))
        return found

    def all_secret_values(self) -> tuple[str, ...]:
        """Every connector's ``secret_values``: what no log line of a process using this workspace may quote."""
        return tuple(value for name in self.connector_names() for value in self.secret_values(name))

    def capabilities(self, name: str) -> Capabilities:
        return self.connector(name).capabilities

    def drop_connector(self, name: str, *, quiet: bool = True) -> None:
        """Close and forget a connector instance: after an export step (whatever it buffered is written), or
        after a connectivity failure (``quiet``: closing a broken session must not hide the real error)."""
        found = self._connectors.pop(name, None)
        if found is not None:
            if not quiet:
                found.close()
                return
            try:
                found.close()
            except Exception:  # noqa: S110
                pass

    # schemas ------------------------------------------------------------------------------------------------------
    def schema(self, name: str) -> Schema:
        cached = self._schemas.get(name)
        if cached is None:
            cached = load_schema(self.store, name) or Schema()
            self._schemas[name] = cached
        return cached

    def set_schema(self, name: str, schema: Schema) -> None:
        changed = self._schemas.get(name) != schema
        self._schemas[name] = schema
        if changed:
            self.recompile()

    def cs_schema(self, connector: str, object_type: str) -> ObjectTypeSchema:
        return self.schema(connector).object_type(object_type)


def connector_secret_values(resolver: SecretResolver, block: Any) -> tuple[str, ...]:
    """The values of the secret references (``${env:...}``, ``${file:...}``) anywhere in a connector's
    configuration block; one that cannot be resolved here is left out (the connector cannot send it either)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and is_reference(value.strip()):
            try:
                found.append(resolver.resolve(value))
            except SecretError:
                pass
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(block)
    return tuple(v for v in found if v)
