"""Bad input against the real slapd: each bad object gets its own error naming the entry and the server's reason,
and the rest of the batch goes on. Names full of LDAP's special characters round-trip."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ldapkit import MakeConnector, add_item, all_records, people_ldif

from idsync.connectors.base import ExportItem, ExportResult
from idsync.connectors.ldap.backend import Entry
from idsync.connectors.ldap.decoding import EntryDecoder
from idsync.connectors.ldap.escaping import escape_filter_value, rdn
from idsync.model import AttributeChange, AttributeSpec, AttributeType, ExportOp, ObjectTypeSchema, Schema, ValueOp
from idsync.testing.directories import SlapdServer
from idsync.testing.directories.ldaptools import LdapTools

pytestmark = pytest.mark.ldap


def check_batch(results: list[ExportResult], expected: list[bool]) -> None:
    assert [r.ok for r in results] == expected, [r.error for r in results]


def test_schema_violations_are_per_object_and_carry_the_servers_reason(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    dn = {k: f"uid={k},{slapd_subtree}" for k in ("ok1", "undefined", "nomust", "syntax", "twovalues", "ok2")}
    results = conn.export(
        [
            add_item(1, dn["ok1"], sn="A", cn="A"),
            add_item(2, dn["undefined"], sn="B", cn="B", noSuchAttribute="x"),
            add_item(3, dn["nomust"], cn="C"),  # inetOrgPerson must have sn
            add_item(4, dn["syntax"], sn="D", cn="D", c="toolong"),  # a country is two letters
            add_item(5, dn["twovalues"], sn="E", cn="E", displayName=["one", "two"]),  # single-valued
            add_item(6, dn["ok2"], sn="F", cn="F"),
        ]
    )
    check_batch(results, [True, False, False, False, False, True])
    reasons = {  # (RFC 4511 code, the server's text)
        "undefined": ("undefinedAttributeType", "attribute type undefined"),
        "nomust": ("objectClassViolation", "requires attribute 'sn'"),
        "syntax": ("invalidAttributeSyntax", "invalid per syntax"),
        "twovalues": ("constraintViolation", "multiple values provided"),
    }
    for (key, (code, text)), result in zip(reasons.items(), results[1:5], strict=True):
        assert result.error is not None and dn[key] in result.error
        assert (result.code, result.retryable) == (code, False), result.error
        assert text in result.error, result.error
    found = slapd_server.tools.search(slapd_subtree, "(objectClass=inetOrgPerson)", "uid")
    assert sorted(line for line in found.splitlines() if line.startswith("uid:")) == ["uid: ok1", "uid: ok2"]


def test_existing_entry_and_missing_parent(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str) -> None:
    slapd_server.tools.add(f"dn: uid=taken,{slapd_subtree}\nobjectClass: inetOrgPerson\nuid: taken\ncn: T\nsn: T\n")
    conn = make()
    results = conn.export(
        [
            add_item(1, f"uid=taken,{slapd_subtree}", sn="T", cn="T"),
            add_item(2, f"uid=orphan,ou=nowhere,{slapd_subtree}", sn="O", cn="O"),
            add_item(3, f"uid=fine,{slapd_subtree}", sn="F", cn="F"),
        ]
    )
    check_batch(results, [False, False, True])
    exists, orphan = results[0], results[1]
    assert exists.code == "entryAlreadyExists" and f"uid=taken,{slapd_subtree}" in (exists.error or "")
    assert orphan.code == "noSuchObject" and orphan.retryable  # the parent may be created later in the run
    assert f"uid=orphan,ou=nowhere,{slapd_subtree}" in (orphan.error or "")


SPECIAL_NAMES = [
    "Smith, John",
    'The "Boss"',
    "a+b=c",
    "back\\slash",
    "<angle>",
    "semi;colon",
    "#hash first",
    "mid#hash",
    " leading space",
    "trailing space ",
    ' ,+"\\<>;=# all at once ',
    "Zoë Ångström 日本",
]


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_character_dns_round_trip(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, name: str
) -> None:
    conn = make()
    dn = f"{rdn('cn', name)},{slapd_subtree}"
    [added] = conn.export([add_item(1, dn, sn="S")])
    assert added.ok, added.error
    # the real ldapsearch finds it by the exact value
    assert "dn:" in slapd_server.tools.search(slapd_subtree, f"(cn={escape_filter_value(name)})", "cn")
    records, issues, _ = all_records(conn.full_import())
    assert issues == [] and [r.identifier for r in records] == [dn] and records[0].attributes["cn"] == [name]
    renamed = f"{rdn('cn', name + ' (2)')},{slapd_subtree}"
    update = ExportItem(1, "person", ExportOp.UPDATE, dn, added.anchor, new_identifier=renamed)
    [moved] = conn.export([update])
    assert moved.ok and moved.identifier == renamed, moved.error
    found = conn.lookup("person", renamed, {})
    assert found is not None and found.anchor == added.anchor and found.attributes["cn"] == [name + " (2)"]


def test_text_that_is_not_utf8_is_refused_for_that_object(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """A value read from a file in the wrong encoding holds its bytes as surrogate escapes: they go to the server,
    which refuses them with its reason; a lone surrogate cannot be sent at all."""
    conn = make()
    latin1 = b"Caf\xe9".decode("utf-8", "surrogateescape")
    results = conn.export(
        [
            add_item(1, f"uid=latin1,{slapd_subtree}", sn="L", cn="L", description=latin1),
            add_item(2, f"uid=surrogate,{slapd_subtree}", sn="S", cn="S", description="\ud800"),
            add_item(3, f"{rdn('cn', latin1)},{slapd_subtree}", sn="D"),
            add_item(4, f"uid=fine,{slapd_subtree}", sn="F", cn="F", description="Café"),
        ]
    )
    check_batch(results, [False, False, False, True])
    assert f"uid=latin1,{slapd_subtree}" in (results[0].error or "")
    assert "invalid per syntax" in (results[0].error or "")  # the server's own reason
    assert "description" in (results[1].error or "") and "not valid Unicode" in (results[1].error or "")
    assert "not valid Unicode" in (results[2].error or "")


def test_non_utf8_values_read_from_a_server_become_import_issues() -> None:
    """OpenLDAP itself refuses non-UTF-8 text, so this is the decoder alone, as other servers can send it."""
    schema = Schema({"person": ObjectTypeSchema("person", {"description": AttributeSpec("description")})})
    decoder = EntryDecoder(
        schema, {"person": "inetOrgPerson"}, "entryUUID", lambda t, n: t.attributes.get(n) or AttributeSpec(n)
    )
    good = Entry("cn=a,dc=org", {"objectClass": [b"inetOrgPerson"], "entryUUID": [b"u1"], "description": [b"ok"]})
    bad = Entry("cn=b,dc=org", {"objectClass": [b"inetOrgPerson"], "entryUUID": [b"u2"], "description": [b"\xe9t\xe9"]})
    assert decoder.decode(good) is not None
    issue: Any = decoder.decode(bad)
    assert (issue.identifier, issue.attribute, issue.anchor) == ("cn=b,dc=org", "description", "u2")
    assert "not UTF-8" in issue.reason
    number = AttributeSpec("employeeNumber", AttributeType.INTEGER)
    typed = EntryDecoder(
        Schema({"person": ObjectTypeSchema("person", {"employeeNumber": number})}),
        {"person": "inetOrgPerson"},
        "entryUUID",
        lambda t, n: t.attributes.get(n) or AttributeSpec(n),
    )
    nan = Entry("cn=c,dc=org", {"objectClass": [b"inetOrgPerson"], "entryUUID": [b"u3"], "employeeNumber": [b"x"]})
    issue = typed.decode(nan)
    assert issue.attribute == "employeeNumber" and "not an integer" in issue.reason


def test_an_oversize_value_fails_its_object_and_the_batch_goes_on(make: MakeConnector, slapd_factory: Any) -> None:
    """slapd closes the connection on a request over its size limit; that add becomes the entry's error (it is
    tried again on a fresh connection first), instead of stopping the export."""
    server: SlapdServer = slapd_factory()
    config_tools = LdapTools(server.url, "cn=admin,cn=config", server.password_file)
    config_tools.modify(
        "dn: cn=config\nchangetype: modify\nreplace: olcSockbufMaxIncomingAuth\nolcSockbufMaxIncomingAuth: 262143\n"
    )
    conn = make(server=server, reconnect_seconds=10)
    base = server.base_dn
    results = conn.export(
        [
            add_item(1, f"uid=before,{base}", sn="B", cn="B"),
            add_item(2, f"uid=huge,{base}", sn="H", cn="H", description="x" * 400_000),
            add_item(3, f"uid=after,{base}", sn="A", cn="A"),
        ]
    )
    check_batch(results, [True, False, True])
    huge = results[1]
    assert huge.code == "connectionClosed" and f"uid=huge,{base}" in (huge.error or "")
    assert "400,0" in (huge.error or "")  # the size that was refused
    text = server.tools.search(base, "(objectClass=inetOrgPerson)", "uid")
    assert sorted(line for line in text.splitlines() if line.startswith("uid:")) == ["uid: after", "uid: before"]
    big_update = ExportItem(
        4,
        "person",
        ExportOp.UPDATE,
        f"uid=before,{base}",
        results[0].anchor,
        [AttributeChange("description", ValueOp.REPLACE, ["y" * 400_000])],
    )
    small_update = ExportItem(
        5,
        "person",
        ExportOp.UPDATE,
        f"uid=after,{base}",
        results[2].anchor,
        [AttributeChange("description", ValueOp.REPLACE, ["fine"])],
    )
    check_batch(conn.export([big_update, small_update]), [False, True])


def test_an_add_outside_the_containers_is_refused_and_a_refused_rename_names_its_target(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """An entry added where no import looks could never be confirmed (the next full import would take it for
    deleted, and provisioning would add it again): the add is refused before it is sent. A rename the server
    refuses says which DN it was renaming to, which the server's own text does not."""
    slapd_server.tools.add(
        f"dn: ou=in,{slapd_subtree}\nobjectClass: organizationalUnit\nou: in\n\n"
        f"dn: ou=out,{slapd_subtree}\nobjectClass: organizationalUnit\nou: out\n\n"
        f"dn: uid=taken,ou=in,{slapd_subtree}\nobjectClass: inetOrgPerson\nuid: taken\ncn: T\nsn: T\n"
    )
    inside = f"ou=in,{slapd_subtree}"
    conn = make(containers=[inside])
    outside = f"uid=stray,ou=out,{slapd_subtree}"
    results = conn.export(
        [
            add_item(1, f"uid=first,{inside}", sn="F", cn="F"),
            add_item(2, outside, sn="S", cn="S"),
            add_item(3, f"uid=last,{inside}", sn="L", cn="L"),
        ]
    )
    check_batch(results, [True, False, True])
    refused = results[1]
    assert (refused.code, refused.retryable) == ("refused", False)
    assert outside in (refused.error or "") and "outside this connector's containers" in (refused.error or "")
    assert inside in (refused.error or "")  # which containers there are
    assert "dn:" not in slapd_server.tools.search(f"ou=out,{slapd_subtree}", "(uid=stray)", "uid")
    moving = f"uid=first,{inside}"
    anchor = results[0].anchor
    taken, no_parent = f"uid=taken,{inside}", f"uid=first,ou=missing,{inside}"
    renames = conn.export(
        [
            ExportItem(1, "person", ExportOp.UPDATE, moving, anchor, new_identifier=taken),
            ExportItem(1, "person", ExportOp.UPDATE, moving, anchor, new_identifier=no_parent),
        ]
    )
    check_batch(renames, [False, False])
    assert renames[0].code == "entryAlreadyExists" and f"renaming to {taken}" in (renames[0].error or "")
    assert renames[1].code == "noSuchObject" and f"renaming to {no_parent}" in (renames[1].error or "")
    assert all(moving in (r.error or "") for r in renames)


