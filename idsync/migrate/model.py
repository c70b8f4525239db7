"""What a FIM/MIM Synchronization Service (or Azure AD Connect) configuration export says, as plain data.

The classes follow the export's own structure and MIM's vocabulary (management agent, partition, join profile,
class mapping, export flow, import flow precedence, run profile) so that every item can be traced back to the
XML it came from: anything the migration cannot carry over automatically must be shown to an engineer by file
and element. Nothing here parses or decides; the reader fills these in and the analysis reads them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    """Part of the export could not be read; what was read is still reported."""
    WARNING = "warning"
    """Read, but something is inconsistent (a GUID pointing nowhere, an unknown format version)."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where an item sits in the export: a file relative to the export root and an element path inside it."""

    file: str
    element: str

    def __str__(self) -> str:
        return f"{self.file}: {self.element}" if self.element else self.file


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem met while reading: names the file, the element and the reason."""

    severity: Severity
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.location}: {self.message}"


# --- DSML schema -----------------------------------------------------------------------------------------------------

SYNTAX_NAMES = {
    "1.3.6.1.4.1.1466.115.121.1.15": "string",
    "1.3.6.1.4.1.1466.115.121.1.27": "integer",
    "1.3.6.1.4.1.1466.115.121.1.7": "boolean",
    "1.3.6.1.4.1.1466.115.121.1.12": "reference",
    "1.3.6.1.4.1.1466.115.121.1.5": "binary",
    "1.3.6.1.4.1.1466.115.121.1.40": "binary",
    "1.2.840.113556.1.4.903": "reference",
    "1.2.840.113556.1.4.905": "string",
    "1.2.840.113556.1.4.906": "integer",
    "1.3.6.1.4.1.1466.115.121.1.24": "string",
    "1.3.6.1.4.1.1466.115.121.1.26": "string",
    "1.3.6.1.4.1.1466.115.121.1.38": "string",
    "1.3.6.1.4.1.1466.115.121.1.44": "string",
    "1.3.6.1.4.1.1466.115.121.1.53": "string",
}


@dataclass(slots=True)
class AttributeType:
    name: str
    syntax: str = ""
    """The DSML syntax OID, as written."""
    single_valued: bool = False
    indexed: bool = False

    @property
    def kind(self) -> str:
        """string, integer, boolean, reference or binary (string for an OID this reader does not know)."""
        return SYNTAX_NAMES.get(self.syntax, "string")


@dataclass(slots=True)
class ClassAttribute:
    name: str
    required: bool = False
    is_anchor: bool = False


@dataclass(slots=True)
class ObjectClass:
    name: str
    attributes: list[ClassAttribute] = field(default_factory=list)


@dataclass(slots=True)
class DsmlSchema:
    attribute_types: dict[str, AttributeType] = field(default_factory=dict)
    classes: dict[str, ObjectClass] = field(default_factory=dict)


# --- value expressions of sync-rule mappings (MIM portal "<fn>" trees) -----------------------------------------------


@dataclass(slots=True)
class AttributeArg:
    """A bare ``<arg>`` naming an attribute of the source object."""

    name: str


@dataclass(slots=True)
class LiteralArg:
    """A literal ``<arg>``: a quoted string (kept with its quotes stripped) or a number."""

    value: str
    quoted: bool


@dataclass(slots=True)
class FnCall:
    """One ``<fn id=...>`` node of a sync-rule value expression; ``custom`` is MIM's isCustomExpression flag."""

    name: str
    args: list[FnArg] = field(default_factory=list)
    custom: bool = False


FnArg = FnCall | AttributeArg | LiteralArg


# --- attribute mappings (the right-hand side of a flow) --------------------------------------------------------------


@dataclass(slots=True)
class DirectMapping:
    source: str
    intrinsic: bool = False
    """An intrinsic source such as ``dn`` or ``object-id`` rather than an attribute."""


@dataclass(slots=True)
class ConstantMapping:
    value: str


@dataclass(slots=True)
class DnPartMapping:
    part: int


