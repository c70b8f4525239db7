"""The workspace configuration (``idsync.yaml``), validated by pydantic with ``extra="forbid"``.

Expressions stay text here: they are compiled by the engine when the workspace loads (the config layer sits
below the expression layer), with the file positions the loader recorded, so an error still points at the line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from idsync.config.schedule import Cron, parse_duration
from idsync.config.secrets import check_reference, check_url_password
from idsync.model import AttributeSpec, AttributeType, Compare, ObjectTypeSchema

NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
BARE_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

SecretRef = Annotated[str, AfterValidator(check_reference)]
"""A configuration field that holds a secret reference; a literal secret fails validation."""


class SettingError(ValueError):
    """A model-level check that is about one setting: the loader reports it at that setting's position (a plain
    ValueError from a model validator is reported at the block)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def as_expression(value: Any) -> str:
    """Config shorthand: a bare attribute name stands for ``[name]``; YAML booleans and numbers are constants."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if BARE_ATTRIBUTE.match(text) and text not in ("True", "False", "NULL", "AuthoritativeNull", "IgnoreThisFlow"):
        return f"[{text}]"
    return text


def normalize_join(value: Any) -> Any:
    """A single join rule may be written as a mapping; each side value may use the bare-name shorthand."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return [
            {str(k): as_expression(v) for k, v in item.items()} if isinstance(item, dict) else item for item in value
        ]
    return value


class Flow(Strict):
    """One attribute flow: an expression and how it takes part in precedence."""

    expression: str
    precedence: int | None = None
    """Lower wins. Defaults to the rule's precedence."""
    skip_null: bool = False
    """A null result hands over to the next contributor instead of setting null ("null is a value" otherwise)."""
    initial_only: bool = False
    """Inbound: only when the MV object is projected. Outbound: only when the target object is provisioned."""
    manage: Literal["attribute", "known-values"] = "attribute"
    """Outbound, multi-valued reference flows: ``attribute`` (MIM's export flow) makes the target hold exactly the
    flow's values, removing any other; ``known-values`` adds the flow's values and removes only values that name an
    object of the connector's connector space, leaving the others (members added by hand from outside the
    connector's containers, from another forest) where they are."""
    dialect: Literal["entra", "connect"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "expression" in data:
                data = dict(data)
                data["expression"] = as_expression(data["expression"])
            return data
        return {"expression": as_expression(data)}


class AttributeDecl(Strict):
    type: AttributeType = AttributeType.STRING
    multivalued: bool = False
    compare: Compare | None = None
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, str):
            text = data.strip()
            multi = text.endswith("[]")
            if multi:
                text = text[:-2]
            return {"type": text, "multivalued": multi}
        return data

    def spec(self, name: str) -> AttributeSpec:
        compare = self.compare
        if compare is None:
            compare = Compare.IGNORE_CASE if self.type is AttributeType.REFERENCE else Compare.EXACT
        return AttributeSpec(name, self.type, self.multivalued, compare, description=self.description)


class MVDeletionRule(Strict):
    """When an MV object is deleted: its last connector disconnects, or an authoritative source deletes it."""

    when: Literal["last-connector", "authoritative"] = "last-connector"
    authoritative: list[str] = Field(default_factory=list)
    """Connectors whose deletion (or disconnection) deletes the MV object."""

    @model_validator(mode="after")
    def _check(self) -> MVDeletionRule:
        if self.when == "authoritative" and not self.authoritative:
            raise ValueError("when: authoritative needs at least one connector in 'authoritative'")
        return self


class MVType(Strict):
    attributes: dict[str, AttributeDecl] = Field(default_factory=dict)
    deletion: MVDeletionRule = Field(default_factory=MVDeletionRule)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"attributes": {str(a): None for a in data}}
        return data

    def object_schema(self, name: str) -> ObjectTypeSchema:
        return ObjectTypeSchema(name, {k: v.spec(k) for k, v in self.attributes.items()})


class InboundRule(Strict):
    name: str = Field(pattern=NAME)
    connector: str
    object_type: str
    metaverse_type: str
    description: str = ""
    scope: str | None = None
    """An expression; the rule applies to CS objects for which it is true. Omitted: every object of the type."""
    join: list[dict[str, str]] = Field(default_factory=list)
    """Ordered join rules. Each maps MV attributes to CS-side expressions; all pairs of one rule must match."""
    project: bool = False
    precedence: int = 100
    dialect: Literal["entra", "connect"] = "entra"
    flows: dict[str, Flow] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("join", mode="before")
    @classmethod
    def _join(cls, value: Any) -> Any:
        return normalize_join(value)