def test_a_naming_value_differing_only_in_case_is_not_sent_twice(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """cn is matched ignoring case: a cn flow giving the RDN's name in another case is that value (slapd refused
    the pair as "provided more than once"); another name is kept beside the RDN's."""
    conn = make()
    results = conn.export(
        [
            add_item(1, f"cn=Same,{slapd_subtree}", sn="S", cn="same"),
            add_item(2, f"cn=Two,{slapd_subtree}", sn="T", cn=["two", "Second name"]),
        ]
    )
    check_batch(results, [True, True])
    same = slapd_server.tools.search(f"cn=Same,{slapd_subtree}", "(objectClass=*)", "cn", scope="base")
    assert sorted(line for line in same.splitlines() if line.startswith("cn:")) == ["cn: Same"]
    two = slapd_server.tools.search(f"cn=Two,{slapd_subtree}", "(objectClass=*)", "cn", scope="base")
    assert sorted(line for line in two.splitlines() if line.startswith("cn:")) == ["cn: Second name", "cn: Two"]


def test_a_dn_the_rfc_does_not_allow_is_refused_saying_what_to_write(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """slapd answers a name starting with an unescaped # (a hex-encoded value to it) or a backslash before an
    ordinary character with a bare "invalid DN"; the connector refuses them first and says how to write them."""
    conn = make()
    hashed, backslash = f"cn=#1 fan,{slapd_subtree}", f"cn=C:\\temp,{slapd_subtree}"
    results = conn.export(
        [
            add_item(1, hashed, sn="H"),
            add_item(2, backslash, sn="B"),
            add_item(3, f"cn=\\#1 fan,{slapd_subtree}", sn="F"),
        ]
    )
    check_batch(results, [False, False, True])
    assert results[0].code == "bad-value" and hashed in (results[0].error or "")
    assert "hex-encoded" in (results[0].error or "") and "\\#" in (results[0].error or "")
    assert results[1].code == "bad-value" and "\\t is not an escape" in (results[1].error or "")
    [renamed] = conn.export(
        [
            ExportItem(
                3, "person", ExportOp.UPDATE, results[2].identifier or "", results[2].anchor, new_identifier=hashed
            )
        ]
    )
    assert not renamed.ok and "hex-encoded" in (renamed.error or "")


def test_a_refused_group_names_its_missing_members_with_a_search_per_few_hundred(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """A refusal a reference with no entry may have caused names those values, the first three and how many more:
    the members are looked up under their parents, a few hundred per search (a group of 50,000 with one bad value
    cost 50,000 searches), and a member spelled otherwise than the server spells it is found all the same."""
    people = 600
    slapd_server.tools.add(
        "".join(
            f"dn: uid=m{i},{slapd_subtree}\nobjectClass: inetOrgPerson\nuid: m{i}\ncn: M{i}\nsn: S\n\n"
            for i in range(people)
        )
        + f"dn: cn=R&D\\, Europe,{slapd_subtree}\nobjectClass: inetOrgPerson\ncn: R&D, Europe\nsn: S\n"
    )
    members = [f"uid=m{i},{slapd_subtree}" for i in range(people)]
    ghosts = [f"uid=ghost{i},{slapd_subtree}" for i in range(4)]
    elsewhere = f"uid=m1,ou=nowhere,{slapd_subtree}"
    values = [*members[:300], ghosts[0], f"cn=R&D\\2C Europe,{slapd_subtree}", *ghosts[1:], *members[300:]]
    values.append(elsewhere)
    conn = make()
    conn.test_connection()
    backend = conn._connected()
    searches: list[str] = []
    search = backend.search

    def counted(base: str, *args: Any, **kwargs: Any) -> list[Entry]:
        searches.append(base)
        return search(base, *args, **kwargs)

    backend.search = counted  # type: ignore[method-assign]
    group = ExportItem(
        1,
        "group",
        ExportOp.ADD,
        f"cn=crew,ou=gone,{slapd_subtree}",
        changes=[AttributeChange("member", ValueOp.ADD, values)],
    )
    [result] = conn.export([group])
    assert not result.ok and result.code == "noSuchObject" and result.attribute == "member", result
    named = "; ".join(ghosts[:3])
    assert f"member: no entry at {named} and 2 more" in (result.error or ""), result.error
    assert len(searches) <= 8, f"{len(searches)} searches for {len(values)} members"


class Listener:
    """A TCP port on loopback that counts the connections made to it and closes each at once (a client that would
    follow a referral there fails fast instead of waiting for an answer)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def referral(slapd_server: SlapdServer, slapd_subtree: str) -> Iterator[tuple[str, Listener]]:
    """A referral object under the test's subtree (``dc=other``: a naming context this server does not hold, as
    another domain of a forest answers), pointing at a port that tells whether anyone connected."""
    listener = Listener()
    dn = f"dc=other,{slapd_subtree}"
    slapd_server.tools.add(
        f"dn: {dn}\nobjectClass: referral\nobjectClass: extensibleObject\ndc: other\n"
        f"ref: ldap://127.0.0.1:{listener.port}/dc=other,dc=example\n"
    )
    yield dn, listener
    slapd_server.tools.delete_referral(dn)
    listener.stop()


def test_reference_values_under_a_referral_are_named_as_held_elsewhere_and_the_referral_is_not_chased(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, referral: tuple[str, Listener]
) -> None:
    """After a refusal, the lookup of the values with no entry meets a referral for those under another naming
    context: they are named as held there (by the referral's URL), and the others are still looked up. The referral
    goes to a server nobody configured: it is not followed, so the connector's bind credentials never go there."""
    other, listener = referral
    port = listener.port
    slapd_server.tools.add(people_ldif(slapd_subtree, 1))
    real = f"uid=p00000,{slapd_subtree}"
    ghost = f"uid=ghost,{slapd_subtree}"
    remote = [f"uid=r{i},ou=people,{other}" for i in range(4)]
    values = [real, remote[0], ghost, *remote[1:], f"cn=admins,{other}"]
    group = ExportItem(
        1,
        "group",
        ExportOp.ADD,
        f"cn=crew,ou=gone,{slapd_subtree}",
        changes=[AttributeChange("member", ValueOp.ADD, values)],
    )
    [result] = make().export([group])
    assert not result.ok and result.attribute == "member", result
    error = result.error or ""
    assert f"member: no entry at {ghost}; " in error, error
    people = f"ldap://127.0.0.1:{port}/ou=people,dc=other,dc=example??one"
    named = "; ".join(remote[:3])
    assert f"held by another naming context (referral to {people}): {named} and 1 more" in error, error
    assert f"(referral to ldap://127.0.0.1:{port}/dc=other,dc=example??one): cn=admins,{other}" in error, error
    assert real not in error
    assert listener.connections == 0, "the referral was followed"
