"""The dashboard shows a pending export's warnings (values it removes that name no object idsync knows) where it
shows the export: on the object's page and in the list of pending exports; and, once sent, in the audit trail."""

from __future__ import annotations

import pytest

pytest.importorskip("jinja2")

from idsync.model import AttributeChange, ExportOp, PendingExport, ValueOp
from idsync.service.pages import environment

WARNING = "dir 'cn=staff,ou=groups': the export removes 1 member value(s) ... ('uid=<b>x</b>,ou=elsewhere')"


def pending() -> dict[str, object]:
    change = AttributeChange("member", ValueOp.REMOVE, ["uid=<b>x</b>,ou=elsewhere"], "dir-groups")
    data = PendingExport(ExportOp.UPDATE, [change], rule="dir-groups", warnings=[WARNING]).to_json()
    data["kind"] = "update"
    return data


def test_the_object_page_and_the_exports_list_show_the_warning_as_text() -> None:
    env = environment()
    escaped = "uid=&lt;b&gt;x&lt;/b&gt;,ou=elsewhere"
    shown = env.get_template("_pending.html").render(link={"pending_export": pending()})
    assert 'class="warn">warning: ' in shown and escaped in shown and "<b>x</b>" not in shown
    row = {"id": 7, "connector": "dir", "identifier": "cn=staff,ou=groups", "pending_export": pending()}
    listed = env.get_template("exports.html").render(
        csrf="token",
        nav="/exports",
        role="operator",
        connector="dir",
        connectors=["dir"],
        failed={"objects": []},
        pending={"total": 1, "objects": [row]},
    )
    assert 'class="warn">warning: ' in listed and escaped in listed


def test_the_audit_table_shows_the_warning_of_the_export_that_carried_it() -> None:
    row = {"at": 1.0, "run_id": 3, "connector": "dir", "cs_id": 7, "identifier": "cn=staff,ou=groups", "op": "update",
           "rule": "dir-groups", "result": "success", "warnings": [WARNING],
           "changes": [["member", "remove", ["uid=<b>x</b>,ou=elsewhere"], "dir-groups"]]}  # fmt: skip
    quiet = {**row, "cs_id": 8, "identifier": "cn=other,ou=groups", "warnings": []}
    page = environment().get_template("audit.html")
    shown = page.render(csrf="token", nav="/audit", role="operator", q={}, connectors=["dir"], rows=[row, quiet])
    assert shown.count('class="warn">warning: ') == 1
    assert "uid=&lt;b&gt;x&lt;/b&gt;,ou=elsewhere" in shown and "<b>x</b>" not in shown
