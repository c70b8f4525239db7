from __future__ import annotations

import httpx

from idsync.testing.graph_emulator import GraphTenant

from .conftest import error_of


def _invite(client: httpx.Client, **body: object) -> httpx.Response:
    payload = {"invitedUserEmailAddress": "ann@fabrikam.com", "inviteRedirectUrl": "https://myapps.microsoft.com"}
    payload.update(body)
    return client.post("/v1.0/invitations", json=payload)


def test_an_invitation_creates_a_pending_guest(client: httpx.Client, tenant: GraphTenant) -> None:
    response = _invite(client, invitedUserDisplayName="Ann (Fabrikam)")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "PendingAcceptance" and body["invitedUserType"] == "Guest"
    guest = tenant.get(body["invitedUser"]["id"])
    assert guest["userPrincipalName"] == "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert guest["mail"] == "ann@fabrikam.com" and guest["userType"] == "Guest"
    assert guest["externalUserState"] == "PendingAcceptance" and guest["creationType"] == "Invitation"
    assert guest["displayName"] == "Ann (Fabrikam)"
    # the guest is an ordinary user object: readable by its encoded UPN, listed, tracked
    fetched = client.get("/v1.0/users/ann_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?$select=id,userType")
    assert fetched.json()["id"] == guest["id"]


def test_inviting_again_returns_the_same_guest(client: httpx.Client, tenant: GraphTenant) -> None:
    first = _invite(client).json()["invitedUser"]["id"]
    again = _invite(client, invitedUserEmailAddress="ANN@fabrikam.com").json()["invitedUser"]["id"]
    assert first == again and len(tenant.users()) == 1


def test_invitation_refusals(client: httpx.Client) -> None:
    assert error_of(_invite(client, inviteRedirectUrl=""))["message"] == (
        "A value is required for property 'inviteRedirectUrl' of resource 'invitation'."
    )
    assert _invite(client, invitedUserEmailAddress="not-an-address").status_code == 400
    assert _invite(client, invitedUserType="Owner").status_code == 400
    own_domain = _invite(client, invitedUserEmailAddress="bob@contoso.com")
    assert own_domain.status_code == 400 and "verified domain" in str(error_of(own_domain)["message"])


def test_the_invited_user_type_follows_the_user_type_rule(client: httpx.Client, tenant: GraphTenant) -> None:
    # invitedUserType becomes the guest's userType, whose words (Member, Guest) are taken in any case there too
    response = _invite(client, invitedUserType="member")
    assert response.status_code == 201
    assert tenant.get(response.json()["invitedUser"]["id"])["userType"] == "member"
