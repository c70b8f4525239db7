"""Fidelity: Microsoft's own Python client (msgraph-sdk) drives the emulator over real HTTP.

How the SDK is pointed at the emulator:

- Authentication: azure-identity's ``ClientSecretCredential`` cannot be used against a plain-HTTP loopback
  authority: MSAL refuses any authority that is not an ``https`` URL. A small custom ``TokenCredential``
  (``EmulatorCredential`` below) runs the same client-credentials POST against the emulator's
  ``/{tenant}/oauth2/v2.0/token`` and returns an ``azure.core.credentials.AccessToken``; the SDK's
  ``AzureIdentityAuthenticationProvider`` accepts any ``TokenCredential``.
- Hosts: the SDK's authentication provider attaches tokens only to allowed hosts (Graph's by default) and only over
  https, except for ``localhost``/``127.0.0.1``; so the provider gets ``allowed_hosts=["127.0.0.1"]`` and the
  request adapter's ``base_url`` is set to ``{emulator}/v1.0``.
- Batching: msgraph-core 1.5 reads an item's ``body`` only as a base64 string (``get_bytes_value``), while Graph
  (and the emulator) send JSON bodies as objects, as the JSON batching page shows; so the SDK's item bodies come back
  empty and the test checks statuses, content types and the resulting directory state. msgraph-core also
  serializes a request's dependencies under ``depends_on`` instead of Graph's ``dependsOn``
  (microsoft/msgraph-sdk-python-core PR #996), so Graph - and the emulator - ignore them; ordering with
  ``dependsOn`` is covered by the httpx tests in test_batch.py.

These tests need no network beyond the loopback interface.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.group import Group
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from idsync.testing.graph_emulator import AppRegistration, GraphTenant

SCOPE = "https://graph.microsoft.com/.default"
# The SDK warns about its own deprecated request-configuration classes.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class EmulatorCredential:
    """A ``TokenCredential`` doing the client-credentials grant against the emulator's token endpoint."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.requests = 0
        self._cached: AccessToken | None = None

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        if self._cached is not None and self._cached.expires_on - 60 > time.time():
            return self._cached
        self.requests += 1
        body = httpx.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": scopes[0] if scopes else SCOPE,
            },
        ).json()
        self._cached = AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))
        return self._cached


@pytest.fixture
def emulated() -> Iterator[tuple[GraphTenant, AppRegistration, GraphServiceClient, EmulatorCredential]]:
    tenant = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=11)
    app = tenant.add_app("msgraph-sdk")
    with tenant.serve() as base_url:
        credential = EmulatorCredential(
            f"{base_url}/{tenant.domains[0]}/oauth2/v2.0/token", app.client_id, app.client_secret
        )
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[SCOPE], allowed_hosts=["127.0.0.1"])
        adapter = GraphRequestAdapter(auth)
        adapter.base_url = f"{base_url}/v1.0"
        yield tenant, app, GraphServiceClient(request_adapter=adapter), credential


def _new_user(alias: str) -> User:
    return User(
        account_enabled=True,
        display_name=alias.title(),
        mail_nickname=alias,
        user_principal_name=f"{alias}@contoso.com",
        password_profile=PasswordProfile(force_change_password_next_sign_in=True, password="Str0ng-Passw0rd!"),
    )


def test_list_and_page_users(emulated: Any) -> None:
    tenant, _, client, credential = emulated
    ids = set(tenant.seed_users(23))

    async def run() -> list[str]:
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=10, select=["id", "displayName"])
        page = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        seen = [u.id for u in page.value]
        pages = 1
        while page.odata_next_link:
            page = await client.users.with_url(page.odata_next_link).get()
            seen.extend(u.id for u in page.value)
            pages += 1
        assert pages == 3
        return seen

    seen = asyncio.run(run())
    assert sorted(seen) == sorted(ids)
    assert credential.requests == 1


def test_create_and_update_user_and_error_mapping(emulated: Any) -> None:
    tenant, _, client, _ = emulated

    async def run() -> tuple[str, APIError]:
        created = await client.users.post(_new_user("sdk"))
        await client.users.by_user_id(created.id).patch(User(job_title="Engineer", department="R&D"))
        fetched = await client.users.by_user_id(created.id).get()
        assert fetched.user_principal_name == "sdk@contoso.com"
        assert fetched.job_title == "Engineer"
        with pytest.raises(APIError) as info:
            await client.users.post(_new_user("sdk"))
        return created.id, info.value

    user_id, error = asyncio.run(run())
    assert tenant.get(user_id)["department"] == "R&D"
    assert error.response_status_code == 400
    assert error.error.code == "Request_BadRequest"
    assert "userPrincipalName" in error.error.message


def test_add_group_members(emulated: Any) -> None:
    tenant, _, client, _ = emulated
    users = tenant.seed_users(3)

    async def run() -> str:
        group = await client.groups.post(
            Group(display_name="Engineers", mail_enabled=False, mail_nickname="engineers", security_enabled=True)
        )
        for user in users:
            ref = ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{user}")
            await client.groups.by_group_id(group.id).members.ref.post(ref)
        members = await client.groups.by_group_id(group.id).members.get()
        assert [m.id for m in members.value] == users
        assert all(type(m).__name__ == "User" for m in members.value)  # @odata.type drives the SDK's types
        return group.id

    group_id = asyncio.run(run())
    assert tenant.members(group_id) == users


