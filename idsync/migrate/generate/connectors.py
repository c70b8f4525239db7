"""Management agents as idsync connector blocks.

Each agent becomes the connector type it needs: an AD forest the ``ad`` connector (the generic ``ldap`` one when
this installation has no ``ad`` type), an LDAP directory ``ldap``, a delimited or fixed-width file ``csv``, the
retired connector (and MIM's own Graph agent) ``graph``. Systems idsync cannot reach yet — SQL and Oracle tables,
the FIM Service, other ECMA2 connectors — get a CSV block marked as a placeholder: the rules around it are
generated and validated, and the data must arrive as a file until a connector exists.

Host names, bind accounts and file paths are not in a configuration export; the blocks carry the best value the
export suggests (the domain's DNS name from its partition) and the README lists every one to check. Secrets are
``${env:...}`` references, never values.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

from idsync.connectors.ldap.scope import ContainerScope
from idsync.migrate.generate.model import ConnectorPlan, Role, env_name, slug
from idsync.migrate.model import ManagementAgent, Partition
from idsync.migrate.topology import AgentKind, AgentRole

TypeAvailable = Callable[[str], bool]
"""Whether this installation of idsync has a connector type (so the generated file validates here)."""

GRAPH_CONNECTOR_TYPE = "graph"

_PLACEHOLDER_KINDS = {
    AgentKind.SQL: "a SQL database table or view",
    AgentKind.FIM_SERVICE: "the FIM/MIM Service",
    AgentKind.EXTENSIBLE: "an ECMA2 (Extensible Connectivity) connector",
    AgentKind.OTHER: "a connected system",
}


def dns_name(dn: str) -> str:
    """``DC=corp,DC=contoso,DC=com`` -> ``corp.contoso.com``; empty when the DN has no DC components."""
    parts = []
    for rdn in dn.split(","):
        key, _, value = rdn.strip().partition("=")
        if key.strip().lower() == "dc" and value.strip():
            parts.append(value.strip())
    return ".".join(parts)


def role_of(role: AgentRole) -> Role:
    if role.reads and role.writes:
        return Role.SOURCE_AND_TARGET
    if role.writes:
        return Role.TARGET
    if role.reads:
        return Role.SOURCE
    return Role.UNUSED


def domain_partitions(ma: ManagementAgent) -> list[Partition]:
    """Selected partitions that hold objects (not AD's Configuration or Schema naming contexts)."""
    out = []
    for p in ma.partitions:
        if not p.selected:
            continue
        dn = (p.dn or p.name).strip()
        if p.is_domain is False or dn.lower().startswith(("cn=configuration", "cn=schema")):
            continue
        out.append(p)
    return out


def _directory_block(
    ma: ManagementAgent, types: list[str], *, ad: bool, ad_available: bool, name: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    notes: list[str] = []
    parts = domain_partitions(ma)
    base = (parts[0].dn or parts[0].name) if parts else ""
    if not base:
        base = "DC=example,DC=com" if ad else "dc=example,dc=org"
        notes.append(f"the export names no partition for {ma.name!r}: set base_dn")
    for extra in parts[1:]:
        notes.append(
            f"{ma.name!r} also manages the partition {extra.dn or extra.name!r}: add one connector per further "
            "domain (copy this block and its rules)"
        )
    host = ma.forest_name if ad and ma.forest_name else dns_name(base)
    secret = env_name(name, "password")
    containers = [c for p in parts[:1] for c in p.inclusions if c.lower() != base.lower()]
    excluded = carried_exclusions(containers or [base], parts[0].exclusions if parts else [])
    nested = [c for c in containers if _held(c, containers, excluded)]
    if nested:
        # an OU included inside another with no exclusion between: the outer one reads it already (nested
        # containers would read its entries twice); one inside an exclusion stays, as MIM's include-inside-exclude
        containers = [c for c in containers if c not in nested]
        notes.append(
            f"{ma.name!r} includes {'; '.join(nested)} inside another included container: the outer one covers it"
        )
    block: dict[str, Any] = {
        "type": "ad" if ad and ad_available else "ldap",
        "description": "",
        "url": f"ldaps://{host or 'directory.invalid'}:636",
        "bind_dn": ("CN=svc-idsync,CN=Users," + base) if ad else ("cn=idsync," + base),
        "password": f"${{env:{secret}}}",
        "base_dn": base,
    }
    if containers:
        block["containers"] = containers
    if excluded:
        block["excluded_containers"] = excluded
    block["object_types"] = {t: {"object_class": t} for t in types}
    if ad:
        block["anchor"] = "objectGUID"
        if not ad_available:
            notes.append(
                f"{ma.name!r} is an Active Directory forest; this installation of idsync has no 'ad' connector, so "
                "the block uses the generic LDAP connector (objectGUID anchor); switch it to 'type: ad' when available"
            )
    else:
        anchors = {a for t in types for a in ma.anchors.get(t, ma.anchors.get("*", []))}
        if len(anchors) == 1:
            block["anchor"] = next(iter(anchors))
    notes.append(f"check url and bind_dn of {name!r} (a configuration export holds neither)")
    return block, [secret], notes


def _file_block(ma: ManagementAgent, object_type: str, name: str, anchor: str, placeholder: str) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "csv",
        "description": "",
        "path": f"data/{name}.csv",
        "object_type": object_type,
        "anchor": anchor,
    }
    columns = _columns(ma, object_type)
    if columns:
        block["columns"] = columns
    _file_format(ma, block)
    if placeholder:
        block["description"] = placeholder
    return block


def _file_format(ma: ManagementAgent, block: dict[str, Any]) -> None:
    """The delimited file's delimiter, text qualifier, header row and code page, as MIM read the file. Without a
    header row the columns are named from the agent's column list, when every column the block names is in it."""
    if ma.delimiter and ma.delimiter != ",":
        block["delimiter"] = ma.delimiter
    if ma.text_qualifier is not None and ma.text_qualifier != '"' and not _qualifier_clash(ma, block):
        block["quote_char"] = ma.text_qualifier or None
    if ma.header_row is False and ma.file_columns and not _unlisted_columns(ma, block):
        block["header"] = False
        block["column_names"] = list(ma.file_columns)
    encoding = file_encoding(ma.code_page)
    if encoding:
        block["encoding"] = encoding


def _qualifier_clash(ma: ManagementAgent, block: dict[str, Any]) -> bool:
    """The qualifier is also the delimiter or the connector's multi-value separator, which one file cannot mean."""
    return bool(ma.text_qualifier) and ma.text_qualifier in (block.get("delimiter", ","), ";")


def _unlisted_columns(ma: ManagementAgent, block: dict[str, Any]) -> list[str]:
    """The columns the block names (keys, type column, typed columns) that the agent's column list lacks."""
    named = [block.get("anchor"), block.get("identifier"), block.get("object_type_column"), *block.get("columns", {})]
    return [c for c in dict.fromkeys(named) if c and c not in ma.file_columns]


def _code_page_notes(ma: ManagementAgent, block: dict[str, Any]) -> list[str]:
    if ma.code_page and "encoding" not in block and ma.code_page.strip() != "65001":
        return [
            f"MIM read the file in code page {ma.code_page}, which has no known text encoding here: set encoding "
            "in the block, or the file is read as UTF-8"
        ]
    return []


def _file_format_notes(ma: ManagementAgent, block: dict[str, Any]) -> list[str]:
    """What of the file's format the block could not carry: a text qualifier that is also a separator, a file
    without a header row whose columns the export does not list in full."""
    notes = []
    if ma.text_qualifier is not None and ma.text_qualifier != '"' and "quote_char" not in block:
        notes.append(
            f"MIM read the {ma.name!r} file with the text qualifier {ma.text_qualifier!r}, which the CSV connector "
            "also uses to separate fields or values: set quote_char, delimiter and multivalue_separator in the block "
            "to three different characters"
        )
    if ma.header_row is not False or "column_names" in block:
        return notes
    missing = _unlisted_columns(ma, block)
    why = (
        f"its column list lacks {', '.join(map(repr, missing))}"
        if ma.file_columns and missing
        else "the export does not list its columns"
    )
    notes.append(
        f"MIM read the {ma.name!r} file without a header row, but {why}: set header: false and column_names (the "
        f"file's columns in order) in the block, or add a header row to the file"
    )
    return notes


def _mixed_file_block(
    role: AgentRole, types: list[str], join_attributes: dict[str, list[str]], name: str
) -> dict[str, Any] | None:
    """A delimited file holding several object types, told apart by the column MIM's object class attribute names:
    one CSV connector with ``object_type_column`` and ``object_types`` reads it as MIM did. None when the agent
    is not such a file (or its object types are keyed by different columns)."""
    ma = role.ma
    if role.kind is not AgentKind.FILE or not ma.object_class_attribute or len(types) < 2:
        return None
    all_types = list(dict.fromkeys([*types, *ma.object_types]))
    anchors = {file_anchor(ma, t, join_attributes.get(t, [])) for t in all_types}
    if len(anchors) != 1:
        return None
    name_anchor = next(iter(anchors))
    block: dict[str, Any] = {
        "type": "csv",
        "description": f"file exported for the MIM agent {ma.name!r} ({', '.join(all_types)} objects)",
        "path": f"data/{name}.csv",
        "object_type_column": ma.object_class_attribute,
        "object_types": all_types,
        "anchor": name_anchor,
    }
    columns: dict[str, str] = {}
    for t in all_types:
        columns.update(_columns(ma, t))
    columns.pop(ma.object_class_attribute, None)
    if columns:
        block["columns"] = columns
    _file_format(ma, block)
    return block


_CODE_PAGES = {
    "65001": "",  # UTF-8: the CSV connector's default (it reads a BOM or none)
    "1200": "utf-16",
    "1201": "utf-16-be",
    "12000": "utf-32",
    "20127": "ascii",
    "65000": "utf-7",
}


def file_encoding(code_page: str) -> str:
    """The Python text encoding of a Windows code page (1252 -> cp1252, 28591 -> iso8859_1); empty for UTF-8 (the
    connector's default) and for a code page with no known encoding (the block then says nothing, and the file
    is read as UTF-8)."""
    page = code_page.strip()
    if not page:
        return ""
    if page in _CODE_PAGES:
        return _CODE_PAGES[page]
    candidates = [f"cp{page}"]
    if page.startswith("2859") and len(page) == 5:
        candidates.insert(0, f"iso8859_{page[4]}")
    for name in candidates:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return name
    return ""


def _columns(ma: ManagementAgent, object_type: str) -> dict[str, str]:
    """Typed columns from the agent's schema: references, numbers, booleans, binaries and multi-valued ones."""
    oc = ma.schema.classes.get(object_type)
    names = [a.name for a in oc.attributes] if oc is not None else list(ma.schema.attribute_types)
    out: dict[str, str] = {}
    for n in names:
        at = ma.schema.attribute_types.get(n)
        if at is None:
            continue
        kind = at.kind
        multi = "" if at.single_valued else "[]"
        if kind != "string" or multi:
            out[n] = kind + multi
    return out


def file_anchor(ma: ManagementAgent, object_type: str, join_attributes: list[str]) -> str:
    """The column that keys each row: the agent's anchor, else the attribute its join rules read, else the first
    attribute of the object type."""
    anchors = ma.anchors.get(object_type) or ma.anchors.get("*") or []
    if anchors:
        return anchors[0]
    if join_attributes:
        return join_attributes[0]
    oc = ma.schema.classes.get(object_type)
    if oc is not None and oc.attributes:
        return oc.attributes[0].name
    return next(iter(ma.schema.attribute_types), "id")


def plan_connector(
    role: AgentRole,
    name: str,
    types: list[str],
    join_attributes: dict[str, list[str]],
    type_available: TypeAvailable,
) -> list[ConnectorPlan]:
    """One agent's connector block(s). ``types`` are the agent's object types the rules use."""
    ma = role.ma
    kind = role.kind
    agent_role = role_of(role)
    if kind in (AgentKind.AD, AgentKind.LDAP):
        block, secrets, notes = _directory_block(
            ma, types, ad=kind is AgentKind.AD, ad_available=type_available("ad"), name=name
        )
        what = "Active Directory forest" if kind is AgentKind.AD else "LDAP directory"
        block["description"] = f"{what}, from the MIM agent {ma.name!r}"
        plan = ConnectorPlan(name, ma.name, ma.category, str(block["type"]), agent_role, block, secrets=secrets)
        plan.object_types = {t: t for t in types}
        plan.notes = notes
        return [plan]
    plans = []
    placeholder_of = _PLACEHOLDER_KINDS.get(kind)
    mixed = _mixed_file_block(role, types, join_attributes, name)
    if mixed is not None:
        plan = ConnectorPlan(name, ma.name, ma.category, "csv", agent_role, mixed)
        plan.object_types = {t: t for t in mixed["object_types"]}
        plan.notes.append(
            f"place the {ma.name!r} file at {mixed['path']} (path relative to the workspace); as in MIM, the "
            f"{ma.object_class_attribute} column names each row's object type"
        )
        plan.notes += _code_page_notes(ma, mixed) + _file_format_notes(ma, mixed)
        return [plan]
    for t in types or ma.object_types[:1] or ["object"]:
        cname = name if len(types) <= 1 else f"{name}-{slug(t)}"
        anchor = file_anchor(ma, t, join_attributes.get(t, []))
        marker = ""
        if placeholder_of is not None:
            marker = (
                f"PLACEHOLDER for {placeholder_of} (MIM agent {ma.name!r}, {ma.category or 'no category'}): idsync has "
                f"no connector for it yet; deliver its {t} objects as data/{cname}.csv, one row per object keyed by "
                f"{anchor}"
            )
        block = _file_block(ma, t, cname, anchor, marker)
        if not marker:
            block["description"] = f"file exported for the MIM agent {ma.name!r} ({t} objects)"
        plan = ConnectorPlan(cname, ma.name, ma.category, "csv", agent_role, block, placeholder=bool(marker))
        plan.object_types = {t: t}
        plan.notes += _code_page_notes(ma, block) + _file_format_notes(ma, block)
        if len(types) > 1:
            plan.notes.append(
                f"MIM read the {ma.name!r} file for several object types; idsync reads one file per type: split the "
                f"rows of type {t} into {block['path']}"
            )
        else:
            plan.notes.append(f"place the {ma.name!r} file at {block['path']} (path relative to the workspace)")
        plans.append(plan)
    return plans


PLACEHOLDER_CLIENT_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_TENANT = "your-tenant.onmicrosoft.com"


def graph_connector(name: str, agent: str, role: Role, tenant: str | None = None) -> ConnectorPlan:
    """The block of idsync's Graph connector that takes over from the retired connector (or from Connect's Azure AD
    connector, or MIM's own Graph agent). The tenant (a verified
    domain, guessed from the userPrincipalName suffix the flows write) and the application's client id are not
    secrets and not in the export: the README says to set both; the client secret is a reference."""
    secret = env_name(name, "client_secret")
    replaced = {
        Role.REPLACEMENT: "the retired connector",
        Role.CONNECT_REPLACEMENT: "Connect's Azure AD connector",
    }.get(role, "the agent")
    block: dict[str, Any] = {
        "type": GRAPH_CONNECTOR_TYPE,
        "description": f"Microsoft Entra ID through Microsoft Graph, in place of {replaced} {agent!r}",
        "tenant": tenant or PLACEHOLDER_TENANT,
        "client_id": PLACEHOLDER_CLIENT_ID,
        "client_secret": f"${{env:{secret}}}",
    }
    plan = ConnectorPlan(name, agent, "Extensible2", GRAPH_CONNECTOR_TYPE, role, block)
    plan.secrets = [secret]
    plan.object_types = {"user": "user", "group": "group"}
    where = f"the tenant {tenant!r} (a verified domain the flows write into userPrincipalName)" if tenant else "tenant"
    plan.notes.append(
        f"set {where} and client_id: register an application for {name!r} with User.ReadWrite.All and "
        "Group.ReadWrite.All (application permissions, admin consent); its secret goes in the environment variable"
    )
    return plan


def carried_exclusions(containers: list[str], exclusions: list[str]) -> list[str]:
    """MIM's exclusions that ``excluded_containers`` carries, outer ones first. MIM excludes the partition's root
    and includes OUs below it: an exclusion no container holds, or one inside another exclusion with no inclusion
    between, leaves out only what is out already (and validation would refuse it), so it is not carried."""
    kept: list[str] = []
    for dn in sorted(exclusions, key=lambda dn: dn.count(",")):
        if ContainerScope.of(containers, kept).includes(dn) and dn.lower() not in {c.lower() for c in containers}:
            kept.append(dn)
    return kept


def _held(container: str, containers: list[str], excluded: list[str]) -> bool:
    """Another container already holds ``container`` (no exclusion between): its entries would be read twice."""
    return ContainerScope.of([c for c in containers if c is not container], excluded).includes(container)
