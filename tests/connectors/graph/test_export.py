"""Export against the emulated tenant: what lands in Graph, request by request, and what comes back per item."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.connectors.base import ExportItem
from idsync.connectors.graph.connector import GraphConnector
from idsync.connectors.graph.errors import failure
from idsync.model import ExportOp
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import Counting, add, connect, delete, new_group, new_user, put, remove, update


def test_users_are_created_with_every_exportable_attribute(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    counting = Counting(tenant.transport())
    connector = connect(tenant, app, tmp_path, options={"graph_transport": counting})
    item = new_user(
        1,
        "ann.lee",
        put("givenName", "Ann"),
        put("surname", "Lee"),
        put("jobTitle", "Engineer"),
        put("department", "R&D"),
        put("employeeId", "E1001"),
        put("employeeType", "Employee"),
        put("companyName", "Contoso"),
        put("officeLocation", "Bldg 7"),
        put("usageLocation", "NO"),
        put("mobilePhone", "+47 555 0100"),
        add("businessPhones", "+47 555 0199"),
        put("onPremisesImmutableId", "aGVsbG8="),
        put("extensionAttribute3", "cost-centre-42"),
    )
    (result,) = connector.export([item])
    assert result.ok, result
    user = tenant.get(result.anchor or "")
    assert result.identifier == "ann.lee@contoso.com" == user["userPrincipalName"]
    assert user["department"] == "R&D" and user["employeeType"] == "Employee" and user["usageLocation"] == "NO"
    assert user["businessPhones"] == ["+47 555 0199"]
    assert user["onPremisesExtensionAttributes"] == {"extensionAttribute3": "cost-centre-42"}
    assert user["passwordProfile"] == {
        "forceChangePasswordNextSignIn": True,
        "forceChangePasswordNextSignInWithMfa": False,
        "password": None,  # Graph keeps it and never gives it back
    }
    (sent,) = [r["body"]["passwordProfile"]["password"] for r in counting.batched() if r["method"] == "POST"]
    assert len(sent) == 24 and sent not in repr(result)  # a generated password went to Graph only
    connector.close()


def test_a_manager_follows_the_create_in_a_parallel_batch(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    # Graph runs a $batch fully in parallel or fully in sequence, and refuses a batch of ten create-then-manager
    # pairs ("Batch should be either fully sequential or fully parallel"): the creates go in one batch, the
    # managers in the next, none with dependsOn
    counting = Counting(tenant.transport())
    connector = connect(tenant, app, tmp_path, options={"graph_transport": counting})
    boss = tenant.add_user("boss@contoso.com")
    items = [new_user(i, f"worker{i}", put("manager", boss)) for i in range(1, 11)]
    results = connector.export(items)
    assert all(r.ok for r in results)
    assert {tenant.manager_of(r.anchor or "") for r in results} == {boss}
    batches = [[(r["method"], "dependsOn" in r) for r in batch["requests"]] for batch in counting.batches]
    assert batches == [[("POST", False)] * 10, [("PUT", False)] * 10]
    connector.close()


def test_groups_bind_members_twenty_at_a_time_and_remove_by_ref(connector: GraphConnector, tenant: GraphTenant) -> None:
    people = tenant.seed_users(45)
    unified = new_group(
        1, "project-x", put("groupTypes", "Unified"), put("mailEnabled", True), put("securityEnabled", False)
    )
    (security, m365) = connector.export([new_group(2, "staff", add("members", *people)), unified])
    assert security.ok and m365.ok, (security, m365)
    assert sorted(tenant.members(security.anchor or "")) == sorted(people)
    assert tenant.get(m365.anchor or "")["mail"] == "project-x@contoso.onmicrosoft.com"
    before = connector.stats["batch_items"]
    (changed,) = connector.export(
        [update(3, "group", security.anchor or "", remove("members", *people[:5]), put("description", "All staff"))]
    )
    assert changed.ok
    assert sorted(tenant.members(security.anchor or "")) == sorted(people[5:])
    assert tenant.get(security.anchor or "")["description"] == "All staff"
    assert connector.stats["batch_items"] - before == 6  # one PATCH, five DELETE .../members/{id}/$ref


def test_replayed_link_changes_succeed(connector: GraphConnector, tenant: GraphTenant) -> None:
    # after a crash exports are sent again: adding a member already there, removing one already gone, is done
    people = tenant.seed_users(25)
    group = tenant.add_group("Replay")
    for person in people[:3]:
        tenant.add_member(group, person)
    (added,) = connector.export([update(1, "group", group, add("members", *people))])
    assert added.ok, added
    assert sorted(tenant.members(group)) == sorted(people)
    again = connector.export(
        [update(2, "group", group, add("members", *people)), update(3, "group", group, remove("members", people[0]))]
    )
    assert all(r.ok for r in again), again
    (twice,) = connector.export([update(4, "group", group, remove("members", people[0]))])
    assert twice.ok
    assert sorted(tenant.members(group)) == sorted(people[1:])


def test_updates_renames_clears_and_extension_attributes(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    extension = tenant.register_extension(app, "costCenter")
    connector = connect(tenant, app, tmp_path, extension_attributes={"costCenter": {"type": "string"}})
    user = tenant.add_user("old.name@contoso.com", jobTitle="Clerk", department="Sales")
    (result,) = connector.export(
        [
            update(
                1,
                "user",
                user,
                put("jobTitle"),
                put("department", "Finance"),
                put(extension, "CC-7"),
                new_identifier="new.name@contoso.com",
            )
        ]
    )
    connector.close()
    assert result.ok and result.identifier == "new.name@contoso.com"
    stored = tenant.get(user)
    assert stored["userPrincipalName"] == "new.name@contoso.com"
    assert stored["jobTitle"] is None and stored["department"] == "Finance" and stored[extension] == "CC-7"


def test_values_added_to_a_collection_keep_what_the_tenant_gained_since_the_last_import(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    user = tenant.add_user("ann@contoso.com", otherMails=["a@example.org"])
    imported = {"otherMails": ["a@example.org"]}  # the hologram: what the last import saw
    tenant.update(user, otherMails=["a@example.org", "b@example.org"])  # an administrator adds one since
    item = update(1, "user", user, add("otherMails", "c@example.org"), remove("otherMails", "a@example.org"))
    item.hologram = imported
    (result,) = connector.export([item])
    assert result.ok, result.error
    assert tenant.get(user)["otherMails"] == ["b@example.org", "c@example.org"]
    other = tenant.add_user("x@contoso.com")
    (first,) = connector.export([update(2, "user", other, add("otherMails", "d@example.org"))])
    assert first.ok and tenant.get(other)["otherMails"] == ["d@example.org"]
    ghost = update(3, "user", "00000000-0000-4000-8000-000000000000", add("otherMails", "e@example.org"))
    (missing,) = connector.export([ghost])
    assert not missing.ok and missing.code == "Request_ResourceNotFound"


def test_manager_set_and_cleared(connector: GraphConnector, tenant: GraphTenant) -> None:
    boss, worker = tenant.add_user("boss@contoso.com"), tenant.add_user("worker@contoso.com")
    assert connector.export([update(1, "user", worker, put("manager", boss))])[0].ok
    assert tenant.manager_of(worker) == boss
    assert connector.export([update(2, "user", worker, put("manager"))])[0].ok
    assert tenant.manager_of(worker) is None
    assert connector.export([update(3, "user", worker, put("manager"))])[0].ok  # no manager to remove: done


def test_deletes_soft_delete_and_tolerate_gone_objects(connector: GraphConnector, tenant: GraphTenant) -> None:
    user, group = tenant.add_user("leaver@contoso.com"), tenant.add_group("Old team")
    results = connector.export([delete(1, "user", user), delete(2, "group", group)])
    assert all(r.ok for r in results)
    assert sorted(u["id"] for u in tenant.deleted_items()) == sorted([user, group])  # both soft-deleted
    assert tenant.groups() == []
    again = connector.export([delete(3, "user", user), delete(4, "group", group)])
    assert all(r.ok for r in again)


def test_a_returning_user_is_restored_not_created_again(connector: GraphConnector, tenant: GraphTenant) -> None:
    first = connector.export([new_user(1, "kim", put("employeeId", "E77"), put("department", "Sales"))])[0]
    group = tenant.add_group("Sales team")
    tenant.add_member(group, first.anchor or "")
    assert connector.export([delete(2, "user", first.anchor or "")])[0].ok
    back = connector.export([new_user(3, "kim", put("employeeId", "E77"), put("department", "Support"))])[0]
    assert back.ok and back.anchor == first.anchor
    assert back.identifier == "kim@contoso.com"
    users = tenant.users()
    assert len(users) == 1 and users[0]["department"] == "Support"
    assert tenant.deleted_items() == []
    assert tenant.members(group) == [first.anchor]  # memberships come back with the restored account
    # someone new with another employee id is a new account, never an old one brought back
    connector.export([delete(4, "user", first.anchor or "")])
    other = connector.export([new_user(5, "kim", put("employeeId", "E78"))])[0]
    assert other.ok and other.anchor != first.anchor


def test_refusals_are_per_object_with_graphs_code_and_message(connector: GraphConnector, tenant: GraphTenant) -> None:
    tenant.add_user("taken@contoso.com", mailNickname="taken")
    items = [
        new_user(1, "ok.one"),
        new_user(2, "wrong.domain", domain="fabrikam.com"),
        new_user(3, "taken", put("mailNickname", "taken2")),
        new_user(4, "long", put("department", "x" * 65)),
        new_user(5, "bad", put("mailNickname", "bad name;")),
        new_group(6, "mail-security", put("mailEnabled", True)),
        new_user(7, "ok.two"),
    ]
    results = {r.cs_id: r for r in connector.export(items)}
    assert results[1].ok and results[7].ok
    assert {u["userPrincipalName"] for u in tenant.users()} == {
        "taken@contoso.com",
        "ok.one@contoso.com",
        "ok.two@contoso.com",
    }
    domain = results[2]
    assert not domain.ok and domain.code == "Request_BadRequest" and not domain.retryable
    # "The domain portion of the userPrincipalName property is invalid": Graph names the property, so must we
    assert domain.attribute == "userPrincipalName" and "verified domain" in (domain.error or "")
    assert results[3].attribute == "userPrincipalName" and "already exists" in (results[3].error or "")
    assert results[4].attribute == "department" and "Invalid value" in (results[4].error or "")
    assert results[5].attribute == "mailNickname"
    assert "mail-enabled groups" in (results[6].error or "")


def test_impossible_writes_are_refused_before_sending(connector: GraphConnector, tenant: GraphTenant) -> None:
    user = tenant.add_user("someone@contoso.com")
    items = [
        update(1, "user", user, put("proxyAddresses", "SMTP:x@contoso.com")),
        update(2, "user", user, put("passwordProfile", "secret")),
        update(3, "user", user, put("favouriteColour", "blue")),
        update(4, "group", user, add("manager", user)),
    ]
    results = connector.export(items)
    assert [r.ok for r in results] == [False] * 4
    assert results[0].attribute == "proxyAddresses" and "read-only" in (results[0].error or "")
    assert "new_user_password" in (results[1].error or "")
    assert "not an attribute of a Graph user" in (results[2].error or "")
    assert "no manager" in (results[3].error or "")
    assert connector.stats == {} or connector.stats["batches"] == 0


def test_values_graph_refuses_are_named_per_object_before_sending(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    # usageLocation takes ISO 3166 codes only (the United Kingdom is GB, not UK); ageGroup, userType and
    # passwordPolicies take their documented words
    user = tenant.add_user("pat@contoso.com")
    items = [
        new_user(1, "uk.user", put("usageLocation", "UK")),
        update(2, "user", user, put("ageGroup", "Teen")),
        update(3, "user", user, put("passwordPolicies", "DisablePasswordExpiration, NeverLock")),
        update(4, "user", user, put("userType", "Admin")),
        new_user(5, "gb.user", put("usageLocation", "GB"), put("consentProvidedForMinor", "Granted")),
    ]
    results = connector.export(items)
    assert [r.ok for r in results] == [False, False, False, False, True]
    for result, attribute, value in [
        (results[0], "usageLocation", "'UK'"),
        (results[1], "ageGroup", "'Teen'"),
        (results[2], "passwordPolicies", "'DisablePasswordExpiration, NeverLock'"),
        (results[3], "userType", "'Admin'"),
    ]:
        assert result.attribute == attribute and not result.retryable
        assert f"{attribute} {value} is not" in (result.error or "") and "Graph refuses it" in (result.error or "")
    assert "ISO 3166" in (results[0].error or "") and "Adult" in (results[1].error or "")
    assert [u["userPrincipalName"] for u in tenant.find_users(usageLocation="GB")] == ["gb.user@contoso.com"]
    assert not tenant.find_users(mailNickname="uk.user")  # nothing was sent for the refused add
    assert {"ageGroup", "passwordPolicies", "userType"}.isdisjoint(tenant.get(user))


def test_on_premises_mastered_objects_refuse_writes(connector: GraphConnector, tenant: GraphTenant) -> None:
    synced = tenant.add_user("synced@contoso.com")
    tenant.mark_synced(synced, immutable_id="c3luY2Vk")
    cloud = tenant.add_user("cloud@contoso.com")
    results = connector.export(
        [update(1, "user", synced, put("department", "X")), update(2, "user", cloud, put("department", "X"))]
    )
    assert not results[0].ok and "on-premises mastered" in (results[0].error or "")
    assert results[1].ok and tenant.get(cloud)["department"] == "X"


def test_a_missing_member_fails_its_group_only(connector: GraphConnector, tenant: GraphTenant) -> None:
    people = tenant.seed_users(3)
    group = tenant.add_group("Team")
    ghost = "00000000-0000-4000-8000-000000000001"
    results = connector.export([update(1, "group", group, add("members", *people, ghost)), new_user(2, "bystander")])
    assert results[1].ok
    assert not results[0].ok and results[0].attribute == "members" and ghost in (results[0].error or "")
    assert sorted(tenant.members(group)) == sorted(people)  # the bind of four was split; the real three are in


def test_a_user_with_mail_and_no_upn_is_invited_as_a_guest(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    connector = connect(tenant, app, tmp_path, invitations={"redirect_url": "https://myapps.microsoft.com"})
    sponsor = tenant.add_user("sponsor@contoso.com")
    guest = ExportItem(
        1,
        "user",
        ExportOp.ADD,
        "ann@fabrikam.com",
        changes=[
            put("mail", "ann@fabrikam.com"),
            put("displayName", "Ann (Fabrikam)"),
            put("companyName", "Fabrikam"),
            put("manager", sponsor),
        ],
    )
    member = new_user(2, "staff")  # a userPrincipalName: created, not invited
    results = connector.export([guest, member])
    connector.close()
    assert all(r.ok for r in results), results
    invited = tenant.get(results[0].anchor or "")
    assert invited["userType"] == "Guest" and invited["externalUserState"] == "PendingAcceptance"
    assert results[0].identifier == invited["userPrincipalName"] == "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert invited["companyName"] == "Fabrikam" and tenant.manager_of(invited["id"]) == sponsor
    assert tenant.get(results[1].anchor or "").get("userType") is None


def test_a_created_user_keeps_its_anchor_when_what_follows_is_refused(
    connector: GraphConnector, tenant: GraphTenant, caplog: pytest.LogCaptureFixture
) -> None:
    ghost = "00000000-0000-4000-8000-000000000002"
    (result,) = connector.export([new_user(1, "orphan", put("manager", ghost))])
    # the user exists: its id must reach the engine, or the next export would create it again
    assert result.ok and result.anchor == tenant.find_users(mailNickname="orphan")[0]["id"]
    assert tenant.manager_of(result.anchor) is None
    assert "refused what follows" in caplog.text


@pytest.mark.parametrize(
    ("message", "attribute"),
    [
        # wordings Graph uses for a property it refuses, each naming it its own way
        ("Property userPrincipalName is invalid.", "userPrincipalName"),
        ("Property 'createdDateTime' is read-only and cannot be set.", "createdDateTime"),
        ("Invalid value specified for property 'mailNickname' of resource 'User'.", "mailNickname"),
        ("The domain portion of the userPrincipalName property is invalid.", "userPrincipalName"),
        ("One or more properties contains invalid values.", None),
    ],
)
def test_the_refused_property_is_read_from_graphs_message(message: str, attribute: str | None) -> None:
    body = {"error": {"code": "Request_BadRequest", "message": message}}
    assert failure(400, body).attribute == attribute


def test_a_second_business_phone_is_refused_for_its_user_only(connector: GraphConnector, tenant: GraphTenant) -> None:
    # Graph takes one business phone number; the refusal names the property and the other user is still updated
    user = tenant.add_user("tel@contoso.com", businessPhones=["+47 555 0100"])
    other = tenant.add_user("other@contoso.com")
    results = connector.export(
        [update(1, "user", user, add("businessPhones", "+47 555 0101")), update(2, "user", other, put("city", "Oslo"))]
    )
    assert not results[0].ok and results[0].attribute == "businessPhones" and not results[0].retryable
    assert "Invalid value specified for property 'businessPhones'" in (results[0].error or "")
    assert tenant.get(user)["businessPhones"] == ["+47 555 0100"]
    assert results[1].ok and tenant.get(other)["city"] == "Oslo"


def test_a_member_graph_will_not_take_fails_its_group_and_the_rest_go_in(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    # a Microsoft 365 group is a member of no group: the bind of three is refused whole, so it is split and the
    # two people go in; the refusal names the attribute, the member and Graph's message
    first, second = tenant.seed_users(2)
    team = tenant.add_group("Team", unified=True)
    group = tenant.add_group("Staff")
    (result,) = connector.export([update(1, "group", group, add("members", first, team, second))])
    assert not result.ok and result.attribute == "members" and not result.retryable
    assert team in (result.error or "") and "Unified Groups cannot be added" in (result.error or "")
    assert sorted(tenant.members(group)) == sorted([first, second])


def test_a_group_offered_to_a_role_assignable_group_fails_its_bind_and_the_rest_go_in(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    # "A group can't be added as a member of a role-assignable group": Graph refuses the bind of twenty whole and
    # does not say which member it refused, so the bind is split and only the nested group is reported
    people = tenant.seed_users(19)
    admins = tenant.add_group("Helpdesk admins", isAssignableToRole=True)
    nested = tenant.add_group("Helpdesk tier 2")
    (result,) = connector.export([update(1, "group", admins, add("members", *people[:10], nested, *people[10:]))])
    assert not result.ok and result.attribute == "members" and not result.retryable
    assert nested in (result.error or "") and "Nesting is currently not supported" in (result.error or "")
    assert sorted(tenant.members(admins)) == sorted(people)


def test_the_nesting_refusal_is_about_the_members_without_details() -> None:
    # Graph's callers quote the message only; without details the connector still knows a member was refused
    message = "Nesting is currently not supported for groups that can be assigned to a role."
    assert failure(400, {"error": {"code": "Request_BadRequest", "message": message}}).about_members
    other = {"error": {"code": "Request_BadRequest", "message": "One or more properties contains invalid values."}}
    assert not failure(400, other).about_members
