"""A full import through the engine into the connector space: whichever way the connector reads ahead (a worker
process, the default; a thread; not at all), the connector space holds the same objects, typed values, no secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ldapkit import TYPES, people_ldif

from idsync.connectors.ldap.decoding import converter
from idsync.connectors.ldap.values import to_storage
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import AttributeSpec, AttributeType, ImportOp, RunStatus, StepKind, coerce, in_storage_form
from idsync.store import CSFilter
from idsync.testing.directories import SlapdServer

pytestmark = pytest.mark.ldap


def import_into_cs(server: SlapdServer, subtree: str, folder: Path, backend: str, **extra: Any) -> dict[str, Any]:
    block = {
        "type": "ldap",
        "url": server.ldaps_url,
        "ca_file": str(server.ca_file),
        "bind_dn": server.admin_dn,
        "password": f"${{file:{server.password_file}}}",
        "base_dn": subtree,
        "object_types": TYPES,
        "backend": backend,
        "page_size": 40,
        **extra,
    }
    folder.mkdir()
    (folder / "idsync.yaml").write_text(f"connectors:\n  dir: {json.dumps(block)}\n", encoding="utf-8")
    with Workspace.load(folder) as ws:
        run = Runner(ws).run_steps("test", [("dir", StepKind.FULL_IMPORT)])
        assert run.status is RunStatus.SUCCESS, run.steps[0].message
        assert run.steps[0].counters.adds == 101
        objs = ws.store.cs_page(CSFilter(connector="dir"), 0, 1000)
    assert [o.id for o in objs] == sorted(o.id for o in objs)
    out = {}
    for o in objs:
        assert o.pending_import is not None and o.pending_import.op is ImportOp.ADD
        assert o.pending_import.changed == sorted(o.hologram)
        out[o.anchor] = (o.identifier, o.object_type, o.hologram)
    return out


@pytest.mark.parametrize("backend", ["python-ldap", "ldap3"])
def test_every_read_ahead_stages_the_same_connector_space(
    slapd_server: SlapdServer, slapd_subtree: str, tmp_path: Path, backend: str
) -> None:
    slapd_server.tools.add(people_ldif(slapd_subtree, 100))
    slapd_server.tools.add(
        f"dn: cn=staff,{slapd_subtree}\nobjectClass: groupOfNames\ncn: staff\n"
        f"member: uid=p00001,{slapd_subtree}\nmember: uid=p00002,{slapd_subtree}\n"
    )
    slapd_server.tools.modify(
        f"dn: uid=p00003,{slapd_subtree}\nchangetype: modify\nadd: userPassword\nuserPassword: s3cret\n"
    )
    spaces = {
        mode: import_into_cs(slapd_server, slapd_subtree, tmp_path / mode, backend, read_ahead=mode)
        for mode in ("process", "thread", "off")
    }
    assert spaces["process"] == spaces["thread"] == spaces["off"]
    by_dn = {identifier: hologram for identifier, _, hologram in spaces["process"].values()}
    p3 = by_dn[f"uid=p00003,{slapd_subtree}"]
    assert "userPassword" not in p3  # a secret is never kept, in whatever form the page came
    assert sorted(p3["mail"]) == ["alias3@example.org", "p3@example.org"]
    assert p3["displayName"] == "Person 3" and p3["employeeNumber"] == "3"
    assert sorted(by_dn[f"cn=staff,{slapd_subtree}"]["member"]) == [
        f"uid=p00001,{slapd_subtree}",
        f"uid=p00002,{slapd_subtree}",
    ]


def test_decoded_values_are_in_storage_form_even_when_empty() -> None:
    """A page says its values need no coercion: an empty value must already be no value, as ``coerce`` has it."""
    many, one = AttributeSpec("mail", multivalued=True), AttributeSpec("title")
    ref = AttributeSpec("member", AttributeType.REFERENCE, multivalued=True)
    number = AttributeSpec("uidNumber", AttributeType.INTEGER)
    binary = AttributeSpec("jpegPhoto", AttributeType.BINARY, multivalued=True)
    cases = [
        (many, [b"a@x", b"", b"b@x"]),
        (many, [b""]),
        (one, [b""]),
        (one, [b"Engineer"]),
        (ref, [b"uid=a, ou=p", b""]),
        (number, [b"42"]),
        (binary, [b"", b"\x01"]),
    ]
    for spec, raw in cases:
        got = converter(spec)(raw)
        assert got == coerce(spec, to_storage(spec, raw)), (spec.name, raw, got)
        assert (
            got is None
            or in_storage_form(spec, got)
            or spec.type not in (AttributeType.STRING, AttributeType.REFERENCE)
        )
