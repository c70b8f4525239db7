"""One export item as the Graph requests it takes, in order.

An item becomes a small chain of operations: create the user, then set its manager; create the group, then bind
its members twenty at a time; restore a soft-deleted user, then update it. An operation goes once the one before it
has been answered (``after``), in a later ``$batch``: Graph takes a batch either fully in parallel or fully in
sequence, and a sequence would make one item's refusal fail the items after it. An operation that needs the id Graph
assigns (``{id}`` in its path) is addressed with it then.
"""

from __future__ import annotations

import enum
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from idsync.connectors.base import ExportItem, ExportResult
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.errors import GraphFailure
from idsync.connectors.graph.properties import EXTENSION_ATTRIBUTES_PROPERTY
from idsync.connectors.graph.values import UNSET, WritePlan, identifier_attribute, identifier_of, write_plan
from idsync.model import ExportOp

log = logging.getLogger(__name__)

MEMBERS_PER_REQUEST = 20
"""Graph: "A resource cannot contain more than 20 link changes" per request (members@odata.bind)."""

ID = "{id}"


class State(enum.Enum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class Kind(enum.StrEnum):
    CREATE = "create"
    INVITE = "invite"
    RESTORE = "restore"
    UPDATE = "update"
    MANAGER = "manager"
    BIND_MEMBERS = "bind-members"
    ADD_MEMBER = "add-member"
    REMOVE_MEMBER = "remove-member"
    DELETE = "delete"
    READ = "read"

    @property
    def makes_object(self) -> bool:
        return self in (Kind.CREATE, Kind.INVITE, Kind.RESTORE)


Tolerate = Callable[[GraphFailure], bool]


@dataclass(eq=False)
class Op:
    work: ItemWork
    kind: Kind
    method: str
    path: str
    """Relative to the version root; ``{id}`` stands for the id of the object the item creates."""
    body: dict[str, Any] | None = None
    after: Op | None = None
    tolerate: Tolerate | None = None
    state: State = State.PENDING
    attempts: int = 0
    throttles: int = 0
    not_before: float = 0.0

    @property
    def needs_id(self) -> bool:
        return ID in self.path

    def resolved_path(self) -> str:
        if self.needs_id:
            assert self.work.object_id is not None
            return self.path.replace(ID, quote(self.work.object_id, safe=""))
        return self.path


@dataclass(eq=False)
class ItemWork:
    item: ExportItem
    ops: list[Op] = field(default_factory=list)
    object_id: str | None = None
    identifier: str | None = None
    sent: dict[str, Any] = field(default_factory=dict)
    """Single values the item writes: what a lookup must find on an object to call it ours."""
    failure: GraphFailure | None = None
    refusal: tuple[str, str | None, str] | None = None
    """(message, attribute, code) of a refusal decided before anything was sent."""
    gave_up: str | None = None
    exists: bool = False
    """The object is known to exist in Graph (created, restored, invited or adopted by this export)."""
    ambiguous: bool = False
    """A request that makes the object may have been applied without its answer arriving."""
    conflict: GraphFailure | None = None
    restore_id: str | None = None
    follow_up_failure: GraphFailure | None = None
    current: dict[str, Any] = field(default_factory=dict)
    """Collection values Graph holds now, read before values are added to or removed from them."""

    @property
    def hologram(self) -> dict[str, Any]:
        return {**self.item.hologram, **self.current} if self.current else dict(self.item.hologram)

    @property
    def kind(self) -> str:
        return self.item.object_type

    @property
    def finished(self) -> bool:
        return self.failure is not None or self.refusal is not None or self.gave_up is not None

    def add(self, kind: Kind, method: str, path: str, body: dict[str, Any] | None = None, **extra: Any) -> Op:
        op = Op(self, kind, method, path, body, **extra)
        self.ops.append(op)
        return op

    def maker(self) -> Op | None:
        return next((op for op in self.ops if op.kind.makes_object), None)

    def fail(self, failure: GraphFailure) -> None:
        if self.exists and self.item.op is ExportOp.ADD:
            # the object is there: report the add as done (its anchor must not be lost, or it would be created
            # again); what did not follow is re-exported when the confirming import sees it missing
            self.follow_up_failure = failure
            log.warning(
                "%s %s was created, but Graph refused what follows (%s); it is sent again after the next import",
                self.kind,
                self.item.identifier,
                failure.describe(),
            )
        else:
            self.failure = failure
        self.cancel_rest()

    def cancel_rest(self) -> None:
        for op in self.ops:
            if op.state is State.PENDING:
                op.state = State.CANCELLED

    def result(self) -> ExportResult:
        cs_id = self.item.cs_id
        if self.refusal is not None:
            message, attribute, code = self.refusal
            return ExportResult(cs_id, False, error=message, code=code, attribute=attribute)
        if self.failure is not None:
            f = self.failure
            return ExportResult(
                cs_id, False, error=f"Graph refused: {f.describe()}", code=f.code, retryable=f.transient,
                attribute=f.attribute,
            )  # fmt: skip
        if self.gave_up is not None:
            return ExportResult(cs_id, False, error=self.gave_up, code="graph-unavailable", retryable=True)
        anchor = self.object_id if self.item.op is ExportOp.ADD else None
        identifier = self.identifier
        if identifier is None and self.item.op is ExportOp.ADD:
            sent = self.sent.get(identifier_attribute(self.kind))
            identifier = str(sent) if sent else None
        return ExportResult(cs_id, True, anchor=anchor, identifier=identifier)


def new_password(length: int) -> str:
    """A random password meeting Entra's complexity rule (three of four character classes; here all four)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#$%&()*+-./:;<=>?@[]^_{|}~")
    alphabet = "".join(classes)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def reference(root: str, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{root}/directoryObjects/{object_id}"}


def _member_missing(member_id: str) -> Tolerate:
    """Removing a member that is no longer one is done (Graph's 404 names the member, not the group)."""
    return lambda f: f.status == 404 and member_id in f.message


def _no_manager(f: GraphFailure) -> bool:
    return f.status == 404


def _gone(f: GraphFailure) -> bool:
    return f.status == 404


def _already_member(f: GraphFailure) -> bool:
    return f.already_exists


class Planner:
    """Turns export items into operations. ``root`` is the Graph version root used in ``@odata.id`` links."""

    def __init__(self, config: GraphConfig, root: str) -> None:
        self.config = config
        self.root = root

    def plan(self, work: ItemWork) -> None:
        item = work.item
        kind = item.object_type
        if kind not in self.config.kinds:
            work.refusal = (f"the Graph connector does not handle object type {kind!r}", None, "unknown-object-type")
            return
        collection = f"/{kind}s"
        if item.op is ExportOp.DELETE:
            if item.anchor is None:
                work.exists = False
                return  # never created in Graph: nothing to delete
            work.add(Kind.DELETE, "DELETE", f"{collection}/{_seg(item.anchor)}", tolerate=_gone)
            return
        plan = write_plan(kind, item.changes, work.hologram, self.config.extensions_for(kind))
        if plan.problems:
            attribute = plan.problems[0][0]
            reasons = "; ".join(reason for _, reason in plan.problems)
            work.refusal = (reasons, attribute, "not-writable")
            return
        if item.new_identifier is not None:
            plan.properties[identifier_attribute(kind)] = item.new_identifier
            work.identifier = item.new_identifier
        work.sent = _single_values(plan.properties)
        if item.op is ExportOp.ADD:
            self._add(work, plan)
        elif item.anchor is None:
            work.refusal = ("the object has no Graph id yet; run an import first", None, "no-anchor")
        else:
            work.object_id = item.anchor
            self._update(work, plan, f"{collection}/{_seg(item.anchor)}")

    def _add(self, work: ItemWork, plan: WritePlan) -> None:
        item = work.item
        props = dict(plan.properties)
        if work.kind == "group":
            props.setdefault("mailNickname", item.identifier)
            work.sent.setdefault("mailNickname", props["mailNickname"])
            create = work.add(Kind.CREATE, "POST", "/groups", props)
            self._members(work, plan.add_members, f"/groups/{ID}", after=create)
            return
        invitations = self.config.invitations
        if invitations is not None and props.get("mail") and not props.get("userPrincipalName"):
            invite = work.add(Kind.INVITE, "POST", "/invitations", self._invitation(props))
            rest = {k: v for k, v in props.items() if k not in ("mail", "userPrincipalName")}
            if rest:
                work.add(Kind.UPDATE, "PATCH", f"/users/{ID}", rest, after=invite)
            self._manager(work, plan, f"/users/{ID}", after=invite)
            # the guest's userPrincipalName is Graph's choice (alias_domain#EXT#@tenant): read it back
            work.add(Kind.READ, "GET", f"/users/{ID}?$select=id,userPrincipalName", after=invite)
            return
        if work.restore_id is not None:
            path = f"/users/{_seg(work.restore_id)}"
            restore = work.add(Kind.RESTORE, "POST", f"/directory/deletedItems/{_seg(work.restore_id)}/restore")
            if props:
                work.add(Kind.UPDATE, "PATCH", path, props, after=restore)
            self._manager(work, plan, path, after=restore)
            return
        props.setdefault("userPrincipalName", item.identifier)
        work.sent.setdefault("userPrincipalName", props["userPrincipalName"])
        policy = self.config.new_user_password
        props["passwordProfile"] = {
            "password": new_password(policy.length),
            "forceChangePasswordNextSignIn": policy.force_change_next_sign_in,
            "forceChangePasswordNextSignInWithMfa": policy.force_change_with_mfa,
        }
        create = work.add(Kind.CREATE, "POST", "/users", props)
        self._manager(work, plan, f"/users/{_seg(str(props['userPrincipalName']))}", after=create)

    def _invitation(self, props: dict[str, Any]) -> dict[str, Any]:
        invitations = self.config.invitations
        assert invitations is not None
        body: dict[str, Any] = {
            "invitedUserEmailAddress": props["mail"],
            "inviteRedirectUrl": invitations.redirect_url,
            "sendInvitationMessage": invitations.send_email,
            "invitedUserType": props.get("userType") or "Guest",
        }
        if props.get("displayName"):
            body["invitedUserDisplayName"] = props["displayName"]
        if invitations.message:
            body["invitedUserMessageInfo"] = {"customizedMessageBody": invitations.message}
        return body

    def _update(self, work: ItemWork, plan: WritePlan, path: str) -> None:
        if plan.properties:
            work.add(Kind.UPDATE, "PATCH", path, plan.properties)
        self._manager(work, plan, path)
        self._members(work, plan.add_members, path)
        for member in plan.remove_members:
            work.add(
                Kind.REMOVE_MEMBER,
                "DELETE",
                f"{path}/members/{_seg(member)}/$ref",
                tolerate=_member_missing(member),
            )

    def _manager(self, work: ItemWork, plan: WritePlan, path: str, *, after: Op | None = None) -> None:
        if plan.manager is UNSET:
            return
        if plan.manager is None:
            if after is None:  # a new object has no manager to remove
                work.add(Kind.MANAGER, "DELETE", f"{path}/manager/$ref", tolerate=_no_manager)
            return
        assert isinstance(plan.manager, str)
        work.add(Kind.MANAGER, "PUT", f"{path}/manager/$ref", reference(self.root, plan.manager), after=after)

    def _members(self, work: ItemWork, members: list[str], path: str, *, after: Op | None = None) -> None:
        for start in range(0, len(members), MEMBERS_PER_REQUEST):
            chunk = members[start : start + MEMBERS_PER_REQUEST]
            binds = [reference(self.root, m)["@odata.id"] for m in chunk]
            work.add(Kind.BIND_MEMBERS, "PATCH", path, {"members@odata.bind": binds}, after=after)

    def split_members(self, op: Op) -> list[Op]:
        """A bind of 20 is all or nothing: when one member is already there (or gone), add them one by one."""
        assert op.body is not None
        op.state = State.CANCELLED
        singles = []
        for link in op.body["members@odata.bind"]:
            single = op.work.add(
                Kind.ADD_MEMBER,
                "POST",
                f"{op.path}/members/$ref",
                {"@odata.id": link},
                after=op.after,
                tolerate=_already_member,
            )
            singles.append(single)
        return singles


def _seg(value: str) -> str:
    """One path segment: an id, or a userPrincipalName (which may hold ' or #)."""
    return quote(value, safe="@")


def _single_values(props: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in props.items() if not isinstance(v, list | dict)}
    extensions = props.get(EXTENSION_ATTRIBUTES_PROPERTY)
    if isinstance(extensions, dict):
        out.update(extensions)
    return out


def made(work: ItemWork, body: Any) -> None:
    """Record the object an answer to a create, invitation or restore describes."""
    if not isinstance(body, dict):
        return
    invited = body.get("invitedUser")
    obj = invited if isinstance(invited, dict) else body
    if obj.get("id"):
        work.object_id = str(obj["id"])
        work.exists = True
    if invited is None and obj.get(identifier_attribute(work.kind)):
        work.identifier = identifier_of(work.kind, obj)
