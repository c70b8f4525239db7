"""The LDAP connector against a real 389 Directory Server: nsUniqueId anchors and the retro changelog delta."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ldapkit import CHANGES, TYPES, add_item, all_records, people_ldif

from idsync.config import SecretResolver
from idsync.connectors.base import ConnectorContext, ExportItem, WatermarkExpired
from idsync.connectors.ldap import LdapConnector, connector_type
from idsync.model import ExportOp
from idsync.testing.directories import DS389Server

pytestmark = pytest.mark.ldap


def connector(server: DS389Server, subtree: str, backend: str, tmp_path: Path, **extra: Any) -> LdapConnector:
    config = {
        "type": "ldap",
        "url": server.url,
        "allow_insecure": True,  # loopback test instance without TLS
        "bind_dn": server.admin_dn,
        "password": "${env:DS_PW}",
        "base_dn": server.base_dn,
        "containers": [subtree],
        "object_types": TYPES,
        "backend": backend,
        "page_size": 2,
        "delta": "changelog",
        **extra,
    }
    secrets = SecretResolver(tmp_path, environ={"DS_PW": server.admin_password})
    made = connector_type.create(
        "ds", connector_type.config_model.model_validate(config), ConnectorContext(".", secrets)
    )
    assert isinstance(made, LdapConnector)
    return made


@pytest.mark.parametrize("backend", ["python-ldap", "ldap3"])
def test_retro_changelog_delta(ds389_server: DS389Server, ds389_subtree: str, backend: str, tmp_path: Path) -> None:
    ds389_server.tools.add(people_ldif(ds389_subtree, 5))
    conn = connector(ds389_server, ds389_subtree, backend, tmp_path)
    assert conn.anchor_attribute() == "nsUniqueId"  # 389 DS also has entryUUID; its changelog names nsUniqueId
    records, issues, watermark = all_records(conn.full_import())
    assert issues == [] and len(records) == 5 and watermark is not None and watermark.isdigit()
    anchors = {r.identifier.split(",")[0]: r.anchor for r in records}
    ds389_server.tools.modify(CHANGES.format(p=ds389_subtree))
    changed, issues, mark = all_records(conn.delta_import(watermark))
    assert issues == [] and mark is not None and int(mark) > int(watermark)
    by_anchor = {r.anchor: r for r in changed}
    assert by_anchor[anchors["uid=p00001"]].attributes["displayName"] == "Renamed One"
    renamed = by_anchor[anchors["uid=p00002"]]
    assert renamed.identifier == f"uid=p00002x,{ds389_subtree}" and not renamed.delete  # a rename, not delete + add
    assert by_anchor[anchors["uid=p00003"]].delete
    [new] = [r for r in changed if r.anchor not in anchors.values()]
    assert new.identifier == f"uid=new,{ds389_subtree}" and not new.delete
    assert all_records(conn.delta_import(mark))[0] == []
    with pytest.raises(WatermarkExpired):
        list(conn.delta_import("not-a-number"))


def test_export_against_389ds(ds389_server: DS389Server, ds389_subtree: str, tmp_path: Path) -> None:
    conn = connector(ds389_server, ds389_subtree, "python-ldap", tmp_path)
    dn = f"uid=ann,{ds389_subtree}"
    added, clash = conn.export([add_item(1, dn, sn="A", cn="Ann"), add_item(2, dn, sn="A", cn="Ann")])
    assert added.ok and added.anchor and not clash.ok and clash.code == "entryAlreadyExists"
    moved = ExportItem(1, "person", ExportOp.UPDATE, dn, added.anchor, new_identifier=f"uid=ann2,{ds389_subtree}")
    assert conn.export([moved])[0].ok
    found = conn.lookup("person", f"uid=ann2,{ds389_subtree}", {})
    assert found is not None and found.anchor == added.anchor