def test_delta_round_trip(emulated: Any) -> None:
    tenant, _, client, _ = emulated
    ids = tenant.seed_users(5)

    async def run() -> None:
        page = await client.users.delta.get()
        assert sorted(u.id for u in page.value) == sorted(ids)
        assert page.odata_delta_link
        tenant.update(ids[0], jobTitle="Changed")
        await client.users.by_user_id(ids[1]).delete()
        changes = await client.users.delta.with_url(page.odata_delta_link).get()
        by_id = {u.id: u for u in changes.value}
        assert set(by_id) == {ids[0], ids[1]}
        assert by_id[ids[0]].job_title == "Changed"
        assert by_id[ids[1]].additional_data.get("@removed") == {"reason": "changed"}
        assert changes.odata_delta_link and changes.odata_delta_link != page.odata_delta_link

    asyncio.run(run())


def test_batch(emulated: Any) -> None:
    tenant, _, client, _ = emulated
    existing = tenant.add_user("batched@contoso.com")

    async def run() -> dict[str, int]:
        content = BatchRequestContent()
        get_info = client.users.by_user_id(existing).to_get_request_information()
        missing_info = client.users.by_user_id("9d1e0a5e-0000-4000-8000-000000000000").to_get_request_information()
        create_info = client.users.to_post_request_information(_new_user("inbatch"))
        content.add_request(None, BatchRequestItem(request_information=get_info, id="get"))
        content.add_request(None, BatchRequestItem(request_information=missing_info, id="missing"))
        content.add_request(None, BatchRequestItem(request_information=create_info, id="create"))
        response = await client.batch.post(batch_request_content=content)
        item = response.get_response_by_id("get")
        assert item.content_type.startswith("application/json")
        return response.get_response_status_codes()

    statuses = asyncio.run(run())
    assert statuses == {"get": 200, "missing": 404, "create": 201}
    assert {u["userPrincipalName"] for u in tenant.users()} == {"batched@contoso.com", "inbatch@contoso.com"}


def test_type_casts_with_the_graph_alias(emulated: Any) -> None:
    # The SDK spells casts with the CSDL's namespace alias ("graph.user", Alias="graph" on microsoft.graph): the
    # deleted users, and the members of a group that are users or groups.
    tenant, _, client, _ = emulated
    kept, gone = tenant.seed_users(2)
    group = tenant.add_group("Team")
    inner = tenant.add_group("Inner")
    tenant.add_member(group, kept)
    tenant.add_member(group, inner)

    async def run() -> tuple[list[str], list[str], list[str]]:
        await client.users.by_user_id(gone).delete()
        deleted = await client.directory.deleted_items.graph_user.get()
        one = await client.directory.deleted_items.by_directory_object_id(gone).graph_user.get()
        assert one.id == gone and one.deleted_date_time is not None
        with pytest.raises(APIError):  # a deleted user is not a group
            await client.directory.deleted_items.by_directory_object_id(gone).graph_group.get()
        users = await client.groups.by_group_id(group).members.graph_user.get()
        groups = await client.groups.by_group_id(group).members.graph_group.get()
        return [u.id for u in deleted.value], [u.id for u in users.value], [g.id for g in groups.value]

    deleted, users, groups = asyncio.run(run())
    assert deleted == [gone]
    assert users == [kept] and groups == [inner]


def test_an_invalid_value_names_its_property_in_the_details(emulated: Any) -> None:
    # Graph's refusal of a bad value carries details [{"code": "InvalidValue", "target": property}] (the response
    # quoted in microsoft-graph-docs-contrib issue 6580); the SDK exposes them as MainError.details.
    _, _, client, _ = emulated
    user = _new_user("bad")
    user.mail_nickname = "naveen.mills,.jr."

    async def run() -> APIError:
        with pytest.raises(APIError) as info:
            await client.users.post(user)
        return info.value

    error = asyncio.run(run())
    assert error.response_status_code == 400 and error.error.code == "Request_BadRequest"
    assert error.error.message == "Invalid value specified for property 'mailNickname' of resource 'User'."
    assert [(d.code, d.target) for d in error.error.details] == [("InvalidValue", "mailNickname")]


def test_member_counts_and_casts_on_member_of_and_direct_reports(emulated: Any) -> None:
    # "Get only a count of all membership" (List group members, ConsistencyLevel: eventual) and the casts the SDK
    # offers on memberOf and directReports
    tenant, _, client, _ = emulated
    boss, worker = tenant.seed_users(2)
    group = tenant.add_group("Team")
    inner = tenant.add_group("Inner")
    for member in (boss, worker, inner):
        tenant.add_member(group, member)
    tenant.set_manager(worker, boss)
    eventual = RequestConfiguration()
    eventual.headers.add("ConsistencyLevel", "eventual")

    async def run() -> tuple[int, int, list[str], list[str], list[str]]:
        members = client.groups.by_group_id(group).members
        total = await members.count.get(request_configuration=eventual)
        users = await members.graph_user.count.get(request_configuration=eventual)
        member_of = await client.users.by_user_id(worker).member_of.graph_group.get()
        reports = await client.users.by_user_id(boss).direct_reports.graph_user.get()
        parents = await client.groups.by_group_id(inner).member_of.graph_group.get()
        return (
            total,
            users,
            [g.id for g in member_of.value],
            [u.id for u in reports.value],
            [g.id for g in parents.value],
        )

    total, users, member_of, reports, parents = asyncio.run(run())
    assert (total, users) == (3, 2)
    assert member_of == [group] and reports == [worker] and parents == [group]
