"""Property validation for user and group writes, in the order Graph checks: known property, writable, type,
length, then the per-property rules from the "Create user", "Update user" and "Create group" pages (UPN domain
verified in the tenant, mailNickname characters, strong password, the ``$``/``_`` ban in onPremisesImmutableId, the
country code in usageLocation and the documented values of passwordPolicies, ageGroup, consentProvidedForMinor and
userType).
Uniqueness needs the whole directory and lives in ``directory``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from idsync.connectors.graph.properties import (
    GROUP_ON_PREMISES_MASTERED,
    USER_CHOICES,
    USER_ON_PREMISES_MASTERED,
    value_problem,
)
from idsync.testing.graph_emulator import errors, schema
from idsync.testing.graph_emulator.schema import PropertySpec


@dataclass(frozen=True)
class ExtensionSpec:
    """A directory extension property registered on an application (``extension_{appIdNoDashes}_{name}``)."""

    id: str
    name: str
    data_type: str
    target_objects: tuple[str, ...]
    multi_valued: bool
    app_display_name: str

    def applies_to(self, kind: str) -> bool:
        return kind.capitalize() in self.target_objects


# "This property can contain only characters in the ASCII character set 0 - 127 except the following:
# @ () \ [] " ; : <> , SPACE" (group resource, mailNickname); applied to users too.
_NICKNAME_FORBIDDEN = set('@()\\[]";:<>, ')
# UPN alias: "only the following characters A-Z a-z 0-9 ' . - _ ! # ^ ~" (user resource, userPrincipalName).
_UPN_ALIAS = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")


def _check_type(prop: str, spec: PropertySpec, value: Any, kind: str) -> None:
    if value is None:
        if not spec.nullable or spec.collection:
            raise errors.invalid_value(prop, kind)
        return
    if spec.collection:
        if not isinstance(value, list):
            raise errors.wrong_type(prop, value, f"Collection({spec.edm_type})")
        for item in value:
            _check_scalar(prop, spec, item)
        return
    _check_scalar(prop, spec, value)


def _check_scalar(prop: str, spec: PropertySpec, value: Any) -> None:
    edm = spec.edm_type
    ok = True
    if edm in ("Edm.String", "Edm.DateTimeOffset", "Edm.Guid", "Edm.Binary"):
        ok = isinstance(value, str)
    elif edm == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif edm in ("Edm.Int32", "Edm.Int64"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif not spec.is_primitive:
        ok = isinstance(value, dict)
    if not ok:
        raise errors.wrong_type(prop, value, edm)


def _check_length(prop: str, kind: str, spec: PropertySpec, value: Any) -> None:
    if spec.max_length is None or value is None:
        return
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str) and len(item) > spec.max_length:
            raise errors.invalid_value(prop, kind)


def check_nickname(value: str, kind: str) -> None:
    if not value or any(ch in _NICKNAME_FORBIDDEN or ord(ch) > 127 for ch in value):
        raise errors.invalid_value("mailNickname", kind)


def check_upn(value: str, verified_domains: Iterable[str]) -> None:
    alias, at, domain = value.rpartition("@")
    if not at or not alias or not domain or "@" in alias:
        raise errors.invalid_value("userPrincipalName", "user")
    if not _UPN_ALIAS.match(alias) or alias.startswith(".") or alias.endswith(".") or len(alias) > 64:
        raise errors.invalid_value("userPrincipalName", "user")
    if domain.lower() not in {d.lower() for d in verified_domains}:
        raise errors.bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified "
            "domain names in your organization."
        )


def check_password(profile: Mapping[str, Any], policies: str | None) -> None:
    password = profile.get("password")
    if not isinstance(password, str) or not password:
        raise errors.invalid_value("passwordProfile", "user")
    if policies and "disablestrongpassword" in policies.lower():
        return
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if not 8 <= len(password) <= 256 or classes < 3:
        raise errors.bad_request(
            "The specified password does not comply with password complexity requirements. Please provide a "
            "different password."
        )


def _check_complex(prop: str, kind: str, spec: PropertySpec, value: Any) -> None:
    if value is None:
        return
    members = schema.complex_properties(spec.edm_type)
    if not members:
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        for key, inner in item.items():
            inner_spec = members.get(key)
            if inner_spec is None:
                if key.startswith("@odata."):
                    continue
                raise errors.unknown_property(f"{prop}.{key}", kind)
            _check_type(key, inner_spec, inner, kind)
            _check_length(key, kind, inner_spec, inner)


def _check_extension(prop: str, kind: str, ext: ExtensionSpec, value: Any) -> None:
    if value is None:
        return
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not ext.multi_valued:
        raise errors.wrong_type(prop, value, ext.data_type)
    for item in values:
        if ext.data_type in ("String", "DateTime", "Binary"):
            if not isinstance(item, str):
                raise errors.wrong_type(prop, item, ext.data_type)
            if len(item) > schema.EXTENSION_MAX_STRING and ext.data_type == "String":
                raise errors.invalid_value(prop, kind)
        elif ext.data_type == "Boolean":
            if not isinstance(item, bool):
                raise errors.wrong_type(prop, item, ext.data_type)
        elif not isinstance(item, int) or isinstance(item, bool):
            raise errors.wrong_type(prop, item, ext.data_type)


@dataclass
class WriteContext:
    """What validation needs to know about the tenant and the target object."""

    kind: str
    creating: bool
    synced: bool
    verified_domains: tuple[str, ...]
    federated: Callable[[str], bool]
    extension: Callable[[str], ExtensionSpec | None]
    current: Mapping[str, Any]


def validate_write(payload: Mapping[str, Any], ctx: WriteContext) -> dict[str, Any]:
    """Return the properties to store. Navigation bindings (``*@odata.bind``) are left to the caller."""
    kind = ctx.kind
    specs = schema.properties_for(kind)
    read_only = schema.USER_READ_ONLY if kind == "user" else schema.GROUP_READ_ONLY
    mastered = USER_ON_PREMISES_MASTERED if kind == "user" else GROUP_ON_PREMISES_MASTERED
    out: dict[str, Any] = {}
    for prop, value in payload.items():
        if "@odata." in prop or prop.startswith("@"):
            continue
        if prop.startswith("extension_"):
            ext = ctx.extension(prop)
            if ext is None or not ext.applies_to(kind):
                raise errors.unknown_property(prop, kind)
            _check_extension(prop, kind, ext, value)
            out[prop] = value
            continue
        spec = specs.get(prop)
        if spec is None:
            raise errors.unknown_property(prop, kind)
        if prop in read_only:
            raise errors.read_only(prop)
        if ctx.synced and prop in mastered:
            raise errors.on_premises_mastered()
        _check_type(prop, spec, value, kind)
        _check_length(prop, kind, spec, value)
        if not spec.is_primitive:
            _check_complex(prop, kind, spec, value)
        out[prop] = value
    merged = {**ctx.current, **out}
    if ctx.creating:
        required = schema.USER_REQUIRED_ON_CREATE if kind == "user" else schema.GROUP_REQUIRED_ON_CREATE
        for prop in required:
            if merged.get(prop) in (None, ""):
                raise errors.required(prop, kind)
    elif "displayName" in out and not out["displayName"]:
        # "This property is required when a user is created and it cannot be cleared during updates."
        raise errors.invalid_value("displayName", kind)
    if "mailNickname" in out and out["mailNickname"] is not None:
        check_nickname(out["mailNickname"], kind)
    if kind == "user":
        _validate_user(out, merged, ctx)
        if isinstance(out.get("passwordProfile"), dict):
            # checked, then forgotten: Graph never gives a password back ("password": null), and a saved tenant
            # must hold none
            out["passwordProfile"] = {**out["passwordProfile"], "password": None}
    else:
        _validate_group(out, merged, ctx)
    return out


def _validate_user(out: Mapping[str, Any], merged: Mapping[str, Any], ctx: WriteContext) -> None:
    if "userPrincipalName" in out:
        if not isinstance(out["userPrincipalName"], str):
            raise errors.invalid_value("userPrincipalName", "user")
        check_upn(out["userPrincipalName"], ctx.verified_domains)
        domain = out["userPrincipalName"].rpartition("@")[2]
        if ctx.creating and ctx.federated(domain) and not merged.get("onPremisesImmutableId"):
            # "must be specified when creating a new user account ... if you're using a federated domain for the
            # user's userPrincipalName" (user resource, onPremisesImmutableId)
            raise errors.required("onPremisesImmutableId", "user")
    if "passwordProfile" in out:
        check_password(out["passwordProfile"] or {}, merged.get("passwordPolicies"))
    immutable = out.get("onPremisesImmutableId")
    if isinstance(immutable, str) and ("$" in immutable or "_" in immutable):
        raise errors.invalid_value("onPremisesImmutableId", "user")
    phones = out.get("businessPhones")
    if isinstance(phones, list) and len(phones) > 1:
        # "Although it's a string collection, only one number can be set for this property." (user resource)
        raise errors.invalid_value("businessPhones", "user")
    for prop in ("usageLocation", "passwordPolicies", *USER_CHOICES):
        if value_problem("user", prop, out.get(prop)) is not None:
            # usageLocation's wording is the one reported for a code such as UK; the others take Graph's wording
            # for an invalid value (the form errors.invalid_value quotes)
            if prop == "usageLocation":
                raise errors.invalid_property(prop)
            raise errors.invalid_value(prop, "user")


def is_unified(props: Mapping[str, Any]) -> bool:
    """A Microsoft 365 group: ``"Unified"`` among its groupTypes."""
    return any(isinstance(t, str) and t.lower() == "unified" for t in props.get("groupTypes") or [])


def _validate_group(out: Mapping[str, Any], merged: Mapping[str, Any], ctx: WriteContext) -> None:
    unified = is_unified(merged)
    touches_kind = ctx.creating or any(p in out for p in ("mailEnabled", "securityEnabled", "groupTypes"))
    if touches_kind and merged.get("mailEnabled") and not unified:
        # Graph creates only Microsoft 365 and security groups ("Create group").
        raise errors.bad_request(
            "The service does not currently support writes of mail-enabled groups. Please ensure that the "
            "mail-enablement property is unset or is set to false."
        )
    if touches_kind and unified and merged.get("mailEnabled") is False:
        raise errors.invalid_value("mailEnabled", "group")
    visibility = out.get("visibility")
    if visibility is not None and visibility not in ("Public", "Private", "HiddenMembership"):
        raise errors.invalid_value("visibility", "group")
    # isAssignableToRole "can only be set while creating the group and is immutable. If set to true, the
    # securityEnabled property must also be set to true ... and the group can't be a dynamic group (that is,
    # groupTypes can't contain DynamicMembership)" (group resource). Graph's wording for these refusals is not
    # published: they take its wording for an invalid value.
    assignable = bool(merged.get("isAssignableToRole"))
    if (
        "isAssignableToRole" in out
        and not ctx.creating
        and bool(out["isAssignableToRole"]) != bool(ctx.current.get("isAssignableToRole"))
    ):
        raise errors.invalid_value("isAssignableToRole", "group")
    dynamic = any(isinstance(t, str) and t.lower() == "dynamicmembership" for t in merged.get("groupTypes") or [])
    if (
        assignable
        and (touches_kind or "isAssignableToRole" in out)
        and (merged.get("securityEnabled") is not True or dynamic)
    ):
        raise errors.invalid_value("isAssignableToRole", "group")
