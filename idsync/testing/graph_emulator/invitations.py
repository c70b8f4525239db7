"""B2B guest invitations (``POST /invitations``), per the "Create invitation" and "invitation resource type" pages.

An invitation creates a guest user at once, before it is redeemed: userPrincipalName ``{alias}_{domain}#EXT#@``
the tenant's initial domain, ``mail`` the invited address, ``userType`` Guest (or Member when asked),
``externalUserState`` PendingAcceptance and ``creationType`` Invitation. Inviting an address that already has a
user returns that user again (a re-invitation). Messages for refusals the docs do not quote are best guesses.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from idsync.connectors.graph.properties import value_problem
from idsync.testing.graph_emulator import errors

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.tenant import GraphTenant

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invite(tenant: GraphTenant, payload: Any, root: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object.", code="BadRequest")
    email = payload.get("invitedUserEmailAddress")
    redirect = payload.get("inviteRedirectUrl")
    if not isinstance(email, str) or not email:
        raise errors.required("invitedUserEmailAddress", "invitation")
    if not isinstance(redirect, str) or not redirect:
        raise errors.required("inviteRedirectUrl", "invitation")
    if not _EMAIL.match(email):
        raise errors.invalid_value("invitedUserEmailAddress", "invitation")
    user_type = payload.get("invitedUserType") or "Guest"
    if not isinstance(user_type, str) or value_problem("user", "userType", user_type) is not None:
        # the user's userType, under the same rule as when it is written to the user
        raise errors.invalid_value("invitedUserType", "invitation")
    local, _, domain = email.partition("@")
    if domain.lower() in (d.lower() for d in tenant.domains):
        raise errors.bad_request(
            f"The invited user's domain {domain} is a verified domain of this organization; create the user instead."
        )
    directory = tenant.directory
    existing = next((u for u in directory.live("user") if str(u.props.get("mail", "")).lower() == email.lower()), None)
    if existing is not None:
        user = existing
    else:
        initial = next((d for d in tenant.domains if d.lower().endswith(".onmicrosoft.com")), tenant.domains[0])
        alias = re.sub(r"[^A-Za-z0-9'.\-_!#^~]", "_", f"{local}_{domain}") + "#EXT#"
        body = {
            "userPrincipalName": f"{alias}@{initial}",
            "mailNickname": alias,
            "displayName": payload.get("invitedUserDisplayName") or local,
            "accountEnabled": True,
            "mail": email,
            "userType": user_type,
            "passwordProfile": {"password": secrets.token_urlsafe(18) + "aA1!", "forceChangePasswordNextSignIn": False},
        }
        user = directory.create("user", body)
        directory.set_trusted(user.id, {"creationType": "Invitation", "externalUserState": "PendingAcceptance"})
    invitation_id = directory.new_id()
    return {
        "@odata.context": f"{root}/$metadata#invitations/$entity",
        "id": invitation_id,
        "inviteRedeemUrl": f"https://login.microsoftonline.com/redeem?rd=emulated&id={invitation_id}",
        "invitedUserDisplayName": payload.get("invitedUserDisplayName"),
        "invitedUserEmailAddress": email,
        "invitedUserType": user_type,
        "inviteRedirectUrl": redirect,
        "sendInvitationMessage": bool(payload.get("sendInvitationMessage", False)),
        "resetRedemption": False,
        "status": "PendingAcceptance",
        "invitedUser": {"id": user.id},
    }
