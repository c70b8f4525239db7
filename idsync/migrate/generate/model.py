"""What ``idsync migrate generate`` produces, as plain data: the workspace configuration, the connectors it maps
the management agents to, and every item it could not carry over, each traceable to the export's XML.

The generator never guesses silently: a flow that has no faithful expression, a part written in .NET, or a value
Microsoft Graph will not accept is left out of the configuration and listed here with the agent, object type,
attribute and the file and element it came from, so an engineer can finish the job by hand.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from idsync.migrate.model import Location
from idsync.migrate.topology import entra_connector


class GenerationPath(enum.StrEnum):
    GRAPH = "graph"
    """idsync replaces the sync engine and the retired connector, writing to Entra through its Graph connector."""
    CLOUD_SYNC = "cloud-sync"
    """idsync (or MIM) provisions into AD; Entra cloud sync carries AD to Entra."""
    CONNECT_SYNC = "connect-sync"
    """idsync (or MIM) provisions into AD or LDAP; Entra Connect Sync carries it on."""


class LeftOutKind(enum.StrEnum):
    CODE = "code"
    """Written in .NET (rules extension, scripted flow, join, projection, filter or deprovisioning)."""
    TRANSLATION = "translation"
    """Declarative, but with no faithful idsync expression (a function with no equivalent, a redacted constant)."""
    TARGET = "target"
    """Translatable, but the new target has no such property or refuses to write it (Graph's read-only
    properties, object types the Graph path does not cover)."""
    CONNECTOR = "connector"
    """A system idsync has no connector for yet; a marked placeholder stands in."""


@dataclass(frozen=True, slots=True)
class LeftOut:
    """One item of the export that the generated configuration does not carry, and why."""

    agent: str
    """The management agent's name, or "metaverse"."""
    what: str
    """What it is: "scripted export flow", "rules extension", "flow Graph cannot write", ..."""
    object_type: str
    attribute: str
    detail: str
    """The flow's source as the export states it, the script context, or the assembly."""
    reason: str
    kind: LeftOutKind
    location: Location
    rule: str = ""
    """The rule that says why (a key of the assistant's rule table), when one does."""

    def as_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "what": self.what,
            "object_type": self.object_type,
            "attribute": self.attribute,
            "detail": self.detail,
            "reason": self.reason,
            "kind": self.kind.value,
            "rule": self.rule,
            "file": self.location.file,
            "element": self.location.element,
        }


class Role(enum.StrEnum):
    SOURCE = "source"
    TARGET = "target"
    SOURCE_AND_TARGET = "source and target"
    REPLACEMENT = "replaces the retired connector"
    CONNECT_REPLACEMENT = "replaces Connect's Azure AD connector"
    UNUSED = "not used by any rule"


@dataclass(slots=True)
class ConnectorPlan:
    """How one management agent becomes one (or, for a file with several object types, several) idsync
    connector blocks."""

    name: str
    agent: str
    category: str
    type: str
    role: Role
    block: dict[str, Any]
    placeholder: bool = False
    """The block stands in for a system idsync cannot reach yet; its data must be supplied another way."""
    object_types: dict[str, str] = field(default_factory=dict)
    """MIM object type -> the connector's object type."""
    notes: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    """Environment variables the block's secret references name."""


@dataclass(slots=True)
class ADExportFlow:
    """A value the retired connector carried to Entra that AD must now hold, so that cloud sync or Connect can
    carry it instead."""

    agent: str
    """The AD (or LDAP) agent that should write it; empty when FIM writes to no directory for this object type."""
    object_type: str
    directory_attribute: str
    aad_attribute: str
    source: str
    """The metaverse-side value as an idsync expression, or as the export states it when it has none."""
    status: str
    """"add" (nothing writes it yet: added to the agent's rule), "exported" (the agent already writes it), "read" (FIM
    reads it from AD, so it is already there) or "not carried" (the agent does not have the attribute, or nothing
    feeds the value: listed with the reason)."""
    expression: str | None = None


@dataclass(slots=True)
class ScopePlan:
    """Where the pilot starts and how the rest follows, for one directory."""

    agent: str
    domain: str
    containers: list[str]
    pilot: str
    """The container the pilot starts with; empty where the export's own server already carries them all."""
    steps: list[str]
    scopes: int
    excluded: list[str] = field(default_factory=list)
    """Subtrees inside the containers that MIM left out: they stay out of scope."""


@dataclass(slots=True)
class DirectorySidePlan:
    """Section (b): what the directory side needs for the cloud sync or Connect Sync path."""

    path: GenerationPath
    flows: list[ADExportFlow]
    needed_attributes: list[tuple[str, str]]
    """(AD attribute, why the sync tool needs it)."""
    anchor: list[str]
    """What to do about the source anchor so existing Entra objects are hard-matched."""
    scoping: list[ScopePlan]
    notes: list[tuple[str, str]]
    """(rule, text): further changes, each citing a rule."""
    in_place: bool = False
    """The export is the Connect Sync server itself: the scoping steps check and keep it, with no pilot."""
    connect_server: bool = False
    """The export is an Azure AD Connect server's, whose Azure AD connector is not the retired one."""

    @property
    def entra_connector(self) -> str:
        return entra_connector(self.connect_server)


@dataclass(slots=True)
class GeneratedWorkspace:
    path: GenerationPath
    export_root: str
    recommended: str
    config: dict[str, Any]
    connectors: list[ConnectorPlan]
    left_out: list[LeftOut]
    notes: list[tuple[str, str]]
    """(rule or topic, text): things the engineer must know or decide, each citing its reason."""
    mapping: list[tuple[str, str, str, str]]
    """(object type, retired connector attribute, Graph property, metaverse source) for every flow carried."""
    directory_side: DirectorySidePlan | None = None
    dead_connectors: list[str] = field(default_factory=list)
    connect_server: bool = False
    """The export is an Azure AD Connect server's: its Azure AD connector (in ``dead_connectors``) is Connect's
    own, not the retired FIM Connector for Azure AD."""
    problems: list[str] = field(default_factory=list)
    """Validation problems that could not be settled by leaving a rule part out (a connector block, say)."""
    ruled_out: list[tuple[str, str]] = field(default_factory=list)
    """(rule, text): the analysis's blocking findings for the chosen path; empty when the path is viable."""

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def secrets(self) -> list[str]:
        return sorted({s for c in self.connectors for s in c.secrets})


_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str, fallback: str = "x") -> str:
    """A name the configuration accepts (letters, digits, ``_.-``, starting with a letter or ``_``)."""
    out = _SLUG.sub("-", text.strip()).strip("-.").lower()
    out = re.sub(r"-{2,}", "-", out)
    if not out:
        out = fallback
    if not (out[0].isalpha() or out[0] == "_"):
        out = f"{fallback}-{out}"
    return out


def env_name(*parts: str) -> str:
    """An environment variable name for a secret reference: ``IDSYNC_<PARTS>``."""
    text = "_".join(p for p in parts if p)
    return "IDSYNC_" + re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()
