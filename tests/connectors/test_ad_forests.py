"""Several domains in one configuration: an account forest and a resource (mailbox) forest joined to one person.

One Samba DC hosts one domain, and its LDAP ports are fixed, so the two forests here are two OUs of that domain,
each read and written by its own AD connector instance with its own containers, its own delta method (DirSync
for accounts, USN for resources) and its own watermark. Against real Active Directory each instance points at
its own forest's domain controller and base_dn; nothing else in the configuration changes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import RunStatus, StepKind
from idsync.testing.directories import SambaDC

from .adlab import PASSWORD_ENV, ad_block, read, user_ldif
from .test_ad_e2e import write_csv
from .test_ad_import import sid_of

pytestmark = pytest.mark.samba

CONFIG = """
connectors:
  hr: {{type: csv, path: hr.csv, object_type: person, anchor: employeeId}}
  accounts: {accounts}
  resources: {resources}
metaverse:
  person:
    attributes:
      employeeId: string
      displayName: string
      sAMAccountName: string
      accountSid: string
      sourceAnchor: string
      telephoneNumber: string
      mail: string
      proxyAddresses: string[]
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{{employeeId: employeeId}}]
    project: true
    flows: {{employeeId: employeeId, displayName: name}}
  - name: account-forest
    connector: accounts
    object_type: user
    metaverse_type: person
    join: [{{employeeId: employeeID}}]
    flows:
      sAMAccountName: sAMAccountName
      accountSid: objectSid
      sourceAnchor: sourceAnchor
      telephoneNumber: telephoneNumber
  - name: resource-forest
    connector: resources
    object_type: user
    metaverse_type: person
    join: [{{employeeId: employeeID}}]
    flows: {{mail: mail, proxyAddresses: proxyAddresses}}
outbound:
  - name: account-mail
    connector: accounts
    metaverse_type: person
    object_type: user
    join: [{{employeeID: employeeId}}]
    flows: {{mail: mail}}
  - name: mailbox-gal
    connector: resources
    metaverse_type: person
    object_type: user
    join: [{{employeeID: employeeId}}]
    flows: {{telephoneNumber: telephoneNumber}}
"""


def test_account_and_mailbox_in_two_forests_join_one_person(
    tmp_path: Path, samba_dc: SambaDC, samba_ou: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = samba_dc.tools.reset_ou(f"OU=AccountForest,{samba_ou}")
    resources = samba_dc.tools.reset_ou(f"OU=ResourceForest,{samba_ou}")
    samba_dc.tools.add(
        user_ldif(
            accounts, "Maria Garcia", sAMAccountName="mgarcia", employeeID="E1", telephoneNumber="+34 91 555 0101"
        )
        + user_ldif(
            accounts, "Kofi Mensah", sAMAccountName="kmensah", employeeID="E2", telephoneNumber="+233 30 555 0102"
        )
        + user_ldif(
            resources,
            "Maria Garcia",
            sAMAccountName="mbx-mgarcia",
            employeeID="E1",
            mail="maria.garcia@example.org",
            proxyAddresses=["SMTP:maria.garcia@example.org", "smtp:mg@example.org"],
            userAccountControl=514,
        )
        + user_ldif(resources, "Kofi Mensah", sAMAccountName="mbx-kmensah", employeeID="E2", mail="kofi@example.org")
    )
    monkeypatch.setenv(PASSWORD_ENV, samba_dc.admin_password)
    config = CONFIG.format(
        accounts=ad_block(samba_dc, [accounts]), resources=ad_block(samba_dc, [resources], delta="usn")
    )
    (tmp_path / "idsync.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    write_csv(tmp_path / "hr.csv", ["employeeId", "name"], [("E1", "María García"), ("E2", "Kofi Mensah")])

    with Workspace.load(tmp_path) as ws:
        run = Runner(ws).cycle()
        assert run.status is RunStatus.SUCCESS, [(s.connector, s.kind.value, s.message) for s in run.steps]
        (maria,) = [m for m in ws.store.mv_page("person", 0, 10) if m.attributes.get("employeeId") == "E1"]
        links = ws.store.cs_by_mv([maria.id])[maria.id]
        assert sorted(c.connector for c in links) == ["accounts", "hr", "resources"]
        account = read(samba_dc, f"CN=Maria Garcia,{accounts}", "objectSid", "mail")
        raw_sid = account["objectSid"][0]
        assert isinstance(raw_sid, bytes)
        assert maria.attributes["accountSid"] == sid_of(raw_sid)
        assert maria.attributes["sAMAccountName"] == "mgarcia"
        assert maria.attributes["mail"] == "maria.garcia@example.org"
        assert sorted(maria.attributes["proxyAddresses"]) == ["SMTP:maria.garcia@example.org", "smtp:mg@example.org"]
        accounts_mark, resources_mark = ws.store.get_watermark("accounts"), ws.store.get_watermark("resources")
        assert accounts_mark and accounts_mark.startswith("dirsync:")
        assert resources_mark and resources_mark.startswith("usn:")
    # each forest got what the other one holds: the mailbox's address on the account, the account's phone on the mailbox
    assert account["mail"] == ["maria.garcia@example.org"]
    assert read(samba_dc, f"CN=Maria Garcia,{resources}", "telephoneNumber")["telephoneNumber"] == ["+34 91 555 0101"]

    # a change in the resource forest is read by its own connector; the account forest's watermark stays put
    samba_dc.tools.modify(
        f"dn: CN=Kofi Mensah,{resources}\nchangetype: modify\nreplace: mail\nmail: kofi.mensah@example.org\n"
    )
    with Workspace.load(tmp_path) as ws:
        run = Runner(ws).run_steps(
            "resources only", [("resources", StepKind.DELTA_IMPORT), ("resources", StepKind.DELTA_SYNC)]
        )
        assert run.status is RunStatus.SUCCESS
        assert run.steps[0].counters.updates == 1
        assert ws.store.get_watermark("accounts") == accounts_mark
        assert ws.store.get_watermark("resources") != resources_mark
        (kofi,) = [m for m in ws.store.mv_page("person", 0, 10) if m.attributes.get("employeeId") == "E2"]
        assert kofi.attributes["mail"] == "kofi.mensah@example.org"
        run = Runner(ws).cycle()
        assert run.status is RunStatus.SUCCESS
    assert read(samba_dc, f"CN=Kofi Mensah,{accounts}", "mail")["mail"] == ["kofi.mensah@example.org"]
