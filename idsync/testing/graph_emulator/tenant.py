"""``GraphTenant``: one emulated Entra tenant and the programmatic API tests use to shape it - verified domains,
app registrations with client secrets, seeded users and groups, objects marked as synchronized from on-premises,
directory extensions, and the throttling, fault and delta knobs - plus the ways to reach it over HTTP."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from idsync.testing.graph_emulator import schema
from idsync.testing.graph_emulator.auth import AppRegistration, Authority
from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.delta import DeltaSettings, DeltaTracker
from idsync.testing.graph_emulator.directory import Directory
from idsync.testing.graph_emulator.faults import FaultConfig, FaultInjector
from idsync.testing.graph_emulator.service import GraphService
from idsync.testing.graph_emulator.throttling import ThrottleConfig, ThrottleModel
from idsync.testing.graph_emulator.validation import ExtensionSpec

if TYPE_CHECKING:
    import httpx

    from idsync.testing.graph_emulator.app import EmulatorApp

DEFAULT_PASSWORD_PROFILE = {"forceChangePasswordNextSignIn": True, "password": "Emulated-Passw0rd!"}


class GraphTenant:
    """An emulated tenant. Thread-safe: HTTP requests and API calls share ``lock``."""

    def __init__(
        self,
        name: str = "contoso",
        *,
        domains: tuple[str, ...] | None = None,
        tenant_id: str | None = None,
        seed: int = 0,
        throttling: ThrottleConfig | None = None,
        faults: FaultConfig | None = None,
        delta: DeltaSettings | None = None,
    ) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.tenant_id = tenant_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.domains: list[str] = list(domains or (f"{name}.onmicrosoft.com",))
        self.lock = threading.RLock()
        self.clock = Clock()
        self.authority = Authority(self.clock, self.tenant_id)
        self.directory = Directory(
            clock=self.clock,
            rng=self.rng,
            verified_domains=lambda: tuple(self.domains),
            extension=self.extension,
        )
        self.delta = DeltaTracker(self.directory, self.clock, delta)
        self.throttle = ThrottleModel(self.clock, self.tenant_id, throttling)
        self.faults = FaultInjector(faults or FaultConfig(seed=seed))
        self.service = GraphService(self)

    # ---- tenant and apps ----------------------------------------------------------------------------------------

    def add_domain(self, domain: str) -> None:
        with self.lock:
            if domain.lower() not in (d.lower() for d in self.domains):
                self.domains.append(domain)

    def knows_tenant(self, key: str) -> bool:
        return key.lower() in {self.tenant_id, *(d.lower() for d in self.domains)}

    def add_app(
        self, display_name: str = "idsync", *, client_id: str | None = None, client_secret: str | None = None
    ) -> AppRegistration:
        """Register an application; id and secret are generated unless given."""
        with self.lock:
            return self.authority.add_app(display_name, client_id, client_secret, self.directory.new_id())

    def add_certificate(self, app: AppRegistration, pem: str) -> str:
        """Register a certificate (PEM, public part) on ``app`` for certificate credentials; returns its SHA-256
        thumbprint."""
        from idsync.testing.graph_emulator.assertions import load_certificate

        certificate = load_certificate(pem)
        with self.lock:
            app.certificates.append(certificate)
        return certificate.sha256

    def register_extension(
        self,
        app: AppRegistration,
        name: str,
        *,
        data_type: str = "String",
        target_objects: tuple[str, ...] = ("User",),
        multi_valued: bool = False,
    ) -> str:
        """Register a directory extension on ``app``; returns its property name ``extension_{appId}_{name}``."""
        if data_type not in schema.EXTENSION_DATA_TYPES:
            raise ValueError(f"extension {name!r}: dataType {data_type!r} is not one of {schema.EXTENSION_DATA_TYPES}")
        targets = tuple(t.capitalize() for t in target_objects)
        if not targets or any(t not in ("User", "Group") for t in targets):
            raise ValueError(f"extension {name!r}: targetObjects must be User and/or Group, not {target_objects!r}")
        with self.lock:
            full = app.extension_name(name)
            app.extensions[full] = ExtensionSpec(
                id=self.directory.new_id(),
                name=full,
                data_type=data_type,
                target_objects=targets,
                multi_valued=multi_valued,
                app_display_name=app.display_name,
            )
            return full

    def extension(self, name: str) -> ExtensionSpec | None:
        for app in self.authority.apps.values():
            spec = app.extensions.get(name)
            if spec is not None:
                return spec
        return None

    # ---- seeding ----------------------------------------------------------------------------------------------------

    def add_user(self, user_principal_name: str, **props: Any) -> str:
        """Create a user as ``POST /users`` would (same validation), filling the required properties a test does not
        care about. Returns the new id."""
        alias = user_principal_name.split("@", 1)[0]
        body: dict[str, Any] = {
            "userPrincipalName": user_principal_name,
            "accountEnabled": True,
            "displayName": alias,
            "mailNickname": "".join(ch for ch in alias if ch.isalnum() or ch in "-_.") or "user",
            "passwordProfile": dict(DEFAULT_PASSWORD_PROFILE),
            **props,
        }
        with self.lock:
            return self.directory.create("user", body).id

    def add_group(self, display_name: str, *, unified: bool = False, **props: Any) -> str:
        """A security group, or a Microsoft 365 group with ``unified=True``. Returns the new id."""
        nickname = "".join(ch for ch in display_name if ch.isalnum()) or "group"
        body: dict[str, Any] = {
            "displayName": display_name,
            "mailNickname": nickname,
            "mailEnabled": unified,
            "securityEnabled": not unified,
            "groupTypes": ["Unified"] if unified else [],
            **props,
        }
        with self.lock:
            return self.directory.create("group", body).id

    def add_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            self.directory.add_member(group_id, member_id, trusted=True)

    def remove_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            self.directory.remove_member(group_id, member_id, trusted=True)

    def set_manager(self, user_id: str, manager_id: str) -> None:
        with self.lock:
            self.directory.set_manager(user_id, manager_id, trusted=True)

    def update(self, object_id: str, **props: Any) -> None:
        """Change properties as an administrator would, bypassing the on-premises lock (not read-only checks)."""
        with self.lock:
            obj = self.directory.get(None, object_id)
            self.directory.update(obj.kind, obj.id, props, trusted=True)

    def delete(self, object_id: str) -> None:
        with self.lock:
            obj = self.directory.get(None, object_id)
            self.directory.delete(obj.kind, obj.id, trusted=True)

    def mark_synced(
        self,
        object_id: str,
        *,
        immutable_id: str | None = None,
        sam_account_name: str | None = None,
        domain_name: str = "corp.example",
        **on_premises: Any,
    ) -> None:
        """Make an object look synchronized from on-premises AD (onPremisesSyncEnabled true): from then on Graph
        refuses writes to its on-premises-mastered attributes."""
        with self.lock:
            obj = self.directory.get(None, object_id)
            values: dict[str, Any] = {
                "onPremisesSyncEnabled": True,
                "onPremisesLastSyncDateTime": self.clock.iso_now(),
                "onPremisesDomainName": domain_name,
                **on_premises,
            }
            if sam_account_name is not None:
                values["onPremisesSamAccountName"] = sam_account_name
            if obj.kind == "user" and immutable_id is not None:
                values["onPremisesImmutableId"] = immutable_id
            self.directory.set_trusted(obj.id, values)

    def set_proxy_addresses(self, object_id: str, addresses: list[str]) -> None:
        """proxyAddresses are read-only in Graph; tests set them here."""
        with self.lock:
            self.directory.set_trusted(object_id, {"proxyAddresses": list(addresses)})

    def seed_users(self, count: int, *, prefix: str = "user", department: str | None = None) -> list[str]:
        domain = self.domains[0]
        ids = []
        for i in range(count):
            extra = {"department": department} if department else {}
            ids.append(self.add_user(f"{prefix}{i:05d}@{domain}", displayName=f"{prefix.title()} {i:05d}", **extra))
        return ids

    # ---- reading state ----------------------------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any]:
        """A live object's stored properties (all of them, not only Graph's default set)."""
        with self.lock:
            return dict(self.directory.get(None, key).props)

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.live("user")]

    def groups(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.live("group")]

    def members(self, group_id: str) -> list[str]:
        with self.lock:
            return list(self.directory.get("group", group_id).members)

    def manager_of(self, user_id: str) -> str | None:
        with self.lock:
            return self.directory.get("user", user_id).manager

    def deleted_items(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.deleted_items()]

    def find_users(self, **equals: Any) -> list[dict[str, Any]]:
        """Users whose properties equal the given values (strings compared case-insensitively)."""

        def same(a: Any, b: Any) -> bool:
            return a.lower() == b.lower() if isinstance(a, str) and isinstance(b, str) else bool(a == b)

        with self.lock:
            return [
                dict(o.props)
                for o in self.directory.live("user")
                if all(same(o.props.get(k), v) for k, v in equals.items())
            ]

    # ---- knobs ------------------------------------------------------------------------------------------------------

    def configure_throttling(self, **settings: Any) -> None:
        with self.lock:
            self.throttle.configure(**settings)

    def configure_faults(self, **settings: Any) -> None:
        with self.lock:
            self.faults.configure(**settings)

    def expire_delta_tokens(self) -> None:
        with self.lock:
            self.delta.expire_tokens()

    def force_resync(self) -> None:
        with self.lock:
            self.delta.force_resync()

    def stats(self) -> Mapping[str, Any]:
        with self.lock:
            t, f = self.throttle.stats, self.faults.stats
            return {
                "requests": t.requests,
                "writes": t.writes,
                "resource_units": t.resource_units,
                "throttled": t.throttled,
                "throttled_by_scope": dict(t.throttled_by_scope),
                "injected_errors": f.errors,
                "dropped": f.drops,
            }

    # ---- reaching it ------------------------------------------------------------------------------------------

    def asgi_app(self) -> EmulatorApp:
        from idsync.testing.graph_emulator.app import create_app

        return create_app(self)

    def transport(self) -> httpx.BaseTransport:
        """A synchronous in-process httpx transport (no sockets): ``httpx.Client(transport=tenant.transport(),
        base_url="https://graph.local")``."""
        from idsync.testing.graph_emulator.app import SyncTransport

        return SyncTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An asynchronous in-process transport running the real ASGI app."""
        from idsync.testing.graph_emulator.app import AsyncTransport

        return AsyncTransport(self)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run the tenant under uvicorn on a loopback port (a free one by default); yields the base URL."""
        from idsync.testing.graph_emulator.server import serve

        with serve(self, host=host, port=port) as base_url:
            yield base_url