@dataclass(slots=True)
class ScriptedMapping:
    """A flow computed by a rules extension (.NET code); ``script_context`` is the flow rule name it receives."""

    sources: list[str]
    script_context: str


@dataclass(slots=True)
class SyncRuleMapping:
    """A flow that the MIM Service wrote into the sync engine from a declarative synchronization rule."""

    mapping_type: str
    """direct, constant or expression."""
    sync_rule_id: str
    sources: list[str] = field(default_factory=list)
    constant: str | None = None
    expression: FnCall | None = None
    initial_flow_only: bool = False
    is_existence_test: bool = False
    allows_null: bool = False


Mapping = DirectMapping | ConstantMapping | DnPartMapping | ScriptedMapping | SyncRuleMapping


def mapping_kind(mapping: Mapping) -> str:
    """The mapping's type as MIM names it in the export (direct, constant, dn-part, scripted, sync-rule)."""
    if isinstance(mapping, DirectMapping):
        return "direct"
    if isinstance(mapping, ConstantMapping):
        return "constant"
    if isinstance(mapping, DnPartMapping):
        return "dn-part"
    if isinstance(mapping, ScriptedMapping):
        return "scripted"
    return "sync-rule"


def mapping_sources(mapping: Mapping) -> list[str]:
    if isinstance(mapping, DirectMapping):
        return [mapping.source]
    if isinstance(mapping, ScriptedMapping | SyncRuleMapping):
        return list(mapping.sources)
    return []


# --- management agent parts ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FilterCondition:
    attribute: str
    operator: str
    value: str


@dataclass(slots=True)
class ConnectorFilter:
    """A connector filter (``<stay-disconnector>`` filter-set) for one object type; alternatives are OR'ed."""

    cd_object_type: str
    kind: str
    """declared or scripted."""
    alternatives: list[list[FilterCondition]] = field(default_factory=list)
    location: Location = Location("", "")


@dataclass(slots=True)
class JoinCriterion:
    id: str
    kind: str
    """direct, scripted (a mapping or the resolution names .NET code) or sync-rule."""
    mv_object_type: str | None
    """None: any metaverse object type."""
    attribute_mappings: list[tuple[str, Mapping]] = field(default_factory=list)
    """(metaverse attribute, how the connector-space side is computed)."""
    resolution: str = "none"
    resolution_script: str = ""
    sync_rule_id: str = ""
    location: Location = Location("", "")


@dataclass(slots=True)
class JoinProfile:
    cd_object_type: str
    criteria: list[JoinCriterion] = field(default_factory=list)


@dataclass(slots=True)
class ProjectionRule:
    cd_object_type: str
    kind: str
    """declared, scripted or sync-rule."""
    mv_object_type: str | None
    id: str = ""
    sync_rule_id: str = ""
    location: Location = Location("", "")


@dataclass(slots=True)
class ExportFlow:
    cd_object_type: str
    mv_object_type: str
    cd_attribute: str
    mapping: Mapping
    id: str = ""
    suppress_deletions: bool = True
    """MIM's "Allow Nulls" unchecked (the default): a null in the metaverse does not delete the target's value."""
    location: Location = Location("", "")


@dataclass(slots=True)
class Partition:
    id: str
    name: str
    selected: bool = True
    object_classes: list[str] = field(default_factory=list)
    inclusions: list[str] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)
    dn: str = ""
    is_domain: bool | None = None


@dataclass(slots=True)
class RunStep:
    step_type: str
    """full-import, delta-import, export, apply-rules, ..."""
    subtype: str = ""
    partition_id: str = ""
    partition_name: str | None = None
    """Resolved from partition_id; None when the GUID names no partition of this agent."""


@dataclass(slots=True)
class RunProfile:
    id: str
    name: str
    steps: list[RunStep] = field(default_factory=list)


