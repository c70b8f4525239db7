"""Helpers the LDAP connector tests share: test data and shortcuts for connector calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idsync.connectors.base import ExportItem, ImportRecord
from idsync.connectors.ldap import LdapConnector
from idsync.model import AttributeChange, ExportOp, ValueOp

BACKENDS = ["python-ldap", "ldap3"]
TYPES = {
    "person": {"object_class": "inetOrgPerson"},
    "group": {"object_class": "groupOfNames"},
}

MakeConnector = Callable[..., LdapConnector]

CHANGES = """dn: uid=p00001,{p}
changetype: modify
replace: displayName
displayName: Renamed One

dn: uid=p00002,{p}
changetype: modrdn
newrdn: uid=p00002x
deleteoldrdn: 1

dn: uid=p00003,{p}
changetype: delete

dn: uid=new,{p}
changetype: add
objectClass: inetOrgPerson
uid: new
cn: New
sn: N
"""
"""A modify, a rename, a delete and an add under {p}, for delta tests (after people_ldif(p, 5))."""


def people_ldif(parent: str, count: int, start: int = 0) -> str:
    return "".join(
        f"dn: uid=p{i:05d},{parent}\nobjectClass: inetOrgPerson\nuid: p{i:05d}\ncn: Person {i}\nsn: S{i}\n"
        f"mail: p{i}@example.org\nmail: alias{i}@example.org\ndisplayName: Person {i}\nemployeeNumber: {i}\n\n"
        for i in range(start, start + count)
    )


def all_records(pages: Any) -> tuple[list[ImportRecord], list[Any], str | None]:
    records: list[ImportRecord] = []
    issues: list[Any] = []
    watermark = None
    for page in pages:
        records += page.records
        issues += page.issues
        if page.watermark is not None:
            watermark = page.watermark
    return records, issues, watermark


Modification = list[tuple[Any, str, list[bytes]]]


def record_modifies(conn: LdapConnector) -> list[tuple[str, Modification]]:
    """The DN and changes of every modify the connector sends from now on (each still goes to the server)."""
    backend = conn._connected()
    sent: list[tuple[str, Modification]] = []
    modify = backend.modify

    def recorded(dn: str, changes: Modification) -> None:
        sent.append((dn, changes))
        modify(dn, changes)

    backend.modify = recorded  # type: ignore[method-assign]
    return sent


def add_item(cs_id: int, dn: str, object_type: str = "person", **attrs: Any) -> ExportItem:
    changes = [AttributeChange(k, ValueOp.REPLACE, v if isinstance(v, list) else [v]) for k, v in attrs.items()]
    return ExportItem(cs_id=cs_id, object_type=object_type, op=ExportOp.ADD, identifier=dn, changes=changes)
