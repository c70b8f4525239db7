"""Helpers for the Active Directory tests: connectors over the session's Samba DC, and an independent view of the
directory through ldap-utils (the reference client), so checks never go through the code under test."""

from __future__ import annotations

import base64
import json
import secrets
import ssl
from collections.abc import Iterable
from typing import Any

from ldap3 import NONE, Connection, Server, Tls

from idsync.connectors.ad import AdConnector, connector_type
from idsync.connectors.base import ConnectorContext, ExportItem, ImportIssue, ImportPage, ImportRecord
from idsync.connectors.ldap.escaping import escape_dn_value
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.contract import read_pages
from idsync.testing.directories import DirectoryServerUnavailable, SambaDC

USER_CLASSES = ("top", "person", "organizationalPerson", "user")
Entries = list[tuple[str, dict[str, list[str | bytes]]]]
BINARY = frozenset({"objectguid", "objectsid", "ms-ds-consistencyguid", "unicodepwd"})
"""Attributes ldapsearch shows in base64 that are bytes; its other base64 values are UTF-8 text."""


class Secrets:
    """The workspace resolver's interface over a dict: ``${env:NAME}`` -> value."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def resolve(self, text: str) -> str:
        from idsync.config.secrets import SecretError

        name = text.removeprefix("${env:").removesuffix("}")
        if name not in self.values:
            raise SecretError(f"${{env:{name}}}: the environment variable {name} is not set")
        return self.values[name]


def strong_password() -> str:
    return f"Pw-{secrets.token_urlsafe(10)}-9a"


def make_connector(
    dc: SambaDC, containers: list[str], secrets_: dict[str, str] | None = None, **overrides: Any
) -> AdConnector:
    config: dict[str, Any] = {
        "type": "ad",
        "url": dc.ldaps_url,
        "ca_file": str(dc.ca_file),
        "bind_dn": dc.admin_dn,
        "password": "${env:AD_ADMIN}",
        "base_dn": dc.base_dn,
        "containers": containers,
        "page_size": 50,
        "reconnect_seconds": 3,
    }
    config.update(overrides)
    values = {"AD_ADMIN": dc.admin_password, **(secrets_ or {})}
    return connector_type.create("ad", config, ConnectorContext(workspace=".", secrets=Secrets(values)))


PASSWORD_ENV = "IDSYNC_TEST_AD_PASSWORD"


def ad_block(dc: SambaDC, containers: list[str], **extra: Any) -> str:
    """An ``ad`` connector block of a workspace (YAML flow mapping) for the session's DC; the administrator's
    password comes from the environment variable ``PASSWORD_ENV``."""
    fields = {
        "type": "ad",
        "url": dc.ldaps_url,
        "ca_file": str(dc.ca_file),
        "bind_dn": dc.admin_dn,
        "password": f"${{env:{PASSWORD_ENV}}}",
        "base_dn": dc.base_dn,
        "containers": containers,
        **extra,
    }
    return json.dumps(fields, ensure_ascii=False)


def pages(found: Iterable[ImportPage]) -> tuple[list[ImportRecord], list[ImportIssue], str | None]:
    imported = read_pages(found)
    return imported.records, imported.issues, imported.watermark


def by_dn(records: Iterable[ImportRecord]) -> dict[str, ImportRecord]:
    return {r.identifier.lower(): r for r in records}


def change(name: str, *values: Any, op: ValueOp = ValueOp.REPLACE) -> AttributeChange:
    return AttributeChange(name, op, list(values))


def item(
    cs_id: int, op: ExportOp, dn: str, *changes: AttributeChange, object_type: str = "user", **kw: Any
) -> ExportItem:
    return ExportItem(cs_id=cs_id, object_type=object_type, op=op, identifier=dn, changes=list(changes), **kw)


def user_ldif(parent: str, name: str, password: str | None = None, **attributes: Any) -> str:
    lines = [f"dn: CN={escape_dn_value(name)},{parent}", *(f"objectClass: {c}" for c in USER_CLASSES)]
    sam = attributes.pop("sAMAccountName", "".join(ch for ch in name if ch.isalnum())[:20])
    lines.append(f"sAMAccountName: {sam}")
    if password is not None:
        encoded = base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode("ascii")
        lines.append(f"unicodePwd:: {encoded}")
        attributes.setdefault("userAccountControl", 512)
    for key, value in attributes.items():
        for one in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {one}")
    return "\n".join(lines) + "\n\n"


def group_ldif(parent: str, name: str, members: Iterable[str] = (), group_type: int | None = None) -> str:
    lines = [f"dn: CN={escape_dn_value(name)},{parent}", "objectClass: top", "objectClass: group"]
    lines.append(f"sAMAccountName: {name}")
    if group_type is not None:
        lines.append(f"groupType: {group_type}")
    lines += [f"member: {m}" for m in members]
    return "\n".join(lines) + "\n\n"


def read(dc: SambaDC, dn: str, *attributes: str) -> dict[str, list[str | bytes]]:
    """One entry as ldapsearch prints it (binary attributes as bytes, the rest as text); {} when missing."""
    try:
        text = dc.tools.search(dn, "(objectClass=*)", *attributes, scope="base")
    except DirectoryServerUnavailable as exc:
        if "(exit 32)" in str(exc):
            return {}
        raise
    return parse_ldif(text)[0][1] if text.strip() else {}


def search(dc: SambaDC, base: str, filter_text: str, *attributes: str) -> Entries:
    return parse_ldif(dc.tools.search(base, filter_text, *attributes))


def parse_ldif(text: str) -> Entries:
    out: Entries = []
    for block in text.strip().split("\n\n"):
        dn = ""
        attrs: dict[str, list[str | bytes]] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            if value.startswith(":"):
                raw = base64.b64decode(value[1:].strip())
                parsed: str | bytes = raw if key.lower() in BINARY else raw.decode("utf-8")
                if key == "dn":
                    dn = raw.decode("utf-8")
                    continue
            else:
                parsed = value.strip()
                if key == "dn":
                    dn = parsed
                    continue
            attrs.setdefault(key, []).append(parsed)
        if dn:
            out.append((dn, attrs))
    return out


def bind_result(dc: SambaDC, user: str, password: str) -> str:
    """``ok``, ``must-change`` (the password is right and must be changed: AD's "data 773") or ``refused``."""
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(dc.ca_file))
    # by name: ldap3 matches host names itself and, on Python 3.12 and later, cannot match an IP address
    server = Server("localhost", port=636, use_ssl=True, tls=tls, get_info=NONE)
    conn = Connection(server, user, password)
    try:
        if conn.bind():
            return "ok"
        return "must-change" if "data 773" in str(conn.result.get("message")) else "refused"
    finally:
        conn.unbind()


def can_bind(dc: SambaDC, user: str, password: str) -> bool:
    return bind_result(dc, user, password) == "ok"