class OutboundRule(Strict):
    name: str = Field(pattern=NAME)
    connector: str
    metaverse_type: str
    object_type: str
    description: str = ""
    scope: str | None = None
    provision: bool = False
    identifier: str | None = None
    """The identifier (DN) flow of a provisioned object; for an LDAP target, the DN expression."""
    join: list[dict[str, str]] = Field(default_factory=list)
    """Ordered join rules against the target connector space: target attribute -> MV-side expression."""
    precedence: int = 100
    dialect: Literal["entra", "connect"] = "entra"
    flows: dict[str, Flow] = Field(default_factory=dict)
    deprovision: Literal["delete", "disable", "disconnect", "keep"] = "delete"
    deprovision_flows: dict[str, Flow] = Field(default_factory=dict)
    """Flows applied when the object leaves scope and ``deprovision`` is ``disable`` (e.g. accountEnabled: False)."""
    enabled: bool = True

    @field_validator("join", mode="before")
    @classmethod
    def _join(cls, value: Any) -> Any:
        return normalize_join(value)

    @field_validator("identifier", mode="before")
    @classmethod
    def _identifier(cls, value: Any) -> Any:
        return as_expression(value) if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> OutboundRule:
        if self.provision and not self.identifier:
            raise ValueError("provision: true needs an 'identifier' flow (the new object's identifier or DN)")
        if self.deprovision == "disable" and not self.deprovision_flows:
            raise ValueError("deprovision: disable needs 'deprovision_flows' (for example accountEnabled: False)")
        return self


class Safety(Strict):
    deletion_threshold: int | None = 500
    """Export stops when a connector has more pending deletes than this, until approved. ``null`` disables."""
    deletion_threshold_percent: float | None = None
    """Also stop when pending deletes exceed this percentage of the connector space."""
    error_limit: int = 5000
    """A step stops with ``stopped-error-limit`` after this many object errors (Connect Sync's default)."""
    export_confirmation_tries: int = 3
    """Exports not confirmed by an import after this many tries become errors instead of looping."""


StepName = Literal["full-import", "delta-import", "full-sync", "delta-sync", "export", "confirming-import"]


class Step(Strict):
    connector: str
    step: StepName

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) == 1 and "connector" not in data:
            ((connector, step),) = data.items()
            return {"connector": connector, "step": step}
        return data


CYCLE = "cycle"
"""The schedule profile name of the built-in delta cycle (``idsync cycle``), unless a run profile is named so."""
MIN_INTERVAL = 60.0


class Schedule(Strict):
    """When the service runs a profile: every interval, or on a cron expression (server wall clock in
    ``service.timezone``). Neither given: every 30 minutes, as Connect Sync does."""

    profile: str = CYCLE
    """A run profile, or ``cycle`` for the delta cycle over every connector."""
    every: str | int | None = None
    """An interval such as ``30m``, ``2m`` or ``1h30m`` (at least one minute)."""
    cron: str | None = None
    """Five fields: minute hour day-of-month month day-of-week, for example ``0 2 * * *``."""
    enabled: bool = True

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            Cron.parse(value)
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either 'every' or 'cron', not both")
        return self

    @property
    def interval(self) -> float | None:
        """Seconds between runs, or None for a cron schedule."""
        if self.cron is not None:
            return None
        return parse_duration(self.every if self.every is not None else "30m")


class ServiceConfig(Strict):
    """``idsync serve``: the scheduler, the REST API and the dashboard."""

    bind: str = "127.0.0.1"
    """The address to listen on. Anything but loopback needs TLS (``tls_cert``/``tls_key``) or
    ``insecure_http: true``."""
    port: int = Field(default=8470, ge=1, le=65535)
    token: SecretRef | None = None
    """The access token as a secret reference (``${env:IDSYNC_SERVICE_TOKEN}``); required to serve."""
    schedules: dict[str, Schedule] = Field(default_factory=lambda: {CYCLE: Schedule()})
    timezone: str = "UTC"
    """The wall clock cron schedules are read on (an IANA name such as ``Europe/Berlin``)."""
    catch_up: bool = True
    """After downtime, a schedule that missed its time runs once at start (never once per missed time)."""
    workers: int = Field(default=4, ge=1, le=32)
    """Steps run at the same time at most (on different connectors)."""
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure_http: bool = False
    """Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy); logged loudly."""
    public_metrics: bool = False
    """Serve ``/metrics`` without the token (it holds counts, never identities)."""
    allow_short_intervals: bool = False
    """Allow intervals under one minute: for labs and tests only, every run costs the connected systems."""

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> ServiceConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if not self.allow_short_intervals:
            for name, schedule in self.schedules.items():
                interval = schedule.interval
                if interval is not None and interval < MIN_INTERVAL:
                    raise ValueError(
                        f"schedule {name!r}: every {schedule.every} is shorter than one minute "
                        "(set allow_short_intervals: true in a lab)"
                    )
        return self


class WorkspaceConfig(Strict):
    version: int = 1
    store: str = "sqlite"
    """``sqlite`` (``.idsync/state.db`` in the workspace), ``sqlite:///PATH``, or a ``postgresql://`` URL whose
    password, if it has one, is a secret reference: ``postgresql://idsync:${file:secrets/db.pw}@db/idsync``."""
    staging: bool = False
    """Staging mode: everything is computed, nothing is written to a connected system."""
    safety: Safety = Field(default_factory=Safety)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    metaverse: dict[str, MVType] = Field(default_factory=dict)
    inbound: list[InboundRule] = Field(default_factory=list)
    outbound: list[OutboundRule] = Field(default_factory=list)
    profiles: dict[str, list[Step]] = Field(default_factory=dict)
    service: ServiceConfig = Field(default_factory=ServiceConfig)

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        return check_url_password(value)

    def mv_schema(self, name: str) -> ObjectTypeSchema:
        return self.metaverse[name].object_schema(name)