@dataclass(slots=True)
class ManagementAgent:
    id: str
    name: str
    category: str = ""
    subtype: str = ""
    list_name: str = ""
    company_name: str = ""
    format_version: str = ""
    version: str = ""
    description: str = ""
    schema: DsmlSchema = field(default_factory=DsmlSchema)
    attribute_inclusion: list[str] = field(default_factory=list)
    connector_filters: list[ConnectorFilter] = field(default_factory=list)
    join_profiles: list[JoinProfile] = field(default_factory=list)
    projection: list[ProjectionRule] = field(default_factory=list)
    export_flows: list[ExportFlow] = field(default_factory=list)
    provisioning_cleanup: str = ""
    """declared or scripted."""
    provisioning_cleanup_action: str = ""
    """make-normal-disconnector, make-explicit-disconnector or delete-object (declared cleanup)."""
    rules_extension: str = ""
    """Assembly name of the MA's rules extension (.NET), empty when none."""
    connector_extensions: list[str] = field(default_factory=list)
    """Other .NET assemblies the agent loads (AD MA cd-extension, password extension, ...)."""
    extension_filename: str = ""
    """ECMA2 (Extensible2) connector assembly."""
    assembly_version: str = ""
    anchors: dict[str, list[str]] = field(default_factory=dict)
    """Object type -> anchor attributes ("*" when the export gives one anchor for every type)."""
    forest_name: str = ""
    partitions: list[Partition] = field(default_factory=list)
    run_profiles: list[RunProfile] = field(default_factory=list)
    ldap_dn: bool | None = None
    """``<ldap-dn>``: whether the agent's DNs are LDAP DNs (1) or plain values such as the anchor (0); None when the
    export does not say (AD and LDAP agents' DNs are LDAP DNs, SQL tables' and files' are not)."""
    code_page: str = ""
    """Delimited or fixed-width file agents: the Windows code page of the file (``<code_page>``, e.g. 1252)."""
    delimiter: str = ""
    """Delimited file agents: the field delimiter (``<delimited_format><delimiter>``, a character code)."""
    text_qualifier: str | None = None
    """Delimited file agents: the character that quotes a field (``<text_qualifier>``); empty when none, None when
    the export does not say."""
    header_row: bool | None = None
    """Delimited file agents: whether the first row holds the column names; None when the export does not say."""
    file_columns: list[str] = field(default_factory=list)
    """Delimited file agents: the file's columns in order (``<delimited_format><attributes>``), which name them
    when the file has no header row."""
    object_class_attribute: str = ""
    """File (and other call-based) agents: the column naming each row's object class
    (``<importing><object_class_attribute>``), when the file holds several object types."""
    password_sync_target: str = ""
    """AD MA: the agent password hashes are synchronized to (Connect)."""
    parameters: dict[str, str] = field(default_factory=dict)
    """ECMA2 parameter values that are not secrets (an encrypted parameter or one named like a password is never
    kept): the retired connector's UserName names the tenant's initial domain."""
    location: Location = Location("", "")

    @property
    def object_types(self) -> list[str]:
        """The object types this agent manages: the selected partitions' object-class filters, else the schema."""
        seen: dict[str, None] = {}
        for p in self.partitions:
            if p.selected:
                for oc in p.object_classes:
                    seen.setdefault(oc, None)
        if not seen:
            for name in self.schema.classes:
                seen.setdefault(name, None)
        return list(seen)


# --- metaverse -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportFlow:
    mv_object_type: str
    mv_attribute: str
    precedence: str
    """ranked, equal or manual (MIM's import-flows type)."""
    rank: int
    """1-based position among the flows into this attribute: the precedence order when ranked."""
    ma_id: str
    cd_object_type: str
    mapping: Mapping
    id: str = ""
    ma_name: str | None = None
    """Resolved from ma_id; None when the GUID names no agent of the export."""
    location: Location = Location("", "")


@dataclass(slots=True)
class MvDeletionRule:
    mv_object_type: str
    kind: str
    """declared-any, declared-last or scripted."""
    source_ma_ids: list[str] = field(default_factory=list)
    id: str = ""
    location: Location = Location("", "")


@dataclass(slots=True)
class Metaverse:
    format_version: str = ""
    version: str = ""
    schema: DsmlSchema = field(default_factory=DsmlSchema)
    import_flows: list[ImportFlow] = field(default_factory=list)
    provisioning: str = "none"
    """none, scripted (the MV rules extension provisions) or sync-rule (MIM Service synchronization rules)."""
    rules_extension: str = ""
    deletion_rules: list[MvDeletionRule] = field(default_factory=list)
    recall_ma_ids: list[str] = field(default_factory=list)
    """Agents listed in per-ma-options."""
    global_parameters: dict[str, str] = field(default_factory=dict)
    """Azure AD Connect global settings (names and values, none of them secret)."""
    location: Location = Location("", "")

    def precedence(self, mv_object_type: str, mv_attribute: str) -> list[ImportFlow]:
        """The flows into one metaverse attribute, highest precedence first."""
        flows = [f for f in self.import_flows if f.mv_object_type == mv_object_type and f.mv_attribute == mv_attribute]
        return sorted(flows, key=lambda f: f.rank)


# --- Azure AD Connect declarative synchronization rules --------------------------------------------------------------


@dataclass(slots=True)
class ScopeCondition:
    attribute: str
    operator: str
    value: str


@dataclass(slots=True)
class JoinCondition:
    cs_attribute: str
    mv_attribute: str
    case_sensitive: bool = False


@dataclass(slots=True)
class RuleMapping:
    """One attribute mapping of a declarative rule: a source attribute, a constant or a Connect-dialect expression."""

    destination: str
    sources: list[str] = field(default_factory=list)
    constant: str | None = None
    expression: str | None = None
    merge_type: str = "Update"
    execute_once: bool = False

    @property
    def kind(self) -> str:
        if self.expression is not None:
            return "expression"
        if self.constant is not None:
            return "constant"
        return "direct"


@dataclass(slots=True)
class SyncRule:
    id: str
    name: str
    direction: str
    """Inbound or Outbound."""
    connector_id: str
    source_object_type: str
    target_object_type: str
    link_type: str
    """Join, Provision or StickyJoin."""
    precedence: int
    immutable_tag: str = ""
    disabled: bool = False
    mappings: list[RuleMapping] = field(default_factory=list)
    join_groups: list[list[JoinCondition]] = field(default_factory=list)
    """Relationship criteria: each group is AND'ed, the groups are tried in order."""
    scope_groups: list[list[ScopeCondition]] = field(default_factory=list)
    """Scoping filter: each group is AND'ed, the groups are OR'ed."""
    password_sync: bool = False
    connector_name: str | None = None
    location: Location = Location("", "")


# --- the whole export ------------------------------------------------------------------------------------------------


class Layout(enum.StrEnum):
    MIM_FOLDER = "mim-folder"
    """A folder of MA-*.XML and MV.XML (Synchronization Service Manager "Export Server Configuration")."""
    MA_FILE = "ma-file"
    """A single exported management agent (<export-ma> or <saved-ma-configuration>)."""
    AAD_CONNECT = "aad-connect"
    """Azure AD Connect's layout: Connectors/, GlobalSettings/MV.xml, SynchronizationRules/."""


@dataclass(slots=True)
class ServerExport:
    root: str
    layout: Layout
    management_agents: list[ManagementAgent] = field(default_factory=list)
    metaverse: Metaverse | None = None
    sync_rules: list[SyncRule] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every file read (relative to root)."""
    server: str = ""
    export_date: str = ""

    def agent(self, ma_id: str) -> ManagementAgent | None:
        key = normalize_guid(ma_id)
        for ma in self.management_agents:
            if normalize_guid(ma.id) == key:
                return ma
        return None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]


def normalize_guid(value: str) -> str:
    """GUIDs are written with and without braces and in either case across one export; compare them this way."""
    v = value.strip().upper()
    if v and not v.startswith("{"):
        v = "{" + v + "}"
    return v
